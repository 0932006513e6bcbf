/**
 * The policy engine: the tenant's network policy document, its validation and normalisation, the
 * evaluator that answers "would this connection pass, and by which rule?", and the policy tests.
 *
 * <p>Pure Java: this package imports the JDK and inet.ipaddr only. No framework, no files, no
 * sockets, no processes; time comes in as an argument. The control plane and the agent convert
 * their wire forms (JSON trees, protobuf) into these types at their edges.
 */
package dev.clawfence.policy;
