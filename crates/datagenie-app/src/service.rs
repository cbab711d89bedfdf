//! A question asked of a stored connection by an authenticated user — the one path the HTTP API and MCP share:
//! the connection and the user's grant, the token budget, the session's earlier turns, the pipeline, and then the
//! record of it all (history with its cost, chat messages, the audit trail), whatever the outcome.
//!
//! Errors before the question exists (a malformed question, an unknown connection or session) are returned as
//! errors and recorded nowhere. From the grant check on, every outcome — answered, refused, failed — is recorded
//! and returned as [`Asked`].

use std::sync::Arc;
use std::time::Duration;

use datagenie_core::connector::Limits;
use datagenie_core::{Error, ErrorCode, Question};
use datagenie_store::Store;
use datagenie_store::model::{
    Connection as StoredConnection, NewAuditEntry, QueryStatus, RecordedQuestion, Role, User,
};

use crate::access::{Access, access_for};
use crate::ask::{Answer, AskContext, AskFailure, AskOptions, AskRequest, Progress, SessionContext};
use crate::record::{self, Asked as AskedWhat};
use crate::registry::Registry;

/// Turns of a session a follow-up is given.
const EARLIER_MESSAGES: usize = 10;

/// The defaults of every question (from configuration); a grant can only lower them.
#[derive(Debug, Clone, PartialEq)]
pub struct QuestionDefaults {
    pub max_rows: usize,
    pub timeout: Duration,
    pub max_attempts: u32,
    pub summary: bool,
    pub schema_budget_tokens: usize,
    pub temperature: f32,
    pub max_tokens: u32,
}

/// Who is asking, and from where (for the audit trail).
#[derive(Debug, Clone, PartialEq)]
pub struct Caller {
    pub user: User,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
}

/// What is asked.
#[derive(Debug, Clone, PartialEq)]
pub struct AskParams {
    /// The connection's id or name.
    pub connection: String,
    pub question: String,
    pub session_id: Option<String>,
    /// Fewer rows than the defaults or the grant allow.
    pub max_rows: Option<usize>,
}

/// A question's outcome and where it was recorded.
#[derive(Debug)]
pub struct Asked {
    pub outcome: Result<Answer, AskFailure>,
    pub recorded: RecordedQuestion,
    pub connection_id: String,
    pub session_id: Option<String>,
}

/// The question path of the server.
pub struct QuestionService {
    pub store: Arc<dyn Store>,
    pub context: Arc<AskContext>,
    pub registry: Registry,
    pub defaults: QuestionDefaults,
}

impl QuestionService {
    pub fn new(store: Arc<dyn Store>, context: Arc<AskContext>, defaults: QuestionDefaults) -> QuestionService {
        QuestionService { registry: Registry::new(store.clone()), store, context, defaults }
    }

