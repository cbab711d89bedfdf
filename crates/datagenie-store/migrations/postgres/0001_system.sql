-- DataGenie's system database on PostgreSQL: the same tables as the SQLite migrations 0001–0005 (read those files
-- for what each table and column means), in PostgreSQL's own types. The Store behaves the same on both engines
-- (tests/conformance runs one suite on each).
--
-- Types: ids are UUID v4 text (36 characters, as on SQLite, so that ids and cursors move between engines
-- unchanged); times are timestamptz at millisecond precision; booleans are boolean; JSON is `json` (validated, and
-- kept as the exact text written, so a value reads back as it was stored, key order included — DataGenie never
-- queries inside it), except the audit log's values: text holding the canonical JSON the hash chain covers; the
-- sealed connection URL is bytea.
--
-- Everything is created in the schema first on the session's search_path (`public` by default; a URL's
-- `options=-csearch_path=NAME` puts an installation in a schema of its own).

CREATE TABLE query_templates (
    id                text PRIMARY KEY CHECK (length(id) = 36),
    user_id           text,
    connection        text NOT NULL CHECK (length(connection) > 0),
    dialect           text NOT NULL CHECK (dialect IN ('sqlite', 'postgres', 'mysql')),
    name              text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description       text,
    question_template text NOT NULL,
    sql_template      text NOT NULL,
    category          text CHECK (category IS NULL OR length(category) <= 50),
    is_public         boolean NOT NULL DEFAULT false,
    is_verified       boolean NOT NULL DEFAULT false,
    usage_count       bigint NOT NULL DEFAULT 0 CHECK (usage_count >= 0),
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz,
    -- the order templates were added in (SQLite's rowid): the last tie-break when several match
    position          bigint GENERATED ALWAYS AS IDENTITY,
    UNIQUE (connection, name)
);
CREATE INDEX query_templates_by_connection ON query_templates (connection, dialect, is_verified);

CREATE TABLE users (
    id                  text PRIMARY KEY CHECK (length(id) = 36),
    username            text NOT NULL CHECK (length(username) BETWEEN 3 AND 50),
    email               text NOT NULL UNIQUE
                        CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 255 AND strpos(email, '@') > 1),
    password_hash       text NOT NULL CHECK (length(password_hash) BETWEEN 1 AND 255),
    full_name           text CHECK (length(full_name) <= 100),
    role                text NOT NULL DEFAULT 'user' CHECK (role IN ('admin', 'user', 'viewer')),
    is_active           boolean NOT NULL DEFAULT true,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    last_login_at       timestamptz,
    preferences         json NOT NULL DEFAULT '{}',
    token_usage         bigint NOT NULL DEFAULT 0 CHECK (token_usage >= 0),
    hourly_token_limit  bigint CHECK (hourly_token_limit >= 0),
    daily_token_limit   bigint CHECK (daily_token_limit >= 0),
    monthly_token_limit bigint CHECK (monthly_token_limit >= 0)
);
-- unique without regard to ASCII case, as SQLite's NOCASE: 'Admin' cannot stand beside 'admin'; also the index of
-- the users list's order
CREATE UNIQUE INDEX users_username_key ON users (lower(username COLLATE "C"));
CREATE INDEX users_by_role ON users (role, is_active);

CREATE TABLE user_sessions (
    id               text PRIMARY KEY CHECK (length(id) = 36),
    user_id          text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    ip_address       text,
    user_agent       text,
    created_at       timestamptz NOT NULL,
    expires_at       timestamptz NOT NULL,
    last_activity_at timestamptz NOT NULL,
    ended_at         timestamptz,
    CHECK (expires_at > created_at)
);
CREATE INDEX user_sessions_by_user ON user_sessions (user_id);
CREATE INDEX user_sessions_by_expiry ON user_sessions (expires_at);

