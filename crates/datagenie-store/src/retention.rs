//! Retention (seed 000's `cleanup_old_data`): what the system database stops keeping, and when. Every server runs
//! it each hour (and once shortly after it starts); `datagenie system-db purge` runs it once, for cron.
//!
//! One run ([`crate::Store::purge_expired`]) is ONE transaction that removes:
//!
//! - **history** (`history_retention_days`, 90): questions older than that, with their chart and stored rows —
//!   except the answers someone marked right, which are the connection's examples for later questions (unmark one
//!   to let it go). Chat messages keep their text, but no longer link to the removed question. The credit ledger is
//!   append-only and loses nothing: a ledger row keeps the id of the question it paid for as plain text, as it keeps
//!   the id of a deleted user (nothing follows that link). System events older than that go too. Token usage
//!   (hourly buckets per user and model, no question text) stays: the usage report and the monthly limits read it.
//! - **login sessions** that expired, with their refresh tokens (which cannot outlive them). An ended one (logout) is
//!   kept until it would have expired, so that its spent tokens, presented again, are still caught as reuse.
//! - **jobs** that ended (succeeded, failed, cancelled) more than `job_retention_days` (7) ago, and those whose
//!   answer was removed with the history (a job is only the handle on its answer).
//! - **counters** (request rates, failed logins) whose window expired.
//! - **audit rows** older than `audit_retention_days` (180): always a prefix of the chain (up to the first row that
//!   is not that old), after checking that those rows and their link to the next one are intact — retention never
//!   removes the evidence of a broken chain: the run fails instead, saying where it is broken. The last row removed
//!   becomes the chain's anchor (see [`crate::audit`]), set before the rows go: the database deletes audit rows only
//!   up to the anchor.
//!
//! API keys are kept, expired and revoked ones included: the history and the usage report name them, and the list
//! of a user's keys is what a security review reads (only their hash is stored). A 0 setting keeps that kind
//! forever.
//!
//! A run that removed anything appends an `audit.prune` row with the counts, the days in force and the anchor it
//! left; a run that removed nothing leaves no trace, so a second run at once changes nothing. Concurrent runs —
//! several servers, a cron job — take turns (SQLite's write lock; a PostgreSQL advisory lock): the second finds
//! nothing left to remove.

use datagenie_core::{Error, ErrorCode};
use serde::Serialize;

use crate::model::*;
use crate::store::Store;

/// The settings of retention and their defaults (days; 0: forever).
pub const HISTORY_DAYS: (&str, u32) = ("history_retention_days", 90);
pub const AUDIT_DAYS: (&str, u32) = ("audit_retention_days", 180);
pub const JOB_DAYS: (&str, u32) = ("job_retention_days", 7);

/// The longest a setting may say: a hundred years.
pub const MAX_DAYS: u32 = 36_500;

/// How long each kind is kept, in days; 0 keeps it forever.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RetentionPolicy {
    pub history_days: u32,
    pub audit_days: u32,
    pub job_days: u32,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        RetentionPolicy { history_days: HISTORY_DAYS.1, audit_days: AUDIT_DAYS.1, job_days: JOB_DAYS.1 }
    }
}

impl RetentionPolicy {
    /// Keeps everything.
    pub const FOREVER: RetentionPolicy = RetentionPolicy { history_days: 0, audit_days: 0, job_days: 0 };

    /// From the stored settings; a missing or malformed value (not a whole number 0..=[`MAX_DAYS`]) keeps its
    /// default.
    pub fn from_settings(settings: &[Setting]) -> RetentionPolicy {
        let mut p = RetentionPolicy::default();
        for s in settings {
            let Some(days) = valid_days(&s.value) else { continue };
            match s.key.as_str() {
                k if k == HISTORY_DAYS.0 => p.history_days = days,
                k if k == AUDIT_DAYS.0 => p.audit_days = days,
                k if k == JOB_DAYS.0 => p.job_days = days,
                _ => {}
            }
        }
        p
    }

    /// Rows created before this moment are old enough to go (`None`: kept forever).
    pub fn history_cutoff(&self, now: Timestamp) -> Option<Timestamp> {
        cutoff(self.history_days, now)
    }

    pub fn audit_cutoff(&self, now: Timestamp) -> Option<Timestamp> {
        cutoff(self.audit_days, now)
    }

    pub fn job_cutoff(&self, now: Timestamp) -> Option<Timestamp> {
        cutoff(self.job_days, now)
    }
}

/// Whether `key` is a retention setting.
pub fn is_setting(key: &str) -> bool {
    [HISTORY_DAYS.0, AUDIT_DAYS.0, JOB_DAYS.0].contains(&key)
}

/// A retention setting's value as days: a whole number from 0 to [`MAX_DAYS`].
pub fn valid_days(value: &serde_json::Value) -> Option<u32> {
    value.as_u64().and_then(|n| u32::try_from(n).ok()).filter(|n| *n <= MAX_DAYS)
}

fn cutoff(days: u32, now: Timestamp) -> Option<Timestamp> {
    (days > 0).then(|| crate::common::ms(now.plus(-time::Duration::days(i64::from(days)))))
}

/// What a run removed (or, with `dry_run`, would remove), by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PurgeReport {
    /// Questions, with their charts and stored rows.
    pub history: u64,
    pub events: u64,
    pub sessions: u64,
    pub refresh_tokens: u64,
    pub jobs: u64,
    pub counters: u64,
    pub audit_rows: u64,
    /// The audit anchor after the run: the last row of the chain ever removed (0: none).
    pub audit_anchor: i64,
    /// Nothing was removed: the counts are what a run would remove.
    pub dry_run: bool,
}

