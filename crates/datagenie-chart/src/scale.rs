//! Scales: linear maps, "nice" tick values (1, 2, 5 × 10ⁿ) and calendar ticks for time axes (UTC).
//!
//! Invariants: tick lists are finite, ascending and short (at most [`MAX_TICKS`]); degenerate or non-finite
//! domains are widened to something drawable instead of producing NaN coordinates.

use crate::format::{civil_from_days, days_from_civil, number, tick_decimals};

/// No axis gets more ticks than this.
pub const MAX_TICKS: usize = 40;
const DAY_MS: f64 = 86_400_000.0;

/// A linear map from a domain to a pixel range. A zero-width domain maps everything to the range's middle.
#[derive(Debug, Clone, Copy)]
pub struct Linear {
    pub d0: f64,
    pub d1: f64,
    pub r0: f64,
    pub r1: f64,
}

impl Linear {
    pub fn map(&self, v: f64) -> f64 {
        if self.d1 == self.d0 {
            return (self.r0 + self.r1) / 2.0;
        }
        self.r0 + (v - self.d0) / (self.d1 - self.d0) * (self.r1 - self.r0)
    }
}

/// Tick values and the widened ("niced") domain they span.
#[derive(Debug, Clone, PartialEq)]
pub struct Ticks {
    pub lo: f64,
    pub hi: f64,
    pub values: Vec<f64>,
    /// Decimals that tell the ticks apart.
    pub decimals: usize,
}

impl Ticks {
    /// Tick labels with thousands separators.
    pub fn labels(&self) -> Vec<String> {
        self.values.iter().map(|&v| number(v, self.decimals)).collect()
    }
}

/// A step of 1, 2 or 5 × 10ⁿ close to `raw`.
fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let magnitude = 10f64.powf(raw.log10().floor());
    let fraction = raw / magnitude;
    let nice = if fraction <= 1.0 {
        1.0
    } else if fraction <= 2.0 {
        2.0
    } else if fraction <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * magnitude
}

/// Nice ticks covering `lo..=hi` with about `target` intervals; `zero` forces 0 into the domain.
pub fn nice(lo: f64, hi: f64, target: usize, zero: bool) -> Ticks {
    const LIMIT: f64 = 1e300;
    let (mut lo, mut hi) =
        if lo.is_finite() && hi.is_finite() && lo <= hi { (lo.max(-LIMIT), hi.min(LIMIT)) } else { (0.0, 1.0) };
    if zero {
        lo = lo.min(0.0);
        hi = hi.max(0.0);
    }
    if lo == hi {
        let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        (lo, hi) = if lo == 0.0 { (0.0, pad) } else { (lo - pad, hi + pad) };
    }
    let mut step = nice_step((hi - lo) / target.max(1) as f64);
    for _ in 0..64 {
        if (hi - lo) / step <= MAX_TICKS as f64 {
            break;
        }
        step *= 2.0;
    }
    let first = (lo / step).floor();
    let last = (hi / step).ceil();
    let values: Vec<f64> =
        (0..=((last - first) as usize).min(MAX_TICKS)).map(|k| snap((first + k as f64) * step, step)).collect();
    let lo = values.first().copied().unwrap_or(lo);
    let hi = values.last().copied().unwrap_or(hi);
    Ticks { lo, hi, values, decimals: tick_decimals(step) }
}

/// Like [`nice`], for values that are whole numbers (counts): no tick between two integers (a "1.5 orders" tick
/// misreads the data), so a small range ticks at every integer.
pub fn nice_whole(lo: f64, hi: f64, target: usize, zero: bool) -> Ticks {
    let ticks = nice(lo, hi, target, zero);
    if ticks.decimals == 0 {
        return ticks;
    }
    let (first, last) = (ticks.lo.floor(), ticks.hi.ceil().max(ticks.lo.floor() + 1.0));
    let values: Vec<f64> = (0..=((last - first) as usize).min(MAX_TICKS)).map(|k| first + k as f64).collect();
    let hi = values.last().copied().unwrap_or(last);
    Ticks { lo: first, hi, values, decimals: 0 }
}

/// Removes float noise (0.30000000000000004) by rounding to the step's precision.
fn snap(v: f64, step: f64) -> f64 {
    let digits = tick_decimals(step) as i32 + 1;
    let factor = 10f64.powi(digits);
    let snapped = (v * factor).round() / factor;
    if snapped == 0.0 { 0.0 } else { snapped }
}

/// A calendar interval for time ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Second,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Year,
}

