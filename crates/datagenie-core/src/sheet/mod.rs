//! Spreadsheets read as a person reads them — the judgement, without IO: where the header is (title and note rows
//! above it are not data), which rows at the end are totals, what each column holds (whole numbers, decimals,
//! percentages, money, yes/no, dates, text — a few stray values do not turn a number column into text), and what the
//! table and its columns are called. The loader (`datagenie-connectors`' `file`) reads the bytes and feeds rows here.

pub mod cell;

pub use cell::{NumberStyle, Parsed, parse};

/// What a column holds, decided from all its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnType {
    Integer,
    Decimal,
    /// Stored as written: `12.5%` is 12.5.
    Percent,
    /// Stored as the amount: `₩1,000` is 1000.
    Currency,
    /// Stored as 1 and 0.
    Boolean,
    /// ISO 8601 text, `2024-03-05`: SQLite's date functions work on it.
    Date,
    /// ISO 8601 text, `2024-03-05 14:30:00`.
    DateTime,
    Text,
}

impl ColumnType {
    /// The declared SQLite type.
    pub fn sql_type(self) -> &'static str {
        match self {
            ColumnType::Integer | ColumnType::Boolean => "INTEGER",
            ColumnType::Decimal | ColumnType::Percent | ColumnType::Currency => "REAL",
            ColumnType::Date | ColumnType::DateTime | ColumnType::Text => "TEXT",
        }
    }

    /// What a reader (and the LLM) is told about the column, when the type alone does not say it.
    pub fn note(self) -> Option<&'static str> {
        match self {
            ColumnType::Percent => Some("percent: 12.5 means 12.5%"),
            ColumnType::Currency => Some("an amount of money"),
            ColumnType::Boolean => Some("yes/no: 1 = yes (Y, 예, TRUE), 0 = no"),
            ColumnType::Date => Some("date, YYYY-MM-DD"),
            ColumnType::DateTime => Some("date and time, YYYY-MM-DD HH:MM:SS"),
            _ => None,
        }
    }
}

/// A stored cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
}

/// At most this share of a column's non-empty values may be strays (left NULL) for it to keep a typed reading.
const MAX_STRAY_SHARE: f64 = 0.05;
/// Stray examples kept for the schema's note.
const STRAY_EXAMPLES: usize = 3;

/// The counts of one column's readings over all its data rows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    non_empty: u64,
    ints: u64,
    decimals: u64,
    percents: u64,
    money: u64,
    bools: u64,
    dates: u64,
    datetimes: u64,
    /// Text values, with the first few (the strays, if the column turns out typed).
    texts: u64,
    text_examples: Vec<String>,
}

/// A column's type and the values that did not fit it (left NULL, named in the schema).
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub ty: ColumnType,
    pub strays: u64,
    pub stray_examples: Vec<String>,
}

