package dev.clawfence.agent.events;

import com.google.protobuf.ByteString;
import dev.clawfence.agent.nflog.LoggedPacket;
import dev.clawfence.agent.nflog.PrefixCodec;
import dev.clawfence.proto.agent.v1.ConnectionEvent;
import dev.clawfence.proto.agent.v1.Direction;
import dev.clawfence.proto.agent.v1.Verdict;
import java.util.Optional;
import java.util.function.IntFunction;

/**
 * Turns one logged packet into the {@link ConnectionEvent} the spool keeps (sequence left 0: the
 * uploader numbers events from the spool's sequence). Packets logged by other rules to the same group
 * (no {@code cf1} prefix) and packets from hooks other than input and output are no events.
 *
 * <p>An instance remembers the prefixes it decoded: a ruleset has a dozen, so splitting and matching
 * each event's prefix again would be work repeated for nothing. Not thread-safe: one per capture thread.
 */
public final class ConnectionEvents {

    /** Distinct prefixes remembered at most; beyond that (someone else's rules logging to the group with varying prefixes) they are decoded each time. */
    static final int MAX_PREFIXES = 256;

    private final java.util.Map<String, Optional<PrefixCodec.LogPrefix>> prefixes = new java.util.HashMap<>();

    /** Why a logged packet is not an event. */
    public static final class NotAnEvent extends Exception {
        public NotAnEvent(String message) {
            super(message);
        }
    }

    /** The event of {@code packet}, as {@link #of(LoggedPacket, IntFunction)}, with the prefix decoded once per distinct text. */
    public Optional<ConnectionEvent> event(LoggedPacket packet, IntFunction<String> interfaces) throws NotAnEvent {
        Optional<PrefixCodec.LogPrefix> prefix = prefixes.get(packet.prefix());
        if (prefix == null) {
            prefix = decode(packet.prefix());
            if (prefixes.size() < MAX_PREFIXES) {
                prefixes.put(packet.prefix(), prefix);
            }
        }
        return prefix.isEmpty() ? Optional.empty() : Optional.of(build(packet, prefix.get(), interfaces));
    }

    /**
     * @param interfaces the interface name of an index (inbound: the input interface, outbound: the output one); "" where unknown
     * @return the event, or empty when the packet is not Clawfence's
     * @throws NotAnEvent when the prefix claims to be Clawfence's but is malformed, or the hook is not input or output
     */
    public static Optional<ConnectionEvent> of(LoggedPacket packet, IntFunction<String> interfaces) throws NotAnEvent {
        Optional<PrefixCodec.LogPrefix> decoded = decode(packet.prefix());
        return decoded.isEmpty() ? Optional.empty() : Optional.of(build(packet, decoded.get(), interfaces));
    }

    private static Optional<PrefixCodec.LogPrefix> decode(String text) throws NotAnEvent {
        try {
            return PrefixCodec.decode(text);
        } catch (IllegalArgumentException e) {
            throw new NotAnEvent(e.getMessage());
        }
    }

    private static ConnectionEvent build(LoggedPacket packet, PrefixCodec.LogPrefix prefix, IntFunction<String> interfaces) throws NotAnEvent {
        boolean inbound = switch (packet.hook()) {
            case LoggedPacket.HOOK_INPUT -> true;
            case LoggedPacket.HOOK_OUTPUT -> false;
            default -> throw new NotAnEvent("log prefix \"" + packet.prefix() + "\" from hook " + packet.hook() + " (only input 1 and output 3 are Clawfence's)");
        };
        if (packet.source() == null || packet.destination() == null) {
            throw new NotAnEvent("log prefix \"" + packet.prefix() + "\": the packet carries no addresses");
        }
        int index = inbound ? packet.inInterface() : packet.outInterface();
        String name = index > 0 ? interfaces.apply(index) : "";
        ConnectionEvent.Builder event = ConnectionEvent.newBuilder()
                .setTimeEpochMicros(packet.time().getEpochSecond() * 1_000_000L + packet.time().getNano() / 1_000)
                .setDirection(inbound ? Direction.DIRECTION_INBOUND : Direction.DIRECTION_OUTBOUND)
                .setIpProtocol(packet.protocol())
                .setSourceAddress(ByteString.copyFrom(packet.source().getAddress()))
                .setDestinationAddress(ByteString.copyFrom(packet.destination().getAddress()))
                .setSourcePort(Math.max(0, packet.sourcePort()))
                .setDestinationPort(Math.max(0, packet.destinationPort()))
                .setVerdict(switch (prefix.verdict()) {
                    case ALLOWED -> Verdict.VERDICT_ALLOWED;
                    case BLOCKED -> Verdict.VERDICT_BLOCKED;
                    case WOULD_BLOCK -> Verdict.VERDICT_WOULD_BLOCK;
                })
                .setRuleId(PrefixCodec.NO_RULE.equals(prefix.ruleId()) ? "" : prefix.ruleId())
                .setInterface(name == null ? "" : name);
        if (prefix.reason() != null) {
            event.setReason(prefix.reason().wireName());
        }
        return event.build();
    }
}
