-- The multi-user server's tables (issue 10), after seeds 000 and 001, as the Store trait reads and writes them.
--
-- Conventions: ids are UUID v4 text (36 characters); times are UTC RFC 3339 text with milliseconds
-- ('2025-06-24T10:30:00.123Z', which sorts as text); booleans are 0/1; JSON is text checked by json_valid. Tables
-- are STRICT (a value of the wrong type is refused, not converted).
--
-- Deleting a user removes what is theirs (login sessions and refresh tokens, API keys, permissions, chat sessions
-- and their messages). History, token usage, audit rows and events keep the user's id as plain text, with no
-- foreign key that would block the delete or cascade into the record of what happened.

-- Accounts (seed 000 users + seed 001's token_usage, preferences and the quotas of its usage limits).
CREATE TABLE users (
    id                  TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36),
    -- unique without regard to ASCII case: 'Admin' cannot stand beside 'admin'
    username            TEXT NOT NULL COLLATE NOCASE UNIQUE CHECK (length(username) BETWEEN 3 AND 50),
    -- stored lower-cased, unique
    email               TEXT NOT NULL UNIQUE
                        CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 255 AND instr(email, '@') > 1),
    -- an Argon2id PHC string, never a password
    password_hash       TEXT NOT NULL CHECK (length(password_hash) BETWEEN 1 AND 255),
    full_name           TEXT CHECK (length(full_name) <= 100),
    role                TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('admin', 'user', 'viewer')),
    is_active           INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    last_login_at       TEXT,
    preferences         TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(preferences)),
    -- tokens used in all (prompt + completion), kept with every recorded question
    token_usage         INTEGER NOT NULL DEFAULT 0 CHECK (token_usage >= 0),
    -- NULL: no limit
    hourly_token_limit  INTEGER CHECK (hourly_token_limit >= 0),
    daily_token_limit   INTEGER CHECK (daily_token_limit >= 0),
    monthly_token_limit INTEGER CHECK (monthly_token_limit >= 0)
) STRICT;
CREATE INDEX users_by_role ON users (role, is_active);

-- A login of a person on a device: its refresh tokens are one rotation family (seed 000 user_sessions; seed 001's
-- session_start/session_end are created_at/ended_at). The refresh tokens stand for seed 000's session_token.
CREATE TABLE user_sessions (
    id               TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36),
    user_id          TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    ip_address       TEXT,
    user_agent       TEXT,
    created_at       TEXT NOT NULL,
    expires_at       TEXT NOT NULL,
    last_activity_at TEXT NOT NULL,
    -- logout, reuse of a spent token, or all of a user's tokens revoked
    ended_at         TEXT,
    CHECK (expires_at > created_at)
) STRICT;
CREATE INDEX user_sessions_by_user ON user_sessions (user_id);
CREATE INDEX user_sessions_by_expiry ON user_sessions (expires_at);

-- Refresh tokens, as their SHA-256 (seed 001). A token is current while revoked_at is NULL; rotation sets its
-- revoked_at and replaced_by (the successor's id) — seed 001's is_active/is_revoked are these two columns.
CREATE TABLE refresh_tokens (
    id          TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36),
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family_id   TEXT NOT NULL REFERENCES user_sessions (id) ON DELETE CASCADE,
    token_hash  TEXT NOT NULL UNIQUE CHECK (length(token_hash) BETWEEN 16 AND 128),
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    revoked_at  TEXT,
    replaced_by TEXT,
    device_info TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(device_info))
) STRICT;
CREATE INDEX refresh_tokens_by_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_by_user ON refresh_tokens (user_id);
CREATE INDEX refresh_tokens_by_expiry ON refresh_tokens (expires_at);

-- API keys (seed 001): the public prefix to find one, the SHA-256 of the whole key to check it. Seed 001's
-- permissions are the scopes; is_active is revoked_at IS NULL.
CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36),
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key_name    TEXT NOT NULL CHECK (length(key_name) BETWEEN 1 AND 100),
    key_prefix  TEXT NOT NULL UNIQUE CHECK (length(key_prefix) BETWEEN 1 AND 64),
    key_hash    TEXT NOT NULL UNIQUE CHECK (length(key_hash) BETWEEN 16 AND 128),
    scopes      TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(scopes) AND json_type(scopes) = 'array'),
    created_at  TEXT NOT NULL,
    expires_at  TEXT,
    last_used   TEXT,
    usage_count INTEGER NOT NULL DEFAULT 0 CHECK (usage_count >= 0),
    revoked_at  TEXT
) STRICT;
CREATE INDEX api_keys_by_user ON api_keys (user_id, created_at, id);

