//! `datagenie doctor` for MySQL and MariaDB: what the login could write (`SHOW GRANTS FOR CURRENT_USER`), whether
//! the session is read-only (`@@transaction_read_only`, `@@tx_read_only` on servers without it), and whether a
//! deliberately endless `SLEEP` is stopped at a short time limit. These are the connector's own fixed statements,
//! never user text, so — like introspection — they do not go through the guard; they run on the connector's own
//! path (`Inner::run`: `START TRANSACTION READ ONLY`, the server's statement time limit, the watchdog).

use std::time::{Duration, Instant};

use datagenie_core::connector::{AccessReport, Limits, TIME_LIMIT_PROBE, WriteScope, judge_time_limit_probe};
use datagenie_core::value::Value;
use datagenie_core::{Error, ErrorCode};
use mysql_async::prelude::Queryable;

use super::{Ctx, Done, Failure, Flavour, Inner, MysqlConnector, SERVER_GRACE};

const PRIVILEGES_TIMEOUT: Duration = Duration::from_secs(10);
/// Privileges that only read (or grant nothing at all).
const READ_ONLY_PRIVILEGES: &[&str] = &["SELECT", "SHOW VIEW", "USAGE"];
/// Privileges named per grant line before the rest is summarised (root holds dozens).
const NAMED_PRIVILEGES: usize = 6;

/// One line of `SHOW GRANTS`, without the parts that may hold secrets (`IDENTIFIED BY PASSWORD '…'`).
#[derive(Debug, Clone, PartialEq, Eq)]
enum GrantLine {
    /// `GRANT privileges ON object TO user [WITH GRANT OPTION]`.
    Privileges { privileges: Vec<String>, object: String, grant_option: bool },
    /// `GRANT role TO user`: the role's own privileges are not listed.
    Roles(String),
}

pub(super) async fn report(c: &MysqlConnector) -> Result<AccessReport, Error> {
    let ctx = Ctx::new("the privilege check", PRIVILEGES_TIMEOUT);
    let grants = Inner::run(&c.inner, ctx, |mut conn| async move {
        let result = conn.query::<String, _>("SHOW GRANTS FOR CURRENT_USER").await.map_err(Failure::Db);
        Done { conn, result, reusable: true }
    })
    .await?;
    let (can_write, write_evidence) = verdict(&grants);

    let check = Limits { max_rows: 1, timeout: PRIVILEGES_TIMEOUT };
    // `transaction_read_only` is MySQL 8's and MariaDB 11.1's name; older MariaDB only knows `tx_read_only`.
    let (variable, value) = match c.run_query("SELECT @@transaction_read_only".to_string(), &check).await {
        Ok(rs) => ("transaction_read_only", rs),
        Err(e) if e.code == ErrorCode::QueryFailed => {
            ("tx_read_only", c.run_query("SELECT @@tx_read_only".to_string(), &check).await?)
        }
        Err(e) => return Err(e),
    };
    let read_only_session = match value.rows.first().and_then(|r| r.first()) {
        Some(Value::Int(n)) => *n == 1,
        Some(Value::Text(t) | Value::Decimal(t)) => t == "1",
        _ => false,
    };
    let read_only_evidence =
        format!("@@{variable} inside DataGenie's READ ONLY transaction: {}", if read_only_session { "1" } else { "0" });

    let probe = Limits { max_rows: 1, timeout: TIME_LIMIT_PROBE };
    let started = Instant::now();
    let outcome = c.run_query("SELECT SLEEP(5)".to_string(), &probe).await;
    let elapsed = started.elapsed();
    let (time_limit_enforced, mut time_limit_evidence) = judge_time_limit_probe(&outcome, elapsed);
    if time_limit_enforced {
        let variable = match c.flavour() {
            Flavour::Mariadb => "max_statement_time",
            Flavour::Mysql => "max_execution_time",
        };
        // Before the grace ran out only the server can have stopped it; after, the watchdog's KILL QUERY did.
        time_limit_evidence.push_str(&if elapsed < TIME_LIMIT_PROBE + SERVER_GRACE {
            format!(" by the server's {variable}")
        } else {
            format!(" by DataGenie's watchdog (KILL QUERY), not by the server's {variable}")
        });
    }
    Ok(AccessReport {
        engine: c.flavour().display_name().to_string(),
        server_version: c.server_version().to_string(),
        login: Some(c.target().user().to_string()),
        write_scope: WriteScope::Login,
        can_write,
        write_evidence,
        read_only_session,
        read_only_evidence,
        time_limit_enforced,
        time_limit_evidence,
        time_limit_probe_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
    })
}

