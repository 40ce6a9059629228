-- Webhooks (docs/webhooks.md), as SQLite's migration 0008: a job's move INTO a terminal status queues an event
-- in the same transaction (a trigger); the delivery loop turns events into deliveries, one per endpoint.
CREATE TABLE job_events (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id     TEXT             NOT NULL,
    status     TEXT             NOT NULL,
    error_code TEXT,
    media      TEXT             NOT NULL,
    owner      TEXT,
    at         DOUBLE PRECISION NOT NULL
);

CREATE FUNCTION jobs_ended() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO job_events (job_id, status, error_code, media, owner, at)
    VALUES (NEW.id, NEW.status, NEW.error_code, NEW.media, NEW.owner, NEW.updated_at);
    RETURN NULL;
END;
$$;

CREATE TRIGGER jobs_ended AFTER UPDATE OF status ON jobs FOR EACH ROW
    WHEN (NEW.status IN ('completed', 'failed') AND OLD.status NOT IN ('completed', 'failed'))
    EXECUTE FUNCTION jobs_ended();

CREATE TABLE webhook_deliveries (
    seq              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id               TEXT             NOT NULL UNIQUE,
    event_id         TEXT             NOT NULL,
    event_type       TEXT             NOT NULL,
    job_id           TEXT             NOT NULL,
    owner            TEXT,
    endpoint         TEXT             NOT NULL,
    url              TEXT             NOT NULL,
    payload          TEXT             NOT NULL,
    status           TEXT             NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         INTEGER          NOT NULL DEFAULT 0,
    created_at       DOUBLE PRECISION NOT NULL,
    next_attempt_at  DOUBLE PRECISION,
    lease_token      TEXT,
    lease_expires_at DOUBLE PRECISION,
    last_status_code INTEGER,
    last_error       TEXT,
    last_latency_ms  INTEGER,
    finished_at      DOUBLE PRECISION
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_owner ON webhook_deliveries (owner, seq);

CREATE TABLE webhook_attempts (
    delivery_id TEXT             NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt     INTEGER          NOT NULL,
    at          DOUBLE PRECISION NOT NULL,
    status_code INTEGER,
    error       TEXT,
    latency_ms  INTEGER          NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
);
