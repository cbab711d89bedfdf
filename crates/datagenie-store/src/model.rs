//! The records of the system database, as every store implementation reads and writes them. Names follow the seeds
//! (000: users, user_sessions, database_connections, connection_permissions, query_history, analysis_results,
//! system_settings, audit_logs; 001: refresh_tokens, api_keys, chat_sessions, chat_messages, query_templates, events).
//!
//! Times are UTC ([`Timestamp`]); ids are UUID v4 strings. Nothing here holds a secret in clear: password, refresh
//! token and API key are stored as hashes, a connection's URL only encrypted (see [`crate::crypto`]).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use datagenie_core::{Error, ErrorCode, SecretUrl};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A moment in UTC, written as RFC 3339 with milliseconds (`2025-06-24T10:30:00.123Z`), which sorts as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub OffsetDateTime);

impl utoipa::PartialSchema for Timestamp {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
            .description(Some("RFC 3339, UTC, milliseconds"))
            .into()
    }
}

impl utoipa::ToSchema for Timestamp {}

impl Timestamp {
    pub fn now() -> Timestamp {
        Timestamp(OffsetDateTime::now_utc())
    }

    /// `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    pub fn to_rfc3339(&self) -> String {
        let t = self.0.to_offset(time::UtcOffset::UTC);
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.millisecond()
        )
    }

    pub fn parse(text: &str) -> Result<Timestamp, Error> {
        OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
            .map(|t| Timestamp(t.to_offset(time::UtcOffset::UTC)))
            .map_err(|e| Error::new(ErrorCode::InvalidArgument, format!("'{text}' is not an RFC 3339 time: {e}")))
    }

    pub fn plus(&self, d: time::Duration) -> Timestamp {
        Timestamp(self.0 + d)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Timestamp::parse(&text).map_err(|e| serde::de::Error::custom(e.message))
    }
}

/// A new random id (UUID v4, lower-case hyphenated).
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

macro_rules! text_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self, Error> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(Error::new(
                        ErrorCode::InvalidArgument,
                        format!(concat!("'{}' is not a ", stringify!($name), " (expected one of: {})"), other,
                            [$($text),+].join(", ")),
                    )),
                }
            }
        }
    };
}

text_enum! {
    /// What a user may do (seed 000): `admin` manages everything; `user` asks and saves templates; `viewer` asks.
    Role { Admin => "admin", User => "user", Viewer => "viewer" }
}

text_enum! {
    /// The engine of a stored connection.
    Engine { Sqlite => "sqlite", Postgres => "postgres", Mysql => "mysql", File => "file" }
}

text_enum! {
    /// `query_history.query_type` (seed 000).
    QueryType { Database => "database", Excel => "excel", General => "general" }
}

text_enum! {
    /// The door a question came in by: the HTTP API (and the web UI on it) or MCP.
    Channel { Http => "http", Mcp => "mcp" }
}

text_enum! {
    /// How a question ended (seed 000's statuses plus `refused`: the guard or a permission declined it).
    QueryStatus { Success => "success", Error => "error", Timeout => "timeout", Refused => "refused" }
}

text_enum! {
    /// The author of a chat message.
    MessageRole { User => "user", Assistant => "assistant" }
}

text_enum! {
    /// `audit_logs.result`.
    AuditResult { Success => "success", Failure => "failure" }
}

/// Hourly, daily and monthly token limits; `None` is no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TokenLimits {
    pub hourly: Option<i64>,
    pub daily: Option<i64>,
    pub monthly: Option<i64>,
}

/// An account. The password hash is not part of it: see [`crate::Store::user_credentials`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct User {
    pub id: String,
    pub username: String,
    pub email: String,
    pub full_name: Option<String>,
    pub role: Role,
    pub active: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub last_login_at: Option<Timestamp>,
    pub preferences: serde_json::Value,
    /// Tokens used in all (prompt + completion), kept up to date with every recorded question.
    pub token_usage: i64,
    pub limits: TokenLimits,
    /// The tier (seed 004: `free`, `starter`, `pro`, `studio`, `enterprise`, or one the `tiers` setting adds).
    pub tier: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewUser {
    pub username: String,
    /// Stored lower-cased; unique.
    pub email: String,
    /// An Argon2id PHC string, never a password.
    pub password_hash: String,
    pub full_name: Option<String>,
    pub role: Role,
    pub limits: TokenLimits,
}

