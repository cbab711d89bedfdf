//! Chart choice: from a result's shape and value types to a Vega-Lite v5 spec, or to "read it as a table".
//!
//! Invariants:
//! - IO-free and deterministic: the same title and result always give the same spec.
//! - [`choose_chart`] returns `None` exactly when [`classify`] returns [`ChartKind::Table`].
//! - The data is inline (`"data": {"values": [...]}`); each row is an object whose keys are the column names (made
//!   unique and non-empty) and whose values come from [`Value::to_json`]. The one exception: a measure that
//!   `to_json` would give as text (a decimal with more digits than an `f64` holds) is given as its nearest `f64`,
//!   so a quantitative axis can place it.
//! - Row order is the query's: nothing is re-sorted (nominal axes carry `"sort": null`). A cap keeps the first rows
//!   and is disclosed in the title's subtitle and in the description.
//! - Nulls may appear anywhere and never cause a panic; a column with no value at all makes the result a table.
//! - Field references in encodings and transforms escape `\`, `.`, `[` and `]`, as Vega-Lite requires for literal
//!   field names; data keys and titles are the plain names.

use crate::value::{ResultSet, Value};
use serde_json::{Map, Value as Json, json};
use std::collections::HashSet;

/// The Vega-Lite schema every spec declares.
pub const VEGA_LITE_SCHEMA: &str = "https://vega.github.io/schema/vega-lite/v5.json";
/// Single-series bar charts show at most this many bars (the first rows, as the query ordered them).
pub const BAR_CAP: usize = 50;
/// Results with more rows than this are never drawn as bars: they read as a table.
pub const BAR_TABLE_THRESHOLD: usize = 5_000;
/// Line and scatter charts keep at most this many rows.
pub const POINT_CAP: usize = 5_000;
/// At most this many series (folded measures or colour categories) in one chart.
pub const MAX_SERIES: usize = 10;
/// Line charts draw a point on every datum up to this many rows.
const LINE_POINTS_UP_TO: usize = 60;
/// Category labels wider than this (in half-em units: Hangul counts 2, Latin 1) turn bars horizontal.
const LONG_LABEL_UNITS: usize = 14;
/// More bars than this turn bars horizontal.
const MANY_BARS: usize = 25;
/// Distinct-value counting stops past this many.
const DISTINCT_LIMIT: usize = 10_000;

/// The kind of chart a result reads best as. `Table` means: no chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChartKind {
    /// One number, shown large with its column name.
    Kpi,
    /// Bars per category (single, grouped or coloured by a second category).
    Bar,
    /// Lines over time, one per measure or per category.
    Line,
    /// Points for two measures.
    Scatter,
    /// No chart: the result reads best as a table.
    Table,
}

impl ChartKind {
    /// The stable snake_case name (stored as `chart_type`).
    pub fn as_str(self) -> &'static str {
        match self {
            ChartKind::Kpi => "kpi",
            ChartKind::Bar => "bar",
            ChartKind::Line => "line",
            ChartKind::Scatter => "scatter",
            ChartKind::Table => "table",
        }
    }
}

/// Which kind of chart `result` reads best as. See the module documentation for the rules.
pub fn classify(result: &ResultSet) -> ChartKind {
    match plan(result) {
        None => ChartKind::Table,
        Some(Plan::Kpi { .. }) => ChartKind::Kpi,
        Some(Plan::Bar { .. }) => ChartKind::Bar,
        Some(Plan::Line { .. }) => ChartKind::Line,
        Some(Plan::Scatter { .. }) => ChartKind::Scatter,
    }
}

/// A Vega-Lite v5 spec for `result` titled `title` (may be empty, may be Korean), or `None` when the result reads
/// best as a table (then [`classify`] says [`ChartKind::Table`]).
pub fn choose_chart(title: &str, result: &ResultSet) -> Option<Json> {
    let plan = plan(result)?;
    let fields = field_names(result);
    Some(build_spec(title, result, &fields, &plan))
}

/// Epoch milliseconds (UTC) of an ISO-8601 date or date-time as Vega-Lite parses it for a temporal field:
/// `2024`, `2024-03`, `2024-03-15`, `2024-03-15 10:00`, `2024-03-15T10:00:00.5+09:00`. `None` for anything else.
/// The renderer uses this so that chart choice and drawing agree on what is a date.
pub fn iso_timestamp_ms(text: &str) -> Option<f64> {
    let t = text.trim();
    ISO_PATTERNS.iter().find_map(|p| match_pattern(p, t)).map(|parts| parts.epoch_ms())
}

// ---------------------------------------------------------------------------------------------------------------
// Column roles

/// What a column can be on a chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Numbers for a quantitative axis.
    Measure,
    /// Time: `true` when Vega-Lite can parse it as a date (temporal axis), `false` for an ordinal time axis.
    Time { temporal: bool },
    /// Labels: text, booleans, identifiers.
    Category,
    /// Nothing chartable: all null, blobs, JSON.
    Unusable,
}

/// A time unit a column name announces, with the integer range its values must fall in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TimeHint {
    Year,
    Quarter,
    Month,
    Week,
    Day,
    Date,
}

impl TimeHint {
    /// Whether an integer value fits this unit (a year 1900..=2100, a month 1..=12 or yyyymm, …).
    fn accepts(self, v: i64) -> bool {
        let yyyymm = (190_001..=210_012).contains(&v) && (1..=12).contains(&(v % 100));
        match self {
            TimeHint::Year => (1900..=2100).contains(&v),
            TimeHint::Quarter => (1..=4).contains(&v),
            TimeHint::Month => (1..=12).contains(&v) || yyyymm,
            TimeHint::Week => (1..=53).contains(&v),
            TimeHint::Day => (1..=31).contains(&v),
            TimeHint::Date => yyyymm || ((19_000_101..=21_001_231).contains(&v) && (1..=12).contains(&(v / 100 % 100))),
        }
    }
}

/// The time unit a column name announces, if any: English words as separate tokens (`order_month`, `orderMonth`)
/// and Korean suffixes (`가입월`, `연도`, `주문일자`).
fn time_hint(name: &str) -> Option<TimeHint> {
    let lower = name.trim().to_lowercase();
    for token in name_tokens(name) {
        let hint = match token.as_str() {
            "year" | "yr" | "yyyy" => TimeHint::Year,
            "quarter" | "qtr" => TimeHint::Quarter,
            "month" | "mon" | "ym" | "yyyymm" | "yearmonth" => TimeHint::Month,
            "week" | "wk" => TimeHint::Week,
            "day" => TimeHint::Day,
            "date" | "dt" | "time" | "datetime" | "timestamp" | "period" | "ymd" | "yyyymmdd" => TimeHint::Date,
            _ => continue,
        };
        return Some(hint);
    }
    let korean: &[(&str, TimeHint)] = &[
        ("연도", TimeHint::Year),
        ("년도", TimeHint::Year),
        ("년", TimeHint::Year),
        ("분기", TimeHint::Quarter),
        ("월", TimeHint::Month),
        ("주차", TimeHint::Week),
        ("일자", TimeHint::Date),
        ("날짜", TimeHint::Date),
        ("일시", TimeHint::Date),
        ("기간", TimeHint::Date),
        ("요일", TimeHint::Day),
    ];
    if lower == "일" {
        return Some(TimeHint::Day);
    }
    korean.iter().find(|(suffix, _)| lower.ends_with(suffix)).map(|(_, hint)| *hint)
}

/// Lower-case word tokens of a column name, split at non-alphanumerics and at lower→upper camel-case steps.
fn name_tokens(name: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut current = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            prev_lower = false;
            if !current.is_empty() {
                tokens.push(std::mem::take(&mut current));
            }
            continue;
        }
        if c.is_uppercase() && prev_lower && !current.is_empty() {
            tokens.push(std::mem::take(&mut current));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        current.extend(c.to_lowercase());
    }
    if !current.is_empty() {
        tokens.push(current);
    }
    tokens
}

