-- Revocation of registry tokens. A registry token records, for each
-- account and repository its grants rest on, the epoch that subject had
-- when it was issued; a change that takes rights away (an account deleted,
-- disabled, renamed; a robot's token regenerated; a repository deleted or
-- made private) bumps the epoch in the same transaction, and every process
-- polls recent changes, so a token whose epoch is stale is refused within
-- the poll interval. Rows are never deleted: an epoch never goes back.
CREATE TABLE credential_epoch (
    subject    TEXT PRIMARY KEY,   -- "account:<id>" or "repository:<id>"
    epoch      BIGINT NOT NULL,
    changed_at BIGINT NOT NULL     -- microseconds, by the database's clock on PostgreSQL
);
CREATE INDEX credential_epoch_changed ON credential_epoch (changed_at);
