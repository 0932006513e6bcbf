package dev.clawfence.agent.systemd;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** sd_notify datagrams received by a real AF_UNIX datagram socket that the test binds (path and abstract). */
class SystemdNotifierTest {

    @TempDir
    Path dir;

    private final List<String> logged = new CopyOnWriteArrayList<>();

    private SystemdNotifier notifier(String socket) {
        return SystemdNotifier.fromEnvironment(Map.of(SystemdNotifier.VARIABLE, socket), logged::add);
    }

    @Test
    void readyAndStatusReachASocketFile() throws Exception {
        try (NotifySocket socket = NotifySocket.bindPath(dir.resolve("notify"))) {
            SystemdNotifier notifier = notifier(socket.name());

            assertThat(notifier.enabled()).isTrue();
            assertThat(notifier.ready("enforcing stored policy version 9")).isTrue();
            assertThat(notifier.status("connected to 203.0.113.1:50052\nas instance 1")).isTrue();
            assertThat(notifier.stopping("stopping")).isTrue();

            assertThat(socket.receive(Duration.ofSeconds(5))).isEqualTo("READY=1\nSTATUS=enforcing stored policy version 9\n");
            assertThat(socket.receive(Duration.ofSeconds(5))).as("a newline in the status would start another assignment")
                    .isEqualTo("STATUS=connected to 203.0.113.1:50052 as instance 1\n");
            assertThat(socket.receive(Duration.ofSeconds(5))).isEqualTo("STOPPING=1\nSTATUS=stopping\n");
        }
        assertThat(logged).isEmpty();
    }

    @Test
    void anAbstractSocketNameStartsWithAnAt() throws Exception {
        try (NotifySocket socket = NotifySocket.bindAbstract()) {
            assertThat(socket.name()).startsWith("@cf-lifecycle-");

            assertThat(notifier(socket.name()).ready("no stored policy")).isTrue();

            assertThat(socket.receive(Duration.ofSeconds(5))).isEqualTo("READY=1\nSTATUS=no stored policy\n");
        }
        assertThat(logged).isEmpty();
    }

    @Test
    void withoutNotifySocketNothingIsSent() {
        SystemdNotifier notifier = SystemdNotifier.fromEnvironment(Map.of(), logged::add);

        assertThat(notifier.enabled()).isFalse();
        assertThat(notifier.ready("ready")).isFalse();
        assertThat(SystemdNotifier.fromEnvironment(Map.of(SystemdNotifier.VARIABLE, ""), logged::add).enabled()).isFalse();
        assertThat(logged).isEmpty();
    }

    @Test
    void aSocketNobodyListensOnIsAWarningNotAFailure() {
        SystemdNotifier notifier = notifier(dir.resolve("gone").toString());

        assertThat(notifier.ready("ready")).isFalse();

        assertThat(logged).singleElement().asString()
                .startsWith("warning: cannot notify systemd through NOTIFY_SOCKET=" + dir.resolve("gone"))
                .contains("sendto: No such file or directory (errno 2)");
    }

    @ParameterizedTest
    @ValueSource(strings = {"run/systemd/notify", "vsock:2:1234", "@",
        "/run/a-very-long-directory-name-that-goes-on-and-on/and-on-and-on/until-it-no-longer-fits-in-sun-path/notify"})
    void anUnusableValueIsNamedAndIgnored(String value) {
        SystemdNotifier notifier = notifier(value);

        assertThat(notifier.enabled()).isFalse();
        assertThat(notifier.ready("ready")).isFalse();
        assertThat(logged).singleElement().asString().startsWith("warning: NOTIFY_SOCKET: ").contains(value)
                .endsWith("systemd will not hear that the agent is ready");
    }
}
