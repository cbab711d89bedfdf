//! The `datagenie` command line. It parses arguments, loads configuration, calls the service layer
//! (`datagenie-app`) and prints. Exit status: 0 answered, 1 refused (guard or permission), 2 any other error.

mod doctor_cmd;
mod eval_cmd;
mod knowledge_cmd;
mod mcp_cmd;
mod output;
mod server_cmd;
mod template_cmd;

/// mimalloc: the guard and the pipeline allocate many small short-lived objects (parser tokens and AST nodes);
/// measured 10–15 % more guard checks per second than glibc's allocator (`cargo bench -p datagenie-core --bench guard`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use datagenie_app::ask::{AskFailure, AskOptions, AskRequest, RequestKind};
use datagenie_app::config::{Config, ConfigSources, DEFAULT_CONFIG_TOML};
use datagenie_app::database::DatabaseChoice;
use datagenie_app::{Session, demo};
use datagenie_core::connector::Limits;
use datagenie_core::guard::Policy;
use datagenie_core::{Error, ErrorCode, Question, SecretUrl};

#[derive(Parser)]
#[command(
    name = "datagenie",
    version,
    about = "Ask your databases questions in plain language — read-only, guarded, metered."
)]
struct Cli {
    /// Configuration file (default: datagenie.toml in the platform config directory, when it exists).
    #[arg(long, global = true, value_name = "PATH", env = "DATAGENIE_CONFIG")]
    config: Option<PathBuf>,
    /// Where DataGenie keeps its state: the system database, its key file, the demo database (same as
    /// DATAGENIE_PATHS__DATA_DIR).
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Ask a question; prints the SQL, the rows, a chart and a short analysis.
    Ask(AskArgs),
    /// Build the sample retail database (on first use) and ask a question on it, or a few example questions.
    Demo(DemoArgs),
    /// Print the introspected schema: tables, columns, keys, row counts.
    Schema(SchemaArgs),
    /// Configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// The SQL guard, on its own.
    #[command(subcommand)]
    Sql(SqlCommand),
    /// Benchmarks and fidelity checks (the LLM is replaced by one that answers instantly).
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Verified query templates: questions answered from a person's SQL, without the LLM.
    #[command(subcommand)]
    Template(template_cmd::TemplateCommand),
    /// What DataGenie knows about a database beyond its schema: glossary terms, descriptions, documents (stored, and
    /// the knowledge folder's), and what a question would draw on.
    #[command(subcommand)]
    Knowledge(knowledge_cmd::KnowledgeCommand),
    /// Execution accuracy over a question set in Spider's format ([{db_id, question, query}]); a regression gate
    /// with --min-accuracy.
    Eval(eval_cmd::EvalArgs),
    /// Checks the database login: could it write (it should not), is the session read-only, is the time limit
    /// enforced; and the server's version. Exit 0 safe, 1 unsafe_login, 2 error.
    Doctor(doctor_cmd::DoctorArgs),
    /// The HTTP server: the API under /api/v1 for many users, with accounts, permissions, history and audit.
    Serve(server_cmd::ServeArgs),
    /// MCP on standard input/output, for an agent on this machine: with --api-key, as that key's user on the
    /// system database; otherwise on one database (--db) as the local user.
    Mcp(McpCliArgs),
    /// Applies the system database's migrations (serve does it at start) and prints the schema version.
    Migrate,
    /// Accounts of the server: create the first admin, list, set a password, disable.
    #[command(subcommand)]
    User(server_cmd::UserCommand),
    /// The audit log.
    #[command(subcommand)]
    Audit(server_cmd::AuditCommand),
    /// Copies the system database to FILE while the server runs (SQLite; a PostgreSQL one with pg_dump).
    Backup {
        /// A new file (an existing one is never overwritten).
        file: std::path::PathBuf,
    },
    /// Puts a backup in place of the system database (stop the server first). An installation holding users is
    /// replaced only with --force, and is kept beside it.
    Restore {
        file: std::path::PathBuf,
        #[arg(long)]
        force: bool,
    },
    /// The system database itself: move an installation between SQLite and PostgreSQL; remove what retention no
    /// longer keeps.
    #[command(subcommand, name = "system-db")]
    SystemDb(server_cmd::SystemDbCommand),
}