/// Whether the grants allow writing (`None`: only through roles whose privileges are not listed), and why.
fn verdict(grants: &[String]) -> (Option<bool>, Vec<String>) {
    let mut why = Vec::new();
    let mut roles = Vec::new();
    for line in grants.iter().filter_map(|g| parse_grant(g)) {
        match line {
            GrantLine::Privileges { privileges, object, grant_option } => {
                let writes: Vec<&String> =
                    privileges.iter().filter(|p| !READ_ONLY_PRIVILEGES.contains(&p.as_str())).collect();
                if !writes.is_empty() {
                    let named: Vec<&str> = writes.iter().take(NAMED_PRIVILEGES).map(|p| p.as_str()).collect();
                    let rest = writes.len().saturating_sub(NAMED_PRIVILEGES);
                    let more = if rest > 0 { format!(" and {rest} more") } else { String::new() };
                    why.push(format!("{}{more} on {object}", named.join(", ")));
                }
                if grant_option {
                    why.push(format!("WITH GRANT OPTION on {object} (may grant privileges to others)"));
                }
            }
            GrantLine::Roles(r) => roles.push(r),
        }
    }
    if !why.is_empty() {
        return (Some(true), why);
    }
    if !roles.is_empty() {
        let roles = roles.join(", ");
        return (None, vec![format!("granted role(s) {roles}, whose privileges SHOW GRANTS does not list")]);
    }
    (Some(false), vec!["no write privilege: SHOW GRANTS lists only SELECT, SHOW VIEW and USAGE".to_string()])
}

/// Reads one `SHOW GRANTS` line. Quoted names and column lists are skipped when looking for the keywords, so a
/// table called `x ON y` cannot confuse it. Lines that are not grants (MySQL's partial `REVOKE`s) give `None`.
fn parse_grant(line: &str) -> Option<GrantLine> {
    let masked = mask(line);
    let upper = masked.to_ascii_uppercase();
    let body = upper.strip_prefix("GRANT ")?;
    let start = line.len() - body.len();
    let to = start + body.find(" TO ")?;
    let Some(on) = upper[start..to].find(" ON ").map(|i| start + i) else {
        return Some(GrantLine::Roles(line.get(start..to)?.trim().to_string()));
    };
    let mut privileges = Vec::new();
    let mut from = start;
    for (i, _) in upper[start..on].match_indices(',').map(|(i, s)| (start + i, s)).chain([(on, "")]) {
        // `SELECT (a, b)`: the column list is masked, so the name ends where it starts.
        let name = upper[from..i].split('(').next().unwrap_or("").trim();
        if !name.is_empty() {
            privileges.push(name.split_whitespace().collect::<Vec<_>>().join(" "));
        }
        from = i + 1;
    }
    Some(GrantLine::Privileges {
        privileges,
        object: line.get(on + 4..to)?.trim().to_string(),
        grant_option: upper[to..].contains(" WITH GRANT OPTION"),
    })
}

