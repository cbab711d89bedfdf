//! `datagenie doctor` for PostgreSQL: what the login could write (one catalog query), whether the connector's
//! transaction is read-only (`SHOW transaction_read_only`), and whether a deliberately endless `pg_sleep` is stopped
//! at a short time limit. These are the connector's own fixed statements, never user text, so — like
//! introspection — they do not go through the guard; the session check and the probe run through the very path
//! `execute` uses (`run_query`: a READ ONLY transaction with `SET LOCAL statement_timeout`, rolled back).

use std::time::{Duration, Instant};

use datagenie_core::connector::{AccessReport, Limits, TIME_LIMIT_PROBE, WriteScope, judge_time_limit_probe};
use datagenie_core::value::Value;
use datagenie_core::{Error, ErrorCode};
use tokio_postgres::SimpleQueryMessage;

use super::{CLIENT_GRACE, Failure, PostgresConnector, timeout_ms};

const PRIVILEGES_TIMEOUT: Duration = Duration::from_secs(10);
/// Tables named as examples of what the login could write.
const EXAMPLES: usize = 5;

/// One row: the role's attributes, CREATE on the database and on schemas, the relations it may change (count and
/// a few names), and whether the role's own default is `default_transaction_read_only = on`. System schemas are
/// left out (every login may create temporary tables; that changes no one's data).
const PRIVILEGES_SQL: &str = "\
WITH me AS (SELECT oid, rolname, rolsuper, rolcreatedb, rolcreaterole FROM pg_catalog.pg_roles \
            WHERE rolname = current_user), \
writable AS (SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS name \
             FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('r', 'p', 'v', 'f') AND n.nspname <> 'information_schema' \
               AND n.nspname NOT LIKE 'pg\\_%' \
               AND has_table_privilege(c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE')) \
SELECT me.rolname, me.rolsuper, me.rolcreatedb, me.rolcreaterole, \
  has_database_privilege(current_database(), 'CREATE'), quote_ident(current_database()), \
  (SELECT string_agg(quote_ident(nspname), ', ' ORDER BY nspname) FROM pg_catalog.pg_namespace \
   WHERE nspname <> 'information_schema' AND nspname NOT LIKE 'pg\\_%' AND has_schema_privilege(oid, 'CREATE')), \
  (SELECT count(*) FROM writable), \
  (SELECT string_agg(name, ', ' ORDER BY name) FROM (SELECT name FROM writable ORDER BY name LIMIT 5) AS w), \
  EXISTS (SELECT 1 FROM pg_catalog.pg_db_role_setting s, unnest(s.setconfig) AS c(v) \
          WHERE s.setrole = me.oid \
            AND s.setdatabase IN (0, (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())) \
            AND v ~* '^default_transaction_read_only=(on|true|yes|1)$') \
FROM me";

/// What the catalog query found.
#[derive(Debug, Clone, PartialEq, Default)]
struct Privileges {
    login: String,
    superuser: bool,
    create_db: bool,
    create_role: bool,
    create_on_database: bool,
    database: String,
    create_schemas: Option<String>,
    writable_relations: i64,
    writable_examples: Option<String>,
    role_default_read_only: bool,
}

impl Privileges {
    /// Whether the login could write, and every reason (or what was checked when it could not).
    fn verdict(&self) -> (bool, Vec<String>) {
        let mut why = Vec::new();
        if self.superuser {
            why.push(format!("{} is a superuser", self.login));
        }
        if self.create_db {
            why.push("it may create databases (CREATEDB)".to_string());
        }
        if self.create_role {
            why.push("it may create and alter roles (CREATEROLE)".to_string());
        }
        if self.create_on_database {
            why.push(format!("it has CREATE on database {} (may create schemas)", self.database));
        }
        if let Some(schemas) = &self.create_schemas {
            why.push(format!("it has CREATE on schema {schemas} (may create tables)"));
        }
        if self.writable_relations > 0 {
            let examples = self.writable_examples.as_deref().unwrap_or("");
            let more = if self.writable_relations > EXAMPLES as i64 { ", …" } else { "" };
            why.push(format!(
                "it may INSERT, UPDATE, DELETE or TRUNCATE on {} table(s) or view(s): {examples}{more}",
                self.writable_relations
            ));
        }
        let can_write = !why.is_empty();
        if !can_write {
            why.push(
                "no write privilege: not a superuser, no CREATEDB or CREATEROLE, no CREATE on the database or any \
                 schema, no INSERT, UPDATE, DELETE or TRUNCATE on any table"
                    .to_string(),
            );
        }
        why.push(if self.role_default_read_only {
            "the role's default_transaction_read_only is on".to_string()
        } else {
            "the role's default_transaction_read_only is not set (DataGenie sets it for its own sessions)".to_string()
        });
        (can_write, why)
    }
}

