package dev.clawfence.controlplane.events;

import static dev.clawfence.controlplane.events.Events.event;
import static dev.clawfence.controlplane.events.Events.instance;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.clawfence.controlplane.support.Api;
import dev.clawfence.controlplane.support.TestServer;
import dev.clawfence.proto.agent.v1.EventBatch;
import dev.clawfence.proto.agent.v1.Verdict;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The live event stream over real HTTP: events stored through {@link EventIngest} reach a subscriber
 * at once, filtered; Last-Event-ID resumes without gaps or duplicates; idle streams carry heartbeats.
 */
class EventStreamIT {

    private static final TestServer SERVER = TestServer.get();
    private static final EventIngest INGEST = SERVER.context().getBean(EventIngest.class);
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One parsed SSE event (id and data) or heartbeat comment. */
    record Sse(String id, String data, String comment) {}

    /** An open stream, read line by line on a virtual thread. */
    static final class Subscription implements AutoCloseable {
        final List<Sse> received = new CopyOnWriteArrayList<>();
        final int status;
        /** The server ended the stream (or the test closed it). */
        volatile boolean ended;
        private final Stream<String> lines;

        Subscription(UUID tenant, String token, String query, String lastEventId) throws Exception {
            HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(SERVER.uri() + "/api/v1/tenants/" + tenant
                    + "/network/events/stream" + (query.isEmpty() ? "" : "?" + query)))
                    .header("Authorization", "Bearer " + token).header("Accept", "text/event-stream");
            if (lastEventId != null) {
                request.header("Last-Event-ID", lastEventId);
            }
            HttpResponse<Stream<String>> response = HTTP.send(request.build(), HttpResponse.BodyHandlers.ofLines());
            status = response.statusCode();
            lines = response.body();
            Thread.ofVirtual().start(() -> {
                String id = null;
                StringBuilder data = null;
                try {
                    for (String line : (Iterable<String>) lines::iterator) {
                        if (line.isEmpty()) {
                            if (data != null) {
                                received.add(new Sse(id, data.toString(), null));
                            }
                            id = null;
                            data = null;
                        } else if (line.startsWith(":")) {
                            received.add(new Sse(null, null, line.substring(1).strip()));
                        } else if (line.startsWith("id:")) {
                            id = line.substring(3).strip();
                        } else if (line.startsWith("data:")) {
                            String value = line.substring(5).startsWith(" ") ? line.substring(6) : line.substring(5);
                            data = data == null ? new StringBuilder(value) : data.append('\n').append(value);
                        }
                    }
                } catch (RuntimeException e) {
                    // closed by the test
                }
                ended = true;
            });
        }

        List<Sse> events() {
            return received.stream().filter(e -> e.data() != null).toList();
        }

        @SuppressWarnings("unchecked")
        List<Map<String, Object>> items() {
            return events().stream().map(e -> {
                try {
                    return (Map<String, Object>) JSON.readValue(e.data(), Map.class);
                } catch (IOException x) {
                    throw new AssertionError(x);
                }
            }).toList();
        }