/// `line` with every byte inside quotes (`` ` ``, `'`, `"`) or parentheses replaced by `_`, so that byte
/// positions still match the original.
fn mask(line: &str) -> String {
    let mut out = Vec::with_capacity(line.len());
    let mut quote: Option<u8> = None;
    let mut depth = 0usize;
    for &b in line.as_bytes() {
        match quote {
            Some(q) => {
                out.push(if b == q { b } else { b'_' });
                if b == q {
                    quote = None;
                }
            }
            None => match b {
                b'`' | b'\'' | b'"' => {
                    quote = Some(b);
                    out.push(b);
                }
                b'(' => {
                    depth += 1;
                    out.push(b);
                }
                b')' => {
                    depth = depth.saturating_sub(1);
                    out.push(b);
                }
                _ if depth > 0 => out.push(b'_'),
                _ => out.push(b),
            },
        }
    }
    // Every byte of a replaced run is replaced, so whole characters go and the result stays UTF-8.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn privileges(line: &str) -> (Vec<String>, String, bool) {
        match parse_grant(line) {
            Some(GrantLine::Privileges { privileges, object, grant_option }) => (privileges, object, grant_option),
            other => panic!("{line}: {other:?}"),
        }
    }

    #[test]
    fn grant_lines_are_read_without_their_secrets() {
        let (p, o, g) = privileges("GRANT USAGE ON *.* TO `reader`@`%` IDENTIFIED BY PASSWORD '*ABCDEF'");
        assert_eq!((p, o.as_str(), g), (vec!["USAGE".to_string()], "*.*", false));
        let (p, o, _) = privileges("GRANT SELECT, SHOW VIEW ON `shop`.* TO `reader`@`%`");
        assert_eq!((p, o.as_str()), (vec!["SELECT".to_string(), "SHOW VIEW".to_string()], "`shop`.*"));
        let (p, o, _) = privileges("GRANT SELECT (`a`, `b`), INSERT (`c`) ON `d`.`t x ON y` TO 'u'@'%'");
        assert_eq!((p, o.as_str()), (vec!["SELECT".to_string(), "INSERT".to_string()], "`d`.`t x ON y`"));
        let (p, o, g) = privileges("GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` WITH GRANT OPTION");
        assert_eq!((p, o.as_str(), g), (vec!["ALL PRIVILEGES".to_string()], "*.*", true));
        assert_eq!(parse_grant("GRANT `app_role`@`%` TO `u`@`%`"), Some(GrantLine::Roles("`app_role`@`%`".into())));
        assert_eq!(parse_grant("REVOKE INSERT ON `mysql`.* FROM `u`@`%`"), None);
        assert_eq!(parse_grant("garbage"), None);
    }

    #[test]
    fn a_reader_cannot_write_and_a_writer_can() {
        let reader = [
            "GRANT USAGE ON *.* TO `r`@`%` IDENTIFIED BY PASSWORD '*0123456789'".to_string(),
            "GRANT SELECT, SHOW VIEW ON `shop`.* TO `r`@`%`".to_string(),
        ];
        let (can, why) = verdict(&reader);
        assert_eq!(can, Some(false));
        assert!(!why.join(" ").contains("0123456789"), "no password hash in the evidence");
        let writer = [
            "GRANT USAGE ON *.* TO `w`@`%`".to_string(),
            "GRANT SELECT, INSERT, UPDATE, DELETE, CREATE ON `shop`.* TO `w`@`%`".to_string(),
        ];
        assert_eq!(verdict(&writer), (Some(true), vec!["INSERT, UPDATE, DELETE, CREATE on `shop`.*".to_string()]));
        let root = ["GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` WITH GRANT OPTION".to_string()];
        let (can, why) = verdict(&root);
        assert_eq!(can, Some(true));
        assert_eq!(why.len(), 2, "{why:?}");
        let file = ["GRANT FILE ON *.* TO `f`@`%`".to_string()];
        assert_eq!(verdict(&file).0, Some(true), "FILE writes files on the server");
        let role = ["GRANT `app`@`%` TO `u`@`%`".to_string()];
        assert_eq!(verdict(&role).0, None, "a role's privileges are unknown here");
        let many = ["GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, RELOAD, SHUTDOWN, PROCESS ON *.* TO `x`@`%`"
            .to_string()];
        assert_eq!(verdict(&many).1[0], "INSERT, UPDATE, DELETE, CREATE, DROP, RELOAD and 2 more on *.*");
    }
}
