package dev.clawfence.controlplane.certificates;

import java.net.URI;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Who an agent is: its tenant and instance, as named by the SAN URI
 * {@code clawfence://tenant/<tenant id>/instance/<instance id>} of the client certificate the control
 * plane's CA issued to it. Message fields never name an agent; only this does.
 */
public record AgentIdentity(UUID tenantId, UUID instanceId) {

    private static final Pattern URI_FORM = Pattern.compile(
            "clawfence://tenant/([0-9a-f-]{36})/instance/([0-9a-f-]{36})");
    private static final int SAN_URI = 6;

    /** The SAN URI naming this identity. */
    public String uri() {
        return "clawfence://tenant/" + tenantId + "/instance/" + instanceId;
    }

    /** The identity named by {@code certificate}'s SAN URI; empty when it names none or several. */
    public static Optional<AgentIdentity> of(X509Certificate certificate) {
        Collection<List<?>> names;
        try {
            names = certificate.getSubjectAlternativeNames();
        } catch (CertificateParsingException e) {
            return Optional.empty();
        }
        if (names == null) {
            return Optional.empty();
        }
        List<AgentIdentity> found = names.stream()
                .filter(n -> n.size() == 2 && Integer.valueOf(SAN_URI).equals(n.get(0)))
                .map(n -> parse(String.valueOf(n.get(1))))
                .flatMap(Optional::stream)
                .toList();
        return found.size() == 1 ? Optional.of(found.getFirst()) : Optional.empty();
    }

    /** Parses the URI form; empty for anything else. */
    public static Optional<AgentIdentity> parse(String uri) {
        Matcher m = URI_FORM.matcher(uri);
        if (!m.matches()) {
            return Optional.empty();
        }
        try {
            URI.create(uri);
            return Optional.of(new AgentIdentity(UUID.fromString(m.group(1)), UUID.fromString(m.group(2))));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }
}
