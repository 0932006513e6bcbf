/**
 * A tenant's network policy in the control plane: immutable versions with a current pointer, saving
 * (validate, stamp, test, hash, store, in one transaction), restoring, and simulation. All policy
 * semantics live in the {@code dev.clawfence.policy} engine; this package only stores and serves.
 */
package dev.clawfence.controlplane.policy;
