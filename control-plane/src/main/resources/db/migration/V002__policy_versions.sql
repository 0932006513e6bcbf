-- Policy versions: every save is an immutable row; the tenant's current version is a pointer that
-- moves with a conditional update, so two saves based on the same version cannot both win.

alter table tenants add column policy_version integer not null default 0;

create table policy_versions (
  tenant_id    uuid        not null references tenants (id) on delete cascade,
  version      integer     not null check (version >= 1),
  document     jsonb       not null,
  author       text        not null,
  author_id    text,
  message      text        not null,
  created_at   timestamptz not null default now(),
  content_hash text        not null,
  primary key (tenant_id, version)
);

alter table policy_versions enable row level security;
alter table policy_versions force row level security;
create policy tenant_isolation on policy_versions
  using (tenant_id = nullif(current_setting('clawfence.tenant_id', true), '')::uuid)
  with check (tenant_id = nullif(current_setting('clawfence.tenant_id', true), '')::uuid);

-- Versions are immutable: the service may add and read them, never change them.
grant select, insert on policy_versions to ${appRole};
