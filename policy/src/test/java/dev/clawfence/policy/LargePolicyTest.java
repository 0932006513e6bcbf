package dev.clawfence.policy;

import static dev.clawfence.policy.Fixtures.NOW;
import static org.assertj.core.api.Assertions.assertThat;

import inet.ipaddr.IPAddress;
import inet.ipaddr.ipv4.IPv4Address;
import inet.ipaddr.ipv6.IPv6Address;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The compiled evaluator against the reference on policies large enough for the index's jump table,
 * with thousands of nested and duplicate entries spread over many buckets. Private ranges
 * (10.0.0.0/8, fd00::/8) serve as data only.
 */
class LargePolicyTest {

    @Test
    void largeAllowlistAgreesWithTheReference() {
        Random random = new Random(11);
        List<AllowlistEntry> entries = new ArrayList<>();
        List<IPAddress> blocks = new ArrayList<>();
        for (int i = 0; i < 1500; i++) {
            IPAddress block = i % 3 == 2 ? randomV6(random) : randomV4(random);
            blocks.add(block);
            List<PortSpec> ports = i % 4 == 0 ? List.of(PortSpec.tcp(22)) : List.of();
            entries.add(new AllowlistEntry(i % 5 == 0 ? null : "in-" + i, AddressSyntax.canonical(block), ports, "Entry " + i, "alice",
                    i % 7 == 0 ? NOW.plus(Duration.ofHours(1)) : null, Provenance.NONE));
        }
        List<Destination> destinations = new ArrayList<>();
        for (int i = 0; i < 600; i++) {
            destinations.add(new Destination("out-" + i, AddressSyntax.canonical(blocks.get(random.nextInt(blocks.size()))), null,
                    i % 3 == 0 ? List.of(PortSpec.tcp(22)) : List.of(), "Dest " + i, "bob", Provenance.NONE));
        }
        PolicyDocument policy = new PolicyDocument(new Modes(Mode.ENFORCE, Mode.ENFORCE),
                new Inbound(entries, List.of(PortRule.https(), new PortRule(null, PortSpec.tcp(22), "SSH", null, null)), Geo.NONE),
                new Outbound(destinations, List.of(PortRule.https()), DefaultAction.DENY), List.of());
        Evaluator evaluator = Evaluator.compile(policy, PlatformRules.NONE);

        int allowed = 0;
        for (int i = 0; i < 2000; i++) {
            IPAddress address = i % 2 == 0 ? inside(blocks.get(random.nextInt(blocks.size())), random) : (i % 3 == 0 ? randomV6(random) : randomV4(random)).getLower();
            String text = address.withoutPrefixLength().toCanonicalString();
            int port = i % 4 == 0 ? 22 : 443;
            Connection connection = i % 2 == 0 ? Connection.inbound(text, port, Protocol.TCP) : Connection.outbound(text, port, Protocol.TCP);
            java.time.Instant now = i % 3 == 0 ? NOW.plus(Duration.ofHours(2)) : NOW;
            Decision fast = evaluator.evaluate(connection, now);
            Decision model = ReferenceEvaluator.evaluate(policy, PlatformRules.NONE, connection, now);
            assertThat(List.<Object>of(fast.verdict(), fast.reason(), String.valueOf(fast.ruleId())))
                    .as("%s %s/%d", connection.direction(), text, port)
                    .isEqualTo(List.<Object>of(model.verdict(), model.reason(), String.valueOf(model.ruleId())));
            allowed += fast.verdict() == Verdict.ALLOWED ? 1 : 0;
        }
        assertThat(allowed).as("a mix of hits and misses").isBetween(200, 1800);
    }

    private static IPAddress randomV4(Random random) {
        int address = 0x0A000000 | (random.nextInt() & 0x00FFFFFF);
        return new IPv4Address(address).toPrefixBlock(12 + random.nextInt(21));
    }

    private static IPAddress randomV6(Random random) {
        byte[] bytes = new byte[16];
        random.nextBytes(bytes);
        bytes[0] = (byte) 0xFD;
        return new IPv6Address(bytes).toPrefixBlock(12 + random.nextInt(117));
    }

    private static IPAddress inside(IPAddress block, Random random) {
        byte[] lower = block.getLower().getBytes();
        byte[] upper = block.getUpper().getBytes();
        byte[] bytes = new byte[lower.length];
        for (int b = 0; b < bytes.length; b++) {
            int spread = (upper[b] & 0xFF) - (lower[b] & 0xFF);
            bytes[b] = (byte) ((lower[b] & 0xFF) + (spread == 0 ? 0 : random.nextInt(spread + 1)));
        }
        return block.isIPv4() ? new IPv4Address(bytes) : new IPv6Address(bytes);
    }
}
