-- One named block per query; the store loads them by name.

-- name: insert_job
INSERT INTO jobs (id, model, prompt, status, options, image_mime, image_size, created_at, updated_at,
                  dialect, owner, kind, source_job_id, source_url, source_size, requested, adjustments, needs,
                  unmatched_since, media, n, max_attempts, parent_id, chain)
VALUES (:id, :model, :prompt, :status, :options, :image_mime, :image_size, :created_at, :created_at,
        :dialect, :owner, :kind, :source_job_id, :source_url, :source_size, :requested, :adjustments, :needs,
        :unmatched_since, :media, :n, :max_attempts, :parent_id, :chain)
RETURNING *;

-- name: insert_image
INSERT INTO job_images (job_id, mime, data) VALUES (:job_id, :mime, :data);

-- name: get_job
SELECT * FROM jobs WHERE id = :id;

-- name: get_image
SELECT mime, data FROM job_images WHERE job_id = :job_id;

-- name: list_jobs
-- {where} is built from fixed conditions on owner, status and the cursor; {order} is ASC or DESC.
SELECT * FROM jobs WHERE {where} ORDER BY seq {order} LIMIT :limit;

-- name: claim_job
-- Lease the job the claim chose (the oldest whose needs the worker has; see waiting_needs and oldest_with_needs),
-- inside the same transaction, so two workers never get the same job.
UPDATE jobs
SET status = 'processing', claim_token = :token, worker_id = :worker_id, claimed_at = :now,
    last_contact_at = :now, lease_expires_at = :lease_expires_at, updated_at = :now,
    attempts = attempts + 1, progress = 0, unmatched_since = NULL
WHERE seq = :seq AND status = 'pending'
RETURNING *;

-- name: waiting_needs
-- The different needs of the queued jobs, by skipping through the partial index from one value to the next:
-- a few seeks, however many jobs wait.
WITH RECURSIVE found(needs) AS (
    SELECT min(needs) FROM jobs WHERE status = 'pending'
    UNION ALL
    SELECT (SELECT min(needs) FROM jobs WHERE status = 'pending' AND needs > found.needs)
    FROM found WHERE found.needs IS NOT NULL
)
SELECT needs FROM found WHERE needs IS NOT NULL;

-- name: oldest_with_needs
-- A retried job waits for another worker than those that failed it, until avoid_until (docs/retries.md).
SELECT seq FROM jobs
WHERE status = 'pending' AND needs = :needs
  AND (avoid_until IS NULL OR avoid_until <= :now
       OR NOT EXISTS (SELECT 1 FROM json_each(avoid_workers) WHERE value = :worker_id))
ORDER BY seq LIMIT 1;

-- name: mark_unmatched
-- Jobs whose needs no connected worker has start (or keep) their no-capable-worker clock; the rest stop it.
UPDATE jobs
SET unmatched_since = CASE WHEN needs IN (SELECT value FROM json_each(:unmatched)) THEN coalesce(unmatched_since, :now)
                           ELSE NULL END
WHERE status = 'pending'
  AND (unmatched_since IS NOT NULL OR needs IN (SELECT value FROM json_each(:unmatched)));

-- name: fail_unmatched
UPDATE jobs
SET status = 'failed', completed_at = :now, updated_at = :now, error = :error, error_code = 'no_capable_worker'
WHERE status = 'pending' AND needs = :needs AND unmatched_since <= :before
RETURNING *;

-- name: touch_job
UPDATE jobs
SET progress = max(progress, :progress), last_contact_at = :now, lease_expires_at = :lease_expires_at,
    updated_at = :now
WHERE id = :id AND status = 'processing'
RETURNING *;

-- name: complete_job
UPDATE jobs
SET status = 'completed', progress = 100, completed_at = :now, updated_at = :now, video_size = :video_size,
    produced = :produced, grok_post_id = :grok_post_id, output_mismatch = :output_mismatch, images = :images,
    hd_size = :hd_size, hd_produced = :hd_produced,
    lease_expires_at = NULL, attempt_log = :attempt_log
WHERE id = :id AND status = 'processing'
RETURNING *;

-- name: fail_job
UPDATE jobs
SET status = 'failed', completed_at = :now, updated_at = :now, error = :error, error_code = :error_code,
    produced = coalesce(:produced, produced), output_mismatch = coalesce(:output_mismatch, output_mismatch),
    lease_expires_at = NULL, attempt_log = :attempt_log
WHERE id = :id AND status = 'processing'
RETURNING *;

-- name: retry_job
-- A failed attempt the retry policy tries again (docs/retries.md): back to the queue, where another worker than
-- those in avoid_workers takes it first, until avoid_until.
UPDATE jobs
SET status = 'pending', claim_token = NULL, worker_id = NULL, claimed_at = NULL, last_contact_at = NULL,
    lease_expires_at = NULL, progress = 0, updated_at = :now, unmatched_since = NULL,
    attempt_log = :attempt_log, avoid_workers = :avoid_workers, avoid_until = :avoid_until
