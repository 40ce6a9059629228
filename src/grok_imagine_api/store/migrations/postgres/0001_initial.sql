-- The whole SQLite schema (its migrations 0001 to 0005) in one: jobs, their input images (kept apart so that
-- listings never touch them), per-state counts kept by a trigger, idempotency keys and server-wide values.
-- JSON values are text, written and read exactly as SQLite keeps them, so one row mapping serves both stores.
CREATE TABLE jobs (
    seq              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id               TEXT             NOT NULL UNIQUE,
    model            TEXT             NOT NULL,
    prompt           TEXT             NOT NULL,
    status           TEXT             NOT NULL CHECK (status IN ('pending', 'processing', 'completed', 'failed')),
    options          TEXT             NOT NULL DEFAULT '{}',
    image_mime       TEXT,
    image_size       INTEGER,
    created_at       DOUBLE PRECISION NOT NULL,
    updated_at       DOUBLE PRECISION NOT NULL,
    claimed_at       DOUBLE PRECISION,
    completed_at     DOUBLE PRECISION,
    progress         INTEGER          NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    claim_token      TEXT,
    lease_expires_at DOUBLE PRECISION,
    last_contact_at  DOUBLE PRECISION,
    worker_id        TEXT,
    attempts         INTEGER          NOT NULL DEFAULT 0,
    error            TEXT,
    error_code       TEXT,
    video_size       BIGINT,
    video_expired_at DOUBLE PRECISION,
    dialect          TEXT             NOT NULL DEFAULT 'seed',
    owner            TEXT,
    kind             TEXT             NOT NULL DEFAULT 'generate',
    source_job_id    TEXT,
    source_url       TEXT,
    source_size      BIGINT,
    requested        TEXT             NOT NULL DEFAULT '{}',
    produced         TEXT,
    deleted_at       DOUBLE PRECISION,
    needs            TEXT             NOT NULL DEFAULT '[]',
    adjustments      TEXT             NOT NULL DEFAULT '[]',
    grok_post_id     TEXT,
    output_mismatch  TEXT,
    unmatched_since  DOUBLE PRECISION
);

CREATE INDEX jobs_status_seq ON jobs (status, seq);
CREATE INDEX jobs_live_videos ON jobs (completed_at) WHERE status = 'completed' AND video_expired_at IS NULL;
CREATE INDEX jobs_owner_seq ON jobs (owner, seq);
CREATE INDEX jobs_created_at ON jobs (created_at);
CREATE INDEX jobs_completed_at ON jobs (completed_at, status);
CREATE INDEX jobs_pending_needs ON jobs (needs, seq) WHERE status = 'pending';
CREATE INDEX jobs_cancelled ON jobs (seq) WHERE status = 'failed' AND error_code = 'cancelled';
CREATE INDEX jobs_stale ON jobs (lease_expires_at) WHERE status = 'processing';

CREATE TABLE job_images (
    job_id TEXT PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    mime   TEXT  NOT NULL,
    data   BYTEA NOT NULL
);

-- Health checks stay O(1) with millions of rows. A claim locks the 'pending' and 'processing' rows here until it
-- commits: claims queue behind each other for a fraction of a millisecond, far below any video's minutes.
CREATE TABLE job_counts (
    status TEXT PRIMARY KEY,
    n      BIGINT NOT NULL
);
INSERT INTO job_counts (status, n) VALUES ('pending', 0), ('processing', 0), ('completed', 0), ('failed', 0);

CREATE FUNCTION jobs_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE job_counts SET n = n - 1 WHERE status = OLD.status;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        UPDATE job_counts SET n = n + 1 WHERE status = NEW.status;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER jobs_count_insert AFTER INSERT ON jobs FOR EACH ROW EXECUTE FUNCTION jobs_count();
CREATE TRIGGER jobs_count_update AFTER UPDATE OF status ON jobs
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION jobs_count();
CREATE TRIGGER jobs_count_delete AFTER DELETE ON jobs FOR EACH ROW EXECUTE FUNCTION jobs_count();

CREATE TABLE idempotency_keys (
    scope       TEXT             NOT NULL,
    key         TEXT             NOT NULL,
    fingerprint TEXT             NOT NULL,
    status_code INTEGER,
    response    TEXT,
    created_at  DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_age ON idempotency_keys (created_at);

CREATE TABLE meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
