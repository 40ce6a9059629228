-- One named block per query; the store loads them by name.

-- name: insert_job
INSERT INTO jobs (id, model, prompt, status, options, image_mime, image_size, created_at, updated_at)
VALUES (:id, :model, :prompt, 'pending', :options, :image_mime, :image_size, :created_at, :created_at);

-- name: insert_image
INSERT INTO job_images (job_id, mime, data) VALUES (:job_id, :mime, :data);

-- name: get_job
SELECT * FROM jobs WHERE id = :id;

-- name: get_image
SELECT mime, data FROM job_images WHERE job_id = :job_id;

-- name: list_jobs
SELECT * FROM jobs WHERE seq < :before ORDER BY seq DESC LIMIT :limit;

-- name: list_jobs_by_status
SELECT * FROM jobs WHERE status = :status AND seq < :before ORDER BY seq DESC LIMIT :limit;

-- name: claim_job
-- One statement picks the oldest pending job and leases it; SQLite's single writer makes it atomic.
UPDATE jobs
SET status = 'processing', claim_token = :token, worker_id = :worker_id, claimed_at = :now,
    last_contact_at = :now, lease_expires_at = :lease_expires_at, updated_at = :now,
    attempts = attempts + 1, progress = 0
WHERE seq = (SELECT seq FROM jobs WHERE status = 'pending' ORDER BY seq LIMIT 1)
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
    lease_expires_at = NULL
WHERE id = :id AND status = 'processing'
RETURNING *;

-- name: fail_job
UPDATE jobs
SET status = 'failed', completed_at = :now, updated_at = :now, error = :error, error_code = :error_code,
    lease_expires_at = NULL
WHERE id = :id AND status = 'processing'
RETURNING *;

-- name: fail_stale_jobs
UPDATE jobs
SET status = 'failed', completed_at = :now, updated_at = :now, error = :error, error_code = 'timeout',
    lease_expires_at = NULL
WHERE status = 'processing' AND lease_expires_at <= :now
RETURNING *;

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

-- name: live_video_ids
SELECT id FROM jobs WHERE status = 'completed' AND video_expired_at IS NULL AND id IN (SELECT value FROM json_each(:ids));

-- name: release_job
-- Hand a claim back (its worker hung up before receiving it), as if it had never been made.
UPDATE jobs
SET status = 'pending', claim_token = NULL, worker_id = NULL, claimed_at = NULL, last_contact_at = NULL,
    lease_expires_at = NULL, attempts = attempts - 1, updated_at = :now
WHERE id = :id AND claim_token = :token AND status = 'processing'
RETURNING *;
