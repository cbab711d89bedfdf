//! Tiers and credits (seed 004), as the settings define them: `billing_enabled` (off by default: nothing here
//! applies), `tiers` (each tier's monthly credits, questions per minute, token limits and job-queue priority),
//! `credits_per_question` and `admins_exempt`.
//!
//! With billing on, a question that may reach the LLM holds its credits first (one atomic debit; the tier's monthly
//! credits are granted on the first one of a month); a question answered without the LLM's work — a template, the
//! built-in engine, a cached reply — or that fails is refunded. The balance never goes below 0: a question without
//! credits is still answered by the free sources, and refused with `insufficient_credits` only when the LLM was
//! needed.

use std::collections::BTreeMap;

use datagenie_core::{Error, ErrorCode};
use datagenie_store::model::{Role, Setting, Timestamp, TokenLimits, User};
use serde::{Deserialize, Serialize};

/// One tier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    pub monthly_credits: i64,
    pub questions_per_minute: u32,
    pub hourly_token_limit: Option<i64>,
    pub daily_token_limit: Option<i64>,
    pub monthly_token_limit: Option<i64>,
    /// Higher runs first in the job queue.
    pub queue_priority: i32,
}

/// The billing settings in force.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Billing {
    pub enabled: bool,
    pub credits_per_question: i64,
    pub admins_exempt: bool,
    pub tiers: BTreeMap<String, Tier>,
}

/// The tier a user whose tier is not (or no longer) defined is treated as.
pub const FALLBACK_TIER: &str = "free";

impl Billing {
    /// From the stored settings; a malformed value keeps its default (and is logged).
    pub fn from_settings(settings: &[Setting]) -> Billing {
        let mut b = Billing { enabled: false, credits_per_question: 1, admins_exempt: true, tiers: BTreeMap::new() };
        for s in settings {
            match s.key.as_str() {
                "billing_enabled" => b.enabled = s.value.as_bool().unwrap_or(false),
                "credits_per_question" => b.credits_per_question = s.value.as_i64().unwrap_or(1).max(0),
                "admins_exempt" => b.admins_exempt = s.value.as_bool().unwrap_or(true),
                "tiers" => match parse_tiers(&s.value) {
                    Ok(tiers) => b.tiers = tiers,
                    Err(e) => tracing::warn!(error = %e.message, "the tiers setting does not read; no tiers"),
                },
                _ => {}
            }
        }
        b
    }

    /// Whether tiers and credits apply to `user` (billing on, and not an exempt admin).
    pub fn applies_to(&self, user: &User) -> bool {
        self.enabled && !(self.admins_exempt && user.role == Role::Admin)
    }

    /// The user's tier when billing applies to them.
    pub fn tier_of(&self, user: &User) -> Option<&Tier> {
        if !self.applies_to(user) {
            return None;
        }
        self.tiers.get(&user.tier).or_else(|| self.tiers.get(FALLBACK_TIER))
    }

    /// The token limits in force: the user's own, each capped by their tier's.
    pub fn limits_of(&self, user: &User) -> TokenLimits {
        let Some(tier) = self.tier_of(user) else { return user.limits };
        let cap = |own: Option<i64>, tier: Option<i64>| match (own, tier) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        TokenLimits {
            hourly: cap(user.limits.hourly, tier.hourly_token_limit),
            daily: cap(user.limits.daily, tier.daily_token_limit),
            monthly: cap(user.limits.monthly, tier.monthly_token_limit),
        }
    }
}

/// The `tiers` setting read and checked: an object of tiers named by lower-case letters, digits and `_`, each with
/// every field, none negative. Errors: `invalid_argument` saying what is wrong.
pub fn parse_tiers(value: &serde_json::Value) -> Result<BTreeMap<String, Tier>, Error> {
    let invalid = |m: String| Error::new(ErrorCode::InvalidArgument, format!("tiers: {m}"));
    let tiers: BTreeMap<String, Tier> =
        serde_json::from_value(value.clone()).map_err(|e| invalid(format!("not a map of tiers: {e}")))?;
    if tiers.is_empty() {
        return Err(invalid("at least one tier is needed".into()));
    }
    for (name, t) in &tiers {
        if name.is_empty()
            || name.len() > 50
            || !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(invalid(format!("'{name}' is not a tier name (a-z, 0-9, _)")));
        }
        let limits = [t.hourly_token_limit, t.daily_token_limit, t.monthly_token_limit];
        if t.monthly_credits < 0 || limits.iter().flatten().any(|n| *n < 0) {
            return Err(invalid(format!("'{name}' has a negative amount")));
        }
    }
    Ok(tiers)
}

