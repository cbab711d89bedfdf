//! `serve`, `migrate`, `user …` and `audit verify`: the commands of the multi-user server. They all work on the
//! system database in the data directory (`--data-dir`, `paths.data_dir`).

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, Subcommand};
use datagenie_app::config::Config;
use datagenie_app::system::{self, EngineStore, System, SystemLocation};
use datagenie_core::{Error, ErrorCode};
use datagenie_server::state::{AppState, master_key};
use datagenie_store::copy::Side;
use datagenie_store::model::{PageRequest, Role, Timestamp, UserPatch};
use datagenie_store::{MasterKey, Store};

#[derive(Args)]
pub struct ServeArgs {
    /// ADDR:PORT to listen on (default: server.bind, 127.0.0.1:8080). Port 0 picks a free port; the address is
    /// printed on the first line of standard output.
    #[arg(long, value_name = "ADDR:PORT")]
    bind: Option<String>,
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Creates an account; the password is read from standard input (never a flag, never a default).
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        username: Option<String>,
        #[arg(long, default_value = "user", value_parser = ["admin", "user", "viewer"])]
        role: String,
        #[arg(long)]
        full_name: Option<String>,
        /// Read the password from standard input (required).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Lists the accounts.
    List {
        #[arg(long, value_enum, default_value = "table")]
        format: ListFormat,
    },
    /// Sets an account's password (read from standard input) and ends its logins.
    SetPassword {
        /// The account's email or id.
        user: String,
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Disables an account: it can no longer sign in, and its logins and keys stop working.
    Disable {
        /// The account's email or id.
        user: String,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ListFormat {
    Table,
    Json,
}

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Walks the audit log's hash chain: exit 0 when intact, 1 naming the first row edited or deleted.
    Verify,
}

/// The data directory, created when missing.
pub fn data_dir(config: &Config) -> Result<PathBuf, Error> {
    let dir = config.data_dir()?;
    std::fs::create_dir_all(&dir).map_err(|e| {
        Error::new(ErrorCode::InvalidConfig, format!("cannot create the data directory {}: {e}", dir.display()))
    })?;
    Ok(dir)
}

fn secret_key_env() -> Option<String> {
    std::env::var("DATAGENIE_SECRET_KEY").ok()
}

/// The master key for the system database at `location`: `DATAGENIE_SECRET_KEY`, or (SQLite only) the key file in
/// the data directory. A PostgreSQL system database is shared by several servers, which must seal connection URLs
/// and sign tokens with one key: a key file on one machine's disk would give each server its own, so it is refused.
pub fn master_for(config: &Config, location: &SystemLocation) -> Result<MasterKey, Error> {
    let env = secret_key_env().filter(|k| !k.trim().is_empty());
    match (location, env) {
        (_, Some(hex)) => MasterKey::from_hex(&hex),
        (SystemLocation::Sqlite(_), None) => master_key(None, &data_dir(config)?),
        (SystemLocation::Postgres(_), None) => Err(Error::new(
            ErrorCode::InvalidConfig,
            "a PostgreSQL system database is shared by every server: set DATAGENIE_SECRET_KEY (64 hex characters, \
             the same on every server; `openssl rand -hex 32` makes one) — a key file on one machine would give \
             each server a key of its own",
        )),
    }
}

/// The configured system database, opened (and migrated).
pub async fn open_system(config: &Config) -> Result<(System, MasterKey), Error> {
    let location = SystemLocation::of(config)?;
    let master = master_for(config, &location)?;
    let system = system::open_at(&location, &master, config.system_db.pool_size).await?;
    Ok((system, master))
}

async fn open_store(config: &Config) -> Result<Arc<dyn Store>, Error> {
    Ok(open_system(config).await?.0.store)
}

pub async fn serve(config_path: Option<PathBuf>, args: ServeArgs) -> Result<u8, Error> {
    let config = crate::load_config(config_path)?;
    let dir = data_dir(&config)?;
    let master = master_for(&config, &SystemLocation::of(&config)?)?;
    let state = Arc::new(AppState::open(&config, &dir, &master).await?);
    let bind = args.bind.unwrap_or_else(|| config.server.bind.clone());
    let listener = tokio::net::TcpListener::bind(&bind)
        .await
        .map_err(|e| Error::new(ErrorCode::InvalidConfig, format!("cannot listen on {bind}: {e}")))?;
    let addr = listener.local_addr().map_err(|e| Error::new(ErrorCode::Internal, e.to_string()))?;
    let admins = state.store.count_admins().await?;
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on http://{addr}");
        let _ = out.flush();
    }
    tracing::info!(%addr, data_dir = %dir.display(), "datagenie serve");
    if admins == 0 {
        tracing::warn!(
            "there is no admin yet: create one with `datagenie user create --email E --role admin --password-stdin`"
        );
    }
    let event = |kind: &str| datagenie_store::model::NewEvent {
        event_type: kind.into(),
        user_id: None,
        data: Some(serde_json::json!({"version": env!("CARGO_PKG_VERSION"), "address": addr.to_string()})),
        ip_address: None,
        user_agent: None,
        session_id: None,
    };
    state.store.record_event(event("server.start")).await?;
    datagenie_server::serve(listener, state.clone(), datagenie_server::shutdown_signal()).await?;
    state.store.record_event(event("server.stop")).await?;
    tracing::info!("stopped");
    Ok(0)
}

pub async fn migrate(config_path: Option<PathBuf>) -> Result<u8, Error> {
    let config = crate::load_config(config_path)?;
    let (system, _) = open_system(&config).await?;
    println!(
        "system database {} ({}) at schema version {}",
        system.location.describe(),
        system.location.engine(),
        system.store.schema_version().await?
    );
    Ok(0)
}

#[derive(Subcommand)]
pub enum SystemDbCommand {
    /// Copies a whole installation — users, keys, connections, permissions, history, audit, settings, templates,
    /// knowledge — into a fresh system database of the other engine, in one transaction, then verifies it: row
    /// counts per table and the audit chain. Both sides are migrated first. The target must be empty; the
    /// connection URLs stay sealed, so the servers on the target need the same DATAGENIE_SECRET_KEY.
    Copy {
        /// The source: sqlite:///path/datagenie.db (or a path), or postgres://…
        #[arg(long, value_name = "URL")]
        from: String,
        /// The target: postgres://… (or sqlite:///path for the way back)
        #[arg(long, value_name = "URL")]
        to: String,
    },
    /// Removes, once, what the retention settings no longer keep (seed 000's cleanup_old_data; every server also
    /// does it each hour): questions older than history_retention_days (not the answers marked right) and old
    /// events, audit rows older than audit_retention_days (the chain then verifies from the last one removed),
    /// jobs that ended more than job_retention_days ago, expired logins and counters. Prints what went. Safe beside
    /// running servers: runs take turns.
    Purge {
        /// Count what would be removed, and remove nothing.
        #[arg(long)]
        dry_run: bool,
        #[arg(long, value_enum, default_value = "table")]
        format: ListFormat,
    },
}

/// The engine's store of an opened system database, as a side of a copy.
fn side(s: &System) -> Side<'_> {
    match &s.engine {
        EngineStore::Sqlite(store) => Side::Sqlite(store),
        EngineStore::Postgres(store) => Side::Postgres(store),
    }
}

