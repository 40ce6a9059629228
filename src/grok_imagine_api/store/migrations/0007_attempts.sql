-- Retries (docs/retries.md): every attempt a job had, how many it may have, and which workers it avoids.
-- attempt_log: a JSON list of {attempt, worker_id, started_at, ended_at, outcome, code, message}.
-- avoid_workers: a JSON list of the workers whose attempt failed; until avoid_until only another worker takes it.
ALTER TABLE jobs ADD COLUMN attempt_log TEXT NOT NULL DEFAULT '[]';
ALTER TABLE jobs ADD COLUMN max_attempts INTEGER;
ALTER TABLE jobs ADD COLUMN avoid_workers TEXT;
ALTER TABLE jobs ADD COLUMN avoid_until REAL;