    /// Asks `params.question` of `params.connection` as `caller`. `progress` receives the pipeline's events.
    /// Errors (nothing recorded): `invalid_question`, `invalid_argument`, `not_found` (connection or session).
    pub async fn ask(
        &self,
        caller: &Caller,
        params: AskParams,
        progress: Option<tokio::sync::mpsc::UnboundedSender<Progress>>,
    ) -> Result<Asked, Error> {
        let question = Question::parse(&params.question)?;
        let connection = self
            .store
            .connection(&params.connection)
            .await?
            .filter(|c| c.active || caller.user.role == Role::Admin)
            .ok_or_else(|| Error::new(ErrorCode::NotFound, format!("no connection '{}'", params.connection)))?;
        let earlier = match &params.session_id {
            Some(id) => self.earlier(caller, &connection, id).await?,
            None => Vec::new(),
        };
        let asked = AskedWhat {
            user_id: &caller.user.id,
            connection_id: Some(&connection.id),
            session_id: params.session_id.as_deref(),
            question: question.as_str(),
        };
        let started = std::time::Instant::now();
        let outcome = match self.prepare(caller, &connection).await {
            Ok((access, open, budget)) => {
                let options = AskOptions {
                    limits: Limits {
                        max_rows: access.rows(
                            params.max_rows.map_or(self.defaults.max_rows, |n| n.min(self.defaults.max_rows)).max(1),
                        ),
                        timeout: access.time(self.defaults.timeout),
                    },
                    max_attempts: self.defaults.max_attempts,
                    summary: self.defaults.summary,
                    dry_run: false,
                    unmask: access.unmask,
                    schema_budget_tokens: self.defaults.schema_budget_tokens,
                    today: crate::today(),
                    temperature: self.defaults.temperature,
                    max_tokens: self.defaults.max_tokens,
                    token_budget: budget,
                };
                let request = AskRequest {
                    question: question.clone(),
                    connection: &open,
                    policy: access.policy,
                    user: Some(access.requester),
                    session: SessionContext { earlier },
                    options,
                    progress,
                };
                self.context.ask(&request).await
            }
            Err(error) => Err(AskFailure { elapsed: started.elapsed(), ..AskFailure::from(error) }),
        };
        let record = match &outcome {
            Ok(answer) => record::answered(&asked, answer),
            Err(failure) => record::failed(&asked, failure),
        };
        let status = record.entry.status;
        let recorded = self.store.record_question(record).await?;
        self.audit_question(caller, &connection, &recorded, status, &outcome).await?;
        Ok(Asked { outcome, recorded, connection_id: connection.id, session_id: params.session_id })
    }

    /// The user's access, the open connection and the token budget; a refusal here is the question's outcome.
    async fn prepare(
        &self,
        caller: &Caller,
        connection: &StoredConnection,
    ) -> Result<(Access, Arc<crate::ask::Connection>, Option<crate::ask::TokenBudget>), Error> {
        let permission = self.store.permission(&caller.user.id, &connection.id).await?;
        let access = access_for(&caller.user, &connection.name, permission.as_ref())?;
        let budget = crate::quota::budget_of(self.store.as_ref(), &caller.user.id, &caller.user.limits).await?;
        let open = self.registry.get(connection).await?;
        Ok((access, open, budget))
    }

    /// The session's earlier turns, after checking it is the caller's and on this connection.
    async fn earlier(
        &self,
        caller: &Caller,
        connection: &StoredConnection,
        session_id: &str,
    ) -> Result<Vec<datagenie_core::prompt::Turn>, Error> {
        let session = self
            .store
            .chat_session(session_id)
            .await?
            .filter(|s| s.user_id == caller.user.id)
            .ok_or_else(|| Error::new(ErrorCode::NotFound, format!("no session '{session_id}'")))?;
        if session.connection_id.as_deref().is_some_and(|c| c != connection.id) {
            return Err(Error::new(
                ErrorCode::InvalidArgument,
                format!("the session '{session_id}' is about another connection"),
            ));
        }
        let messages = self.store.recent_chat_messages(session_id, EARLIER_MESSAGES).await?;
        Ok(record::earlier_turns(&messages))
    }

    /// One audit row per question: who, where, what happened and why it failed.
    async fn audit_question(
        &self,
        caller: &Caller,
        connection: &StoredConnection,
        recorded: &RecordedQuestion,
        status: QueryStatus,
        outcome: &Result<Answer, AskFailure>,
    ) -> Result<(), Error> {
        let (reason, source) = match outcome {
            Ok(answer) => (None, serde_json::to_value(&answer.source).ok()),
            Err(f) => (Some(format!("{}: {}", f.error.code, f.error.message)), None),
        };
        self.store
            .append_audit(NewAuditEntry {
                user_id: Some(caller.user.id.clone()),
                action: "question.ask".into(),
                resource_type: "connection".into(),
                resource_id: Some(connection.id.clone()),
                old_values: None,
                new_values: Some(serde_json::json!({
                    "history_id": recorded.history_id,
                    "status": status.as_str(),
                    "source": source,
                })),
                ip_address: caller.ip_address.clone(),
                user_agent: caller.user_agent.clone(),
                request_id: caller.request_id.clone(),
                success: outcome.is_ok(),
                reason,
            })
            .await?;
        Ok(())
    }
}
