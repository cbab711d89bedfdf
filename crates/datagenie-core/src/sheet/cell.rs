//! One cell's text read as a person reads it: a whole number, a decimal, a percentage, an amount of money, yes/no,
//! a date or a date and time — or text. Pure functions of the text and the file's number style.

/// How the file writes decimals: `1,234.5` (the default) or `1.234,5` (decimal comma; the loader decides from the
/// file, never per cell).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NumberStyle {
    pub decimal_comma: bool,
}

/// What a non-empty cell holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    Int(i64),
    Decimal(f64),
    /// `12.5%`: the number as written (12.5), not the fraction.
    Percent(f64),
    /// `₩1,000`, `1,000원`, `$1,000.50`: the amount.
    Money(f64),
    Bool(bool),
    /// ISO 8601 `YYYY-MM-DD`.
    Date(String),
    /// ISO 8601 `YYYY-MM-DD HH:MM:SS`.
    DateTime(String),
    Text,
}

/// Reads one cell. Empty and whitespace-only cells are `None` (NULL).
pub fn parse(cell: &str, style: NumberStyle) -> Option<Parsed> {
    let t = cell.trim();
    if t.is_empty() {
        return None;
    }
    if let Some(b) = boolean(t) {
        return Some(Parsed::Bool(b));
    }
    if let Some(d) = date_time(t) {
        return Some(d);
    }
    Some(number(t, style).unwrap_or(Parsed::Text))
}

fn boolean(t: &str) -> Option<bool> {
    match t.to_lowercase().as_str() {
        "y" | "yes" | "true" | "예" | "네" => Some(true),
        "n" | "no" | "false" | "아니오" | "아니요" => Some(false),
        _ => None,
    }
}

const CURRENCY_PREFIXES: &[&str] = &["₩", "￦", "$", "US$", "€", "£", "¥", "KRW", "USD", "EUR", "JPY"];
const CURRENCY_SUFFIXES: &[&str] = &["원", "₩", "KRW", "USD", "달러", "EUR", "€", "엔"];

fn number(t: &str, style: NumberStyle) -> Option<Parsed> {
    let mut s = t.trim();
    let mut negative = false;
    if let Some(inner) = s.strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
        negative = true;
        s = inner.trim();
    }
    if let Some(rest) = s.strip_prefix('-').or_else(|| s.strip_prefix('−')) {
        negative = !negative;
        s = rest.trim_start();
    } else if let Some(rest) = s.strip_prefix('+') {
        s = rest.trim_start();
    }
    let mut money = false;
    for p in CURRENCY_PREFIXES {
        if let Some(rest) = s.strip_prefix(p) {
            money = true;
            s = rest.trim_start();
            break;
        }
    }
    // `$-5` as well as `-$5`
    if money && let Some(rest) = s.strip_prefix('-') {
        negative = !negative;
        s = rest.trim_start();
    }
    if !money {
        for suffix in CURRENCY_SUFFIXES {
            if let Some(rest) = s.strip_suffix(suffix) {
                money = true;
                s = rest.trim_end();
                break;
            }
        }
    }
    let mut percent = false;
    if !money && let Some(rest) = s.strip_suffix('%') {
        percent = true;
        s = rest.trim_end();
    }
    let (digits, integer) = plain_number(s, style)?;
    let sign = if negative { -1.0 } else { 1.0 };
    Some(if money {
        Parsed::Money(sign * digits)
    } else if percent {
        Parsed::Percent(sign * digits)
    } else if integer && digits.abs() < 9.0e15 {
        Parsed::Int(if negative { -(digits as i64) } else { digits as i64 })
    } else {
        Parsed::Decimal(sign * digits)
    })
}

