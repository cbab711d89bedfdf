-- Long exports (issue 16: "POST /api/v1/jobs … and long exports"): a job with export_rows asks its question with
-- that row cap instead of the interactive one (still within the asker's grant), and keeps the rows as CSV in
-- job_outputs for GET /api/v1/jobs/{id}/output.csv. The output goes with its job (retention, a deleted user).
ALTER TABLE jobs ADD COLUMN export_rows INTEGER CHECK (export_rows IS NULL OR export_rows >= 1);
CREATE TABLE job_outputs (
    job_id     TEXT PRIMARY KEY NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    content    BLOB NOT NULL,
    rows       INTEGER NOT NULL CHECK (rows >= 0),
    truncated  INTEGER NOT NULL CHECK (truncated IN (0, 1)),
    created_at TEXT NOT NULL
) STRICT;
INSERT INTO system_settings (key, value, description, category, is_sensitive, updated_at) VALUES
    ('max_export_rows', '100000', 'The most rows a long export (a job with export_rows) keeps; the grant still applies',
        'query', 0, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