impl Unit {
    fn approx_ms(self) -> f64 {
        match self {
            Unit::Second => 1_000.0,
            Unit::Minute => 60_000.0,
            Unit::Hour => 3_600_000.0,
            Unit::Day => DAY_MS,
            Unit::Week => 7.0 * DAY_MS,
            Unit::Month => 30.4 * DAY_MS,
            Unit::Year => 365.25 * DAY_MS,
        }
    }
}

const INTERVALS: &[(Unit, i64)] = &[
    (Unit::Second, 1),
    (Unit::Second, 5),
    (Unit::Second, 15),
    (Unit::Second, 30),
    (Unit::Minute, 1),
    (Unit::Minute, 5),
    (Unit::Minute, 15),
    (Unit::Minute, 30),
    (Unit::Hour, 1),
    (Unit::Hour, 3),
    (Unit::Hour, 6),
    (Unit::Hour, 12),
    (Unit::Day, 1),
    (Unit::Day, 2),
    (Unit::Week, 1),
    (Unit::Week, 2),
    (Unit::Month, 1),
    (Unit::Month, 3),
    (Unit::Month, 6),
    (Unit::Year, 1),
    (Unit::Year, 2),
    (Unit::Year, 5),
    (Unit::Year, 10),
    (Unit::Year, 20),
    (Unit::Year, 50),
    (Unit::Year, 100),
    (Unit::Year, 500),
    (Unit::Year, 1000),
];

/// Calendar ticks (epoch ms, label) inside `lo..=hi`, about `target` of them, at round units: years, months,
/// Mondays, days, hours, minutes. Labels: `2024`, `2024-03`, `03-15` (with the year when the span crosses one),
/// `10:00`.
pub fn time_ticks(lo: f64, hi: f64, target: usize) -> Vec<(f64, String)> {
    // JavaScript's date range: ±100,000,000 days around 1970.
    const RANGE_MS: f64 = 8.64e15;
    if !(lo.is_finite() && hi.is_finite()) || hi < lo || lo < -RANGE_MS || hi > RANGE_MS {
        return Vec::new();
    }
    let span = (hi - lo).max(1.0);
    let target = target.max(1) as f64;
    let (unit, step) = INTERVALS
        .iter()
        .copied()
        .find(|(u, k)| span / (u.approx_ms() * *k as f64) <= target)
        .unwrap_or((Unit::Year, 1000));
    let crosses_year =
        civil_from_days((lo / DAY_MS).floor() as i64).0 != civil_from_days((hi / DAY_MS).floor() as i64).0;
    let crosses_day = (lo / DAY_MS).floor() != (hi / DAY_MS).floor();
    let mut ticks = Vec::new();
    let mut t = first_tick(lo, unit, step);
    while t <= hi && ticks.len() < MAX_TICKS {
        if t >= lo {
            ticks.push((t, time_label(t, unit, crosses_year, crosses_day)));
        }
        t = next_tick(t, unit, step);
    }
    ticks
}

/// The first tick at or before `lo` on the grid of `step` units.
fn first_tick(lo: f64, unit: Unit, step: i64) -> f64 {
    let days = (lo / DAY_MS).floor() as i64;
    let (y, m, _) = civil_from_days(days);
    match unit {
        Unit::Year => days_from_civil(y.div_euclid(step) * step, 1, 1) as f64 * DAY_MS,
        Unit::Month => {
            let index = (y * 12 + m - 1).div_euclid(step) * step;
            days_from_civil(index.div_euclid(12), index.rem_euclid(12) + 1, 1) as f64 * DAY_MS
        }
        // 1970-01-01 was a Thursday: Mondays are the days with (days + 3) % 7 == 0.
        Unit::Week => (days - (days + 3).rem_euclid(7)) as f64 * DAY_MS,
        _ => {
            let ms = unit.approx_ms() * step as f64;
            (lo / ms).floor() * ms
        }
    }
}

fn next_tick(t: f64, unit: Unit, step: i64) -> f64 {
    let (y, m, _) = civil_from_days((t / DAY_MS).floor() as i64);
    match unit {
        Unit::Year => days_from_civil(y + step, 1, 1) as f64 * DAY_MS,
        Unit::Month => {
            let index = y * 12 + m - 1 + step;
            days_from_civil(index.div_euclid(12), index.rem_euclid(12) + 1, 1) as f64 * DAY_MS
        }
        _ => t + unit.approx_ms() * step as f64,
    }
}