/// The start of the month `now` falls in (UTC): the period of monthly credits.
pub fn month_start(now: time::OffsetDateTime) -> Timestamp {
    let utc = now.to_offset(time::UtcOffset::UTC);
    let start = utc.replace_day(1).map(|d| d.replace_time(time::Time::MIDNIGHT)).unwrap_or(utc);
    Timestamp(start)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setting(key: &str, value: serde_json::Value) -> Setting {
        Setting {
            key: key.into(),
            value,
            description: None,
            category: "billing".into(),
            sensitive: false,
            updated_by: None,
            updated_at: Timestamp::now(),
        }
    }

    fn tiers() -> serde_json::Value {
        serde_json::json!({
            "free": {"monthly_credits": 10, "questions_per_minute": 5, "hourly_token_limit": 100,
                     "daily_token_limit": null, "monthly_token_limit": 1000, "queue_priority": 10},
            "pro": {"monthly_credits": 100, "questions_per_minute": 60, "hourly_token_limit": null,
                    "daily_token_limit": null, "monthly_token_limit": null, "queue_priority": 50}
        })
    }

    fn user(role: Role, tier: &str, hourly: Option<i64>) -> User {
        User {
            id: "u".into(),
            username: "u".into(),
            email: "u@x".into(),
            full_name: None,
            role,
            active: true,
            created_at: Timestamp::now(),
            updated_at: Timestamp::now(),
            last_login_at: None,
            preferences: serde_json::json!({}),
            token_usage: 0,
            limits: TokenLimits { hourly, daily: Some(50), monthly: None },
            tier: tier.into(),
        }
    }

    #[test]
    fn tiers_apply_only_when_on_and_admins_are_exempt() {
        let mut b = Billing::from_settings(&[setting("tiers", tiers()), setting("billing_enabled", true.into())]);
        let u = user(Role::User, "free", Some(500));
        assert_eq!(b.tier_of(&u).map(|t| t.queue_priority), Some(10));
        let limits = b.limits_of(&u);
        assert_eq!(
            (limits.hourly, limits.daily, limits.monthly),
            (Some(100), Some(50), Some(1000)),
            "capped by the tier"
        );
        assert_eq!(
            b.tier_of(&user(Role::User, "gone", None)).map(|t| t.queue_priority),
            Some(10),
            "falls back to free"
        );
        assert!(b.tier_of(&user(Role::Admin, "free", None)).is_none());
        b.admins_exempt = false;
        assert!(b.tier_of(&user(Role::Admin, "free", None)).is_some());
        b.enabled = false;
        assert!(b.tier_of(&u).is_none());
        assert_eq!(b.limits_of(&u), u.limits, "off: the user's own limits");
    }

    #[test]
    fn bad_tiers_are_refused_with_the_reason() {
        assert!(parse_tiers(&tiers()).is_ok());
        for (bad, says) in [
            (serde_json::json!({}), "at least one"),
            (serde_json::json!({"Gold": tiers()["free"]}), "not a tier name"),
            (serde_json::json!({"x": {"monthly_credits": -1}}), "not a map"),
            (serde_json::json!([1]), "not a map"),
        ] {
            let e = parse_tiers(&bad).expect_err("bad");
            assert!(e.message.contains(says), "{}", e.message);
        }
        let mut negative = tiers();
        negative["free"]["monthly_credits"] = serde_json::json!(-5);
        assert!(parse_tiers(&negative).expect_err("negative").message.contains("negative"));
    }

    #[test]
    fn months_start_on_the_first_at_midnight_utc() {
        let t = time::macros::datetime!(2026-12-07 22:30:00 +09:00);
        assert_eq!(month_start(t).to_rfc3339(), "2026-12-01T00:00:00.000Z");
    }
}
