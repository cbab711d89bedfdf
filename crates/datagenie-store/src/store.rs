//! The store interface: everything the server keeps in the system database, independent of the engine. SQLite
//! ([`crate::sqlite_store::SqliteStore`]) is the first implementation; a PostgreSQL one (several servers) is a second
//! module behind the same trait, passing the same conformance suite (`tests/conformance/`).
//!
//! Every method is one transaction: it succeeds entirely or changes nothing. Errors carry stable codes:
//! `system_database` for the store failing, `invalid_argument` / `conflict`-like codes for the caller's mistakes
//! (a duplicate name, an unknown id) as the method says.
//!
//! Conventions of every implementation (the conformance suite checks them): a unique value taken is
//! `already_exists`, naming what; a write that refers to a user, connection or session that does not exist is
//! `not_found`; a value the schema refuses (an empty name, a negative limit) is `invalid_argument`. Lists take a
//! [`PageRequest`] whose `limit` is clamped to 1..=[`MAX_PAGE`] and whose cursor is opaque and stable under inserts.

use async_trait::async_trait;
use datagenie_core::{Error, SecretUrl};

use crate::model::*;

#[async_trait]
pub trait Store: Send + Sync {
    // --- health and schema
    /// A cheap round trip (`/readyz`).
    async fn ping(&self) -> Result<(), Error>;
    /// The number of migrations applied.
    async fn schema_version(&self) -> Result<u32, Error>;

    // --- users
    /// Errors: `already_exists` when the email or username is taken.
    async fn create_user(&self, new: NewUser) -> Result<User, Error>;
    async fn user(&self, id: &str) -> Result<Option<User>, Error>;
    /// The user with this email (case-insensitive) and their password hash, for a login.
    async fn user_credentials(&self, email: &str) -> Result<Option<Credentials>, Error>;
    async fn list_users(&self, page: &PageRequest) -> Result<Page<User>, Error>;
    /// The user after the change. Errors: `not_found`.
    async fn update_user(&self, id: &str, patch: UserPatch) -> Result<User, Error>;
    async fn set_password_hash(&self, id: &str, password_hash: &str) -> Result<(), Error>;
    async fn record_login(&self, id: &str, at: Timestamp) -> Result<(), Error>;
    /// Deletes a user and everything that is theirs (tokens, keys, sessions, permissions); history and audit keep
    /// the id. Errors: `not_found`.
    async fn delete_user(&self, id: &str) -> Result<(), Error>;
    /// The number of active admins (an inactive admin cannot log in).
    async fn count_admins(&self) -> Result<i64, Error>;

    // --- logins and refresh tokens
    async fn create_login_session(
        &self,
        user_id: &str,
        ip_address: Option<&str>,
        user_agent: Option<&str>,
        expires_at: Timestamp,
    ) -> Result<LoginSession, Error>;
    async fn insert_refresh_token(&self, token: NewRefreshToken) -> Result<(), Error>;
    /// Presents the refresh token with hash `presented_hash`: when current, it is spent and `replacement` (same
    /// family) takes its place, atomically — two concurrent presentations of one token cannot both rotate.
    /// `replacement.user_id` and `replacement.family_id` may be left empty: they are the presented token's (a
    /// non-empty one that differs is `invalid_argument`, and nothing changes).
    async fn rotate_refresh_token(
        &self,
        presented_hash: &str,
        replacement: NewRefreshToken,
        now: Timestamp,
    ) -> Result<Rotation, Error>;
    /// Revokes every refresh token of the family and ends its login session (logout).
    async fn revoke_family(&self, family_id: &str, now: Timestamp) -> Result<(), Error>;
    /// Revokes every refresh token of a user (disabled account, password change).
    async fn revoke_user_tokens(&self, user_id: &str, now: Timestamp) -> Result<(), Error>;
    /// The user of an open login session (not ended, not expired at `now`): what an access token of that login
    /// acts as. `None` after logout, reuse of a spent refresh token, or a revocation of the user's tokens.
    async fn session_user(&self, user_id: &str, session_id: &str, now: Timestamp) -> Result<Option<User>, Error>;
    /// The family of a current refresh token, for logout by token: `(family_id, user_id)`. `None` when unknown,
    /// spent or revoked.
    async fn refresh_token_family(&self, token_hash: &str) -> Result<Option<(String, String)>, Error>;

