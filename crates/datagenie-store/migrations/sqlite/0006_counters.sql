-- Counters of fixed time windows (request rates, failed logins) kept in the system database when Redis — where
-- several servers normally share them — is unreachable: key (e.g. 'rate:ip:10.0.0.1'), the window's start, the count,
-- and when the row may be removed. One row per key and window; a bump is one atomic upsert.
CREATE TABLE rate_counters (
    key          TEXT NOT NULL CHECK (length(key) BETWEEN 1 AND 300),
    window_start TEXT NOT NULL,
    count        INTEGER NOT NULL CHECK (count >= 0),
    expires_at   TEXT NOT NULL,
    PRIMARY KEY (key, window_start)
) STRICT, WITHOUT ROWID;
CREATE INDEX rate_counters_by_expiry ON rate_counters (expires_at);
