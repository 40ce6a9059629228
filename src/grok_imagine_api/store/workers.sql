-- The shared worker view (migrations/postgres/0100_workers.sql); store/workers.py runs these.

-- name: save_workers
INSERT INTO workers (worker_id, instance, first_seen, last_seen, synced_at, polling, version, current_job_id,
                     current_job_owner, job_at, jobs_claimed, jobs_completed, jobs_failed, abilities, declared_at,
                     errors, modes, cooldown_until, cooldown_reason, rate_limit_streak)
SELECT w.worker_id, $1, w.first_seen, w.last_seen, $2, w.polling, w.version, w.current_job_id, w.current_job_owner,
       w.job_at, w.jobs_claimed, w.jobs_completed, w.jobs_failed, w.abilities, w.declared_at, w.errors, w.modes,
       w.cooldown_until, w.cooldown_reason, w.rate_limit_streak
FROM unnest($3::text[], $4::float8[], $5::float8[], $6::int[], $7::text[], $8::text[], $9::text[], $10::float8[],
            $11::bigint[], $12::bigint[], $13::bigint[], $14::text[], $15::float8[], $16::text[], $17::text[],
            $18::float8[], $19::text[], $20::int[])
     AS w(worker_id, first_seen, last_seen, polling, version, current_job_id, current_job_owner, job_at,
          jobs_claimed, jobs_completed, jobs_failed, abilities, declared_at, errors, modes, cooldown_until,
          cooldown_reason, rate_limit_streak)
ON CONFLICT (worker_id, instance) DO UPDATE
SET first_seen = EXCLUDED.first_seen, last_seen = EXCLUDED.last_seen, synced_at = EXCLUDED.synced_at,
    polling = EXCLUDED.polling, version = EXCLUDED.version, current_job_id = EXCLUDED.current_job_id,
    current_job_owner = EXCLUDED.current_job_owner, job_at = EXCLUDED.job_at,
    jobs_claimed = EXCLUDED.jobs_claimed, jobs_completed = EXCLUDED.jobs_completed,
    jobs_failed = EXCLUDED.jobs_failed, abilities = EXCLUDED.abilities, declared_at = EXCLUDED.declared_at,
    errors = EXCLUDED.errors, modes = EXCLUDED.modes, cooldown_until = EXCLUDED.cooldown_until,
    cooldown_reason = EXCLUDED.cooldown_reason, rate_limit_streak = EXCLUDED.rate_limit_streak;

-- name: forget_own_workers
-- Workers this replica has forgotten (WORKER_SEEN_SECONDS after their last contact here).
DELETE FROM workers WHERE instance = $1 AND NOT (worker_id = ANY($2::text[]));

-- name: forget_gone_replicas
-- Rows of a replica that stopped writing, once no view would list their workers any more.
DELETE FROM workers WHERE synced_at < $1 AND last_seen < $2;

-- name: other_workers
SELECT * FROM workers WHERE instance <> $1;

-- name: save_changes
INSERT INTO replicas (instance, changes, synced_at) VALUES ($1, $2, $3)
ON CONFLICT (instance) DO UPDATE SET changes = EXCLUDED.changes, synced_at = EXCLUDED.synced_at;

-- name: forget_gone_changes
DELETE FROM replicas WHERE synced_at < $1;

-- name: changes_elsewhere
SELECT coalesce(sum(changes), 0)::bigint FROM replicas WHERE instance <> $1;
