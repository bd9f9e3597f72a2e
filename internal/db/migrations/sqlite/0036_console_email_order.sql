-- E-mail addresses are not unique, so the console orders by (email, id):
-- with the id in the index the engines walk it for that order instead of
-- sorting every account of the kind (PostgreSQL did, for a deep page).
DROP INDEX account_kind_email;
CREATE INDEX account_kind_email ON account (kind, email, id);