/// Digits with grouping separators and at most one decimal separator: the value and whether it is whole.
/// Grouping must be in threes (`1,234,567`), so `1,2` is not a number under the default style.
fn plain_number(s: &str, style: NumberStyle) -> Option<(f64, bool)> {
    let (group, point) = if style.decimal_comma { ('.', ',') } else { (',', '.') };
    if s.is_empty() || !s.chars().next().is_some_and(|c| c.is_ascii_digit() || c == point) {
        return None;
    }
    let (int_part, frac_part) = match s.split_once(point) {
        Some((i, f)) => (i, Some(f)),
        None => (s, None),
    };
    if let Some(f) = frac_part
        && (f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let groups: Vec<&str> = int_part.split(group).collect();
    if groups.len() > 1 {
        let first = groups[0];
        if first.is_empty() || first.len() > 3 || groups[1..].iter().any(|g| g.len() != 3) {
            return None;
        }
    }
    if !groups.iter().all(|g| g.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    let int_digits: String = groups.concat();
    // A leading zero on a longer whole number is a code (zip, phone, product code), not a number.
    if frac_part.is_none() && int_digits.len() > 1 && int_digits.starts_with('0') {
        return None;
    }
    let text = match frac_part {
        Some(f) => format!("{}.{f}", if int_digits.is_empty() { "0" } else { &int_digits }),
        None => int_digits.clone(),
    };
    let value: f64 = text.parse().ok()?;
    Some((value, frac_part.is_none()))
}

/// `2024-03-05`, `2024.03.05`, `2024.3.5.`, `2024/3/5`, `2024년 3월 5일`, with an optional time `14:30` or
/// `14:30:15` after a space or `T`.
fn date_time(t: &str) -> Option<Parsed> {
    let (date, time) = match t.find('일') {
        Some(i) if t.contains('년') => (&t[..i], t[i + '일'.len_utf8()..].trim()),
        _ => match t.split_once(['T', ' ']) {
            Some((d, rest)) => (d, rest.trim()),
            None => (t, ""),
        },
    };
    let (y, m, d) = if date.contains('년') { korean_date(date)? } else { numeric_date(date)? };
    let iso = format!("{y:04}-{m:02}-{d:02}");
    if time.is_empty() {
        return Some(Parsed::Date(iso));
    }
    let (h, mi, s) = clock(time)?;
    Some(Parsed::DateTime(format!("{iso} {h:02}:{mi:02}:{s:02}")))
}

type Ymd = (i32, u32, u32);

/// `2024년 3월 5` (the `일` already cut off).
fn korean_date(t: &str) -> Option<Ymd> {
    let (y, rest) = t.split_once('년')?;
    let (m, d) = rest.split_once('월')?;
    ymd(y.trim(), m.trim(), d.trim())
}

/// `2024-03-05`, `2024.3.5.`, `2024/3/5`: a four-digit year first.
fn numeric_date(t: &str) -> Option<Ymd> {
    let t = t.trim().trim_end_matches('.');
    let sep = ['-', '.', '/'].into_iter().find(|c| t.contains(*c))?;
    let parts: Vec<&str> = t.split(sep).collect();
    if parts.len() != 3 || parts[0].len() != 4 {
        return None;
    }
    ymd(parts[0], parts[1], parts[2])
}

fn ymd(y: &str, m: &str, d: &str) -> Option<Ymd> {
    let all_digits = |s: &str| !s.is_empty() && s.len() <= 4 && s.bytes().all(|b| b.is_ascii_digit());
    if !(all_digits(y) && y.len() == 4 && all_digits(m) && m.len() <= 2 && all_digits(d) && d.len() <= 2) {
        return None;
    }
    let (y, m, d): (i32, u32, u32) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    (y >= 1000 && crate::calendar::is_valid_date(y, m, d)).then_some((y, m, d))
}

fn clock(t: &str) -> Option<(u32, u32, u32)> {
    let t = t.trim();
    // fractional seconds are dropped
    let t = t.split_once('.').map_or(t, |(whole, _)| whole);
    let parts: Vec<&str> = t.split(':').collect();
    if !(2..=3).contains(&parts.len())
        || !parts.iter().all(|p| (1..=2).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let h: u32 = parts[0].parse().ok()?;
    let m: u32 = parts[1].parse().ok()?;
    let s: u32 = parts.get(2).map_or(Some(0), |s| s.parse().ok())?;
    (h < 24 && m < 60 && s < 60).then_some((h, m, s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Option<Parsed> {
        parse(s, NumberStyle::default())
    }

    #[test]
    fn numbers_money_and_percentages() {
        assert_eq!(p(" 1,234 "), Some(Parsed::Int(1234)));
        assert_eq!(p("-42"), Some(Parsed::Int(-42)));
        assert_eq!(p("(1,000)"), Some(Parsed::Int(-1000)));
        assert_eq!(p("1,234.5"), Some(Parsed::Decimal(1234.5)));
        assert_eq!(p("0.25"), Some(Parsed::Decimal(0.25)));
        assert_eq!(p("12.5%"), Some(Parsed::Percent(12.5)));
        assert_eq!(p("₩1,000"), Some(Parsed::Money(1000.0)));
        assert_eq!(p("1,000원"), Some(Parsed::Money(1000.0)));
        assert_eq!(p("$1,000.50"), Some(Parsed::Money(1000.5)));
        assert_eq!(p("-$5"), Some(Parsed::Money(-5.0)));
        assert_eq!(parse("1.234,5", NumberStyle { decimal_comma: true }), Some(Parsed::Decimal(1234.5)));
        assert_eq!(parse("1.234", NumberStyle { decimal_comma: true }), Some(Parsed::Int(1234)));
        for text in ["1,2", "12,34,567", "007", "01012345678", "1.2.3", "abc", "1e5x", "--1"] {
            assert_eq!(p(text), Some(Parsed::Text), "{text}");
        }
        assert_eq!(p("   "), None);
    }

    #[test]
    fn dates_times_and_booleans() {
        for text in ["2024-03-05", "2024.03.05", "2024.3.5.", "2024/3/5", "2024년 3월 5일"] {
            assert_eq!(p(text), Some(Parsed::Date("2024-03-05".into())), "{text}");
        }
        assert_eq!(p("2024-03-05 14:30"), Some(Parsed::DateTime("2024-03-05 14:30:00".into())));
        assert_eq!(p("2024-03-05T14:30:15"), Some(Parsed::DateTime("2024-03-05 14:30:15".into())));
        assert_eq!(p("2024년 3월 5일 09:05"), Some(Parsed::DateTime("2024-03-05 09:05:00".into())));
        for text in ["2023-02-29", "2024-13-01", "24-03-05", "2024-03-05 25:00"] {
            assert_eq!(p(text), Some(Parsed::Text), "{text}");
        }
        assert_eq!(p("2024-02-29"), Some(Parsed::Date("2024-02-29".into())));
        assert_eq!(p("Y"), Some(Parsed::Bool(true)));
        assert_eq!(p("아니오"), Some(Parsed::Bool(false)));
        assert_eq!(p("TRUE"), Some(Parsed::Bool(true)));
    }
}