/// Integer columns with these names are identifiers, not measures.
fn is_identifier_name(name: &str) -> bool {
    let tokens = name_tokens(name);
    matches!(tokens.last().map(String::as_str), Some("id" | "code" | "no" | "key" | "number"))
        || ["번호", "코드", "아이디"].iter().any(|s| name.trim().ends_with(s))
}

/// The role of one column, from its name and all its non-null values.
fn column_role(name: &str, values: &[&Value]) -> Role {
    let present: Vec<&Value> = values.iter().copied().filter(|v| !matches!(v, Value::Null)).collect();
    if present.is_empty() || present.iter().any(|v| matches!(v, Value::Blob(_) | Value::Json(_))) {
        return Role::Unusable;
    }
    let hint = time_hint(name);
    if present.iter().all(|v| v.is_numeric()) {
        return numeric_role(name, hint, &present);
    }
    if present.iter().all(|v| matches!(v, Value::Text(_))) {
        return text_role(hint, &present);
    }
    Role::Category
}

/// A column of numbers is a measure unless its name makes it time (with values in range) or an identifier.
fn numeric_role(name: &str, hint: Option<TimeHint>, values: &[&Value]) -> Role {
    let ints: Option<Vec<i64>> = values.iter().map(|v| integer_value(v)).collect();
    match (ints, hint) {
        (Some(ints), Some(hint)) if ints.iter().all(|&i| hint.accepts(i)) => Role::Time { temporal: false },
        (Some(_), _) if is_identifier_name(name) => Role::Category,
        _ => Role::Measure,
    }
}

/// The integer a value holds exactly: an `Int`, or a `Decimal` without a fractional part.
fn integer_value(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        Value::Decimal(d) => {
            let (whole, frac) = d.split_once('.').unwrap_or((d.as_str(), ""));
            if frac.bytes().all(|b| b == b'0') { whole.parse().ok() } else { None }
        }
        _ => None,
    }
}

/// A text column is time when every value looks like a date or a month (temporal when all are ISO), or when its
/// name announces a unit and every value is a number in that unit's range (`"202403"` under `month`). Other text
/// (`Morning`, `Friday`) is a category even under a time-like name.
fn text_role(hint: Option<TimeHint>, values: &[&Value]) -> Role {
    let texts: Vec<&str> = values
        .iter()
        .filter_map(|v| match v {
            Value::Text(s) => Some(s.trim()),
            _ => None,
        })
        .collect();
    if texts.iter().all(|t| is_iso_time(t)) {
        return Role::Time { temporal: true };
    }
    let all_time = texts.iter().all(|t| text_time_key(t).is_some());
    let hinted = hint.is_some_and(|h| texts.iter().all(|t| t.parse::<i64>().is_ok_and(|i| h.accepts(i))));
    if all_time || hinted { Role::Time { temporal: false } } else { Role::Category }
}

/// The chronological position (epoch ms) of a date-like text: ISO, the ordinal patterns, or a month name with an
/// optional day and year (`Jan`, `July 1942`, `December 2`). A bare year counts only within 1900..=2100.
fn text_time_key(t: &str) -> Option<f64> {
    if let Some(parts) = match_pattern("{Y}", t) {
        return (1900..=2100).contains(&parts.year).then(|| parts.epoch_ms());
    }
    ISO_PATTERNS
        .iter()
        .chain(ORDINAL_PATTERNS)
        .find_map(|p| match_pattern(p, t))
        .map(|parts| parts.epoch_ms())
        .or_else(|| month_name_key(t))
}

const MONTH_NAMES: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// `Jan`, `january`, `Sept 2024`, `December 2`, `Mar 5, 2024`: a month name (three letters or more of it), then
/// at most a day and a year.
fn month_name_key(t: &str) -> Option<f64> {
    let lower = t.to_lowercase();
    let mut words = lower.split(|c: char| c.is_whitespace() || c == ',').filter(|w| !w.is_empty());
    let first = words.next()?;
    let first = first.strip_suffix('.').unwrap_or(first);
    let month = MONTH_NAMES.iter().position(|m| first.len() >= 3 && m.starts_with(first))? as i64 + 1;
    let mut parts =
        DateParts { year: 1970, month, day: 1, hour: 0, minute: 0, second: 0.0, offset_minutes: 0, extra_days: 0 };
    for (i, word) in words.enumerate() {
        let n: i64 = word.parse().ok().filter(|_| i < 2 && word.bytes().all(|b| b.is_ascii_digit()))?;
        match word.len() {
            1 | 2 if (1..=31).contains(&n) => parts.day = n,
            4 => parts.year = n,
            _ => return None,
        }
    }
    parts.day_exists().then(|| parts.epoch_ms())
}

