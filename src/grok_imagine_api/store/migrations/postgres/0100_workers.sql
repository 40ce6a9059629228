-- What replicas share besides the jobs. The workers each replica has seen (worker/registry.py keeps them in memory): every replica writes its own rows
-- about once a second and reads the others', so /workers, /stats, /health and the matching of options to
-- workers show one view whichever replica answers.
CREATE TABLE workers (
    worker_id         TEXT             NOT NULL,
    instance          TEXT             NOT NULL,
    first_seen        DOUBLE PRECISION NOT NULL,
    last_seen         DOUBLE PRECISION NOT NULL,
    synced_at         DOUBLE PRECISION NOT NULL,
    polling           INTEGER          NOT NULL DEFAULT 0,
    version           TEXT,
    current_job_id    TEXT,
    current_job_owner TEXT,
    job_at            DOUBLE PRECISION NOT NULL DEFAULT 0,
    jobs_claimed      BIGINT           NOT NULL DEFAULT 0,
    jobs_completed    BIGINT           NOT NULL DEFAULT 0,
    jobs_failed       BIGINT           NOT NULL DEFAULT 0,
    abilities         TEXT,
    declared_at       DOUBLE PRECISION NOT NULL DEFAULT 0,
    errors            TEXT             NOT NULL DEFAULT '[]',
    PRIMARY KEY (worker_id, instance)
);
CREATE INDEX workers_instance ON workers (instance);

-- How many changes to jobs each replica has made: a dashboard refreshes when the sum moves, whichever replica
-- answers it.
CREATE TABLE replicas (
    instance  TEXT PRIMARY KEY,
    changes   BIGINT           NOT NULL,
    synced_at DOUBLE PRECISION NOT NULL
);
