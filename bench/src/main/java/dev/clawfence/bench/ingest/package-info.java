/**
 * The connection event ingest benchmark (issue 4): the control plane's {@code EventStore} against a raw
 * {@code COPY} of the same rows into the same table, on an embedded PostgreSQL with the control
 * plane's durable settings. Results go into BENCHMARKS.md.
 */
package dev.clawfence.bench.ingest;
