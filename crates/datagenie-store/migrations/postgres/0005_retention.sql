-- Retention (seed 000's cleanup_old_data) and the audit chain's anchor; see the SQLite migration 0009_retention.sql.
INSERT INTO system_settings (key, value, description, category, is_sensitive, updated_at) VALUES
    ('history_retention_days', '90',
        'Days questions (with their charts and rows) and system events are kept; answers marked right stay. 0: forever',
        'retention', false, date_trunc('milliseconds', now())),
    ('audit_retention_days', '180',
        'Days audit rows are kept: the oldest go, and the chain verifies from the last one removed. 0: forever',
        'retention', false, date_trunc('milliseconds', now())),
    ('job_retention_days', '7', 'Days succeeded, failed and cancelled jobs are kept. 0: forever', 'retention', false,
        date_trunc('milliseconds', now()));

CREATE TABLE audit_anchor (
    id        integer PRIMARY KEY CHECK (id = 1),
    seq       bigint NOT NULL CHECK (seq >= 1),
    hash      text NOT NULL CHECK (length(hash) = 64),
    pruned_at timestamptz NOT NULL
);
-- The anchor only moves forward, to a row of the chain (at most the head's seq; the hash the next row names as its
-- prev_hash, or the head's when it is the last row); it is never deleted or truncated.
CREATE FUNCTION datagenie_audit_anchor_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    head_seq  bigint;
    head_hash text;
    next_prev text;
BEGIN
    IF TG_OP IN ('DELETE', 'TRUNCATE') THEN
        RAISE EXCEPTION 'audit_anchor only moves forward';
    END IF;
    IF TG_OP = 'UPDATE' THEN
        IF NEW.id <> OLD.id OR NEW.seq <= OLD.seq THEN
            RAISE EXCEPTION 'audit_anchor only moves forward';
        END IF;
    END IF;
    SELECT seq, hash INTO head_seq, head_hash FROM audit_chain_head WHERE id = 1;
    SELECT prev_hash INTO next_prev FROM audit_logs WHERE seq = NEW.seq + 1;
    IF head_seq IS NULL OR NEW.seq > head_seq
       OR NEW.hash IS DISTINCT FROM coalesce(next_prev, CASE WHEN NEW.seq = head_seq THEN head_hash END) THEN
        RAISE EXCEPTION 'audit_anchor must name a row of the audit chain';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER audit_anchor_guard BEFORE INSERT OR UPDATE OR DELETE ON audit_anchor
    FOR EACH ROW EXECUTE FUNCTION datagenie_audit_anchor_guard();
CREATE TRIGGER audit_anchor_no_truncate BEFORE TRUNCATE ON audit_anchor
    FOR EACH STATEMENT EXECUTE FUNCTION datagenie_audit_anchor_guard();

-- The audit log stays append-only, except for its prefix up to the anchor (never by TRUNCATE).
CREATE OR REPLACE FUNCTION datagenie_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.seq <= coalesce((SELECT seq FROM audit_anchor WHERE id = 1), 0) THEN
            RETURN OLD;
        END IF;
        RAISE EXCEPTION 'audit_logs is append-only (only rows up to the audit anchor may be removed)';
    END IF;
    RAISE EXCEPTION 'audit_logs is append-only';
END;
$$;

CREATE INDEX jobs_by_finish ON jobs (finished_at) WHERE status IN ('succeeded', 'failed', 'cancelled');
CREATE INDEX chat_messages_by_question ON chat_messages (query_id) WHERE query_id IS NOT NULL;
