-- Rollups as append-only deltas (issue 4, third ingest round; BENCHMARKS.md "Event ingest, third round").
--
-- Ingest used to upsert each batch's sums into the five event-fed rollup tables (ON CONFLICT on the
-- primary key: an index probe and a heap update per key, about a third of the ingest time). Now each
-- batch appends its per-key sums as plain rows, and RollupCompaction (EventRollups.compact) merges the
-- rows of the buckets that batches touched, as the owner role, every minute. Every report already adds
-- rows up per key (sum, min, max, count distinct), so a key with several rows gives the same answer as
-- one merged row: queries need no change and stay right before, during and after a compaction.
--
-- The key indexes go; what remains is one (tenant_id, bucket) index for the reports' range scans and the
-- compaction. Its new entries land at the right edge of the index (buckets only grow) and equal keys share
-- deduplicated posting lists, so it costs ingest little. Pages are filled again (no more in-place updates).
-- rule_counter_minute (kernel counters, not written by ingest) keeps its key and upsert.

do $$
declare
  t text[];
begin
  foreach t slice 1 in array array[['event_counts_minute', 'minute'], ['rule_hits_daily', 'day'],
                                   ['traffic_sources_hourly', 'hour'], ['traffic_destinations_hourly', 'hour'],
                                   ['traffic_source_ports_daily', 'day']] loop
    execute format('alter table %I drop constraint %I', t[1], t[1] || '_pkey');
    execute format('create index %I on %I (tenant_id, %I)', t[1] || '_tenant_bucket', t[1], t[2]);
    execute format('alter table %I reset (fillfactor)', t[1]);
    -- Compaction merges across tenants: only the owner (the role running this migration), and only in a
    -- transaction that says it is compacting (as the expiry policies of V008). The app role is not named.
    execute format($p$create policy compaction_select on %I for select to %I
      using (current_setting('clawfence.maintenance', true) = 'compaction')$p$, t[1], current_user);
    execute format($p$create policy compaction_delete on %I for delete to %I
      using (current_setting('clawfence.maintenance', true) = 'compaction')$p$, t[1], current_user);
    execute format($p$create policy compaction_insert on %I for insert to %I
      with check (current_setting('clawfence.maintenance', true) = 'compaction')$p$, t[1], current_user);
  end loop;
end
$$;

-- The compaction finds the touched buckets in the live stream's batch log (one row per stored batch with
-- its time range, V010), read across tenants by the owner.
create policy compaction_select on event_stream_batches for select to current_user
  using (current_setting('clawfence.maintenance', true) = 'compaction');
