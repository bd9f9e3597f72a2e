-- Auto-prune policies (Quay's): on a namespace (repository_id NULL, for
-- every repository of it) or on one repository. value is the JSON of the
-- policy's value (10, "7d"); tag_pattern NULL matches every tag.
CREATE TABLE autoprune_policy (
	uuid                TEXT    PRIMARY KEY,
	namespace_id        BIGINT  NOT NULL REFERENCES account (id) ON DELETE CASCADE,
	repository_id       BIGINT  REFERENCES repository (id) ON DELETE CASCADE,
	method              TEXT    NOT NULL CHECK (method IN ('number_of_tags', 'creation_date')),
	value               TEXT    NOT NULL,
	tag_pattern         TEXT,
	tag_pattern_matches BOOLEAN NOT NULL DEFAULT TRUE,
	created_at          BIGINT  NOT NULL
);
CREATE INDEX autoprune_policy_namespace ON autoprune_policy (namespace_id, repository_id);
CREATE INDEX autoprune_policy_repository ON autoprune_policy (repository_id);
