//! Which database a command means — one answer for every command (`ask`, `schema`, `doctor`, `template`, `eval`,
//! and the server later): the `--db` flag, else `database.url` from the configuration, else the demo database.
//!
//! The URL stays a [`SecretUrl`] until the connector parses it, so no message, log line or output can print its
//! password; what is shown is [`DatabaseChoice::describe`] (the connector's description, password left out).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use datagenie_connectors::Target;
use datagenie_core::connector::Connector;
use datagenie_core::{Dialect, Error, ErrorCode, SecretUrl};

use crate::config::Config;
use crate::demo;

/// Where the database of a command came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseOrigin {
    /// `--db`.
    Flag,
    /// `database.url` in the configuration file or `DATAGENIE_DATABASE__URL`.
    Config,
    /// Neither: the built-in demo database in the data directory (built on first connection).
    Demo,
}

/// The database a command means, parsed.
#[derive(Debug, Clone)]
pub struct DatabaseChoice {
    target: Target,
    origin: DatabaseOrigin,
    /// Where spreadsheets are loaded (`paths.cache_dir`).
    cache_dir: Option<PathBuf>,
    /// `files.include_hidden_sheets`.
    hidden_sheets: bool,
}

impl DatabaseChoice {
    /// The flag, else the configured database, else the demo database. An empty flag is an error, not "no flag".
    pub fn resolve(config: &Config, flag: Option<&SecretUrl>) -> Result<DatabaseChoice, Error> {
        if let Some(url) = flag {
            return Ok(DatabaseChoice {
                target: parse(url)?,
                origin: DatabaseOrigin::Flag,
                cache_dir: cache(config),
                hidden_sheets: config.files.include_hidden_sheets,
            });
        }
        if !config.database.url.is_empty() {
            let target = parse(&config.database.url).map_err(|e| e.context("database.url"))?;
            return Ok(DatabaseChoice {
                target,
                origin: DatabaseOrigin::Config,
                cache_dir: cache(config),
                hidden_sheets: config.files.include_hidden_sheets,
            });
        }
        Ok(DatabaseChoice {
            target: Target::Sqlite(demo_database_path(config)?),
            origin: DatabaseOrigin::Demo,
            cache_dir: None,
            hidden_sheets: false,
        })
    }

    /// The demo database, whatever is configured (`datagenie demo`).
    pub fn demo(config: &Config) -> Result<DatabaseChoice, Error> {
        Ok(DatabaseChoice {
            target: Target::Sqlite(demo_database_path(config)?),
            origin: DatabaseOrigin::Demo,
            cache_dir: None,
            hidden_sheets: false,
        })
    }

    pub fn origin(&self) -> DatabaseOrigin {
        self.origin
    }

    /// The dialect the guard checks this database's SQL with (MariaDB is checked as MySQL).
    pub fn dialect(&self) -> Dialect {
        target_dialect(&self.target)
    }

    /// The database without secrets (`sqlite:///home/me/shop.db`, `postgres://reader@db:5432/sales`).
    pub fn describe(&self) -> String {
        self.target.describe()
    }

    /// The key its templates are stored under ([`connection_key`]). For the demo database this works before the
    /// file is built.
    pub fn key(&self) -> Result<String, Error> {
        match (&self.target, self.origin) {
            (Target::Sqlite(path), DatabaseOrigin::Demo) if !path.exists() => {
                let dir = path.parent().unwrap_or(Path::new("."));
                create_dir(dir)?;
                let dir = std::fs::canonicalize(dir).map_err(|e| {
                    Error::new(
                        ErrorCode::OutputFailed,
                        format!("cannot resolve the data directory {}: {e}", dir.display()),
                    )
                })?;
                Ok(sqlite_key(&dir.join(demo::DEMO_DB_FILE)))
            }
            (target, _) => key_of(target),
        }
    }

