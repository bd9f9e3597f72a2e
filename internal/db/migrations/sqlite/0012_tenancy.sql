-- Who may do what to a repository beyond owning its namespace (Quay's
-- RepositoryPermission): a role granted to one user or robot, or to one
-- team of the repository's organization. One row per grantee and repository.
CREATE TABLE repository_permission (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	repository_id BIGINT NOT NULL REFERENCES repository (id) ON DELETE CASCADE,
	account_id    BIGINT REFERENCES account (id) ON DELETE CASCADE,
	team_id       BIGINT REFERENCES team (id) ON DELETE CASCADE,
	role          TEXT   NOT NULL CHECK (role IN ('read', 'write', 'admin')),
	CHECK ((account_id IS NULL) <> (team_id IS NULL)),
	UNIQUE (repository_id, account_id),
	UNIQUE (repository_id, team_id)
);
CREATE INDEX repository_permission_account ON repository_permission (account_id, repository_id);
CREATE INDEX repository_permission_team ON repository_permission (team_id, repository_id);

-- Default permissions (Quay's PermissionPrototype): when a user or robot
-- (the activating account, or anyone when NULL) creates a repository in
-- the organization, the delegate (an account or a team) gets the role.
CREATE TABLE permission_prototype (
	id                    INTEGER PRIMARY KEY AUTOINCREMENT,
	uuid                  TEXT   NOT NULL UNIQUE,
	org_id                BIGINT NOT NULL REFERENCES account (id) ON DELETE CASCADE,
	activating_account_id BIGINT REFERENCES account (id) ON DELETE CASCADE,
	delegate_account_id   BIGINT REFERENCES account (id) ON DELETE CASCADE,
	delegate_team_id      BIGINT REFERENCES team (id) ON DELETE CASCADE,
	role                  TEXT   NOT NULL CHECK (role IN ('read', 'write', 'admin')),
	CHECK ((delegate_account_id IS NULL) <> (delegate_team_id IS NULL))
);
CREATE INDEX permission_prototype_org ON permission_prototype (org_id, id);
CREATE INDEX permission_prototype_delegate_account ON permission_prototype (delegate_account_id);
CREATE INDEX permission_prototype_delegate_team ON permission_prototype (delegate_team_id);
CREATE INDEX permission_prototype_activating ON permission_prototype (activating_account_id);

CREATE TABLE repository_star (
	account_id    BIGINT NOT NULL REFERENCES account (id) ON DELETE CASCADE,
	repository_id BIGINT NOT NULL REFERENCES repository (id) ON DELETE CASCADE,
	PRIMARY KEY (account_id, repository_id)
);
CREATE INDEX repository_star_repository ON repository_star (repository_id);

-- A repository's state: READ_ONLY refuses writes; MIRROR refuses them
-- except from its mirror robot.
ALTER TABLE repository ADD COLUMN state TEXT NOT NULL DEFAULT 'NORMAL' CHECK (state IN ('NORMAL', 'READ_ONLY', 'MIRROR'));
ALTER TABLE repository ADD COLUMN mirror_robot_id BIGINT REFERENCES account (id) ON DELETE SET NULL;

-- Access decisions look for the account in an organization's admin and
-- creator teams.
CREATE INDEX team_org_role ON team (org_id, role);
