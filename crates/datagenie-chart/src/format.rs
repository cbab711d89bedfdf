//! Number and date text for people: thousands separators, a hyphen-minus for negatives, no `-0`, and the subset of
//! d3-format the chart specs use.

/// `value` with `decimals` digits after the point and commas between thousands: `-1,234.50`. Values too large
/// for grouping to help (≥ 1e15) or not finite use exponent or `NaN`/`∞` text.
pub fn number(value: f64, decimals: usize) -> String {
    if !value.is_finite() {
        return if value.is_nan() {
            "NaN".into()
        } else if value > 0.0 {
            "∞".into()
        } else {
            "-∞".into()
        };
    }
    if value.abs() >= 1e15 {
        return format!("{value:.3e}");
    }
    let decimals = decimals.min(12);
    let text = format!("{:.*}", decimals, value.abs());
    let (whole, frac) = text.split_once('.').unwrap_or((text.as_str(), ""));
    let mut out = String::with_capacity(text.len() + whole.len() / 3 + 1);
    let is_zero = text.bytes().all(|b| b == b'0' || b == b'.');
    if value < 0.0 && !is_zero {
        out.push('-');
    }
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    out
}

/// Removes trailing zeros (and a bare point) after the decimal point: `1.50` → `1.5`, `2.00` → `2`.
fn trim_zeros(text: String) -> String {
    if !text.contains('.') || text.contains('e') {
        return text;
    }
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A value for a label or tooltip: integers in full with separators; other numbers with enough decimals to show
/// about four significant digits of their fractional scale, trailing zeros removed.
pub fn smart(value: f64) -> String {
    if value.is_finite() && value.fract() == 0.0 {
        return number(value, 0);
    }
    let magnitude = value.abs();
    let decimals = if magnitude >= 100.0 {
        2
    } else if magnitude >= 1.0 {
        3
    } else if magnitude > 0.0 {
        // Four significant digits of a number below one.
        (3 - magnitude.log10().floor() as i64).clamp(1, 12) as usize
    } else {
        0
    };
    trim_zeros(number(value, decimals))
}

/// Decimals needed to tell ticks `step` apart: 0 for steps ≥ 1, 1 for 0.1…, and so on.
pub fn tick_decimals(step: f64) -> usize {
    if !(step.is_finite() && step > 0.0) || step >= 1.0 {
        return 0;
    }
    let digits = -(step.log10().floor());
    // A step like 0.25 needs one more digit than its magnitude says.
    let base = digits as usize;
    let scaled = step * 10f64.powi(base as i32);
    if (scaled - scaled.round()).abs() > 1e-6 { (base + 1).min(12) } else { base.min(12) }
}

/// Formats `value` with the d3-format subset `[,][.precision][~][f|d]` used by chart specs (for example `,`,
/// `,.2f`, `,.3~f`, `d`); thousands are grouped only with `,`. Any other format falls back to [`smart`] rather
/// than failing.
pub fn d3(format: &str, value: f64) -> String {
    let (group, rest) = match format.strip_prefix(',') {
        Some(rest) => (true, rest),
        None => (false, format),
    };
    let ungroup = |s: String| if group { s } else { s.replace(',', "") };
    let (precision, rest) = match rest.strip_prefix('.') {
        Some(r) => {
            let n = r.bytes().take_while(u8::is_ascii_digit).count();
            (r[..n].parse::<usize>().ok(), &r[n..])
        }
        None => (None, rest),
    };
    let (trim, rest) = match rest.strip_prefix('~') {
        Some(r) => (true, r),
        None => (false, rest),
    };
    match (rest, precision) {
        ("f", Some(p)) if trim => ungroup(trim_zeros(number(value, p))),
        ("f", Some(p)) => ungroup(number(value, p)),
        ("d", _) => ungroup(number(value.round(), 0)),
        _ => smart(value),
    }
}

/// Civil date (year, month, day) of a count of days since 1970-01-01 (Howard Hinnant's algorithm).
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Days since 1970-01-01 of a civil date.
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_get_separators_and_signs() {
        assert_eq!(number(1_234_567.0, 0), "1,234,567");
        assert_eq!(number(-1_234.5, 2), "-1,234.50");
        assert_eq!(number(999.0, 0), "999");
        assert_eq!(number(-0.0001, 2), "0.00");
        assert_eq!(number(0.0, 0), "0");
        assert_eq!(number(1e16, 0), "1.000e16");
        assert_eq!(number(f64::NAN, 0), "NaN");
        assert_eq!(number(f64::NEG_INFINITY, 0), "-∞");
    }

    #[test]
    fn smart_keeps_integers_whole_and_trims_fractions() {
        assert_eq!(smart(12_000.0), "12,000");
        assert_eq!(smart(-3.5), "-3.5");
        assert_eq!(smart(1234.5678), "1,234.57");
        assert_eq!(smart(0.000_123_46), "0.0001235");
        assert_eq!(smart(0.0), "0");
    }

    #[test]
    fn tick_decimals_match_steps() {
        assert_eq!(tick_decimals(100.0), 0);
        assert_eq!(tick_decimals(1.0), 0);
        assert_eq!(tick_decimals(0.5), 1);
        assert_eq!(tick_decimals(0.25), 2);
        assert_eq!(tick_decimals(0.02), 2);
        assert_eq!(tick_decimals(f64::NAN), 0);
    }

    #[test]
    fn d3_subset() {
        assert_eq!(d3(",", 1234567.0), "1,234,567");
        assert_eq!(d3(",.2f", -12.5), "-12.50");
        assert_eq!(d3(",.3~f", 1.5), "1.5");
        assert_eq!(d3(",d", 1234.4), "1,234");
        assert_eq!(d3("d", 906210.0), "906210");
        assert_eq!(d3(".1f", -1234.56), "-1234.6");
        assert_eq!(d3("unknown%%", 2.5), "2.5");
    }

    #[test]
    fn civil_round_trip() {
        for days in [-800_000, -1, 0, 1, 11_016, 19_797, 60_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(19_797), (2024, 3, 15));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }
}