fn time_label(t: f64, unit: Unit, crosses_year: bool, crosses_day: bool) -> String {
    let days = (t / DAY_MS).floor() as i64;
    let (y, m, d) = civil_from_days(days);
    let in_day = (t - days as f64 * DAY_MS) / 1000.0;
    let (hh, mm, ss) = ((in_day / 3600.0) as i64, (in_day / 60.0) as i64 % 60, in_day as i64 % 60);
    match unit {
        Unit::Year => format!("{y}"),
        Unit::Month => format!("{y}-{m:02}"),
        Unit::Week | Unit::Day if crosses_year => format!("{y}-{m:02}-{d:02}"),
        Unit::Week | Unit::Day => format!("{m:02}-{d:02}"),
        Unit::Hour | Unit::Minute if crosses_day => format!("{m:02}-{d:02} {hh:02}:{mm:02}"),
        Unit::Hour | Unit::Minute => format!("{hh:02}:{mm:02}"),
        Unit::Second => format!("{hh:02}:{mm:02}:{ss:02}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_ticks_round_and_cover() {
        let t = nice(3.0, 97.0, 5, true);
        assert_eq!(t.values, [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
        assert_eq!((t.lo, t.hi), (0.0, 100.0));
        assert_eq!(t.labels()[5], "100");
        let t = nice(-1234.0, 5678.0, 5, true);
        assert!(t.lo <= -1234.0 && t.hi >= 5678.0 && t.values.contains(&0.0));
        assert_eq!(t.labels()[0], "-2,000");
    }

    #[test]
    fn nice_ticks_handle_decimals_and_degenerate_domains() {
        let t = nice(0.1, 0.3, 4, false);
        assert!(t.values.iter().all(|v| (v * 100.0).round() == v * 100.0), "{:?}", t.values);
        assert_eq!(t.decimals, 2);
        let counts = nice_whole(0.0, 2.2, 5, true);
        assert_eq!(counts.values, vec![0.0, 1.0, 2.0, 3.0]);
        assert_eq!(counts.decimals, 0);
        assert_eq!(nice_whole(0.0, 97.0, 5, true).values, nice(0.0, 97.0, 5, true).values, "wide ranges as before");
        assert_eq!(nice_whole(0.0, 0.0, 5, true).values, vec![0.0, 1.0]);
        let t = nice(5.0, 5.0, 5, false);
        assert!(t.lo < 5.0 && t.hi > 5.0);
        let t = nice(0.0, 0.0, 5, true);
        assert_eq!((t.lo, t.hi), (0.0, 1.0));
        let t = nice(f64::NAN, f64::INFINITY, 5, true);
        assert!(t.values.iter().all(|v| v.is_finite()));
        let t = nice(-1e300, 1e300, 1000, false);
        assert!(t.values.len() <= MAX_TICKS + 1);
    }

    #[test]
    fn linear_maps_and_survives_zero_width() {
        let s = Linear { d0: 0.0, d1: 10.0, r0: 100.0, r1: 0.0 };
        assert_eq!(s.map(5.0), 50.0);
        assert_eq!(Linear { d0: 1.0, d1: 1.0, r0: 0.0, r1: 10.0 }.map(1.0), 5.0);
    }

    fn ms(y: i64, m: i64, d: i64) -> f64 {
        days_from_civil(y, m, d) as f64 * DAY_MS
    }

    #[test]
    fn time_ticks_pick_calendar_units() {
        let years = time_ticks(ms(2015, 6, 1), ms(2024, 2, 1), 6);
        assert_eq!(years.first().map(|t| t.1.as_str()), Some("2016"));
        assert!(years.iter().all(|(_, l)| l.len() == 4));
        let months = time_ticks(ms(2024, 1, 1), ms(2024, 12, 1), 8);
        assert!(months.iter().any(|(_, l)| l == "2024-04"), "{months:?}");
        let days = time_ticks(ms(2024, 3, 1), ms(2024, 3, 10), 10);
        assert_eq!(days.first().map(|t| t.1.as_str()), Some("03-01"));
        let hours = time_ticks(ms(2024, 3, 1), ms(2024, 3, 1) + 6.0 * 3.6e6, 6);
        assert_eq!(hours.first().map(|t| t.1.as_str()), Some("00:00"));
        assert!(time_ticks(1.0, 0.0, 5).is_empty());
        assert!(time_ticks(0.0, f64::MAX, 5).is_empty());
        assert!(time_ticks(-8e15, 8e15, 5).len() <= MAX_TICKS);
    }
}