/// ISO dates and date-times; a bare year counts only within 1900..=2100.
fn is_iso_time(t: &str) -> bool {
    match match_pattern("{Y}", t) {
        Some(parts) => (1900..=2100).contains(&parts.year),
        None => iso_timestamp_ms(t).is_some(),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Date patterns: `{Y}` four-digit year, `{M}`/`{D}` two-digit month/day, `{m}`/`{d}` one or two digits, `{H}` hour,
// `{N}` minute or second, `{F}` optional fraction, `{Z}` optional zone, `{q}` quarter, `{w}` week; other characters
// are literal.

const ISO_PATTERNS: &[&str] = &[
    "{Y}",
    "{Y}-{M}",
    "{Y}-{M}-{D}",
    "{Y}-{M}-{D} {H}:{N}",
    "{Y}-{M}-{D} {H}:{N}:{N}{F}{Z}",
    "{Y}-{M}-{D}T{H}:{N}{Z}",
    "{Y}-{M}-{D}T{H}:{N}:{N}{F}{Z}",
];

const ORDINAL_PATTERNS: &[&str] = &[
    "{Y}-{m}",
    "{Y}-{m}-{d}",
    "{Y}/{m}",
    "{Y}/{m}/{d}",
    "{Y}.{m}",
    "{Y}.{m}.{d}",
    "{m}/{d}/{Y}",
    "{Y}Q{q}",
    "{Y}-Q{q}",
    "{Y} Q{q}",
    "Q{q} {Y}",
    "{Y}-W{w}",
    "{Y}W{w}",
    "{Y}년",
    "{Y}년 {m}월",
    "{Y}년{m}월",
    "{Y}년 {m}월 {d}일",
    "{Y}년 {q}분기",
    "{m}월",
    "{H}:{N}",
];

/// The fields a pattern matched. Missing parts keep their defaults (January 1st, midnight, UTC).
#[derive(Debug, Clone, Copy)]
struct DateParts {
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    minute: i64,
    second: f64,
    offset_minutes: i64,
    /// Days after the matched date (a week number's start), for ordering only.
    extra_days: i64,
}

impl DateParts {
    /// Whether the day exists in its month (leap years included).
    fn day_exists(&self) -> bool {
        let days_in_month = match self.month {
            2 if self.year % 4 == 0 && (self.year % 100 != 0 || self.year % 400 == 0) => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        self.day <= days_in_month
    }

    fn epoch_ms(&self) -> f64 {
        let days = days_from_civil(self.year, self.month, self.day) + self.extra_days;
        let minutes = days * 1440 + self.hour * 60 + self.minute - self.offset_minutes;
        (minutes as f64 * 60.0 + self.second) * 1000.0
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Matches `text` against `pattern` as a whole; `None` when it does not match, a field is out of range or the day
/// does not exist in its month.
fn match_pattern(pattern: &str, text: &str) -> Option<DateParts> {
    let mut parts =
        DateParts { year: 1970, month: 1, day: 1, hour: 0, minute: 0, second: 0.0, offset_minutes: 0, extra_days: 0 };
    let mut minute_seen = false;
    let mut rest = text;
    let mut pat = pattern;
    while let Some(c) = pat.chars().next() {
        if c == '{' {
            let end = pat.find('}')?;
            let token = &pat[1..end];
            pat = &pat[end + 1..];
            rest = match token {
                "Y" => take_number(rest, 4, 4, 0, 9999, &mut parts.year)?,
                "M" => take_number(rest, 2, 2, 1, 12, &mut parts.month)?,
                "m" => take_number(rest, 1, 2, 1, 12, &mut parts.month)?,
                "D" => take_number(rest, 2, 2, 1, 31, &mut parts.day)?,
                "d" => take_number(rest, 1, 2, 1, 31, &mut parts.day)?,
                "H" => take_number(rest, 2, 2, 0, 23, &mut parts.hour)?,
                "N" if !minute_seen => {
                    minute_seen = true;
                    take_number(rest, 2, 2, 0, 59, &mut parts.minute)?
                }
                "N" => {
                    let mut s = 0;
                    let r = take_number(rest, 2, 2, 0, 59, &mut s)?;
                    parts.second = s as f64;
                    r
                }
                "F" => take_fraction(rest, &mut parts.second),
                "Z" => take_zone(rest, &mut parts.offset_minutes)?,
                "q" => {
                    let mut q = 1;
                    let r = take_number(rest, 1, 1, 1, 4, &mut q)?;
                    parts.month = (q - 1) * 3 + 1;
                    r
                }
                "w" => {
                    let mut w = 1;
                    let r = take_number(rest, 1, 2, 1, 53, &mut w)?;
                    parts.extra_days = (w - 1) * 7;
                    r
                }
                _ => return None,
            };
        } else {
            rest = rest.strip_prefix(c)?;
            pat = &pat[c.len_utf8()..];
        }
    }
    (rest.is_empty() && parts.day_exists()).then_some(parts)
}

/// Takes `min..=max_len` ASCII digits (greedily) whose value lies in `lo..=hi`.
fn take_number<'a>(s: &'a str, min_len: usize, max_len: usize, lo: i64, hi: i64, out: &mut i64) -> Option<&'a str> {
    let len = s.bytes().take(max_len).take_while(u8::is_ascii_digit).count();
    if len < min_len {
        return None;
    }
    let value: i64 = s[..len].parse().ok()?;
    if !(lo..=hi).contains(&value) {
        return None;
    }
    *out = value;
    Some(&s[len..])
}

/// An optional `.` followed by 1–9 digits, added to `seconds`.
fn take_fraction<'a>(s: &'a str, seconds: &mut f64) -> &'a str {
    let Some(after) = s.strip_prefix('.') else {
        return s;
    };
    let len = after.bytes().take(9).take_while(u8::is_ascii_digit).count();
    if len == 0 {
        return s;
    }
    if let Ok(f) = format!("0.{}", &after[..len]).parse::<f64>() {
        *seconds += f;
    }
    &after[len..]
}

/// An optional zone: `Z`, `+09:00`, `-0530`.
fn take_zone<'a>(s: &'a str, offset_minutes: &mut i64) -> Option<&'a str> {
    if let Some(rest) = s.strip_prefix('Z') {
        return Some(rest);
    }
    let sign = match s.chars().next() {
        Some('+') => 1,
        Some('-') => -1,
        _ => return Some(s),
    };
    let (mut h, mut m) = (0, 0);
    let rest = take_number(&s[1..], 2, 2, 0, 23, &mut h)?;
    let rest = rest.strip_prefix(':').unwrap_or(rest);
    let rest = take_number(rest, 2, 2, 0, 59, &mut m)?;
    *offset_minutes = sign * (h * 60 + m);
    Some(rest)
}

// ---------------------------------------------------------------------------------------------------------------
// Planning: which chart, which columns, which rows

/// Bar orientation: vertical bars have categories on x.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Orient {
    Vertical,
    Horizontal,
}

/// A chosen chart, naming columns by index into the result.
#[derive(Debug, Clone, PartialEq)]
enum Plan {
    Kpi {
        column: usize,
    },
    /// `grouped`: a colour category with several rows per bar category, drawn side by side (`xOffset`); without
    /// it each category has one bar, coloured.
    Bar {
        category: usize,
        measures: Vec<usize>,
        color: Option<usize>,
        grouped: bool,
        rows: Vec<usize>,
        orient: Orient,
    },
    Line {
        time: usize,
        temporal: bool,
        measures: Vec<usize>,
        color: Option<usize>,
        rows: usize,
    },
    Scatter {
        x: usize,
        y: usize,
        rows: usize,
    },
}

/// Columns grouped by role, in result order.
#[derive(Debug, Default)]
struct Roles {
    measures: Vec<usize>,
    times: Vec<(usize, bool)>,
    categories: Vec<usize>,
    unusable: usize,
}

fn roles(result: &ResultSet) -> Roles {
    let mut roles = Roles::default();
    for (i, col) in result.columns.iter().enumerate() {
        let values: Vec<&Value> = result.rows.iter().map(|r| r.get(i).unwrap_or(&Value::Null)).collect();
        match column_role(&col.name, &values) {
            Role::Measure => roles.measures.push(i),
            Role::Time { temporal } => roles.times.push((i, temporal)),
            Role::Category => roles.categories.push(i),
            Role::Unusable => roles.unusable += 1,
        }
    }
    roles
}

fn plan(result: &ResultSet) -> Option<Plan> {
    let n = result.rows.len();
    if n == 0 || result.columns.is_empty() {
        return None;
    }
    if n == 1 {
        // One row is a number to show large, or a record that reads best as a table.
        let numeric = result.rows[0].first().and_then(Value::as_f64).is_some_and(f64::is_finite);
        return (result.columns.len() == 1 && numeric).then_some(Plan::Kpi { column: 0 });
    }
    let roles = roles(result);
    if roles.unusable > 0 {
        return None;
    }
    match (roles.times.as_slice(), roles.categories.as_slice(), roles.measures.as_slice()) {
        ([(time, temporal)], [], measures) if !measures.is_empty() => {
            if distinct_count(result, *time) >= 2 {
                line_plan(*time, *temporal, measures.to_vec(), None, n)
            } else {
                bar_plan(result, *time, measures.to_vec(), None)
            }
        }
        ([(time, temporal)], [category], [measure]) => {
            // Each series needs two points on average, or the "lines" are scattered dots.
            let series = distinct_count(result, *category);
            let ok = series <= MAX_SERIES && distinct_count(result, *time) >= 2 && n >= 2 * series;
            ok.then(|| line_plan(*time, *temporal, vec![*measure], Some(*category), n)).flatten()
        }
        ([], [], [x, y]) => match group_key(result, *x, *y) {
            Some((key, measure)) => bar_plan(result, key, vec![measure], None),
            None => Some(Plan::Scatter { x: *x, y: *y, rows: n.min(POINT_CAP) }),
        },
        ([], [category], measures) if !measures.is_empty() => bar_plan(result, *category, measures.to_vec(), None),
        ([], [first, second], [measure]) => {
            let (first_n, second_n) = (distinct_count(result, *first), distinct_count(result, *second));
            if second_n <= MAX_SERIES {
                bar_plan(result, *first, vec![*measure], Some(*second))
            } else if first_n <= MAX_SERIES {
                bar_plan(result, *second, vec![*measure], Some(*first))
            } else {
                None
            }
        }
        _ => None,
    }
}

/// For two number columns where one is an aggregate (`count(*)`, `total`, `평균`…) and the other holds distinct
/// integers, the integers are the GROUP BY key: `(key, measure)` for a bar chart rather than a scatter.
fn group_key(result: &ResultSet, a: usize, b: usize) -> Option<(usize, usize)> {
    let is_key = |c: usize| {
        let values: Vec<&Value> = result.rows.iter().filter_map(|r| r.get(c)).collect();
        values.iter().all(|v| integer_value(v).is_some()) && distinct_count(result, c) == values.len()
    };
    let name = |c: usize| result.columns.get(c).map_or("", |col| col.name.as_str());
    if is_aggregate_name(name(b)) && is_key(a) {
        Some((a, b))
    } else if is_aggregate_name(name(a)) && is_key(b) {
        Some((b, a))
    } else {
        None
    }
}

