-- The bytes of an uploaded spreadsheet, kept in the system database so that every server can answer questions on it
-- (servers share nothing on local disk). A server reads them once into its own files directory, checked against the
-- connection's file_info sha256, and queries that copy; they go with their connection.
CREATE TABLE file_contents (
    connection_id text PRIMARY KEY REFERENCES database_connections (id) ON DELETE CASCADE,
    content       bytea NOT NULL,
    stored_at     timestamptz NOT NULL
);