pub async fn system_db(config_path: Option<PathBuf>, cmd: SystemDbCommand) -> Result<u8, Error> {
    let config = crate::load_config(config_path)?;
    match cmd {
        SystemDbCommand::Purge { dry_run, format } => {
            let (system, _) = open_system(&config).await?;
            let (policy, report) =
                datagenie_store::retention::purge(system.store.as_ref(), Timestamp::now(), dry_run).await?;
            if format == ListFormat::Json {
                let out = serde_json::json!({
                    "system_database": system.location.describe(),
                    "policy": policy,
                    "report": report,
                });
                println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
                return Ok(0);
            }
            for (kind, n) in [
                ("questions", report.history),
                ("events", report.events),
                ("login sessions", report.sessions),
                ("refresh tokens", report.refresh_tokens),
                ("jobs", report.jobs),
                ("counters", report.counters),
                ("audit rows", report.audit_rows),
            ] {
                println!("{kind:<24} {n:>10}");
            }
            let days = |n: u32| if n == 0 { "forever".to_string() } else { format!("{n} days") };
            println!(
                "{} {} rows from {}; kept: history {}, audit {}, finished jobs {}; the audit chain starts after row {}",
                if dry_run { "would remove" } else { "removed" },
                report.records() + report.counters,
                system.location.describe(),
                days(policy.history_days),
                days(policy.audit_days),
                days(policy.job_days),
                report.audit_anchor
            );
            Ok(0)
        }
        SystemDbCommand::Copy { from, to } => {
            let from = SystemLocation::parse(&datagenie_core::SecretUrl::new(from))?;
            let to = SystemLocation::parse(&datagenie_core::SecretUrl::new(to))?;
            if from.engine() == to.engine() {
                return Err(Error::new(
                    ErrorCode::InvalidArgument,
                    "system-db copy moves between SQLite and PostgreSQL; within one engine use `datagenie backup` \
                     and `datagenie restore`",
                ));
            }
            // the key only matters to the stores' other methods: the copy moves sealed URLs as they are
            let master = match (&from, &to) {
                (SystemLocation::Sqlite(_), _) => master_for(&config, &from)?,
                _ => master_for(&config, &to)?,
            };
            let source = system::open_at(&from, &master, 4).await?;
            let target = system::open_at(&to, &master, 4).await?;
            let started = std::time::Instant::now();
            let report = datagenie_store::copy::copy(side(&source), side(&target)).await?;
            for (table, rows) in &report.tables {
                println!("{table:<24} {rows:>10}");
            }
            println!(
                "copied {} rows from {} to {} in {:.1} s; the audit chain verifies ({} rows)",
                report.total_rows(),
                from.describe(),
                to.describe(),
                started.elapsed().as_secs_f64(),
                report.audit_rows
            );
            Ok(0)
        }
    }
}

