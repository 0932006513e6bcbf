-- Instances: one row per enrolled host (edge agent), with what its agent last reported.

create table instances (
  id                     uuid        primary key,
  tenant_id              uuid        not null references tenants (id) on delete cascade,
  enrollment_token_id    uuid,
  hostname               text        not null default '',
  agent_version          text        not null default '',
  host_facts             jsonb       not null default '{}',
  enrolled_at            timestamptz not null default now(),
  last_seen_at           timestamptz,
  -- Set while a Sync stream is open on some replica; null when disconnected.
  connected_since        timestamptz,
  applied_policy_version integer,
  apply_outcome          text        check (apply_outcome in ('APPLIED', 'FAILED', 'ROLLED_BACK')),
  apply_reason           text,
  applied_at             timestamptz,
  ruleset_hash           text,
  drift_detail           text,
  drift_at               timestamptz,
  cert_not_after         timestamptz,
  revoked_at             timestamptz
);
create index instances_tenant on instances (tenant_id, enrolled_at);

alter table instances enable row level security;
alter table instances force row level security;
create policy tenant_isolation on instances
  using (tenant_id = nullif(current_setting('clawfence.tenant_id', true), '')::uuid)
  with check (tenant_id = nullif(current_setting('clawfence.tenant_id', true), '')::uuid);

grant select, insert, update on instances to ${appRole};