WHERE id = :id AND status = 'processing'
RETURNING *;

-- name: stale_jobs
-- Jobs whose worker went silent past the lease: each is retried or failed on its own.
SELECT * FROM jobs WHERE status = 'processing' AND lease_expires_at <= :now;

-- name: expire_videos
UPDATE jobs
SET video_expired_at = :now, updated_at = :now
WHERE seq IN (
    SELECT seq FROM jobs
    WHERE status = 'completed' AND video_expired_at IS NULL AND completed_at < :cutoff
    LIMIT :limit
)
RETURNING id;

-- name: count_jobs
SELECT status, n FROM job_counts;

-- name: count_cancelled
-- Deleted ones included, as in job_counts. Named, since the planner prefers jobs_status_seq: a scan of every
-- failed job.
SELECT count(*) FROM jobs INDEXED BY jobs_cancelled WHERE status = 'failed' AND error_code = 'cancelled';

-- name: jobs_keeping_files
-- Of the given ids, the jobs whose files must stay: a live video, or a source a worker may still fetch.
SELECT id FROM jobs
WHERE id IN (SELECT value FROM json_each(:ids)) AND deleted_at IS NULL
  AND (status IN ('pending', 'processing') OR (status = 'completed' AND video_expired_at IS NULL));

-- name: release_job
-- Hand a claim back (its worker hung up before receiving it), as if it had never been made.
UPDATE jobs
SET status = 'pending', claim_token = NULL, worker_id = NULL, claimed_at = NULL, last_contact_at = NULL,
    lease_expires_at = NULL, attempts = attempts - 1, updated_at = :now
WHERE id = :id AND claim_token = :token AND status = 'processing'
RETURNING *;

-- name: delete_job
UPDATE jobs
SET deleted_at = :now, updated_at = :now,
    status = CASE WHEN status IN ('pending', 'processing') THEN 'failed' ELSE status END,
    error_code = CASE WHEN status IN ('pending', 'processing') THEN 'cancelled' ELSE error_code END,
    error = CASE WHEN status IN ('pending', 'processing') THEN 'Cancelled by the client' ELSE error END,
    completed_at = coalesce(completed_at, :now),
    lease_expires_at = NULL
WHERE id = :id AND deleted_at IS NULL
RETURNING *;

-- name: cancel_job
UPDATE jobs
SET status = 'failed', error_code = 'cancelled', error = 'Cancelled by the client', completed_at = :now,
    updated_at = :now, lease_expires_at = NULL
WHERE id = :id AND deleted_at IS NULL AND status IN ('pending', 'processing')
RETURNING *;

-- name: created_per_bucket
SELECT CAST((created_at - :since) / :bucket AS INTEGER) AS bucket, count(*) AS n
FROM jobs WHERE created_at >= :since GROUP BY bucket;

-- name: finished_per_bucket
SELECT CAST((completed_at - :since) / :bucket AS INTEGER) AS bucket, status, count(*) AS n
FROM jobs WHERE completed_at >= :since GROUP BY bucket, status;

-- name: recent_timings
-- Queue wait and generation time of the latest completed jobs, newest first.
SELECT claimed_at - created_at AS wait, completed_at - claimed_at AS generation
FROM jobs WHERE status = 'completed' ORDER BY seq DESC LIMIT :limit;

-- name: get_idempotency
SELECT fingerprint, status_code, response, created_at FROM idempotency_keys WHERE scope = :scope AND key = :key;

-- name: reserve_idempotency
INSERT INTO idempotency_keys (scope, key, fingerprint, created_at) VALUES (:scope, :key, :fingerprint, :now);

-- name: finish_idempotency
UPDATE idempotency_keys SET status_code = :status_code, response = :response WHERE scope = :scope AND key = :key;

-- name: abort_idempotency
DELETE FROM idempotency_keys WHERE scope = :scope AND key = :key AND response IS NULL;

-- name: purge_idempotency
DELETE FROM idempotency_keys WHERE created_at < :before;

-- name: insert_meta
INSERT OR IGNORE INTO meta (name, value) VALUES (:name, :value);

-- name: get_meta
SELECT value FROM meta WHERE name = :name;

-- name: update_chain
-- A long video's segments and overall progress, as its steps go (chains.py); it has no lease to renew. With
-- :expected, only if the segments are still those (a step is started once, whichever replica starts it).
UPDATE jobs
SET chain = :chain, progress = CASE WHEN progress > :progress THEN progress ELSE :progress END, updated_at = :now
WHERE id = :id AND status = 'processing' AND chain = coalesce(:expected, chain)
RETURNING *;

-- name: active_chains
SELECT * FROM jobs WHERE chain IS NOT NULL AND status = 'processing' ORDER BY seq;
