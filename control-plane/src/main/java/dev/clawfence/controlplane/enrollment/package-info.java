/**
 * Enrolment tokens: what a tenant hands to a new host so its agent can obtain a client certificate;
 * minting, listing and revoking them, their text format, and consuming one use at enrolment.
 */
package dev.clawfence.controlplane.enrollment;