pub(super) async fn report(c: &PostgresConnector) -> Result<AccessReport, Error> {
    let server_version = c.server_version().await?;
    let privileges = c
        .with_connection("the privilege check", PRIVILEGES_TIMEOUT, |client, deadline, _| {
            Box::pin(async move {
                let left = deadline.saturating_duration_since(Instant::now());
                let sql = format!(
                    "START TRANSACTION READ ONLY; SET LOCAL statement_timeout = {}; {PRIVILEGES_SQL}; COMMIT",
                    timeout_ms(left)
                );
                let messages = client.simple_query(&sql).await?;
                messages
                    .iter()
                    .find_map(|m| match m {
                        SimpleQueryMessage::Row(row) => Some(parse_row(row)),
                        _ => None,
                    })
                    .ok_or_else(|| {
                        Failure::Ours(Error::new(
                            ErrorCode::QueryFailed,
                            "the privilege check found no role named current_user",
                        ))
                    })
            })
        })
        .await?;
    let (can_write, write_evidence) = privileges.verdict();

    let check = Limits { max_rows: 1, timeout: PRIVILEGES_TIMEOUT };
    let read_only_session = match c.run_query("SHOW transaction_read_only", &check).await {
        Ok(rs) => matches!(rs.rows.first().and_then(|r| r.first()), Some(Value::Text(v)) if v == "on"),
        Err(e) => return Err(e),
    };
    let read_only_evidence = format!(
        "SHOW transaction_read_only inside DataGenie's transaction: {}",
        if read_only_session { "on" } else { "off" }
    );

    let probe = Limits { max_rows: 1, timeout: TIME_LIMIT_PROBE };
    let started = Instant::now();
    let outcome = c.run_query("SELECT pg_sleep(5)", &probe).await;
    let elapsed = started.elapsed();
    let (time_limit_enforced, mut time_limit_evidence) = judge_time_limit_probe(&outcome, elapsed);
    if time_limit_enforced {
        // Before the client-side grace ran out only the server can have stopped it.
        time_limit_evidence.push_str(if elapsed < TIME_LIMIT_PROBE + CLIENT_GRACE {
            " by the server's statement_timeout"
        } else {
            " by DataGenie's client-side deadline (a cancel request), not by the server's statement_timeout"
        });
    }
    Ok(AccessReport {
        engine: "PostgreSQL".to_string(),
        server_version,
        login: Some(c.url.user.clone()),
        write_scope: WriteScope::Login,
        can_write: Some(can_write),
        write_evidence,
        read_only_session,
        read_only_evidence,
        time_limit_enforced,
        time_limit_evidence,
        time_limit_probe_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
    })
}

fn parse_row(row: &tokio_postgres::SimpleQueryRow) -> Privileges {
    let text = |i: usize| row.get(i).map(str::to_string);
    let flag = |i: usize| row.get(i) == Some("t");
    Privileges {
        login: text(0).unwrap_or_default(),
        superuser: flag(1),
        create_db: flag(2),
        create_role: flag(3),
        create_on_database: flag(4),
        database: text(5).unwrap_or_default(),
        create_schemas: text(6).filter(|s| !s.is_empty()),
        writable_relations: row.get(7).and_then(|n| n.parse().ok()).unwrap_or(0),
        writable_examples: text(8),
        role_default_read_only: flag(9),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reader_cannot_write_and_says_what_was_checked() {
        let p = Privileges { login: "reader".into(), database: "shop".into(), ..Privileges::default() };
        let (can, why) = p.verdict();
        assert!(!can);
        assert!(why[0].starts_with("no write privilege"), "{why:?}");
        assert!(why[1].contains("not set"), "{why:?}");
    }

    #[test]
    fn every_write_privilege_is_named() {
        let p = Privileges {
            login: "app".into(),
            superuser: true,
            create_db: true,
            create_role: true,
            create_on_database: true,
            database: "shop".into(),
            create_schemas: Some("public".into()),
            writable_relations: 7,
            writable_examples: Some("public.a, public.b, public.c, public.d, public.e".into()),
            role_default_read_only: true,
        };
        let (can, why) = p.verdict();
        assert!(can);
        assert_eq!(why.len(), 7, "{why:?}");
        assert_eq!(why[0], "app is a superuser");
        assert_eq!(why[4], "it has CREATE on schema public (may create tables)");
        assert_eq!(
            why[5],
            "it may INSERT, UPDATE, DELETE or TRUNCATE on 7 table(s) or view(s): public.a, public.b, public.c, \
             public.d, public.e, …"
        );
        assert_eq!(why[6], "the role's default_transaction_read_only is on");
    }
}
