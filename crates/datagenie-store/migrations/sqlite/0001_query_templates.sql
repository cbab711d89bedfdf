-- Verified query templates (seed 001's query_templates), plus the database each belongs to and its dialect.
CREATE TABLE query_templates (
    id                TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36),
    user_id           TEXT,
    connection        TEXT NOT NULL CHECK (length(connection) > 0),
    dialect           TEXT NOT NULL CHECK (dialect IN ('sqlite', 'postgres', 'mysql')),
    name              TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description       TEXT,
    question_template TEXT NOT NULL,
    sql_template      TEXT NOT NULL,
    category          TEXT CHECK (category IS NULL OR length(category) <= 50),
    is_public         INTEGER NOT NULL DEFAULT 0 CHECK (is_public IN (0, 1)),
    is_verified       INTEGER NOT NULL DEFAULT 0 CHECK (is_verified IN (0, 1)),
    usage_count       INTEGER NOT NULL DEFAULT 0 CHECK (usage_count >= 0),
    created_at        TEXT NOT NULL,
    updated_at        TEXT,
    UNIQUE (connection, name)
);
CREATE INDEX query_templates_by_connection ON query_templates (connection, dialect, is_verified);
