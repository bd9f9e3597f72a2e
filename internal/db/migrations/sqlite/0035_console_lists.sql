-- The web console's list pages: users and organizations sorted by name or
-- e-mail within their kind, paged by offset and counted; log entries
-- counted by kind over any window. With these the engines read only an
-- index for the rows they skip and count. The log index replaces the one
-- on (created_at, id) (kind added at its end), so the action log's writes
-- keep the same number of indexes.
CREATE INDEX account_kind_name ON account (kind, name);
CREATE INDEX account_kind_email ON account (kind, email);
DROP INDEX log_entry_created;
CREATE INDEX log_entry_created ON log_entry (created_at, id, kind);
