//! `datagenie template add|list|remove|test`: verified query templates, kept in the system database
//! (`<data_dir>/datagenie.db`) that the server uses too. Exit status: 0 done, 1 no template answers (`test`) or the
//! guard refuses the bound SQL, 2 usage and other errors.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, Subcommand, ValueEnum};
use datagenie_app::config::Config;
use datagenie_app::database::DatabaseChoice;
use datagenie_core::guard::{self, Policy};
use datagenie_core::template::NormalizedQuestion;
use datagenie_core::{Error, ErrorCode, Question, SecretUrl};
use datagenie_store::{NewTemplate, Template, TemplateMatch, TemplateStore};

#[derive(Subcommand)]
pub enum TemplateCommand {
    /// Add a verified template: a question (one or more phrasings, with {name:type} slots) and its SQL ({name}
    /// placeholders). The SQL must pass the guard.
    Add(AddArgs),
    /// List templates (of one database with --db).
    List(ListArgs),
    /// Remove a template by id or name.
    Remove(RemoveArgs),
    /// Show which verified template answers a question, its slot values and the SQL that would run; exit 1 when
    /// none does.
    Test(TestArgs),
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TemplateFormat {
    Table,
    Json,
}

#[derive(Args)]
pub struct AddArgs {
    /// A short name, unique per database.
    #[arg(long)]
    name: String,
    /// A phrasing, e.g. 'monthly revenue in {year:int}' or '{year:int}년 월별 매출'. Repeatable; every phrasing has
    /// the same slots. Slot types: int, number, text, date, year, month.
    #[arg(long = "question", value_name = "QUESTION", required = true)]
    questions: Vec<String>,
    /// The SQL, with each slot as a {name} placeholder (outside string literals), or `-` to read it from standard
    /// input.
    #[arg(long)]
    sql: String,
    #[arg(long)]
    description: Option<String>,
    #[arg(long)]
    category: Option<String>,
    /// Visible to every user (the server's API).
    #[arg(long)]
    public: bool,
    /// Store it without answering questions with it until verified.
    #[arg(long)]
    unverified: bool,
    /// Database: sqlite:///path/file.db or a plain path. Default: the configured database, else the demo database.
    #[arg(long, value_name = "URL")]
    db: Option<SecretUrl>,
    #[arg(long, value_enum, default_value = "table")]
    format: TemplateFormat,
}

#[derive(Args)]
pub struct ListArgs {
    /// Only this database's templates. Default: every database's.
    #[arg(long, value_name = "URL")]
    db: Option<SecretUrl>,
    #[arg(long, value_enum, default_value = "table")]
    format: TemplateFormat,
}

#[derive(Args)]
pub struct RemoveArgs {
    /// The template's id or name.
    #[arg(value_name = "ID|NAME")]
    id_or_name: String,
    /// The database whose template NAME is meant, when several databases have one of that name.
    #[arg(long, value_name = "URL")]
    db: Option<SecretUrl>,
}

#[derive(Args)]
pub struct TestArgs {
    /// The question, in Korean or English.
    question: String,
    /// Database: as for `ask` (default: the configured database, else the demo database).
    #[arg(long, value_name = "URL")]
    db: Option<SecretUrl>,
    #[arg(long, value_enum, default_value = "table")]
    format: TemplateFormat,
}

pub async fn run(config_path: Option<PathBuf>, command: TemplateCommand) -> Result<u8, Error> {
    let config = crate::load_config(config_path)?;
    match command {
        TemplateCommand::Add(args) => add(&config, args).await,
        TemplateCommand::List(args) => list(&config, args).await,
        TemplateCommand::Remove(args) => remove(&config, args).await,
        TemplateCommand::Test(args) => test(&config, args).await,
    }
}

/// The configured system database's templates (the servers' too).
async fn open_store(config: &Config) -> Result<Arc<TemplateStore>, Error> {
    Ok(datagenie_app::system::open_catalog(config).await?.templates)
}

fn output_error(e: std::io::Error) -> Error {
    Error::new(ErrorCode::OutputFailed, e.to_string())
}

fn print(text: &str) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes()).and_then(|_| out.flush()).map_err(output_error)
}

fn json_line(value: &impl serde::Serialize) -> Result<String, Error> {
    serde_json::to_string(value).map(|s| s + "\n").map_err(|e| Error::new(ErrorCode::Internal, e.to_string()))
}

async fn add(config: &Config, args: AddArgs) -> Result<u8, Error> {
    let sql = if args.sql.trim() == "-" {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
            .map_err(|e| Error::new(ErrorCode::InvalidArgument, format!("cannot read SQL from standard input: {e}")))?;
        text
    } else {
        args.sql
    };
    let database = DatabaseChoice::resolve(config, args.db.as_ref())?;
    let (connection, dialect) = (database.key()?, database.dialect());
    let store = open_store(config).await?;
    let template = store
        .add(NewTemplate {
            name: args.name,
            description: args.description,
            questions: args.questions,
            sql,
            category: args.category,
            public: args.public,
            verified: !args.unverified,
            connection,
            dialect,
            owner: None,
        })
        .await?;
    match args.format {
        TemplateFormat::Json => print(&json_line(&template)?)?,
        TemplateFormat::Table => {
            print(&format!("added template '{}' ({})\n{}", template.name, template.id, describe(&template)))?
        }
    }
    Ok(0)
}

