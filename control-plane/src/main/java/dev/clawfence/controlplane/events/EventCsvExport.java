package dev.clawfence.controlplane.events;

import dev.clawfence.controlplane.tenancy.Caller;
import dev.clawfence.controlplane.tenancy.TenantAccess;
import jakarta.inject.Singleton;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CancellationException;
import java.util.concurrent.Semaphore;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVPrinter;
import org.apache.commons.csv.QuoteMode;
import org.reactivestreams.Publisher;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.FluxSink;

/**
 * The event list as CSV (RFC 4180: CRLF line ends, fields with commas, quotes or line breaks quoted,
 * quotes doubled): a header row with the JSON item's names, then every event of the range, newest
 * first. Rows come from a server-side cursor and leave in chunks of about {@value #CHUNK} bytes, each
 * only when the client has asked for it, so memory stays constant however large the range and however
 * slow the client.
 */
@Singleton
public final class EventCsvExport {

    private static final Logger LOG = LoggerFactory.getLogger(EventCsvExport.class);
    static final int CHUNK = 64 * 1024;
    // Values leave unaltered (an export is evidence); a cell starting with =, +, - or @ may still be
    // read as a formula by a spreadsheet, which docs/events.md warns about.
    private static final CSVFormat FORMAT = CSVFormat.RFC4180.builder()
            .setQuoteMode(QuoteMode.MINIMAL).setNullString("").get();

    private final TenantAccess access;
    private final EventQuery query;

    public EventCsvExport(TenantAccess access, EventQuery query) {
        this.access = access;
        this.query = query;
    }

    /** The CSV bytes of the filter's range; the tenant access has been checked by the caller already. */
    public Publisher<byte[]> stream(Caller caller, String tenant, EventFilter filter) {
        return Flux.create(sink -> {
            Semaphore demand = new Semaphore(0);
            sink.onRequest(n -> demand.release((int) Math.min(n, 1 << 20)));
            sink.onDispose(() -> demand.release(1 << 20));
            Thread.ofVirtual().name("event-csv-export").start(() -> {
                ByteArrayOutputStream buffer = new ByteArrayOutputStream(CHUNK + 4096);
                try (Writer writer = new OutputStreamWriter(buffer, StandardCharsets.UTF_8);
                        CSVPrinter csv = new CSVPrinter(writer, FORMAT)) {
                    csv.printRecord(EventQuery.Item.COLUMNS);
                    access.read(caller, tenant, tx -> query.export(tx, filter, item -> {
                        try {
                            csv.printRecord(item.values());
                            if (buffer.size() >= CHUNK) {
                                csv.flush();
                                emit(sink, demand, buffer);
                            }
                        } catch (IOException e) {
                            throw new UncheckedIOException(e);
                        }
                    }));
                    csv.flush();
                    if (buffer.size() > 0) {
                        emit(sink, demand, buffer);
                    }
                    sink.complete();
                } catch (CancellationException e) {
                    // the client went away; the transaction has been rolled back
                } catch (IOException | RuntimeException e) {
                    LOG.warn("Event export for tenant {} failed", tenant, e);
                    sink.error(e);
                }
            });
        });
    }

    /** Hands the buffer to the client once it has asked for more; throws when it has gone. */
    private static void emit(FluxSink<byte[]> sink, Semaphore demand, ByteArrayOutputStream buffer) {
        try {
            demand.acquire();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CancellationException("interrupted");
        }
        if (sink.isCancelled()) {
            throw new CancellationException("the client closed the export");
        }
        sink.next(buffer.toByteArray());
        buffer.reset();
    }
}
