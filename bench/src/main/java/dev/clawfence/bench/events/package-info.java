/** The event list benchmark: first-page latency of the events REST API over many stored events. */
package dev.clawfence.bench.events;
