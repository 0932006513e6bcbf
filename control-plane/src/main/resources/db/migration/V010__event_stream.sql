-- The live event stream (GET /api/v1/tenants/{tenant}/network/events/stream, issue 4): one row per
-- stored event batch, written in the ingest transaction itself, so a batch is in this log exactly when
-- its events are stored.
--
-- Readers walk the log in (xid, id) order, where xid is the writing transaction's id, and take only rows
-- whose xid lies below the oldest transaction still running (pg_snapshot_xmin of their snapshot): every
-- such row has committed or rolled back for good. A batch that commits late can therefore never be
-- skipped, which a plain identity or timestamp order cannot promise (values are taken before commit,
-- commits land in another order). The stream position is one (xid, id, sequence) triple: cheap to put
-- into every SSE event id, valid on every replica. A row points at its events by instance, sequence
-- range and time range, so the reader fetches them through the (tenant_id, time desc) index.
--
-- One row per batch (not per event), so ingest pays one small insert per transaction. Rows older than
-- two days are deleted by the control plane (EventLiveStream): a stream resumed from an older position
-- continues from the oldest row kept.

create table event_stream_batches (
  tenant_id      uuid        not null,
  xid            bigint      not null default (pg_current_xact_id()::text::bigint),
  id             bigint      generated always as identity,
  instance_id    uuid        not null,
  first_sequence bigint      not null,
  last_sequence  bigint      not null,
  first_time     timestamptz not null,
  last_time      timestamptz not null,
  created_at     timestamptz not null default now(),
  primary key (tenant_id, xid, id)
);
create index event_stream_batches_created on event_stream_batches (created_at);

alter table event_stream_batches enable row level security;
alter table event_stream_batches force row level security;
create policy tenant_isolation on event_stream_batches
  using (tenant_id = nullif(current_setting('clawfence.tenant_id', true), '')::uuid)
  with check (tenant_id = nullif(current_setting('clawfence.tenant_id', true), '')::uuid);
grant select, insert on event_stream_batches to ${appRole};
-- The control plane trims old rows as the owner role, which the tenant policy (forced) would show none.
create policy owner_trims on event_stream_batches for delete to current_user using (true);

-- The event list's port filter (issue 4 benchmark): without it, a port that is rare in the range made
-- the first page read every event of the tenant's day (2.5 s over 20 million events, BENCHMARKS.md).
-- Same shape as the rule index: no time in the key, so equal ports share deduplicated posting lists.
-- On a partitioned table this builds on every partition and blocks ingest while it runs.
create index connection_events_tenant_port on connection_events (tenant_id, destination_port);
