-- Which API created a job and for whom, what it was asked and what came out, remix/extend/edit sources,
-- deletion, idempotency keys, and server-wide settings such as the URL signing secret.
ALTER TABLE jobs ADD COLUMN dialect TEXT NOT NULL DEFAULT 'seed';
ALTER TABLE jobs ADD COLUMN owner TEXT;
ALTER TABLE jobs ADD COLUMN kind TEXT NOT NULL DEFAULT 'generate';
ALTER TABLE jobs ADD COLUMN source_job_id TEXT;
ALTER TABLE jobs ADD COLUMN source_url TEXT;
ALTER TABLE jobs ADD COLUMN source_size INTEGER;
ALTER TABLE jobs ADD COLUMN requested TEXT NOT NULL DEFAULT '{}';
ALTER TABLE jobs ADD COLUMN produced TEXT;
ALTER TABLE jobs ADD COLUMN deleted_at REAL;

CREATE INDEX jobs_owner_seq ON jobs (owner, seq);

CREATE TABLE idempotency_keys (
    scope       TEXT NOT NULL,
    key         TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status_code INTEGER,
    response    TEXT,
    created_at  REAL NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_age ON idempotency_keys (created_at);

CREATE TABLE meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
