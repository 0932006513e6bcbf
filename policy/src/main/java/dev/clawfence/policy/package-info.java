/**
 * The policy engine: the tenant's network policy document, its validation and normalisation, the
 * evaluator that answers "would this connection pass, and by which rule?", and the policy tests.
 *
 * <p>Pure Java: this package imports the JDK and inet.ipaddr only. No framework, no files, no
 * sockets, no processes; time comes in as an argument. The control plane and the agent convert
 * their wire forms (JSON trees, protobuf) into these types at their edges.
 *
 * <p>The pipeline, one class per step: {@link dev.clawfence.policy.PolicyValidator} reads a JSON-shaped
 * tree into a {@link dev.clawfence.policy.PolicyDocument} (every problem at once, each with its path);
 * {@link dev.clawfence.policy.RuleStamper} gives rules their ids and provenance on save;
 * {@link dev.clawfence.policy.PolicyDocumentWriter} writes the tree back;
 * {@link dev.clawfence.policy.Evaluator} compiles a document into lookup structures and decides
 * {@link dev.clawfence.policy.Connection}s read by {@link dev.clawfence.policy.ConnectionReader};
 * {@link dev.clawfence.policy.PolicyTestRunner} runs the document's own tests through it;
 * {@link dev.clawfence.policy.CidrMerger} suggests the fewest CIDRs for lists of addresses.
 * Package-private classes hold the parsing details ({@code AddressSyntax}, {@code DomainName},
 * {@code CountryCode}, {@code TreeReader}) and the compiled forms ({@code PrefixIndex}, {@code PortSet}).
 */
package dev.clawfence.policy;
