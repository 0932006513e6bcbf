package dev.clawfence.agent.nflog;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Runs {@link CaptureThroughput} in a child JVM with the JVM flags of the agent's systemd unit
 * (deploy/systemd), by hand: {@code -Dcapture.bench=PACKETS} ({@code -Dcapture.offered=EVENTS_PER_SECOND}
 * paces the sender). Needs root and nft.
 */
class CaptureThroughputIT {

    @Test
    @EnabledIfSystemProperty(named = "capture.bench", matches = "\\d+")
    void captureThroughputWithTheAgentsJvmFlags() throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElse("java"));
        command.addAll(agentFlags());
        String extra = System.getProperty("capture.jvmArgs", "");
        if (!extra.isBlank()) {
            command.addAll(List.of(extra.strip().split("\\s+")));
        }
        command.addAll(List.of("--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                CaptureThroughput.class.getName(), System.getProperty("capture.bench"),
                System.getProperty("capture.offered", "0")));
        System.out.println("CAPTURE command: " + String.join(" ", command).replace(System.getProperty("java.class.path"), "<test classpath>"));
        Process child = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        System.out.print(output);
        assertThat(child.waitFor()).as(output).isZero();
        assertThat(output).contains("CAPTURE agent path");
    }

    /** The flags between the java launcher and -jar on the unit's ExecStart line. */
    static List<String> agentFlags() throws IOException {
        Path root = Path.of("").toAbsolutePath();
        Path unit = root.resolve("../deploy/systemd/clawfence-agent.service");
        if (!Files.exists(unit)) {
            unit = root.resolve("deploy/systemd/clawfence-agent.service");
        }
        String exec = Files.readAllLines(unit).stream().filter(line -> line.startsWith("ExecStart=")).findFirst().orElseThrow();
        List<String> words = List.of(exec.substring("ExecStart=".length()).split("\\s+"));
        return words.subList(1, words.indexOf("-jar"));
    }
}
