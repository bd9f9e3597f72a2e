-- Accounts: users, organizations and robots share one namespace of names.
CREATE TABLE account (
	id                    INTEGER PRIMARY KEY AUTOINCREMENT,
	name                  TEXT    NOT NULL UNIQUE,
	kind                  TEXT    NOT NULL CHECK (kind IN ('user', 'org', 'robot')),
	email                 TEXT    UNIQUE,
	password_hash         TEXT    NOT NULL DEFAULT '',
	enabled               BOOLEAN NOT NULL DEFAULT TRUE,
	verified              BOOLEAN NOT NULL DEFAULT FALSE,
	superuser             BOOLEAN NOT NULL DEFAULT FALSE,
	tag_expiration_s      BIGINT  NOT NULL DEFAULT 0,
	invoice_email         BOOLEAN NOT NULL DEFAULT FALSE,
	invoice_email_address TEXT,
	created_at            BIGINT  NOT NULL
);
CREATE INDEX account_kind_id ON account (kind, id);

CREATE TABLE team (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	org_id      BIGINT NOT NULL REFERENCES account (id) ON DELETE CASCADE,
	name        TEXT   NOT NULL,
	role        TEXT   NOT NULL,
	description TEXT   NOT NULL DEFAULT '',
	UNIQUE (org_id, name)
);

CREATE TABLE team_member (
	team_id    BIGINT NOT NULL REFERENCES team (id) ON DELETE CASCADE,
	account_id BIGINT NOT NULL REFERENCES account (id) ON DELETE CASCADE,
	PRIMARY KEY (team_id, account_id)
);
CREATE INDEX team_member_account ON team_member (account_id);

CREATE TABLE oauth_application (
	id              INTEGER PRIMARY KEY AUTOINCREMENT,
	org_id          BIGINT NOT NULL REFERENCES account (id) ON DELETE CASCADE,
	client_id       TEXT   NOT NULL UNIQUE,
	client_secret   TEXT   NOT NULL,
	name            TEXT   NOT NULL,
	description     TEXT   NOT NULL DEFAULT '',
	application_uri TEXT   NOT NULL DEFAULT '',
	redirect_uri    TEXT   NOT NULL DEFAULT '',
	avatar_email    TEXT   NOT NULL DEFAULT '',
	created_at      BIGINT NOT NULL
);
CREATE INDEX oauth_application_org ON oauth_application (org_id);

CREATE TABLE oauth_access_token (
	id             INTEGER PRIMARY KEY AUTOINCREMENT,
	token_name     TEXT   NOT NULL UNIQUE,
	secret_hash    BLOB   NOT NULL,
	account_id     BIGINT NOT NULL REFERENCES account (id) ON DELETE CASCADE,
	application_id BIGINT NOT NULL REFERENCES oauth_application (id) ON DELETE CASCADE,
	scope          TEXT   NOT NULL,
	expires_at     BIGINT NOT NULL,
	created_at     BIGINT NOT NULL
);
CREATE INDEX oauth_access_token_account ON oauth_access_token (account_id);
CREATE INDEX oauth_access_token_application ON oauth_access_token (application_id);

CREATE TABLE login_session (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	hash       BLOB   NOT NULL UNIQUE,
	account_id BIGINT NOT NULL REFERENCES account (id) ON DELETE CASCADE,
	csrf_token TEXT   NOT NULL,
	login_at   BIGINT NOT NULL,
	expires_at BIGINT NOT NULL
);
CREATE INDEX login_session_account ON login_session (account_id);

-- The action log keeps names as they were: no foreign keys, so entries
-- outlive the accounts they mention.
CREATE TABLE log_entry (
	id              INTEGER PRIMARY KEY AUTOINCREMENT,
	kind            TEXT   NOT NULL,
	account_id      BIGINT,
	account_name    TEXT,
	account_kind    TEXT,
	account_email   TEXT,
	performer_id    BIGINT,
	performer_name  TEXT,
	performer_kind  TEXT,
	performer_email TEXT,
	ip              TEXT   NOT NULL DEFAULT '',
	created_at      BIGINT NOT NULL,
	metadata        TEXT   NOT NULL DEFAULT '{}'
);
CREATE INDEX log_entry_created ON log_entry (created_at, id);
CREATE INDEX log_entry_account_created ON log_entry (account_id, created_at, id);

-- One row per background job: whoever holds an unexpired lease runs it.
CREATE TABLE job_lease (
	name       TEXT   PRIMARY KEY,
	holder     TEXT   NOT NULL,
	expires_at BIGINT NOT NULL
);