CREATE TABLE refresh_tokens (
    id          text PRIMARY KEY CHECK (length(id) = 36),
    user_id     text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family_id   text NOT NULL REFERENCES user_sessions (id) ON DELETE CASCADE,
    token_hash  text NOT NULL UNIQUE CHECK (length(token_hash) BETWEEN 16 AND 128),
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz,
    replaced_by text,
    device_info json NOT NULL DEFAULT '{}'
);
CREATE INDEX refresh_tokens_by_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_by_user ON refresh_tokens (user_id);
CREATE INDEX refresh_tokens_by_expiry ON refresh_tokens (expires_at);

CREATE TABLE api_keys (
    id          text PRIMARY KEY CHECK (length(id) = 36),
    user_id     text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key_name    text NOT NULL CHECK (length(key_name) BETWEEN 1 AND 100),
    key_prefix  text NOT NULL UNIQUE CHECK (length(key_prefix) BETWEEN 1 AND 64),
    key_hash    text NOT NULL UNIQUE CHECK (length(key_hash) BETWEEN 16 AND 128),
    scopes      json NOT NULL DEFAULT '[]' CHECK (json_typeof(scopes) = 'array'),
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz,
    last_used   timestamptz,
    usage_count bigint NOT NULL DEFAULT 0 CHECK (usage_count >= 0),
    revoked_at  timestamptz
);
CREATE INDEX api_keys_by_user ON api_keys (user_id, created_at, id);

CREATE TABLE database_connections (
    id                text PRIMARY KEY CHECK (length(id) = 36),
    name              text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),
    display_name      text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
    description       text,
    db_type           text NOT NULL CHECK (db_type IN ('sqlite', 'postgres', 'mysql')),
    connection_config bytea NOT NULL CHECK (length(connection_config) >= 29),
    display_url       text NOT NULL,
    is_readonly       boolean NOT NULL DEFAULT true CHECK (is_readonly),
    max_connections   bigint NOT NULL DEFAULT 10 CHECK (max_connections BETWEEN 1 AND 1000),
    is_active         boolean NOT NULL DEFAULT true,
    schema_hash       text,
    schema_info       json,
    last_schema_sync  timestamptz,
    created_by        text REFERENCES users (id) ON DELETE SET NULL,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    file_info         json
);
CREATE INDEX database_connections_by_creator ON database_connections (created_by);

CREATE TABLE connection_permissions (
    id                         text PRIMARY KEY CHECK (length(id) = 36),
    user_id                    text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    connection_id              text NOT NULL REFERENCES database_connections (id) ON DELETE CASCADE,
    can_query                  boolean NOT NULL DEFAULT true,
    allowed_schemas            json CHECK (json_typeof(allowed_schemas) = 'array'),
    allowed_tables             json CHECK (json_typeof(allowed_tables) = 'array'),
    row_filters                json NOT NULL DEFAULT '[]' CHECK (json_typeof(row_filters) = 'array'),
    attributes                 json NOT NULL DEFAULT '{}' CHECK (json_typeof(attributes) = 'object'),
    max_rows_per_query         bigint CHECK (max_rows_per_query > 0),
    max_execution_time_seconds bigint CHECK (max_execution_time_seconds > 0),
    can_unmask                 boolean NOT NULL DEFAULT false,
    created_at                 timestamptz NOT NULL,
    updated_at                 timestamptz NOT NULL,
    UNIQUE (user_id, connection_id)
);
CREATE INDEX connection_permissions_by_connection ON connection_permissions (connection_id);

CREATE TABLE chat_sessions (
    id              text PRIMARY KEY CHECK (length(id) = 36),
    user_id         text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    connection_id   text REFERENCES database_connections (id) ON DELETE SET NULL,
    title           text CHECK (length(title) <= 255),
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    last_message_at timestamptz,
    message_count   bigint NOT NULL DEFAULT 0 CHECK (message_count >= 0)
);
CREATE INDEX chat_sessions_by_user ON chat_sessions (user_id, created_at, id);
CREATE INDEX chat_sessions_by_connection ON chat_sessions (connection_id);

