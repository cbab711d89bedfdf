//! The one table of error codes. Every error that reaches a user — CLI, HTTP or MCP — carries one of these codes.
//! A code's name is stable: clients match on it. Each row gives the code's name, its kind (what sort of failure it
//! is), the HTTP status the server answers with and the exit status the CLI returns — all four chosen here, none
//! derived from another, so a code is filed under its true kind whatever status it needs.

use std::fmt;

/// What kind of failure a code is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The request itself is wrong: bad input, configuration, a name that does not exist.
    InvalidRequest,
    /// DataGenie deliberately declined: the SQL guard, a permission, the read-only session.
    Refused,
    /// A check did its work and its verdict is "no": the login is unsafe, accuracy is below the gate, no template
    /// matches. Like `grep` finding nothing, the command worked.
    Verdict,
    /// The question could not be answered with what is configured (the built-in engine abstained).
    Unanswered,
    /// The user's database failed.
    Database,
    /// The LLM endpoint failed or answered unusably.
    Llm,
    /// DataGenie's own state or a bug.
    Internal,
}

macro_rules! error_codes {
    ($( $(#[$doc:meta])* $variant:ident => ($name:literal, $kind:ident, $http:literal, $exit:literal) ),+ $(,)?) => {
        /// A stable error code. See the table in this file; `datagenie` prints it as `error.code`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode { $( $(#[$doc])* $variant ),+ }

        impl ErrorCode {
            /// Every code, in table order.
            pub const ALL: &'static [ErrorCode] = &[ $( ErrorCode::$variant ),+ ];

            /// The stable snake_case name clients match on.
            pub fn as_str(self) -> &'static str {
                match self { $( ErrorCode::$variant => $name ),+ }
            }

            pub fn kind(self) -> ErrorKind {
                match self { $( ErrorCode::$variant => ErrorKind::$kind ),+ }
            }

            /// The HTTP status the server answers with.
            pub fn http_status(self) -> u16 {
                match self { $( ErrorCode::$variant => $http ),+ }
            }

            /// The CLI's exit status: 1 for a refusal or a check's "no" verdict, 2 for an error.
            pub fn exit_status(self) -> u8 {
                match self { $( ErrorCode::$variant => $exit ),+ }
            }
        }
    };
}

error_codes! {
    // name => ("code", kind, HTTP status, CLI exit status)
    // --- bad input and configuration
    /// The question is empty or longer than the limit.
    InvalidQuestion => ("invalid_question", InvalidRequest, 400, 2),
    /// A command-line argument or request field is malformed.
    InvalidArgument => ("invalid_argument", InvalidRequest, 400, 2),
    /// The configuration file or environment is invalid (unknown key, wrong type, bad value).
    InvalidConfig => ("invalid_config", InvalidRequest, 400, 2),
    /// A database URL that DataGenie cannot use (unknown scheme, malformed).
    InvalidDatabaseUrl => ("invalid_database_url", InvalidRequest, 400, 2),
    /// The database file does not exist.
    DatabaseNotFound => ("database_not_found", InvalidRequest, 404, 2),
    /// The file exists but is not a database of the expected engine.
    NotADatabase => ("not_a_database", InvalidRequest, 400, 2),
    /// No such user, connection, session, key, history entry or setting (or not one the caller may see).
    NotFound => ("not_found", InvalidRequest, 404, 2),
    /// A name or email that is already taken.
    AlreadyExists => ("already_exists", InvalidRequest, 409, 2),
    /// A request body over the size limit.
    PayloadTooLarge => ("payload_too_large", InvalidRequest, 413, 2),
    /// A spreadsheet or CSV file that holds nothing to read (no bytes, no rows).
    EmptyFile => ("empty_file", InvalidRequest, 422, 2),
    /// A file that cannot be read as the spreadsheet it claims to be: corrupt, truncated, binary, an executable.
    InvalidFile => ("invalid_file", InvalidRequest, 422, 2),
    /// A password-protected (encrypted) workbook.
    EncryptedFile => ("encrypted_file", InvalidRequest, 422, 2),
    /// A file over a limit: its size, a line's length, or what it decompresses to.
    FileTooLarge => ("file_too_large", InvalidRequest, 413, 2),
    /// Knowledge (a glossary entry, a description, a document, `glossary.toml` or `descriptions.toml`) that is
    /// malformed, has an unknown key or exceeds a bound.
    InvalidKnowledge => ("invalid_knowledge", InvalidRequest, 422, 2),

    // --- who may do what
    /// No valid credentials: a missing, malformed, expired or revoked token or key, or a wrong password.
    Unauthenticated => ("unauthenticated", Refused, 401, 1),
    /// The caller's role or permissions do not allow this.
    Forbidden => ("forbidden", Refused, 403, 1),
    /// A token limit (hourly, daily, monthly) is used up.
    QuotaExceeded => ("quota_exceeded", Refused, 429, 1),
    /// Not enough credits left for what was asked (an LLM-answered question, a deduction).
    InsufficientCredits => ("insufficient_credits", Refused, 402, 1),
    /// Too many requests or failed logins in a short time: try again after `Retry-After`.
    RateLimited => ("rate_limited", Refused, 429, 1),

    // --- the SQL guard (refusals)
    /// The SQL did not parse in the connection's dialect.
    ParseError => ("parse_error", Refused, 422, 1),
    /// No SQL statement at all.
    EmptySql => ("empty_sql", Refused, 422, 1),
    /// More than one statement.
    MultipleStatements => ("multiple_statements", Refused, 422, 1),
    /// A statement that is not a read-only query.
    NotAQuery => ("not_a_query", Refused, 422, 1),
    /// A data-modifying statement inside a query (e.g. a CTE that deletes).
    DataModifyingQuery => ("data_modifying_query", Refused, 422, 1),
    /// `SELECT … INTO`, `INTO OUTFILE`, `INTO DUMPFILE`.
    IntoClause => ("into_clause", Refused, 422, 1),
    /// `FOR UPDATE`, `FOR SHARE`, `LOCK IN SHARE MODE`.
    LockingClause => ("locking_clause", Refused, 422, 1),
    /// A function outside the dialect's allow-list of side-effect-free functions.
    ForbiddenFunction => ("forbidden_function", Refused, 422, 1),
    /// A table, view or catalog outside the policy.
    ForbiddenTable => ("forbidden_table", Refused, 403, 1),
    /// A column outside the policy.
    ForbiddenColumn => ("forbidden_column", Refused, 403, 1),
    /// A construct the guard does not allow (executable comments, unknown syntax shapes).
    ForbiddenConstruct => ("forbidden_construct", Refused, 422, 1),

    // --- the database
    /// Opening or talking to the database failed.
    DatabaseUnavailable => ("database_unavailable", Database, 503, 2),
    /// The database refused or failed the query.
    QueryFailed => ("query_failed", Database, 422, 2),
    /// The query ran past its time limit and was stopped.
    QueryTimeout => ("query_timeout", Database, 504, 2),
    /// The database refused a write (read-only enforcement below the guard).
    ReadOnlyViolation => ("read_only_violation", Refused, 403, 1),
    /// `datagenie doctor`: the login could write, the session is not read-only, or the time limit is not enforced.
    UnsafeLogin => ("unsafe_login", Verdict, 422, 1),

    // --- the LLM
    /// No LLM is configured, and the request needs one.
    LlmNotConfigured => ("llm_not_configured", Llm, 503, 2),
    /// The LLM endpoint could not be reached.
    LlmUnreachable => ("llm_unreachable", Llm, 502, 2),
    /// The LLM endpoint refused the credentials.
    LlmAuthFailed => ("llm_auth_failed", Llm, 502, 2),
    /// The LLM endpoint kept answering 429 after all retries.
    LlmRateLimited => ("llm_rate_limited", Llm, 503, 2),
    /// The LLM did not answer within its time limit.
    LlmTimeout => ("llm_timeout", Llm, 504, 2),
    /// The LLM answered with something that is not a valid response.
    LlmBadResponse => ("llm_bad_response", Llm, 502, 2),
    /// The LLM's reply contained no SQL.
    LlmNoSql => ("llm_no_sql", Llm, 422, 2),
    /// The built-in engine (no LLM) is not confident enough to answer; it abstains rather than guess.
    NotUnderstood => ("not_understood", Unanswered, 422, 2),

    // --- templates and checks
    /// A template whose SQL does not pass the guard, or whose slots and placeholders do not correspond.
    InvalidTemplate => ("invalid_template", InvalidRequest, 400, 2),
    /// No template of that name or id.
    TemplateNotFound => ("template_not_found", InvalidRequest, 404, 2),
    /// `datagenie template test`: no verified template answers the question.
    NoTemplateMatch => ("no_template_match", Verdict, 404, 1),
    /// `datagenie eval --min-accuracy`: the measured accuracy is below the gate.
    AccuracyBelowThreshold => ("accuracy_below_threshold", Verdict, 422, 1),
    /// DataGenie's own system database (templates, usage) could not be opened or written.
    SystemDatabase => ("system_database", Internal, 500, 2),

    /// Redis, where the servers share their caches, did not answer an operation that needs it (a purge).
    CacheUnavailable => ("cache_unavailable", Internal, 503, 2),
    /// The server gave up on a request that took longer than its limit (`server.request_timeout_secs`).
    RequestTimeout => ("request_timeout", Internal, 503, 2),
    // --- output
    /// Writing an output file (chart, report) failed.
    OutputFailed => ("output_failed", Internal, 500, 2),
    /// A bug: something that should not happen.
    Internal => ("internal", Internal, 500, 2),
}

impl ErrorCode {
    /// A refusal of the SQL guard: the SQL itself is not allowed (another query may be).
    pub fn is_guard_refusal(self) -> bool {
        matches!(
            self,
            ErrorCode::ParseError
                | ErrorCode::EmptySql
                | ErrorCode::MultipleStatements
                | ErrorCode::NotAQuery
                | ErrorCode::DataModifyingQuery
                | ErrorCode::IntoClause
                | ErrorCode::LockingClause
                | ErrorCode::ForbiddenFunction
                | ErrorCode::ForbiddenTable
                | ErrorCode::ForbiddenColumn
                | ErrorCode::ForbiddenConstruct
        )
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// An error with a stable code and a message meant for the person who caused it. Messages never contain secrets.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    pub code: ErrorCode,
    pub message: String,
}

impl Error {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Error { code, message: message.into() }
    }

    /// Prefix the message with context, keeping the code.
    pub fn context(mut self, context: impl fmt::Display) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_snake_case() {
        let mut seen = HashSet::new();
        for code in ErrorCode::ALL {
            let name = code.as_str();
            assert!(seen.insert(name), "duplicate code {name}");
            assert!(name.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{name} is not snake_case");
        }
    }

    #[test]
    fn refusals_and_verdicts_exit_one_and_errors_two() {
        for code in ErrorCode::ALL {
            let expected = match code.kind() {
                ErrorKind::Refused | ErrorKind::Verdict => 1,
                _ => 2,
            };
            assert_eq!(code.exit_status(), expected, "{code}");
        }
    }

    #[test]
    fn codes_are_filed_under_their_true_kind() {
        assert_eq!(ErrorCode::UnsafeLogin.kind(), ErrorKind::Verdict);
        assert_eq!(ErrorCode::AccuracyBelowThreshold.kind(), ErrorKind::Verdict);
        assert_eq!(ErrorCode::NoTemplateMatch.kind(), ErrorKind::Verdict);
        assert_eq!(ErrorCode::NotUnderstood.kind(), ErrorKind::Unanswered);
        assert_eq!(ErrorCode::NotUnderstood.exit_status(), 2);
        assert_eq!(ErrorCode::ForbiddenTable.kind(), ErrorKind::Refused);
        assert_eq!(ErrorCode::ForbiddenTable.http_status(), 403);
    }

    #[test]
    fn http_statuses_are_errors() {
        for code in ErrorCode::ALL {
            assert!((400..600).contains(&code.http_status()), "{code}");
        }
    }
}
