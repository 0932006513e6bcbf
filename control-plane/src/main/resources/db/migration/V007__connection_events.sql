-- Connection events (issue 4): one row per connection attempt an agent logged, stored exactly once per
-- (instance, sequence). Partitioned by day on the event time so retention drops whole partitions;
-- the partitions themselves are created ahead and dropped by dev.clawfence.controlplane.events
-- .EventPartitions (the owner role), each with the same row-level security as the parent.
--
-- No foreign keys and no unique index here: each would cost a lookup per ingested row. Exactly-once
-- comes from event_ingest_marks (one row lock per batch), and tenant deletion leaves events to the
-- retention.

create table connection_events (
  tenant_id           uuid        not null,
  instance_id         uuid        not null,
  sequence            bigint      not null,
  time                timestamptz not null,
  direction           text        not null check (direction in ('inbound', 'outbound')),
  verdict             text        not null check (verdict in ('allowed', 'blocked', 'would-block')),
  ip_protocol         smallint    not null,
  source_address      inet        not null,
  source_port         integer     not null,
  destination_address inet        not null,
  destination_port    integer     not null,
  -- Empty when no rule of the tenant decided (platform rules, defaults).
  rule_id             text        not null,
  reason              text        not null,
  interface           text        not null,
  -- Filled later by GeoIP; null until then or when unknown.
  country             text,
  received_at         timestamptz not null default now(),
  -- The other end of the connection: the source of an inbound attempt, the destination of an outbound
  -- one. The event list's address filter means this address, so one index serves both directions.
  peer_address        inet        generated always as
                        (case when direction = 'inbound' then source_address else destination_address end) stored
) partition by range (time);

-- The event list's first page: a tenant's newest events; verdict and direction filters are checked on
-- these rows (few values each, not worth an index of their own).
create index connection_events_tenant_time on connection_events (tenant_id, time desc);
-- Rule and address (inet <<= cidr is a btree range scan) filters. Without time in the key, equal keys
-- share one deduplicated posting list: ingest measured ~95k events/s with these two against ~70k with
-- (…, time desc) variants (BENCHMARKS.md). A frequent value's first page comes from the time index with
-- a filter; a rare one's from a bitmap scan of these, sorted.
create index connection_events_tenant_rule on connection_events (tenant_id, rule_id);
create index connection_events_tenant_peer on connection_events (tenant_id, peer_address);

alter table connection_events enable row level security;
alter table connection_events force row level security;
create policy tenant_isolation on connection_events
  using (tenant_id = nullif(current_setting('clawfence.tenant_id', true), '')::uuid)
  with check (tenant_id = nullif(current_setting('clawfence.tenant_id', true), '')::uuid);
grant select, insert on connection_events to ${appRole};

-- The per-instance high-water mark: every sequence up to stored_through is stored (or counted as lost,
-- expired). Updated in the transaction that stores the events, under this row's lock.
create table event_ingest_marks (
  instance_id     uuid        primary key references instances (id) on delete cascade,
  tenant_id       uuid        not null references tenants (id) on delete cascade,
  stored_through  bigint      not null default 0,
  events_stored   bigint      not null default 0,
  -- Events the agent reported lost (spool full, corrupt, torn tail).
  events_lost     bigint      not null default 0,
  -- Events older than the retention when they arrived: counted, not stored.
  events_expired  bigint      not null default 0,
  -- Events whose time lay too far in the future (agent clock): stored with the receive time instead.
  events_clamped  bigint      not null default 0,
  updated_at      timestamptz not null default now()
);

alter table event_ingest_marks enable row level security;
alter table event_ingest_marks force row level security;
create policy tenant_isolation on event_ingest_marks
  using (tenant_id = nullif(current_setting('clawfence.tenant_id', true), '')::uuid)
  with check (tenant_id = nullif(current_setting('clawfence.tenant_id', true), '')::uuid);
grant select, insert, update on event_ingest_marks to ${appRole};

-- The ranges an agent's spool lost, as it reported them. Agents repeat a loss until an ack covers it,
-- so the natural key makes recording it idempotent.
create table event_losses (
  tenant_id      uuid        not null references tenants (id) on delete cascade,
  instance_id    uuid        not null references instances (id) on delete cascade,
  first_sequence bigint      not null,
  last_sequence  bigint      not null,
  count          bigint      not null,
  reason         text        not null check (reason in ('full-dropped-oldest', 'corrupt', 'torn-tail')),
  received_at    timestamptz not null default now(),
  primary key (instance_id, first_sequence, last_sequence, reason)
);

alter table event_losses enable row level security;
alter table event_losses force row level security;
create policy tenant_isolation on event_losses
  using (tenant_id = nullif(current_setting('clawfence.tenant_id', true), '')::uuid)
  with check (tenant_id = nullif(current_setting('clawfence.tenant_id', true), '')::uuid);
grant select, insert on event_losses to ${appRole};
