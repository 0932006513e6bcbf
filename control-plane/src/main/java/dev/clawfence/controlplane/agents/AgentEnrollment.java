package dev.clawfence.controlplane.agents;

import dev.clawfence.controlplane.certificates.AgentIdentity;
import dev.clawfence.controlplane.certificates.CertificateAuthority;
import dev.clawfence.controlplane.enrollment.EnrollmentToken;
import dev.clawfence.controlplane.enrollment.EnrollmentTokens;
import dev.clawfence.controlplane.tenancy.Caller;
import dev.clawfence.controlplane.tenancy.TenantAccess;
import jakarta.inject.Singleton;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.time.ZoneOffset;
import java.util.List;
import java.util.UUID;

/**
 * Turns an enrolment token and a CSR into an instance and its client certificate, and renews an
 * instance's certificate. The CSR is checked before the token is consumed, so a malformed request
 * does not use up a one-use token.
 */
@Singleton
public final class AgentEnrollment {

    /** An enrolled instance and its chain (its certificate first, then the root). */
    public record Enrolled(AgentIdentity identity, List<X509Certificate> chain) {}

    private final EnrollmentTokens tokens;
    private final CertificateAuthority authority;
    private final TenantAccess access;
    private final Instances instances;
    private final AgentGatewayConfiguration config;

    public AgentEnrollment(EnrollmentTokens tokens, CertificateAuthority authority, TenantAccess access,
            Instances instances, AgentGatewayConfiguration config) {
        this.tokens = tokens;
        this.authority = authority;
        this.access = access;
        this.instances = instances;
        this.config = config;
    }

    /**
     * Enrols a new instance.
     *
     * @throws IllegalArgumentException the token text is malformed
     * @throws CertificateAuthority.InvalidRequest the CSR is malformed or its signature does not verify
     * @throws EnrollmentTokens.RefusedToken the token is unknown, revoked, expired or used up
     */
    public Enrolled enroll(String tokenText, byte[] csrDer, String hostname, String agentVersion,
            String remoteAddress) throws CertificateAuthority.InvalidRequest, EnrollmentTokens.RefusedToken {
        EnrollmentToken token = EnrollmentToken.parse(tokenText);
        PublicKey key = CertificateAuthority.requestedKey(csrDer);
        EnrollmentTokens.Consumed consumed = tokens.consume(token);
        AgentIdentity identity = new AgentIdentity(consumed.tenantId(), UUID.randomUUID());
        X509Certificate certificate = authority.issueAgentCertificate(key, identity,
                config.certificateValidityOrDefault());
        access.system(identity.tenantId(), Caller.agent(identity.tenantId(), identity.instanceId(), remoteAddress),
                tx -> {
                    instances.create(tx, identity.instanceId(), consumed.tokenId(), hostname, agentVersion,
                            certificate.getNotAfter().toInstant().atOffset(ZoneOffset.UTC));
                    return null;
                });
        return new Enrolled(identity, List.of(certificate, authority.certificate()));
    }

    /** Issues a fresh certificate for {@code identity} to the key of {@code csrDer}. */
    public List<X509Certificate> renew(AgentIdentity identity, byte[] csrDer, String remoteAddress)
            throws CertificateAuthority.InvalidRequest {
        PublicKey key = CertificateAuthority.requestedKey(csrDer);
        X509Certificate certificate = authority.issueAgentCertificate(key, identity,
                config.certificateValidityOrDefault());
        access.system(identity.tenantId(), Caller.agent(identity.tenantId(), identity.instanceId(), remoteAddress),
                tx -> {
                    instances.renewed(tx, identity.instanceId(),
                            certificate.getNotAfter().toInstant().atOffset(ZoneOffset.UTC));
                    return null;
                });
        return List.of(certificate, authority.certificate());
    }

    /** Whether {@code identity} may call: it exists and is not revoked. */
    public Instances.Standing standing(AgentIdentity identity) {
        return access.system(identity.tenantId(), Caller.agent(identity.tenantId(), identity.instanceId(), null),
                tx -> instances.standing(tx, identity.instanceId()));
    }
}
