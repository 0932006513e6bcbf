-- Events the agents' capture lost (NFLOG sequence gaps, malformed or undecodable datagrams, spool
-- refusals) and capture-socket overruns, per instance and UTC minute, from RuleCounters
-- (events_lost_at_capture, capture_overruns). The event summary shows them beside the spool's losses
-- (event_losses), so that no loss between the kernel and the table goes unseen.

create table event_capture_losses_minute (
  tenant_id   uuid        not null,
  instance_id uuid        not null,
  minute      timestamptz not null,
  events_lost bigint      not null,
  overruns    bigint      not null,
  primary key (tenant_id, instance_id, minute)
);

alter table event_capture_losses_minute enable row level security;
alter table event_capture_losses_minute force row level security;
create policy tenant_isolation on event_capture_losses_minute
  using (tenant_id = nullif(current_setting('clawfence.tenant_id', true), '')::uuid)
  with check (tenant_id = nullif(current_setting('clawfence.tenant_id', true), '')::uuid);
-- Retention deletes, as for the rollups of V008: only the owner, only in a transaction expiring rows.
do $$
begin
  execute format($p$create policy expiry_delete on event_capture_losses_minute for delete to %I
    using (current_setting('clawfence.maintenance', true) = 'expiry')$p$, current_user);
  execute format($p$create policy expiry_select on event_capture_losses_minute for select to %I
    using (current_setting('clawfence.maintenance', true) = 'expiry')$p$, current_user);
end
$$;
grant select, insert, update on event_capture_losses_minute to ${appRole};