CREATE TABLE chat_messages (
    id              text PRIMARY KEY CHECK (length(id) = 36),
    session_id      text NOT NULL REFERENCES chat_sessions (id) ON DELETE CASCADE,
    sequence_number bigint NOT NULL CHECK (sequence_number >= 1),
    message_type    text NOT NULL CHECK (message_type IN ('user', 'assistant')),
    content         text NOT NULL,
    query_id        text,
    sql_query       text,
    query_result    json,
    error_message   json,
    created_at      timestamptz NOT NULL,
    UNIQUE (session_id, sequence_number)
);

CREATE TABLE query_history (
    id                text PRIMARY KEY CHECK (length(id) = 36),
    user_id           text NOT NULL,
    connection_id     text,
    session_id        text,
    question          text NOT NULL,
    generated_sql     text,
    query_type        text NOT NULL CHECK (query_type IN ('database', 'excel', 'general')),
    status            text NOT NULL CHECK (status IN ('success', 'error', 'timeout', 'refused')),
    error_code        text,
    error_message     text,
    row_count         bigint CHECK (row_count >= 0),
    execution_time_ms bigint CHECK (execution_time_ms >= 0),
    total_time_ms     bigint NOT NULL CHECK (total_time_ms >= 0),
    prompt_tokens     bigint NOT NULL DEFAULT 0 CHECK (prompt_tokens >= 0),
    completion_tokens bigint NOT NULL DEFAULT 0 CHECK (completion_tokens >= 0),
    llm_model         text,
    cost_usd          double precision NOT NULL DEFAULT 0 CHECK (cost_usd >= 0),
    source            json,
    result_hash       text,
    created_at        timestamptz NOT NULL,
    api_key_id        text,
    channel           text CHECK (channel IN ('http', 'mcp')),
    file_info         json,
    verified_by       text,
    verified_at       timestamptz,
    CHECK ((verified_at IS NULL) = (verified_by IS NULL)
           AND (verified_at IS NULL OR (status = 'success' AND generated_sql IS NOT NULL)))
);
CREATE INDEX query_history_by_time ON query_history (created_at, id);
CREATE INDEX query_history_by_user ON query_history (user_id, created_at, id);
CREATE INDEX query_history_by_connection ON query_history (connection_id, created_at, id);
CREATE INDEX query_history_by_status ON query_history (status, created_at, id);
CREATE INDEX query_history_by_api_key ON query_history (api_key_id, created_at, id) WHERE api_key_id IS NOT NULL;
CREATE INDEX query_history_by_verification ON query_history (connection_id, verified_at, id)
    WHERE verified_at IS NOT NULL;

CREATE TABLE analysis_results (
    id               text PRIMARY KEY CHECK (length(id) = 36),
    query_history_id text NOT NULL UNIQUE REFERENCES query_history (id) ON DELETE CASCADE,
    chart_type       text CHECK (length(chart_type) <= 50),
    chart_config     json,
    summary_text     text,
    insights         json,
    created_at       timestamptz NOT NULL
);

CREATE TABLE query_results (
    query_history_id text PRIMARY KEY REFERENCES query_history (id) ON DELETE CASCADE,
    result_columns   json NOT NULL CHECK (json_typeof(result_columns) = 'array'),
    result_rows      json NOT NULL,
    truncated        boolean NOT NULL,
    created_at       timestamptz NOT NULL
);

CREATE TABLE token_usage (
    user_id           text NOT NULL,
    hour              timestamptz NOT NULL CHECK (date_trunc('hour', hour, 'UTC') = hour),
    model             text NOT NULL DEFAULT '',
    questions         bigint NOT NULL DEFAULT 0 CHECK (questions >= 0),
    prompt_tokens     bigint NOT NULL DEFAULT 0 CHECK (prompt_tokens >= 0),
    completion_tokens bigint NOT NULL DEFAULT 0 CHECK (completion_tokens >= 0),
    cost_usd          double precision NOT NULL DEFAULT 0 CHECK (cost_usd >= 0),
    PRIMARY KEY (user_id, hour, model)
);
CREATE INDEX token_usage_by_hour ON token_usage (hour);

