package dev.clawfence.policy.compile;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Pattern;

/**
 * A named set of disjoint, sorted elements with a content hash: the SHA-256 (lower-case hex) of the
 * type name and the canonical text of each element, one per line. Equal content gives an equal hash
 * whatever the set is called, so the control plane can skip sending a set the agent already holds.
 * {@link #of} computes the hash; a set rebuilt from the wire with a given hash can be checked with
 * {@link #hashMatches()}.
 *
 * @param name a stable identifier ({@code [a-z][a-z0-9_]*}), usable as an nftables or ipset name
 * @param elements {@link AddressRange}, {@link Box} or {@link dev.clawfence.policy.PortSpec} per {@code type}
 */
public record CompiledSet<E>(String name, SetType type, List<E> elements, String hash) {

    private static final Pattern NAME = Pattern.compile("[a-z][a-z0-9_]{0,30}");
    private static final Pattern HASH = Pattern.compile("[0-9a-f]{64}");

    public CompiledSet {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("a set name is [a-z][a-z0-9_]{0,30}, not " + name);
        }
        if (type == null || hash == null || !HASH.matcher(hash).matches()) {
            throw new IllegalArgumentException("set " + name + " needs a type and a SHA-256 hash in lower-case hex");
        }
        elements = List.copyOf(elements);
    }

    /** A set whose hash is computed from its content. */
    public static <E> CompiledSet<E> of(String name, SetType type, List<E> elements) {
        return new CompiledSet<>(name, type, elements, hash(type, elements));
    }

    /** Whether {@code hash} is the hash of the content (false for a set damaged or forged on the way). */
    public boolean hashMatches() {
        return hash.equals(hash(type, elements));
    }

    public boolean isEmpty() {
        return elements.isEmpty();
    }

    static String hash(SetType type, List<?> elements) {
        MessageDigest digest;
        try {
            digest = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform has SHA-256", e);
        }
        digest.update((type.name() + "\n").getBytes(StandardCharsets.UTF_8));
        for (Object element : elements) {
            digest.update((element + "\n").getBytes(StandardCharsets.UTF_8));
        }
        return HexFormat.of().formatHex(digest.digest());
    }
}