fn read_password() -> Result<String, Error> {
    let mut text = String::new();
    std::io::stdin().take(4096).read_to_string(&mut text).map_err(|e| {
        Error::new(ErrorCode::InvalidArgument, format!("cannot read the password from standard input: {e}"))
    })?;
    // One trailing line break is the terminal's, not the password's.
    let password = text.strip_suffix('\n').map(|t| t.strip_suffix('\r').unwrap_or(t)).unwrap_or(&text);
    datagenie_server::auth::validate_password(password)?;
    Ok(password.to_string())
}

async fn find_user(store: &dyn Store, who: &str) -> Result<datagenie_store::model::User, Error> {
    if let Some(user) = store.user(who).await? {
        return Ok(user);
    }
    match store.user_credentials(&who.trim().to_lowercase()).await? {
        Some(c) => Ok(c.user),
        None => Err(Error::new(ErrorCode::NotFound, format!("no user '{who}'"))),
    }
}

pub async fn user(config_path: Option<PathBuf>, cmd: UserCommand) -> Result<u8, Error> {
    let config = crate::load_config(config_path)?;
    let store = open_store(&config).await?;
    let store = store.as_ref();
    match cmd {
        UserCommand::Create { email, username, role, full_name, password_stdin: _ } => {
            let role: Role = role.parse()?;
            let password = read_password()?;
            let limits = datagenie_server::state::Runtime::load(store).await?.default_limits;
            let user = datagenie_server::routes::users::create_user_record(
                store,
                &email,
                username.as_deref(),
                password,
                role,
                full_name,
                limits,
            )
            .await
            .map_err(|e| e.error)?;
            audit_cli(store, "user.create", &user.id, serde_json::to_value(&user).ok()).await?;
            println!("created {} {} ({})", user.role.as_str(), user.email, user.id);
        }
        UserCommand::List { format } => {
            let mut users = Vec::new();
            let mut page = PageRequest::first(500);
            loop {
                let p = store.list_users(&page).await?;
                users.extend(p.items);
                match p.next_cursor {
                    Some(c) => page = PageRequest { limit: 500, cursor: Some(c) },
                    None => break,
                }
            }
            if format == ListFormat::Json {
                println!("{}", serde_json::to_string_pretty(&users).unwrap_or_default());
            } else {
                for u in &users {
                    let state = if u.active { "active" } else { "disabled" };
                    println!("{}  {:<6}  {:<8}  {}  {}", u.id, u.role.as_str(), state, u.email, u.username);
                }
            }
        }
        UserCommand::SetPassword { user, password_stdin: _ } => {
            let user = find_user(store, &user).await?;
            let password = read_password()?;
            let hash = datagenie_server::auth::hash_password(password).await?;
            store.set_password_hash(&user.id, &hash).await?;
            store.revoke_user_tokens(&user.id, Timestamp::now()).await?;
            audit_cli(store, "user.password", &user.id, None).await?;
            println!("password set for {}", user.email);
        }
        UserCommand::Disable { user } => {
            let user = find_user(store, &user).await?;
            store.update_user(&user.id, UserPatch { active: Some(false), ..UserPatch::default() }).await?;
            store.revoke_user_tokens(&user.id, Timestamp::now()).await?;
            audit_cli(store, "user.disable", &user.id, Some(serde_json::json!({"active": false}))).await?;
            println!("disabled {}", user.email);
        }
    }
    Ok(0)
}

