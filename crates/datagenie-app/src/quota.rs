//! Token limits (seeds 001 and 004): a user's hourly, daily and monthly limits against what they used in the
//! current UTC hour, day and month. The tightest window becomes the [`TokenBudget`] the pipeline enforces before
//! every LLM call.

use std::time::Duration;

use datagenie_core::Error;
use datagenie_store::Store;
use datagenie_store::model::{Timestamp, TokenLimits, UsageTotals};
use time::{Date, OffsetDateTime, Time};

use crate::ask::TokenBudget;

/// A limit window: its name, its start and its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub name: &'static str,
    pub start: OffsetDateTime,
    pub end: OffsetDateTime,
}

/// The current UTC hour, day and month around `now`.
pub fn windows(now: OffsetDateTime) -> [Window; 3] {
    let now = now.to_offset(time::UtcOffset::UTC);
    let date = now.date();
    let hour = date.with_time(Time::from_hms(now.hour(), 0, 0).unwrap_or(Time::MIDNIGHT)).assume_utc();
    let day = date.midnight().assume_utc();
    let month_start = Date::from_calendar_date(date.year(), date.month(), 1).unwrap_or(date);
    let next_month = match date.month() {
        time::Month::December => Date::from_calendar_date(date.year() + 1, time::Month::January, 1),
        m => Date::from_calendar_date(date.year(), m.next(), 1),
    }
    .unwrap_or(date);
    [
        Window { name: "hourly", start: hour, end: hour + time::Duration::HOUR },
        Window { name: "daily", start: day, end: day + time::Duration::DAY },
        Window { name: "monthly", start: month_start.midnight().assume_utc(), end: next_month.midnight().assume_utc() },
    ]
}

/// The budget left under `limits` given what was used in each window (in [`windows`] order); `None` when no
/// limit is set.
pub fn budget(limits: &TokenLimits, used: &[UsageTotals; 3], now: OffsetDateTime) -> Option<TokenBudget> {
    let windows = windows(now);
    let caps = [limits.hourly, limits.daily, limits.monthly];
    windows
        .iter()
        .zip(caps)
        .zip(used)
        .filter_map(|((w, cap), used)| {
            let cap = cap?;
            let resets_in = Duration::try_from(w.end - now).unwrap_or(Duration::ZERO);
            Some(TokenBudget { remaining: cap - used.tokens(), window: w.name.to_string(), limit: cap, resets_in })
        })
        // The tightest; on a tie, the one that frees last (the honest wait).
        .min_by(|a, b| a.remaining.cmp(&b.remaining).then(b.resets_in.cmp(&a.resets_in)))
}

/// The starts of the windows that `limits` limits, in [`windows`] order: the moments whose usage
/// [`budget_from`] needs.
pub fn limited_since(limits: &TokenLimits, now: OffsetDateTime) -> Vec<Timestamp> {
    let caps = [limits.hourly, limits.daily, limits.monthly];
    windows(now).iter().zip(caps).filter(|(_, cap)| cap.is_some()).map(|(w, _)| Timestamp(w.start)).collect()
}

/// The budget under `limits` from the usage since each moment of [`limited_since`] (same order).
pub fn budget_from(limits: &TokenLimits, usage: &[UsageTotals], now: OffsetDateTime) -> Option<TokenBudget> {
    let caps = [limits.hourly, limits.daily, limits.monthly];
    let mut given = usage.iter();
    let used: [UsageTotals; 3] =
        caps.map(|cap| if cap.is_some() { given.next().cloned().unwrap_or_default() } else { UsageTotals::default() });
    budget(limits, &used, now)
}

/// The budget of `user_id` under `limits` now, reading their usage from the store (a sum per limited window).
pub async fn budget_of(store: &dyn Store, user_id: &str, limits: &TokenLimits) -> Result<Option<TokenBudget>, Error> {
    if limits.hourly.is_none() && limits.daily.is_none() && limits.monthly.is_none() {
        return Ok(None);
    }
    let now = OffsetDateTime::now_utc();
    let [h, d, m] = windows(now);
    // Only the windows that have a limit are summed.
    let sum = |limit: Option<i64>, start: OffsetDateTime| async move {
        match limit {
            Some(_) => store.usage_since(user_id, Timestamp(start)).await,
            None => Ok(UsageTotals::default()),
        }
    };
    let used =
        [sum(limits.hourly, h.start).await?, sum(limits.daily, d.start).await?, sum(limits.monthly, m.start).await?];
    Ok(budget(limits, &used, now))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn used(tokens: i64) -> UsageTotals {
        UsageTotals { questions: 1, prompt_tokens: tokens, completion_tokens: 0, cost_usd: 0.0 }
    }

    #[test]
    fn windows_are_the_current_utc_hour_day_and_month() {
        let [h, d, m] = windows(datetime!(2025-12-31 23:59:30 UTC));
        assert_eq!((h.start, h.end), (datetime!(2025-12-31 23:00 UTC), datetime!(2026-01-01 00:00 UTC)));
        assert_eq!((d.start, d.end), (datetime!(2025-12-31 00:00 UTC), datetime!(2026-01-01 00:00 UTC)));
        assert_eq!((m.start, m.end), (datetime!(2025-12-01 00:00 UTC), datetime!(2026-01-01 00:00 UTC)));
        // Another offset is read in UTC.
        let [h, ..] = windows(datetime!(2025-06-01 08:15 +09:00));
        assert_eq!(h.start, datetime!(2025-05-31 23:00 UTC));
    }

    #[test]
    fn the_tightest_limit_is_the_budget() {
        let now = datetime!(2025-06-10 10:50 UTC);
        let limits = TokenLimits { hourly: Some(1000), daily: Some(10_000), monthly: Some(100_000) };
        let b = budget(&limits, &[used(400), used(9_800), used(20_000)], now).expect("limited");
        assert_eq!((b.window.as_str(), b.remaining, b.limit), ("daily", 200, 10_000));
        assert_eq!(b.resets_in, Duration::from_secs(13 * 3600 + 10 * 60));
        let b = budget(&limits, &[used(1000), used(1000), used(1000)], now).expect("limited");
        assert_eq!((b.window.as_str(), b.remaining), ("hourly", 0));
        assert_eq!(b.resets_in, Duration::from_secs(600));
        assert_eq!(budget(&TokenLimits::default(), &[used(1); 3], now), None);
        let only_monthly = TokenLimits { monthly: Some(5), ..Default::default() };
        assert_eq!(budget(&only_monthly, &[used(0), used(0), used(9)], now).map(|b| b.remaining), Some(-4));
    }
}
