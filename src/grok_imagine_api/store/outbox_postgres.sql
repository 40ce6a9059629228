-- The webhook outbox's queries for PostgreSQL (outbox_postgres.py); the schema is migration postgres/0004.

-- name: queued_events
SELECT * FROM job_events ORDER BY seq LIMIT :limit FOR UPDATE SKIP LOCKED;

-- name: jobs_of_events
SELECT * FROM jobs WHERE id = ANY(:ids);

-- name: delete_events
DELETE FROM job_events WHERE seq = ANY(:seqs);

-- name: any_event
SELECT 1 FROM job_events LIMIT 1;

-- name: insert_delivery
INSERT INTO webhook_deliveries (id, event_id, event_type, job_id, owner, endpoint, url, payload, created_at,
                                next_attempt_at)
VALUES (:id, :event_id, :event_type, :job_id, :owner, :endpoint, :url, :payload, :created_at, :next_attempt_at);

-- name: claim_deliveries
UPDATE webhook_deliveries
SET lease_token = :token, lease_expires_at = :lease_expires_at
WHERE seq IN (
    SELECT seq FROM webhook_deliveries
    WHERE status = 'pending' AND next_attempt_at <= :now AND (lease_expires_at IS NULL OR lease_expires_at <= :now)
    ORDER BY next_attempt_at LIMIT :limit FOR UPDATE SKIP LOCKED
)
RETURNING *;

-- name: record_attempt
UPDATE webhook_deliveries
SET status = :status, attempts = attempts + 1, next_attempt_at = :next_attempt_at, lease_token = NULL,
    lease_expires_at = NULL, last_status_code = :status_code, last_error = :error, last_latency_ms = :latency_ms,
    finished_at = :finished_at
WHERE id = :id AND lease_token = :token AND status = 'pending'
RETURNING attempts;

-- name: insert_attempt
INSERT INTO webhook_attempts (delivery_id, attempt, at, status_code, error, latency_ms)
VALUES (:id, :attempt, :at, :status_code, :error, :latency_ms);

-- name: next_due
-- A leased delivery is not due before its lease runs out.
SELECT min(GREATEST(next_attempt_at, coalesce(lease_expires_at, 0))) FROM webhook_deliveries WHERE status = 'pending';

-- name: count_pending
SELECT count(*) FROM webhook_deliveries WHERE status = 'pending';

-- name: recent_deliveries
SELECT * FROM webhook_deliveries ORDER BY seq DESC LIMIT :limit;

-- name: recent_deliveries_of
-- A key sees the deliveries to its own endpoint only: where the server-wide WEBHOOK_URL points is the operator's.
SELECT * FROM webhook_deliveries WHERE owner = :owner AND endpoint = :owner ORDER BY seq DESC LIMIT :limit;

-- name: attempts_of
SELECT * FROM webhook_attempts WHERE delivery_id = ANY(:ids) ORDER BY delivery_id, attempt;

-- name: purge_deliveries
-- Their attempts go with them (ON DELETE CASCADE).
DELETE FROM webhook_deliveries WHERE status <> 'pending' AND finished_at < :before;
