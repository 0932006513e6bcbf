package dev.clawfence.agent.sync;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ConnectivityState;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The agent's calls to the control plane, always under its newest identity: every call starts on a
 * mutual-TLS channel ({@link ControlPlaneChannel}) built from the identity last passed to
 * {@link #use}. Switching identities never cuts a call in progress: the previous channel takes no new
 * calls and is closed once its calls end, or after a grace period. Tells a listener when the current
 * channel connects ({@code true}) or fails to ({@code false}), for the service status.
 */
public final class ControlPlaneConnection extends Channel implements AutoCloseable {

    private final Consumer<Boolean> connectivity;
    private final List<ManagedChannel> retiring = new ArrayList<>();
    private volatile ManagedChannel current;
    private volatile Identity identity;

    private ControlPlaneConnection(Identity identity, Consumer<Boolean> connectivity) throws GeneralSecurityException, IOException {
        this.connectivity = connectivity;
        this.identity = identity;
        this.current = ControlPlaneChannel.open(identity);
        watch(current, ConnectivityState.IDLE);
    }

    /** A connection under {@code identity}; {@code connectivity} hears whether the current channel is connected, at each change. */
    public static ControlPlaneConnection open(Identity identity, Consumer<Boolean> connectivity) throws GeneralSecurityException, IOException {
        return new ControlPlaneConnection(identity, connectivity);
    }

    /** The identity new calls use. */
    public Identity identity() {
        return identity;
    }

    /**
     * Starts new calls under {@code renewed}; calls already open keep the previous channel, which is shut
     * down gracefully and closed for good after {@code grace}.
     */
    public synchronized void use(Identity renewed, Duration grace) throws GeneralSecurityException, IOException {
        ManagedChannel next = ControlPlaneChannel.open(renewed);
        ManagedChannel previous = current;
        current = next;
        identity = renewed;
        watch(next, ConnectivityState.IDLE);
        previous.shutdown();
        retiring.add(previous);
        Thread.ofVirtual().name("retire-channel").start(() -> {
            try {
                if (!previous.awaitTermination(grace.toMillis(), TimeUnit.MILLISECONDS)) {
                    previous.shutdownNow();
                }
            } catch (InterruptedException e) {
                previous.shutdownNow();
            }
            synchronized (this) {
                retiring.remove(previous);
            }
        });
    }

    private void watch(ManagedChannel channel, ConnectivityState last) {
        ConnectivityState now = channel.getState(false);
        if (now == ConnectivityState.SHUTDOWN) {
            return;
        }
        if (now != last && channel == current && (now == ConnectivityState.READY || now == ConnectivityState.TRANSIENT_FAILURE)) {
            connectivity.accept(now == ConnectivityState.READY);
        }
        channel.notifyWhenStateChanged(now, () -> watch(channel, now));
    }

    /**
     * Lets the next call connect at once instead of after gRPC's own reconnect backoff (up to two
     * minutes): for callers that pace their retries themselves, with jitter.
     */
    public void resetConnectBackoff() {
        current.resetConnectBackoff();
    }

    @Override
    public <Q, R> ClientCall<Q, R> newCall(MethodDescriptor<Q, R> method, CallOptions options) {
        return current.newCall(method, options);
    }

    @Override
    public String authority() {
        return current.authority();
    }

    /** Closes every channel at once. */
    @Override
    public synchronized void close() {
        current.shutdownNow();
        retiring.forEach(ManagedChannel::shutdownNow);
    }
}
