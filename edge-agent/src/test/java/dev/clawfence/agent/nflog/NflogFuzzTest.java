package dev.clawfence.agent.nflog;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Seeded mutation fuzzing of the parser: the golden datagrams with bits flipped, bytes and length fields
 * overwritten, cut, spliced and repeated, plus plain random bytes. Whatever comes in, the parser returns
 * sane packets or throws {@link NflogFormatException}; anything else escaping is a bug. A failure prints
 * the seed and the input, so it can be replayed and turned into a unit test.
 */
class NflogFuzzTest {

    private static final int ITERATIONS = 200_000;
    private static final long SEED = Long.getLong("nflog.fuzz.seed", 0x4e464c4f47L);

    @Test
    void onlyFormatErrorsEscapeTheParser() {
        List<byte[]> goldens = Golden.all().stream().map(Golden::datagram).toList();
        Random random = new Random(SEED);
        int parsed = 0;
        int refused = 0;
        long start = System.nanoTime();
        for (int i = 0; i < ITERATIONS; i++) {
            byte[] input = i % 10 == 9 ? randomBytes(random) : mutate(random, goldens);
            try {
                NflogParser.parse(ByteBuffer.wrap(input), Instant.EPOCH, NflogFuzzTest::checkSane);
                parsed++;
            } catch (NflogFormatException e) {
                assertThat(e.getMessage()).isNotBlank();
                refused++;
            } catch (RuntimeException | Error e) {
                fail("seed " + SEED + ", iteration " + i + ", input " + java.util.HexFormat.of().formatHex(input), e);
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        System.out.printf("NFLOG fuzz: %d inputs (%d parsed, %d refused) in %.2f s, seed %d%n", ITERATIONS, parsed, refused, seconds, SEED);
        // A mutator that only produced garbage (or only no-ops) would test little.
        assertThat(parsed).isGreaterThan(ITERATIONS / 20);
        assertThat(refused).isGreaterThan(ITERATIONS / 5);
    }

    private static void checkSane(LoggedPacket packet) {
        assertThat(packet.source()).isNotNull();
        assertThat(packet.destination()).isNotNull();
        assertThat(packet.source().getAddress()).hasSameSizeAs(packet.destination().getAddress());
        assertThat(packet.prefix()).isNotNull();
        assertThat(packet.time()).isNotNull();
        assertThat(packet.sourcePort()).isBetween(-1, 65535);
        assertThat(packet.destinationPort()).isBetween(-1, 65535);
        assertThat(packet.protocol()).isBetween(-1, 255);
        assertThat(packet.sequence()).isBetween(-1L, 0xffffffffL);
    }

    private static byte[] mutate(Random random, List<byte[]> goldens) {
        byte[] data = goldens.get(random.nextInt(goldens.size())).clone();
        int mutations = 1 + random.nextInt(3);
        for (int m = 0; m < mutations && data.length > 0; m++) {
            int at = random.nextInt(data.length);
            switch (random.nextInt(7)) {
                case 0 -> data[at] ^= (byte) (1 << random.nextInt(8));
                case 1 -> data[at] = (byte) random.nextInt(256);
                case 2 -> data = Arrays.copyOf(data, random.nextInt(data.length + 1));
                case 3 -> { // a 16-bit length field (nla_len) somewhere: 0, small, exact, huge
                    if (at + 1 < data.length) {
                        short value = (short) switch (random.nextInt(4)) {
                            case 0 -> 0;
                            case 1 -> random.nextInt(8);
                            case 2 -> data.length - at;
                            default -> 0xffff;
                        };
                        ByteBuffer.wrap(data).order(ByteOrder.nativeOrder()).putShort(at & ~1, value);
                    }
                }
                case 4 -> { // the 32-bit nlmsg_len of the first message
                    if (data.length >= 4) {
                        ByteBuffer.wrap(data).order(ByteOrder.nativeOrder()).putInt(0, random.nextInt(data.length + 8));
                    }
                }
                case 5 -> data = Datagrams.concat(Datagrams.aligned(data), goldens.get(random.nextInt(goldens.size())));
                default -> { // splice another golden's tail over this one's
                    byte[] other = goldens.get(random.nextInt(goldens.size()));
                    int from = random.nextInt(other.length);
                    data = Datagrams.concat(Arrays.copyOf(data, at), Arrays.copyOfRange(other, from, other.length));
                }
            }
        }
        return data;
    }

    private static byte[] randomBytes(Random random) {
        byte[] data = new byte[random.nextInt(300)];
        random.nextBytes(data);
        if (data.length >= 6 && random.nextBoolean()) {
            // Often a plausible header, so the walk gets past the first check.
            ByteBuffer.wrap(data).order(ByteOrder.nativeOrder()).putInt(0, data.length).putShort(4, (short) 0x0400);
        }
        return data;
    }
}
