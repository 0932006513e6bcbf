package dev.clawfence.agent.enforce;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.clawfence.agent.Namespaces;
import dev.clawfence.agent.TestPolicies;
import dev.clawfence.agent.enforce.iptables.IptablesEnforcer;
import dev.clawfence.agent.enforce.nftables.NftablesEnforcer;
import dev.clawfence.policy.render.Netns;
import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The real enforcers in a network namespace: connections over veth get the policy's verdicts, a new
 * version replaces the old one, drift is found and restored, removal takes only the agent's own objects,
 * and a ruleset the kernel refuses leaves the previous one in force.
 */
class EnforcerIT {

    private static final String OTHER_NFT = """
            table inet other {
              set keep { type ipv4_addr; elements = { 192.0.2.7 } }
              chain c {
                type filter hook input priority 10; policy accept;
                ip saddr @keep counter accept comment "not ours"
              }
            }
            """;

    static void assume(String backend) {
        if (backend.equals("iptables")) {
            Netns.assumeTools("ipset", "iptables", "ip6tables", "iptables-restore", "ip6tables-restore");
        } else {
            Netns.assumeAvailable();
        }
    }

    static Enforcer enforcer(String backend, Netns ns) {
        CommandRunner runner = CommandRunner.inNamespace(ns.name());
        return backend.equals("iptables") ? new IptablesEnforcer(runner) : new NftablesEnforcer(runner);
    }

    /** What the host's other firewall users own, which the agent must never change. */
    private static String others(String backend, Netns ns) throws IOException {
        if (backend.equals("iptables")) {
            return ns.exec(List.of("sh", "-c", "iptables -S OTHER; iptables -S INPUT | grep -v CLAWFENCE")).output();
        }
        return ns.exec(List.of("nft", "-s", "list", "table", "inet", "other")).output();
    }

    private static void addOthers(String backend, Netns ns) throws IOException {
        if (backend.equals("iptables")) {
            Namespaces.run(ns, "sh", "-c", "iptables -N OTHER && iptables -A OTHER -s 192.0.2.7 -j ACCEPT && iptables -A INPUT -j OTHER");
        } else {
            Namespaces.run(ns, "sh", "-c", "printf '%s' '" + OTHER_NFT + "' | nft -f -");
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"nftables", "iptables"})
    void connectionsGetThePolicysVerdictsAndAReplacementSwapsThem(String backend) throws Exception {
        assume(backend);
        try (Namespaces ns = Namespaces.create()) {
            addOthers(backend, ns.host);
            String others = others(backend, ns.host);
            Enforcer enforcer = enforcer(backend, ns.host);

            AppliedRuleset first = enforcer.apply(TestPolicies.inbound("203.0.113.2/32"));
            assertThat(ns.connect("203.0.113.2", 443, 22, 8080)).containsExactly("OK", "OK", "REFUSED");
            assertThat(ns.connect("203.0.113.66", 443, 22, 8080)).containsExactly("REFUSED", "REFUSED", "REFUSED");
            assertThat(others(backend, ns.host)).isEqualTo(others);

            AppliedRuleset second = enforcer.apply(TestPolicies.inbound("203.0.113.66/32"));
            assertThat(second.sha256()).isNotEqualTo(first.sha256()).hasSize(64);
            assertThat(ns.connect("203.0.113.2", 443, 8080)).containsExactly("REFUSED", "REFUSED");
            assertThat(ns.connect("203.0.113.66", 443, 8080)).containsExactly("OK", "REFUSED");
            assertThat(enforcer.checkDrift()).isEmpty();
            assertThat(others(backend, ns.host)).isEqualTo(others);

            enforcer.remove();
            assertThat(ns.connect("203.0.113.66", 443, 8080)).containsExactly("OK", "OK");
            assertThat(others(backend, ns.host)).isEqualTo(others);
            if (backend.equals("nftables")) {
                assertThat(ns.host.exec(List.of("nft", "list", "tables")).output().strip()).isEqualTo("table inet other");
            } else {
                assertThat(ns.host.exec(List.of("sh", "-c", "iptables -S; ip6tables -S; ipset list -n")).output()).doesNotContain("CLAWFENCE", "cf_");
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"nftables", "iptables"})
    void driftIsFoundAndRestored(String backend) throws Exception {
        assume(backend);
        try (Namespaces ns = Namespaces.create()) {
            Enforcer enforcer = enforcer(backend, ns.host);
            AppliedRuleset applied = enforcer.apply(TestPolicies.inbound("203.0.113.2/32"));

            if (backend.equals("nftables")) {
                Namespaces.run(ns.host, "nft", "delete", "table", "inet", "clawfence");
                assertThat(enforcer.checkDrift()).hasValueSatisfying(detail -> assertThat(detail).contains("missing"));
            } else {
                Namespaces.run(ns.host, "iptables", "-D", "INPUT", "-j", "CLAWFENCE-IN");
                assertThat(enforcer.checkDrift()).hasValueSatisfying(detail -> assertThat(detail).contains("CLAWFENCE-IN"));
            }
            assertThat(ns.connect("203.0.113.66", 443)).containsExactly("OK");

            enforcer.restore(applied);
            assertThat(enforcer.checkDrift()).isEmpty();
            assertThat(ns.connect("203.0.113.66", 443)).containsExactly("REFUSED");
        }
    }

    @Test
    void anEditedTableIsDrift() throws Exception {
        assume("nftables");
        try (Namespaces ns = Namespaces.create()) {
            Enforcer enforcer = enforcer("nftables", ns.host);
            enforcer.apply(TestPolicies.inbound("203.0.113.2/32"));

            Namespaces.run(ns.host, "nft", "insert", "rule", "inet", "clawfence", "input", "ip", "saddr", "203.0.113.66", "accept");

            assertThat(enforcer.checkDrift()).hasValueSatisfying(detail -> assertThat(detail).contains("differs").contains("203.0.113.66"));
        }
    }

    @Test
    void aRulesetTheKernelRefusesLeavesThePreviousOneInForce() throws Exception {
        assume("nftables");
        try (Namespaces ns = Namespaces.create()) {
            Enforcer enforcer = enforcer("nftables", ns.host);
            enforcer.apply(TestPolicies.inbound("203.0.113.2/32"));
            String before = ns.host.exec(List.of("nft", "-s", "list", "ruleset")).output();

            assertThatThrownBy(() -> enforcer.apply(TestPolicies.refusedByNft()))
                    .isInstanceOf(EnforceException.class).hasMessageContaining("conflicting intervals");

            assertThat(ns.host.exec(List.of("nft", "-s", "list", "ruleset")).output()).isEqualTo(before);
            assertThat(enforcer.checkDrift()).isEmpty();
            assertThat(ns.connect("203.0.113.66", 443)).containsExactly("REFUSED");
        }
    }
}
