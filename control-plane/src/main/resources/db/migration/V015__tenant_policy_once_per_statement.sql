-- Every tenant_isolation policy reads the transaction's tenant once per statement instead of once per row
-- (issue 4, ingest fourth round; BENCHMARKS.md "Event ingest, fourth round").
--
-- As written in V001-V012, `tenant_id = nullif(current_setting(...), '')::uuid` is a stable expression,
-- which PostgreSQL evaluates for every row an INSERT checks (WITH CHECK) and every row a scan filters: a
-- settings lookup, a text copy and a uuid parse per row (uuid_in, cstring_to_text and the settings hash
-- were ~2-3 % of the server's samples while ingest stored events). Wrapped in a scalar sub-select it is
-- an init plan, computed once per statement, and it still serves as an index condition. The same rows
-- stay visible and the same rows are refused. EventPartitions creates new day partitions' policies in
-- this form too.
do $$
declare
  p record;
begin
  for p in select tablename from pg_policies where schemaname = 'public' and policyname = 'tenant_isolation' loop
    execute format($f$alter policy tenant_isolation on %1$I
      using (%2$I = (select nullif(current_setting('clawfence.tenant_id', true), '')::uuid))
      with check (%2$I = (select nullif(current_setting('clawfence.tenant_id', true), '')::uuid))$f$,
      p.tablename, case when p.tablename = 'tenants' then 'id' else 'tenant_id' end);
  end loop;
end
$$;
