/**
 * The agent gateway: the TLS gRPC server edge agents talk to (Enroll, Renew, Sync), the identity
 * check on every call, the tenant's view of its instances, and the fan-out of policy versions to
 * connected agents (across replicas through PostgreSQL LISTEN/NOTIFY).
 */
package dev.clawfence.controlplane.agents;
