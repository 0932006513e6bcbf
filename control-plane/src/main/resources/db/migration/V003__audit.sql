-- Audit log: who changed what, when, from where. Tenant actions land in audit_log (visible to the
-- tenant); platform-wide admin actions that belong to no tenant land in platform_audit_log.

create table audit_log (
  id             bigint      generated always as identity primary key,
  tenant_id      uuid        not null references tenants (id) on delete cascade,
  at             timestamptz not null default now(),
  actor_kind     text        not null,
  actor_id       text,
  actor_name     text        not null,
  action         text        not null,
  target         text        not null,
  detail         text,
  remote_address text
);
create index audit_log_tenant on audit_log (tenant_id, id desc);

alter table audit_log enable row level security;
alter table audit_log force row level security;
create policy tenant_isolation on audit_log
  using (tenant_id = nullif(current_setting('clawfence.tenant_id', true), '')::uuid)
  with check (tenant_id = nullif(current_setting('clawfence.tenant_id', true), '')::uuid);

create table platform_audit_log (
  id             bigint      generated always as identity primary key,
  at             timestamptz not null default now(),
  actor_kind     text        not null,
  actor_id       text,
  actor_name     text        not null,
  action         text        not null,
  target         text        not null,
  detail         text,
  remote_address text
);

-- Append-only for the service.
grant select, insert on audit_log to ${appRole};
grant insert on platform_audit_log to ${appRole};
