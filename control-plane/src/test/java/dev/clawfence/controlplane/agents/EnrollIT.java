package dev.clawfence.controlplane.agents;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import dev.clawfence.controlplane.certificates.CertificateAuthority;
import dev.clawfence.controlplane.enrollment.EnrollmentToken;
import dev.clawfence.controlplane.support.Api;
import dev.clawfence.controlplane.support.TestAgent;
import dev.clawfence.controlplane.support.TestServer;
import dev.clawfence.proto.agent.v1.EnrollRequest;
import dev.clawfence.proto.agent.v1.EnrollResponse;
import dev.clawfence.proto.agent.v1.RenewRequest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.security.cert.X509Certificate;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Enroll and Renew over real TLS gRPC against the shared server and embedded PostgreSQL. */
class EnrollIT {

    private final TestServer server = TestServer.get();
    private final Api admin = server.admin();
    private final AgentGatewayServer gateway = server.context().getBean(AgentGatewayServer.class);
    private final X509Certificate ca = server.context().getBean(CertificateAuthority.class).certificate();
    private final List<TestAgent> agents = new ArrayList<>();

    @AfterEach
    void closeAgents() {
        agents.forEach(TestAgent::close);
    }

    private TestAgent agent() {
        TestAgent agent = new TestAgent(gateway.port(), ca);
        agents.add(agent);
        return agent;
    }

    private String token(UUID tenant, Map<String, Object> body) {
        Api.Response created = admin.post("/api/v1/tenants/" + tenant + "/enrollment-tokens", body);
        assertThat(created.status()).as(created.toString()).isEqualTo(201);
        return (String) created.map().get("token");
    }

    @Test
    void enrolmentIssuesACertificateNamingTenantAndInstance() throws Exception {
        UUID tenant = admin.createTenant("Enrolled");
        String token = token(tenant, Map.of());
        TestAgent agent = agent();

        EnrollResponse response = agent.enroll(token);

        assertThat(response.getTenantId()).isEqualTo(tenant.toString());
        X509Certificate certificate = agent.chain().getFirst();
        certificate.verify(ca.getPublicKey());
        assertThat(agent.chain().getLast()).isEqualTo(ca);
        assertThat(EnrollmentToken.parse(token).pin()).isEqualTo(CertificateAuthority.pinOf(agent.chain().getLast()));
        assertThat(certificate.getSubjectX500Principal().getName()).contains("CN=" + response.getInstanceId());
        assertThat(certificate.getSubjectAlternativeNames()).containsExactly(
                List.of(6, "clawfence://tenant/" + tenant + "/instance/" + response.getInstanceId()));
        assertThat(certificate.getExtendedKeyUsage()).containsExactly("1.3.6.1.5.5.7.3.2");
        assertThat(certificate.getPublicKey()).isNotNull();

        List<Map<String, Object>> instances = admin.get("/api/v1/tenants/" + tenant + "/instances").list();
        assertThat(instances).hasSize(1);
        assertThat(instances.getFirst()).containsEntry("id", response.getInstanceId())
                .containsEntry("hostname", "host-" + gateway.port())
                .containsEntry("agentVersion", "0.1.0-test")
                .containsEntry("connected", false)
                .containsKey("certificateExpiresAt");
        assertThat(admin.get("/api/v1/tenants/" + tenant + "/enrollment-tokens").list().getFirst())
                .containsEntry("uses", 1);
    }

    @Test
    void renewIssuesAFreshCertificateForTheCallingInstance() throws Exception {
        UUID tenant = admin.createTenant("Renewing");
        TestAgent agent = agent();
        EnrollResponse enrolled = agent.enroll(token(tenant, Map.of()));

        var renewed = agent.authenticated().renew(RenewRequest.newBuilder()
                .setCsrDer(ByteString.copyFrom(TestAgent.csr(TestAgent.newKeyPair()))).build());

        X509Certificate certificate = TestAgent.certificate(renewed.getCertificateChainDer(0).toByteArray());
        certificate.verify(ca.getPublicKey());
        assertThat(certificate.getSubjectX500Principal().getName()).contains("CN=" + enrolled.getInstanceId());
        assertThat(certificate.getSerialNumber()).isNotEqualTo(agent.chain().getFirst().getSerialNumber());
    }

