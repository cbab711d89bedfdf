-- What people teach DataGenie about one of their databases (issue 15), and the answers they marked right.
-- Conventions as in 0002_server.sql: ids UUID v4 text, times UTC RFC 3339 text with milliseconds, JSON text checked
-- by json_valid, STRICT tables.

-- Knowledge items: glossary terms, descriptions of tables and columns, documents. A database is named by the same
-- connection key templates use (query_templates.connection: 'sqlite:///abs/path.db', a URL without its password),
-- so the CLI and the server share what was taught. name: the glossary term | 'table' or 'table.column' | the
-- document's title; one item per (connection, kind, name). body: the item as JSON; content_hash: SHA-256 (hex) of
-- the body as stored. created_by: the server's users.id, NULL from the CLI (and after the user is deleted).
-- The UNIQUE index leads with connection: it is also the index of a connection's items.
CREATE TABLE knowledge_items (
    id           TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36),
    connection   TEXT NOT NULL CHECK (length(connection) >= 1),
    kind         TEXT NOT NULL CHECK (kind IN ('glossary', 'description', 'document')),
    name         TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    body         TEXT NOT NULL CHECK (json_valid(body)),
    content_hash TEXT NOT NULL CHECK (length(content_hash) = 64),
    created_by   TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT,
    UNIQUE (connection, kind, name)
) STRICT;
CREATE INDEX knowledge_items_by_creator ON knowledge_items (created_by);

-- A counter per connection that every change to its knowledge items moves on (the triggers below, so a change made
-- by any path counts): what caches built from a connection's knowledge compare. Never decreases; a connection whose
-- items were all removed keeps its row.
CREATE TABLE knowledge_versions (
    connection TEXT PRIMARY KEY NOT NULL,
    version    INTEGER NOT NULL CHECK (version >= 1)
) STRICT, WITHOUT ROWID;
CREATE TRIGGER knowledge_items_inserted AFTER INSERT ON knowledge_items
BEGIN
    INSERT INTO knowledge_versions (connection, version) VALUES (NEW.connection, 1)
        ON CONFLICT (connection) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER knowledge_items_updated AFTER UPDATE ON knowledge_items
BEGIN
    INSERT INTO knowledge_versions (connection, version) VALUES (NEW.connection, 1)
        ON CONFLICT (connection) DO UPDATE SET version = version + 1;
    INSERT INTO knowledge_versions (connection, version) SELECT OLD.connection, 1 WHERE OLD.connection <> NEW.connection
        ON CONFLICT (connection) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER knowledge_items_deleted AFTER DELETE ON knowledge_items
BEGIN
    INSERT INTO knowledge_versions (connection, version) VALUES (OLD.connection, 1)
        ON CONFLICT (connection) DO UPDATE SET version = version + 1;
END;

-- Embeddings of knowledge and questions, searched in process. content_key: SHA-256 (hex, lower case) of the text
-- embedded, so one text is embedded once per model whoever asks; vector: dims little-endian f32.
CREATE TABLE knowledge_vectors (
    content_key TEXT NOT NULL CHECK (length(content_key) = 64 AND content_key NOT GLOB '*[^0-9a-f]*'),
    model       TEXT NOT NULL CHECK (length(model) BETWEEN 1 AND 200),
    dims        INTEGER NOT NULL CHECK (dims > 0),
    vector      BLOB NOT NULL CHECK (length(vector) = dims * 4),
    created_at  TEXT NOT NULL,
    PRIMARY KEY (content_key, model)
) STRICT, WITHOUT ROWID;

-- Verified history: who marked an answer right (users.id, no foreign key like the rest of the history row) and
-- when. Both set or both NULL, and only on an answered question (status 'success' with its SQL): the verified
-- answers of a connection are examples for its later questions.
ALTER TABLE query_history ADD COLUMN verified_by TEXT;
ALTER TABLE query_history ADD COLUMN verified_at TEXT
    CHECK ((verified_at IS NULL) = (verified_by IS NULL)
           AND (verified_at IS NULL OR (status = 'success' AND generated_sql IS NOT NULL)));
-- a connection's verified answers, newest first
CREATE INDEX query_history_by_verification ON query_history (connection_id, verified_at, id)
    WHERE verified_at IS NOT NULL;
