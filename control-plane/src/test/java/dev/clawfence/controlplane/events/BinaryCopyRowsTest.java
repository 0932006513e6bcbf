package dev.clawfence.controlplane.events;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Text fields: length-prefixed UTF-8, whether the value is ASCII (written in place) or not. */
class BinaryCopyRowsTest {

    @Test
    void textIsItsUtf8BytesAfterTheirLength() {
        List<String> values = List.of("", "eth0", "not-allowlisted", "ü", "in-allow-✓", "a😀b", "x".repeat(300));
        BinaryCopyRows rows = new BinaryCopyRows(1);
        ByteArrayOutputStream expected = new ByteArrayOutputStream();
        expected.writeBytes(Arrays.copyOf(rows.buffer(), rows.length()));
        for (String value : values) {
            rows.text(value);
            byte[] utf8 = value.getBytes(StandardCharsets.UTF_8);
            expected.writeBytes(new byte[] {(byte) (utf8.length >>> 24), (byte) (utf8.length >>> 16), (byte) (utf8.length >>> 8),
                (byte) utf8.length});
            expected.writeBytes(utf8);
        }
        assertThat(Arrays.copyOf(rows.buffer(), rows.length())).isEqualTo(expected.toByteArray());
    }

    @Test
    void randomTextMatchesTheJdksEncoding() {
        SplittableRandom random = new SplittableRandom(11);
        for (int round = 0; round < 2_000; round++) {
            StringBuilder value = new StringBuilder();
            int n = random.nextInt(40);
            for (int i = 0; i < n; i++) {
                // Mostly ASCII, sometimes Latin-1, other BMP characters or a surrogate pair.
                int kind = random.nextInt(10);
                value.appendCodePoint(kind < 7 ? random.nextInt(0x20, 0x7f) : kind < 8 ? random.nextInt(0xa0, 0x100)
                        : kind < 9 ? random.nextInt(0x100, 0xd800) : random.nextInt(0x10000, 0x10ffff));
            }
            BinaryCopyRows rows = new BinaryCopyRows(1);
            int header = rows.length();
            rows.text(value.toString());
            byte[] utf8 = value.toString().getBytes(StandardCharsets.UTF_8);
            assertThat(Arrays.copyOfRange(rows.buffer(), header + 4, rows.length())).as(value.toString()).isEqualTo(utf8);
            assertThat(rows.length() - header - 4).isEqualTo(utf8.length);
        }
    }
}
