-- Long videos (docs/long-videos.md): a chain's segments on the parent job, and each step's parent.
ALTER TABLE jobs ADD COLUMN parent_id TEXT;
ALTER TABLE jobs ADD COLUMN chain TEXT;
-- The chains still being made, for the maintenance sweep that advances them after a restart.
CREATE INDEX jobs_active_chains ON jobs (seq) WHERE chain IS NOT NULL AND status = 'processing';
