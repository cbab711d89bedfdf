//! `datagenie doctor`: is the database login DataGenie was given as harmless as it should be? Prints what
//! `Connector::access_report` found — whether the login could write, whether the session is read-only, whether the
//! time limit is enforced, the server's version — with advice. Exit 0 safe, 1 `unsafe_login`, 2 any error.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use datagenie_app::database::DatabaseChoice;
use datagenie_core::connector::{AccessReport, WriteScope};
use datagenie_core::{Error, ErrorCode, SecretUrl};

/// Where the README explains the login DataGenie should get.
const LEAST_PRIVILEGE_ADVICE: &str =
    "give DataGenie a login that can only read: see \"A least-privilege login for DataGenie\" in the README";

#[derive(Args)]
pub struct DoctorArgs {
    /// Database: a SQLite path or sqlite://, postgres://, mysql:// URL. Default: the configured database, else the
    /// demo database.
    #[arg(long, value_name = "URL")]
    db: Option<SecretUrl>,
    #[arg(long, value_enum, default_value = "text")]
    format: DoctorFormat,
}

impl DoctorArgs {
    /// Errors are printed as JSON too when the report would be.
    pub fn json(&self) -> bool {
        self.format == DoctorFormat::Json
    }
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum DoctorFormat {
    Text,
    Json,
}

pub async fn run(config_path: Option<PathBuf>, args: DoctorArgs) -> Result<u8, Error> {
    let config = crate::load_config(config_path)?;
    let connector = DatabaseChoice::resolve(&config, args.db.as_ref())?.connect().await?;
    let report = connector.access_report().await?;
    let database = connector.describe();
    let warning = report.warning();
    let mut out = std::io::stdout().lock();
    let written = match args.format {
        DoctorFormat::Json => {
            let mut v = serde_json::to_value(&report).map_err(|e| Error::new(ErrorCode::Internal, e.to_string()))?;
            v["database"] = serde_json::Value::String(database);
            v["safe"] = serde_json::Value::Bool(warning.is_none());
            v["warning"] = match &warning {
                Some(w) => serde_json::json!({ "code": w.code.as_str(), "message": w.message }),
                None => serde_json::Value::Null,
            };
            writeln!(out, "{v}")
        }
        DoctorFormat::Text => out.write_all(text(&database, &report).as_bytes()),
    };
    written.and_then(|_| out.flush()).map_err(|e| Error::new(ErrorCode::OutputFailed, e.to_string()))?;
    match warning {
        Some(w) => {
            if args.format == DoctorFormat::Text {
                eprintln!("warning[{}]: {}", w.code, w.message);
            }
            Ok(w.code.exit_status())
        }
        None => Ok(0),
    }
}

/// The report for people: one ✓/✗ line per check with its evidence indented, then advice.
fn text(database: &str, r: &AccessReport) -> String {
    let mut s = format!("datagenie doctor: {database}\n  server  {}\n", r.server_version);
    if let Some(login) = &r.login {
        s.push_str(&format!("  login   {login}\n"));
    }
    let line = |s: &mut String, mark: &str, head: &str, evidence: &[String]| {
        s.push_str(&format!("{mark} {head}\n"));
        for e in evidence {
            s.push_str(&format!("    {e}\n"));
        }
    };
    let (mark, head) = match (r.write_scope, r.can_write) {
        (WriteScope::Login, Some(false)) => ("✓", "the login cannot write"),
        (WriteScope::Login, Some(true)) => ("✗", "the login could write"),
        (WriteScope::Login, None) => ("?", "could not tell whether the login could write"),
        (WriteScope::File, Some(false)) => ("✓", "the file is read-only for this operating-system user"),
        (WriteScope::File, Some(true)) => {
            ("ℹ", "the file is writable by this operating-system user (information: DataGenie opens it read-only)")
        }
        (WriteScope::File, None) => ("?", "could not tell whether the file is writable"),
    };
    line(&mut s, mark, head, &r.write_evidence);
    let (mark, head) =
        if r.read_only_session { ("✓", "the session is read-only") } else { ("✗", "the session is not read-only") };
    line(&mut s, mark, head, std::slice::from_ref(&r.read_only_evidence));
    let (mark, head) = if r.time_limit_enforced {
        ("✓", "the time limit is enforced")
    } else {
        ("✗", "the time limit is not enforced")
    };
    line(&mut s, mark, head, std::slice::from_ref(&r.time_limit_evidence));
    if r.login_could_write() {
        s.push_str(&format!("advice: {LEAST_PRIVILEGE_ADVICE}\n"));
    }
    if !r.read_only_session || !r.time_limit_enforced {
        s.push_str("advice: DataGenie's own protections did not hold on this server; do not use it until they do\n");
    }
    if r.is_safe() {
        s.push_str("safe: DataGenie can use this database as it is\n");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(can_write: Option<bool>) -> AccessReport {
        AccessReport {
            engine: "PostgreSQL".into(),
            server_version: "PostgreSQL 15.20".into(),
            login: Some("app".into()),
            write_scope: WriteScope::Login,
            can_write,
            write_evidence: vec!["it may INSERT … on 2 table(s) or view(s): public.a, public.b".into()],
            read_only_session: true,
            read_only_evidence: "SHOW transaction_read_only inside DataGenie's transaction: on".into(),
            time_limit_enforced: true,
            time_limit_evidence: "stopped after 301 ms".into(),
            time_limit_probe_ms: 301,
        }
    }

    #[test]
    fn a_writing_login_gets_a_cross_and_the_advice() {
        let t = text("postgres://app@h:5432/shop", &report(Some(true)));
        assert!(t.contains("✗ the login could write\n    it may INSERT"), "{t}");
        assert!(t.contains("advice: give DataGenie a login that can only read"), "{t}");
        assert!(!t.contains("safe:"), "{t}");
        let t = text("postgres://app@h:5432/shop", &report(Some(false)));
        assert!(t.contains("✓ the login cannot write") && t.contains("✓ the time limit is enforced"), "{t}");
        assert!(t.ends_with("safe: DataGenie can use this database as it is\n"), "{t}");
        assert!(!t.contains("advice"), "{t}");
    }

    #[test]
    fn a_broken_time_limit_is_a_cross() {
        let mut r = report(Some(false));
        r.time_limit_enforced = false;
        let t = text("d", &r);
        assert!(t.contains("✗ the time limit is not enforced"), "{t}");
        assert!(t.contains("advice: DataGenie's own protections did not hold"), "{t}");
    }
}
