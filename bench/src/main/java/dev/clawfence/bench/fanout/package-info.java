/**
 * The policy fan-out load generator (issue 3): one control plane (or, as the reference, a minimal gRPC
 * server-streaming service) in a child JVM, thousands of simulated agents in this one, each on its own
 * TLS connection, and the save-to-delivery latency of every stream for every save. Not a JMH benchmark:
 * run {@link dev.clawfence.bench.fanout.FanoutBenchmark} (see BENCHMARKS.md for the command).
 */
package dev.clawfence.bench.fanout;
