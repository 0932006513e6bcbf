-- Per-tenant event retention (issue 4). A tenant without a row keeps events for the platform default
-- (clawfence.events.retention-days); the upper bound (clawfence.events.max-retention-days) is a setting
-- of the service, so only the lower bound is a constraint here.
--
-- Partitions are kept for the longest retention in force and dropped after it; the rows of tenants with
-- a shorter retention are deleted by dev.clawfence.controlplane.events.EventMaintenance as the owner role,
-- in that tenant's row-level-security context (tenant_isolation applies to every command and every
-- role), so one run's delete can never reach another tenant's rows.

create table event_retention (
  tenant_id      uuid        primary key references tenants (id) on delete cascade,
  retention_days integer     not null check (retention_days >= 1),
  updated_at     timestamptz not null default now()
);

alter table event_retention enable row level security;
alter table event_retention force row level security;
create policy tenant_isolation on event_retention
  using (tenant_id = nullif(current_setting('clawfence.tenant_id', true), '')::uuid)
  with check (tenant_id = nullif(current_setting('clawfence.tenant_id', true), '')::uuid);
-- Maintenance reads every tenant's figure to find the longest retention and the tenants below it: only
-- the owner, only in a transaction that says it is expiring rows (as the rollups' expiry policies).
do $$
begin
  execute format($p$create policy expiry_select on event_retention for select to %I
    using (current_setting('clawfence.maintenance', true) = 'expiry')$p$, current_user);
end
$$;
grant select, insert, update, delete on event_retention to ${appRole};