    // --- API keys
    async fn create_api_key(&self, new: NewApiKey) -> Result<ApiKey, Error>;
    /// The key with this public prefix and its stored hash (to compare in constant time).
    async fn api_key_by_prefix(&self, prefix: &str) -> Result<Option<(ApiKey, String)>, Error>;
    /// Counts a use of a key.
    async fn touch_api_key(&self, id: &str, at: Timestamp) -> Result<(), Error>;
    async fn list_api_keys(&self, user_id: &str, page: &PageRequest) -> Result<Page<ApiKey>, Error>;
    /// Revokes a key of `user_id` (or of anyone with `None`). Errors: `not_found`.
    async fn revoke_api_key(&self, id: &str, user_id: Option<&str>, at: Timestamp) -> Result<ApiKey, Error>;

    // --- connections
    /// Errors: `already_exists` when the name is taken.
    async fn create_connection(&self, new: NewConnection) -> Result<Connection, Error>;
    async fn connection(&self, id_or_name: &str) -> Result<Option<Connection>, Error>;
    /// Every connection (`None`), or those a user holds a permission with `can_query` on.
    async fn list_connections(&self, granted_to: Option<&str>, page: &PageRequest) -> Result<Page<Connection>, Error>;
    /// Errors: `not_found`; `already_exists` when renamed to a taken name.
    async fn update_connection(&self, id: &str, patch: ConnectionPatch) -> Result<Connection, Error>;
    async fn delete_connection(&self, id: &str) -> Result<(), Error>;
    /// The connection's URL, decrypted: for opening a connector, nothing else.
    async fn connection_url(&self, id: &str) -> Result<SecretUrl, Error>;
    /// Keeps the bytes of an uploaded spreadsheet (file connection `connection_id`), sealed, replacing any kept
    /// before: every server can then query it, whichever one received the upload. They go with the connection.
    /// Errors: `not_found`; `invalid_argument` when the connection is not a file, or the bytes are not the file its
    /// `file` info describes (size, SHA-256).
    async fn put_file_content(&self, connection_id: &str, content: Vec<u8>) -> Result<(), Error>;
    /// The bytes of a file connection's spreadsheet; `None` when none are kept (an upload from before they were).
    async fn file_content(&self, connection_id: &str) -> Result<Option<Vec<u8>>, Error>;
    async fn save_schema_snapshot(&self, connection_id: &str, snapshot: SchemaSnapshot) -> Result<(), Error>;
    async fn schema_snapshot(&self, connection_id: &str) -> Result<Option<SchemaSnapshot>, Error>;

    // --- permissions
    /// Creates or replaces the permission of `permission.user_id` on `permission.connection_id`.
    async fn put_permission(&self, permission: Permission) -> Result<Permission, Error>;
    async fn permission(&self, user_id: &str, connection_id: &str) -> Result<Option<Permission>, Error>;
    async fn list_permissions(&self, connection_id: &str) -> Result<Vec<Permission>, Error>;
    async fn delete_permission(&self, user_id: &str, connection_id: &str) -> Result<(), Error>;

    // --- chat sessions
    async fn create_chat_session(
        &self,
        user_id: &str,
        connection_id: Option<&str>,
        title: Option<&str>,
    ) -> Result<ChatSession, Error>;
    async fn chat_session(&self, id: &str) -> Result<Option<ChatSession>, Error>;
    async fn list_chat_sessions(&self, user_id: &str, page: &PageRequest) -> Result<Page<ChatSession>, Error>;
    async fn rename_chat_session(&self, id: &str, title: Option<&str>) -> Result<ChatSession, Error>;
    async fn delete_chat_session(&self, id: &str) -> Result<(), Error>;
    /// Messages in order (`sequence` ascending).
    async fn list_chat_messages(&self, session_id: &str, page: &PageRequest) -> Result<Page<ChatMessage>, Error>;
    /// The last `n` messages of a session, in order: what a follow-up is given.
    async fn recent_chat_messages(&self, session_id: &str, n: usize) -> Result<Vec<ChatMessage>, Error>;