-- Users' databases (seed 000 database_connections). connection_config is the URL, encrypted (AES-256-GCM, bound to
-- the row's id: see crypto.rs); display_url is the URL without its password. schema_hash/schema_info/
-- last_schema_sync are the last synced schema (seed 001 database_schemas' schema_hash and raw_schema). DataGenie
-- only reads users' databases: is_readonly is always 1.
CREATE TABLE database_connections (
    id                TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36),
    name              TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),
    display_name      TEXT NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
    description       TEXT,
    db_type           TEXT NOT NULL CHECK (db_type IN ('sqlite', 'postgres', 'mysql')),
    connection_config BLOB NOT NULL CHECK (length(connection_config) >= 29),
    display_url       TEXT NOT NULL,
    is_readonly       INTEGER NOT NULL DEFAULT 1 CHECK (is_readonly = 1),
    max_connections   INTEGER NOT NULL DEFAULT 10 CHECK (max_connections BETWEEN 1 AND 1000),
    is_active         INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    schema_hash       TEXT,
    schema_info       TEXT CHECK (json_valid(schema_info)),
    last_schema_sync  TEXT,
    created_by        TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
) STRICT;
CREATE INDEX database_connections_by_creator ON database_connections (created_by);

-- What one user may do on one connection (seed 000 connection_permissions), with the guard's policy: tables as
-- the guard reads them, row filters, attributes for {user.NAME}, and the unmasking right. A NULL limit is the
-- server's default (seed 000: 10000 rows, 30 seconds).
CREATE TABLE connection_permissions (
    id                         TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36),
    user_id                    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    connection_id              TEXT NOT NULL REFERENCES database_connections (id) ON DELETE CASCADE,
    can_query                  INTEGER NOT NULL DEFAULT 1 CHECK (can_query IN (0, 1)),
    allowed_schemas            TEXT CHECK (json_valid(allowed_schemas) AND json_type(allowed_schemas) = 'array'),
    allowed_tables             TEXT CHECK (json_valid(allowed_tables) AND json_type(allowed_tables) = 'array'),
    row_filters                TEXT NOT NULL DEFAULT '[]'
                               CHECK (json_valid(row_filters) AND json_type(row_filters) = 'array'),
    attributes                 TEXT NOT NULL DEFAULT '{}'
                               CHECK (json_valid(attributes) AND json_type(attributes) = 'object'),
    max_rows_per_query         INTEGER CHECK (max_rows_per_query > 0),
    max_execution_time_seconds INTEGER CHECK (max_execution_time_seconds > 0),
    can_unmask                 INTEGER NOT NULL DEFAULT 0 CHECK (can_unmask IN (0, 1)),
    created_at                 TEXT NOT NULL,
    updated_at                 TEXT NOT NULL,
    UNIQUE (user_id, connection_id)
) STRICT;
CREATE INDEX connection_permissions_by_connection ON connection_permissions (connection_id);

-- Conversations (seed 001 chat_sessions), on one connection. Deleting one deletes it (no is_active flag).
CREATE TABLE chat_sessions (
    id              TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36),
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    connection_id   TEXT REFERENCES database_connections (id) ON DELETE SET NULL,
    title           TEXT CHECK (length(title) <= 255),
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    last_message_at TEXT,
    message_count   INTEGER NOT NULL DEFAULT 0 CHECK (message_count >= 0)
) STRICT;
CREATE INDEX chat_sessions_by_user ON chat_sessions (user_id, created_at, id);
CREATE INDEX chat_sessions_by_connection ON chat_sessions (connection_id);

-- Messages in order (seed 001 chat_messages; its timestamp is created_at). query_id is the history row, without a
-- foreign key; query_result is the result's sketch and error_message the error as JSON ({"code", "message"}).
CREATE TABLE chat_messages (
    id              TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36),
    session_id      TEXT NOT NULL REFERENCES chat_sessions (id) ON DELETE CASCADE,
    sequence_number INTEGER NOT NULL CHECK (sequence_number >= 1),
    message_type    TEXT NOT NULL CHECK (message_type IN ('user', 'assistant')),
    content         TEXT NOT NULL,
    query_id        TEXT,
    sql_query       TEXT,
    query_result    TEXT CHECK (json_valid(query_result)),
    error_message   TEXT CHECK (json_valid(error_message)),
    created_at      TEXT NOT NULL,
    UNIQUE (session_id, sequence_number)
) STRICT;