/// A change to a user; `None` leaves a field as it is. A limit is `Some(None)` to remove it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UserPatch {
    pub role: Option<Role>,
    pub active: Option<bool>,
    pub full_name: Option<Option<String>>,
    pub hourly_token_limit: Option<Option<i64>>,
    pub daily_token_limit: Option<Option<i64>>,
    pub monthly_token_limit: Option<Option<i64>>,
    pub preferences: Option<serde_json::Value>,
    pub tier: Option<String>,
}

/// What a login checks.
#[derive(Clone, PartialEq)]
pub struct Credentials {
    pub user: User,
    pub password_hash: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials").field("user", &self.user.id).finish_non_exhaustive()
    }
}

/// A login of a person on a device (`user_sessions`): its refresh tokens are one rotation family.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LoginSession {
    pub id: String,
    pub user_id: String,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub ended_at: Option<Timestamp>,
}

/// A refresh token as stored: its SHA-256, never the token.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRefreshToken {
    pub user_id: String,
    /// The login session (rotation family) it belongs to.
    pub family_id: String,
    pub token_hash: String,
    pub expires_at: Timestamp,
    pub device_info: serde_json::Value,
}

/// What presenting a refresh token did.
#[derive(Debug, Clone, PartialEq)]
pub enum Rotation {
    /// The token was current: it is now spent and the new one replaces it.
    Rotated {
        user_id: String,
        family_id: String,
    },
    /// The token had already been rotated or revoked: its whole family is now revoked (a stolen token was used).
    Reused {
        user_id: String,
        family_id: String,
    },
    Expired,
    Unknown,
}

/// An API key as listed: never the secret or its hash.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ApiKey {
    pub id: String,
    pub user_id: String,
    pub name: String,
    /// The public part of the key, `dg_<prefix>_…`.
    pub prefix: String,
    pub scopes: Vec<String>,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
    pub usage_count: i64,
    pub revoked_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewApiKey {
    pub user_id: String,
    pub name: String,
    pub prefix: String,
    /// SHA-256 of the whole key, hex.
    pub key_hash: String,
    pub scopes: Vec<String>,
    pub expires_at: Option<Timestamp>,
}

/// A stored database connection. Its URL (with the password) is kept encrypted and is not part of it: see
/// [`crate::Store::connection_url`].
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Connection {
    pub id: String,
    /// An uploaded spreadsheet (`engine` is `file`): what was uploaded.
    pub file: Option<FileInfo>,
    /// Unique, for URLs and the CLI (`sales`, `shop-replica`).
    pub name: String,
    pub display_name: String,
    pub description: Option<String>,
    pub engine: Engine,
    /// The URL without its password, for display (`postgres://reader@db:5432/sales`).
    pub display_url: String,
    pub read_only: bool,
    pub pool_size: i64,
    pub active: bool,
    pub schema_hash: Option<String>,
    pub last_schema_sync: Option<Timestamp>,
    pub created_by: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// An uploaded spreadsheet: its name as uploaded, its size and the SHA-256 of its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FileInfo {
    pub name: String,
    pub size: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewConnection {
    /// An uploaded spreadsheet (with `engine` `file`).
    pub file: Option<FileInfo>,
    pub name: String,
    pub display_name: String,
    pub description: Option<String>,
    pub engine: Engine,
    /// Encrypted before it is stored.
    pub url: SecretUrl,
    pub display_url: String,
    pub pool_size: i64,
    pub created_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ConnectionPatch {
    /// A new unique name (`already_exists` when taken).
    pub name: Option<String>,
    pub display_name: Option<String>,
    pub description: Option<Option<String>>,
    /// A new URL (re-encrypted) and its display form.
    pub url: Option<(SecretUrl, String)>,
    pub pool_size: Option<i64>,
    pub active: Option<bool>,
}

/// A connection's schema as last synced: the introspected [`datagenie_core::schema::Schema`] as JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaSnapshot {
    pub hash: String,
    pub schema: serde_json::Value,
    pub synced_at: Timestamp,
}

/// A row filter of a permission: rows of `table` the user may see, as a SQL condition that may use `{user.id}`,
/// `{user.email}` and `{user.ATTRIBUTE}` (bound as literals by the guard).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RowFilter {
    pub table: String,
    pub condition: String,
}