CREATE TABLE api_key_usage (
    api_key_id        text NOT NULL,
    hour              timestamptz NOT NULL CHECK (date_trunc('hour', hour, 'UTC') = hour),
    model             text NOT NULL DEFAULT '',
    questions         bigint NOT NULL DEFAULT 0 CHECK (questions >= 0),
    prompt_tokens     bigint NOT NULL DEFAULT 0 CHECK (prompt_tokens >= 0),
    completion_tokens bigint NOT NULL DEFAULT 0 CHECK (completion_tokens >= 0),
    cost_usd          double precision NOT NULL DEFAULT 0 CHECK (cost_usd >= 0),
    PRIMARY KEY (api_key_id, hour, model)
);

CREATE TABLE system_settings (
    key          text PRIMARY KEY CHECK (key ~ '^[a-z][a-z0-9_]{0,99}$'),
    value        json NOT NULL,
    description  text,
    category     text NOT NULL DEFAULT 'general' CHECK (length(category) BETWEEN 1 AND 50),
    is_sensitive boolean NOT NULL DEFAULT false,
    updated_by   text REFERENCES users (id) ON DELETE SET NULL,
    updated_at   timestamptz NOT NULL
);
CREATE INDEX system_settings_by_category ON system_settings (category);
CREATE INDEX system_settings_by_updater ON system_settings (updated_by);

INSERT INTO system_settings (key, value, description, category, is_sensitive, updated_at) VALUES
    ('openai_model', '"gpt-4"', 'The OpenAI model', 'llm', false, date_trunc('milliseconds', now())),
    ('openai_temperature', '0.0', 'The OpenAI sampling temperature', 'llm', false, date_trunc('milliseconds', now())),
    ('max_file_size_mb', '50', 'The largest file accepted (MB)', 'file', false, date_trunc('milliseconds', now())),
    ('max_query_rows', '10000', 'The most rows a query returns', 'query', false, date_trunc('milliseconds', now())),
    ('session_timeout_hours', '24', 'How long a login lasts (hours)', 'auth', false,
        date_trunc('milliseconds', now())),
    ('cache_ttl_seconds', '3600', 'How long a cached result is kept (seconds)', 'cache', false,
        date_trunc('milliseconds', now())),
    ('default_hourly_token_limit', '1000', 'Tokens a user may use per hour, unless their own limit says otherwise',
        'quota', false, date_trunc('milliseconds', now())),
    ('default_daily_token_limit', '10000', 'Tokens a user may use per day, unless their own limit says otherwise',
        'quota', false, date_trunc('milliseconds', now())),
    ('default_monthly_token_limit', '100000',
        'Tokens a user may use per month, unless their own limit says otherwise', 'quota', false,
        date_trunc('milliseconds', now())),
    ('questions_per_minute_per_user', '60', 'Questions one user may ask per minute', 'rate_limit', false,
        date_trunc('milliseconds', now())),
    ('requests_per_minute_per_address', '600', 'HTTP requests one client address may make per minute',
        'rate_limit', false, date_trunc('milliseconds', now()));

