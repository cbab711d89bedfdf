-- Long exports: a job with export_rows asks its question with that row cap instead of the interactive one (still
-- within the asker's grant), and keeps the rows as CSV in job_outputs for GET /api/v1/jobs/{id}/output.csv. The
-- output goes with its job (retention, a deleted user).
ALTER TABLE jobs ADD COLUMN export_rows bigint CHECK (export_rows IS NULL OR export_rows >= 1);
CREATE TABLE job_outputs (
    job_id     text PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    content    bytea NOT NULL,
    rows       bigint NOT NULL CHECK (rows >= 0),
    truncated  boolean NOT NULL,
    created_at timestamptz NOT NULL
);
INSERT INTO system_settings (key, value, description, category, is_sensitive, updated_at) VALUES
    ('max_export_rows', '100000', 'The most rows a long export (a job with export_rows) keeps; the grant still applies',
        'query', false, date_trunc('milliseconds', now()));
