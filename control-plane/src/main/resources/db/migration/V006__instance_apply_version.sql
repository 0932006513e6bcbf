-- The version an instance's last apply result is about. applied_policy_version now means the version in
-- force: a FAILED or ROLLED_BACK result leaves it on the previous version, and apply_version says which
-- version failed or was rolled back. Rows from before this column have it null until the next result.
alter table instances add column apply_version integer;
