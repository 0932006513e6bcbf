package dev.clawfence.controlplane.database;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ServerSettingsTest {

    private static final long MIB = 1024L * 1024;
    private static final long GIB = 1024 * MIB;

    @ParameterizedTest
    @CsvSource({
        "auto, 24, 6144",    // a quarter of 24 GB
        "auto, 64, 8192",    // at most 8 GB
        "auto, 0.25, 128",   // at least the PostgreSQL default
        ", 24, 6144",        // unset means auto
        "512MB, 24, 512",
        "2GB, 1, 2048",      // an explicit size is taken as given
        "131072kB, 24, 128"})
    void sharedBuffersFromTheMachineOrTheProperty(String configured, double memoryGib, long expectedMib) {
        assertThat(ServerSettings.sharedBuffersBytes(configured, (long) (memoryGib * GIB))).isEqualTo(expectedMib * MIB);
    }

    @ParameterizedTest
    @CsvSource({
        "lots, 'clawfence.database.shared-buffers: \"lots\" is not a memory size (auto, or a number with kB, MB, GB or TB, e.g. 512MB)'",
        "512mb, 'clawfence.database.shared-buffers: \"512mb\" is not a memory size'",
        "64MB, 'clawfence.database.shared-buffers: 64MB is below 128MB'",
        "9999999999TB, 'clawfence.database.shared-buffers: 9999999999TB is larger than any machine'"})
    void aBadSizeNamesTheProperty(String configured, String message) {
        assertThatThrownBy(() -> ServerSettings.sharedBuffersBytes(configured, 24 * GIB))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith(message);
    }

    @ParameterizedTest
    @CsvSource({"1GB, 32MB", "4GB, 64MB", "128MB, 4MB"})
    void tunedSettingsStayDurable(String sharedBuffers, String walBuffers) {
        assertThat(ServerSettings.tuned(sharedBuffers))
                .containsEntry("fsync", "on").containsEntry("synchronous_commit", "on").containsEntry("full_page_writes", "on")
                .containsEntry("shared_buffers", sharedBuffers.replace("1GB", "1024MB").replace("4GB", "4096MB"))
                .containsEntry("wal_buffers", walBuffers).containsEntry("max_wal_size", "8GB");
    }
}