impl Decision {
    /// The column's comment: what its type means, and the strays left NULL.
    pub fn comment(&self) -> Option<String> {
        let mut parts: Vec<String> = self.ty.note().map(str::to_string).into_iter().collect();
        if self.strays > 0 {
            let examples: Vec<String> = self.stray_examples.iter().map(|e| format!("'{e}'")).collect();
            parts.push(format!(
                "{} value{} that {} not {} left NULL ({})",
                self.strays,
                if self.strays == 1 { "" } else { "s" },
                if self.strays == 1 { "is" } else { "are" },
                match self.ty {
                    ColumnType::Boolean => "yes/no",
                    ColumnType::Date | ColumnType::DateTime => "a date",
                    _ => "a number",
                },
                examples.join(", ")
            ));
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}

impl Tally {
    pub fn add(&mut self, cell: &str, style: NumberStyle) {
        let Some(parsed) = parse(cell, style) else { return };
        self.non_empty += 1;
        match parsed {
            Parsed::Int(_) => self.ints += 1,
            Parsed::Decimal(_) => self.decimals += 1,
            Parsed::Percent(_) => self.percents += 1,
            Parsed::Money(_) => self.money += 1,
            Parsed::Bool(_) => self.bools += 1,
            Parsed::Date(_) => self.dates += 1,
            Parsed::DateTime(_) => self.datetimes += 1,
            Parsed::Text => {
                self.texts += 1;
                if self.text_examples.len() < STRAY_EXAMPLES {
                    let t = cell.trim();
                    if !self.text_examples.iter().any(|e| e == t) {
                        self.text_examples.push(t.chars().take(40).collect());
                    }
                }
            }
        }
    }

    /// The reading that fits the most values; typed when the rest (strays) are few.
    pub fn decide(&self) -> Decision {
        let numbers = self.ints + self.decimals + self.percents + self.money;
        let dates = self.dates + self.datetimes;
        let (count, ty) = [
            (numbers, self.number_type()),
            (dates, if self.datetimes > 0 { ColumnType::DateTime } else { ColumnType::Date }),
            (self.bools, ColumnType::Boolean),
        ]
        .into_iter()
        .max_by_key(|(n, _)| *n)
        .unwrap_or((0, ColumnType::Text));
        let strays = self.non_empty - count;
        let text = Decision { ty: ColumnType::Text, strays: 0, stray_examples: Vec::new() };
        if count == 0 || (strays as f64) > MAX_STRAY_SHARE * self.non_empty as f64 {
            return text;
        }
        let stray_examples = if strays > 0 { self.text_examples.clone() } else { Vec::new() };
        Decision { ty, strays, stray_examples }
    }

    fn number_type(&self) -> ColumnType {
        let numbers = self.ints + self.decimals + self.percents + self.money;
        if self.money > 0 && self.percents == 0 {
            ColumnType::Currency
        } else if self.percents * 2 >= numbers && self.percents > 0 {
            ColumnType::Percent
        } else if self.decimals + self.percents + self.money == 0 {
            ColumnType::Integer
        } else {
            ColumnType::Decimal
        }
    }
}

/// A cell stored as its column's type; what does not fit is NULL.
pub fn convert(cell: &str, ty: ColumnType, style: NumberStyle) -> Cell {
    if ty == ColumnType::Text {
        let t = cell.trim();
        return if t.is_empty() { Cell::Null } else { Cell::Text(t.to_string()) };
    }
    match (ty, parse(cell, style)) {
        (_, None) => Cell::Null,
        (ColumnType::Integer, Some(Parsed::Int(n))) => Cell::Int(n),
        (ColumnType::Decimal | ColumnType::Percent | ColumnType::Currency, Some(p)) => match p {
            Parsed::Int(n) => Cell::Real(n as f64),
            Parsed::Decimal(x) | Parsed::Percent(x) | Parsed::Money(x) => Cell::Real(x),
            _ => Cell::Null,
        },
        (ColumnType::Boolean, Some(Parsed::Bool(b))) => Cell::Int(i64::from(b)),
        (ColumnType::Date, Some(Parsed::Date(d))) => Cell::Text(d),
        (ColumnType::DateTime, Some(Parsed::Date(d))) => Cell::Text(format!("{d} 00:00:00")),
        (ColumnType::DateTime, Some(Parsed::DateTime(d))) => Cell::Text(d),
        _ => Cell::Null,
    }
}

/// Rows looked at for the header.
pub const HEADER_SCAN_ROWS: usize = 30;

/// The header's row among the first rows: the first row that fills at least half the table's width with mostly
/// text, above rows of data. Title and note rows above it (one or two cells of a wider table) are skipped. `None`:
/// the file has no header (every candidate row looks like data).
pub fn header_row(rows: &[Vec<String>], style: NumberStyle) -> Option<usize> {
    let filled = |row: &Vec<String>| row.iter().filter(|c| !c.trim().is_empty()).count();
    let scan = rows.len().min(HEADER_SCAN_ROWS);
    for r in 0..scan {
        let cells: Vec<&String> = rows[r].iter().filter(|c| !c.trim().is_empty()).collect();
        if cells.is_empty() {
            continue;
        }
        // The table's width: the widest row of the next few.
        let width = rows[r..rows.len().min(r + 10)].iter().map(filled).max().unwrap_or(0);
        // A title or note: one or two cells of a wider table, or one text repeated (a title merged across it).
        let repeated = cells.iter().all(|c| c.trim() == cells[0].trim());
        if width > 1 && (cells.len() < 2 || cells.len() * 2 < width || repeated) {
            continue;
        }
        let texts = cells.iter().filter(|c| parse(c, style) == Some(Parsed::Text)).count();
        if texts * 10 >= cells.len() * 7 {
            return Some(r);
        }
        // A row of data before any header: the file has none.
        return None;
    }
    None
}

/// A totals row (`합계`, `총계`, `소계`, `계`, `Total`, `Sum`, …): not data when it ends the table.
pub fn is_total_row(row: &[String]) -> bool {
    let Some(first) = row.iter().map(|c| c.trim()).find(|c| !c.is_empty()) else { return false };
    let key: String = first.chars().filter(|c| !c.is_whitespace() && *c != ':').collect::<String>().to_lowercase();
    matches!(
        key.as_str(),
        "합계"
            | "총계"
            | "소계"
            | "계"
            | "총합계"
            | "총합"
            | "전체합계"
            | "total"
            | "totals"
            | "grandtotal"
            | "subtotal"
            | "sum"
    )
}

/// The columns' names: the header's cells (trimmed, inner whitespace made single spaces, Korean kept), `column_N`
/// for an empty one, and `name_2`, `name_3` for repeats (compared case-insensitively, as SQLite compares names).
pub fn column_names(header: Option<&[String]>, width: usize) -> Vec<String> {
    let mut taken: Vec<String> = Vec::with_capacity(width);
    (0..width)
        .map(|i| {
            let raw = header.and_then(|h| h.get(i)).map(|s| clean_name(s)).unwrap_or_default();
            let base = if raw.is_empty() { format!("column_{}", i + 1) } else { raw };
            unique_name(&base, &mut taken)
        })
        .collect()
}

/// `base`, or `base_2`, `base_3`, … when `taken` has it (case-insensitively); the result is added to `taken`.
pub fn unique_name(base: &str, taken: &mut Vec<String>) -> String {
    let clash = |n: &str, taken: &[String]| taken.iter().any(|t| t.to_lowercase() == n.to_lowercase());
    let mut name = base.to_string();
    let mut k = 2;
    while clash(&name, taken) {
        name = format!("{base}_{k}");
        k += 1;
    }
    taken.push(name.clone());
    name
}

/// Trimmed, with runs of whitespace (line breaks in a header cell) made one space, at most 100 characters.
pub fn clean_name(raw: &str) -> String {
    raw.split_whitespace().collect::<Vec<_>>().join(" ").chars().filter(|c| !c.is_control()).take(100).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &[&[&str]]) -> Vec<Vec<String>> {
        text.iter().map(|r| r.iter().map(|c| c.to_string()).collect()).collect()
    }

    fn decide(values: &[&str]) -> Decision {
        let mut t = Tally::default();
        for v in values {
            t.add(v, NumberStyle::default());
        }
        t.decide()
    }

    #[test]
    fn a_column_is_typed_by_all_its_values_and_strays_stay_visible() {
        assert_eq!(decide(&["1", "2", "", "3"]).ty, ColumnType::Integer);
        assert_eq!(decide(&["1", "2.5"]).ty, ColumnType::Decimal);
        assert_eq!(decide(&["₩1,000", "2,000원", "300"]).ty, ColumnType::Currency);
        assert_eq!(decide(&["10%", "12.5%"]).ty, ColumnType::Percent);
        assert_eq!(decide(&["Y", "N", "예"]).ty, ColumnType::Boolean);
        assert_eq!(decide(&["2024-03-05", "2024.3.6"]).ty, ColumnType::Date);
        assert_eq!(decide(&["2024-03-05", "2024-03-06 10:00"]).ty, ColumnType::DateTime);
        assert_eq!(decide(&["서울", "부산"]).ty, ColumnType::Text);
        assert_eq!(decide(&[]).ty, ColumnType::Text);
        // one stray in forty: still numbers, the stray named
        let mut values: Vec<String> = (1..=39).map(|n| n.to_string()).collect();
        values.push("n/a".into());
        let refs: Vec<&str> = values.iter().map(String::as_str).collect();
        let d = decide(&refs);
        assert_eq!((d.ty, d.strays), (ColumnType::Integer, 1));
        assert_eq!(d.comment().as_deref(), Some("1 value that is not a number left NULL ('n/a')"));
        assert_eq!(convert("n/a", ColumnType::Integer, NumberStyle::default()), Cell::Null);
        // half text: text, nothing lost
        assert_eq!(decide(&["1", "two", "3", "four"]).ty, ColumnType::Text);
        assert_eq!(convert(" two ", ColumnType::Text, NumberStyle::default()), Cell::Text("two".into()));
        assert_eq!(convert("₩1,000", ColumnType::Currency, NumberStyle::default()), Cell::Real(1000.0));
        assert_eq!(convert("예", ColumnType::Boolean, NumberStyle::default()), Cell::Int(1));
        assert_eq!(convert("2024.3.5", ColumnType::Date, NumberStyle::default()), Cell::Text("2024-03-05".into()));
    }

    #[test]
    fn the_header_is_found_below_titles_and_notes() {
        let sheet = rows(&[
            &["2024년 지점별 매출", "", "", ""],
            &["단위: 원", "", "", ""],
            &["", "", "", ""],
            &["지점", "매출", "주문 수", "날짜"],
            &["강남", "1,000", "3", "2024-03-05"],
            &["합계", "1,000", "3", ""],
        ]);
        assert_eq!(header_row(&sheet, NumberStyle::default()), Some(3));
        assert!(is_total_row(&sheet[5]));
        assert!(is_total_row(&["합 계".to_string()]));
        assert!(!is_total_row(&sheet[4]));
        let numbers = rows(&[&["1", "2"], &["3", "4"]]);
        assert_eq!(header_row(&numbers, NumberStyle::default()), None);
        let merged_title = rows(&[&["보고서", "보고서", "보고서"], &["a", "b", "c"], &["1", "2", "3"]]);
        assert_eq!(header_row(&merged_title, NumberStyle::default()), Some(1));
        let one_column = rows(&[&["city"], &["Seoul"]]);
        assert_eq!(header_row(&one_column, NumberStyle::default()), Some(0));
    }

    #[test]
    fn names_are_kept_cleaned_and_made_unique() {
        let header: Vec<String> =
            ["  지점 ", "", "Sales\nAmount", "sales amount", "지점"].iter().map(|s| s.to_string()).collect();
        assert_eq!(
            column_names(Some(&header), 6),
            ["지점", "column_2", "Sales Amount", "sales amount_2", "지점_2", "column_6"]
        );
        assert_eq!(column_names(None, 2), ["column_1", "column_2"]);
    }
}