/// What one user may do on one connection (`connection_permissions`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Permission {
    pub user_id: String,
    pub connection_id: String,
    pub can_query: bool,
    /// `None`: every schema.
    pub allowed_schemas: Option<Vec<String>>,
    /// `None`: every table. Entries as the guard reads them: `orders`, `sales.items`, `customers(id,name)`.
    pub allowed_tables: Option<Vec<String>>,
    pub row_filters: Vec<RowFilter>,
    /// Extra values for `{user.NAME}` in row filters.
    pub attributes: BTreeMap<String, serde_json::Value>,
    pub max_rows: Option<i64>,
    pub max_seconds: Option<i64>,
    pub can_unmask: bool,
    /// Set by the store when the permission is written.
    pub updated_at: Timestamp,
}

/// A conversation (`chat_sessions`), on one connection.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ChatSession {
    pub id: String,
    pub user_id: String,
    pub connection_id: Option<String>,
    pub title: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub last_message_at: Option<Timestamp>,
    pub message_count: i64,
}

/// One message of a conversation, in order (`sequence` from 1).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ChatMessage {
    pub id: String,
    pub session_id: String,
    pub sequence: i64,
    pub role: MessageRole,
    /// The question (user) or the summary (assistant).
    pub content: String,
    pub sql: Option<String>,
    /// A sketch of the result for follow-ups: columns, row count, the first rows.
    pub result_sketch: Option<serde_json::Value>,
    pub error: Option<serde_json::Value>,
    pub history_id: Option<String>,
    pub created_at: Timestamp,
}

/// A question's record (`query_history`), whatever its outcome.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct HistoryEntry {
    pub id: String,
    pub user_id: String,
    pub connection_id: Option<String>,
    pub session_id: Option<String>,
    pub question: String,
    pub sql: Option<String>,
    pub query_type: QueryType,
    pub status: QueryStatus,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub row_count: Option<i64>,
    /// Time in the user's database.
    pub execution_ms: Option<i64>,
    /// The whole question.
    pub total_ms: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub model: Option<String>,
    pub cost_usd: f64,
    /// Who wrote the SQL (the answer's `source`, as JSON).
    pub source: Option<serde_json::Value>,
    /// SHA-256 of the result rows, hex.
    pub result_hash: Option<String>,
    /// The API key presented, when the question came with one.
    pub api_key_id: Option<String>,
    /// The door it came in by (`None`: recorded before doors were).
    pub channel: Option<Channel>,
    /// The spreadsheet asked of (`query_type` `excel`).
    pub file_info: Option<serde_json::Value>,
    pub created_at: Timestamp,
    /// The user who marked the answer right ([`crate::Store::set_history_verified`]); `None`: not verified. Set
    /// only on an answered question (`status` `success` with its SQL), and together with `verified_at`.
    pub verified_by: Option<String>,
    pub verified_at: Option<Timestamp>,
}

/// A verified answer of a connection ([`crate::Store::verified_examples`]): a question and the SQL that answered it,
/// which a person marked right.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct VerifiedExample {
    /// The history entry it comes from.
    pub history_id: String,
    pub question: String,
    /// The SQL that answered it (the entry's `sql`).
    pub sql: String,
    pub verified_at: Timestamp,
}

/// The chart and the analysis of an answered question (`analysis_results`).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Analysis {
    pub chart_type: Option<String>,
    pub chart_spec: Option<serde_json::Value>,
    pub summary: Option<String>,
    pub insights: Option<serde_json::Value>,
}

/// The rows an answer showed (masked as the user saw them), kept for `rows.csv`: `{"columns": [...], "rows":
/// [[...]], "truncated": bool}`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct StoredResult {
    pub columns: Vec<String>,
    pub rows: serde_json::Value,
    pub truncated: bool,
}

/// Everything recorded about one question, written in one transaction: the history row, its analysis and rows, the
/// user's token usage, in a chat session the two messages, and the question's audit row.
#[derive(Debug, Clone, PartialEq)]
pub struct QuestionRecord {
    pub entry: HistoryEntry,
    pub analysis: Option<Analysis>,
    pub result: Option<StoredResult>,
    /// The assistant message's content (the summary, or the error for people).
    pub answer_text: Option<String>,
    pub result_sketch: Option<serde_json::Value>,
    /// Appended to the audit chain in the same transaction, with `"history_id"` added to its `new_values` (an
    /// object, or `{}` when `None`): a question is never recorded without its audit row, nor the reverse.
    pub audit: Option<NewAuditEntry>,
}