    // --- questions: history, analysis, usage
    /// Records a question and everything about it in one transaction (see [`QuestionRecord`]): the history row,
    /// its analysis and rows, the user's token usage (by hour and model) and, when `entry.session_id` is set, the
    /// question and answer messages appended in order.
    async fn record_question(&self, record: QuestionRecord) -> Result<RecordedQuestion, Error>;
    async fn history_entry(&self, id: &str) -> Result<Option<HistoryEntry>, Error>;
    async fn analysis(&self, history_id: &str) -> Result<Option<Analysis>, Error>;
    async fn stored_result(&self, history_id: &str) -> Result<Option<StoredResult>, Error>;
    /// Newest first.
    async fn list_history(&self, filter: &HistoryFilter, page: &PageRequest) -> Result<Page<HistoryEntry>, Error>;
    /// Marks an answer right (`by`: the user who checked it, at `at`), or clears the mark (`by` `None`); returns the
    /// entry after the change. Marking again replaces who and when. Only an answered question (`status` `success`
    /// with its SQL) can be marked. Errors: `not_found` (no such entry, or `by` names no user), `invalid_argument`
    /// (the question was not answered).
    async fn set_history_verified(&self, id: &str, by: Option<&str>, at: Timestamp) -> Result<HistoryEntry, Error>;
    /// A connection's verified answers, at most `limit`, most recently verified first; of several with the same
    /// question text (exactly), only the most recently verified.
    async fn verified_examples(&self, connection_id: &str, limit: usize) -> Result<Vec<VerifiedExample>, Error>;
    /// What a question needs before it runs, read together: the connection (by id or name), the user's
    /// permission on it, and the user's usage since each moment of `since` (their token limits' windows). `None`
    /// when there is no such connection.
    async fn question_context(
        &self,
        user_id: &str,
        connection: &str,
        since: &[Timestamp],
    ) -> Result<Option<QuestionContext>, Error>;
    /// Tokens and cost of a user since a moment (the token limits' windows).
    async fn usage_since(&self, user_id: &str, since: Timestamp) -> Result<UsageTotals, Error>;
    /// Tokens and cost grouped by day, model or user, of one user or (`None`) everyone, in a period.
    async fn usage_report(
        &self,
        user_id: Option<&str>,
        group: UsageGroup,
        since: Option<Timestamp>,
        until: Option<Timestamp>,
    ) -> Result<Vec<UsageRow>, Error>;

    // --- settings
    async fn settings(&self) -> Result<Vec<Setting>, Error>;
    async fn setting(&self, key: &str) -> Result<Option<Setting>, Error>;
    /// Errors: `not_found` for a key that is not a setting.
    async fn set_setting(&self, key: &str, value: serde_json::Value, by: Option<&str>) -> Result<Setting, Error>;

    // --- audit and events
    /// Appends to the hash chain; returns the stored row.
    async fn append_audit(&self, entry: NewAuditEntry) -> Result<AuditEntry, Error>;
    /// Newest first.
    async fn list_audit(&self, filter: &AuditFilter, page: &PageRequest) -> Result<Page<AuditEntry>, Error>;
    /// Walks the whole chain (from its anchor, when retention removed older rows): `Ok(rows)` when intact, else the
    /// first break.
    async fn verify_audit(&self) -> Result<Result<i64, AuditBreak>, Error>;
    /// The chain's anchor: the last row retention removed (`None`: none ever was).
    async fn audit_anchor(&self) -> Result<Option<AuditAnchor>, Error>;
    async fn record_event(&self, event: NewEvent) -> Result<(), Error>;

    // --- credits (seed 004)
    /// Applies `change` and appends its ledger row (with the balance after it) in one transaction; when
    /// `change.monthly` names a period not granted yet, its grant is applied first (its own ledger row). Concurrent
    /// changes from any number of servers are applied one after the other. Errors: `insufficient_credits` when the
    /// balance would go below 0 (nothing changes, the monthly grant included); `not_found` for an unknown user;
    /// `invalid_argument` for an amount of 0. Returns the change's ledger row.
    async fn apply_credits(&self, change: CreditChange) -> Result<CreditTransaction, Error>;
    /// The user's balance (`None`: never had credits).
    async fn credit_balance(&self, user_id: &str) -> Result<Option<CreditBalance>, Error>;
    /// The user's ledger, newest first.
    async fn list_credit_transactions(
        &self,
        user_id: &str,
        page: &PageRequest,
    ) -> Result<Page<CreditTransaction>, Error>;

