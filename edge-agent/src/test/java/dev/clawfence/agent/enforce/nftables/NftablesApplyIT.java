package dev.clawfence.agent.enforce.nftables;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.clawfence.agent.TestPolicies;
import dev.clawfence.agent.enforce.CommandRunner;
import dev.clawfence.agent.enforce.EnforceException;
import dev.clawfence.policy.render.Netns;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Why the enforcer may apply with a single {@code nft -f} and no {@code nft -c} pass first: a script
 * whose very last line the kernel refuses (a jump to a chain that does not exist, which nft itself
 * passes on and only the kernel's commit rejects) changes nothing, although every earlier line of the
 * script (delete the table, create it anew, fill its sets) had already been sent in the same batch.
 */
class NftablesApplyIT {

    @Test
    void aScriptTheKernelRefusesAtItsLastLineLeavesThePreviousTableWhole() throws Exception {
        Netns.assumeAvailable();
        try (Netns ns = Netns.create()) {
            CommandRunner inNs = CommandRunner.inNamespace(ns.name());
            List<List<String>> commands = new ArrayList<>();
            boolean[] spoil = {false};
            CommandRunner runner = (command, stdin) -> {
                commands.add(command);
                String script = spoil[0] && stdin != null
                        ? stdin + "add rule inet clawfence input jump chain_that_does_not_exist\n" : stdin;
                return inNs.run(command, script);
            };
            NftablesEnforcer enforcer = new NftablesEnforcer(runner);
            enforcer.apply(TestPolicies.inbound("203.0.113.2/32"));
            String before = ns.exec(List.of("nft", "-s", "list", "ruleset")).output();
            assertThat(before).contains("203.0.113.2");

            spoil[0] = true;
            commands.clear();
            assertThatThrownBy(() -> enforcer.apply(TestPolicies.inbound("198.51.100.0/24")))
                    .isInstanceOf(EnforceException.class)
                    .hasMessageContaining("previous table stays in force")
                    .hasMessageContaining("chain_that_does_not_exist");

            assertThat(commands).as("one nft -f, no nft -c").containsExactly(List.of("nft", "-f", "/dev/stdin"));
            assertThat(ns.exec(List.of("nft", "-s", "list", "ruleset")).output()).isEqualTo(before);
            spoil[0] = false;
            assertThat(enforcer.checkDrift()).isEmpty();
        }
    }
}
