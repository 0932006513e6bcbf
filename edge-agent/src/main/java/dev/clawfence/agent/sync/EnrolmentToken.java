package dev.clawfence.agent.sync;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An enrolment token, {@code cfe1.<secret>.<pin>}: the one-time secret the control plane checks, and
 * the pin of its CA (base64url without padding of the SHA-256 of the CA certificate's DER), which the
 * agent uses to verify the server before it sends the secret. {@link #toString()} never shows the secret.
 */
public record EnrolmentToken(String secret, byte[] caPin) {

    private static final Pattern FORM = Pattern.compile("cfe1\\.([A-Za-z0-9_-]+)\\.([A-Za-z0-9_-]{43})");

    /**
     * @throws IllegalArgumentException when {@code text} is not a token (the message does not repeat it)
     */
    public static EnrolmentToken parse(String text) {
        Matcher matcher = FORM.matcher(text == null ? "" : text.strip());
        if (!matcher.matches()) {
            throw new IllegalArgumentException("not an enrolment token (expected cfe1.<secret>.<pin>)");
        }
        byte[] pin = Base64.getUrlDecoder().decode(matcher.group(2));
        return new EnrolmentToken(matcher.group(1), pin);
    }

    /** The pin of a CA certificate given as DER. */
    public static byte[] pinOf(byte[] caCertificateDer) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(caCertificateDer);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform has SHA-256", e);
        }
    }

    /** The token as issued: {@code cfe1.<secret>.<pin>}, for sending in {@code EnrollRequest.token}. */
    public String text() {
        return "cfe1." + secret + "." + Base64.getUrlEncoder().withoutPadding().encodeToString(caPin);
    }

    @Override
    public String toString() {
        return "cfe1.<hidden>." + Base64.getUrlEncoder().withoutPadding().encodeToString(caPin);
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof EnrolmentToken token && token.secret.equals(secret) && java.util.Arrays.equals(token.caPin, caPin);
    }

    @Override
    public int hashCode() {
        return secret.hashCode() * 31 + java.util.Arrays.hashCode(caPin);
    }
}
