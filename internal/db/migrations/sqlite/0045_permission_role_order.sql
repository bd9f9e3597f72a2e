-- Access decisions walk a repository's team grants strongest role first
-- and stop at the first team the account is in (grantsQuery).
CREATE INDEX repository_permission_role ON repository_permission (repository_id, role, team_id);
