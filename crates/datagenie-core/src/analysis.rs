//! The short written analysis under a query result: the facts it may state, the prompt that asks an LLM for it, the
//! check that the LLM's text invents no numbers, and a deterministic fallback when there is no LLM or its text fails
//! that check.
//!
//! Invariants:
//! - Everything is computed from the [`ResultSet`] (and, for verification, from numbers the person wrote in the
//!   question or that appear in the SQL). No IO, no clock.
//! - What [`Facts::render`] shows the LLM is exactly what [`Facts`] stores: values are rounded once, by [`tidy`], when
//!   the facts are computed (whole numbers stay exact), so a number copied from the prompt verifies.
//! - Every number [`fallback_summary`] writes passes [`verify_summary`] against the same result and facts.
//! - Nothing here panics on any result: empty results, nulls, NaN, mixed column types and odd labels are handled.

use serde::Serialize;

use crate::hangul::contains_hangul;
use crate::llm::{ChatRequest, Message};
use crate::schema::TypeClass;
use crate::value::{ResultSet, Value};

/// How many characters of a cell the prompt shows before cutting it.
const SAMPLE_CELL_CHARS: usize = 40;
/// How many columns the prompt's sample shows.
const SAMPLE_MAX_COLUMNS: usize = 24;
/// How many characters of SQL the prompt carries.
const PROMPT_SQL_CHARS: usize = 4000;
/// How many characters of a row label the facts keep.
const LABEL_CHARS: usize = 60;
/// How many measures [`Facts::render`] lists.
const RENDER_MAX_MEASURES: usize = 8;

/// The facts a summary may state about one result. Built by [`facts`]; all numbers are plain data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Facts {
    /// Rows in the result as returned (after any row cap).
    pub row_count: usize,
    /// True when the query had more rows than were returned: totals and shares then cover the returned rows only.
    pub truncated: bool,
    /// The column that names each row: the first text or time column (or, lacking one, an identifier column).
    pub label_column: Option<String>,
    pub series: SeriesKind,
    /// One entry per numeric column that is a measure (identifiers and numeric time labels are not measures).
    pub measures: Vec<Measure>,
    /// Numbers from the question and the SQL (years, "Top 5", thresholds) that a faithful summary may repeat even
    /// though they are not in the rows. Empty unless [`Facts::with_context`] was called.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub context_numbers: Vec<f64>,
}

