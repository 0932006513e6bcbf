public class WritePolicy {
    public static void main(String[] args) throws Exception {
        new dev.clawfence.agent.state.Store(java.nio.file.Path.of(args[0]))
                .saveApplied(dev.clawfence.agent.TestPolicies.update(9, dev.clawfence.agent.TestPolicies.inbound("203.0.113.2/32")));
    }
}
