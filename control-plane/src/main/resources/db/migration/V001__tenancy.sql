-- Tenancy: tenants, their users and API tokens, and the platform's admin tokens.
-- Row-level security is the second wall behind the service's own checks: every tenant-owned table
-- shows only the rows of the tenant named by the transaction-local setting clawfence.tenant_id, and
-- no rows at all when it is unset.

create table tenants (
  id         uuid        primary key,
  name       text        not null check (length(name) between 1 and 200),
  created_at timestamptz not null default now()
);

create table users (
  id         uuid        primary key,
  tenant_id  uuid        not null references tenants (id) on delete cascade,
  email      text        not null check (length(email) between 3 and 320),
  name       text        not null check (length(name) between 1 and 200),
  role       text        not null check (role in ('owner', 'admin', 'viewer')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (tenant_id, email)
);

create table api_tokens (
  id           uuid        primary key,
  tenant_id    uuid        not null references tenants (id) on delete cascade,
  name         text        not null check (length(name) between 1 and 200),
  role         text        not null check (role in ('owner', 'admin', 'viewer')),
  -- SHA-256 of the token text; the token itself is shown once and never stored.
  token_hash   bytea       not null unique,
  created_by   text        not null,
  created_at   timestamptz not null default now(),
  revoked_at   timestamptz,
  last_used_at timestamptz
);
create index api_tokens_tenant on api_tokens (tenant_id, created_at);

-- Not tenant-owned: only the owner role reads it, through clawfence_authenticate and the bootstrap.
create table platform_admin_tokens (
  id           uuid        primary key,
  name         text        not null,
  token_hash   bytea       not null unique,
  created_at   timestamptz not null default now(),
  revoked_at   timestamptz,
  last_used_at timestamptz
);

alter table tenants enable row level security;
alter table tenants force row level security;
create policy tenant_isolation on tenants
  using (id = nullif(current_setting('clawfence.tenant_id', true), '')::uuid)
  with check (id = nullif(current_setting('clawfence.tenant_id', true), '')::uuid);

alter table users enable row level security;
alter table users force row level security;
create policy tenant_isolation on users
  using (tenant_id = nullif(current_setting('clawfence.tenant_id', true), '')::uuid)
  with check (tenant_id = nullif(current_setting('clawfence.tenant_id', true), '')::uuid);

alter table api_tokens enable row level security;
alter table api_tokens force row level security;
create policy tenant_isolation on api_tokens
  using (tenant_id = nullif(current_setting('clawfence.tenant_id', true), '')::uuid)
  with check (tenant_id = nullif(current_setting('clawfence.tenant_id', true), '')::uuid);

-- FORCE applies RLS to the owner too; the SECURITY DEFINER functions below run as the owner and must
-- see across tenants (a token is looked up before its tenant is known), so the owner gets its own policy.
do $$
begin
  execute format('create policy owner_functions on tenants to %I using (true) with check (true)', current_user);
  execute format('create policy owner_functions on api_tokens to %I using (true) with check (true)', current_user);
end
$$;

grant select, insert, update, delete on tenants, users, api_tokens to ${appRole};

-- Resolves a token hash to its holder, before any tenant context exists, and records its use.
-- Returns no row for unknown or revoked tokens; tenant_id is null for a platform admin token.
create function clawfence_authenticate(p_token_hash bytea)
  returns table (token_id uuid, tenant_id uuid, role text, name text)
  language plpgsql security definer set search_path = public, pg_temp
as $$
begin
  return query
    update api_tokens t
       set last_used_at = now()
     where t.token_hash = p_token_hash and t.revoked_at is null
    returning t.id, t.tenant_id, t.role, t.name;
  if found then
    return;
  end if;
  return query
    update platform_admin_tokens a
       set last_used_at = now()
     where a.token_hash = p_token_hash and a.revoked_at is null
    returning a.id, null::uuid, 'platform-admin'::text, a.name;
end
$$;
revoke all on function clawfence_authenticate(bytea) from public;
grant execute on function clawfence_authenticate(bytea) to ${appRole};

-- The platform admin's view of all tenants (support staff), which RLS otherwise hides.
create function clawfence_list_tenants()
  returns table (id uuid, name text, created_at timestamptz)
  language sql stable security definer set search_path = public, pg_temp
as $$
  select t.id, t.name, t.created_at from tenants t order by t.created_at, t.id
$$;
revoke all on function clawfence_list_tenants() from public;
grant execute on function clawfence_list_tenants() to ${appRole};
