-- The priority job queue (seed 004's generation_jobs, for questions): queued by a user with a priority from their
-- tier, taken by a worker of any server under a lease that it renews while it works; a job whose worker dies is
-- taken again once its lease has run out (at most max_attempts times in all). A job's answer is the history row
-- with the job's id, so however often it is taken, it is answered — recorded — once.
CREATE TABLE jobs (
    id               TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36),
    user_id          TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- the connection's id or name, as given
    connection       TEXT NOT NULL CHECK (length(connection) BETWEEN 1 AND 200),
    question         TEXT NOT NULL CHECK (length(question) >= 1),
    tier             TEXT NOT NULL,
    priority         INTEGER NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    attempts         INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts     INTEGER NOT NULL CHECK (max_attempts >= 1),
    progress         TEXT CHECK (progress IS NULL OR json_valid(progress)),
    lease_owner      TEXT,
    lease_expires_at TEXT,
    history_id       TEXT,
    error_code       TEXT,
    error_message    TEXT,
    -- who asked, from where: what the question's history and audit rows need
    caller           TEXT NOT NULL CHECK (json_valid(caller)),
    created_at       TEXT NOT NULL,
    started_at       TEXT,
    finished_at      TEXT,
    updated_at       TEXT NOT NULL
) STRICT;
-- what a worker takes next: the highest priority, then the first queued (rowid: the order of queueing)
CREATE INDEX jobs_queue ON jobs (status, priority DESC);
CREATE INDEX jobs_by_user ON jobs (user_id, created_at);