        @Override
        public void close() {
            lines.close();
        }
    }

    /** Events first..last, one second apart; even sequences allowed, odd ones blocked. */
    private static EventBatch batch(long first, long last) {
        EventBatch.Builder batch = EventBatch.newBuilder();
        Instant start = Instant.now().minusSeconds(120);
        for (long seq = first; seq <= last; seq++) {
            batch.addEvents(event(seq, start.plusSeconds(seq)).setVerdict(seq % 2 == 0 ? Verdict.VERDICT_ALLOWED : Verdict.VERDICT_BLOCKED));
        }
        return batch.build();
    }

    @Test
    void storedEventsArriveFilteredAndAResumedStreamContinuesWithoutGapsOrDuplicates() throws Exception {
        UUID tenant = SERVER.admin().createTenant("Live");
        Api viewer = SERVER.admin().mintToken(tenant, "viewer");
        String token = viewer.token();
        UUID instance = instance(tenant);
        INGEST.ingest(tenant, instance, batch(1, 4)); // before the stream: not sent

        List<Sse> first;
        try (Subscription stream = new Subscription(tenant, token, "verdict=blocked", null)) {
            assertThat(stream.status).isEqualTo(200);
            // The stream starts from "now" once its first poll ran: give it a heartbeat's time.
            await().atMost(Duration.ofSeconds(5)).until(() -> !stream.received.isEmpty());
            long stored = System.nanoTime();
            INGEST.ingest(tenant, instance, batch(5, 14));
            await().atMost(Duration.ofSeconds(3)).until(() -> stream.events().size() == 5);
            long latencyMillis = (System.nanoTime() - stored) / 1_000_000;
            assertThat(latencyMillis).as("delivery latency").isLessThan(1500);
            first = stream.events();
            assertThat(stream.items()).extracting(i -> i.get("sequence")).containsExactly(5, 7, 9, 11, 13);
            assertThat(stream.items()).allSatisfy(i -> assertThat(i).containsEntry("verdict", "blocked")
                    .containsEntry("instance", instance.toString()));
            assertThat(first).extracting(Sse::id).doesNotContainNull().doesNotHaveDuplicates();
        }

        INGEST.ingest(tenant, instance, batch(15, 20)); // while nobody listens

        // From the last event seen: only what came after it.
        try (Subscription resumed = new Subscription(tenant, token, "verdict=blocked", first.getLast().id())) {
            await().atMost(Duration.ofSeconds(3)).until(() -> resumed.events().size() >= 3);
            INGEST.ingest(tenant, instance, batch(21, 22));
            await().atMost(Duration.ofSeconds(3)).until(() -> resumed.events().size() >= 4);
            assertThat(resumed.items()).extracting(i -> i.get("sequence")).containsExactly(15, 17, 19, 21);
        }
        // From the middle of a batch (after 7): the rest of it, then everything later.
        try (Subscription middle = new Subscription(tenant, token, "verdict=blocked", first.get(1).id())) {
            await().atMost(Duration.ofSeconds(3)).until(() -> middle.events().size() >= 7);
            assertThat(middle.items()).extracting(i -> i.get("sequence")).containsExactly(9, 11, 13, 15, 17, 19, 21);
        }
        // Another filter from the same position: positions are filter-independent.
        try (Subscription allowed = new Subscription(tenant, token, "verdict=allowed", first.get(1).id())) {
            await().atMost(Duration.ofSeconds(3)).until(() -> allowed.events().size() >= 8);
            assertThat(allowed.items()).extracting(i -> i.get("sequence")).containsExactly(8, 10, 12, 14, 16, 18, 20, 22);
        }
    }

    @Test
    void anIdleStreamCarriesHeartbeatComments() throws Exception {
        UUID tenant = SERVER.admin().createTenant("Quiet");
        try (Subscription stream = new Subscription(tenant, TestServer.ADMIN_TOKEN, "", null)) {
            await().atMost(Duration.ofSeconds(5)).until(() -> stream.received.stream().filter(e -> "heartbeat".equals(e.comment())).count() >= 2);
            assertThat(stream.events()).isEmpty();
        }
    }

    @Test
    void aStreamEndsOnceItsTokenIsRevoked() throws Exception {
        UUID tenant = SERVER.admin().createTenant("Revoked viewer");
        UUID instance = instance(tenant);
        Api viewer = SERVER.admin().mintToken(tenant, "viewer");
        String tokens = "/api/v1/tenants/" + tenant + "/api-tokens";
        try (Subscription stream = new Subscription(tenant, viewer.token(), "", null);
                Subscription bystander = new Subscription(tenant, TestServer.ADMIN_TOKEN, "", null)) {
            await().atMost(Duration.ofSeconds(5)).until(() -> !stream.received.isEmpty() && !bystander.received.isEmpty());
            String id = (String) SERVER.admin().get(tokens).list().stream()
                    .filter(t -> "viewer-token".equals(t.get("name"))).findFirst().orElseThrow().get("id");
            assertThat(SERVER.admin().delete(tokens + "/" + id).status()).isEqualTo(204);

            // TestServer rechecks every second: the stream says why and ends; its reconnect would get a 401.
            await().atMost(Duration.ofSeconds(5)).until(() -> stream.ended);
            assertThat(stream.received).extracting(Sse::comment).contains("the API token was revoked; the stream ends");
            INGEST.ingest(tenant, instance, batch(1, 2));
            await().atMost(Duration.ofSeconds(3)).until(() -> bystander.events().size() == 2);
            assertThat(stream.events()).isEmpty();
            assertThat(bystander.ended).isFalse();
        }
        assertThat(new Subscription(tenant, viewer.token(), "", null).status).isEqualTo(401);
    }

    @Test
    void eventsOfOtherTenantsNeverReachTheStream() throws Exception {
        UUID mine = SERVER.admin().createTenant("Mine");
        UUID theirs = SERVER.admin().createTenant("Theirs");
        UUID theirInstance = instance(theirs);
        UUID myInstance = instance(mine);
        try (Subscription stream = new Subscription(mine, TestServer.ADMIN_TOKEN, "", null)) {
            await().atMost(Duration.ofSeconds(5)).until(() -> !stream.received.isEmpty());
            INGEST.ingest(theirs, theirInstance, batch(1, 5));
            INGEST.ingest(mine, myInstance, batch(1, 2));
            await().atMost(Duration.ofSeconds(3)).until(() -> stream.events().size() >= 2);
            assertThat(stream.items()).extracting(i -> i.get("instance")).containsOnly(myInstance.toString());
        }
        Api nosy = SERVER.admin().mintToken(theirs, "owner");
        Subscription foreign = new Subscription(mine, nosy.token(), "", null);
        foreign.close();
        assertThat(foreign.status).isEqualTo(404);
    }

    @Test
    void badParametersAndLastEventIdsAreProblems() {
        UUID tenant = SERVER.admin().createTenant("Bad stream");
        String path = "/api/v1/tenants/" + tenant + "/network/events/stream";

        Api.Response from = SERVER.admin().send("GET", path + "?from=2026-01-01T00:00:00Z&verdict=no", null, Map.of("Accept", "text/event-stream"));
        Api.Response id = SERVER.admin().send("GET", path, null, Map.of("Accept", "text/event-stream", "Last-Event-ID", "12;drop"));

        assertThat(from.status()).isEqualTo(400);
        assertThat(from.errorPaths()).containsExactlyInAnyOrder("from", "verdict");
        assertThat(id.status()).isEqualTo(400);
        assertThat(id.errorPaths()).containsExactly("Last-Event-ID");
    }
}