/// What the label column says about the rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "order")]
pub enum SeriesKind {
    /// No label column: a KPI row or bare numbers.
    None,
    /// Labels are categories (names, codes).
    Categories,
    /// Labels are points in time (dates, months, years).
    Time(TimeOrder),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeOrder {
    Ascending,
    Descending,
    /// Repeated, missing or unsorted labels: no first→last change is computed.
    Unordered,
}

/// Facts about one numeric column. `count ≥ 1` always: a column without any number is not a measure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Measure {
    pub column: String,
    /// Rows holding a finite number in this column.
    pub count: usize,
    /// Rows holding null (or a non-finite float) in this column.
    pub nulls: usize,
    /// The smallest value and the label of the first row holding it.
    pub min: Extreme,
    /// The largest value and the label of the first row holding it.
    pub max: Extreme,
    /// Sum of the values, rounded by [`tidy`].
    pub total: f64,
    /// Mean of the values, rounded by [`tidy`].
    pub mean: f64,
    /// The largest row's share of the total: only when there are two or more values, all ≥ 0, with a positive total.
    pub top_share: Option<Share>,
    /// Earliest→latest change, only for a time series in ascending or descending order.
    pub change: Option<Change>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Extreme {
    /// The value as in the result, rounded by [`tidy`] (whole numbers stay exact).
    pub value: f64,
    /// The row's label; `None` without a label column or when the label is null.
    pub label: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Share {
    pub label: Option<String>,
    /// Percent of the total, one decimal.
    pub percent: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub from_label: Option<String>,
    pub to_label: Option<String>,
    /// Values as in the result, rounded by [`tidy`].
    pub from: f64,
    pub to: f64,
    /// `to - from`, rounded by [`tidy`].
    pub delta: f64,
    /// Percent change relative to `|from|`, one decimal; `None` when `from` is 0.
    pub percent: Option<f64>,
}

/// Computes the facts of `result`. Never fails: odd inputs give fewer facts, not errors.
pub fn facts(result: &ResultSet) -> Facts {
    let roles = column_roles(result);
    let label_idx = pick_label(&roles);
    let series = match label_idx {
        None => SeriesKind::None,
        Some(i) if is_time_label(result, i, roles[i]) => SeriesKind::Time(time_order(result, i)),
        Some(_) => SeriesKind::Categories,
    };
    let measures = roles
        .iter()
        .enumerate()
        .filter(|(i, r)| **r == Role::Measure && Some(*i) != label_idx)
        .filter_map(|(i, _)| measure(result, i, label_idx, series))
        .collect();
    Facts {
        row_count: result.rows.len(),
        truncated: result.truncated,
        label_column: label_idx.and_then(|i| result.columns.get(i)).map(|c| c.name.clone()),
        series,
        measures,
        context_numbers: Vec::new(),
    }
}

impl Facts {
    /// Records the numbers written in the question and the SQL, which a faithful summary may repeat (years,
    /// "Top 5", thresholds).
    pub fn with_context(mut self, question: &str, sql: &str) -> Facts {
        self.context_numbers = extract_numbers(question).iter().chain(&extract_numbers(sql)).map(|n| n.value).collect();
        self
    }

    /// Compact lines for the prompt. Every number shown is a number stored in the facts.
    pub fn render(&self) -> String {
        let mut lines = Vec::new();
        lines.push(if self.truncated {
            format!("rows: {} (truncated: the query had more rows; figures cover these rows only)", self.row_count)
        } else {
            format!("rows: {}", self.row_count)
        });
        if let Some(label) = &self.label_column {
            let kind = match self.series {
                SeriesKind::Time(TimeOrder::Ascending) => "time series, ascending",
                SeriesKind::Time(TimeOrder::Descending) => "time series, descending",
                SeriesKind::Time(TimeOrder::Unordered) => "time labels, not in order",
                SeriesKind::Categories | SeriesKind::None => "categories",
            };
            lines.push(format!("labels: {label} ({kind})"));
        }
        for m in self.measures.iter().take(RENDER_MAX_MEASURES) {
            lines.push(render_measure(m, self.row_count));
        }
        if self.measures.len() > RENDER_MAX_MEASURES {
            lines.push(format!("(and {} more numeric columns)", self.measures.len() - RENDER_MAX_MEASURES));
        }
        lines.join("\n")
    }
}

fn render_measure(m: &Measure, rows: usize) -> String {
    if rows == 1 && m.count == 1 {
        return format!("{}: {}", m.column, fmt_num(m.max.value));
    }
    let mut s = format!(
        "{}: min {}{}, max {}{}, total {}, mean {}",
        m.column,
        fmt_num(m.min.value),
        fmt_label(&m.min.label),
        fmt_num(m.max.value),
        fmt_label(&m.max.label),
        fmt_num(m.total),
        fmt_num(m.mean)
    );
    if m.nulls > 0 {
        s.push_str(&format!(", {} null", m.nulls));
    }
    if let Some(sh) = &m.top_share {
        s.push_str(&format!("; largest row{} = {}% of total", fmt_label(&sh.label), fmt_num(sh.percent)));
    }
    if let Some(c) = &m.change {
        let pct = c.percent.map(|p| format!("{}%", fmt_signed(p))).unwrap_or_else(|| "no % change from 0".to_string());
        s.push_str(&format!(
            "; change {}{} → {}{}: {} ({pct})",
            fmt_num(c.from),
            fmt_label(&c.from_label),
            fmt_num(c.to),
            fmt_label(&c.to_label),
            fmt_signed(c.delta)
        ));
    }
    s
}

fn fmt_label(label: &Option<String>) -> String {
    label.as_ref().map(|l| format!(" ({l})")).unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------------------------
// Column roles

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// A numeric column whose values are quantities.
    Measure,
    /// An integer column named like a key (`id`, `customer_id`, `orderId`, `zip_code`).
    Identifier,
    /// An integer column of years, months, days… (`year`, `month`, `연도`).
    NumericTime,
    /// Text values, or a declared date/time type.
    Text,
    /// Anything else (booleans, blobs, JSON, mixed, all null).
    Other,
}

fn column_roles(result: &ResultSet) -> Vec<Role> {
    (0..result.columns.len()).map(|i| column_role(result, i)).collect()
}

fn column_role(result: &ResultSet, i: usize) -> Role {
    let Some(col) = result.columns.get(i) else { return Role::Other };
    let declared_temporal = col.decl_type.as_deref().is_some_and(|t| TypeClass::of(t) == TypeClass::Temporal);
    let cells = || result.rows.iter().filter_map(|r| r.get(i)).filter(|v| !matches!(v, Value::Null));
    let numeric = cells().next().is_some() && cells().all(Value::is_numeric);
    if numeric {
        let integers = cells().all(|v| v.as_f64().is_some_and(|f| f.fract() == 0.0));
        if integers && is_identifier_name(&col.name) {
            return Role::Identifier;
        }
        if integers && (declared_temporal || is_time_name(&col.name) || (i == 0 && all_years(result, i))) {
            return Role::NumericTime;
        }
        return Role::Measure;
    }
    if declared_temporal || cells().any(|v| matches!(v, Value::Text(_))) {
        return Role::Text;
    }
    Role::Other
}

/// A first column of years named only by its values: every value an integer 1900..=2100, its name not a quantity,
/// and another numeric column beside it.
fn all_years(result: &ResultSet, i: usize) -> bool {
    let name = result.columns.get(i).map(|c| c.name.to_lowercase()).unwrap_or_default();
    let quantity = ["count", "cnt", "sum", "total", "amount", "qty", "num", "revenue", "sales", "price"];
    let other_numeric =
        (1..result.columns.len()).any(|k| result.rows.iter().filter_map(|r| r.get(k)).any(Value::is_numeric));
    !quantity.iter().any(|q| name.contains(q))
        && other_numeric
        && result.rows.len() >= 2
        && result
            .rows
            .iter()
            .filter_map(|r| r.get(i).and_then(Value::as_f64))
            .all(|f| (1900.0..=2100.0).contains(&f) && f.fract() == 0.0)
}

fn is_identifier_name(name: &str) -> bool {
    let lower = name.to_lowercase();
    lower == "id"
        || ["_id", "_no", "_code", "_key"].iter().any(|s| lower.ends_with(s))
        || (name.len() > 2 && name.ends_with("Id"))
}

fn is_time_name(name: &str) -> bool {
    const WORDS: &[&str] =
        &["year", "yr", "yyyy", "month", "mon", "mm", "quarter", "qtr", "week", "wk", "day", "dd", "hour", "date"];
    const KOREAN: &[&str] = &["연도", "년도", "년", "월", "분기", "주차", "일자", "날짜", "시간대"];
    let lower = name.to_lowercase();
    lower.split(|c: char| !c.is_alphanumeric()).any(|w| WORDS.contains(&w)) || KOREAN.iter().any(|k| lower.contains(k))
}

/// The label column: the first text or time column; else the first identifier column.
fn pick_label(roles: &[Role]) -> Option<usize> {
    roles
        .iter()
        .position(|r| matches!(r, Role::Text | Role::NumericTime))
        .or_else(|| roles.iter().position(|r| *r == Role::Identifier))
}

fn is_time_label(result: &ResultSet, i: usize, role: Role) -> bool {
    if role == Role::NumericTime {
        return true;
    }
    if role != Role::Text {
        return false;
    }
    let declared = result.columns.get(i).and_then(|c| c.decl_type.as_deref()).map(TypeClass::of);
    if declared == Some(TypeClass::Temporal) {
        return true;
    }
    let name = result.columns.get(i).map(|c| c.name.as_str()).unwrap_or("");
    let texts: Vec<String> = result
        .rows
        .iter()
        .filter_map(|r| r.get(i))
        .filter(|v| !matches!(v, Value::Null))
        .map(Value::to_display)
        .collect();
    !texts.is_empty()
        && (texts.iter().all(|t| looks_like_period(t))
            || (is_time_name(name) && texts.iter().all(|t| !t.is_empty() && t.chars().all(|c| c.is_ascii_digit()))))
}

/// `2024`, `2024-03`, `2024-03-15 10:00`, `2024/03`, `2024.03`, `2024Q1`, `2024-W09`, `2024년 3월`.
fn looks_like_period(s: &str) -> bool {
    let s = s.trim();
    let head: String = s.chars().take(4).collect();
    if head.len() != 4 || !head.chars().all(|c| c.is_ascii_digit()) {
        return false;
    }
    let year: u32 = head.parse().unwrap_or(0);
    let rest: String = s.chars().skip(4).collect();
    (1000..=2999).contains(&year)
        && (rest.is_empty() || rest.starts_with(['-', '/', '.', 'Q', 'q', 'W', 'H', '년', ' ']))
        && !rest.chars().any(|c| c.is_alphabetic() && !matches!(c, 'Q' | 'q' | 'W' | 'H' | 'T' | '년' | '월' | '일'))
}

fn time_order(result: &ResultSet, i: usize) -> TimeOrder {
    let keys: Option<Vec<Vec<f64>>> =
        result.rows.iter().map(|r| r.get(i).filter(|v| !matches!(v, Value::Null)).map(time_key)).collect();
    let Some(keys) = keys else { return TimeOrder::Unordered };
    if keys.len() < 2 {
        return TimeOrder::Unordered;
    }
    let cmp = |a: &Vec<f64>, b: &Vec<f64>| a.partial_cmp(b);
    if keys.windows(2).all(|w| cmp(&w[0], &w[1]) == Some(std::cmp::Ordering::Less)) {
        TimeOrder::Ascending
    } else if keys.windows(2).all(|w| cmp(&w[0], &w[1]) == Some(std::cmp::Ordering::Greater)) {
        TimeOrder::Descending
    } else {
        TimeOrder::Unordered
    }
}

/// The runs of digits in a label, as numbers: `2024-3` → [2024, 3], so `2024-10` sorts after `2024-9`.
fn time_key(v: &Value) -> Vec<f64> {
    if let Some(f) = v.as_f64() {
        return vec![f];
    }
    v.to_display()
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .map(|p| p.parse::<f64>().unwrap_or(f64::MAX))
        .collect()
}

fn label_of(result: &ResultSet, row: usize, label_idx: Option<usize>) -> Option<String> {
    let v = result.rows.get(row)?.get(label_idx?)?;
    if matches!(v, Value::Null) {
        return None;
    }
    let text = v.to_display();
    Some(if text.chars().count() > LABEL_CHARS {
        format!("{}…", text.chars().take(LABEL_CHARS).collect::<String>())
    } else {
        text
    })
}

fn measure(result: &ResultSet, i: usize, label_idx: Option<usize>, series: SeriesKind) -> Option<Measure> {
    let values: Vec<(usize, f64)> = result
        .rows
        .iter()
        .enumerate()
        .filter_map(|(r, row)| row.get(i).and_then(Value::as_f64).filter(|f| f.is_finite()).map(|f| (r, f)))
        .collect();
    let (&(min_row, min), &(max_row, max)) = (
        values.iter().reduce(|a, b| if b.1 < a.1 { b } else { a })?,
        values.iter().reduce(|a, b| if b.1 > a.1 { b } else { a })?,
    );
    let raw_total: f64 = values.iter().map(|(_, f)| f).sum();
    let count = values.len();
    let top_share = (count >= 2 && min >= 0.0 && raw_total > 0.0)
        .then(|| Share { label: label_of(result, max_row, label_idx), percent: round_to(max / raw_total * 100.0, 1) });
    let change = match series {
        SeriesKind::Time(order @ (TimeOrder::Ascending | TimeOrder::Descending)) if result.rows.len() >= 2 => {
            let (first, last) = match order {
                TimeOrder::Ascending => (0, result.rows.len() - 1),
                _ => (result.rows.len() - 1, 0),
            };
            change(result, i, label_idx, first, last)
        }
        _ => None,
    };
    Some(Measure {
        column: result.columns.get(i).map(|c| c.name.clone()).unwrap_or_default(),
        count,
        nulls: result.rows.len() - count,
        min: Extreme { value: tidy(min), label: label_of(result, min_row, label_idx) },
        max: Extreme { value: tidy(max), label: label_of(result, max_row, label_idx) },
        total: tidy(raw_total),
        mean: tidy(raw_total / count as f64),
        top_share,
        change,
    })
}

fn change(result: &ResultSet, i: usize, label_idx: Option<usize>, first: usize, last: usize) -> Option<Change> {
    let at = |r: usize| result.rows.get(r)?.get(i)?.as_f64().filter(|f| f.is_finite());
    let (from, to) = (at(first)?, at(last)?);
    Some(Change {
        from_label: label_of(result, first, label_idx),
        to_label: label_of(result, last, label_idx),
        from: tidy(from),
        to: tidy(to),
        delta: tidy(to - from),
        percent: (from != 0.0).then(|| round_to((to - from) / from.abs() * 100.0, 1)),
    })
}

/// Rounds a derived value for people: whole numbers stay whole, |x| ≥ 1 keeps two decimals, smaller values keep
/// four significant digits.
pub fn tidy(x: f64) -> f64 {
    if !x.is_finite() || x.fract() == 0.0 {
        return x;
    }
    if x.abs() >= 1.0 {
        return round_to(x, 2);
    }
    let digits = 3 - x.abs().log10().floor() as i32;
    round_to(x, digits.clamp(0, 15))
}

fn round_to(x: f64, decimals: i32) -> f64 {
    let p = 10f64.powi(decimals);
    let r = (x * p).round() / p;
    if r.is_finite() { r } else { x }
}

/// A number for people: shortest form, thousands grouped (`1,234,567.5`).
pub fn fmt_num(x: f64) -> String {
    if !x.is_finite() {
        return x.to_string();
    }
    let text = format!("{}", if x == 0.0 { 0.0 } else { x });
    let (sign, body) = match text.strip_prefix('-') {
        Some(b) => ("-", b),
        None => ("", text.as_str()),
    };
    let (int, frac) = body.split_once('.').map(|(a, b)| (a, Some(b))).unwrap_or((body, None));
    let mut grouped = String::new();
    for (k, c) in int.chars().enumerate() {
        if k > 0 && (int.len() - k) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    match frac {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

fn fmt_signed(x: f64) -> String {
    if x > 0.0 { format!("+{}", fmt_num(x)) } else { fmt_num(x) }
}

// ---------------------------------------------------------------------------------------------------------------
// The prompt

/// The request for a 2–4 sentence analysis of `result`, in the question's language. The prompt carries the question,
/// the SQL (cut at 4,000 characters), the first `sample_rows` rows (cells cut at 40 characters, at most 24 columns)
/// and the rendered facts, and tells the model to use only numbers found there.
pub fn summary_request(
    question: &str,
    sql: &str,
    result: &ResultSet,
    facts: &Facts,
    sample_rows: usize,
) -> ChatRequest {
    let korean = contains_hangul(question);
    let language = if korean { "Korean (한국어)" } else { "English" };
    let system = format!(
        "You write the short analysis shown under a database query result.\n\
         Write 2 to 4 plain sentences in {language}.\n\
         Say what the result shows: the largest and smallest values, the trend over time when the rows are a time \
         series, and shares of the total when they matter.\n\
         Use only numbers that appear in the result rows or in the facts. Copy them as given; you may round them \
         or write them with units such as 만 and 억, but never compute new numbers.\n\
         Do not speculate about causes, do not give advice, do not mention the SQL.\n\
         No markdown, no lists, no headings: plain sentences only.\n\
         If the result is truncated, say the figures cover only the rows returned. If it is empty, say so in one \
         sentence."
    );
    let mut user = format!("Question: {}\n\nSQL:\n{}\n\n", question.trim(), cut(sql.trim(), PROMPT_SQL_CHARS));
    user.push_str(&sample_table(result, sample_rows));
    user.push_str("\nFacts:\n");
    user.push_str(&facts.render());
    user.push_str(if korean {
        "\n\n한국어로 2~4문장으로 답하세요."
    } else {
        "\n\nAnswer in 2 to 4 sentences."
    });
    ChatRequest { system, messages: vec![Message::user(user)], max_tokens: 400, temperature: 0.0 }
}

fn sample_table(result: &ResultSet, sample_rows: usize) -> String {
    let shown = sample_rows.min(result.rows.len());
    let cols = result.columns.len().min(SAMPLE_MAX_COLUMNS);
    let mut s = if shown < result.rows.len() || result.truncated {
        format!("Rows (first {shown} of {}{}):\n", result.rows.len(), if result.truncated { "+" } else { "" })
    } else {
        format!("Rows ({shown}):\n")
    };
    let mut header: Vec<String> = result.columns.iter().take(cols).map(|c| cell_text(&c.name)).collect();
    if result.columns.len() > cols {
        header.push(format!("… {} more columns", result.columns.len() - cols));
    }
    s.push_str(&header.join(" | "));
    s.push('\n');
    for row in result.rows.iter().take(shown) {
        let cells: Vec<String> = row
            .iter()
            .take(cols)
            .map(|v| if matches!(v, Value::Null) { "NULL".to_string() } else { cell_text(&v.to_display()) })
            .collect();
        s.push_str(&cells.join(" | "));
        s.push('\n');
    }
    s
}

fn cell_text(s: &str) -> String {
    cut(&s.replace(['\n', '\r', '\t', '|'], " "), SAMPLE_CELL_CHARS)
}

fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max { s.to_string() } else { format!("{}…", s.chars().take(max).collect::<String>()) }
}

// ---------------------------------------------------------------------------------------------------------------
// Verification

/// Checks that every number in `summary` is supported: it equals, at the precision shown, a number in the result
/// (cells, numbers inside text cells and column names), in the facts, or in the facts' context numbers (question and
/// SQL). Percentages may also match a fraction cell times 100. Unsigned numbers match by magnitude ("fell by 12.5%");
/// an explicit sign must agree. Ordinals 1–10 ("Top 5", "3위", "2nd") are always tolerated. Returns the unsupported
/// numbers as written.
pub fn verify_summary(summary: &str, result: &ResultSet, facts: &Facts) -> Result<(), Vec<String>> {
    let pool = candidates(result, facts);
    let mut bad: Vec<String> = Vec::new();
    for n in extract_numbers(summary) {
        let tolerated_ordinal = n.ordinal && !n.percent && n.step == 1.0 && (1.0..=10.0).contains(&n.value);
        let supported = tolerated_ordinal
            || pool.plain.iter().any(|&c| close(&n, c))
            || (n.percent && pool.fractions.iter().any(|&c| close(&n, c)));
        if !supported && !bad.contains(&n.text) {
            bad.push(n.text);
        }
    }
    if bad.is_empty() { Ok(()) } else { Err(bad) }
}

struct Candidates {
    plain: Vec<f64>,
    /// Values with |v| ≤ 1 times 100, for percentages of fraction columns.
    fractions: Vec<f64>,
}

fn candidates(result: &ResultSet, facts: &Facts) -> Candidates {
    let mut plain = Vec::new();
    for row in &result.rows {
        for v in row {
            match v {
                Value::Text(t) => plain.extend(extract_numbers(t).iter().map(|n| n.value)),
                other => plain.extend(other.as_f64().filter(|f| f.is_finite())),
            }
        }
    }
    for c in &result.columns {
        plain.extend(extract_numbers(&c.name).iter().map(|n| n.value));
    }
    plain.push(facts.row_count as f64);
    plain.extend(&facts.context_numbers);
    for m in &facts.measures {
        plain.extend([m.count as f64, m.nulls as f64, m.min.value, m.max.value, m.total, m.mean]);
        plain.extend(m.top_share.as_ref().map(|s| s.percent));
        if let Some(c) = &m.change {
            plain.extend([c.from, c.to, c.delta]);
            plain.extend(c.percent);
        }
    }
    let fractions = plain.iter().filter(|c| c.abs() <= 1.0).map(|c| c * 100.0).collect();
    Candidates { plain, fractions }
}

/// True when `c` shown at the precision of `n` reads as `n` (rounded half-way or truncated).
fn close(n: &Num, c: f64) -> bool {
    let c = match n.sign {
        Sign::None => c.abs(),
        Sign::Plus | Sign::Minus => c,
    };
    let v = n.value;
    let eps = 1e-9 * v.abs().max(1.0);
    let rounded = (c - v).abs() <= n.step / 2.0 + eps;
    let truncated = c.signum() == v.signum() && v.abs() <= c.abs() + eps && c.abs() < v.abs() + n.step - eps;
    rounded || truncated
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sign {
    None,
    Plus,
    Minus,
}

/// A number as written in text.
#[derive(Debug, Clone, PartialEq)]
struct Num {
    /// The characters as written, for reports.
    text: String,
    /// The value, units applied (`3.4만` → 34,000), negative when written with a minus.
    value: f64,
    /// The precision shown: `12.5` → 0.1, `3.4만` → 1,000; widened over trailing zeros for round numbers
    /// (`1억 7,600만` → 1,000,000) and hedged ones (`약 1,200` → 100), see [`rounding_of_zeros`].
    step: f64,
    percent: bool,
    sign: Sign,
    /// Written as a rank or position: `Top 5`, `3위`, `2nd`, `#1`.
    ordinal: bool,
    /// Marked as approximate: `약 1,200`, `about 1,200`, `1,200여`.
    hedged: bool,
}

/// Every number in `text`: grouped digits (`1,234,567`), decimals, signs, percents (`%`, `%p`, `퍼센트`,
/// `percent`), Korean units (`3.4만`, `1.2억`, `3천만`, `1억 2천만`) and English ones (`12k`, `1.5M`, `2 billion`).
/// A dash between digits is a range or date separator, not a sign (`2022-2024`, `2024-03`).
fn extract_numbers(text: &str) -> Vec<Num> {
    let cs: Vec<char> = text.chars().collect();
    let mut out: Vec<Num> = Vec::new();
    let mut last: Option<(usize, f64)> = None; // (end of the previous number, its largest Korean unit)
    let mut i = 0;
    while i < cs.len() {
        let start = i;
        let sign = match cs[i] {
            '-' | '−' | '+' if at(&cs, i + 1).is_ascii_digit() && (i == 0 || !cs[i - 1].is_alphanumeric()) => {
                i += 1;
                if cs[start] == '+' { Sign::Plus } else { Sign::Minus }
            }
            c if c.is_ascii_digit() => Sign::None,
            _ => {
                i += 1;
                continue;
            }
        };
        let m = scan_mantissa(&cs, i);
        let u = scan_unit(&cs, m.end);
        i = u.end;
        let hedged = hedged_before(&cs, start) || hedged_after(&cs, i);
        let magnitude = m.value * u.multiplier;
        let widen =
            if m.decimals == 0 { rounding_of_zeros(m.trailing_zeros, u.multiplier, magnitude, hedged) } else { 1.0 };
        let mut num = Num {
            text: cs[start..i].iter().collect(),
            value: if sign == Sign::Minus { -magnitude } else { magnitude },
            step: 10f64.powi(-(m.decimals as i32)) * u.multiplier * widen,
            percent: u.percent,
            sign,
            ordinal: u.ordinal || ordinal_before(&cs, start),
            hedged,
        };
        // `1억 2천만`: a smaller Korean amount right after a larger one continues it.
        if let (Some((prev_end, prev_unit)), Some(prev)) = (last, out.last_mut()) {
            let gap: String = cs[prev_end..start].iter().collect();
            if prev_unit >= 1e4
                && u.multiplier < prev_unit
                && u.multiplier > 1.0
                && !u.percent
                && sign == Sign::None
                && gap.trim().is_empty()
                && gap.chars().count() <= 1
                && !prev.percent
            {
                prev.value += if prev.value < 0.0 { -magnitude } else { magnitude };
                // The rounding of the last part is judged against the whole amount, under either part's hedge.
                prev.hedged |= hedged;
                let widen = if m.decimals == 0 {
                    rounding_of_zeros(m.trailing_zeros, u.multiplier, prev.value, prev.hedged)
                } else {
                    1.0
                };
                prev.step = 10f64.powi(-(m.decimals as i32)) * u.multiplier * widen;
                prev.text = format!("{}{gap}{}", prev.text, num.text);
                last = Some((i, u.korean));
                continue;
            }
        }
        last = Some((i, u.korean));
        num.text = num.text.trim().to_string();
        out.push(num);
    }
    out
}

fn at(cs: &[char], i: usize) -> char {
    cs.get(i).copied().unwrap_or('\0')
}

fn starts_with_at(cs: &[char], i: usize, word: &str) -> bool {
    word.chars().enumerate().all(|(k, w)| at(cs, i + k) == w)
}

struct Mantissa {
    value: f64,
    decimals: usize,
    trailing_zeros: usize,
    end: usize,
}

fn scan_mantissa(cs: &[char], mut i: usize) -> Mantissa {
    let mut digits = String::new();
    while at(cs, i).is_ascii_digit() {
        digits.push(cs[i]);
        i += 1;
    }
    // Thousands groups: `,` then exactly three digits, only after a first group of one to three digits.
    if digits.len() <= 3 {
        while at(cs, i) == ',' && (1..=3).all(|k| at(cs, i + k).is_ascii_digit()) && !at(cs, i + 4).is_ascii_digit() {
            digits.extend(&cs[i + 1..i + 4]);
            i += 4;
        }
    }
    let trailing_zeros = digits.len() - digits.trim_end_matches('0').len().max(1).min(digits.len());
    let mut decimals = 0;
    let mut text = digits.clone();
    if at(cs, i) == '.' && at(cs, i + 1).is_ascii_digit() {
        text.push('.');
        i += 1;
        while at(cs, i).is_ascii_digit() {
            text.push(cs[i]);
            decimals += 1;
            i += 1;
        }
    }
    Mantissa { value: text.parse().unwrap_or(0.0), decimals, trailing_zeros, end: i }
}

struct Unit {
    multiplier: f64,
    /// The largest Korean unit used (만 = 1e4, 억 = 1e8, 조 = 1e12), 1 when none.
    korean: f64,
    percent: bool,
    ordinal: bool,
    end: usize,
}

fn scan_unit(cs: &[char], mut i: usize) -> Unit {
    let mut unit = Unit { multiplier: 1.0, korean: 1.0, percent: false, ordinal: false, end: i };
    if matches!(at(cs, i), '%' | '％') {
        i += 1;
        if at(cs, i) == 'p' && !at(cs, i + 1).is_alphabetic() {
            i += 1;
        }
        unit.percent = true;
    } else if let Some(len) = ["퍼센트", " 퍼센트"].iter().find(|w| starts_with_at(cs, i, w)).map(|w| w.chars().count())
    {
        i += len;
        unit.percent = true;
    } else {
        while let Some(u) = korean_unit(cs, i) {
            unit.multiplier *= u;
            if u >= 1e4 {
                unit.korean = unit.korean.max(u);
            }
            i += 1;
        }
        if unit.multiplier == 1.0 {
            i = english_unit(cs, i, &mut unit);
        }
    }
    let after_letters = |k: usize| !at(cs, k).is_alphabetic();
    if ["위", "번째", "등"].iter().any(|w| starts_with_at(cs, i, w))
        || (["st", "nd", "rd", "th"].iter().any(|w| starts_with_at(cs, i, w)) && after_letters(i + 2))
    {
        unit.ordinal = true;
    }
    unit.end = i;
    unit
}

fn korean_unit(cs: &[char], i: usize) -> Option<f64> {
    let u = match at(cs, i) {
        '십' => 10.0,
        '백' => 100.0,
        '천' => 1e3,
        '만' if at(cs, i + 1) != '큼' => 1e4,
        '억' => 1e8,
        '조' => 1e12,
        _ => return None,
    };
    Some(u)
}

fn english_unit(cs: &[char], i: usize, unit: &mut Unit) -> usize {
    let attached: &[(&str, f64)] = &[("bn", 1e9), ("mn", 1e6), ("k", 1e3), ("K", 1e3), ("M", 1e6), ("B", 1e9)];
    for (w, m) in attached {
        let len = w.chars().count();
        if starts_with_at(cs, i, w) && !at(cs, i + len).is_alphabetic() {
            unit.multiplier = *m;
            return i + len;
        }
    }
    if at(cs, i) == ' ' {
        let word: String = cs[i + 1..].iter().take_while(|c| c.is_ascii_alphabetic()).collect();
        let len = word.chars().count();
        match word.to_ascii_lowercase().as_str() {
            "thousand" => unit.multiplier = 1e3,
            "million" => unit.multiplier = 1e6,
            "billion" => unit.multiplier = 1e9,
            "trillion" => unit.multiplier = 1e12,
            "percent" => unit.percent = true,
            "per" if starts_with_at(cs, i + 4, " cent") => {
                unit.percent = true;
                return i + 9;
            }
            _ => return i,
        }
        return i + 1 + len;
    }
    i
}

/// Words before a number that mark it as a rank: `Top 5`, `#1`, `No. 2`, `상위 3`, `제2`.
fn ordinal_before(cs: &[char], start: usize) -> bool {
    ["top", "#", "no.", "bottom", "rank", "상위", "하위", "순위", "제"].iter().any(|w| word_before(cs, start, w))
}

/// True when the text before `start` (ignoring spaces) ends with the word `w`, not with the tail of a longer word
/// (`laptop 5` is not `top 5`, `요약 3` is not `약 3`).
fn word_before(cs: &[char], start: usize, w: &str) -> bool {
    let mut end = start;
    while end > 0 && cs[end - 1] == ' ' {
        end -= 1;
    }
    let wc: Vec<char> = w.chars().collect();
    let Some(begin) = end.checked_sub(wc.len()) else { return false };
    cs[begin..end].iter().zip(&wc).all(|(a, b)| a.to_lowercase().eq(b.to_lowercase()))
        && !(wc.first().is_some_and(|c| c.is_alphabetic()) && begin > 0 && cs[begin - 1].is_alphabetic())
}

/// How far a whole number's trailing zeros may be rounding: `1억 7,600만` reads as rounded to the million. Without a
/// hedge word the rounding is trusted only while it is within 1% of the value (so `1,000` stays exact); with one
/// (`약`, `about`) every trailing zero counts.
fn rounding_of_zeros(trailing_zeros: usize, unit: f64, magnitude: f64, hedged: bool) -> f64 {
    let mut widen = 10f64.powi(trailing_zeros.min(15) as i32);
    if !hedged {
        while widen > 1.0 && widen * unit / 2.0 > magnitude.abs() * 0.01 {
            widen /= 10.0;
        }
    }
    widen
}

/// Words before a number that mark it as approximate: `약`, `about`, `around`, `over`, `~`.
fn hedged_before(cs: &[char], start: usize) -> bool {
    [
        "약",
        "대략",
        "거의",
        "~",
        "about",
        "around",
        "approximately",
        "approx.",
        "roughly",
        "nearly",
        "almost",
        "over",
        "more than",
        "less than",
        "under",
        "above",
        "below",
    ]
    .iter()
    .any(|w| word_before(cs, start, w))
}

/// Words after a number (and its unit, and an optional short counter such as `건` or `원`) that mark it approximate:
/// `1,200여 건`, `1,200건 이상`, `100만 원 정도`.
fn hedged_after(cs: &[char], mut i: usize) -> bool {
    const HEDGES: &[&str] = &["여", "가량", "정도", "남짓", "이상", "이하", "미만", "초과", "쯤", "+"];
    if HEDGES.iter().any(|h| starts_with_at(cs, i, h)) {
        return true;
    }
    let mut skipped = 0;
    while skipped < 2 && contains_hangul(&at(cs, i).to_string()) {
        i += 1;
        skipped += 1;
    }
    if at(cs, i) == ' ' {
        i += 1;
    }
    HEDGES.iter().any(|h| starts_with_at(cs, i, h))
}

// ---------------------------------------------------------------------------------------------------------------
// Fallback

/// A deterministic 2–3 sentence summary from the facts alone, in Korean when the question has Hangul. Used when no
/// LLM is configured or the LLM's summary fails [`verify_summary`]; its own numbers always pass that check.
pub fn fallback_summary(question: &str, facts: &Facts) -> String {
    let ko = contains_hangul(question);
    let n = facts.row_count;
    if n == 0 {
        return if ko {
            "조회 결과가 없습니다. 조건에 맞는 행이 하나도 없습니다.".to_string()
        } else {
            "The query returned no rows. Nothing matched the conditions.".to_string()
        };
    }
    let Some(m) = facts.measures.first() else {
        return match (ko, facts.truncated) {
            (true, false) => format!("총 {n}행이 조회되었습니다. 숫자 열이 없어 합계나 비중은 계산하지 않았습니다."),
            (true, true) => {
                format!("결과가 잘려 처음 {n}행만 조회되었습니다. 숫자 열이 없어 합계나 비중은 계산하지 않았습니다.")
            }
            (false, false) => format!(
                "The query returned {n} rows. None of its columns is numeric, so there are no totals or shares."
            ),
            (false, true) => format!(
                "The query returned only its first {n} rows. None of its columns is numeric, so there are no totals or shares."
            ),
        };
    };
    if n == 1 {
        return kpi_sentence(ko, &facts.measures);
    }
    let opening = opening_sentence(ko, facts, m);
    let middle = match &m.change {
        Some(c) => change_sentence(ko, m, c),
        None => extremes_sentence(ko, m),
    };
    let closing = match (&m.change, &m.top_share) {
        (Some(_), _) => peak_sentence(ko, m),
        (None, Some(share)) => share_sentence(ko, m, share),
        (None, None) => String::new(),
    };
    [opening, middle, closing].into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" ")
}

fn kpi_sentence(ko: bool, measures: &[Measure]) -> String {
    let parts: Vec<String> = measures
        .iter()
        .take(4)
        .map(|m| {
            if ko {
                format!("{} {}", m.column, fmt_num(m.max.value))
            } else {
                format!("{} is {}", m.column, fmt_num(m.max.value))
            }
        })
        .collect();
    if ko {
        format!("결과는 1행입니다: {}.", parts.join(", "))
    } else {
        format!("The result is a single row: {}.", parts.join(", "))
    }
}

fn opening_sentence(ko: bool, facts: &Facts, m: &Measure) -> String {
    let n = facts.row_count;
    let span = m.change.as_ref().and_then(|c| Some((c.from_label.clone()?, c.to_label.clone()?)));
    match (ko, facts.truncated, span) {
        (true, false, Some((a, b))) => format!("{a}부터 {b}까지 {n}개 구간이 조회되었습니다."),
        (true, true, Some((a, b))) => format!("결과가 잘려 {a}부터 {b}까지 처음 {n}행만 반영했습니다."),
        (true, false, None) => format!("총 {n}행이 조회되었습니다."),
        (true, true, None) => format!("결과가 잘려 처음 {n}행만 반영한 수치입니다."),
        (false, false, Some((a, b))) => format!("The query returned {n} rows from {a} to {b}."),
        (false, true, Some((a, b))) => {
            format!("The query returned only its first {n} rows, from {a} to {b}, so the figures cover those rows.")
        }
        (false, false, None) => format!("The query returned {n} rows."),
        (false, true, None) => format!("The query returned only its first {n} rows, so the figures cover those rows."),
    }
}

fn change_sentence(ko: bool, m: &Measure, c: &Change) -> String {
    let pct = c.percent.map(|p| format!(" ({}%)", fmt_num(p.abs()))).unwrap_or_default();
    let delta = fmt_num(c.delta.abs());
    if ko {
        let verb = if c.delta > 0.0 {
            "증가했습니다"
        } else if c.delta < 0.0 {
            "감소했습니다"
        } else {
            "변하지 않았습니다"
        };
        let (from, to) = (with_label_ko(c.from, &c.from_label), with_label_ko(c.to, &c.to_label));
        if c.delta == 0.0 {
            format!("{} 값은 {from}에서 {to}까지 {verb}.", m.column)
        } else {
            format!("{} 값은 {from}에서 {to}까지 {delta}{pct} {verb}.", m.column)
        }
    } else {
        let (from, to) = (with_label_en(c.from, &c.from_label), with_label_en(c.to, &c.to_label));
        let verb = if c.delta > 0.0 {
            "rose"
        } else if c.delta < 0.0 {
            "fell"
        } else {
            "was unchanged"
        };
        if c.delta == 0.0 {
            format!("{} {verb}, from {from} to {to}.", m.column)
        } else {
            format!("{} {verb} by {delta}{pct}, from {from} to {to}.", m.column)
        }
    }
}

fn extremes_sentence(ko: bool, m: &Measure) -> String {
    if ko {
        format!(
            "{} 기준 최대는 {}, 최소는 {}입니다.",
            m.column,
            with_paren(m.max.value, &m.max.label),
            with_paren(m.min.value, &m.min.label)
        )
    } else {
        format!(
            "The highest {} is {} and the lowest is {}.",
            m.column,
            with_paren(m.max.value, &m.max.label),
            with_paren(m.min.value, &m.min.label)
        )
    }
}

fn peak_sentence(ko: bool, m: &Measure) -> String {
    if ko {
        format!(
            "최고치는 {}, 최저치는 {}입니다.",
            with_label_ko(m.max.value, &m.max.label),
            with_label_ko(m.min.value, &m.min.label)
        )
    } else {
        format!(
            "The peak was {} and the low {}.",
            with_paren(m.max.value, &m.max.label),
            with_paren(m.min.value, &m.min.label)
        )
    }
}

fn share_sentence(ko: bool, m: &Measure, share: &Share) -> String {
    let pct = fmt_num(share.percent);
    let total = fmt_num(m.total);
    match (ko, &share.label) {
        (true, Some(l)) => format!("{l}의 비중은 전체 합계 {total} 중 {pct}%입니다."),
        (true, None) => format!("가장 큰 값의 비중은 전체 합계 {total} 중 {pct}%입니다."),
        (false, Some(l)) => format!("{l} accounts for {pct}% of the total {total}."),
        (false, None) => format!("The largest value is {pct}% of the total {total}."),
    }
}

/// `Electronics (500)` or `500`.
fn with_paren(v: f64, label: &Option<String>) -> String {
    match label {
        Some(l) => format!("{l} ({})", fmt_num(v)),
        None => fmt_num(v),
    }
}

/// `2024-01의 100` or `100`.
fn with_label_ko(v: f64, label: &Option<String>) -> String {
    match label {
        Some(l) => format!("{l}의 {}", fmt_num(v)),
        None => fmt_num(v),
    }
}

/// `100 in 2024-01` or `100`.
fn with_label_en(v: f64, label: &Option<String>) -> String {
    match label {
        Some(l) => format!("{} in {l}", fmt_num(v)),
        None => fmt_num(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::ResultColumn;

    fn rs(cols: &[(&str, Option<&str>)], rows: Vec<Vec<Value>>) -> ResultSet {
        ResultSet {
            columns: cols
                .iter()
                .map(|(n, t)| ResultColumn { name: n.to_string(), decl_type: t.map(str::to_string) })
                .collect(),
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

    fn categories() -> ResultSet {
        rs(
            &[("category", Some("TEXT")), ("revenue", Some("INTEGER"))],
            vec![vec![t("Electronics"), i(500)], vec![t("Fashion"), i(300)], vec![t("Food"), i(200)]],
        )
    }

    fn monthly() -> ResultSet {
        rs(
            &[("month", None), ("revenue", None)],
            vec![
                vec![t("2024-01"), i(1_000_000)],
                vec![t("2024-02"), i(1_200_000)],
                vec![t("2024-03"), i(900_000)],
                vec![t("2024-04"), i(1_500_000)],
            ],
        )
    }

    #[test]
    fn facts_of_categories_and_a_measure() {
        let f = facts(&categories());
        assert_eq!(f.row_count, 3);
        assert_eq!(f.label_column.as_deref(), Some("category"));
        assert_eq!(f.series, SeriesKind::Categories);
        assert_eq!(f.measures.len(), 1);
        let m = &f.measures[0];
        assert_eq!((m.min.value, m.min.label.as_deref()), (200.0, Some("Food")));
        assert_eq!((m.max.value, m.max.label.as_deref()), (500.0, Some("Electronics")));
        assert_eq!((m.total, m.mean, m.count, m.nulls), (1000.0, 333.33, 3, 0));
        assert_eq!(m.top_share, Some(Share { label: Some("Electronics".into()), percent: 50.0 }));
        assert_eq!(m.change, None);
    }

    #[test]
    fn facts_of_a_time_series_in_either_order() {
        let f = facts(&monthly());
        assert_eq!(f.series, SeriesKind::Time(TimeOrder::Ascending));
        let c = f.measures[0].change.clone().expect("a change");
        assert_eq!((c.from, c.to, c.delta, c.percent), (1_000_000.0, 1_500_000.0, 500_000.0, Some(50.0)));
        assert_eq!((c.from_label.as_deref(), c.to_label.as_deref()), (Some("2024-01"), Some("2024-04")));

        let mut desc = monthly();
        desc.rows.reverse();
        let f = facts(&desc);
        assert_eq!(f.series, SeriesKind::Time(TimeOrder::Descending));
        assert_eq!(f.measures[0].change, Some(c), "change runs earliest → latest whatever the row order");
    }

    #[test]
    fn unsorted_or_repeated_time_labels_give_no_change() {
        let mut r = monthly();
        r.rows.swap(0, 2);
        let f = facts(&r);
        assert_eq!(f.series, SeriesKind::Time(TimeOrder::Unordered));
        assert_eq!(f.measures[0].change, None);
        // Unpadded months still sort numerically: 2024-9 < 2024-10.
        let r = rs(&[("m", None), ("v", None)], vec![vec![t("2024-9"), i(1)], vec![t("2024-10"), i(2)]]);
        assert_eq!(facts(&r).series, SeriesKind::Time(TimeOrder::Ascending));
    }

    #[test]
    fn integer_year_column_is_a_label_not_a_measure() {
        let r = rs(
            &[("signup_year", Some("INTEGER")), ("customers", Some("INTEGER"))],
            vec![vec![i(2022), i(1200)], vec![i(2023), i(1500)], vec![i(2024), i(1800)]],
        );
        let f = facts(&r);
        assert_eq!(f.label_column.as_deref(), Some("signup_year"));
        assert_eq!(f.series, SeriesKind::Time(TimeOrder::Ascending));
        assert_eq!(f.measures.iter().map(|m| m.column.as_str()).collect::<Vec<_>>(), ["customers"]);
        assert_eq!(f.measures[0].change.as_ref().and_then(|c| c.percent), Some(50.0));
    }

    #[test]
    fn identifiers_are_labels_of_last_resort_and_never_measures() {
        let r = rs(&[("customer_id", None), ("orders", None)], vec![vec![i(7), i(3)], vec![i(9), i(5)]]);
        let f = facts(&r);
        assert_eq!(f.label_column.as_deref(), Some("customer_id"));
        assert_eq!(f.measures.len(), 1);
        assert_eq!(f.measures[0].max.label.as_deref(), Some("9"));
    }

    #[test]
    fn kpi_row() {
        let r = rs(&[("total_revenue", None), ("orders", None)], vec![vec![i(1_234_567), i(89)]]);
        let f = facts(&r);
        assert_eq!((f.label_column.clone(), f.series), (None, SeriesKind::None));
        assert_eq!(f.measures.len(), 2);
        assert_eq!(f.measures[0].top_share, None, "a single value has no share");
        assert_eq!(f.render(), "rows: 1\ntotal_revenue: 1,234,567\norders: 89");
    }

    #[test]
    fn empty_result() {
        let r = rs(&[("category", None), ("revenue", None)], vec![]);
        let f = facts(&r);
        assert_eq!((f.row_count, f.measures.len(), f.series, f.label_column.clone()), (0, 0, SeriesKind::None, None));
        assert_eq!(f.render(), "rows: 0");
    }

    #[test]
    fn nulls_are_counted_and_skipped() {
        let r = rs(
            &[("region", None), ("sales", None)],
            vec![
                vec![t("서울"), i(10)],
                vec![Value::Null, i(30)],
                vec![t("부산"), Value::Null],
                vec![t("대구"), Value::Float(f64::NAN)],
            ],
        );
        let m = &facts(&r).measures[0];
        assert_eq!((m.count, m.nulls, m.total), (2, 2, 40.0));
        assert_eq!(m.max, Extreme { value: 30.0, label: None }, "a null label stays None");
        assert_eq!(m.min.label.as_deref(), Some("서울"));
    }

    #[test]
    fn negative_values_have_no_share_but_a_change() {
        let r = rs(&[("year", None), ("profit", None)], vec![vec![t("2023"), i(-50)], vec![t("2024"), i(100)]]);
        let m = &facts(&r).measures[0];
        assert_eq!(m.top_share, None);
        let c = m.change.as_ref().expect("a change");
        assert_eq!((c.delta, c.percent), (150.0, Some(300.0)), "percent is relative to |from|");
        let zero = rs(&[("year", None), ("v", None)], vec![vec![t("2023"), i(0)], vec![t("2024"), i(5)]]);
        assert_eq!(facts(&zero).measures[0].change.as_ref().and_then(|c| c.percent), None);
    }

    #[test]
    fn derived_values_are_rounded_once() {
        let r = rs(
            &[("k", None), ("v", None)],
            vec![
                vec![t("a"), Value::Float(0.1)],
                vec![t("b"), Value::Float(0.2)],
                vec![t("c"), Value::Decimal("1.004".into())],
            ],
        );
        let m = &facts(&r).measures[0];
        assert_eq!(m.total, 1.3);
        assert_eq!(m.mean, 0.4347);
        assert_eq!(m.top_share.as_ref().map(|s| s.percent), Some(77.0));
        assert_eq!(tidy(0.000123456), 0.0001235);
        assert_eq!(tidy(-2.0 / 3.0), -0.6667);
    }

    #[test]
    fn mixed_and_boolean_columns_are_not_measures() {
        let r = rs(&[("a", None), ("b", None)], vec![vec![i(1), Value::Bool(true)], vec![t("x"), Value::Bool(false)]]);
        let f = facts(&r);
        assert!(f.measures.is_empty());
        assert_eq!(f.label_column.as_deref(), Some("a"));
    }

    #[test]
    fn render_lists_facts_compactly() {
        let mut r = monthly();
        r.truncated = true;
        let text = facts(&r).render();
        assert_eq!(
            text,
            "rows: 4 (truncated: the query had more rows; figures cover these rows only)\n\
             labels: month (time series, ascending)\n\
             revenue: min 900,000 (2024-03), max 1,500,000 (2024-04), total 4,600,000, mean 1,150,000; \
             largest row (2024-04) = 32.6% of total; change 1,000,000 (2024-01) → 1,500,000 (2024-04): +500,000 (+50%)"
        );
    }

    #[test]
    fn number_formatting() {
        assert_eq!(fmt_num(1234567.0), "1,234,567");
        assert_eq!(fmt_num(-1234.5), "-1,234.5");
        assert_eq!(fmt_num(999.0), "999");
        assert_eq!(fmt_num(0.25), "0.25");
        assert_eq!(fmt_num(-0.0), "0");
    }

    fn nums(s: &str) -> Vec<(f64, f64, bool)> {
        extract_numbers(s).into_iter().map(|n| (n.value, n.step, n.percent)).collect()
    }

    #[test]
    fn numbers_in_text() {
        assert_eq!(nums("1,234,567 won"), [(1_234_567.0, 1.0, false)]);
        assert_eq!(nums("up 12.5%"), [(12.5, 0.1, true)]);
        assert_eq!(nums("3.4만 명"), [(34_000.0, 1000.0, false)]);
        assert_eq!(nums("1.2억 원"), [(120_000_000.0, 10_000_000.0, false)]);
        assert_eq!(nums("1억 2천만 원"), [(120_000_000.0, 10_000_000.0, false)]);
        assert_eq!(nums("3천만원"), [(30_000_000.0, 1e7, false)]);
        assert_eq!(nums("fell to -5 units"), [(-5.0, 1.0, false)]);
        assert_eq!(nums("2022-2024"), [(2022.0, 1.0, false), (2024.0, 1.0, false)]);
        assert_eq!(nums("1.5 million and 12k"), [(1.5e6, 1e5, false), (12_000.0, 1000.0, false)]);
        assert_eq!(nums("12.5 percent, 3%p"), [(12.5, 0.1, true), (3.0, 1.0, true)]);
        assert_eq!(nums("1,2 and 1,23"), [(1.0, 1.0, false), (2.0, 1.0, false), (1.0, 1.0, false), (23.0, 1.0, false)]);
        assert_eq!(nums("price was 150."), [(150.0, 1.0, false)]);
        assert_eq!(nums("약 1,200건"), [(1200.0, 100.0, false)], "hedged round numbers carry their rounding");
        assert_eq!(nums("1,200여 건"), [(1200.0, 100.0, false)]);
        assert_eq!(nums("5개만큼, 5만큼"), [(5.0, 1.0, false), (5.0, 1.0, false)]);
        // Round numbers read as rounded while that stays within 1%; hedged ones always.
        assert_eq!(nums("1억 7,600만 원"), [(176_000_000.0, 1_000_000.0, false)]);
        assert_eq!(nums("약 1억 500만"), [(105_000_000.0, 1_000_000.0, false)], "the hedge covers the whole amount");
        assert_eq!(nums("176,000,000"), [(176_000_000.0, 1_000_000.0, false)]);
        assert_eq!(nums("1,000 and about 1,000"), [(1000.0, 10.0, false), (1000.0, 1000.0, false)]);
        assert_eq!(nums("laptop 5, 요약 3"), [(5.0, 1.0, false), (3.0, 1.0, false)]);
        assert!(!extract_numbers("laptop 5").iter().any(|n| n.ordinal));
        assert!(extract_numbers("TOP 5").iter().all(|n| n.ordinal));
        assert!(nums("no digits here").is_empty());
        let ordinals: Vec<bool> = extract_numbers("Top 5, 3위, 2nd, #1, 7 items").iter().map(|n| n.ordinal).collect();
        assert_eq!(ordinals, [true, true, true, true, false]);
    }

    #[test]
    fn verify_accepts_a_faithful_english_summary() {
        let r = monthly();
        let f = facts(&r);
        let s = "Revenue rose from 1,000,000 in 2024-01 to 1.5 million in April 2024, up 50% over the 4 months. \
                 The low was 900,000 in March, and April alone made up about 33% of the 4.6M total.";
        assert_eq!(verify_summary(s, &r, &f), Ok(()));
    }

    #[test]
    fn verify_rejects_invented_numbers() {
        let r = monthly();
        let f = facts(&r);
        let s = "Revenue grew 62% to 1,750,000, with 12 new stores opening.";
        assert_eq!(verify_summary(s, &r, &f), Err(vec!["62%".to_string(), "1,750,000".to_string(), "12".to_string()]));
        // A wrong sign is an invented number too.
        assert_eq!(verify_summary("The change was -500,000.", &r, &f), Err(vec!["-500,000".to_string()]));
        // Rounding that is not rounding: 1.6M is not 1,500,000.
        assert_eq!(verify_summary("It reached 1.6M.", &r, &f), Err(vec!["1.6M".to_string()]));
    }

    #[test]
    fn verify_handles_korean_units() {
        let r = monthly();
        let f = facts(&r);
        let s = "2024년 1월 100만 원에서 4월 150만 원으로 50% 증가했습니다. 3월이 90만 원으로 가장 낮았고, 총 매출은 460만 원입니다.";
        assert_eq!(verify_summary(s, &r, &f), Ok(()));
        let big = rs(&[("k", None), ("v", None)], vec![vec![t("a"), i(123_456_789)], vec![t("b"), i(1)]]);
        let fb = facts(&big);
        assert_eq!(verify_summary("a는 약 1.2억 원, 1억 2,345만 원입니다.", &big, &fb), Ok(()));
        assert_eq!(
            verify_summary("매출은 2억 원이고 전년 대비 15.3% 늘었습니다.", &r, &f),
            Err(vec!["2억".to_string(), "15.3%".to_string()])
        );
    }

    #[test]
    fn verify_accepts_shares_fractions_and_ordinals_but_context_only_when_given() {
        let r = categories();
        let f = facts(&r);
        assert_eq!(
            verify_summary("Electronics is the top category with 50.0% of revenue; Food is 3rd.", &r, &f),
            Ok(())
        );
        let rates = rs(
            &[("channel", None), ("return_rate", None)],
            vec![vec![t("web"), Value::Float(0.042)], vec![t("app"), Value::Float(0.031)]],
        );
        assert_eq!(verify_summary("web returns 4.2% of orders, app 3.1%.", &rates, &facts(&rates)), Ok(()));
        let s = "In 2025 the Top 3 categories were led by Electronics (500).";
        assert_eq!(verify_summary(s, &r, &f), Err(vec!["2025".to_string()]));
        let with_ctx = f.clone().with_context("Top 3 categories in 2025", "SELECT … WHERE year = 2025 LIMIT 3");
        assert_eq!(verify_summary(s, &r, &with_ctx), Ok(()));
        // Ordinals are tolerated only as small positions.
        assert_eq!(verify_summary("It ranks 42nd.", &r, &f), Err(vec!["42".to_string()]));
    }

    #[test]
    fn fallback_in_english_and_korean_passes_verification() {
        let cases = [
            categories(),
            monthly(),
            {
                let mut m = monthly();
                m.rows.reverse();
                m.truncated = true;
                m
            },
            rs(&[("total", None), ("orders", None)], vec![vec![i(1_234_567), i(89)]]),
            rs(&[("name", None)], vec![vec![t("a")], vec![t("b")]]),
            rs(&[("v", None)], vec![]),
        ];
        for r in &cases {
            let f = facts(r);
            for q in ["How is revenue?", "매출은 어때?"] {
                let s = fallback_summary(q, &f);
                assert_eq!(verify_summary(&s, r, &f), Ok(()), "{s}");
                let sentences = s.matches(". ").count() + 1;
                assert!((1..=3).contains(&sentences), "{s}");
                assert_eq!(contains_hangul(&s), contains_hangul(q), "{s}");
            }
        }
    }

    #[test]
    fn fallback_texts() {
        let f = facts(&categories());
        assert_eq!(
            fallback_summary("Revenue by category", &f),
            "The query returned 3 rows. The highest revenue is Electronics (500) and the lowest is Food (200). \
             Electronics accounts for 50% of the total 1,000."
        );
        assert_eq!(
            fallback_summary("카테고리별 매출", &f),
            "총 3행이 조회되었습니다. revenue 기준 최대는 Electronics (500), 최소는 Food (200)입니다. \
             Electronics의 비중은 전체 합계 1,000 중 50%입니다."
        );
        let f = facts(&monthly());
        assert_eq!(
            fallback_summary("2024년 월별 매출 추이", &f),
            "2024-01부터 2024-04까지 4개 구간이 조회되었습니다. revenue 값은 2024-01의 1,000,000에서 2024-04의 1,500,000까지 \
             500,000 (50%) 증가했습니다. 최고치는 2024-04의 1,500,000, 최저치는 2024-03의 900,000입니다."
        );
        assert_eq!(
            fallback_summary("q", &facts(&rs(&[("v", None)], vec![]))),
            "The query returned no rows. Nothing matched the conditions."
        );
    }

    #[test]
    fn prompt_bounds_the_sample() {
        let long = "x".repeat(100);
        let r = rs(&[("name", None), ("v", None)], (0..50).map(|k| vec![t(&long), i(k)]).collect());
        let req = summary_request("Which names?", "SELECT name, v FROM t", &r, &facts(&r), 5);
        let user = &req.messages[0].content;
        let (user, _facts) = user.split_once("\nFacts:").expect("a facts section");
        assert!(user.contains("Rows (first 5 of 50):"));
        assert_eq!(user.matches(&"x".repeat(SAMPLE_CELL_CHARS)).count(), 5);
        assert!(!user.contains(&"x".repeat(SAMPLE_CELL_CHARS + 1)));
        assert!(req.system.contains("in English"));
    }

    #[test]
    fn summary_request_snapshot() {
        let r = monthly();
        let q = "2024년 월별 매출 추이를 보여줘";
        let sql = "SELECT strftime('%Y-%m', order_date) AS month, SUM(total_amount) AS revenue FROM orders GROUP BY 1 ORDER BY 1";
        let req = summary_request(q, sql, &r, &facts(&r), 3);
        insta::assert_snapshot!(format!(
            "max_tokens: {}\ntemperature: {}\n--- system\n{}\n--- user\n{}",
            req.max_tokens, req.temperature, req.system, req.messages[0].content
        ));
    }
}