    /// Opens a connector (building the demo database first when it is the choice and does not exist yet). Servers
    /// are contacted now: a wrong address or login fails here.
    pub async fn connect(&self) -> Result<Arc<dyn Connector>, Error> {
        if let (Target::Sqlite(path), DatabaseOrigin::Demo) = (&self.target, self.origin) {
            let path = path.clone();
            tokio::task::spawn_blocking(move || demo::ensure_demo_database(&path))
                .await
                .map_err(|e| Error::new(ErrorCode::Internal, format!("building the demo database: {e}")))??;
        }
        let options = datagenie_connectors::ConnectOptions {
            cache_dir: self.cache_dir.clone(),
            include_hidden_sheets: self.hidden_sheets,
            ..Default::default()
        };
        self.target.connect_with(options).await
    }
}

/// The configured cache directory, when it resolves (else the connector's default).
fn cache(config: &Config) -> Option<PathBuf> {
    config.cache_dir().ok()
}

fn parse(url: &SecretUrl) -> Result<Target, Error> {
    datagenie_connectors::parse_target(url.expose())
}

fn create_dir(dir: &Path) -> Result<(), Error> {
    std::fs::create_dir_all(dir).map_err(|e| {
        Error::new(ErrorCode::OutputFailed, format!("cannot create the data directory {}: {e}", dir.display()))
    })
}

/// `<data_dir>/demo-retail.sqlite`.
pub fn demo_database_path(config: &Config) -> Result<PathBuf, Error> {
    Ok(config.data_dir()?.join(demo::DEMO_DB_FILE))
}

/// `<data_dir>/datagenie.db`.
pub fn system_database_path(config: &Config) -> Result<PathBuf, Error> {
    Ok(config.data_dir()?.join(datagenie_store::SYSTEM_DB_FILE))
}

/// The key a database's templates are stored under: for SQLite, `sqlite://` and the file's canonical absolute
/// path (symbolic links resolved, so two spellings of one file share templates); for a server, its URL without the
/// password (`postgres://reader@db:5432/sales`). Accepts whatever `--db` accepts, and its own output. Errors:
/// [`ErrorCode::InvalidDatabaseUrl`], [`ErrorCode::DatabaseNotFound`].
pub fn connection_key(target: &str) -> Result<String, Error> {
    key_of(&datagenie_connectors::parse_target(target)?)
}

/// The key of an already parsed target (see [`connection_key`]).
pub fn key_of_target(target: &Target) -> Result<String, Error> {
    key_of(target)
}

fn key_of(target: &Target) -> Result<String, Error> {
    let path = match target {
        Target::Sqlite(path) | Target::File(path) => path,
        server => return Ok(server.describe()),
    };
    let canonical = std::fs::canonicalize(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => {
            Error::new(ErrorCode::DatabaseNotFound, format!("the database file {} does not exist", path.display()))
        }
        _ => Error::new(ErrorCode::InvalidDatabaseUrl, format!("cannot use '{}': {e}", path.display())),
    })?;
    Ok(match target {
        Target::File(_) => file_key(&canonical),
        _ => sqlite_key(&canonical),
    })
}

fn target_dialect(target: &Target) -> Dialect {
    match target {
        Target::Sqlite(_) | Target::File(_) => Dialect::Sqlite,
        Target::Postgres(_) => Dialect::Postgres,
        Target::Mysql(_) => Dialect::Mysql,
    }
}

/// `file://` and the canonical path of a spreadsheet (or folder): read back as the same target.
fn file_key(path: &Path) -> String {
    let text = path.to_string_lossy().replace('%', "%25").replace('?', "%3F").replace('#', "%23");
    if text.starts_with('/') { format!("file://{text}") } else { format!("file:///{text}") }
}

