package dev.clawfence.agent.sync;

import com.google.protobuf.ByteString;
import dev.clawfence.agent.state.Store;
import dev.clawfence.proto.agent.v1.AgentGatewayGrpc;
import dev.clawfence.proto.agent.v1.RenewRequest;
import dev.clawfence.proto.agent.v1.RenewResponse;
import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.random.RandomGenerator;

/**
 * Renews the agent's client certificate before it expires: once {@link #FRACTION} of its validity has
 * passed (give or take {@link #JITTER}, so that agents enrolled together do not renew together), it
 * makes a fresh key pair and calls {@code Renew} over the current mutual-TLS identity. It checks the
 * returned chain (for the new key, same subject, same pinned CA), stores the new identity in the state
 * directory (one atomic rename: the file holds the old identity or the new one, never neither), and
 * hands it to the {@link Listener}. Failures are retried with a backoff that grows with the
 * certificate's lifetime (1 s to 1 min at first, up to 1 h, the longest after expiry); a refusal or an expired certificate is
 * logged as an error that says the host must be enrolled again. Enforcement never depends on it.
 */
public final class Renewal implements AutoCloseable {

    /** The share of the validity after which a certificate is renewed. */
    static final double FRACTION = 2.0 / 3;
    /** The renewal point moves by up to this share of the validity, either way. */
    static final double JITTER = 0.05;
    private static final Duration CALL_TIMEOUT = Duration.ofSeconds(30);

    /** Hears about renewals (on the renewal thread). */
    public interface Listener {

        /** {@code renewed} is stored; new connections should use it. */
        void renewed(Identity renewed);

        /** An attempt failed; {@code problem} says why and what happens next. */
        default void failing(String problem) { }
    }

