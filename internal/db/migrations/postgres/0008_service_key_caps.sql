-- The key server caps the keys awaiting approval per client address (see
-- servicekey.DefaultMaxUnapprovedPerAddress): client_addr is the address a
-- key was submitted from as the cap counts it (an IPv4 address, or the /64
-- of an IPv6 one); '' for keys that did not come through the key server.
-- Keys submitted before this migration have '' and count only against their
-- service's cap; UNAPPROVED_SERVICE_KEY_TTL removes them within a day.
ALTER TABLE service_key ADD COLUMN client_addr TEXT NOT NULL DEFAULT '';
-- Counting a client's pending keys reads only its own rows. (The per-service
-- count uses service_key_service.)
CREATE INDEX service_key_unapproved_client ON service_key (client_addr, created_at) WHERE approval_type IS NULL;
