-- Tiers and credits (seed 004); see the SQLite migration 0007_credits.sql.
ALTER TABLE users ADD COLUMN tier text NOT NULL DEFAULT 'free' CHECK (tier ~ '^[a-z0-9_]{1,50}$');

CREATE TABLE credit_balances (
    user_id         text PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    balance         bigint NOT NULL CHECK (balance >= 0),
    last_granted_at timestamptz,
    updated_at      timestamptz NOT NULL
);

CREATE TABLE credit_transactions (
    seq           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id            text NOT NULL UNIQUE CHECK (length(id) = 36),
    user_id       text NOT NULL,
    amount        bigint NOT NULL CHECK (amount <> 0),
    kind          text NOT NULL CHECK (kind IN ('monthly_grant', 'admin_adjustment', 'question', 'refund')),
    history_id    text,
    description   text CHECK (length(description) <= 500),
    balance_after bigint NOT NULL CHECK (balance_after >= 0),
    created_by    text,
    created_at    timestamptz NOT NULL
);
CREATE INDEX credit_transactions_by_user ON credit_transactions (user_id, seq);
CREATE FUNCTION datagenie_credit_ledger_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'credit_transactions is append-only';
END;
$$;
CREATE TRIGGER credit_transactions_no_change BEFORE UPDATE OR DELETE ON credit_transactions
    FOR EACH ROW EXECUTE FUNCTION datagenie_credit_ledger_immutable();
CREATE TRIGGER credit_transactions_no_truncate BEFORE TRUNCATE ON credit_transactions
    FOR EACH STATEMENT EXECUTE FUNCTION datagenie_credit_ledger_immutable();

INSERT INTO system_settings (key, value, description, category, is_sensitive, updated_at) VALUES
    ('billing_enabled', 'false',
        'Tiers and credits apply: tier request rates and token limits, credits debited by LLM-answered questions',
        'billing', false, date_trunc('milliseconds', now())),
    ('credits_per_question', '1', 'Credits an LLM-answered question costs (template and built-in answers are free)',
        'billing', false, date_trunc('milliseconds', now())),
    ('admins_exempt', 'true', 'Admins are exempt from tiers, credits and request rates (not from token limits)',
        'billing', false, date_trunc('milliseconds', now())),
    ('tiers',
        '{"free":{"monthly_credits":100,"questions_per_minute":10,"hourly_token_limit":20000,"daily_token_limit":100000,"monthly_token_limit":1000000,"queue_priority":10},"starter":{"monthly_credits":1000,"questions_per_minute":30,"hourly_token_limit":100000,"daily_token_limit":500000,"monthly_token_limit":5000000,"queue_priority":25},"pro":{"monthly_credits":5000,"questions_per_minute":60,"hourly_token_limit":300000,"daily_token_limit":2000000,"monthly_token_limit":20000000,"queue_priority":50},"studio":{"monthly_credits":20000,"questions_per_minute":120,"hourly_token_limit":1000000,"daily_token_limit":5000000,"monthly_token_limit":50000000,"queue_priority":75},"enterprise":{"monthly_credits":100000,"questions_per_minute":600,"hourly_token_limit":null,"daily_token_limit":null,"monthly_token_limit":null,"queue_priority":100}}',
        'Tiers: monthly credits, questions per minute, token limits (null: none) and job-queue priority',
        'billing', false, date_trunc('milliseconds', now()));
