-- Issue 4: the rule index only for events that carry a rule id. Blocked events (most of real traffic)
-- and allowed ones without a tenant rule have rule_id '', which the event list's rule filter never asks
-- for (EventFilter refuses an empty rule), so their index entries were pure ingest cost.
-- The rule filter repeats "rule_id <> ''" itself: a prepared statement's generic plan cannot prove the
-- partial predicate from a parameter. Dropping the parent's index drops each partition's; creating it
-- on the parent builds it on every existing partition and on the ones EventPartitions creates later.
drop index connection_events_tenant_rule;
create index connection_events_tenant_rule on connection_events (tenant_id, rule_id) where rule_id <> '';
