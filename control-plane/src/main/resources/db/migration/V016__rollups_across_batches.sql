-- Rollups written every few seconds instead of in every batch's transaction (issue 4, fifth ingest round;
-- BENCHMARKS.md "Event ingest, fifth round").
--
-- A replica now adds the stored batches of an instance up in memory (PendingRollups) and writes the sums
-- every clawfence.events.rollup-interval, in the transaction of the instance's next batch or, when none
-- comes, in one of its own. rolled_up_through is that write's exactly-once record: every stored sequence
-- up to it is in the rollups, none above it, and it moves only in a transaction that holds the mark row's
-- lock and writes the rollup rows of exactly the sequences it passes. Whatever a replica held in memory
-- when it died is stored as events above rolled_up_through; the next batch of the instance, or the
-- sweep for instances that send no more, adds those events up again from connection_events.

-- Every event stored so far was rolled up in its own transaction. The owner runs migrations and is held
-- to the forced tenant policy like everyone else, which shows it no rows: lifted for this one update.
alter table event_ingest_marks add column rolled_up_through bigint not null default 0;
alter table event_ingest_marks no force row level security;
update event_ingest_marks set rolled_up_through = stored_through;
alter table event_ingest_marks force row level security;

-- The sweep finds instances whose rollups lag across tenants, as the owner, only in a transaction that says
-- so (as compaction and expiry do); it then adds their events up in the tenant's own context.
create policy rollup_sweep_select on event_ingest_marks for select to current_user
  using (current_setting('clawfence.maintenance', true) = 'rollup-sweep');

-- Adding an instance's events up again starts from the batch log: the time range of the batches above
-- rolled_up_through bounds the scan of connection_events to a few partitions' index ranges.
create index event_stream_batches_instance on event_stream_batches (instance_id, last_sequence);
