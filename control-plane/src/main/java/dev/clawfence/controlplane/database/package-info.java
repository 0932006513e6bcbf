/**
 * PostgreSQL access: the embedded or configured server, Flyway migrations, the two roles (owner for
 * migrations, row-level-security-bound app role for requests) and the per-transaction tenant context.
 * The generated jOOQ classes live in {@code database.jooq} (target/generated-sources/jooq).
 */
package dev.clawfence.controlplane.database;
