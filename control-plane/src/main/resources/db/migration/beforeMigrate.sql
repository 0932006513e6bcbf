-- The role the service connects as: it must exist before migrations grant to it. Created without
-- LOGIN here; whoever runs the service (the embedded bootstrap, or an operator) gives it a password.
do $$
begin
  if not exists (select from pg_roles where rolname = '${appRole}') then
    create role ${appRole} nologin nosuperuser nocreatedb nocreaterole nobypassrls;
  end if;
end
$$;