    // --- the job queue (seed 004)
    /// Queues a job. Errors: `not_found` for an unknown user, `invalid_argument` for an empty question.
    async fn create_job(&self, job: NewJob) -> Result<Job, Error>;
    async fn job(&self, id: &str) -> Result<Option<Job>, Error>;
    /// Takes the next job for `owner` until `lease_until`: the highest priority, then the oldest, among the queued
    /// ones and the running ones whose lease ran out before `now` (their worker died) that have attempts left.
    /// Jobs whose lease ran out with no attempts left are failed (`lease_expired`) on the way. Two workers, on any
    /// servers, never take one job at once. `None`: nothing to do.
    async fn claim_job(&self, owner: &str, lease_until: Timestamp, now: Timestamp) -> Result<Option<Job>, Error>;
    /// Extends `owner`'s lease and records its progress; `false` when the job is no longer `owner`'s to run
    /// (cancelled, or taken by another worker after the lease ran out): the worker stops.
    async fn renew_job(
        &self,
        id: &str,
        owner: &str,
        lease_until: Timestamp,
        progress: Option<serde_json::Value>,
    ) -> Result<bool, Error>;
    /// Ends `owner`'s job with `outcome` (and its output, in the same transaction); `false` when it was no longer
    /// `owner`'s (nothing changes).
    async fn finish_job(&self, id: &str, owner: &str, outcome: JobOutcome) -> Result<bool, Error>;
    /// A long export's output; `None` before it succeeded, or for a question.
    async fn job_output(&self, id: &str) -> Result<Option<JobOutput>, Error>;
    /// Cancels a job that has not ended (of `user_id`, or anyone's with `None`); a running one stops at its
    /// worker's next renewal. Errors: `not_found`; `invalid_argument` for a job that already ended.
    async fn cancel_job(&self, id: &str, user_id: Option<&str>) -> Result<Job, Error>;

    // --- counters (request rates and failed logins when Redis is unreachable)
    /// Adds one to the counter `key` of the window that starts at `window` and keeps it at least until `expires`;
    /// a counter that is new, or expired at `now`, starts again at 1. Returns the count after. Atomic: concurrent
    /// bumps from any number of servers all count. Errors: `invalid_argument` for an empty key.
    async fn bump_counter(
        &self,
        key: &str,
        window: Timestamp,
        expires: Timestamp,
        now: Timestamp,
    ) -> Result<i64, Error>;
    /// The count of `key` in the window starting at `window` and when it expires; `None` when there is none or it
    /// expired at `now`.
    async fn counter(&self, key: &str, window: Timestamp, now: Timestamp) -> Result<Option<(i64, Timestamp)>, Error>;
    /// Forgets every window of `key` (a successful login clears its failures).
    async fn clear_counter(&self, key: &str) -> Result<(), Error>;
    /// Removes the counters that expired before `now`; returns how many.
    async fn purge_counters(&self, now: Timestamp) -> Result<u64, Error>;

    // --- retention (seed 000's cleanup_old_data)
    /// Removes, in one transaction, what `policy` no longer keeps at `now` — old history and events, expired login
    /// sessions and their refresh tokens, old finished jobs, expired counters, the audit chain's old prefix (moving
    /// its anchor) — and, when it removed any record, appends an `audit.prune` row with the counts (see
    /// [`crate::retention`]). `dry_run`: removes nothing, and counts what would go. Concurrent runs, from any number
    /// of servers, take turns. Errors: `system_database` when the audit rows to remove do not verify (nothing is
    /// removed then).
    async fn purge_expired(
        &self,
        policy: crate::retention::RetentionPolicy,
        now: Timestamp,
        dry_run: bool,
    ) -> Result<crate::retention::PurgeReport, Error>;
}