-- Every question, whatever its outcome (seed 000 query_history + seed 001 query_analytics' tokens, model and
-- cost). 'refused': the guard or a permission declined it. No foreign keys: the record outlives the user, the
-- connection and the chat session.
CREATE TABLE query_history (
    id                TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36),
    user_id           TEXT NOT NULL,
    connection_id     TEXT,
    session_id        TEXT,
    question          TEXT NOT NULL,
    generated_sql     TEXT,
    query_type        TEXT NOT NULL CHECK (query_type IN ('database', 'excel', 'general')),
    status            TEXT NOT NULL CHECK (status IN ('success', 'error', 'timeout', 'refused')),
    error_code        TEXT,
    error_message     TEXT,
    row_count         INTEGER CHECK (row_count >= 0),
    execution_time_ms INTEGER CHECK (execution_time_ms >= 0),
    total_time_ms     INTEGER NOT NULL CHECK (total_time_ms >= 0),
    prompt_tokens     INTEGER NOT NULL DEFAULT 0 CHECK (prompt_tokens >= 0),
    completion_tokens INTEGER NOT NULL DEFAULT 0 CHECK (completion_tokens >= 0),
    llm_model         TEXT,
    cost_usd          REAL NOT NULL DEFAULT 0 CHECK (cost_usd >= 0),
    source            TEXT CHECK (json_valid(source)),
    result_hash       TEXT,
    created_at        TEXT NOT NULL
) STRICT;
-- the history list, newest first, by each of its filters
CREATE INDEX query_history_by_time ON query_history (created_at, id);
CREATE INDEX query_history_by_user ON query_history (user_id, created_at, id);
CREATE INDEX query_history_by_connection ON query_history (connection_id, created_at, id);
CREATE INDEX query_history_by_status ON query_history (status, created_at, id);

-- The chart and analysis of an answered question (seed 000 analysis_results; its result_files are query_results).
CREATE TABLE analysis_results (
    id               TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36),
    query_history_id TEXT NOT NULL UNIQUE REFERENCES query_history (id) ON DELETE CASCADE,
    chart_type       TEXT CHECK (length(chart_type) <= 50),
    chart_config     TEXT CHECK (json_valid(chart_config)),
    summary_text     TEXT,
    insights         TEXT CHECK (json_valid(insights)),
    created_at       TEXT NOT NULL
) STRICT;

-- The rows an answer showed, masked as the user saw them (for rows.csv).
CREATE TABLE query_results (
    query_history_id TEXT PRIMARY KEY NOT NULL REFERENCES query_history (id) ON DELETE CASCADE,
    result_columns   TEXT NOT NULL CHECK (json_valid(result_columns) AND json_type(result_columns) = 'array'),
    result_rows      TEXT NOT NULL CHECK (json_valid(result_rows)),
    truncated        INTEGER NOT NULL CHECK (truncated IN (0, 1)),
    created_at       TEXT NOT NULL
) STRICT;

