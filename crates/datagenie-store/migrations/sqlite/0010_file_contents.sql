-- The bytes of an uploaded spreadsheet, kept in the system database so that every server can answer questions on it
-- (issue 16: servers share nothing on local disk). A server reads them once into its own files directory, checked
-- against the connection's file_info sha256, and queries that copy; they go with their connection.
CREATE TABLE file_contents (
    connection_id TEXT PRIMARY KEY NOT NULL REFERENCES database_connections (id) ON DELETE CASCADE,
    content       BLOB NOT NULL,
    stored_at     TEXT NOT NULL
);
