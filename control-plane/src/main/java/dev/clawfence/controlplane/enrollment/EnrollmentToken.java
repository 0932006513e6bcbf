package dev.clawfence.controlplane.enrollment;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.regex.Pattern;

/**
 * The text of an enrolment token: {@code cfe1.<secret>.<pin>}, where {@code secret} is 32 random bytes
 * and {@code pin} the SHA-256 of the control plane's CA certificate (DER), both base64url without
 * padding (43 characters each). Like a cluster join token carrying the CA hash, it is all an agent
 * needs besides the server address: the agent trusts the gateway's server certificate only if its
 * chain ends in a CA with that pin. Only the SHA-256 of the secret is stored.
 *
 * @param secret the 43-character secret part
 * @param pin the 43-character CA pin
 */
public record EnrollmentToken(String secret, String pin) {

    /** The format's prefix and version. */
    public static final String PREFIX = "cfe1";

    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Pattern PART = Pattern.compile("[A-Za-z0-9_-]{43}");

    /** A fresh token carrying {@code pin}. */
    public static EnrollmentToken generate(String pin) {
        byte[] bytes = new byte[32];
        RANDOM.nextBytes(bytes);
        return new EnrollmentToken(Base64.getUrlEncoder().withoutPadding().encodeToString(bytes), pin);
    }

    /**
     * Parses token text; throws {@link IllegalArgumentException} with a sentence for the operator when it
     * is not {@code cfe1.<43 base64url characters>.<43 base64url characters>}.
     */
    public static EnrollmentToken parse(String text) {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException("token is empty; pass the enrolment token the control plane issued");
        }
        String[] parts = text.strip().split("\\.", -1);
        if (parts.length != 3 || !PREFIX.equals(parts[0])) {
            throw new IllegalArgumentException("token is not an enrolment token: expected cfe1.<secret>.<pin>");
        }
        if (!PART.matcher(parts[1]).matches()) {
            throw new IllegalArgumentException("token's secret part is malformed: expected 43 base64url characters");
        }
        if (!PART.matcher(parts[2]).matches()) {
            throw new IllegalArgumentException("token's CA pin is malformed: expected 43 base64url characters");
        }
        return new EnrollmentToken(parts[1], parts[2]);
    }

    /** The SHA-256 of the secret part, as stored. */
    public byte[] secretHash() {
        try {
            return MessageDigest.getInstance("SHA-256").digest(secret.getBytes(StandardCharsets.US_ASCII));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    /** The token text. */
    @Override
    public String toString() {
        return PREFIX + "." + secret + "." + pin;
    }
}