/// Names that say a column is an aggregate: `count(*)`, `SUM(price)`, `total_sales`, `avg_age`, `주문건수`.
fn is_aggregate_name(name: &str) -> bool {
    let lower = name.trim().to_lowercase();
    let call = ["count(", "sum(", "avg(", "min(", "max(", "total("].iter().any(|f| lower.starts_with(f));
    let word = name_tokens(name)
        .iter()
        .any(|t| matches!(t.as_str(), "count" | "cnt" | "sum" | "total" | "avg" | "average" | "mean"));
    let korean = ["건수", "개수", "합계", "평균", "총", "수"].iter().any(|k| lower.contains(k));
    call || word || korean
}

fn line_plan(time: usize, temporal: bool, measures: Vec<usize>, color: Option<usize>, n: usize) -> Option<Plan> {
    (measures.len() <= MAX_SERIES).then_some(Plan::Line { time, temporal, measures, color, rows: n.min(POINT_CAP) })
}

/// Bars: at most [`BAR_TABLE_THRESHOLD`] rows; keeps the first categories (in row order) so that about
/// [`BAR_CAP`] bars are drawn, with all rows of each kept category.
fn bar_plan(result: &ResultSet, category: usize, measures: Vec<usize>, color: Option<usize>) -> Option<Plan> {
    let n = result.rows.len();
    if n > BAR_TABLE_THRESHOLD || measures.len() > MAX_SERIES {
        return None;
    }
    let grouped = color.is_some() && distinct_count(result, category) < n;
    let per_category = match color {
        Some(c) if grouped => distinct_count(result, c).max(1),
        Some(_) => 1,
        None => measures.len(),
    };
    let max_categories = (BAR_CAP / per_category).max(5);
    let mut seen = HashSet::new();
    let mut rows = Vec::new();
    for (i, row) in result.rows.iter().enumerate() {
        let key = row.get(category).map(Value::to_display).unwrap_or_default();
        if seen.contains(&key) || seen.len() < max_categories {
            seen.insert(key);
            rows.push(i);
        }
    }
    let orient = bar_orientation(result, category, seen.len());
    Some(Plan::Bar { category, measures, color, grouped, rows, orient })
}

/// Horizontal when labels are long or bars are many, so labels stay readable without rotation.
fn bar_orientation(result: &ResultSet, category: usize, categories: usize) -> Orient {
    let widest = result
        .rows
        .iter()
        .filter_map(|r| r.get(category))
        .map(|v| v.to_display().chars().map(|c| if c.is_ascii() { 1 } else { 2 }).sum::<usize>())
        .max()
        .unwrap_or(0);
    if widest > LONG_LABEL_UNITS || categories > MANY_BARS { Orient::Horizontal } else { Orient::Vertical }
}

/// Distinct non-null display values of a column, counting stops after [`DISTINCT_LIMIT`].
fn distinct_count(result: &ResultSet, column: usize) -> usize {
    let mut seen = HashSet::new();
    for row in &result.rows {
        match row.get(column) {
            None | Some(Value::Null) => {}
            Some(v) => {
                seen.insert(v.to_display());
                if seen.len() > DISTINCT_LIMIT {
                    break;
                }
            }
        }
    }
    seen.len()
}

// ---------------------------------------------------------------------------------------------------------------
// Building the spec

/// Column names made unique and non-empty: duplicates get ` (2)`, ` (3)`…, empty names `column N`.
fn field_names(result: &ResultSet) -> Vec<String> {
    let mut used = HashSet::new();
    let mut names = Vec::with_capacity(result.columns.len());
    for (i, col) in result.columns.iter().enumerate() {
        let base = if col.name.trim().is_empty() { format!("column {}", i + 1) } else { col.name.clone() };
        let mut name = base.clone();
        let mut k = 2;
        while !used.insert(name.clone()) {
            name = format!("{base} ({k})");
            k += 1;
        }
        names.push(name);
    }
    names
}

