package dev.clawfence.bench.apply;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

/** Values of one measured step (durations in milliseconds, or ratios), with nearest-rank percentiles. */
final class Samples {

    private final String name;
    private final List<Double> millis = new ArrayList<>();

    Samples(String name) {
        this.name = name;
    }

    String name() {
        return name;
    }

    void addNanos(long nanos) {
        millis.add(nanos / 1e6);
    }

    void add(double value) {
        millis.add(value);
    }

    int count() {
        return millis.size();
    }

    /** The nearest-rank {@code p}-th percentile (0 < p <= 100). */
    double percentile(double p) {
        if (millis.isEmpty()) {
            throw new IllegalStateException("no samples for " + name);
        }
        List<Double> sorted = new ArrayList<>(millis);
        Collections.sort(sorted);
        int rank = (int) Math.ceil(p / 100.0 * sorted.size());
        return sorted.get(Math.max(0, rank - 1));
    }

    double median() {
        return percentile(50);
    }

    double max() {
        return percentile(100);
    }

    double min() {
        return Collections.min(millis);
    }

    String row() {
        return String.format(Locale.ROOT, "| %s | %d | %.0f | %.0f | %.0f | %.0f | %.0f |", name, count(), median(), percentile(90), percentile(99), min(), max());
    }

    /** Two decimals, for ratios. */
    String ratioRow() {
        return String.format(Locale.ROOT, "| %s | %d | %.2f | %.2f | %.2f | %.2f | %.2f |", name, count(), median(), percentile(90), percentile(99), min(), max());
    }

    static String header() {
        return "| step | n | median ms | p90 ms | p99 ms | min ms | max ms |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |";
    }
}
