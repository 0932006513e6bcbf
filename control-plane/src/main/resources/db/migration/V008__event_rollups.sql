-- Rollups of connection events (issue 4), kept current in the ingest transaction
-- (dev.clawfence.controlplane.events.EventRollups), and the agents' exact kernel counters.
--
-- Every key starts with (tenant_id, instance_id): batches of one instance are serialised by its mark
-- row lock, so two ingest transactions never upsert the same rollup row and never wait for each other.
-- Queries add the instances up. Rows older than the event retention are deleted by EventMaintenance
-- (as the owner role, through the `expiry_*` policies below: the app role has no DELETE grant).

-- Stored events per minute, by direction and verdict: the summary's series ("shown").
create table event_counts_minute (
  tenant_id   uuid        not null,
  instance_id uuid        not null,
  minute      timestamptz not null,
  direction   text        not null,
  verdict     text        not null,
  events      bigint      not null,
  primary key (tenant_id, instance_id, minute, direction, verdict)
);

-- Kernel counter deltas (AgentMessage.rule_counters) per minute of the interval's end: exact attempts,
-- also those whose events the log rate limit dropped ("12,408 blocked, 1,000 shown").
create table rule_counter_minute (
  tenant_id   uuid        not null,
  instance_id uuid        not null,
  minute      timestamptz not null,
  direction   text        not null,
  verdict     text        not null,
  reason      text        not null,
  -- Empty when the kernel rule stands for several tenant rules or none.
  rule_id     text        not null,
  attempts    bigint      not null,
  primary key (tenant_id, instance_id, minute, direction, verdict, reason, rule_id)
);

-- Stored events per tenant rule and UTC day: hits and the last hit (rule tables, stale rules).
create table rule_hits_daily (
  tenant_id   uuid        not null,
  instance_id uuid        not null,
  day         date        not null,
  rule_id     text        not null,
  hits        bigint      not null,
  last_hit_at timestamptz not null,
  primary key (tenant_id, instance_id, day, rule_id)
);

-- Inbound attempts per source address and hour, the verdicts as columns (one row per source, not
-- three): top sources, many-blocked and blocked-country flags, sources new this week.
create table traffic_sources_hourly (
  tenant_id   uuid        not null,
  instance_id uuid        not null,
  hour        timestamptz not null,
  address     inet        not null,
  allowed     bigint      not null,
  blocked     bigint      not null,
  would_block bigint      not null,
  -- Attempts refused (or, in monitor mode, flagged) by the country rule, reason "geo".
  geo         bigint      not null,
  first_seen  timestamptz not null,
  last_seen   timestamptz not null,
  primary key (tenant_id, instance_id, hour, address)
);

-- Outbound attempts per destination address, port and hour: top destinations and the
-- unknown-destination (possible exfiltration) flag.
create table traffic_destinations_hourly (
  tenant_id   uuid        not null,
  instance_id uuid        not null,
  hour        timestamptz not null,
  address     inet        not null,
  port        integer     not null,
  allowed     bigint      not null,
  blocked     bigint      not null,
  would_block bigint      not null,
  -- Attempts with reason "unknown-destination" (blocked, or would-block in monitor mode).
  unknown     bigint      not null,
  first_seen  timestamptz not null,
  last_seen   timestamptz not null,
  primary key (tenant_id, instance_id, hour, address, port)
);

-- Inbound attempts refused for a closed port (reason "port-closed", blocked or would-block) per source,
-- destination port and UTC day: a source probing many distinct ports. Closed ports come first in the
-- inbound decision, so a scanner gets "port-closed" on every port the policy does not open, allowlisted
-- or not; other refusals are left out to keep this table (one row per source and port) small.
create table traffic_source_ports_daily (
  tenant_id   uuid        not null,
  instance_id uuid        not null,
  day         date        not null,
  address     inet        not null,
  port        integer     not null,
  attempts    bigint      not null,
  first_seen  timestamptz not null,
  last_seen   timestamptz not null,
  primary key (tenant_id, instance_id, day, address, port)
);

do $$
declare
  t text;
begin
  foreach t in array array['event_counts_minute', 'rule_counter_minute', 'rule_hits_daily',
                           'traffic_sources_hourly', 'traffic_destinations_hourly', 'traffic_source_ports_daily'] loop
    -- Most upserts update a row that exists: room on its page lets PostgreSQL update it in place (HOT,
    -- no new index entry). Measured in BENCHMARKS.md.
    execute format('alter table %I set (fillfactor = 50)', t);
    execute format('alter table %I enable row level security', t);
    execute format('alter table %I force row level security', t);
    execute format($p$create policy tenant_isolation on %I
      using (tenant_id = nullif(current_setting('clawfence.tenant_id', true), '')::uuid)
      with check (tenant_id = nullif(current_setting('clawfence.tenant_id', true), '')::uuid)$p$, t);
    -- Retention deletes across tenants: only the owner (the role running this migration; the app role
    -- has no DELETE grant and is not named here), and only in a transaction that says it is expiring
    -- rows. A DELETE with a WHERE clause also needs the rows visible, hence the SELECT policy too.
    execute format($p$create policy expiry_delete on %I for delete to %I
      using (current_setting('clawfence.maintenance', true) = 'expiry')$p$, t, current_user);
    execute format($p$create policy expiry_select on %I for select to %I
      using (current_setting('clawfence.maintenance', true) = 'expiry')$p$, t, current_user);
    execute format('grant select, insert, update on %I to ${appRole}', t);
  end loop;
end
$$;