#[derive(Subcommand)]
enum SqlCommand {
    /// Check SQL with the guard: prints the SQL that would run and exits 0, or the refusal and exits 1.
    Check(SqlCheckArgs),
}

#[derive(Args)]
struct SqlCheckArgs {
    #[arg(long, value_parser = ["sqlite", "postgres", "mysql", "mariadb"])]
    dialect: String,
    /// Only these tables may be read, e.g. `orders,sales.items,customers(id,name)` (columns in parentheses).
    #[arg(long, value_name = "TABLES")]
    allow_tables: Option<String>,
    /// A row filter `table: expression`, e.g. `orders: region = 'APAC'` or `orders: customer_id = {user.id}`.
    /// Repeatable.
    #[arg(long, value_name = "FILTER")]
    row_filter: Vec<String>,
    /// A user attribute bound into row filters as a literal, `NAME=VALUE` (`{user.NAME}`). Repeatable.
    #[arg(long, value_name = "NAME=VALUE")]
    user: Vec<String>,
    /// Allow reading system catalogs (refused by default).
    #[arg(long)]
    allow_system_catalogs: bool,
    #[arg(long, value_enum, default_value = "text")]
    format: SchemaFormat,
    /// The SQL, or `-` to read it from standard input.
    sql: String,
}

#[derive(Subcommand)]
enum BenchCommand {
    /// The pipeline's own work per question over Spider's questions (LLM wait and query execution excluded).
    Pipeline {
        /// The Spider folder: questions.json and database/<db_id>/<db_id>.sqlite.
        #[arg(long, value_name = "DIR")]
        spider: PathBuf,
        /// Include the written analysis (facts, verification, fallback) in the measured work.
        #[arg(long)]
        summary: bool,
    },
    /// For every gold query: does `ask` return exactly the rows the query returns when run directly?
    Gold {
        #[arg(long, value_name = "DIR")]
        spider: PathBuf,
        /// Check only the first N queries.
        #[arg(long, value_name = "N")]
        limit: Option<usize>,
    },
    /// Value linking on Spider: are the gold SQL's literals that the question does not spell exactly in the prompt,
    /// without and with value linking, and how much longer is the prompt (per part of the tuning/validation split)?
    Values {
        #[arg(long, value_name = "DIR")]
        spider: PathBuf,
    },
    /// Value linking's index on a generated SQLite database: reading and indexing, snapshot size, lookup time.
    ValuesScale {
        #[arg(long, value_name = "N", default_value_t = 1000)]
        tables: usize,
        /// Distinct text values in all.
        #[arg(long, value_name = "N", default_value_t = 1_000_000)]
        values: usize,
    },
    /// Introspection time of a generated SQLite database with N tables.
    Introspect {
        #[arg(long, value_name = "N", default_value_t = 2000)]
        tables: usize,
    },
}

#[derive(Args, Clone)]
struct AnswerArgs {
    /// Output format. Default: table on a terminal, json otherwise.
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Render the chart to FILE.svg or FILE.png.
    #[arg(long, value_name = "FILE")]
    chart: Option<PathBuf>,
    /// Return at most N rows (default from configuration: 1000).
    #[arg(long, value_name = "N")]
    max_rows: Option<usize>,
    /// Stop a query after SECS seconds (default from configuration: 30).
    #[arg(long, value_name = "SECS")]
    timeout: Option<u64>,
    /// Skip the written analysis.
    #[arg(long)]
    no_summary: bool,
    /// Stop after the guard and print the SQL that would run.
    #[arg(long)]
    dry_run: bool,
    /// Show personal data unmasked (emails, phones, card numbers, names, national IDs, addresses).
    #[arg(long)]
    unmask: bool,
}

#[derive(Args)]
struct AskArgs {
    /// Database: a SQLite path or sqlite://, postgres://, mysql:// URL. Default: the configured database, else the
    /// demo database.
    #[arg(long, value_name = "URL")]
    db: Option<SecretUrl>,
    #[command(flatten)]
    answer: AnswerArgs,
    /// The knowledge folder: glossary.toml, descriptions.toml, documents (overrides knowledge.dir and `knowledge/`
    /// beside the configuration).
    #[arg(long, value_name = "DIR")]
    knowledge: Option<PathBuf>,
    /// After the answer, show what knowledge the LLM's prompt was given: tables, matched values, terms,
    /// documentation, examples, with their scores (with --format json: the answer's `knowledge`).
    #[arg(long)]
    explain: bool,
    /// The question, in Korean or English.
    question: String,
}

