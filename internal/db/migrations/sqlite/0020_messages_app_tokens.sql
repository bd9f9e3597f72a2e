-- Global messages: the banner superusers publish to every user. Content is
-- stored exactly as given (never rendered by wharf).
CREATE TABLE global_message (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	uuid       TEXT   NOT NULL UNIQUE,
	content    TEXT   NOT NULL,
	media_type TEXT   NOT NULL,
	severity   TEXT   NOT NULL,
	created_at BIGINT NOT NULL
);

-- App-specific tokens: a user's registry passwords ("$app" + the token).
-- token_name is the token's first half, looked up; of the second half only
-- a SHA-256 is kept, so a token is shown once, when it is created.
CREATE TABLE app_token (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	uuid          TEXT   NOT NULL UNIQUE,
	account_id    BIGINT NOT NULL REFERENCES account (id) ON DELETE CASCADE,
	title         TEXT   NOT NULL,
	token_name    TEXT   NOT NULL UNIQUE,
	secret_hash   BLOB   NOT NULL,
	created_at    BIGINT NOT NULL,
	expires_at    BIGINT,            -- NULL: never
	last_accessed BIGINT             -- NULL: never used
);
CREATE INDEX app_token_account ON app_token (account_id, id);
CREATE INDEX app_token_expires ON app_token (expires_at);
