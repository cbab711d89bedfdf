-- Which door a question came in by and, when an API key was presented, which key: a security team reads what an
-- agent did with a key (MCP, scripts) apart from what its owner did in the web UI. channel: 'http' (the HTTP API
-- and the web UI) or 'mcp'; NULL on rows recorded before this migration.
ALTER TABLE query_history ADD COLUMN api_key_id TEXT;
ALTER TABLE query_history ADD COLUMN channel TEXT CHECK (channel IN ('http', 'mcp'));
CREATE INDEX query_history_by_api_key ON query_history (api_key_id, created_at, id) WHERE api_key_id IS NOT NULL;

-- Token usage per API key, hour and model: token_usage's buckets, kept beside them in the same transaction for the
-- questions asked with a key (the usage report grouped by key). No foreign key: the record outlives the key.
CREATE TABLE api_key_usage (
    api_key_id        TEXT NOT NULL,
    hour              TEXT NOT NULL CHECK (hour LIKE '____-__-__T__:00:00.000Z'),
    model             TEXT NOT NULL DEFAULT '',
    questions         INTEGER NOT NULL DEFAULT 0 CHECK (questions >= 0),
    prompt_tokens     INTEGER NOT NULL DEFAULT 0 CHECK (prompt_tokens >= 0),
    completion_tokens INTEGER NOT NULL DEFAULT 0 CHECK (completion_tokens >= 0),
    cost_usd          REAL NOT NULL DEFAULT 0 CHECK (cost_usd >= 0),
    PRIMARY KEY (api_key_id, hour, model)
) STRICT, WITHOUT ROWID;
