-- Log exports (POST …/exportlogs): the request and what became of it: the
-- file the export job wrote and whether the requester was told. The namespace and
-- repository names are copied so that the callback can name them even
-- after a rename or delete; the ids are what the entries are selected by.
CREATE TABLE log_export (
	id              INTEGER PRIMARY KEY AUTOINCREMENT,
	uuid            TEXT    NOT NULL UNIQUE,
	file_name       TEXT    NOT NULL UNIQUE,
	namespace_id    BIGINT  NOT NULL,
	namespace_name  TEXT    NOT NULL,
	repository_id   BIGINT,           -- NULL: the whole namespace
	repository_name TEXT,
	start_at        BIGINT  NOT NULL, -- microseconds, inclusive
	end_at          BIGINT  NOT NULL, -- microseconds, exclusive
	callback_url    TEXT,
	callback_email  TEXT,
	status          TEXT,             -- NULL until the file is written: success, failed, timedout
	delivery        TEXT    NOT NULL CHECK (delivery IN ('pending', 'done', 'abandoned')),
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at BIGINT  NOT NULL,
	note            TEXT,
	file_expires_at BIGINT,           -- NULL: no file to download (not written, failed, or removed)
	created_at      BIGINT  NOT NULL
);
CREATE INDEX log_export_due ON log_export (delivery, next_attempt_at, id);
CREATE INDEX log_export_file_expires ON log_export (file_expires_at);
