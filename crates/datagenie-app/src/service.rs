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
use datagenie_store::model::{
    Channel, Connection as StoredConnection, CreditChange, CreditKind, NewAuditEntry, Permission, QueryStatus,
    QuestionContext, RecordedQuestion, Role, TokenLimits, UsageTotals, User,
};
use datagenie_store::{KnowledgeStore, Store, TemplateStore};

use crate::access::{Access, access_for};
use crate::ask::{Answer, AskContext, AskFailure, AskOptions, AskRequest, Progress, RequestKind, SessionContext};
use crate::config::Config;
use crate::knowledge::Library;
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
    /// The API key presented (its id, never the key), when the caller authenticated with one.
    pub api_key_id: Option<String>,
    /// The door: the HTTP API (and the web UI) or MCP.
    pub channel: Channel,
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
    /// The most rows instead of the interactive default (`ask.max_rows`): a long export's cap. The grant's own
    /// row limit still applies. `None`: the default.
    pub row_ceiling: Option<usize>,
    /// A question, or SQL the caller wrote (in `question`).
    pub kind: RequestKind,
    /// The id its history row gets (a queued job's id, so that it is recorded once however often it is run;
    /// recording it again is `already_exists`). `None`: a new id.
    pub history_id: Option<String>,
}

/// A question's outcome and where it was recorded.
#[derive(Debug)]
pub struct Asked {
    pub outcome: Result<Answer, AskFailure>,
    pub recorded: RecordedQuestion,
    pub connection_id: String,
    pub session_id: Option<String>,
}

/// The server's knowledge library: the system database's knowledge items (`/api/v1/knowledge`, filed under each
/// database's connection key), the verified templates and the verified history of each stored connection, embedded
/// through the configured `[embeddings]` endpoint, if any. No knowledge folder: a folder names no database, and a
/// server serves many, so what it knows of each database comes in through the API, filed under that database.
pub fn server_library(
    config: &Config,
    knowledge: Option<KnowledgeStore>,
    templates: Option<Arc<TemplateStore>>,
    history: Arc<dyn Store>,
) -> Result<Library, Error> {
    Ok(Library::new(knowledge, None, templates, Some(history), crate::providers::build_embeddings(config)?))
}

/// The question path of the server.
pub struct QuestionService {
    pub store: Arc<dyn Store>,
    pub context: Arc<AskContext>,
    pub registry: Registry,
    pub defaults: QuestionDefaults,
    /// The result and LLM caches every question uses, with their times to live (the `cache_ttl_seconds` setting,
    /// kept current by the server). `None`: nothing is cached.
    cache: std::sync::RwLock<Option<crate::answer_cache::CachePlan>>,
    /// Tiers and credits in force (the settings, kept current by the server).
    billing: std::sync::RwLock<crate::billing::Billing>,
}

impl QuestionService {
    pub fn new(store: Arc<dyn Store>, context: Arc<AskContext>, defaults: QuestionDefaults) -> QuestionService {
        QuestionService {
            registry: Registry::new(store.clone()),
            store,
            context,
            defaults,
            cache: std::sync::RwLock::new(None),
            billing: std::sync::RwLock::new(crate::billing::Billing::default()),
        }
    }

    /// Sets the tiers and credits questions are held to from now on.
    pub fn set_billing(&self, billing: crate::billing::Billing) {
        *self.billing.write().unwrap_or_else(|p| p.into_inner()) = billing;
    }