/// What a question needs before it runs ([`crate::Store::question_context`]).
#[derive(Debug, Clone, PartialEq)]
pub struct QuestionContext {
    pub connection: Connection,
    pub permission: Option<Permission>,
    /// The usage since each moment asked for, in that order.
    pub usage: Vec<UsageTotals>,
}

/// The ids a recorded question got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordedQuestion {
    pub history_id: String,
    /// The assistant message, when the question was asked in a session.
    pub message_id: Option<String>,
}

/// Filters of the history list; `None` matches everything.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HistoryFilter {
    pub user_id: Option<String>,
    pub connection_id: Option<String>,
    pub status: Option<QueryStatus>,
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
    /// Case-insensitive substring of the question or the SQL.
    pub text: Option<String>,
    /// Questions asked with this API key.
    pub api_key_id: Option<String>,
}

/// Tokens and cost over a period.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, utoipa::ToSchema)]
pub struct UsageTotals {
    pub questions: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub cost_usd: f64,
}

impl UsageTotals {
    pub fn tokens(&self) -> i64 {
        self.prompt_tokens + self.completion_tokens
    }
}

/// How a usage report is broken down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsageGroup {
    Day,
    Model,
    User,
    /// By the API key the questions were asked with (questions asked without a key are not in this report).
    ApiKey,
}

/// One row of a usage report: the group's key (a day `2025-06-24`, a model or a user id) and its totals.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct UsageRow {
    pub key: String,
    #[serde(flatten)]
    pub totals: UsageTotals,
}

/// A system setting (`system_settings`). A sensitive value is never returned by the API.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Setting {
    pub key: String,
    pub value: serde_json::Value,
    pub description: Option<String>,
    pub category: String,
    pub sensitive: bool,
    pub updated_by: Option<String>,
    pub updated_at: Timestamp,
}

/// An audit entry to append. Secrets must already be redacted from `old_values` / `new_values`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NewAuditEntry {
    pub user_id: Option<String>,
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<String>,
    pub old_values: Option<serde_json::Value>,
    pub new_values: Option<serde_json::Value>,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    pub success: bool,
    /// Why it failed or was refused.
    pub reason: Option<String>,
}

/// An audit row as stored: its place in the chain and the chain's hashes.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    /// 1, 2, 3, … with no gaps.
    pub seq: i64,
    pub id: String,
    pub user_id: Option<String>,
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<String>,
    pub old_values: Option<serde_json::Value>,
    pub new_values: Option<serde_json::Value>,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    pub result: AuditResult,
    pub reason: Option<String>,
    pub created_at: Timestamp,
    /// The previous row's `hash`, or 64 zeros for the first row.
    pub prev_hash: String,
    /// SHA-256 (hex) over `prev_hash` and this row's content ([`crate::audit::row_hash`]).
    pub hash: String,
}

/// Filters of the audit list.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AuditFilter {
    pub user_id: Option<String>,
    pub action: Option<String>,
    pub resource_type: Option<String>,
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
}

/// The first broken place of the audit chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditBreak {
    /// The first row whose content no longer matches its hash or whose `prev_hash` is not the previous row's
    /// `hash`; or the first `seq` that is missing (then `id` is `None`).
    pub seq: i64,
    /// The broken row's id; `None` when the row is missing.
    pub id: Option<String>,
    pub reason: String,
    /// The rows checked and found intact before the break (after the anchor, when retention removed older rows).
    pub intact: i64,
}

/// The audit chain's anchor: the last row retention removed (`seq`, its `hash`) and when. The chain goes on at row
/// `seq + 1`, whose `prev_hash` is `hash`; rows up to `seq` are gone. See [`crate::retention`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditAnchor {
    pub seq: i64,
    pub hash: String,
    pub pruned_at: Timestamp,
}

/// A system event (`events`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NewEvent {
    pub event_type: String,
    pub user_id: Option<String>,
    pub data: Option<serde_json::Value>,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub session_id: Option<String>,
}

/// A page of a list: at most `limit` items after `cursor` (an opaque string a previous page returned).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: usize,
    pub cursor: Option<String>,
}

/// The most items one page holds.
pub const MAX_PAGE: usize = 500;

impl PageRequest {
    pub fn first(limit: usize) -> PageRequest {
        PageRequest { limit: limit.clamp(1, MAX_PAGE), cursor: None }
    }
}

