//! Database connectors for DataGenie: one file per engine, all behind [`datagenie_core::connector::Connector`].
//!
//! Invariants every connector here keeps:
//! - it executes only [`datagenie_core::GuardedSql`], exactly as the guard approved it (never rewritten);
//! - it is read-only at the driver level as well, so a guard bug cannot write to the user's database;
//! - the row cap and the time limit are enforced inside the engine, and a timeout never hangs the caller;
//! - errors carry a stable [`ErrorCode`] and never a secret.
//!
//! This file also turns the database targets people type (URLs and plain paths) into something a connector opens.

pub mod file;
pub mod mysql;
pub mod postgres;
pub mod sqlite;

use std::path::PathBuf;

use std::sync::Arc;

use datagenie_core::connector::Connector;
use datagenie_core::{Error, ErrorCode};

pub use sqlite::SqliteConnector;

/// Schemes of the server engines (not SQLite files).
const SERVER_SCHEMES: &[(&str, &str)] =
    &[("postgres", "PostgreSQL"), ("postgresql", "PostgreSQL"), ("mysql", "MySQL"), ("mariadb", "MariaDB")];

/// A database target as people type it, parsed: a SQLite file, a spreadsheet file or folder (loaded into SQLite), a
/// PostgreSQL server or a MySQL/MariaDB server.
#[derive(Debug, Clone)]
pub enum Target {
    Sqlite(PathBuf),
    /// A CSV/TSV file, or a folder of them: each file a table ([`file`]).
    File(PathBuf),
    Postgres(postgres::PostgresUrl),
    Mysql(mysql::MysqlTarget),
}

/// Parses a `--db` value: `postgres://` / `postgresql://` URLs, `mysql://` / `mariadb://` URLs, else a SQLite target
/// (see [`parse_sqlite_target`]). Errors are [`ErrorCode::InvalidDatabaseUrl`] and never contain a password.
pub fn parse_target(s: &str) -> Result<Target, Error> {
    let scheme = split_scheme(s.trim()).map(|(scheme, _)| scheme.to_ascii_lowercase());
    match scheme.as_deref() {
        Some("postgres" | "postgresql") => Ok(Target::Postgres(postgres::parse_postgres_url(s.trim())?)),
        Some("mysql" | "mariadb") => Ok(Target::Mysql(mysql::parse_mysql_url(s.trim())?)),
        _ => {
            let path = parse_sqlite_target(s)?;
            Ok(if file::is_file_target(&path) { Target::File(path) } else { Target::Sqlite(path) })
        }
    }
}

impl Target {
    /// The target without secrets, in a form [`parse_target`] reads back (SQLite: the path as given).
    pub fn describe(&self) -> String {
        match self {
            Target::Sqlite(path) | Target::File(path) => path.display().to_string(),
            Target::Postgres(url) => url.describe(),
            Target::Mysql(target) => target.describe(),
        }
    }

    /// Opens a connector with the default options. Servers are contacted now, so a wrong address or login fails
    /// here with `database_unavailable` (or `database_not_found`); a SQLite file is opened read-only.
    pub async fn connect(&self) -> Result<Arc<dyn Connector>, Error> {
        self.connect_with(ConnectOptions::default()).await
    }

    /// [`Target::connect`] with `options` (a server's stored connection sets its pool size).
    pub async fn connect_with(&self, options: ConnectOptions) -> Result<Arc<dyn Connector>, Error> {
        let pool_size = options.pool_size.clamp(1, MAX_POOL_SIZE);
        Ok(match self {
            Target::Sqlite(path) => Arc::new(SqliteConnector::open_with(path, pool_size)?),
            Target::File(path) => {
                let (path, cache) = (path.clone(), options.cache_dir.clone().unwrap_or_else(default_cache_dir));
                let how = file::LoadOptions { include_hidden_sheets: options.include_hidden_sheets };
                let loaded = tokio::task::spawn_blocking(move || file::load_with(&path, &cache, how))
                    .await
                    .map_err(|e| Error::new(ErrorCode::Internal, format!("loading the spreadsheet stopped: {e}")))??;
                Arc::new(SqliteConnector::open_with(&loaded, pool_size)?)
            }
            Target::Postgres(url) => Arc::new(postgres::PostgresConnector::connect_with(url.clone(), pool_size).await?),
            Target::Mysql(target) => Arc::new(mysql::MysqlConnector::connect_with(target, pool_size).await?),
        })
    }
}

