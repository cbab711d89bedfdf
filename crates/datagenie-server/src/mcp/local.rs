//! The tools on one database from the CLI's configuration (`datagenie mcp --db URL`): the local user, as
//! `datagenie ask` answers — the same pipeline and guard, no grant (the database login's own rights, read-only),
//! no system database records.

use datagenie_app::ask::{AskOptions, AskRequest, RequestKind};
use datagenie_app::session::Session;
use datagenie_core::guard::Policy;
use datagenie_core::{Error, ErrorCode, Question};
use rmcp::model::JsonObject;
use serde_json::json;

use super::view::{self, ConnectionItem};
use super::{AskArgs, ConnectionArgs, DescribeArgs, Done, NoArgs, Outcome, RunSqlArgs, ToolName, args, max_rows};

/// One open database and how its questions are asked.
pub struct Local {
    session: Session,
    /// The answer options from configuration (`ask.*`): the row cap, time limit, attempts, summary.
    options: AskOptions,
    /// The name `list_connections` shows (the database without secrets).
    name: String,
    /// Other names accepted for it: the `--db` value as given.
    aliases: Vec<String>,
}

impl Local {
    /// `given`: the `--db` value as the user wrote it (accepted as the connection's name).
    pub fn new(session: Session, options: AskOptions, given: Option<String>) -> Local {
        let name = session.database.clone();
        Local { session, options, name, aliases: given.into_iter().collect() }
    }

    /// The name the database is listed under.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub(super) async fn call(&self, tool: ToolName, arguments: Option<JsonObject>) -> Outcome {
        match tool {
            ToolName::ListConnections => {
                let NoArgs {} = args(tool, arguments)?;
                let engine = self.session.connection.connector.dialect().as_str().to_string();
                let only = ConnectionItem {
                    id: self.name.clone(),
                    name: self.name.clone(),
                    engine,
                    description: Some("the database `datagenie mcp` was started on".into()),
                };
                Ok(view::connections(&[only]))
            }
            ToolName::DescribeSchema => {
                let a: DescribeArgs = args(tool, arguments)?;
                self.check(a.connection.as_deref())?;
                let (schema, _) = self.session.context.schema(&self.session.connection).await?;
                let mut schema = schema.as_ref().clone();
                if !self.options.unmask {
                    self.session.context.privacy.redact_samples(&mut schema);
                }
                Ok(view::describe(&self.name, &schema, &a, self.options.schema_budget_tokens)?)
            }
            ToolName::Ask => {
                let a: AskArgs = args(tool, arguments)?;
                self.check(a.connection.as_deref())?;
                if a.session_id.is_some() {
                    return Err(Error::new(
                        ErrorCode::InvalidArgument,
                        "sessions are kept by the server: use `datagenie mcp --data-dir … --api-key …` or /mcp",
                    )
                    .into());
                }
                self.ask(Question::parse(&a.question)?, RequestKind::Question, max_rows(a.max_rows)?).await
            }
            ToolName::RunSql => {
                let a: RunSqlArgs = args(tool, arguments)?;
                self.check(a.connection.as_deref())?;
                self.ask(Question::sql(&a.sql)?, RequestKind::Sql, max_rows(a.max_rows)?).await
            }
            ToolName::ListTemplates => {
                let a: ConnectionArgs = args(tool, arguments)?;
                self.check(a.connection.as_deref())?;
                let items = match &self.session.context.templates {
                    Some(store) if !self.session.connection.key.is_empty() => {
                        store.list(Some(&self.session.connection.key)).await?
                    }
                    _ => Vec::new(),
                };
                let mut text = format!("{} template{}:", items.len(), if items.len() == 1 { "" } else { "s" });
                for t in &items {
                    text.push_str(&format!(
                        "\n- {}: {}\n  {}",
                        t.name,
                        t.questions.join(" / "),
                        view::one_line(&t.sql, 400)
                    ));
                }
                Ok(Done { value: json!({ "connection": self.name, "templates": items }), text })
            }
            ToolName::SearchHistory => {
                Err(Error::new(ErrorCode::InvalidArgument, "there is no history without the server's database").into())
            }
        }
    }

    /// The one database answers to its listed name, its `--db` value, or no name at all.
    fn check(&self, named: Option<&str>) -> Result<(), Error> {
        match named.map(str::trim).filter(|n| !n.is_empty()) {
            None => Ok(()),
            Some(n) if n == self.name || self.aliases.iter().any(|a| a == n) => Ok(()),
            Some(n) => Err(Error::new(
                ErrorCode::NotFound,
                format!("no connection '{n}': this server has one, '{}'", self.name),
            )),
        }
    }

    async fn ask(&self, question: Question, kind: RequestKind, rows: usize) -> Outcome {
        let mut options = self.options.clone();
        options.limits.max_rows = rows.min(self.options.limits.max_rows);
        options.today = datagenie_app::today();
        let request = AskRequest {
            question,
            kind,
            connection: &self.session.connection,
            policy: Policy::default(),
            user: None,
            session: Default::default(),
            options,
            progress: None,
        };
        let mut recorded = serde_json::Map::new();
        recorded.insert("connection".into(), self.name.clone().into());
        match self.session.context.ask(&request).await {
            Ok(answer) => Ok(view::answer(&answer, recorded)),
            Err(f) => Err(view::failure(&f, recorded)),
        }
    }
}