/// An audit row for a change made at the command line (no request: the actor is the operator).
async fn audit_cli(
    store: &dyn Store,
    action: &str,
    user_id: &str,
    new: Option<serde_json::Value>,
) -> Result<(), Error> {
    store
        .append_audit(datagenie_store::model::NewAuditEntry {
            user_id: None,
            action: action.into(),
            resource_type: "user".into(),
            resource_id: Some(user_id.into()),
            old_values: None,
            new_values: new.map(|v| datagenie_app::redact::redact_json(&v)),
            ip_address: None,
            user_agent: Some("datagenie cli".into()),
            request_id: None,
            success: true,
            reason: None,
        })
        .await
        .map(|_| ())
}

pub async fn audit(config_path: Option<PathBuf>, cmd: AuditCommand) -> Result<u8, Error> {
    let config = crate::load_config(config_path)?;
    let store = open_store(&config).await?;
    match cmd {
        AuditCommand::Verify => match store.verify_audit().await? {
            Ok(rows) => {
                let pruned = match store.audit_anchor().await? {
                    Some(a) => format!(" (rows up to {} were removed by retention, last on {})", a.seq, a.pruned_at),
                    None => String::new(),
                };
                println!("the audit log is intact: {rows} rows{pruned}");
                Ok(0)
            }
            Err(b) => {
                let id = b.id.as_deref().unwrap_or("(missing)");
                println!("the audit log is broken at row {} (id {id}): {}", b.seq, b.reason);
                Ok(1)
            }
        },
    }
}

/// What PostgreSQL's tools do for a PostgreSQL system database.
fn postgres_tools(location: &SystemLocation, verb: &str) -> Error {
    let schema = match location {
        SystemLocation::Postgres(url) => url.schema.clone(),
        SystemLocation::Sqlite(_) => "public".into(),
    };
    Error::new(
        ErrorCode::InvalidArgument,
        format!(
            "the system database is PostgreSQL ({}): {verb} it with PostgreSQL's tools, e.g. `pg_dump --format=custom \
             --schema={} --file=datagenie.dump \"$URL\"` and `pg_restore --clean --if-exists --dbname=\"$URL\" \
             datagenie.dump` (see the README)",
            location.describe(),
            schema
        ),
    )
}

pub async fn backup(config_path: Option<PathBuf>, file: &std::path::Path) -> Result<u8, Error> {
    let config = crate::load_config(config_path)?;
    let path = match SystemLocation::of(&config)? {
        postgres @ SystemLocation::Postgres(_) => return Err(postgres_tools(&postgres, "back up")),
        SystemLocation::Sqlite(path) => path,
    };
    let (db, target) = (path.clone(), file.to_path_buf());
    let summary = tokio::task::spawn_blocking(move || {
        let db = datagenie_store::SystemDb::open(&db)?;
        datagenie_store::backup::backup(&db, &target)
    })
    .await
    .map_err(|e| Error::new(ErrorCode::Internal, format!("the backup failed: {e}")))??;
    println!(
        "backed up {} to {}: schema version {}, {} users, {} questions, {} audit rows (checked)",
        path.display(),
        file.display(),
        summary.schema_version,
        summary.users,
        summary.questions,
        summary.audit_rows
    );
    Ok(0)
}

pub async fn restore(config_path: Option<PathBuf>, file: &std::path::Path, force: bool) -> Result<u8, Error> {
    let config = crate::load_config(config_path)?;
    let location = SystemLocation::of(&config)?;
    let target = match &location {
        SystemLocation::Postgres(_) => return Err(postgres_tools(&location, "restore")),
        SystemLocation::Sqlite(path) => path.clone(),
    };
    let (source, dest) = (file.to_path_buf(), target.clone());
    let (summary, kept) = tokio::task::spawn_blocking(move || datagenie_store::backup::restore(&source, &dest, force))
        .await
        .map_err(|e| Error::new(ErrorCode::Internal, format!("the restore failed: {e}")))??;
    // opened once: migrated to this build's schema, and its audit chain walked
    let master = master_for(&config, &location)?;
    let system = system::open_at(&location, &master, 1).await?;
    let audit = match system.store.verify_audit().await? {
        Ok(rows) => format!("the audit chain verifies ({rows} rows)"),
        Err(b) => format!("the audit chain is broken at row {} ({})", b.seq, b.reason),
    };
    println!(
        "restored {} to {}: {} users, {} questions; {audit}",
        file.display(),
        target.display(),
        summary.users,
        summary.questions
    );
    if let Some(kept) = kept {
        println!("the database it replaced is kept as {}", kept.display());
    }
    Ok(0)
}