/// How a connector is opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectOptions {
    /// Connections the connector's pool keeps at most (1 to [`MAX_POOL_SIZE`]): that many queries run at once,
    /// and a SQLite file gets that many read-only connections, opened as calls overlap.
    pub pool_size: usize,
    /// Where spreadsheets are loaded (`<dir>/sheets/<content hash>.sqlite`); `None`: the system's temporary
    /// directory.
    pub cache_dir: Option<PathBuf>,
    /// Read a workbook's hidden sheets too.
    pub include_hidden_sheets: bool,
}

/// `<temp>/datagenie`: where spreadsheets are loaded when no cache directory is given.
pub fn default_cache_dir() -> PathBuf {
    std::env::temp_dir().join("datagenie")
}

/// The pool size when none is given.
pub const DEFAULT_POOL_SIZE: usize = 4;
/// The largest pool a connector opens.
pub const MAX_POOL_SIZE: usize = 100;

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions { pool_size: DEFAULT_POOL_SIZE, cache_dir: None, include_hidden_sheets: false }
    }
}

/// At most `max` characters of `s`; a cut string ends with `…` (counted in `max`). For sample values and messages.
pub(crate) fn truncate_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Turns a SQLite target into the path of the database file. Accepted forms:
/// `sqlite:///abs/path.db`, `sqlite://rel.db`, `sqlite:rel.db` (also `sqlite3:`), `file:///abs/path.db`,
/// `file://localhost/abs/path.db`, `file:rel.db`, and plain paths (`data/shop.db`, `/abs/shop.db`).
///
/// In the URL forms `%XX` escapes are decoded and query strings (`?mode=…`) are refused: DataGenie always opens the
/// file read-only and honours no URL options. A plain path is taken literally. The file is not touched here; the
/// returned path may be relative. Errors are [`ErrorCode::InvalidDatabaseUrl`]: empty input, in-memory databases,
/// unknown schemes, and PostgreSQL/MySQL URLs (use [`parse_target`] for those).
pub fn parse_sqlite_target(s: &str) -> Result<PathBuf, Error> {
    let s = s.trim();
    if s.is_empty() {
        return Err(invalid("the database target is empty"));
    }
    if s.contains('\0') {
        return Err(invalid("the database target contains a NUL character"));
    }
    let path = match split_scheme(s) {
        None => s.to_string(),
        Some((scheme, rest)) => match scheme.to_ascii_lowercase().as_str() {
            "sqlite" | "sqlite3" => url_path(rest, false)?,
            "file" => url_path(rest, true)?,
            other => {
                return Err(match SERVER_SCHEMES.iter().find(|(name, _)| *name == other) {
                    Some((_, engine)) => invalid(format!("a {engine} URL does not name a SQLite file")),
                    None => invalid(format!(
                        "unknown database URL scheme '{scheme}:'; use sqlite:///path/to/file.db or a file path"
                    )),
                });
            }
        },
    };
    if path == ":memory:" {
        return Err(invalid("in-memory SQLite databases hold no data to query; give the path of a database file"));
    }
    Ok(PathBuf::from(path))
}

