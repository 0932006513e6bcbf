-- Active connections per instance: the agent's periodic summary (totals and busiest ports) and the last
-- full list it sent on request. A request goes out through pg_notify on clawfence_connections_request to
-- the replica holding the instance's Sync stream; its answer lands here, where the asking replica reads it.

create table instance_connections (
  instance_id      uuid        primary key references instances (id) on delete cascade,
  tenant_id        uuid        not null references tenants (id) on delete cascade,
  -- The summary, from the newest report of either kind.
  taken_at         timestamptz not null,
  inbound_total    integer     not null,
  outbound_total   integer     not null,
  top_ports        jsonb       not null default '[]',
  -- The last list sent on request: which request it answered, when it was read, and whether the limit cut it.
  list_request_id  bigint,
  list_taken_at    timestamptz,
  list_truncated   boolean,
  list             jsonb,
  received_at      timestamptz not null default now()
);

alter table instance_connections enable row level security;
alter table instance_connections force row level security;
create policy tenant_isolation on instance_connections
  using (tenant_id = nullif(current_setting('clawfence.tenant_id', true), '')::uuid)
  with check (tenant_id = nullif(current_setting('clawfence.tenant_id', true), '')::uuid);

grant select, insert, update on instance_connections to ${appRole};