async fn list(config: &Config, args: ListArgs) -> Result<u8, Error> {
    let connection = match &args.db {
        Some(db) => Some(DatabaseChoice::resolve(config, Some(db))?.key()?),
        None => None,
    };
    let store = open_store(config).await?;
    let all = store.list(connection.as_deref()).await?;
    match args.format {
        TemplateFormat::Json => print(&json_line(&all)?)?,
        TemplateFormat::Table if all.is_empty() => print("no templates\n")?,
        TemplateFormat::Table => {
            let text: Vec<String> = all.iter().map(|t| format!("{} ({})\n{}", t.name, t.id, describe(t))).collect();
            print(&text.join("\n"))?;
        }
    }
    Ok(0)
}

async fn remove(config: &Config, args: RemoveArgs) -> Result<u8, Error> {
    let connection = match &args.db {
        Some(db) => Some(DatabaseChoice::resolve(config, Some(db))?.key()?),
        None => None,
    };
    let store = open_store(config).await?;
    let removed = store.remove(&args.id_or_name, connection.as_deref()).await?;
    print(&format!("removed template '{}' ({})\n", removed.name, removed.id))?;
    Ok(0)
}

async fn test(config: &Config, args: TestArgs) -> Result<u8, Error> {
    let question = Question::parse(&args.question)?;
    let database = DatabaseChoice::resolve(config, args.db.as_ref())?;
    let (connection, dialect) = (database.key()?, database.dialect());
    let store = open_store(config).await?;
    let all = store.matches(&connection, dialect, &question, true).await?;
    let normalized = NormalizedQuestion::new(question.as_str()).canonical();
    let Some(found) = all.iter().find(|m| m.template.verified) else {
        let drafts: Vec<&str> = all.iter().map(|m| m.template.name.as_str()).collect();
        match args.format {
            TemplateFormat::Json => print(&json_line(&serde_json::json!({
                "matched": false,
                "code": ErrorCode::NoTemplateMatch.as_str(),
                "normalized": normalized,
                "unverified_matches": drafts,
            }))?)?,
            TemplateFormat::Table => {
                let mut text = format!("no verified template answers this question\n  normalized: {normalized}\n");
                if !drafts.is_empty() {
                    text.push_str(&format!("  unverified templates that match: {}\n", drafts.join(", ")));
                }
                print(&text)?;
            }
        }
        return Ok(ErrorCode::NoTemplateMatch.exit_status());
    };
    // The bound SQL is what `ask` would run: show the guard's verdict on it too.
    let guarded = guard::check(&found.sql, dialect, &Policy::default());
    match args.format {
        TemplateFormat::Json => {
            let values: serde_json::Map<String, serde_json::Value> = found
                .values
                .iter()
                .map(|b| (b.name.clone(), serde_json::to_value(&b.value).unwrap_or(serde_json::Value::Null)))
                .collect();
            let refusal =
                guarded.as_ref().err().map(|e| serde_json::json!({"code": e.code.as_str(), "message": e.message}));
            print(&json_line(&serde_json::json!({
                "matched": true,
                "template": {"id": found.template.id, "name": found.template.name},
                "phrasing": found.phrasing,
                "values": values,
                "sql": found.sql,
                "accepted": guarded.is_ok(),
                "refusal": refusal,
                "normalized": normalized,
            }))?)?;
        }
        TemplateFormat::Table => print(&match_text(found, &guarded, &normalized))?,
    }
    Ok(if guarded.is_ok() { 0 } else { 1 })
}

fn match_text(found: &TemplateMatch, guarded: &Result<datagenie_core::GuardedSql, Error>, normalized: &str) -> String {
    let mut text = format!("template: {} ({})\nphrasing: {}\n", found.template.name, found.template.id, found.phrasing);
    if found.values.is_empty() {
        text.push_str("slots: (none)\n");
    } else {
        let slots: Vec<String> = found.values.iter().map(|b| format!("{} = {}", b.name, b.value)).collect();
        text.push_str(&format!("slots: {}\n", slots.join(", ")));
    }
    text.push_str(&format!("normalized: {normalized}\n"));
    match guarded {
        Ok(sql) => text.push_str(&format!("sql: {}\n", sql.as_str())),
        Err(e) => text.push_str(&format!("sql: {}\nrefused by the guard: {}: {}\n", found.sql, e.code, e.message)),
    }
    text
}

/// A template's details, indented, for the table format.
fn describe(t: &Template) -> String {
    let mut flags = vec![if t.verified { "verified" } else { "unverified" }];
    if t.public {
        flags.push("public");
    }
    let mut text =
        format!("  {}, used {} time{}\n", flags.join(", "), t.usage_count, if t.usage_count == 1 { "" } else { "s" });
    text.push_str(&format!("  database: {}\n", t.connection));
    if let Some(c) = &t.category {
        text.push_str(&format!("  category: {c}\n"));
    }
    if let Some(d) = &t.description {
        text.push_str(&format!("  description: {}\n", d.replace('\n', " ")));
    }
    for q in &t.questions {
        text.push_str(&format!("  question: {q}\n"));
    }
    text.push_str(&format!("  sql: {}\n", t.sql.replace('\n', "\n       ")));
    text
}