impl PurgeReport {
    /// Rows of records removed (counters, which are not records, left out): what makes a run leave an audit row.
    pub fn records(&self) -> u64 {
        self.history + self.events + self.sessions + self.refresh_tokens + self.jobs + self.audit_rows
    }
}

/// One run with the policy the stored settings say, at `now`: what the servers' schedule and `datagenie system-db
/// purge` do.
pub async fn purge(store: &dyn Store, now: Timestamp, dry_run: bool) -> Result<(RetentionPolicy, PurgeReport), Error> {
    let policy = RetentionPolicy::from_settings(&store.settings().await?);
    let report = store.purge_expired(policy, now, dry_run).await?;
    Ok((policy, report))
}

/// The `audit.prune` row a run appends: its counts, the days in force, and the anchor it left.
pub(crate) fn prune_entry(policy: RetentionPolicy, report: &PurgeReport, anchor_hash: &str) -> NewAuditEntry {
    NewAuditEntry {
        user_id: None,
        action: crate::audit::PRUNE_ACTION.into(),
        resource_type: "retention".into(),
        resource_id: None,
        old_values: None,
        new_values: Some(serde_json::json!({
            "history": report.history,
            "events": report.events,
            "sessions": report.sessions,
            "refresh_tokens": report.refresh_tokens,
            "jobs": report.jobs,
            "counters": report.counters,
            "audit_rows": report.audit_rows,
            "anchor_seq": report.audit_anchor,
            "anchor_hash": anchor_hash,
            "history_retention_days": policy.history_days,
            "audit_retention_days": policy.audit_days,
            "job_retention_days": policy.job_days,
        })),
        ip_address: None,
        user_agent: Some("datagenie retention".into()),
        request_id: None,
        success: true,
        reason: None,
    }
}

/// The error of a run that would remove a broken part of the audit chain.
pub(crate) fn broken_chain(b: &AuditBreak) -> Error {
    Error::new(
        ErrorCode::SystemDatabase,
        format!(
            "retention does not remove audit rows from a broken chain: row {} {}; see `datagenie audit verify` (set \
             audit_retention_days to 0 to let the other kinds go meanwhile)",
            b.seq, b.reason
        ),
    )
}

/// The audit part of a run, as both engines plan it from what they read: the rows up to `target` go when `target`
/// is past the current anchor.
pub(crate) fn audit_target(
    anchor: i64,
    head: i64,
    first_recent: Option<i64>,
    cutoff: Option<Timestamp>,
) -> Option<i64> {
    cutoff?;
    let target = first_recent.map_or(head, |s| s - 1);
    (target > anchor).then_some(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setting(key: &str, value: serde_json::Value) -> Setting {
        Setting {
            key: key.into(),
            value,
            description: None,
            category: "retention".into(),
            sensitive: false,
            updated_by: None,
            updated_at: Timestamp::now(),
        }
    }

    #[test]
    fn the_policy_reads_the_settings_and_keeps_defaults_for_bad_values() {
        assert_eq!(RetentionPolicy::from_settings(&[]), RetentionPolicy::default());
        let p = RetentionPolicy::from_settings(&[
            setting("history_retention_days", serde_json::json!(30)),
            setting("audit_retention_days", serde_json::json!(0)),
            setting("job_retention_days", serde_json::json!(-1)),
            setting("other", serde_json::json!(5)),
        ]);
        assert_eq!(p, RetentionPolicy { history_days: 30, audit_days: 0, job_days: 7 });
        for bad in [serde_json::json!(1.5), serde_json::json!("10"), serde_json::json!(36_501), serde_json::json!(null)]
        {
            assert_eq!(valid_days(&bad), None, "{bad}");
        }
        assert_eq!(valid_days(&serde_json::json!(36_500)), Some(36_500));
        assert!(is_setting("audit_retention_days") && !is_setting("max_query_rows"));
    }

    #[test]
    fn cutoffs_are_days_before_now_and_zero_is_forever() {
        let now = Timestamp::parse("2026-03-31T12:00:00.123Z").expect("time");
        let p = RetentionPolicy { history_days: 90, audit_days: 0, job_days: 1 };
        assert_eq!(p.history_cutoff(now).map(|t| t.to_rfc3339()), Some("2025-12-31T12:00:00.123Z".into()));
        assert_eq!(p.job_cutoff(now).map(|t| t.to_rfc3339()), Some("2026-03-30T12:00:00.123Z".into()));
        assert_eq!(p.audit_cutoff(now), None);
        assert_eq!(RetentionPolicy::FOREVER.history_cutoff(now), None);
    }

    #[test]
    fn the_audit_target_is_a_prefix_past_the_anchor() {
        let cut = Some(Timestamp::now());
        // rows 1..=10, row 7 the first recent one: rows up to 6 go
        assert_eq!(audit_target(0, 10, Some(7), cut), Some(6));
        // already pruned up to 6: nothing more
        assert_eq!(audit_target(6, 10, Some(7), cut), None);
        // every row old: all of them
        assert_eq!(audit_target(6, 10, None, cut), Some(10));
        // the first row is recent: nothing
        assert_eq!(audit_target(0, 10, Some(1), cut), None);
        // kept forever
        assert_eq!(audit_target(0, 10, None, None), None);
    }
}