    @Test
    void refusedTokensSayWhy() throws Exception {
        UUID tenant = admin.createTenant("Refusals");
        String usedUp = token(tenant, Map.of("maxUses", 1));
        agent().enroll(usedUp);
        String revoked = token(tenant, Map.of());
        String revokedId = (String) admin.get("/api/v1/tenants/" + tenant + "/enrollment-tokens").list().getLast().get("id");
        assertThat(admin.delete("/api/v1/tenants/" + tenant + "/enrollment-tokens/" + revokedId).status()).isEqualTo(204);
        String expired = token(tenant, Map.of());
        try (Connection c = server.ownerConnection(); PreparedStatement s = c.prepareStatement(
                "update enrollment_tokens set expires_at = now() - interval '1 second' where token_hash = ?")) {
            s.setBytes(1, EnrollmentToken.parse(expired).secretHash());
            assertThat(s.executeUpdate()).isEqualTo(1);
        }
        String unknown = EnrollmentToken.generate(EnrollmentToken.parse(usedUp).pin()).toString();

        assertRefused(usedUp, Status.Code.PERMISSION_DENIED, "used as many times as it allows");
        assertRefused(revoked, Status.Code.PERMISSION_DENIED, "revoked");
        assertRefused(expired, Status.Code.PERMISSION_DENIED, "expired");
        assertRefused(unknown, Status.Code.PERMISSION_DENIED, "not known");
        assertRefused("cfe1.nope", Status.Code.INVALID_ARGUMENT, "expected cfe1.<secret>.<pin>");
        assertRefused("", Status.Code.INVALID_ARGUMENT, "token is empty");
    }

    @Test
    void aMalformedCsrIsRefusedWithoutUsingTheToken() {
        UUID tenant = admin.createTenant("Bad CSR");
        String token = token(tenant, Map.of());

        assertThatThrownBy(() -> agent().anonymous().enroll(EnrollRequest.newBuilder().setToken(token)
                .setCsrDer(ByteString.copyFromUtf8("not a csr")).build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                    assertThat(e.getStatus().getDescription()).contains("csr_der");
                });
        assertThat(admin.get("/api/v1/tenants/" + tenant + "/enrollment-tokens").list().getFirst())
                .containsEntry("uses", 0);
        assertThat(agent().enroll(token).getTenantId()).isEqualTo(tenant.toString());
    }

    @Test
    void aOneUseTokenEnrolsExactlyOnceUnderConcurrency() throws Exception {
        UUID tenant = admin.createTenant("Race");
        String token = token(tenant, Map.of("maxUses", 1));
        List<TestAgent> racers = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            racers.add(agent());
        }
        CountDownLatch start = new CountDownLatch(1);
        List<Future<Status.Code>> results = new ArrayList<>();
        try (ExecutorService pool = Executors.newFixedThreadPool(8)) {
            for (TestAgent racer : racers) {
                Callable<Status.Code> call = () -> {
                    start.await();
                    try {
                        racer.enroll(token);
                        return Status.Code.OK;
                    } catch (StatusRuntimeException e) {
                        return e.getStatus().getCode();
                    }
                };
                results.add(pool.submit(call));
            }
            start.countDown();
            List<Status.Code> codes = new ArrayList<>();
            for (Future<Status.Code> result : results) {
                codes.add(result.get());
            }
            assertThat(codes).filteredOn(c -> c == Status.Code.OK).hasSize(1);
            assertThat(codes).filteredOn(c -> c == Status.Code.PERMISSION_DENIED).hasSize(7);
        }
        assertThat(admin.get("/api/v1/tenants/" + tenant + "/instances").list()).hasSize(1);
    }

    private void assertRefused(String token, Status.Code code, String description) {
        assertThatThrownBy(() -> agent().enroll(token))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(code);
                    assertThat(e.getStatus().getDescription()).contains(description);
                });
    }
}
