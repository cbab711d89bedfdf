-- The priority job queue (seed 004); see the SQLite migration 0008_jobs.sql. Workers of every server take jobs with
-- `FOR UPDATE SKIP LOCKED`: two workers never take the same job, and neither waits for the other.
CREATE TABLE jobs (
    id               text PRIMARY KEY CHECK (length(id) = 36),
    user_id          text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    connection       text NOT NULL CHECK (length(connection) BETWEEN 1 AND 200),
    question         text NOT NULL CHECK (length(question) >= 1),
    tier             text NOT NULL,
    priority         integer NOT NULL,
    status           text NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts     integer NOT NULL CHECK (max_attempts >= 1),
    progress         json,
    lease_owner      text,
    lease_expires_at timestamptz,
    history_id       text,
    error_code       text,
    error_message    text,
    caller           json NOT NULL,
    created_at       timestamptz NOT NULL,
    started_at       timestamptz,
    finished_at      timestamptz,
    updated_at       timestamptz NOT NULL,
    -- the order jobs were queued in (ties of created_at included)
    seq              bigint GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX jobs_queue ON jobs (priority DESC, seq) WHERE status IN ('queued', 'running');
CREATE INDEX jobs_by_user ON jobs (user_id, created_at);