    /// The tiers and credits in force.
    pub fn billing(&self) -> crate::billing::Billing {
        self.billing.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Sets the caches questions use from now on.
    pub fn set_cache(&self, plan: Option<crate::answer_cache::CachePlan>) {
        *self.cache.write().unwrap_or_else(|p| p.into_inner()) = plan;
    }

    /// The caches in use.
    pub fn cache(&self) -> Option<crate::answer_cache::CachePlan> {
        self.cache.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Asks `params.question` of `params.connection` as `caller`. `progress` receives the pipeline's events.
    /// Errors (nothing recorded): `invalid_question`, `invalid_argument`, `not_found` (connection or session).
    /// With [`RequestKind::Sql`] the caller's SQL goes through the same grant, limits, guard and records.
    pub async fn ask(
        &self,
        caller: &Caller,
        params: AskParams,
        progress: Option<tokio::sync::mpsc::UnboundedSender<Progress>>,
    ) -> Result<Asked, Error> {
        let question = match params.kind {
            RequestKind::Question => Question::parse(&params.question)?,
            RequestKind::Sql => Question::sql(&params.question)?,
        };
        // One read: the connection, the grant and the usage the token limits need.
        let now = time::OffsetDateTime::now_utc();
        let billing = self.billing();
        // the user's token limits, capped by their tier's when billing applies to them
        let limits = billing.limits_of(&caller.user);
        let since = crate::quota::limited_since(&limits, now);
        let context = self
            .store
            .question_context(&caller.user.id, &params.connection, &since)
            .await?
            .filter(|c| c.connection.active || caller.user.role == Role::Admin)
            .ok_or_else(|| Error::new(ErrorCode::NotFound, format!("no connection '{}'", params.connection)))?;
        let QuestionContext { connection, permission, usage } = context;
        let earlier = match &params.session_id {
            Some(id) => self.earlier(caller, &connection, id).await?,
            None => Vec::new(),
        };
        let file_info = connection.file.as_ref().and_then(|f| serde_json::to_value(f).ok());
        let asked = AskedWhat {
            user_id: &caller.user.id,
            connection_id: Some(&connection.id),
            session_id: params.session_id.as_deref(),
            question: question.as_str(),
            sql: params.kind == RequestKind::Sql,
            api_key_id: caller.api_key_id.as_deref(),
            channel: Some(caller.channel),
            file_info: file_info.as_ref(),
        };
        let started = std::time::Instant::now();
        // Credits: a question that may reach the LLM holds its cost first (refunded below unless the LLM answered).
        let mut held = None;
        let mut llm_refusal = None;
        let prepared = self.prepare(caller, &connection, permission.as_ref(), &limits, &usage, now).await;
        let prepared = match prepared {
            Ok(p) if params.kind == RequestKind::Question && self.context.llm.is_some() => {
                match self.hold_credits(&billing, &caller.user, now).await {
                    Ok(h) => {
                        held = h;
                        Ok(p)
                    }
                    Err(e) if e.code == ErrorCode::InsufficientCredits => {
                        llm_refusal = Some(e);
                        Ok(p)
                    }
                    Err(e) => Err(e),
                }
            }
            other => other,
        };
        let outcome = match prepared {
            Ok((access, open, budget)) => {
                let options = AskOptions {
                    limits: Limits {
                        max_rows: access.rows({
                            let ceiling = params.row_ceiling.unwrap_or(self.defaults.max_rows);
                            params.max_rows.map_or(ceiling, |n| n.min(ceiling)).max(1)
                        }),
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
                    cache: self.cache(),
                    llm_refusal,
                };
                let request = AskRequest {
                    question: question.clone(),
                    kind: params.kind,
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
        let mut record = match &outcome {
            Ok(answer) => record::answered(&asked, answer),
            Err(failure) => record::failed(&asked, failure),
        };
        if let Some(id) = params.history_id {
            record.entry.id = id;
        }
        record.audit = Some(audit_entry(caller, &connection, params.kind, record.entry.status, &outcome));
        let recorded = self.store.record_question(record).await?;
        if let Some(cost) = held {
            self.settle_credits(&caller.user, cost, &outcome, &recorded.history_id).await;
        }
        Ok(Asked { outcome, recorded, connection_id: connection.id, session_id: params.session_id })
    }

    /// Holds a question's credits when billing applies to `user`: one atomic debit (after the tier's monthly
    /// credits, on the first question of a month). `Ok(None)`: nothing to hold.
    async fn hold_credits(
        &self,
        billing: &crate::billing::Billing,
        user: &User,
        now: time::OffsetDateTime,
    ) -> Result<Option<i64>, Error> {
        let cost = billing.credits_per_question;
        let Some(tier) = billing.tier_of(user).filter(|_| cost > 0) else { return Ok(None) };
        self.store
            .apply_credits(CreditChange {
                user_id: user.id.clone(),
                amount: -cost,
                kind: CreditKind::Question,
                history_id: None,
                description: Some("a question (held until answered)".into()),
                by: None,
                monthly: Some((tier.monthly_credits, crate::billing::month_start(now))),
            })
            .await?;
        Ok(Some(cost))
    }

    /// Keeps the held credits of a question the LLM answered (with tokens spent), and refunds the others: a
    /// template's, the built-in engine's or a cached reply's answer, and a failure.
    async fn settle_credits(&self, user: &User, cost: i64, outcome: &Result<Answer, AskFailure>, history_id: &str) {
        let by_llm = matches!(outcome, Ok(a) if matches!(a.source, crate::ask::AnswerSource::Llm { .. })
            && a.usage.prompt_tokens + a.usage.completion_tokens > 0);
        if by_llm {
            return;
        }
        let refund = CreditChange {
            user_id: user.id.clone(),
            amount: cost,
            kind: CreditKind::Refund,
            history_id: Some(history_id.to_string()),
            description: Some(if outcome.is_ok() { "answered without the LLM" } else { "not answered" }.into()),
            by: None,
            monthly: None,
        };
        if let Err(e) = self.store.apply_credits(refund).await {
            tracing::error!(code = %e.code, error = %e.message, user = %user.id, "a refund failed");
        }
    }

    /// The user's access, the open connection and the token budget; a refusal here is the question's outcome.
    async fn prepare(
        &self,
        caller: &Caller,
        connection: &StoredConnection,
        permission: Option<&Permission>,
        limits: &TokenLimits,
        usage: &[UsageTotals],
        now: time::OffsetDateTime,
    ) -> Result<(Access, Arc<crate::ask::Connection>, Option<crate::ask::TokenBudget>), Error> {
        let access = access_for(&caller.user, &connection.name, permission)?;
        let budget = crate::quota::budget_from(limits, usage, now);
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
}

/// The question's audit row: who, from where, what happened and why it failed (the store adds the history id and
/// appends it in the transaction that records the question).
fn audit_entry(
    caller: &Caller,
    connection: &StoredConnection,
    kind: RequestKind,
    status: QueryStatus,
    outcome: &Result<Answer, AskFailure>,
) -> NewAuditEntry {
    let (reason, source) = match outcome {
        Ok(answer) => (None, serde_json::to_value(&answer.source).ok()),
        Err(f) => (Some(format!("{}: {}", f.error.code, f.error.message)), None),
    };
    let action = match kind {
        RequestKind::Question => "question.ask",
        RequestKind::Sql => "question.sql",
    };
    NewAuditEntry {
        user_id: Some(caller.user.id.clone()),
        action: action.into(),
        resource_type: "connection".into(),
        resource_id: Some(connection.id.clone()),
        old_values: None,
        new_values: Some(serde_json::json!({
            "status": status.as_str(),
            "source": source,
            "channel": caller.channel.as_str(),
            "api_key_id": caller.api_key_id,
        })),
        ip_address: caller.ip_address.clone(),
        user_agent: caller.user_agent.clone(),
        request_id: caller.request_id.clone(),
        success: outcome.is_ok(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datagenie_store::crypto::SecretBox;
    use datagenie_store::model::{
        AuditFilter, HistoryFilter, NewConnection, NewUser, PageRequest, Permission, Timestamp, TokenLimits,
    };
    use datagenie_store::sqlite_store::SqliteStore;

    use crate::ask::AnswerSource;
    use crate::config::Config;
    use crate::privacy::Privacy;
    use crate::schema_cache::SchemaCache;

    struct World {
        _dir: tempfile::TempDir,
        store: Arc<dyn Store>,
        service: QuestionService,
        connection: StoredConnection,
    }

    async fn world() -> World {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("shop.db");
        let c = rusqlite::Connection::open(&db).expect("create");
        c.execute_batch(
            "CREATE TABLE orders (id INTEGER PRIMARY KEY, region TEXT NOT NULL, amount REAL NOT NULL);
             CREATE TABLE payments (id INTEGER PRIMARY KEY, order_id INTEGER REFERENCES orders(id), card TEXT);
             INSERT INTO orders VALUES (1, 'APAC', 10), (2, 'APAC', 20), (3, 'EMEA', 5);
             INSERT INTO payments VALUES (1, 1, '4111'), (2, 2, '4242');",
        )
        .expect("fill");
        drop(c);
        let store: Arc<dyn Store> =
            Arc::new(SqliteStore::open(&dir.path().join("datagenie.db"), SecretBox::new(&[7u8; 32])).expect("store"));
        let connection = store
            .create_connection(NewConnection {
                file: None,
                name: "shop".into(),
                display_name: "Shop".into(),
                description: None,
                engine: datagenie_store::model::Engine::Sqlite,
                url: db.display().to_string().parse().expect("url"),
                display_url: db.display().to_string(),
                pool_size: 2,
                created_by: None,
            })
            .await
            .expect("connection");
        let context = AskContext {
            llm: None,
            llm_in_force: Config::default().llm_in_force(),
            prices: Default::default(),
            cache: SchemaCache::new(dir.path().join("cache"), Duration::from_secs(60)),
            privacy: Privacy::default(),
            templates: None,
            builtin_first: false,
            knowledge: Default::default(),
            library: None,
        };
        let defaults = QuestionDefaults {
            max_rows: 1000,
            timeout: Duration::from_secs(5),
            max_attempts: 2,
            summary: true,
            schema_budget_tokens: 4000,
            temperature: 0.0,
            max_tokens: 256,
        };
        let service = QuestionService::new(store.clone(), Arc::new(context), defaults);
        World { _dir: dir, store, service, connection }
    }

    async fn user(store: &dyn Store, name: &str, role: Role) -> User {
        store
            .create_user(NewUser {
                username: name.into(),
                email: format!("{name}@example.com"),
                password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA".into(),
                full_name: None,
                role,
                limits: TokenLimits::default(),
            })
            .await
            .expect("user")
    }

    fn caller(user: &User) -> Caller {
        Caller {
            user: user.clone(),
            ip_address: Some("10.0.0.7".into()),
            user_agent: Some("test".into()),
            request_id: Some("req-1".into()),
            api_key_id: None,
            channel: Channel::Http,
        }
    }

    fn params(question: &str) -> AskParams {
        AskParams {
            row_ceiling: None,
            connection: "shop".into(),
            question: question.into(),
            session_id: None,
            max_rows: None,
            kind: RequestKind::Question,
            history_id: None,
        }
    }

    #[tokio::test]
    async fn a_grant_decides_what_a_viewer_may_read_and_every_outcome_is_recorded() {
        let w = world().await;
        let viewer = user(w.store.as_ref(), "viewer", Role::Viewer).await;
        w.store
            .put_permission(Permission {
                user_id: viewer.id.clone(),
                connection_id: w.connection.id.clone(),
                can_query: true,
                allowed_schemas: None,
                allowed_tables: Some(vec!["orders".into()]),
                row_filters: vec![datagenie_store::model::RowFilter {
                    table: "orders".into(),
                    condition: "region = {user.region}".into(),
                }],
                attributes: [("region".to_string(), serde_json::json!("APAC"))].into_iter().collect(),
                max_rows: None,
                max_seconds: None,
                can_unmask: false,
                updated_at: Timestamp::now(),
            })
            .await
            .expect("grant");

        let asked = w.service.ask(&caller(&viewer), params("How many orders are there?"), None).await.expect("asked");
        let answer = asked.outcome.as_ref().expect("answered");
        assert!(matches!(answer.source, AnswerSource::Builtin { .. }));
        assert_eq!(answer.rows, vec![vec![datagenie_core::value::Value::Int(2)]], "APAC only");

        let refused =
            w.service.ask(&caller(&viewer), params("How many payments are there?"), None).await.expect("asked");
        let failure = refused.outcome.as_ref().expect_err("refused");
        assert_eq!(failure.error.code, ErrorCode::ForbiddenTable);
        assert!(failure.error.message.contains("payments"), "{}", failure.error.message);

        let history = w
            .store
            .list_history(
                &HistoryFilter { user_id: Some(viewer.id.clone()), ..Default::default() },
                &PageRequest::first(10),
            )
            .await
            .expect("history");
        let statuses: Vec<QueryStatus> = history.items.iter().map(|h| h.status).collect();
        assert_eq!(statuses, vec![QueryStatus::Refused, QueryStatus::Success], "newest first");
        assert_eq!(history.items[0].id, refused.recorded.history_id);
        let audit = w.store.list_audit(&AuditFilter::default(), &PageRequest::first(10)).await.expect("audit");
        assert_eq!(audit.items.len(), 2);
        let last = &audit.items[0];
        assert_eq!((last.action.as_str(), last.ip_address.as_deref()), ("question.ask", Some("10.0.0.7")));
        assert!(last.reason.as_deref().is_some_and(|r| r.starts_with("forbidden_table") && r.contains("payments")));
        assert_eq!(w.store.verify_audit().await.expect("verify"), Ok(2));
    }

    #[tokio::test]
    async fn without_a_grant_the_question_is_refused_and_recorded() {
        let w = world().await;
        let stranger = user(w.store.as_ref(), "stranger", Role::User).await;
        let asked = w.service.ask(&caller(&stranger), params("How many orders are there?"), None).await.expect("asked");
        assert_eq!(asked.outcome.as_ref().err().map(|f| f.error.code), Some(ErrorCode::Forbidden));
        let entry = w.store.history_entry(&asked.recorded.history_id).await.expect("read").expect("recorded");
        assert_eq!((entry.status, entry.error_code.as_deref()), (QueryStatus::Refused, Some("forbidden")));

        // Admins need no grant.
        let admin = user(w.store.as_ref(), "admin", Role::Admin).await;
        let asked = w.service.ask(&caller(&admin), params("How many payments are there?"), None).await.expect("asked");
        assert!(asked.outcome.is_ok());

        // Before the question exists, nothing is recorded: an unknown connection, a bad question, a stranger's session.
        let unknown = AskParams { connection: "nope".into(), ..params("How many orders?") };
        assert_eq!(
            w.service.ask(&caller(&admin), unknown, None).await.err().map(|e| e.code),
            Some(ErrorCode::NotFound)
        );
        assert_eq!(
            w.service.ask(&caller(&admin), params("  "), None).await.err().map(|e| e.code),
            Some(ErrorCode::InvalidQuestion)
        );
        let session = w.store.create_chat_session(&stranger.id, Some(&w.connection.id), None).await.expect("session");
        let theirs = AskParams { session_id: Some(session.id), ..params("How many orders?") };
        assert_eq!(w.service.ask(&caller(&admin), theirs, None).await.err().map(|e| e.code), Some(ErrorCode::NotFound));
        let all = w.store.list_history(&HistoryFilter::default(), &PageRequest::first(50)).await.expect("history");
        assert_eq!(all.items.len(), 2);
    }

    #[tokio::test]
    async fn a_session_keeps_its_messages_in_order() {
        let w = world().await;
        let admin = user(w.store.as_ref(), "admin", Role::Admin).await;
        let session = w.store.create_chat_session(&admin.id, Some(&w.connection.id), Some("orders")).await.expect("s");
        for q in ["How many orders are there?", "How many payments are there?"] {
            let p = AskParams { session_id: Some(session.id.clone()), ..params(q) };
            let asked = w.service.ask(&caller(&admin), p, None).await.expect("asked");
            assert!(asked.recorded.message_id.is_some());
        }
        let messages = w.store.recent_chat_messages(&session.id, 10).await.expect("messages");
        let roles: Vec<_> = messages.iter().map(|m| (m.sequence, m.role)).collect();
        use datagenie_store::model::MessageRole::{Assistant, User as Asker};
        assert_eq!(roles, vec![(1, Asker), (2, Assistant), (3, Asker), (4, Assistant)]);
        let turns = crate::record::earlier_turns(&messages);
        assert_eq!(turns.len(), 2);
        assert!(
            turns[1].sql.contains("payments") && turns[1].result.as_deref().is_some_and(|r| r.starts_with("1 row"))
        );
    }
}
