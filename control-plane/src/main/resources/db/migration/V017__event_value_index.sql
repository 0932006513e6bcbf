-- Issue 4: the event list's exact-value filters (instance, port, protocol, rule, reason) from one GIN
-- index instead of a btree each (BENCHMARKS.md "Event list: one GIN index for the exact-value filters").
--
-- The btrees served port and rule only; an instance, protocol or reason filter on a rare or absent value
-- read the tenant's whole range through the time index (a quiet instance's first page 118 ms at p95,
-- an absent reason 1.2 s, over 20 million events; under 35 ms with this index). A btree on the instance
-- alone cost ingest 12 %; GIN's pending list takes a row's entries in one append and merges them into the
-- entry tree in bulk, so these six columns cost ingest ~8 % more than the two btrees they replace (5-12 %
-- in the A/B runs). btree_gin gives GIN the plain equality of these types; it is a trusted extension,
-- which the database's owner may create.
--
-- tenant_id is in the index so that a tenant's rare value intersects with the tenant instead of
-- fetching every tenant's rows of that value. A frequent value's first page still comes from the time
-- index with a filter; a rare one's from a bitmap scan of this index, sorted. The address filter stays
-- on its btree (tenant_id, peer_address): GIN would scan each bound of a CIDR block's range on its own.
--
-- Dropping the parent's index drops each partition's; creating it on the parent builds it on every
-- existing partition (blocking ingest while it runs) and on the ones EventPartitions creates later.
create extension if not exists btree_gin;
drop index connection_events_tenant_port;
drop index connection_events_tenant_rule;
create index connection_events_values on connection_events
  using gin (tenant_id, instance_id, destination_port, ip_protocol, rule_id, reason);
