//! The system database's schema, as a list of migrations applied in order, each once.
//!
//! A migration is a SQL file under `migrations/<engine>/NNNN_name.sql`, embedded in the binary. To change the
//! schema, append a file and an entry to the engine's list; never edit, renumber or remove an applied one. The
//! runner enforces that: it records each applied migration's checksum and refuses to start on a database whose
//! recorded checksum differs from the file's (someone edited an applied migration), or that has migrations this
//! build does not know (a newer DataGenie wrote it).

use sha2::{Digest, Sha256};

/// One schema step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration {
    /// 1, 2, 3, … with no gaps: the position in the list.
    pub version: u32,
    /// What the step adds, as in its file name.
    pub name: &'static str,
    pub sql: &'static str,
}

impl Migration {
    /// SHA-256 of the SQL text, hex: what the runner records and compares.
    pub fn checksum(&self) -> String {
        Sha256::digest(self.sql.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// The SQLite system database's migrations.
pub const SQLITE: &[Migration] = &[
    Migration {
        version: 1,
        name: "query_templates",
        sql: include_str!("../migrations/sqlite/0001_query_templates.sql"),
    },
    Migration { version: 2, name: "server", sql: include_str!("../migrations/sqlite/0002_server.sql") },
    Migration {
        version: 3,
        name: "api_key_channel",
        sql: include_str!("../migrations/sqlite/0003_api_key_channel.sql"),
    },
    Migration { version: 4, name: "files", sql: include_str!("../migrations/sqlite/0004_files.sql") },
    Migration { version: 5, name: "knowledge", sql: include_str!("../migrations/sqlite/0005_knowledge.sql") },
    Migration { version: 6, name: "counters", sql: include_str!("../migrations/sqlite/0006_counters.sql") },
    Migration { version: 7, name: "credits", sql: include_str!("../migrations/sqlite/0007_credits.sql") },
    Migration { version: 8, name: "jobs", sql: include_str!("../migrations/sqlite/0008_jobs.sql") },
    Migration { version: 9, name: "retention", sql: include_str!("../migrations/sqlite/0009_retention.sql") },
    Migration { version: 10, name: "file_contents", sql: include_str!("../migrations/sqlite/0010_file_contents.sql") },
    Migration { version: 11, name: "job_exports", sql: include_str!("../migrations/sqlite/0011_job_exports.sql") },
];

/// The PostgreSQL system database's migrations (its own list: the same tables in PostgreSQL's types).
pub const POSTGRES: &[Migration] = &[
    Migration { version: 1, name: "system", sql: include_str!("../migrations/postgres/0001_system.sql") },
    Migration { version: 2, name: "counters", sql: include_str!("../migrations/postgres/0002_counters.sql") },
    Migration { version: 3, name: "credits", sql: include_str!("../migrations/postgres/0003_credits.sql") },
    Migration { version: 4, name: "jobs", sql: include_str!("../migrations/postgres/0004_jobs.sql") },
    Migration { version: 5, name: "retention", sql: include_str!("../migrations/postgres/0005_retention.sql") },
    Migration { version: 6, name: "file_contents", sql: include_str!("../migrations/postgres/0006_file_contents.sql") },
    Migration { version: 7, name: "job_exports", sql: include_str!("../migrations/postgres/0007_job_exports.sql") },
];

/// Checks that a list is numbered 1, 2, 3, … and that no name repeats: a test runs it on every engine's list.
pub fn check_list(list: &[Migration]) -> Result<(), String> {
    let mut names = std::collections::HashSet::new();
    for (i, m) in list.iter().enumerate() {
        let expected = u32::try_from(i + 1).map_err(|_| "too many migrations".to_string())?;
        if m.version != expected {
            return Err(format!("migration '{}' is numbered {}, expected {expected}", m.name, m.version));
        }
        if !names.insert(m.name) {
            return Err(format!("two migrations are named '{}'", m.name));
        }
        if m.sql.trim().is_empty() {
            return Err(format!("migration {} '{}' is empty", m.version, m.name));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lists_are_well_formed() {
        check_list(SQLITE).expect("well-formed");
        check_list(POSTGRES).expect("well-formed");
    }

    #[test]
    fn malformed_lists_are_caught() {
        let a = Migration { version: 1, name: "a", sql: "CREATE TABLE a (x)" };
        let gap = Migration { version: 3, name: "b", sql: "CREATE TABLE b (x)" };
        assert!(check_list(&[a, gap]).is_err_and(|e| e.contains("expected 2")));
        let twin = Migration { version: 2, name: "a", sql: "CREATE TABLE c (x)" };
        assert!(check_list(&[a, twin]).is_err_and(|e| e.contains("named 'a'")));
        let empty = Migration { version: 2, name: "e", sql: "  " };
        assert!(check_list(&[a, empty]).is_err_and(|e| e.contains("empty")));
    }

    #[test]
    fn a_checksum_changes_with_the_text() {
        let a = Migration { version: 1, name: "a", sql: "CREATE TABLE a (x)" };
        let edited = Migration { sql: "CREATE TABLE a (x, y)", ..a };
        assert_eq!(a.checksum().len(), 64);
        assert_ne!(a.checksum(), edited.checksum());
    }
}