#[derive(Args)]
struct McpCliArgs {
    #[command(flatten)]
    mcp: mcp_cmd::McpArgs,
    /// The knowledge folder for the database served (overrides knowledge.dir and `knowledge/` beside the
    /// configuration).
    #[arg(long, value_name = "DIR")]
    knowledge: Option<PathBuf>,
}

#[derive(Args)]
struct DemoArgs {
    #[command(flatten)]
    answer: AnswerArgs,
    /// A question about the demo data. Without one, a few example questions are asked.
    question: Option<String>,
    /// Copy the demo database into a PostgreSQL or MySQL/MariaDB database (postgres://… or mysql://…, a login that
    /// may create tables), print what was loaded, and exit.
    #[arg(long, value_name = "URL", conflicts_with = "question")]
    load: Option<SecretUrl>,
    /// With --load: drop and recreate tables of the demo's names even when they are not demo tables.
    #[arg(long, requires = "load")]
    replace: bool,
}

#[derive(Args)]
struct SchemaArgs {
    #[arg(long, value_name = "URL")]
    db: Option<SecretUrl>,
    #[arg(long, value_enum, default_value = "text")]
    format: SchemaFormat,
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print the commented default configuration.
    Default,
    /// Print the effective configuration (secrets redacted).
    Show,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SchemaFormat {
    Text,
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The server logs each request (info); the other commands only warnings.
    init_tracing(if matches!(cli.command, Command::Serve(_)) { "info" } else { "warn" });
    if let Some(dir) = &cli.data_dir {
        let _ = DATA_DIR.set(dir.clone());
    }
    // The server uses every core; a command needs two threads at most.
    let workers = match cli.command {
        Command::Serve(_) => std::thread::available_parallelism().map_or(2, |n| n.get()),
        _ => 2,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(workers).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error[internal]: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let code = runtime.block_on(run(cli));
    // Do not wait for blocking tasks a timeout abandoned (they stop on their own deadline).
    runtime.shutdown_timeout(Duration::from_millis(100));
    ExitCode::from(code)
}

fn init_tracing(default_level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("DATAGENIE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        // Colours for a person at a terminal; plain text for a log file or a collector.
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

async fn run(cli: Cli) -> u8 {
    let format_hint = match &cli.command {
        Command::Ask(a) => a.answer.format,
        Command::Demo(d) => d.answer.format,
        Command::Doctor(d) => Some(if d.json() { Format::Json } else { Format::Table }),
        Command::Knowledge(k) => Some(match k.format() {
            knowledge_cmd::KnowledgeFormat::Json => Format::Json,
            knowledge_cmd::KnowledgeFormat::Table => Format::Table,
        }),
        _ => Some(Format::Table),
    };
    // `--knowledge DIR` overrides knowledge.dir wherever the configuration is loaded.
    let knowledge_dir = match &cli.command {
        Command::Ask(a) => a.knowledge.clone(),
        Command::Mcp(m) => m.knowledge.clone(),
        Command::Knowledge(k) => k.knowledge_dir().map(PathBuf::from),
        _ => None,
    };
    if let Some(dir) = knowledge_dir {
        let _ = KNOWLEDGE_DIR.set(dir);
    }
    let format = format_hint.unwrap_or(if std::io::stdout().is_terminal() { Format::Table } else { Format::Json });
    let result = match cli.command {
        Command::Config(ConfigCommand::Default) => {
            print!("{DEFAULT_CONFIG_TOML}");
            Ok(0)
        }
        Command::Config(ConfigCommand::Show) => load_config(cli.config).map(|c| {
            print!("{}", c.to_redacted_toml());
            0
        }),
        Command::Schema(args) => schema(cli.config, args).await,
        Command::Ask(args) => return ask(cli.config, args, format).await,
        Command::Demo(args) => run_demo(cli.config, args, format).await,
        Command::Bench(cmd) => bench(cmd).await,
        Command::Template(cmd) => template_cmd::run(cli.config, cmd).await,
        Command::Knowledge(cmd) => knowledge_cmd::run(cli.config, cmd).await,
        Command::Eval(args) => eval_cmd::run(cli.config, args).await,
        Command::Doctor(args) => doctor_cmd::run(cli.config, args).await,
        Command::Sql(SqlCommand::Check(args)) => sql_check(args),
        Command::Serve(args) => server_cmd::serve(cli.config, args).await,
        Command::Mcp(args) => mcp_cmd::run(cli.config, args.mcp).await,
        Command::Migrate => server_cmd::migrate(cli.config).await,
        Command::User(cmd) => server_cmd::user(cli.config, cmd).await,
        Command::Audit(cmd) => server_cmd::audit(cli.config, cmd).await,
        Command::SystemDb(cmd) => server_cmd::system_db(cli.config, cmd).await,
        Command::Backup { file } => server_cmd::backup(cli.config, &file).await,
        Command::Restore { file, force } => server_cmd::restore(cli.config, &file, force).await,
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            report_error(&e, format);
            e.code.exit_status()
        }
    }
}

fn report_error(e: &Error, format: Format) {
    if format == Format::Json {
        println!("{}", datagenie_app::ask::failure_json(e));
    } else {
        eprintln!("error[{}]: {}", e.code, e.message);
    }
}

/// A question's failure, with what it cost: JSON on stdout (`{"error", "attempts", "usage", "elapsed_ms"}`), or the
/// error and the attempts on stderr for people.
fn report_failure(f: &AskFailure, format: Format) -> u8 {
    if format == Format::Json {
        println!("{}", f.to_json());
    } else {
        output::failed_attempts(&mut std::io::stderr().lock(), &f.attempts, &f.usage);
        eprintln!("error[{}]: {}", f.error.code, f.error.message);
    }
    f.error.code.exit_status()
}

/// `--data-dir`, when given: it overrides `paths.data_dir` from every other layer.
static DATA_DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
/// `--knowledge DIR` (`ask`, `mcp`, `knowledge list|search`), when given: it overrides `knowledge.dir`.
static KNOWLEDGE_DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

fn load_config(path: Option<PathBuf>) -> Result<Config, Error> {
    let mut config = Config::load(&ConfigSources::from_process(path))?;
    if let Some(dir) = DATA_DIR.get() {
        config.paths.data_dir = dir.display().to_string();
    }
    if let Some(dir) = KNOWLEDGE_DIR.get() {
        if !dir.is_dir() {
            return Err(Error::new(
                ErrorCode::InvalidArgument,
                format!("--knowledge {}: not a directory", dir.display()),
            ));
        }
        config.knowledge.dir = dir.display().to_string();
    }
    Ok(config)
}

fn ask_options(config: &Config, args: &AnswerArgs) -> Result<AskOptions, Error> {
    let max_rows = args.max_rows.unwrap_or(config.ask.max_rows);
    if max_rows == 0 {
        return Err(Error::new(ErrorCode::InvalidArgument, "--max-rows must be at least 1"));
    }
    let timeout = args.timeout.unwrap_or(config.ask.timeout_secs);
    if timeout == 0 {
        return Err(Error::new(ErrorCode::InvalidArgument, "--timeout must be at least 1 second"));
    }
    if let Some(path) = &args.chart {
        datagenie_chart::output_format(path)?;
    }
    Ok(AskOptions {
        limits: Limits { max_rows, timeout: Duration::from_secs(timeout) },
        max_attempts: config.ask.max_attempts,
        summary: config.ask.summary && !args.no_summary,
        dry_run: args.dry_run,
        unmask: args.unmask,
        schema_budget_tokens: config.ask.schema_budget_tokens,
        today: datagenie_app::today(),
        temperature: config.llm.temperature as f32,
        max_tokens: config.llm.max_tokens,
        token_budget: None,
        cache: None,
        llm_refusal: None,
    })
}

/// `datagenie ask`. Every failure — before the question reaches the pipeline or inside it — is reported in the
/// question's failure shape, so a JSON client always reads `error`, `attempts`, `usage` and `elapsed_ms`.
async fn ask(config_path: Option<PathBuf>, args: AskArgs, format: Format) -> u8 {
    let started = std::time::Instant::now();
    let prepared = async {
        // Validate the question before touching any database or endpoint.
        let question = Question::parse(&args.question)?;
        let config = load_config(config_path)?;
        let options = ask_options(&config, &args.answer)?;
        let session = Session::open(&config, args.db.as_ref()).await?;
        Ok::<_, Error>((question, options, session))
    }
    .await;
    match prepared {
        Ok((question, options, session)) => {
            match answer_one(&session, question, options, &args.answer, format, args.explain).await {
                Ok(code) => code,
                Err(f) => report_failure(&f, format),
            }
        }
        Err(error) => {
            let failure = AskFailure { elapsed: started.elapsed(), ..AskFailure::from(error) };
            report_failure(&failure, format)
        }
    }
}

async fn answer_one(
    session: &Session,
    question: Question,
    options: AskOptions,
    args: &AnswerArgs,
    format: Format,
    explain: bool,
) -> Result<u8, AskFailure> {
    let request = AskRequest {
        question,
        kind: RequestKind::Question,
        connection: &session.connection,
        policy: Policy::default(),
        user: None,
        session: Default::default(),
        options,
        progress: None,
    };
    let answer = session.context.ask(&request).await?;
    let printed = (|| {
        if let (Some(path), Some(spec)) = (&args.chart, &answer.chart) {
            datagenie_chart::render_to_file(spec, path)?;
        }
        let mut out = std::io::stdout().lock();
        let written = match format {
            Format::Json if explain => output::json_explained(&mut out, &answer),
            Format::Json => output::json(&mut out, &answer),
            // The rows stay pure CSV: the explanation goes to standard error.
            Format::Csv => output::csv(&mut out, &answer).and_then(|_| {
                if explain { output::explanation(&mut std::io::stderr().lock(), &answer) } else { Ok(()) }
            }),
            Format::Table => output::table(&mut out, &answer, args.chart.as_deref()).and_then(|_| {
                if explain {
                    writeln!(out)?;
                    output::explanation(&mut out, &answer)
                } else {
                    Ok(())
                }
            }),
        };
        written.and_then(|_| out.flush()).map_err(|e| Error::new(ErrorCode::OutputFailed, e.to_string()))
    })();
    // The question was answered and paid for: a failure to print still reports its cost.
    printed.map(|_| 0).map_err(|error| AskFailure {
        error,
        attempts: answer.attempts.clone(),
        usage: answer.usage,
        elapsed: answer.timings.total,
    })
}

async fn schema(config_path: Option<PathBuf>, args: SchemaArgs) -> Result<u8, Error> {
    let config = load_config(config_path)?;
    let session = Session::open(&config, args.db.as_ref()).await?;
    let (schema, _) = session.context.schema(&session.connection).await?;
    let mut out = std::io::stdout().lock();
    let written = match args.format {
        SchemaFormat::Json => serde_json::to_writer_pretty(&mut out, schema.as_ref())
            .map_err(std::io::Error::other)
            .and_then(|_| writeln!(out)),
        SchemaFormat::Text => output::schema_text(&mut out, &schema, &session.context.privacy.classify_schema(&schema)),
    };
    written.map_err(|e| Error::new(ErrorCode::OutputFailed, e.to_string()))?;
    Ok(0)
}

async fn run_demo(config_path: Option<PathBuf>, args: DemoArgs, format: Format) -> Result<u8, Error> {
    if let Some(url) = &args.load {
        return demo_load(config_path, url, args.replace, format).await;
    }
    let question = args.question.as_deref().map(Question::parse).transpose()?;
    let config = load_config(config_path)?;
    let options = ask_options(&config, &args.answer)?;
    // The demo always uses the demo database, whatever database is configured.
    let session = Session::open_choice(&config, &DatabaseChoice::demo(&config)?).await?;
    // The demo's verified templates answer their questions with or without an LLM.
    if let Some(store) = &session.context.templates {
        demo::install_demo_templates(store, &session.connection.key).await?;
    }
    let offline = session.context.llm.is_none();
    if offline && question.is_none() && format == Format::Table {
        let (schema, _) = session.context.schema(&session.connection).await?;
        output::demo_intro_offline(&mut std::io::stdout().lock(), &session.database, &schema)
            .map_err(|e| Error::new(ErrorCode::OutputFailed, e.to_string()))?;
    }
    let examples = if offline { demo::OFFLINE_QUESTIONS } else { &demo::EXAMPLE_QUESTIONS[..3] };
    let questions: Vec<Question> = match question {
        Some(q) => vec![q],
        None => examples.iter().filter_map(|q| Question::parse(q).ok()).collect(),
    };
    let question_count = questions.len();
    let mut worst = 0u8;
    for q in questions {
        if format == Format::Table && question_count > 1 {
            println!("\n━━ {} ━━", q.as_str());
        }
        let code = match answer_one(&session, q, options.clone(), &args.answer, format, false).await {
            Ok(c) => c,
            Err(f) => report_failure(&f, format),
        };
        worst = worst.max(code);
    }
    Ok(worst)
}

/// `datagenie demo --load URL [--replace]`: the demo database into a server; prints rows per table and the time.
async fn demo_load(config_path: Option<PathBuf>, url: &SecretUrl, replace: bool, format: Format) -> Result<u8, Error> {
    use datagenie_app::demo_load::{LoadOptions, load_demo};
    let config = load_config(config_path)?;
    let report = load_demo(&config, url, LoadOptions { replace }).await?;
    let mut out = std::io::stdout().lock();
    let written = if format == Format::Json {
        serde_json::to_writer(&mut out, &report).map_err(std::io::Error::other).and_then(|_| writeln!(out))
    } else {
        let secs = report.elapsed.as_secs_f64();
        let rows = report.total_rows();
        (|| {
            writeln!(out, "Loaded the demo database into {} ({}):", report.target, report.server)?;
            for t in &report.tables {
                writeln!(out, "  {:<14} {:>8} rows", t.name, t.rows)?;
            }
            writeln!(
                out,
                "{rows} rows in {secs:.2} s ({:.0} rows/s; reading the demo database took {:.2} s)",
                rows as f64 / secs.max(1e-9),
                report.read.as_secs_f64()
            )?;
            if !report.replaced.is_empty() {
                writeln!(out, "Replaced: {}", report.replaced.join(", "))?;
            }
            writeln!(out, "Ask it: datagenie ask --db '{}' \"QUESTION\"", report.target)
        })()
    };
    written.and_then(|_| out.flush()).map_err(|e| Error::new(ErrorCode::OutputFailed, e.to_string()))?;
    Ok(0)
}

/// `datagenie sql check`: 0 accepted, 1 refused, 2 usage error.
fn sql_check(args: SqlCheckArgs) -> Result<u8, Error> {
    use datagenie_core::guard::{self, AttrValue, Policy};
    let dialect: datagenie_core::Dialect = args.dialect.parse()?;
    let sql = if args.sql == "-" {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
            .map_err(|e| Error::new(ErrorCode::InvalidArgument, format!("cannot read SQL from standard input: {e}")))?;
        text
    } else {
        args.sql
    };
    let mut policy = Policy::default().allow_system_catalogs(args.allow_system_catalogs);
    if let Some(spec) = &args.allow_tables {
        policy = policy.allow_tables_spec(spec)?;
    }
    for f in &args.row_filter {
        policy = policy.row_filter_spec(f)?;
    }
    for u in &args.user {
        let (name, value) = u
            .split_once('=')
            .ok_or_else(|| Error::new(ErrorCode::InvalidArgument, format!("--user '{u}' must be NAME=VALUE")))?;
        let value = match value.parse::<i64>() {
            Ok(n) => AttrValue::Integer(n),
            Err(_) => AttrValue::Text(value.to_string()),
        };
        policy = policy.user_attribute(name.trim(), value);
    }
    let json = args.format == SchemaFormat::Json;
    match guard::check_report(&sql, dialect, &policy) {
        Ok(report) => {
            if json {
                let v = serde_json::json!({
                    "accepted": true,
                    "sql": report.sql.as_str(),
                    "rewritten": report.rewritten,
                    "tables": report.tables,
                    "functions": report.functions,
                    "row_filtered": report.row_filtered,
                });
                println!("{v}");
            } else {
                println!("{}", report.sql.as_str());
            }
            Ok(0)
        }
        // A refusal is the answer, not a failure of the command: print it on stdout.
        Err(e) if e.code.kind() == datagenie_core::ErrorKind::Refused => {
            if json {
                println!("{}", serde_json::json!({ "accepted": false, "code": e.code.as_str(), "reason": e.message }));
            } else {
                println!("{}: {}", e.code, e.message);
            }
            Ok(1)
        }
        Err(e) => Err(e),
    }
}

async fn bench(cmd: BenchCommand) -> Result<u8, Error> {
    use datagenie_app::bench;
    let scratch = tempfile_dir()?;
    match cmd {
        BenchCommand::Pipeline { spider, summary } => {
            let p = bench::pipeline_bench(&spider, &scratch, summary).await?;
            println!(
                "pipeline own work over {} questions: p50 {:.0} µs, p90 {:.0} µs, p99 {:.0} µs, max {:.0} µs",
                p.n, p.p50_us, p.p90_us, p.p99_us, p.max_us
            );
            Ok(0)
        }
        BenchCommand::Gold { spider, limit } => {
            let r = bench::gold_check(&spider, &scratch, limit).await?;
            for f in r.failures.iter().take(50) {
                println!("MISMATCH {f}");
            }
            for f in &r.not_runnable {
                println!("NOT RUNNABLE ON SQLITE {f}");
            }
            println!(
                "gold queries: {} in all; {} run on SQLite; {} of those returned identical rows through `ask`; \
                 {} that SQLite rejects were refused by `ask` as well",
                r.total,
                r.runnable,
                r.identical,
                r.not_runnable.len()
            );
            Ok(if r.failures.is_empty() { 0 } else { 1 })
        }
        BenchCommand::Values { spider } => {
            let (tune, validation) = bench::values_recall(&spider, &scratch).await?;
            let pct = |a: usize, b: usize| if b == 0 { 0.0 } else { 100.0 * a as f64 / b as f64 };
            for (name, r) in [("tune (in-sample)", tune), ("validation (held out)", validation)] {
                println!(
                    "{name}: {} questions, {} literals not spelled exactly, {} of them stored in a linked column; \
                     in the prompt without value linking {:.1} % of all / {:.1} % of stored, with it {:.1} % / {:.1} %; \
                     prompt {:+.1} % tokens",
                    r.questions,
                    r.literals,
                    r.reachable,
                    pct(r.baseline_all, r.literals),
                    pct(r.baseline_reachable, r.reachable),
                    pct(r.linked_all, r.literals),
                    pct(r.linked_reachable, r.reachable),
                    pct(r.linked_tokens, r.baseline_tokens) - 100.0,
                );
            }
            Ok(0)
        }
        BenchCommand::ValuesScale { tables, values } => {
            let r = bench::values_scale_bench(&scratch, tables, values).await?;
            println!(
                "{} tables, {} values from {} columns{}: read and indexed in {:.2} s; snapshot {:.1} MiB, index \
                 rebuilt from it in {:.2} s{}; lookup over {} questions: p50 {:.0} µs, p99 {:.0} µs, max {:.0} µs; \
                 the value meant first for {} of {} questions naming one",
                r.tables,
                r.values,
                r.columns_read,
                if r.complete { "" } else { " (deadline reached: partial)" },
                r.first_build.as_secs_f64(),
                r.snapshot_bytes as f64 / 1_048_576.0,
                r.from_snapshot.as_secs_f64(),
                if r.from_disk { "" } else { " (NOT from the snapshot)" },
                r.lookup.n,
                r.lookup.p50_us,
                r.lookup.p99_us,
                r.lookup.max_us,
                r.found,
                r.asked,
            );
            Ok(0)
        }
        BenchCommand::Introspect { tables } => {
            let (took, n) = bench::introspect_bench(&scratch, tables).await?;
            println!("introspected {n} tables in {:.3} s", took.as_secs_f64());
            Ok(0)
        }
    }
}

/// A fresh scratch directory for a benchmark run (schema cache, generated databases).
fn tempfile_dir() -> Result<PathBuf, Error> {
    let dir = std::env::temp_dir().join(format!("datagenie-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)
        .map_err(|e| Error::new(ErrorCode::OutputFailed, format!("{}: {e}", dir.display())))?;
    Ok(dir)
}
