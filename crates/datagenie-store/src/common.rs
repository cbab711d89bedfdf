//! What every store implementation shares about its values: the stored precision of times (milliseconds), the hour
//! buckets of token usage, and how a page is cut from the rows read.

use crate::model::*;

/// The present moment, at the stored precision (milliseconds), so what a method returns equals what it stored.
pub(crate) fn now() -> Timestamp {
    ms(Timestamp::now())
}

/// `t` at millisecond precision, in UTC.
pub(crate) fn ms(t: Timestamp) -> Timestamp {
    let utc = t.0.to_offset(time::UtcOffset::UTC);
    Timestamp(utc.replace_nanosecond(u32::from(utc.millisecond()) * 1_000_000).unwrap_or(utc))
}

/// The start of the hour `t` falls in (UTC).
pub(crate) fn hour_start(t: Timestamp) -> Timestamp {
    let utc = t.0.to_offset(time::UtcOffset::UTC);
    let start = utc.replace_minute(0).and_then(|u| u.replace_second(0)).and_then(|u| u.replace_nanosecond(0));
    Timestamp(start.unwrap_or(utc))
}

/// An `i64` from a count or limit (`usize`), saturating.
pub(crate) fn to_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Splits `limit + 1` rows read into a page: the first `limit` items, and the cursor after the last one when there
/// was more.
pub(crate) fn page_of<T>(mut items: Vec<T>, limit: usize, cursor: impl Fn(&T) -> String) -> Page<T> {
    let more = items.len() > limit;
    items.truncate(limit);
    let next_cursor = if more { items.last().map(cursor) } else { None };
    Page { items, next_cursor }
}

/// `patch` applied to `u` (the fields it sets), with `updated_at` now: what both engines store for an update.
pub(crate) fn apply_user_patch(u: &mut User, patch: UserPatch) {
    let UserPatch {
        role,
        active,
        full_name,
        hourly_token_limit,
        daily_token_limit,
        monthly_token_limit,
        preferences,
        tier,
    } = patch;
    if let Some(v) = tier {
        u.tier = v;
    }
    if let Some(v) = role {
        u.role = v;
    }
    if let Some(v) = active {
        u.active = v;
    }
    if let Some(v) = full_name {
        u.full_name = v;
    }
    if let Some(v) = hourly_token_limit {
        u.limits.hourly = v;
    }
    if let Some(v) = daily_token_limit {
        u.limits.daily = v;
    }
    if let Some(v) = monthly_token_limit {
        u.limits.monthly = v;
    }
    if let Some(v) = preferences {
        u.preferences = v;
    }
    u.updated_at = now();
}

/// The audit row after the chain's head (`seq`, `prev_hash`), hashed; its time is now (the caller holds the head, so
/// times follow seq). Errors: `invalid_argument` without an action or a resource type.
pub(crate) fn next_audit_row(
    e: NewAuditEntry,
    seq: i64,
    prev_hash: String,
) -> Result<AuditEntry, datagenie_core::Error> {
    if e.action.trim().is_empty() || e.resource_type.trim().is_empty() {
        return Err(datagenie_core::Error::new(
            datagenie_core::ErrorCode::InvalidArgument,
            "an audit entry needs an action and a resource type",
        ));
    }
    let mut row = AuditEntry {
        seq: seq + 1,
        id: new_id(),
        user_id: e.user_id,
        action: e.action,
        resource_type: e.resource_type,
        resource_id: e.resource_id,
        // stored as canonical JSON (audit::canonical_json); equal as values to what is read back
        old_values: e.old_values,
        new_values: e.new_values,
        ip_address: e.ip_address,
        user_agent: e.user_agent,
        request_id: e.request_id,
        result: if e.success { AuditResult::Success } else { AuditResult::Failure },
        reason: e.reason,
        created_at: now(),
        prev_hash,
        hash: String::new(),
    };
    row.hash = crate::audit::row_hash(&row.prev_hash, &row);
    Ok(row)
}

/// What is wrong with `content` as the spreadsheet `info` describes (a connection that is no file: `None` info), if
/// anything: both engines refuse to keep other bytes than the ones uploaded.
pub(crate) fn file_content_problem(id: &str, info: Option<&FileInfo>, content: &[u8]) -> Option<String> {
    use sha2::{Digest, Sha256};
    let Some(info) = info else {
        return Some(format!("connection '{id}' is not an uploaded file"));
    };
    if content.len() as u64 != info.size {
        return Some(format!("{} is {} bytes, not {}", info.name, info.size, content.len()));
    }
    if datagenie_core::schema::hex(&Sha256::digest(content)) != info.sha256 {
        return Some(format!("these bytes are not {} (another SHA-256)", info.name));
    }
    None
}

/// The associated data a file's bytes are sealed with: they open only as the file of that connection (never as its
/// URL, sealed with the bare id).
pub(crate) fn file_aad(id: &str) -> Vec<u8> {
    format!("file_contents:{id}").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_to_milliseconds_and_hours() {
        let t = Timestamp::parse("2025-06-24T10:30:59.123456789+09:00").expect("time");
        assert_eq!(ms(t).to_rfc3339(), "2025-06-24T01:30:59.123Z");
        assert_eq!(hour_start(t).to_rfc3339(), "2025-06-24T01:00:00.000Z");
        assert_eq!(hour_start(hour_start(t)), hour_start(t));
        assert_eq!(now().0.nanosecond() % 1_000_000, 0, "now() is at millisecond precision");
    }
}
