package dev.clawfence.policy;

import java.time.Instant;

/** Shared constants of the tests. */
final class Fixtures {

    /** The "now" of every test: a fixed instant, never the clock. */
    static final Instant NOW = Instant.parse("2026-11-24T10:00:00Z");

    private Fixtures() {}
}
