-- The repository an action-log entry is about, for the repository logs
-- (/api/v1/repository/{repo}/logs). Entries written before this column
-- existed have none and appear in their namespace's logs only.
ALTER TABLE log_entry ADD COLUMN repository_id BIGINT;
CREATE INDEX log_entry_repository_created ON log_entry (repository_id, created_at, id);
