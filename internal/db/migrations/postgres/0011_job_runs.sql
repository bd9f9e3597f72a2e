-- A job's lease now outlives its run (it is kept until the job is next
-- due), so its row also records the runs: how many, and the last one's
-- start, end and error (NULL when it succeeded); holder is the process
-- that made it. Times are Unix microseconds.
ALTER TABLE job_lease ADD COLUMN runs BIGINT NOT NULL DEFAULT 0;
ALTER TABLE job_lease ADD COLUMN last_started_at BIGINT;
ALTER TABLE job_lease ADD COLUMN last_finished_at BIGINT;
ALTER TABLE job_lease ADD COLUMN last_error TEXT;