-- The audit log: a hash chain (audit.rs); old_values/new_values are the canonical JSON text the hash covers.
CREATE TABLE audit_logs (
    seq           bigint PRIMARY KEY CHECK (seq >= 1),
    id            text NOT NULL UNIQUE CHECK (length(id) = 36),
    user_id       text,
    action        text NOT NULL CHECK (length(action) BETWEEN 1 AND 100),
    resource_type text NOT NULL CHECK (length(resource_type) BETWEEN 1 AND 50),
    resource_id   text,
    old_values    text CHECK (old_values IS NULL OR old_values::json IS NOT NULL),
    new_values    text CHECK (new_values IS NULL OR new_values::json IS NOT NULL),
    ip_address    text,
    user_agent    text,
    request_id    text,
    result        text NOT NULL CHECK (result IN ('success', 'failure')),
    reason        text,
    created_at    timestamptz NOT NULL,
    prev_hash     text NOT NULL CHECK (length(prev_hash) = 64),
    hash          text NOT NULL CHECK (length(hash) = 64)
);
CREATE INDEX audit_logs_by_user ON audit_logs (user_id, seq);
CREATE INDEX audit_logs_by_action ON audit_logs (action, seq);
CREATE INDEX audit_logs_by_resource ON audit_logs (resource_type, resource_id, seq);
CREATE INDEX audit_logs_by_time ON audit_logs (created_at);
CREATE FUNCTION datagenie_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_logs is append-only';
END;
$$;
CREATE TRIGGER audit_logs_no_update BEFORE UPDATE OR DELETE ON audit_logs
    FOR EACH ROW EXECUTE FUNCTION datagenie_audit_append_only();
CREATE TRIGGER audit_logs_no_truncate BEFORE TRUNCATE ON audit_logs
    FOR EACH STATEMENT EXECUTE FUNCTION datagenie_audit_append_only();

CREATE TABLE audit_chain_head (
    id   integer PRIMARY KEY CHECK (id = 1),
    seq  bigint NOT NULL CHECK (seq >= 0),
    hash text NOT NULL CHECK (length(hash) = 64)
);
INSERT INTO audit_chain_head (id, seq, hash)
    VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE events (
    id         text PRIMARY KEY CHECK (length(id) = 36),
    event_type text NOT NULL CHECK (length(event_type) BETWEEN 1 AND 50),
    user_id    text,
    event_data json,
    ip_address text,
    user_agent text,
    session_id text,
    created_at timestamptz NOT NULL
);
CREATE INDEX events_by_type ON events (event_type, created_at);
CREATE INDEX events_by_user ON events (user_id, created_at);
CREATE INDEX events_by_time ON events (created_at);

CREATE TABLE knowledge_items (
    id           text PRIMARY KEY CHECK (length(id) = 36),
    connection   text NOT NULL CHECK (length(connection) >= 1),
    kind         text NOT NULL CHECK (kind IN ('glossary', 'description', 'document')),
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    body         json NOT NULL,
    content_hash text NOT NULL CHECK (length(content_hash) = 64),
    created_by   text REFERENCES users (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz,
    UNIQUE (connection, kind, name)
);
CREATE INDEX knowledge_items_by_creator ON knowledge_items (created_by);

CREATE TABLE knowledge_versions (
    connection text PRIMARY KEY,
    version    bigint NOT NULL CHECK (version >= 1)
);
CREATE FUNCTION datagenie_knowledge_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO knowledge_versions (connection, version) VALUES (NEW.connection, 1)
            ON CONFLICT (connection) DO UPDATE SET version = knowledge_versions.version + 1;
    END IF;
    IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND OLD.connection <> NEW.connection) THEN
        INSERT INTO knowledge_versions (connection, version) VALUES (OLD.connection, 1)
            ON CONFLICT (connection) DO UPDATE SET version = knowledge_versions.version + 1;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER knowledge_items_changed AFTER INSERT OR UPDATE OR DELETE ON knowledge_items
    FOR EACH ROW EXECUTE FUNCTION datagenie_knowledge_version();

CREATE TABLE knowledge_vectors (
    content_key text NOT NULL CHECK (content_key ~ '^[0-9a-f]{64}$'),
    model       text NOT NULL CHECK (length(model) BETWEEN 1 AND 200),
    dims        integer NOT NULL CHECK (dims > 0),
    vector      bytea NOT NULL CHECK (length(vector) = dims * 4),
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (content_key, model)
);
