-- Counters of fixed time windows (request rates, failed logins) kept in the system database when Redis is
-- unreachable (see the SQLite migration 0006_counters.sql).
CREATE TABLE rate_counters (
    key          text NOT NULL CHECK (length(key) BETWEEN 1 AND 300),
    window_start timestamptz NOT NULL,
    count        bigint NOT NULL CHECK (count >= 0),
    expires_at   timestamptz NOT NULL,
    PRIMARY KEY (key, window_start)
);
CREATE INDEX rate_counters_by_expiry ON rate_counters (expires_at);