    private final Channel channel;
    private final Store store;
    private final Clock clock;
    private final RandomGenerator random;
    private final Listener listener;
    private final Consumer<String> log;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().daemon().name("certificate-renewal").factory());
    private volatile Identity identity;
    private int failures;

    /** Renews {@code identity} over {@code channel}, which must carry the current identity's mutual TLS. */
    public Renewal(Identity identity, Channel channel, Store store, Clock clock, RandomGenerator random, Listener listener, Consumer<String> log) {
        this.identity = identity;
        this.channel = channel;
        this.store = store;
        this.clock = clock;
        this.random = random;
        this.listener = listener;
        this.log = log;
    }

    /**
     * Schedules the first renewal: at the renewal point of the certificate, or at once if that has passed.
     * For a certificate {@code justIssued} the validity counts from now, not from its (backdated) notBefore.
     */
    public void start(boolean justIssued) throws GeneralSecurityException {
        X509Certificate certificate = identity.certificate();
        Instant validFrom = justIssued ? max(certificate.getNotBefore().toInstant(), clock.instant()) : certificate.getNotBefore().toInstant();
        Instant at = renewAt(validFrom, certificate.getNotAfter().toInstant(), random.nextDouble(-1, 1));
        log.accept("certificate valid until " + certificate.getNotAfter().toInstant() + "; renewal at " + at);
        schedule(at);
    }

    /**
     * When a certificate valid from {@code validFrom} to {@code notAfter} is due for renewal, with
     * {@code jitter} in [-1, 1] moving the point by up to {@link #JITTER} of the validity.
     */
    static Instant renewAt(Instant validFrom, Instant notAfter, double jitter) {
        long lifetime = Duration.between(validFrom, notAfter).toMillis();
        return validFrom.plusMillis(Math.round(lifetime * (FRACTION + JITTER * jitter)));
    }

    /**
     * The wait before the next attempt after {@code failures} failed ones: 1/1000 of the lifetime (at
     * least 1 s, at most 1 min), doubling, at most 1/50 of the lifetime (at most 1 h).
     */
    static Duration retryDelay(Duration lifetime, int failures) {
        long first = Math.clamp(lifetime.toMillis() / 1000, 1_000, 60_000);
        long most = Math.clamp(lifetime.toMillis() / 50, first, 3_600_000);
        long delay = first << Math.min(failures - 1, 30);
        return Duration.ofMillis(Math.min(delay, most));
    }

    private void schedule(Instant at) {
        long delay = Math.max(0, Duration.between(clock.instant(), at).toMillis());
        timer.schedule(this::attemptQuietly, delay, TimeUnit.MILLISECONDS);
    }

    private void attemptQuietly() {
        try {
            schedule(attempt());
        } catch (RuntimeException | GeneralSecurityException e) {
            log.accept("error: certificate renewal: " + e + "; retrying in 1 h");
            schedule(clock.instant().plus(Duration.ofHours(1)));
        }
    }

    /** One renewal attempt now; returns when the next one is due. */
    Instant attempt() throws GeneralSecurityException {
        Identity current = identity;
        X509Certificate certificate = current.certificate();
        Instant notAfter = certificate.getNotAfter().toInstant();
        Duration lifetime = Duration.between(certificate.getNotBefore().toInstant(), notAfter);
        Instant now = clock.instant();
        String problem;
        try {
            Identity renewed = renew(current);
            store.saveIdentity(renewed);
            identity = renewed;
            failures = 0;
            X509Certificate fresh = renewed.certificate();
            Instant validFrom = max(fresh.getNotBefore().toInstant(), now);
            Instant next = renewAt(validFrom, fresh.getNotAfter().toInstant(), random.nextDouble(-1, 1));
            log.accept("certificate renewed: serial " + fresh.getSerialNumber().toString(16) + " valid until " + fresh.getNotAfter().toInstant()
                    + " (the previous one was valid until " + notAfter + "); next renewal at " + next);
            listener.renewed(renewed);
            return next;
        } catch (StatusRuntimeException e) {
            Status.Code code = e.getStatus().getCode();
            problem = (code == Status.Code.PERMISSION_DENIED || code == Status.Code.UNAUTHENTICATED
                    ? "the control plane refused to renew the certificate: " : "certificate renewal failed: ")
                    + EnrolmentClient.describe(e.getStatus());
        } catch (EnrolmentException e) {
            problem = "certificate renewal failed: " + e.getMessage();
        } catch (IOException e) {
            problem = "certificate renewal failed: the renewed identity cannot be stored in " + store.directory() + ": " + e.getMessage();
        }
        failures++;
        // Past expiry only a re-enrolment (or a clock put right) helps: keep trying, at the longest interval.
        Instant next = now.plus(retryDelay(lifetime, now.isBefore(notAfter) ? failures : Integer.MAX_VALUE));
        if (now.isBefore(notAfter)) {
            // An attempt just after expiry turns the warning into the error that asks for re-enrolment.
            next = next.isAfter(notAfter) ? notAfter.plusSeconds(1) : next;
            problem = problem + "; retrying at " + next + ", the certificate is valid until " + notAfter;
            log.accept((problem.startsWith("the control plane refused") ? "error: " : "warning: ") + problem);
        } else {
            problem = "the agent's certificate expired at " + notAfter + " (" + problem + "): the control plane will not accept this host"
                    + " until it is enrolled again with a new token (docs/agent.md, \"Certificate renewal\"); the agent keeps enforcing"
                    + " its last policy and retries at " + next;
            log.accept("error: " + problem);
        }
        listener.failing(problem);
        return next;
    }

    /** Calls Renew with a fresh key pair and checks the answer; the new identity is not stored yet. */
    private Identity renew(Identity current) throws EnrolmentException, GeneralSecurityException {
        KeyPair keys;
        byte[] csr;
        try {
            keys = KeyMaterial.generate();
            csr = KeyMaterial.csr(keys);
        } catch (GeneralSecurityException | IOException e) {
            throw new EnrolmentException("cannot create a new key pair: " + e.getMessage(), e);
        }
        RenewResponse response = AgentGatewayGrpc.newBlockingStub(channel)
                .withDeadlineAfter(CALL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
                .renew(RenewRequest.newBuilder().setCsrDer(ByteString.copyFrom(csr)).build());
        List<byte[]> chain = response.getCertificateChainDerList().stream().map(ByteString::toByteArray).toList();
        List<X509Certificate> currentChain = current.chain();
        EnrolmentClient.check(chain, keys, new PinnedTrust(EnrolmentToken.pinOf(currentChain.getLast().getEncoded())));
        Identity renewed = current.renewed(keys.getPrivate().getEncoded(), chain);
        if (!renewed.certificate().getSubjectX500Principal().equals(currentChain.getFirst().getSubjectX500Principal())) {
            throw new EnrolmentException("the renewed certificate names " + renewed.certificate().getSubjectX500Principal()
                    + ", not " + currentChain.getFirst().getSubjectX500Principal());
        }
        return renewed;
    }

    private static Instant max(Instant a, Instant b) {
        return a.isAfter(b) ? a : b;
    }

    /** Stops renewing. */
    @Override
    public void close() {
        timer.shutdownNow();
    }
}
