package dev.clawfence.agent.enforce;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * A ruleset as an enforcer applied it: the backend's name, the exact text it fed to the kernel tools and
 * that text's SHA-256 (lower-case hex), which the agent reports as {@code ruleset_hash}. Passing it to
 * {@link Enforcer#restore} puts exactly this text back.
 */
public record AppliedRuleset(String backend, String text, String sha256) {

    public static AppliedRuleset of(String backend, String text) {
        return new AppliedRuleset(backend, text, sha256(text));
    }

    public static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform has SHA-256", e);
        }
    }

    @Override
    public String toString() {
        return backend + " ruleset " + sha256.substring(0, 12);
    }
}
