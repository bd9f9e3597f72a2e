-- Each repository's badge token: the secret that lets a build-status badge
-- of a private repository be shown (Quay's status_token). Repositories made
-- before it get one now; new ones get theirs from wharf when created.
ALTER TABLE repository ADD COLUMN badge_token TEXT NOT NULL DEFAULT '';
UPDATE repository SET badge_token = replace(gen_random_uuid()::text, '-', '');
