-- Agent enrolment: tenant-scoped enrolment tokens (hashed, expiring, limited uses, revocable) and the
-- control plane's certificate authority, which signs every agent's client certificate.

create table enrollment_tokens (
  id           uuid        primary key,
  tenant_id    uuid        not null references tenants (id) on delete cascade,
  description  text        check (description is null or length(description) between 1 and 200),
  -- SHA-256 of the token's secret part; the token itself is shown once and never stored.
  token_hash   bytea       not null unique,
  expires_at   timestamptz not null,
  max_uses     integer     not null check (max_uses between 1 and 1000),
  uses         integer     not null default 0 check (uses >= 0 and uses <= max_uses),
  created_by   text        not null,
  created_at   timestamptz not null default now(),
  revoked_at   timestamptz,
  last_used_at timestamptz
);
create index enrollment_tokens_tenant on enrollment_tokens (tenant_id, created_at);

alter table enrollment_tokens enable row level security;
alter table enrollment_tokens force row level security;
create policy tenant_isolation on enrollment_tokens
  using (tenant_id = nullif(current_setting('clawfence.tenant_id', true), '')::uuid)
  with check (tenant_id = nullif(current_setting('clawfence.tenant_id', true), '')::uuid);
do $$
begin
  execute format('create policy owner_functions on enrollment_tokens to %I using (true) with check (true)', current_user);
end
$$;

grant select, insert, update on enrollment_tokens to ${appRole};

-- Consumes one use of an enrolment token, before any tenant context exists (the token names the
-- tenant). The conditional update takes the row lock and re-checks the use count, so concurrent
-- enrolments with a one-use token succeed exactly once. Outcome 'ok' carries tenant and token id;
-- otherwise it says why ('unknown', 'revoked', 'expired', 'used-up') and names nothing else.
create function clawfence_consume_enrollment_token(p_token_hash bytea)
  returns table (outcome text, tenant_id uuid, token_id uuid)
  language plpgsql security definer set search_path = public, pg_temp
as $$
declare
  t record;
begin
  return query
    update enrollment_tokens e
       set uses = e.uses + 1, last_used_at = now()
     where e.token_hash = p_token_hash and e.uses < e.max_uses and e.revoked_at is null and e.expires_at > now()
    returning 'ok'::text, e.tenant_id, e.id;
  if found then
    return;
  end if;
  select e.revoked_at, e.expires_at into t from enrollment_tokens e where e.token_hash = p_token_hash;
  if not found then
    return query select 'unknown'::text, null::uuid, null::uuid;
  elsif t.revoked_at is not null then
    return query select 'revoked'::text, null::uuid, null::uuid;
  elsif t.expires_at <= now() then
    return query select 'expired'::text, null::uuid, null::uuid;
  else
    return query select 'used-up'::text, null::uuid, null::uuid;
  end if;
end
$$;
revoke all on function clawfence_consume_enrollment_token(bytea) from public;
grant execute on function clawfence_consume_enrollment_token(bytea) to ${appRole};

-- Not tenant-owned, and only the owner role reads it: the root CA every replica shares. The private key
-- is PEM text for now; it should be wrapped by a KMS key.
create table certificate_authority (
  id              integer     primary key check (id = 1),
  certificate_der bytea       not null,
  private_key_pem text        not null,
  created_at      timestamptz not null default now()
);
revoke all on certificate_authority from public;
