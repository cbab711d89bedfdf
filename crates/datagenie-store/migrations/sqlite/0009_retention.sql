-- Retention (seed 000's cleanup_old_data, run by every server each hour and by `datagenie system-db purge`): how
-- many days the history, the audit log and finished jobs are kept (0: forever), and the audit chain's anchor, so
-- that the oldest audit rows can be removed while the rest still verifies (retention.rs, audit.rs).
INSERT INTO system_settings (key, value, description, category, is_sensitive, updated_at) VALUES
    ('history_retention_days', '90',
        'Days questions (with their charts and rows) and system events are kept; answers marked right stay. 0: forever',
        'retention', 0, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    ('audit_retention_days', '180',
        'Days audit rows are kept: the oldest go, and the chain verifies from the last one removed. 0: forever',
        'retention', 0, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    ('job_retention_days', '7', 'Days succeeded, failed and cancelled jobs are kept. 0: forever', 'retention', 0,
        strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));

-- The audit chain's anchor: the last row retention removed — its seq and hash — and when. Absent until the first
-- removal (the chain then starts at row 1 after 64 zeros); after it, the chain starts at row seq + 1, whose
-- prev_hash is the anchor's hash. Only rows at or below the anchor may be deleted (the trigger below), and the
-- anchor only moves forward, to a row of the chain: a retention run moves it, then deletes, then appends its own
-- audit.prune row naming the anchor, all in one transaction.
CREATE TABLE audit_anchor (
    id        INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    seq       INTEGER NOT NULL CHECK (seq >= 1),
    hash      TEXT NOT NULL CHECK (length(hash) = 64),
    pruned_at TEXT NOT NULL
) STRICT;
-- A row of the chain: at most the head's seq, and the hash the next row names as its prev_hash (the head's hash
-- when it is the last row). The copy between engines inserts the anchor after the rows and the head, so it passes.
CREATE TRIGGER audit_anchor_insert BEFORE INSERT ON audit_anchor
    WHEN NEW.seq > coalesce((SELECT seq FROM audit_chain_head WHERE id = 1), 0)
      OR NEW.hash IS NOT coalesce((SELECT prev_hash FROM audit_logs WHERE seq = NEW.seq + 1),
                                  (SELECT hash FROM audit_chain_head WHERE id = 1 AND seq = NEW.seq))
    BEGIN SELECT RAISE(ABORT, 'audit_anchor must name a row of the audit chain'); END;
CREATE TRIGGER audit_anchor_update BEFORE UPDATE ON audit_anchor
    WHEN NEW.id <> OLD.id OR NEW.seq <= OLD.seq
      OR NEW.seq > coalesce((SELECT seq FROM audit_chain_head WHERE id = 1), 0)
      OR NEW.hash IS NOT coalesce((SELECT prev_hash FROM audit_logs WHERE seq = NEW.seq + 1),
                                  (SELECT hash FROM audit_chain_head WHERE id = 1 AND seq = NEW.seq))
    BEGIN SELECT RAISE(ABORT, 'audit_anchor only moves forward, to a row of the audit chain'); END;
CREATE TRIGGER audit_anchor_no_delete BEFORE DELETE ON audit_anchor
    BEGIN SELECT RAISE(ABORT, 'audit_anchor only moves forward'); END;

-- The audit log stays append-only, except for its prefix up to the anchor.
DROP TRIGGER audit_logs_no_delete;
CREATE TRIGGER audit_logs_no_delete BEFORE DELETE ON audit_logs
    WHEN OLD.seq > coalesce((SELECT seq FROM audit_anchor WHERE id = 1), 0)
    BEGIN SELECT RAISE(ABORT, 'audit_logs is append-only (only rows up to the audit anchor may be removed)'); END;

-- what retention reads: finished jobs by age, and the messages that link to a question being removed
CREATE INDEX jobs_by_finish ON jobs (finished_at) WHERE status IN ('succeeded', 'failed', 'cancelled');
CREATE INDEX chat_messages_by_question ON chat_messages (query_id) WHERE query_id IS NOT NULL;
