package dev.clawfence.bench;

import inet.ipaddr.IPAddress;
import inet.ipaddr.ipv4.IPv4Address;
import inet.ipaddr.ipv6.IPv6Address;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The data every benchmark uses, generated from a fixed seed: random allowlist CIDRs (IPv4 /16 to /32
 * and IPv6 /32 to /64, about 70:30) as a policy tree, and connection sources of which about half fall
 * inside some entry. Random public space is used as data only; nothing is ever sent anywhere.
 */
final class Workload {

    static final int ENTRIES = 10_000;

    final List<IPAddress> blocks = new ArrayList<>();
    final List<String> cidrs = new ArrayList<>();

    Workload(long seed) {
        Random random = new Random(seed);
        for (int i = 0; i < ENTRIES; i++) {
            IPAddress block;
            if (random.nextInt(10) < 7) {
                block = new IPv4Address(random.nextInt()).toPrefixBlock(16 + random.nextInt(17));
            } else {
                byte[] bytes = new byte[16];
                random.nextBytes(bytes);
                bytes[0] = (byte) (0x20 | (bytes[0] & 0x0F));
                block = new IPv6Address(bytes).toPrefixBlock(32 + random.nextInt(33));
            }
            blocks.add(block);
            cidrs.add(block.toCanonicalString());
        }
    }

    /** A policy tree: inbound enforced on tcp/443 and tcp/22, the allowlist, every third entry limited to tcp/22. */
    Map<String, Object> policyTree() {
        List<Object> allowlist = new ArrayList<>();
        for (int i = 0; i < cidrs.size(); i++) {
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("id", "in-" + i);
            entry.put("cidr", cidrs.get(i));
            if (i % 3 == 0) {
                entry.put("ports", List.of(Map.of("proto", "tcp", "port", 22)));
            }
            entry.put("description", "Benchmark entry " + i);
            entry.put("requestedBy", "bench@example.com");
            allowlist.add(entry);
        }
        return Map.of(
                "mode", Map.of("inbound", "enforce", "outbound", "enforce"),
                "inbound", Map.of(
                        "allowlist", allowlist,
                        "ports", List.of(Map.of("proto", "tcp", "port", 443, "description", "HTTPS"), Map.of("proto", "tcp", "port", 22, "description", "SSH"))));
    }

    /** {@code count} source addresses: even positions inside a random entry, odd positions random. */
    List<String> sources(int count, long seed) {
        Random random = new Random(seed);
        List<String> sources = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            IPAddress address;
            if (i % 2 == 0) {
                IPAddress block = blocks.get(random.nextInt(blocks.size()));
                byte[] lower = block.getLower().getBytes();
                byte[] upper = block.getUpper().getBytes();
                byte[] bytes = new byte[lower.length];
                for (int b = 0; b < bytes.length; b++) {
                    int spread = (upper[b] & 0xFF) - (lower[b] & 0xFF);
                    bytes[b] = (byte) ((lower[b] & 0xFF) + (spread == 0 ? 0 : random.nextInt(spread + 1)));
                }
                address = block.isIPv4() ? new IPv4Address(bytes) : new IPv6Address(bytes);
            } else if (random.nextInt(10) < 7) {
                address = new IPv4Address(random.nextInt());
            } else {
                byte[] bytes = new byte[16];
                random.nextBytes(bytes);
                bytes[0] = (byte) (0x20 | (bytes[0] & 0x0F));
                address = new IPv6Address(bytes);
            }
            String text = address.withoutPrefixLength().toCanonicalString();
            sources.add(text);
        }
        return sources;
    }
}
