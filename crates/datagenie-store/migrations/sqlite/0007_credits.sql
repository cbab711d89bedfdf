-- Tiers and credits (seed 004): a user's tier, a balance per user, and an immutable ledger of every change with the
-- balance after it. The balance is never negative (CHECK) and always equals the sum of its ledger's amounts (every
-- change writes both in one transaction). The ledger keeps the user's id as plain text, with no foreign key: it
-- outlives the account.
ALTER TABLE users ADD COLUMN tier TEXT NOT NULL DEFAULT 'free'
    CHECK (length(tier) BETWEEN 1 AND 50 AND tier NOT GLOB '*[^a-z0-9_]*');

CREATE TABLE credit_balances (
    user_id         TEXT PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    balance         INTEGER NOT NULL CHECK (balance >= 0),
    -- the start of the last period whose monthly credits were granted
    last_granted_at TEXT,
    updated_at      TEXT NOT NULL
) STRICT;

CREATE TABLE credit_transactions (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    id            TEXT NOT NULL UNIQUE CHECK (length(id) = 36),
    user_id       TEXT NOT NULL,
    amount        INTEGER NOT NULL CHECK (amount <> 0),
    kind          TEXT NOT NULL CHECK (kind IN ('monthly_grant', 'admin_adjustment', 'question', 'refund')),
    history_id    TEXT,
    description   TEXT CHECK (length(description) <= 500),
    balance_after INTEGER NOT NULL CHECK (balance_after >= 0),
    created_by    TEXT,
    created_at    TEXT NOT NULL
) STRICT;
CREATE INDEX credit_transactions_by_user ON credit_transactions (user_id, seq);
CREATE TRIGGER credit_transactions_no_update BEFORE UPDATE ON credit_transactions
    BEGIN SELECT RAISE(ABORT, 'credit_transactions is append-only'); END;
CREATE TRIGGER credit_transactions_no_delete BEFORE DELETE ON credit_transactions
    BEGIN SELECT RAISE(ABORT, 'credit_transactions is append-only'); END;

INSERT INTO system_settings (key, value, description, category, is_sensitive, updated_at) VALUES
    ('billing_enabled', 'false',
        'Tiers and credits apply: tier request rates and token limits, credits debited by LLM-answered questions',
        'billing', 0, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    ('credits_per_question', '1', 'Credits an LLM-answered question costs (template and built-in answers are free)',
        'billing', 0, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    ('admins_exempt', 'true', 'Admins are exempt from tiers, credits and request rates (not from token limits)',
        'billing', 0, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    ('tiers',
        '{"free":{"monthly_credits":100,"questions_per_minute":10,"hourly_token_limit":20000,"daily_token_limit":100000,"monthly_token_limit":1000000,"queue_priority":10},"starter":{"monthly_credits":1000,"questions_per_minute":30,"hourly_token_limit":100000,"daily_token_limit":500000,"monthly_token_limit":5000000,"queue_priority":25},"pro":{"monthly_credits":5000,"questions_per_minute":60,"hourly_token_limit":300000,"daily_token_limit":2000000,"monthly_token_limit":20000000,"queue_priority":50},"studio":{"monthly_credits":20000,"questions_per_minute":120,"hourly_token_limit":1000000,"daily_token_limit":5000000,"monthly_token_limit":50000000,"queue_priority":75},"enterprise":{"monthly_credits":100000,"questions_per_minute":600,"hourly_token_limit":null,"daily_token_limit":null,"monthly_token_limit":null,"queue_priority":100}}',
        'Tiers: monthly credits, questions per minute, token limits (null: none) and job-queue priority',
        'billing', 0, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
