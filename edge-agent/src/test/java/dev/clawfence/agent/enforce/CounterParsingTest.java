package dev.clawfence.agent.enforce;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.clawfence.agent.enforce.iptables.IptablesEnforcer;
import dev.clawfence.agent.enforce.nftables.NftablesEnforcer;
import dev.clawfence.policy.Direction;
import dev.clawfence.policy.Reason;
import dev.clawfence.policy.Verdict;
import dev.clawfence.policy.render.LogDecision;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Reading the counters from the tools' output, as nft 1.0.6 and iptables 1.8.9 print it. */
class CounterParsingTest {

    @Test
    void nftJsonCountersByName() throws EnforceException {
        String json = """
                {"nftables": [{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}}, \
                {"counter": {"family": "inet", "name": "in_b_port_closed", "table": "clawfence", "handle": 3, "packets": 100000, "bytes": 2800000}}, \
                {"counter": {"family": "inet", "name": "in_a_allowlisted", "table": "clawfence", "handle": 4, "packets": 20, "bytes": 1200}}, \
                {"counter": {"family": "inet", "name": "someone_elses", "table": "clawfence", "handle": 5, "packets": 3, "bytes": 1}}]}
                """;

        assertThat(NftablesEnforcer.parseCounters(json)).containsOnly(
                Map.entry(new LogDecision(Direction.INBOUND, Verdict.BLOCKED, Reason.PORT_CLOSED), 100_000L),
                Map.entry(new LogDecision(Direction.INBOUND, Verdict.ALLOWED, Reason.ALLOWLISTED), 20L));
        assertThatThrownBy(() -> NftablesEnforcer.parseCounters("{\"something\": 1}")).hasMessageContaining("no \"nftables\" array");
    }

    @Test
    void iptablesRulePacketCountsByComment() {
        String listing = """
                Chain CLAWFENCE-IN (1 references)
                    pkts      bytes target     prot opt in     out     source               destination
                       7      420 RETURN     all  --  lo     *       0.0.0.0/0            0.0.0.0/0            /* platform:loopback */
                      50     3000 NFLOG      tcp  --  *      *       0.0.0.0/0            0.0.0.0/0            limit: up to 1000/sec burst 200 mode  nflog-prefix  "cf1 b - not-allowlisted" nflog-group 100
                      50     3000 REJECT     tcp  --  *      *       0.0.0.0/0            0.0.0.0/0            /* not-allowlisted */ reject-with tcp-reset
                       2      120 REJECT     udp  --  *      *       0.0.0.0/0            0.0.0.0/0            /* not-allowlisted */ reject-with icmp-port-unreachable
                      20     1200 RETURN     tcp  --  *      *       0.0.0.0/0            0.0.0.0/0            match-set cf_allow4_c0 src match-set cf_allow4_c0_tcp dst /* allowlisted */
                       3      180 RETURN     all  --  *      *       0.0.0.0/0            0.0.0.0/0            /* would-block geo */
                """;
        Map<LogDecision, Long> counters = new LinkedHashMap<>();

        IptablesEnforcer.addCounters(Direction.INBOUND, listing, counters);
        IptablesEnforcer.addCounters(Direction.INBOUND, listing, counters);

        assertThat(counters).containsOnly(
                Map.entry(new LogDecision(Direction.INBOUND, Verdict.BLOCKED, Reason.NOT_ALLOWLISTED), 104L),
                Map.entry(new LogDecision(Direction.INBOUND, Verdict.ALLOWED, Reason.ALLOWLISTED), 40L),
                Map.entry(new LogDecision(Direction.INBOUND, Verdict.WOULD_BLOCK, Reason.GEO), 6L));
    }
}
