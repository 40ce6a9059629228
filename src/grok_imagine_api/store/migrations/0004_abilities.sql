-- What each job needs of a worker (kind, source, options), what its options became and why, the Grok post its
-- video came from, how the video differed from what was promised, and since when no worker could make it.
ALTER TABLE jobs ADD COLUMN needs TEXT NOT NULL DEFAULT '[]';
ALTER TABLE jobs ADD COLUMN adjustments TEXT NOT NULL DEFAULT '[]';
ALTER TABLE jobs ADD COLUMN grok_post_id TEXT;
ALTER TABLE jobs ADD COLUMN output_mismatch TEXT;
ALTER TABLE jobs ADD COLUMN unmatched_since REAL;

-- A remix, extension or edit queued before workers declared abilities still needs one that can make it. Written
-- exactly as the server writes needs (json.dumps of the sorted list), since jobs are grouped by that text.
UPDATE jobs SET needs = '["kind:' || kind || '", "source:upload"]' WHERE status = 'pending' AND kind <> 'generate';

-- Claims and the no-capable-worker sweep look at pending jobs grouped by their needs: a few index seeks, however
-- many jobs wait for something no worker can make.
CREATE INDEX jobs_pending_needs ON jobs (needs, seq) WHERE status = 'pending';
