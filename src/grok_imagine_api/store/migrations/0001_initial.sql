-- Jobs, their input images (kept apart so that listings never touch them), and per-state counts
-- maintained by triggers so that health checks stay O(1) with millions of rows.
CREATE TABLE jobs (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    id               TEXT    NOT NULL UNIQUE,
    model            TEXT    NOT NULL,
    prompt           TEXT    NOT NULL,
    status           TEXT    NOT NULL CHECK (status IN ('pending', 'processing', 'completed', 'failed')),
    options          TEXT    NOT NULL DEFAULT '{}',
    image_mime       TEXT,
    image_size       INTEGER,
    created_at       REAL    NOT NULL,
    updated_at       REAL    NOT NULL,
    claimed_at       REAL,
    completed_at     REAL,
    progress         INTEGER NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    claim_token      TEXT,
    lease_expires_at REAL,
    last_contact_at  REAL,
    worker_id        TEXT,
    attempts         INTEGER NOT NULL DEFAULT 0,
    error            TEXT,
    error_code       TEXT,
    video_size       INTEGER,
    video_expired_at REAL
);

CREATE INDEX jobs_status_seq ON jobs (status, seq);
CREATE INDEX jobs_live_videos ON jobs (completed_at) WHERE status = 'completed' AND video_expired_at IS NULL;

CREATE TABLE job_images (
    job_id TEXT PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    mime   TEXT NOT NULL,
    data   BLOB NOT NULL
);

CREATE TABLE job_counts (
    status TEXT PRIMARY KEY,
    n      INTEGER NOT NULL
);
INSERT INTO job_counts (status, n) VALUES ('pending', 0), ('processing', 0), ('completed', 0), ('failed', 0);

CREATE TRIGGER jobs_count_insert AFTER INSERT ON jobs BEGIN
    UPDATE job_counts SET n = n + 1 WHERE status = NEW.status;
END;

CREATE TRIGGER jobs_count_update AFTER UPDATE OF status ON jobs WHEN OLD.status <> NEW.status BEGIN
    UPDATE job_counts SET n = n - 1 WHERE status = OLD.status;
    UPDATE job_counts SET n = n + 1 WHERE status = NEW.status;
END;

CREATE TRIGGER jobs_count_delete AFTER DELETE ON jobs BEGIN
    UPDATE job_counts SET n = n - 1 WHERE status = OLD.status;
END;