fn sqlite_key(path: &Path) -> String {
    // Escaped like `SqliteConnector::describe`, so the key is itself a valid target.
    let text = path.to_string_lossy().replace('%', "%25").replace('?', "%3F").replace('#', "%23");
    if text.starts_with('/') { format!("sqlite://{text}") } else { format!("sqlite:///{text}") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigSources;

    fn config(data_dir: &Path, db: Option<&str>) -> Config {
        let mut env = vec![("DATAGENIE_PATHS__DATA_DIR".to_string(), data_dir.display().to_string())];
        if let Some(db) = db {
            env.push(("DATAGENIE_DATABASE__URL".to_string(), db.to_string()));
        }
        Config::load(&ConfigSources { env, ..Default::default() }).expect("config")
    }

    #[test]
    fn the_flag_beats_the_configuration_which_beats_the_demo() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("shop.db");
        rusqlite::Connection::open(&db).and_then(|c| c.execute_batch("CREATE TABLE t (x)")).expect("db");
        let pg = "postgres://reader:Hunter2x@db.internal/sales";

        let c = config(dir.path(), Some(pg));
        let flag = SecretUrl::new(db.display().to_string());
        let chosen = DatabaseChoice::resolve(&c, Some(&flag)).expect("flag");
        assert_eq!((chosen.origin(), chosen.dialect()), (DatabaseOrigin::Flag, Dialect::Sqlite));
        let chosen = DatabaseChoice::resolve(&c, None).expect("config");
        assert_eq!((chosen.origin(), chosen.dialect()), (DatabaseOrigin::Config, Dialect::Postgres));
        assert!(!chosen.describe().contains("Hunter2x") && !format!("{chosen:?}").contains("Hunter2x"));
        assert!(!chosen.key().expect("key").contains("Hunter2x"));

        let demo = DatabaseChoice::resolve(&config(dir.path(), None), None).expect("demo");
        assert_eq!(demo.origin(), DatabaseOrigin::Demo);
        // The demo's key is known before the file is built, and is the key of the file once it exists.
        let key = demo.key().expect("demo key");
        assert!(key.ends_with(demo::DEMO_DB_FILE), "{key}");
        assert!(!demo_database_path(&config(dir.path(), None)).expect("path").exists());
    }

    #[test]
    fn bad_targets_are_clear_errors_without_the_password() {
        let dir = tempfile::tempdir().expect("tempdir");
        let c = config(dir.path(), None);
        let empty = DatabaseChoice::resolve(&c, Some(&SecretUrl::new("  "))).expect_err("empty flag");
        assert_eq!(empty.code, ErrorCode::InvalidDatabaseUrl);
        let bad = DatabaseChoice::resolve(&c, Some(&SecretUrl::new("postgres://u:Hunter2x@h:notaport/db")))
            .expect_err("bad port");
        assert_eq!(bad.code, ErrorCode::InvalidDatabaseUrl);
        assert!(!bad.message.contains("Hunter2x"), "{}", bad.message);
        let c = config(dir.path(), Some("oracle://u:Hunter2x@h/db"));
        let e = DatabaseChoice::resolve(&c, None).expect_err("unknown scheme");
        assert!(e.message.starts_with("database.url: ") && !e.message.contains("Hunter2x"), "{}", e.message);
        let missing =
            DatabaseChoice::resolve(&c, Some(&SecretUrl::new(dir.path().join("none.db").display().to_string())))
                .and_then(|d| d.key());
        assert_eq!(missing.err().map(|e| e.code), Some(ErrorCode::DatabaseNotFound));
    }

    #[test]
    fn connection_keys_are_canonical_and_idempotent() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("shop.db");
        rusqlite::Connection::open(&db).and_then(|c| c.execute_batch("CREATE TABLE t (x)")).expect("db");
        let direct = connection_key(&db.to_string_lossy()).expect("key");
        assert!(direct.starts_with("sqlite:///"), "{direct}");
        let dotted = dir.path().join(".").join("shop.db");
        assert_eq!(connection_key(&format!("sqlite://{}", dotted.display())).expect("url"), direct);
        assert_eq!(connection_key(&direct).expect("again"), direct);
        assert_eq!(
            connection_key(&dir.path().join("none.db").to_string_lossy()).err().map(|e| e.code),
            Some(ErrorCode::DatabaseNotFound)
        );
        // A server's key is its URL without the password, and reads back to itself.
        let pg = connection_key("postgres://reader:hunter2@db.internal/sales").expect("postgres key");
        assert!(pg.starts_with("postgres://reader@db.internal") && !pg.contains("hunter2"), "{pg}");
        assert_eq!(connection_key(&pg).expect("again"), pg);
        let my = connection_key("mariadb://reader:hunter2@db.internal/shop").expect("mysql key");
        assert!(!my.contains("hunter2"), "{my}");
        assert_eq!(connection_key("redis://h/0").err().map(|e| e.code), Some(ErrorCode::InvalidDatabaseUrl));
    }
}
