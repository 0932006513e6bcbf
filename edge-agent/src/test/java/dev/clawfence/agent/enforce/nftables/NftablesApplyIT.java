package dev.clawfence.agent.enforce.nftables;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.clawfence.agent.TestPolicies;
import dev.clawfence.agent.enforce.AppliedRuleset;
import dev.clawfence.agent.enforce.CommandRunner;
import dev.clawfence.agent.enforce.EnforceException;
import dev.clawfence.policy.render.Netns;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The nftables enforcer's apply step in a namespace. Why it may apply with a single {@code nft -f} and no
 * {@code nft -c} pass first: a script whose very last line the kernel refuses (a jump to a chain that
 * does not exist, which nft itself passes on and only the kernel's commit rejects) changes nothing,
 * although every earlier line of the script (delete the table, create it anew, fill its sets) had
 * already been sent in the same batch. And a table deleted by hand between the load and the listing
 * that follows it leaves the new version applied, to be restored by the next drift check.
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

    @Test
    void aTableDeletedBetweenTheLoadAndItsListingIsStillTheAppliedVersionAndComesBackAtTheDriftCheck() throws Exception {
        Netns.assumeAvailable();
        try (Netns ns = Netns.create()) {
            CommandRunner inNs = CommandRunner.inNamespace(ns.name());
            boolean[] race = {false};
            CommandRunner runner = (command, stdin) -> {
                CommandRunner.Result result = inNs.run(command, stdin);
                if (race[0] && command.contains("-f")) {
                    race[0] = false;
                    inNs.run(List.of("nft", "delete", "table", "inet", "clawfence"));
                }
                return result;
            };
            NftablesEnforcer enforcer = new NftablesEnforcer(runner);
            enforcer.apply(TestPolicies.inbound("203.0.113.2/32"));

            race[0] = true;
            AppliedRuleset second = enforcer.apply(TestPolicies.inbound("198.51.100.0/24"));

            assertThat(enforcer.checkDrift()).hasValueSatisfying(detail -> assertThat(detail).contains("could not be listed"));
            enforcer.restore(second);
            assertThat(ns.exec(List.of("nft", "list", "table", "inet", "clawfence")).output()).contains("198.51.100.0/24");
            assertThat(enforcer.checkDrift()).isEmpty();
        }
    }
}
