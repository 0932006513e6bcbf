/**
 * The admin gRPC service ({@code clawfence.admin.v1.AdminService}) for support staff: every call needs
 * the platform admin token and is audited; it translates protobuf to the same services REST uses.
 */
package dev.clawfence.controlplane.admin;