-- Token usage per user, hour and model (seed 001's token accounting): one row per bucket, so the usage of a
-- window reads at most one row per hour and model, however many questions were asked. hour is the bucket's start
-- ('2025-06-24T10:00:00.000Z'); model '' is no LLM (a template or the built-in engine answered).
CREATE TABLE token_usage (
    user_id           TEXT NOT NULL,
    hour              TEXT NOT NULL CHECK (hour LIKE '____-__-__T__:00:00.000Z'),
    model             TEXT NOT NULL DEFAULT '',
    questions         INTEGER NOT NULL DEFAULT 0 CHECK (questions >= 0),
    prompt_tokens     INTEGER NOT NULL DEFAULT 0 CHECK (prompt_tokens >= 0),
    completion_tokens INTEGER NOT NULL DEFAULT 0 CHECK (completion_tokens >= 0),
    cost_usd          REAL NOT NULL DEFAULT 0 CHECK (cost_usd >= 0),
    PRIMARY KEY (user_id, hour, model)
) STRICT, WITHOUT ROWID;
CREATE INDEX token_usage_by_hour ON token_usage (hour);

-- Settings (seed 000 system_settings; seed 001 system_config), seeded with seed 000's defaults, seed 001's token
-- limits and the server's rate limits. Only these keys exist: set_setting of another is not_found.
CREATE TABLE system_settings (
    key          TEXT PRIMARY KEY NOT NULL
                 CHECK (length(key) BETWEEN 1 AND 100 AND substr(key, 1, 1) BETWEEN 'a' AND 'z'
                        AND key NOT GLOB '*[^a-z0-9_]*'),
    value        TEXT NOT NULL CHECK (json_valid(value)),
    description  TEXT,
    category     TEXT NOT NULL DEFAULT 'general' CHECK (length(category) BETWEEN 1 AND 50),
    is_sensitive INTEGER NOT NULL DEFAULT 0 CHECK (is_sensitive IN (0, 1)),
    updated_by   TEXT REFERENCES users (id) ON DELETE SET NULL,
    updated_at   TEXT NOT NULL
) STRICT;
CREATE INDEX system_settings_by_category ON system_settings (category);
CREATE INDEX system_settings_by_updater ON system_settings (updated_by);

INSERT INTO system_settings (key, value, description, category, is_sensitive, updated_at) VALUES
    ('openai_model', '"gpt-4"', 'The OpenAI model', 'llm', 0, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    ('openai_temperature', '0.0', 'The OpenAI sampling temperature', 'llm', 0,
        strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    ('max_file_size_mb', '50', 'The largest file accepted (MB)', 'file', 0, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    ('max_query_rows', '10000', 'The most rows a query returns', 'query', 0, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    ('session_timeout_hours', '24', 'How long a login lasts (hours)', 'auth', 0,
        strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    ('cache_ttl_seconds', '3600', 'How long a cached result is kept (seconds)', 'cache', 0,
        strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    ('default_hourly_token_limit', '1000', 'Tokens a user may use per hour, unless their own limit says otherwise',
        'quota', 0, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    ('default_daily_token_limit', '10000', 'Tokens a user may use per day, unless their own limit says otherwise',
        'quota', 0, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    ('default_monthly_token_limit', '100000',
        'Tokens a user may use per month, unless their own limit says otherwise', 'quota', 0,
        strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    ('questions_per_minute_per_user', '60', 'Questions one user may ask per minute', 'rate_limit', 0,
        strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    ('requests_per_minute_per_address', '600', 'HTTP requests one client address may make per minute',
        'rate_limit', 0, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));

-- The audit log (seed 000 audit_logs + seed 001's old_values/new_values; result success/failure with its reason),
-- a hash chain: seq 1, 2, 3, … without gaps; hash = SHA-256 over prev_hash and every stored field (audit.rs).
-- Append-only: the triggers refuse UPDATE and DELETE, and the chain shows an edit made around them.
CREATE TABLE audit_logs (
    seq           INTEGER PRIMARY KEY NOT NULL CHECK (seq >= 1),
    id            TEXT NOT NULL UNIQUE CHECK (length(id) = 36),
    user_id       TEXT,
    action        TEXT NOT NULL CHECK (length(action) BETWEEN 1 AND 100),
    resource_type TEXT NOT NULL CHECK (length(resource_type) BETWEEN 1 AND 50),
    resource_id   TEXT,
    old_values    TEXT CHECK (json_valid(old_values)),
    new_values    TEXT CHECK (json_valid(new_values)),
    ip_address    TEXT,
    user_agent    TEXT,
    request_id    TEXT,
    result        TEXT NOT NULL CHECK (result IN ('success', 'failure')),
    reason        TEXT,
    created_at    TEXT NOT NULL,
    prev_hash     TEXT NOT NULL CHECK (length(prev_hash) = 64),
    hash          TEXT NOT NULL CHECK (length(hash) = 64)
) STRICT;
CREATE INDEX audit_logs_by_user ON audit_logs (user_id, seq);
CREATE INDEX audit_logs_by_action ON audit_logs (action, seq);
CREATE INDEX audit_logs_by_resource ON audit_logs (resource_type, resource_id, seq);
CREATE INDEX audit_logs_by_time ON audit_logs (created_at);
CREATE TRIGGER audit_logs_no_update BEFORE UPDATE ON audit_logs
    BEGIN SELECT RAISE(ABORT, 'audit_logs is append-only'); END;
CREATE TRIGGER audit_logs_no_delete BEFORE DELETE ON audit_logs
    BEGIN SELECT RAISE(ABORT, 'audit_logs is append-only'); END;

-- The chain's head: the last row's seq and hash (0 and 64 zeros while empty), so deleting the last rows shows.
CREATE TABLE audit_chain_head (
    id   INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    seq  INTEGER NOT NULL CHECK (seq >= 0),
    hash TEXT NOT NULL CHECK (length(hash) = 64)
) STRICT;
INSERT INTO audit_chain_head (id, seq, hash)
    VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- System events (seed 001 events; its timestamp is created_at). No foreign key: events outlive users.
CREATE TABLE events (
    id         TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36),
    event_type TEXT NOT NULL CHECK (length(event_type) BETWEEN 1 AND 50),
    user_id    TEXT,
    event_data TEXT CHECK (json_valid(event_data)),
    ip_address TEXT,
    user_agent TEXT,
    session_id TEXT,
    created_at TEXT NOT NULL
) STRICT;
CREATE INDEX events_by_type ON events (event_type, created_at);
CREATE INDEX events_by_user ON events (user_id, created_at);
CREATE INDEX events_by_time ON events (created_at);
