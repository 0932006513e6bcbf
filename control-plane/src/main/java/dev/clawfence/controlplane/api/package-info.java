/**
 * REST plumbing shared by every feature: RFC 9457 problem responses ({@link
 * dev.clawfence.controlplane.api.ApiProblem}), reading JSON request bodies with field paths, and cursor
 * paging. Feature controllers live with their feature (tenancy, policy, audit).
 */
package dev.clawfence.controlplane.api;
