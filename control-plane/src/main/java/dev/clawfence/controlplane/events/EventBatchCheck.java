package dev.clawfence.controlplane.events;

import dev.clawfence.proto.agent.v1.ConnectionEvent;
import dev.clawfence.proto.agent.v1.Direction;
import dev.clawfence.proto.agent.v1.EventBatch;
import dev.clawfence.proto.agent.v1.EventLoss;
import dev.clawfence.proto.agent.v1.Verdict;
import java.util.ArrayList;
import java.util.List;

/**
 * Checks an {@link EventBatch} against the wire contract before anything touches the database, and
 * names every problem at once: a batch is stored whole or not at all.
 */
final class EventBatchCheck {

    static final int MAX_RULE_ID = 200;
    static final int MAX_REASON = 100;
    static final int MAX_INTERFACE = 64;

    private EventBatchCheck() {}

    /** Throws {@link InvalidEventBatchException} listing every problem; returns normally when there is none. */
    static void check(EventBatch batch) {
        List<String> problems = new ArrayList<>();
        long previous = 0;
        for (int i = 0; i < batch.getEventsCount(); i++) {
            ConnectionEvent event = batch.getEvents(i);
            if (event.getSequence() <= 0) {
                problems.add(at(i) + "sequence: " + event.getSequence() + " is not positive (sequences start at 1)");
            } else if (i > 0 && event.getSequence() <= previous) {
                problems.add(at(i) + "sequence: " + event.getSequence() + " does not follow " + previous
                        + " (sequences must strictly increase within a batch)");
            }
            previous = Math.max(previous, event.getSequence());
            if (event.getTimeEpochMicros() <= 0) {
                problems.add(at(i) + "time_epoch_micros: " + event.getTimeEpochMicros() + " is not a time after 1970");
            }
            if (event.getDirection() != Direction.DIRECTION_INBOUND && event.getDirection() != Direction.DIRECTION_OUTBOUND) {
                problems.add(at(i) + "direction: " + event.getDirectionValue() + " is not a known direction (inbound 1, outbound 2)");
            }
            if (event.getVerdict() != Verdict.VERDICT_ALLOWED && event.getVerdict() != Verdict.VERDICT_BLOCKED
                    && event.getVerdict() != Verdict.VERDICT_WOULD_BLOCK) {
                problems.add(at(i) + "verdict: " + event.getVerdictValue()
                        + " is not a known verdict (allowed 1, blocked 2, would-block 3)");
            }
            if (event.getIpProtocol() > 255) {
                problems.add(at(i) + "ip_protocol: " + Integer.toUnsignedString(event.getIpProtocol()) + " is not an IP protocol number (0-255)");
            }
            int source = event.getSourceAddress().size();
            int destination = event.getDestinationAddress().size();
            if (!isAddressLength(source)) {
                problems.add(at(i) + "source_address: " + source + " bytes is not an address (4 bytes for IPv4, 16 for IPv6)");
            }
            if (!isAddressLength(destination)) {
                problems.add(at(i) + "destination_address: " + destination + " bytes is not an address (4 bytes for IPv4, 16 for IPv6)");
            }
            if (isAddressLength(source) && isAddressLength(destination) && source != destination) {
                problems.add(at(i) + "destination_address: " + destination + " bytes but source_address has " + source
                        + " (both must be of the same family)");
            }
            port(problems, i, "source_port", event.getSourcePort());
            port(problems, i, "destination_port", event.getDestinationPort());
            text(problems, i, "rule_id", event.getRuleId(), MAX_RULE_ID);
            text(problems, i, "reason", event.getReason(), MAX_REASON);
            text(problems, i, "interface", event.getInterface(), MAX_INTERFACE);
        }
        for (int i = 0; i < batch.getLossesCount(); i++) {
            EventLoss loss = batch.getLosses(i);
            String lossAt = "losses[" + i + "].";
            if (loss.getFirstSequence() <= 0 || loss.getLastSequence() < loss.getFirstSequence()) {
                problems.add(lossAt + "first_sequence..last_sequence: " + loss.getFirstSequence() + ".." + loss.getLastSequence()
                        + " is not a range of positive sequences (first <= last)");
            } else if (loss.getCount() <= 0 || loss.getCount() - 1 > loss.getLastSequence() - loss.getFirstSequence()) {
                problems.add(lossAt + "count: " + loss.getCount() + " does not fit the range " + loss.getFirstSequence() + ".."
                        + loss.getLastSequence() + " (between 1 and its length)");
            }
            if (lossReason(loss.getReason()) == null) {
                problems.add(lossAt + "reason: " + loss.getReasonValue()
                        + " is not a known loss reason (full-dropped-oldest 1, corrupt 2, torn-tail 3)");
            }
        }
        if (!problems.isEmpty()) {
            throw new InvalidEventBatchException(problems);
        }
    }

    /** The stored name of a loss reason, or null for one the contract does not know. */
    static String lossReason(EventLoss.Reason reason) {
        return switch (reason) {
            case FULL_DROPPED_OLDEST -> "full-dropped-oldest";
            case CORRUPT -> "corrupt";
            case TORN_TAIL -> "torn-tail";
            default -> null;
        };
    }

    private static boolean isAddressLength(int bytes) {
        return bytes == 4 || bytes == 16;
    }

    /** The path of event {@code index}, built only for a problem: a valid batch allocates nothing per event. */
    private static String at(int index) {
        return "events[" + index + "].";
    }

    private static void port(List<String> problems, int index, String field, int port) {
        if (Integer.compareUnsigned(port, 65535) > 0) {
            problems.add(at(index) + field + ": " + Integer.toUnsignedString(port) + " is not a port (0-65535)");
        }
    }

    private static void text(List<String> problems, int index, String field, String value, int max) {
        if (value.length() > max) {
            problems.add(at(index) + field + ": " + value.length() + " characters is longer than " + max);
        }
        if (value.indexOf('\0') >= 0) {
            // PostgreSQL text cannot hold NUL; refusing here keeps COPY from failing halfway.
            problems.add(at(index) + field + ": contains a NUL character");
        }
    }
}
