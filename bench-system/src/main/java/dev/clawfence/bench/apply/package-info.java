/**
 * Benchmark harnesses for applying policies to the kernel (issue 3): apply time with a large set and
 * save-to-enforced latency. They run by hand (root, nftables, network namespaces), never in the build.
 */
package dev.clawfence.bench.apply;