/// A field name as a Vega-Lite field reference: `\`, `.`, `[` and `]` escaped with a backslash.
pub fn field_ref(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if matches!(c, '\\' | '.' | '[' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A cell for the chart's data: measures always as JSON numbers (or null), everything else via `to_json`.
fn cell(value: &Value, measure: bool) -> Json {
    let json = value.to_json();
    match (&json, measure) {
        (Json::String(_), true) => {
            value.as_f64().and_then(serde_json::Number::from_f64).map(Json::Number).unwrap_or(Json::Null)
        }
        _ => json,
    }
}

/// Inline data of the given rows, keyed by field name.
fn data_values(result: &ResultSet, fields: &[String], rows: &[usize], measures: &[usize]) -> Json {
    let values = rows
        .iter()
        .filter_map(|&r| result.rows.get(r))
        .map(|row| {
            let obj: Map<String, Json> = fields
                .iter()
                .enumerate()
                .map(|(i, f)| (f.clone(), cell(row.get(i).unwrap_or(&Value::Null), measures.contains(&i))))
                .collect();
            Json::Object(obj)
        })
        .collect();
    json!({ "values": Json::Array(values) })
}

/// Whether the person reads Korean (the title has Hangul): notes follow the title's language.
fn korean(title: &str) -> bool {
    crate::hangul::contains_hangul(title)
}

/// A number with thousands separators.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The note shown under the title when rows were dropped, here or by the connector's row cap.
fn cap_note(title: &str, shown: usize, total: usize, truncated: bool) -> Option<String> {
    let ko = korean(title);
    let mut notes = Vec::new();
    if shown < total {
        notes.push(if ko {
            format!("전체 {}행 중 처음 {}행 표시", thousands(total), thousands(shown))
        } else {
            format!("first {} of {} rows shown", thousands(shown), thousands(total))
        });
    }
    if truncated {
        notes.push(if ko {
            "결과가 행 제한으로 잘림".to_string()
        } else {
            "result cut at the row limit".to_string()
        });
    }
    (!notes.is_empty()).then(|| notes.join(" · "))
}

/// A fold's output names, `key`/`value` unless a column already uses them.
fn fold_names(fields: &[String], ko: bool) -> (String, String) {
    let (mut key, mut value) =
        if ko { ("항목".to_string(), "값".to_string()) } else { ("key".to_string(), "value".to_string()) };
    while fields.contains(&key) {
        key.push('_');
    }
    while fields.contains(&value) || value == key {
        value.push('_');
    }
    (key, value)
}

fn build_spec(title: &str, result: &ResultSet, fields: &[String], plan: &Plan) -> Json {
    let total = result.rows.len();
    let (kind, shown, mut spec, what) = match plan {
        Plan::Kpi { column } => (ChartKind::Kpi, 1, kpi_spec(result, fields, *column), fields[*column].clone()),
        Plan::Bar { category, measures, color, grouped, rows, orient } => {
            let colour = color.map(|c| (c, *grouped));
            let spec = bar_spec(title, result, fields, *category, measures, colour, rows, *orient);
            (ChartKind::Bar, rows.len(), spec, describe(fields, measures, Some(*category), *color))
        }
        Plan::Line { time, temporal, measures, color, rows } => {
            let spec = line_spec(title, result, fields, *time, *temporal, measures, *color, *rows);
            (ChartKind::Line, *rows, spec, describe(fields, measures, Some(*time), *color))
        }
        Plan::Scatter { x, y, rows } => {
            let spec = scatter_spec(result, fields, *x, *y, *rows);
            (ChartKind::Scatter, *rows, spec, format!("{} vs {}", fields[*y], fields[*x]))
        }
    };
    let note = cap_note(title, shown, total, result.truncated);
    let mut description = format!("{} chart: {what}", kind.as_str());
    if let Some(note) = &note {
        description.push_str(&format!(" ({note})"));
    }
    let mut head = Map::new();
    head.insert("$schema".into(), json!(VEGA_LITE_SCHEMA));
    match (title.trim().is_empty(), note) {
        (false, None) => _ = head.insert("title".into(), json!(title.trim())),
        (false, Some(note)) => _ = head.insert("title".into(), json!({"text": title.trim(), "subtitle": note})),
        (true, Some(note)) => _ = head.insert("title".into(), json!({"text": "", "subtitle": note})),
        (true, None) => {}
    }
    head.insert("description".into(), json!(description));
    if let Json::Object(body) = &mut spec {
        head.append(body);
    }
    Json::Object(head)
}

/// "m1, m2 by category and color" for the description.
fn describe(fields: &[String], measures: &[usize], by: Option<usize>, color: Option<usize>) -> String {
    let names: Vec<&str> = measures.iter().map(|&m| fields[m].as_str()).collect();
    let mut s = names.join(", ");
    if let Some(b) = by {
        s.push_str(&format!(" by {}", fields[b]));
    }
    if let Some(c) = color {
        s.push_str(&format!(" and {}", fields[c]));
    }
    s
}

/// A d3 number format that shows a KPI value faithfully: integers with separators (identifiers and years
/// without), decimals at their scale.
fn kpi_format(name: &str, value: &Value) -> String {
    if integer_value(value).is_some() && (is_identifier_name(name) || time_hint(name).is_some()) {
        return "d".to_string();
    }
    match value {
        Value::Int(_) => ",".to_string(),
        Value::Decimal(d) => {
            let scale = d.split_once('.').map_or(0, |(_, f)| f.len()).min(6);
            if scale == 0 { ",".to_string() } else { format!(",.{scale}f") }
        }
        other => {
            let v = other.as_f64().unwrap_or(0.0).abs();
            let digits = if v >= 100.0 {
                2
            } else if v >= 1.0 {
                3
            } else {
                6
            };
            format!(",.{digits}~f")
        }
    }
}

fn kpi_spec(result: &ResultSet, fields: &[String], column: usize) -> Json {
    let value = result.rows.first().and_then(|r| r.get(column)).unwrap_or(&Value::Null);
    let field = &fields[column];
    json!({
        "data": data_values(result, fields, &[0], &[column]),
        "view": {"stroke": null},
        "layer": [
            {
                "mark": {"type": "text", "fontSize": 56, "fontWeight": "bold", "baseline": "middle"},
                "encoding": {"text": {"field": field_ref(field), "type": "quantitative", "format": kpi_format(field, value)}}
            },
            {
                "mark": {"type": "text", "fontSize": 18, "dy": 52, "color": "#555555", "baseline": "middle"},
                "encoding": {"text": {"value": field}}
            }
        ]
    })
}

#[allow(clippy::too_many_arguments)]
fn bar_spec(
    title: &str,
    result: &ResultSet,
    fields: &[String],
    category: usize,
    measures: &[usize],
    color: Option<(usize, bool)>,
    rows: &[usize],
    orient: Orient,
) -> Json {
    let (band, value, offset) = match orient {
        Orient::Vertical => ("x", "y", "xOffset"),
        Orient::Horizontal => ("y", "x", "yOffset"),
    };
    let mut spec = json!({
        "data": data_values(result, fields, rows, measures),
        "mark": {"type": "bar", "tooltip": true},
    });
    let mut enc = Map::new();
    enc.insert(
        band.into(),
        json!({"field": field_ref(&fields[category]), "type": "nominal", "sort": null, "title": fields[category]}),
    );
    if measures.len() > 1 {
        let (key, val) = fold_names(fields, korean(title));
        let folded: Vec<String> = measures.iter().map(|&m| field_ref(&fields[m])).collect();
        let order: Vec<&str> = measures.iter().map(|&m| fields[m].as_str()).collect();
        spec["transform"] = json!([{"fold": folded, "as": [key, val]}]);
        enc.insert(value.into(), json!({"field": field_ref(&val), "type": "quantitative", "title": order.join(", ")}));
        enc.insert(offset.into(), json!({"field": field_ref(&key), "sort": order}));
        enc.insert("color".into(), json!({"field": field_ref(&key), "type": "nominal", "sort": order, "title": null}));
    } else {
        let m = &fields[measures[0]];
        enc.insert(value.into(), json!({"field": field_ref(m), "type": "quantitative", "title": m}));
        if let Some((c, grouped)) = color {
            let c = &fields[c];
            if grouped {
                enc.insert(offset.into(), json!({"field": field_ref(c), "sort": null}));
            }
            enc.insert("color".into(), json!({"field": field_ref(c), "type": "nominal", "sort": null, "title": c}));
        }
    }
    spec["encoding"] = Json::Object(enc);
    spec
}

/// The chronological position of a time value: integers (and integer text) as themselves, other text by its
/// date pattern or month name.
fn time_key(value: &Value) -> Option<f64> {
    match value {
        Value::Text(s) => {
            let t = s.trim();
            text_time_key(t).or_else(|| t.parse::<i64>().ok().map(|i| i as f64))
        }
        other => integer_value(other).map(|i| i as f64),
    }
}

/// The `sort` of an ordinal time axis: `null` (keep the query's order) when the rows are already in time order
/// or their order cannot be known (month names), else the distinct values in time order.
fn time_sort(result: &ResultSet, time: usize, rows: usize) -> Json {
    let mut seen = HashSet::new();
    let mut distinct: Vec<(&Value, f64)> = Vec::new();
    for value in result.rows.iter().take(rows).filter_map(|r| r.get(time)) {
        if matches!(value, Value::Null) || !seen.insert(value.to_display()) {
            continue;
        }
        match time_key(value) {
            Some(key) => distinct.push((value, key)),
            None => return Json::Null,
        }
    }
    if distinct.windows(2).all(|w| w[0].1 <= w[1].1) {
        return Json::Null;
    }
    distinct.sort_by(|a, b| a.1.total_cmp(&b.1));
    Json::Array(distinct.into_iter().map(|(v, _)| v.to_json()).collect())
}

#[allow(clippy::too_many_arguments)]
fn line_spec(
    title: &str,
    result: &ResultSet,
    fields: &[String],
    time: usize,
    temporal: bool,
    measures: &[usize],
    color: Option<usize>,
    rows: usize,
) -> Json {
    let row_ids: Vec<usize> = (0..rows).collect();
    let series = if measures.len() > 1 { measures.len() } else { color.map_or(1, |c| distinct_count(result, c)) };
    let point = rows / series.max(1) <= LINE_POINTS_UP_TO;
    let mut spec = json!({
        "data": data_values(result, fields, &row_ids, measures),
        "mark": {"type": "line", "point": point, "tooltip": true},
    });
    let t = &fields[time];
    let x = if temporal {
        json!({"field": field_ref(t), "type": "temporal", "title": t})
    } else {
        json!({"field": field_ref(t), "type": "ordinal", "sort": time_sort(result, time, rows), "title": t})
    };
    let mut enc = Map::new();
    enc.insert("x".into(), x);
    if measures.len() > 1 {
        let (key, val) = fold_names(fields, korean(title));
        let folded: Vec<String> = measures.iter().map(|&m| field_ref(&fields[m])).collect();
        let order: Vec<&str> = measures.iter().map(|&m| fields[m].as_str()).collect();
        spec["transform"] = json!([{"fold": folded, "as": [key, val]}]);
        enc.insert("y".into(), json!({"field": field_ref(&val), "type": "quantitative", "title": order.join(", ")}));
        enc.insert("color".into(), json!({"field": field_ref(&key), "type": "nominal", "sort": order, "title": null}));
    } else {
        let m = &fields[measures[0]];
        enc.insert("y".into(), json!({"field": field_ref(m), "type": "quantitative", "title": m}));
        if let Some(c) = color {
            let c = &fields[c];
            enc.insert("color".into(), json!({"field": field_ref(c), "type": "nominal", "sort": null, "title": c}));
        }
    }
    spec["encoding"] = Json::Object(enc);
    spec
}

fn scatter_spec(result: &ResultSet, fields: &[String], x: usize, y: usize, rows: usize) -> Json {
    let row_ids: Vec<usize> = (0..rows).collect();
    let (xf, yf) = (&fields[x], &fields[y]);
    json!({
        "data": data_values(result, fields, &row_ids, &[x, y]),
        "mark": {"type": "point", "filled": true, "tooltip": true},
        "encoding": {
            "x": {"field": field_ref(xf), "type": "quantitative", "title": xf, "scale": {"zero": false}},
            "y": {"field": field_ref(yf), "type": "quantitative", "title": yf, "scale": {"zero": false}}
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::ResultColumn;

    fn rs(columns: &[&str], rows: Vec<Vec<Value>>) -> ResultSet {
        ResultSet {
            columns: columns.iter().map(|c| ResultColumn { name: c.to_string(), decl_type: None }).collect(),
            rows,
            truncated: false,
        }
    }
    fn t(s: &str) -> Value {
        Value::Text(s.to_string())
    }
    fn i(v: i64) -> Value {
        Value::Int(v)
    }
    fn d(s: &str) -> Value {
        Value::Decimal(s.to_string())
    }
    /// Checks kind, and that `choose_chart` agrees with `classify`.
    fn check(result: &ResultSet, expected: ChartKind) -> Option<Json> {
        assert_eq!(classify(result), expected, "{result:?}");
        let spec = choose_chart("제목", result);
        assert_eq!(spec.is_none(), expected == ChartKind::Table);
        spec
    }
    fn values(spec: &Json) -> &Vec<Json> {
        spec["data"]["values"].as_array().expect("inline values")
    }

    #[test]
    fn single_number_is_kpi_with_label() {
        let spec = check(&rs(&["총 매출"], vec![vec![i(1_234_567)]]), ChartKind::Kpi).expect("spec");
        assert_eq!(spec["$schema"], VEGA_LITE_SCHEMA);
        assert_eq!(spec["title"], "제목");
        assert_eq!(values(&spec), &vec![json!({"총 매출": 1_234_567})]);
        assert_eq!(spec["layer"][0]["mark"]["type"], "text");
        assert_eq!(spec["layer"][0]["encoding"]["text"]["field"], "총 매출");
        assert_eq!(spec["layer"][0]["encoding"]["text"]["format"], ",");
        assert_eq!(spec["layer"][1]["encoding"]["text"]["value"], "총 매출");
    }

    #[test]
    fn kpi_decimal_keeps_its_scale_and_negative_value() {
        let spec = check(&rs(&["balance"], vec![vec![d("-12.50")]]), ChartKind::Kpi).expect("spec");
        assert_eq!(spec["layer"][0]["encoding"]["text"]["format"], ",.2f");
        assert_eq!(values(&spec)[0]["balance"], json!(-12.5));
    }

    #[test]
    fn kpi_needs_a_number() {
        check(&rs(&["name"], vec![vec![t("서울")]]), ChartKind::Table);
        check(&rs(&["total"], vec![vec![Value::Null]]), ChartKind::Table);
        check(&rs(&["ratio"], vec![vec![Value::Float(f64::NAN)]]), ChartKind::Table);
        // A single number column over many rows is not a KPI.
        check(&rs(&["n"], vec![vec![i(1)], vec![i(2)]]), ChartKind::Table);
    }

    #[test]
    fn empty_results_are_tables() {
        check(&rs(&["a", "b"], vec![]), ChartKind::Table);
        check(&rs(&[], vec![vec![]]), ChartKind::Table);
    }

    #[test]
    fn category_and_measure_is_bar_in_query_order() {
        let r = rs(&["region", "sales"], vec![vec![t("서울"), i(30)], vec![t("부산"), i(-5)], vec![t("대구"), i(12)]]);
        let spec = check(&r, ChartKind::Bar).expect("spec");
        assert_eq!(spec["mark"]["type"], "bar");
        assert_eq!(spec["encoding"]["x"]["field"], "region");
        assert_eq!(spec["encoding"]["x"]["sort"], Json::Null);
        assert!(spec["encoding"]["x"].as_object().expect("x").contains_key("sort"));
        assert_eq!(spec["encoding"]["y"]["type"], "quantitative");
        let regions: Vec<&str> = values(&spec).iter().filter_map(|v| v["region"].as_str()).collect();
        assert_eq!(regions, ["서울", "부산", "대구"]);
        assert_eq!(values(&spec)[1]["sales"], json!(-5));
    }

    #[test]
    fn decimals_are_numbers_even_beyond_f64() {
        let r =
            rs(&["제품", "금액"], vec![vec![t("가"), d("10.25")], vec![t("나"), d("12345678901234567890.123456789")]]);
        let spec = check(&r, ChartKind::Bar).expect("spec");
        assert_eq!(values(&spec)[0]["금액"], json!(10.25));
        assert!(values(&spec)[1]["금액"].is_f64());
    }

    #[test]
    fn long_labels_or_many_bars_turn_horizontal() {
        let r = rs(&["product", "n"], vec![vec![t("아주 긴 상품 이름입니다 정말로"), i(3)], vec![t("b"), i(4)]]);
        let spec = check(&r, ChartKind::Bar).expect("spec");
        assert_eq!(spec["encoding"]["y"]["field"], "product");
        assert_eq!(spec["encoding"]["x"]["type"], "quantitative");
    }

    #[test]
    fn bars_cap_at_fifty_and_say_so() {
        let rows = (0..120).map(|k| vec![t(&format!("c{k}")), i(k)]).collect();
        let spec = check(&rs(&["cat", "n"], rows), ChartKind::Bar).expect("spec");
        assert_eq!(values(&spec).len(), BAR_CAP);
        assert_eq!(values(&spec)[0]["cat"], "c0");
        assert_eq!(spec["title"]["text"], "제목");
        assert_eq!(spec["title"]["subtitle"], "전체 120행 중 처음 50행 표시");
        assert!(spec["description"].as_str().expect("description").contains("120"));
        let english =
            choose_chart("Sales", &rs(&["cat", "n"], (0..60).map(|k| vec![t(&format!("c{k}")), i(k)]).collect()))
                .expect("spec");
        assert_eq!(english["title"]["subtitle"], "first 50 of 60 rows shown");
    }

    #[test]
    fn too_many_rows_for_bars_is_a_table() {
        let rows = (0..5_001).map(|k| vec![t(&format!("c{k}")), i(k)]).collect();
        check(&rs(&["cat", "n"], rows), ChartKind::Table);
    }

    #[test]
    fn connector_truncation_is_disclosed() {
        let mut r = rs(&["cat", "n"], vec![vec![t("a"), i(1)], vec![t("b"), i(2)]]);
        r.truncated = true;
        let spec = choose_chart("Top", &r).expect("spec");
        assert_eq!(spec["title"]["subtitle"], "result cut at the row limit");
    }

    #[test]
    fn category_and_several_measures_fold_into_grouped_bars() {
        let r = rs(&["지역", "매출", "비용"], vec![vec![t("서울"), i(10), i(7)], vec![t("부산"), Value::Null, i(3)]]);
        let spec = check(&r, ChartKind::Bar).expect("spec");
        assert_eq!(spec["transform"][0]["fold"], json!(["매출", "비용"]));
        assert_eq!(spec["transform"][0]["as"], json!(["항목", "값"]));
        assert_eq!(spec["encoding"]["y"]["field"], "값");
        assert_eq!(spec["encoding"]["xOffset"]["field"], "항목");
        assert_eq!(spec["encoding"]["color"]["sort"], json!(["매출", "비용"]));
        assert_eq!(values(&spec)[1]["매출"], Json::Null);
    }

    #[test]
    fn fold_names_avoid_existing_columns() {
        let r = rs(&["key", "value", "other"], vec![vec![t("a"), i(1), i(2)], vec![t("b"), i(3), i(4)]]);
        let spec = choose_chart("x", &r).expect("spec");
        assert_eq!(spec["transform"][0]["as"], json!(["key_", "value_"]));
    }

    #[test]
    fn two_categories_colour_by_the_one_with_few_values() {
        let r = rs(
            &["store", "channel", "n"],
            vec![vec![t("s1"), t("web"), i(1)], vec![t("s1"), t("app"), i(2)], vec![t("s2"), t("web"), i(3)]],
        );
        let spec = check(&r, ChartKind::Bar).expect("spec");
        assert_eq!(spec["encoding"]["x"]["field"], "store");
        assert_eq!(spec["encoding"]["color"]["field"], "channel");
        assert_eq!(spec["encoding"]["xOffset"]["field"], "channel");
        // The first has few values and the second many: they swap.
        let rows = (0..20).map(|k| vec![t(if k % 2 == 0 { "A" } else { "B" }), t(&format!("p{k}")), i(k)]).collect();
        let spec = check(&rs(&["grade", "product", "n"], rows), ChartKind::Bar).expect("spec");
        assert_eq!(spec["encoding"]["x"]["field"], "product");
        assert_eq!(spec["encoding"]["color"]["field"], "grade");
        // One row per product: coloured bars, not side-by-side slots.
        assert!(spec["encoding"].get("xOffset").is_none());
        // Both have many values: a table.
        let rows = (0..30).map(|k| vec![t(&format!("a{k}")), t(&format!("b{k}")), i(k)]).collect();
        check(&rs(&["a", "b", "n"], rows), ChartKind::Table);
    }

    #[test]
    fn iso_dates_make_temporal_lines() {
        for (a, b) in [
            ("2024-01", "2024-02"),
            ("2024-03-15", "2024-03-16"),
            ("2024-03-15 10:00:00", "2024-03-15 11:00:00"),
            ("2024-03-15T10:00:00Z", "2024-03-15T11:30:00.250+09:00"),
            ("2023", "2024"),
        ] {
            let r = rs(&["period_x", "revenue"], vec![vec![t(a), i(1)], vec![t(b), d("2.5")]]);
            let spec = check(&r, ChartKind::Line).expect("spec");
            assert_eq!(spec["encoding"]["x"]["type"], "temporal", "{a}");
            assert_eq!(spec["mark"]["type"], "line");
            assert_eq!(spec["mark"]["point"], true);
        }
    }

    #[test]
    fn time_by_name_is_ordinal() {
        for name in ["year", "order_year", "연도", "가입년도", "년"] {
            let r = rs(&[name, "n"], vec![vec![i(2023), i(5)], vec![i(2024), i(7)]]);
            let spec = check(&r, ChartKind::Line).expect(name);
            assert_eq!(spec["encoding"]["x"]["type"], "ordinal", "{name}");
            assert_eq!(spec["encoding"]["x"]["sort"], Json::Null);
        }
        for (name, a, b) in [("month", 1, 2), ("월", 11, 12), ("orderMonth", 202401, 202402), ("quarter", 1, 4)] {
            let r = rs(&[name, "n"], vec![vec![i(a), i(5)], vec![i(b), i(7)]]);
            check(&r, ChartKind::Line);
        }
        let r = rs(&["month", "n"], vec![vec![t("Jan"), i(5)], vec![t("Feb"), i(7)]]);
        check(&r, ChartKind::Line);
        let r = rs(&["분기", "n"], vec![vec![t("2024Q1"), i(5)], vec![t("2024Q2"), i(7)]]);
        check(&r, ChartKind::Line);
    }

    #[test]
    fn month_names_are_time_and_other_words_are_categories() {
        for (a, b) in [
            ("Jan", "February"),
            ("July 1942", "Sept 1943"),
            ("December 2", "December 24"),
            ("Mar 5, 2024", "Apr 1, 2024"),
        ] {
            let r = rs(&["when", "n"], vec![vec![t(a), i(1)], vec![t(b), i(2)]]);
            check(&r, ChartKind::Line);
        }
        let r = rs(&["time_of_day", "n"], vec![vec![t("Morning"), i(1)], vec![t("Night"), i(2)]]);
        check(&r, ChartKind::Bar);
        let r = rs(&["day_of_week", "n"], vec![vec![t("Friday"), i(1)], vec![t("Monday"), i(2)]]);
        check(&r, ChartKind::Bar);
        let r = rs(&["month", "n"], vec![vec![t("202403"), i(1)], vec![t("202404"), i(2)]]);
        check(&r, ChartKind::Line);
        let r = rs(&["x", "n"], vec![vec![t("Mayor"), i(1)], vec![t("Jan 99"), i(2)]]);
        check(&r, ChartKind::Bar);
    }

    #[test]
    fn year_integers_need_a_year_name() {
        // 2023 and 2024 under a neutral name are two numbers: scatter.
        let r = rs(&["k", "n"], vec![vec![i(2023), i(5)], vec![i(2024), i(7)]]);
        check(&r, ChartKind::Scatter);
        // Out of range under a year name: not time either.
        let r = rs(&["year", "n"], vec![vec![i(1800), i(5)], vec![i(2024), i(7)]]);
        check(&r, ChartKind::Scatter);
        // Month-named measures with large values stay measures.
        let r = rs(&["region", "월"], vec![vec![t("a"), i(500)], vec![t("b"), i(700)]]);
        check(&r, ChartKind::Bar);
    }

    #[test]
    fn text_that_only_looks_numeric_is_a_category() {
        let r = rs(&["code", "n"], vec![vec![t("1234"), i(1)], vec![t("0042"), i(2)]]);
        check(&r, ChartKind::Bar);
        let r = rs(&["d", "n"], vec![vec![t("2024-13-01"), i(1)], vec![t("2024-02-30"), i(2)]]);
        check(&r, ChartKind::Bar);
    }

    #[test]
    fn time_with_several_measures_folds_into_series() {
        let r = rs(
            &["날짜", "매출", "비용"],
            vec![vec![t("2024-01-01"), i(1), i(2)], vec![t("2024-01-02"), Value::Null, i(3)]],
        );
        let spec = check(&r, ChartKind::Line).expect("spec");
        assert_eq!(spec["transform"][0]["fold"], json!(["매출", "비용"]));
        assert_eq!(spec["encoding"]["color"]["field"], "항목");
    }

    #[test]
    fn time_category_measure_is_multi_series_line() {
        let r = rs(
            &["month", "region", "n"],
            vec![
                vec![t("2024-01"), t("a"), i(1)],
                vec![t("2024-01"), t("b"), i(2)],
                vec![t("2024-02"), t("a"), i(3)],
                vec![t("2024-02"), t("b"), Value::Null],
            ],
        );
        let spec = check(&r, ChartKind::Line).expect("spec");
        assert_eq!(spec["encoding"]["color"]["field"], "region");
        assert_eq!(spec["encoding"]["y"]["field"], "n");
    }

    #[test]
    fn one_row_records_are_tables() {
        check(&rs(&["month", "n"], vec![vec![t("2024-01"), i(3)]]), ChartKind::Table);
        check(&rs(&["city", "n"], vec![vec![t("Seoul"), i(3)]]), ChartKind::Table);
        check(
            &rs(&["lat", "long", "city"], vec![vec![Value::Float(37.5), Value::Float(127.0), t("Seoul")]]),
            ChartKind::Table,
        );
    }

    #[test]
    fn identifiers_and_years_in_kpis_have_no_separators() {
        let spec = check(&rs(&["student_id"], vec![vec![i(906210)]]), ChartKind::Kpi).expect("spec");
        assert_eq!(spec["layer"][0]["encoding"]["text"]["format"], "d");
        let spec = check(&rs(&["max(year)"], vec![vec![i(2024)]]), ChartKind::Kpi).expect("spec");
        assert_eq!(spec["layer"][0]["encoding"]["text"]["format"], "d");
    }

    #[test]
    fn integer_group_keys_with_an_aggregate_are_bars() {
        let r = rs(&["major", "count(*)"], vec![vec![i(50), i(2)], vec![i(540), i(7)], vec![i(600), i(1)]]);
        let spec = check(&r, ChartKind::Bar).expect("spec");
        assert_eq!(spec["encoding"]["x"]["field"], "major");
        assert_eq!(spec["encoding"]["x"]["type"], "nominal");
        let r = rs(&["총 건수", "층"], vec![vec![i(9), i(1)], vec![i(4), i(2)]]);
        let spec = check(&r, ChartKind::Bar).expect("spec");
        assert_eq!(spec["encoding"]["x"]["field"], "층");
        // Repeated integers are not a key: a scatter.
        let r = rs(&["age", "count(*)"], vec![vec![i(20), i(2)], vec![i(20), i(3)]]);
        check(&r, ChartKind::Scatter);
    }

    #[test]
    fn series_of_single_points_are_not_lines() {
        let rows = (0..5).map(|k| vec![t(&format!("cinema {k}")), i(2000 + k), i(100)]).collect();
        check(&rs(&["name", "opening_year", "capacity"], rows), ChartKind::Table);
    }

    #[test]
    fn ordinal_time_is_put_in_time_order() {
        let r = rs(
            &["date", "temp"],
            vec![vec![t("10/14/2013"), i(1)], vec![t("9/2/2013"), i(2)], vec![t("1/5/2014"), i(3)]],
        );
        let spec = check(&r, ChartKind::Line).expect("spec");
        assert_eq!(spec["encoding"]["x"]["sort"], json!(["9/2/2013", "10/14/2013", "1/5/2014"]));
        let r = rs(&["분기", "n"], vec![vec![t("2024Q2"), i(1)], vec![t("2023Q4"), i(2)], vec![t("2024Q1"), i(3)]]);
        let spec = check(&r, ChartKind::Line).expect("spec");
        assert_eq!(spec["encoding"]["x"]["sort"], json!(["2023Q4", "2024Q1", "2024Q2"]));
        let r = rs(&["year", "n"], vec![vec![i(2024), i(1)], vec![i(2022), i(2)]]);
        let spec = check(&r, ChartKind::Line).expect("spec");
        assert_eq!(spec["encoding"]["x"]["sort"], json!([2022, 2024]));
        let r = rs(&["month", "n"], vec![vec![t("Mar"), i(1)], vec![t("Jan"), i(2)]]);
        assert_eq!(choose_chart("", &r).expect("spec")["encoding"]["x"]["sort"], json!(["Jan", "Mar"]));
        // Already in order: the query's order.
        let r = rs(&["year", "n"], vec![vec![i(2022), i(1)], vec![i(2024), i(2)]]);
        assert_eq!(choose_chart("", &r).expect("spec")["encoding"]["x"]["sort"], Json::Null);
    }

    #[test]
    fn two_measures_are_a_scatter() {
        let r = rs(&["price", "qty"], vec![vec![Value::Float(1.5), i(3)], vec![d("-2.25"), Value::Null]]);
        let spec = check(&r, ChartKind::Scatter).expect("spec");
        assert_eq!(spec["mark"]["type"], "point");
        assert_eq!(spec["encoding"]["x"]["field"], "price");
        assert_eq!(spec["encoding"]["y"]["scale"]["zero"], false);
        // One row of two numbers is a table.
        check(&rs(&["a", "b"], vec![vec![i(1), i(2)]]), ChartKind::Table);
    }

    #[test]
    fn scatter_caps_rows() {
        let rows = (0..6_000).map(|k| vec![i(k), i(k * 2)]).collect();
        let spec = check(&rs(&["a", "b"], rows), ChartKind::Scatter).expect("spec");
        assert_eq!(values(&spec).len(), POINT_CAP);
        assert!(spec["title"]["subtitle"].as_str().expect("subtitle").contains("6,000"));
    }

    #[test]
    fn identifiers_are_categories() {
        let r = rs(&["customer_id", "total"], vec![vec![i(17), i(300)], vec![i(4), i(200)]]);
        let spec = check(&r, ChartKind::Bar).expect("spec");
        assert_eq!(values(&spec)[0]["customer_id"], 17);
    }

    #[test]
    fn all_null_or_unusable_columns_are_tables() {
        check(&rs(&["a", "b"], vec![vec![Value::Null, Value::Null], vec![Value::Null, Value::Null]]), ChartKind::Table);
        check(&rs(&["a", "b"], vec![vec![t("x"), Value::Null], vec![t("y"), Value::Null]]), ChartKind::Table);
        check(&rs(&["a", "b"], vec![vec![t("x"), Value::Blob(vec![1])], vec![t("y"), i(1)]]), ChartKind::Table);
        check(&rs(&["a", "b", "c", "d"], vec![vec![t("x"), t("y"), t("z"), i(1)]]), ChartKind::Table);
    }

    #[test]
    fn nulls_in_categories_and_ragged_rows_do_not_crash() {
        let r = rs(&["cat", "n"], vec![vec![Value::Null, i(1)], vec![t("b")], vec![t("c"), i(3)]]);
        let spec = check(&r, ChartKind::Bar).expect("spec");
        assert_eq!(values(&spec)[0]["cat"], Json::Null);
        assert_eq!(values(&spec)[1]["n"], Json::Null);
    }

    #[test]
    fn dotted_and_duplicate_names_are_escaped_and_unique() {
        let r = rs(&["t.name", "t.name", ""], vec![vec![t("a"), i(1), i(2)], vec![t("b"), i(3), i(4)]]);
        let spec = choose_chart("", &r).expect("spec");
        assert_eq!(spec["encoding"]["x"]["field"], "t\\.name");
        assert_eq!(spec["encoding"]["x"]["title"], "t.name");
        assert_eq!(spec["transform"][0]["fold"], json!(["t\\.name (2)", "column 3"]));
        assert!(values(&spec)[0].get("t.name (2)").is_some());
        assert!(spec.get("title").is_none(), "an empty title is left out");
    }

    #[test]
    fn too_many_measures_is_a_table() {
        let names: Vec<String> = std::iter::once("c".to_string()).chain((0..11).map(|k| format!("m{k}"))).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let row = |s: &str| std::iter::once(t(s)).chain((0..11).map(i)).collect::<Vec<_>>();
        check(&rs(&refs, vec![row("a"), row("b")]), ChartKind::Table);
    }

    #[test]
    fn iso_timestamps() {
        assert_eq!(iso_timestamp_ms("1970-01-01"), Some(0.0));
        assert_eq!(iso_timestamp_ms("1970-01-02 00:00"), Some(86_400_000.0));
        assert_eq!(iso_timestamp_ms("2024-03-15T09:00:00+09:00"), iso_timestamp_ms("2024-03-15T00:00:00Z"));
        assert_eq!(iso_timestamp_ms("2000-02-29"), Some(951_782_400_000.0));
        assert_eq!(iso_timestamp_ms("2023-02-29"), None);
        assert_eq!(iso_timestamp_ms("2024-3-5"), None);
        assert_eq!(iso_timestamp_ms("hello"), None);
        assert_eq!(iso_timestamp_ms("2024-03-15 25:00"), None);
        assert_eq!(iso_timestamp_ms(""), None);
    }

    #[test]
    fn name_tokens_split_words() {
        assert_eq!(name_tokens("orderMonth"), ["order", "month"]);
        assert_eq!(name_tokens("ORDER_MONTH"), ["order", "month"]);
        assert_eq!(name_tokens("monthly_total"), ["monthly", "total"]);
        assert_eq!(time_hint("monthly_total"), None);
        assert_eq!(time_hint("주문일자"), Some(TimeHint::Date));
    }

    #[test]
    fn kind_names_are_stable() {
        let names: Vec<&str> = [ChartKind::Kpi, ChartKind::Bar, ChartKind::Line, ChartKind::Scatter, ChartKind::Table]
            .map(ChartKind::as_str)
            .into();
        assert_eq!(names, ["kpi", "bar", "line", "scatter", "table"]);
    }
}