/// Splits `scheme:rest` when `s` starts with a URL scheme. A prefix counts as a scheme when it is followed by `//`
/// (any `xyz://…`) or when it is one DataGenie knows (`sqlite:rel.db`, `postgres:…`). Otherwise — a Windows drive
/// letter `C:`, or a file name that merely contains a colon — the input is a plain path.
fn split_scheme(s: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = s.split_once(':')?;
    let mut chars = scheme.chars();
    let well_formed = scheme.len() >= 2
        && chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !well_formed {
        return None;
    }
    let lower = scheme.to_ascii_lowercase();
    let known = matches!(lower.as_str(), "sqlite" | "sqlite3" | "file")
        || SERVER_SCHEMES.iter().any(|(name, _)| *name == lower);
    (rest.starts_with("//") || known).then_some((scheme, rest))
}

/// The file path of a `sqlite:`/`file:` URL after its scheme: `//` then the path (`///abs` is `/abs`, `//rel.db` is
/// `rel.db`), or the path directly. For `file:` a `localhost` authority is dropped.
fn url_path(rest: &str, file_scheme: bool) -> Result<String, Error> {
    let mut path = rest.strip_prefix("//").unwrap_or(rest);
    if file_scheme && rest.starts_with("//") && path.starts_with("localhost/") {
        path = &path["localhost".len()..];
    }
    if path.contains('?') {
        return Err(invalid(
            "query parameters in a SQLite URL are not supported (DataGenie always opens the file read-only)",
        ));
    }
    if path.contains('#') {
        return Err(invalid("a SQLite URL cannot contain '#'; write it as %23"));
    }
    let decoded = percent_decode(path)?;
    if decoded.is_empty() {
        return Err(invalid("the database URL names no file; use sqlite:///path/to/file.db"));
    }
    Ok(strip_windows_drive_slash(decoded))
}

/// `sqlite:///C:/x.db` names `C:/x.db` on Windows; elsewhere the leading slash is kept.
fn strip_windows_drive_slash(path: String) -> String {
    let b = path.as_bytes();
    if cfg!(windows) && b.len() >= 3 && b[0] == b'/' && b[1].is_ascii_alphabetic() && b[2] == b':' {
        path[1..].to_string()
    } else {
        path
    }
}

/// Decodes `%XX` escapes. The result must be UTF-8 without NUL bytes.
fn percent_decode(s: &str) -> Result<String, Error> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hi = bytes.get(i + 1).and_then(|b| (*b as char).to_digit(16));
            let lo = bytes.get(i + 2).and_then(|b| (*b as char).to_digit(16));
            match (hi, lo) {
                (Some(hi), Some(lo)) => out.push((hi * 16 + lo) as u8),
                _ => return Err(invalid("malformed %-escape in the database URL")),
            }
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    if out.contains(&0) {
        return Err(invalid("the database URL contains an encoded NUL character"));
    }
    String::from_utf8(out).map_err(|_| invalid("the %-escapes in the database URL do not decode to UTF-8"))
}

fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorCode::InvalidDatabaseUrl, message)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn ok(s: &str) -> PathBuf {
        match parse_sqlite_target(s) {
            Ok(p) => p,
            Err(e) => panic!("{s:?} should parse, got {e:?}"),
        }
    }

    fn err(s: &str) -> Error {
        match parse_sqlite_target(s) {
            Ok(p) => panic!("{s:?} should be refused, got {p:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn accepts_every_documented_form() {
        assert_eq!(ok("sqlite:///abs/path.db"), PathBuf::from("/abs/path.db"));
        assert_eq!(ok("sqlite://rel.db"), PathBuf::from("rel.db"));
        assert_eq!(ok("sqlite:rel.db"), PathBuf::from("rel.db"));
        assert_eq!(ok("sqlite:/abs.db"), PathBuf::from("/abs.db"));
        assert_eq!(ok("SQLITE3:///abs.db"), PathBuf::from("/abs.db"));
        assert_eq!(ok("file:///abs/x.db"), PathBuf::from("/abs/x.db"));
        assert_eq!(ok("file://localhost/abs/x.db"), PathBuf::from("/abs/x.db"));
        assert_eq!(ok("file:rel.db"), PathBuf::from("rel.db"));
        assert_eq!(ok("data/shop.db"), PathBuf::from("data/shop.db"));
        assert_eq!(ok("  /abs/shop.db \n"), PathBuf::from("/abs/shop.db"));
    }

    #[test]
    fn url_forms_decode_escapes_but_plain_paths_are_literal() {
        assert_eq!(ok("sqlite:///data/my%20shop.db"), PathBuf::from("/data/my shop.db"));
        assert_eq!(ok("sqlite:///data/%EB%A7%A4%EC%B6%9C.db"), PathBuf::from("/data/매출.db"));
        assert_eq!(ok("sqlite:///data/매출.db"), PathBuf::from("/data/매출.db"));
        assert_eq!(ok("data/100%.db"), PathBuf::from("data/100%.db"));
        assert_eq!(ok("my:file.db"), PathBuf::from("my:file.db"));
        assert_eq!(ok("C:data.db"), PathBuf::from("C:data.db"));
    }

    #[test]
    fn refuses_other_schemes_with_clear_messages() {
        for url in ["postgres://u@h/db", "postgresql://h/db", "mysql://h/db", "mariadb://h/db", "postgres:db"] {
            let e = err(url);
            assert_eq!(e.code, ErrorCode::InvalidDatabaseUrl, "{url}");
            assert!(e.message.contains("does not name a SQLite file"), "{url}: {}", e.message);
        }
        let e = err("http://example.com/x.db");
        assert_eq!(e.code, ErrorCode::InvalidDatabaseUrl);
        assert!(e.message.contains("unknown database URL scheme 'http:'"), "{}", e.message);
    }

    #[test]
    fn targets_dispatch_on_the_scheme_and_never_show_the_password() {
        let pg = parse_target("postgres://reader:hunter2@db.internal:5433/sales?sslmode=require").expect("pg");
        assert!(matches!(pg, Target::Postgres(_)), "{pg:?}");
        let my = parse_target("mariadb://reader:hunter2@db.internal/shop").expect("mysql");
        assert!(matches!(my, Target::Mysql(_)), "{my:?}");
        for t in [&pg, &my] {
            assert!(!t.describe().contains("hunter2") && !format!("{t:?}").contains("hunter2"), "{t:?}");
            assert!(t.describe().contains("reader@db.internal"), "{}", t.describe());
        }
        assert!(
            matches!(parse_target("sqlite:///data/shop.db"), Ok(Target::Sqlite(p)) if p == Path::new("/data/shop.db"))
        );
        assert!(matches!(parse_target("shop.db"), Ok(Target::Sqlite(_))));
        for bad in ["postgres://reader:hunter2@/sales?sslmode=sometimes", "mysql://reader:hunter2@h/db?nonsense=1"] {
            let e = parse_target(bad).expect_err(bad);
            assert_eq!(e.code, ErrorCode::InvalidDatabaseUrl, "{bad}");
            assert!(!e.message.contains("hunter2"), "{}", e.message);
        }
    }

    #[test]
    fn refuses_postgres_urls_without_echoing_the_password() {
        let e = err("postgres://admin:hunter2@db.internal/sales");
        assert!(!e.message.contains("hunter2"), "{}", e.message);
    }

    #[test]
    fn refuses_malformed_targets() {
        for bad in [
            "",
            "   ",
            "sqlite://",
            "sqlite:",
            "file://",
            ":memory:",
            "sqlite::memory:",
            "sqlite:///x.db?mode=rwc",
            "sqlite:///x.db#frag",
            "sqlite:///bad%zz.db",
            "sqlite:///bad%4",
            "sqlite:///nul%00.db",
            "sqlite:///bad%FF.db",
            "a\0b.db",
        ] {
            assert_eq!(err(bad).code, ErrorCode::InvalidDatabaseUrl, "{bad:?}");
        }
    }
}
