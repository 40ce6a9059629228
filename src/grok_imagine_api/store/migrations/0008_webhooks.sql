-- Webhooks (docs/webhooks.md). A job's move INTO a terminal status queues an event in the same transaction as
-- the move itself (a trigger, so no code path can forget it); the delivery loop turns each event into one
-- delivery per endpoint and deletes it. A job sent back to pending (a retry) emits nothing.
CREATE TABLE job_events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id     TEXT    NOT NULL,
    status     TEXT    NOT NULL,
    error_code TEXT,
    media      TEXT    NOT NULL,
    owner      TEXT,
    at         REAL    NOT NULL
);

CREATE TRIGGER jobs_ended AFTER UPDATE OF status ON jobs
WHEN NEW.status IN ('completed', 'failed') AND OLD.status NOT IN ('completed', 'failed') BEGIN
    INSERT INTO job_events (job_id, status, error_code, media, owner, at)
    VALUES (NEW.id, NEW.status, NEW.error_code, NEW.media, NEW.owner, NEW.updated_at);
END;

-- One row per event and endpoint: the body and the event id are fixed when it is made, so every attempt sends
-- the same bytes under the same webhook-id. `endpoint` names the secret to sign with ('server' or an owner).
CREATE TABLE webhook_deliveries (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    id               TEXT    NOT NULL UNIQUE,
    event_id         TEXT    NOT NULL,
    event_type       TEXT    NOT NULL,
    job_id           TEXT    NOT NULL,
    owner            TEXT,
    endpoint         TEXT    NOT NULL,
    url              TEXT    NOT NULL,
    payload          TEXT    NOT NULL,
    status           TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    created_at       REAL    NOT NULL,
    next_attempt_at  REAL,
    lease_token      TEXT,
    lease_expires_at REAL,
    last_status_code INTEGER,
    last_error       TEXT,
    last_latency_ms  INTEGER,
    finished_at      REAL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_owner ON webhook_deliveries (owner, seq);

CREATE TABLE webhook_attempts (
    delivery_id TEXT    NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt     INTEGER NOT NULL,
    at          REAL    NOT NULL,
    status_code INTEGER,
    error       TEXT,
    latency_ms  INTEGER NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
);