/// Items, and the cursor of the next page (`None` on the last page).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

text_enum!(
    /// The kind of a credit change.
    CreditKind {
        MonthlyGrant => "monthly_grant",
        AdminAdjustment => "admin_adjustment",
        Question => "question",
        Refund => "refund",
    }
);

/// A change of a user's credits, applied atomically with its ledger row.
#[derive(Debug, Clone, PartialEq)]
pub struct CreditChange {
    pub user_id: String,
    /// Added (positive) or taken (negative); not 0.
    pub amount: i64,
    pub kind: CreditKind,
    pub history_id: Option<String>,
    pub description: Option<String>,
    /// Who made it (an admin's id), `None` for the service.
    pub by: Option<String>,
    /// The user's monthly credits, granted first when the period starting at `.1` has not been granted yet.
    pub monthly: Option<(i64, Timestamp)>,
}

/// One row of the immutable credit ledger.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CreditTransaction {
    pub id: String,
    pub user_id: String,
    pub amount: i64,
    pub kind: CreditKind,
    pub history_id: Option<String>,
    pub description: Option<String>,
    /// The balance after this change.
    pub balance_after: i64,
    pub created_by: Option<String>,
    pub created_at: Timestamp,
}

/// A user's credits now.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CreditBalance {
    pub user_id: String,
    pub balance: i64,
    /// The start of the last period whose monthly credits were granted.
    pub last_granted_at: Option<Timestamp>,
    pub updated_at: Timestamp,
}

text_enum!(
    /// Where a job is.
    JobStatus {
        Queued => "queued",
        Running => "running",
        Succeeded => "succeeded",
        Failed => "failed",
        Cancelled => "cancelled",
    }
);

impl JobStatus {
    /// Succeeded, failed or cancelled: it will not run again.
    pub fn is_final(self) -> bool {
        matches!(self, JobStatus::Succeeded | JobStatus::Failed | JobStatus::Cancelled)
    }
}

/// A job to queue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    pub user_id: String,
    pub connection: String,
    pub question: String,
    pub tier: String,
    /// Higher runs first.
    pub priority: i32,
    pub max_attempts: i32,
    /// Who asked and from where (for the question's records), as JSON.
    pub caller: serde_json::Value,
    /// A long export: the question asked with this row cap instead of the interactive one (the asker's grant still
    /// bounds it), its rows kept as CSV ([`JobOutput`]). `None`: a question.
    pub export_rows: Option<i64>,
}

/// A queued question and where it is.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Job {
    pub id: String,
    pub user_id: String,
    pub connection: String,
    pub question: String,
    pub tier: String,
    pub priority: i32,
    pub status: JobStatus,
    /// Times a worker took it.
    pub attempts: i32,
    pub max_attempts: i32,
    /// What the worker last reported (its stage).
    pub progress: Option<serde_json::Value>,
    #[serde(skip)]
    pub lease_owner: Option<String>,
    #[serde(skip)]
    pub lease_expires_at: Option<Timestamp>,
    /// The answer, in the history (the job's id), once it has one.
    pub history_id: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    #[serde(skip)]
    pub caller: serde_json::Value,
    /// A long export's row cap (absent: a question); its CSV is `GET /api/v1/jobs/{id}/output.csv` once it succeeded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub export_rows: Option<i64>,
    pub created_at: Timestamp,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    pub updated_at: Timestamp,
}

/// What a long export produced: its rows as CSV.
#[derive(Clone, PartialEq)]
pub struct JobOutput {
    pub content: Vec<u8>,
    /// Rows in the CSV (its header line aside).
    pub rows: i64,
    /// Whether the row cap (the export's or the grant's) cut the result.
    pub truncated: bool,
    pub created_at: Timestamp,
}

impl std::fmt::Debug for JobOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // the rows are the asker's data: their size, never their content
        f.debug_struct("JobOutput")
            .field("bytes", &self.content.len())
            .field("rows", &self.rows)
            .field("truncated", &self.truncated)
            .field("created_at", &self.created_at)
            .finish()
    }
}

/// How a worker's job ended.
#[derive(Debug, Clone, PartialEq)]
pub struct JobOutcome {
    /// `Succeeded` or `Failed`.
    pub status: JobStatus,
    pub history_id: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    /// A long export's CSV, kept with the outcome (only when the job was still the worker's).
    pub output: Option<JobOutput>,
}
