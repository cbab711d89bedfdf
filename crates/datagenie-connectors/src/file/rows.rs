//! One table from rows of cell text, whatever file they come from: pass 1 finds the header (title and note rows
//! above it left out), the width and each column's type from all its values, and which rows at the end are totals;
//! pass 2 stores the data rows converted to those types.

use datagenie_core::sheet::{
    self, ColumnType, HEADER_SCAN_ROWS, NumberStyle, Tally, column_names, convert, header_row, is_total_row,
};
use datagenie_core::{Error, ErrorCode};

use super::sink::{ColumnDef, Sink};

/// The most columns a table gets (SQLite's default limit is 2,000; a wider "table" is not one people read).
pub const MAX_COLUMNS: usize = 1000;

/// A source of rows, read from the start each time it is opened.
pub trait Rows {
    fn next_row(&mut self) -> Result<Option<Vec<String>>, Error>;
}

/// Rows already in memory (a worksheet).
pub struct InMemory<'a> {
    pub rows: &'a [Vec<String>],
    pub next: usize,
}

impl Rows for InMemory<'_> {
    fn next_row(&mut self) -> Result<Option<Vec<String>>, Error> {
        let row = self.rows.get(self.next).cloned();
        self.next += 1;
        Ok(row)
    }
}

/// Stores the table `table` read from `open()`'s rows; `label` names the file (and sheet) in messages and `how`
/// says how it was read (for the table's comment).
pub fn store<R: Rows>(
    label: &str,
    table: &str,
    how: &str,
    style: NumberStyle,
    sink: &mut Sink,
    mut open: impl FnMut() -> Result<R, Error>,
) -> Result<(), Error> {
    // Pass 1: the header, the width, each column's type, the data rows (trailing totals left out).
    let mut rows = open()?;
    let mut first: Vec<Vec<String>> = Vec::new();
    while first.len() < HEADER_SCAN_ROWS {
        match rows.next_row()? {
            Some(row) => first.push(row),
            None => break,
        }
    }
    if first.iter().all(|r| blank(r)) {
        return Err(Error::new(ErrorCode::EmptyFile, format!("{label} has no rows")));
    }
    let header = header_row(&first, style);
    let start = header.map_or(0, |h| h + 1);
    let mut scan = Scan::default();
    for row in &first[start..] {
        scan.add(row, style);
    }
    while let Some(row) = rows.next_row()? {
        scan.add(&row, style);
    }
    let header_cells: Option<&[String]> = header.map(|h| first[h].as_slice());
    let header_width = header_cells.map_or(0, |h| h.iter().rposition(|c| !c.trim().is_empty()).map_or(0, |i| i + 1));
    let width = scan.width.max(header_width);
    if width == 0 {
        return Err(Error::new(ErrorCode::EmptyFile, format!("{label} has no columns")));
    }
    if width > MAX_COLUMNS {
        return Err(Error::new(
            ErrorCode::FileTooLarge,
            format!("{label} has {width} columns; a table has at most {MAX_COLUMNS}"),
        ));
    }
    let names = column_names(header_cells, width);
    let decisions: Vec<sheet::Decision> =
        (0..width).map(|i| scan.tallies.get(i).cloned().unwrap_or_default().decide()).collect();
    let columns: Vec<ColumnDef> =
        names.into_iter().zip(&decisions).map(|(name, d)| ColumnDef { name, ty: d.ty, comment: d.comment() }).collect();
    let types: Vec<ColumnType> = decisions.iter().map(|d| d.ty).collect();
    let comment = describe(label, how, header, scan.pending.len());

    // Pass 2: the rows.
    let mut writer = sink.table(table, &comment, &columns)?;
    let mut rows = open()?;
    for _ in 0..start {
        rows.next_row()?;
    }
    let mut stored = 0u64;
    while stored < scan.data_rows {
        let Some(row) = rows.next_row()? else { break };
        if blank(&row) {
            continue;
        }
        writer.row((0..width).map(|i| convert(row.get(i).map_or("", String::as_str), types[i], style)))?;
        stored += 1;
    }
    Ok(())
}

/// What the loader read, for the table's comment.
fn describe(label: &str, how: &str, header: Option<usize>, totals: usize) -> String {
    let mut parts = vec![how.to_string()];
    match header {
        Some(0) => parts.push("header on row 1".into()),
        Some(h) => {
            parts.push(format!("header on row {} ({h} row{} above it left out)", h + 1, if h == 1 { "" } else { "s" }))
        }
        None => parts.push("no header row".into()),
    }
    if totals > 0 {
        parts.push(format!("{totals} totals row{} at the end left out", if totals == 1 { "" } else { "s" }));
    }
    format!("from {label} ({})", parts.join("; "))
}

/// Pass 1's counts.
#[derive(Default)]
struct Scan {
    tallies: Vec<Tally>,
    width: usize,
    data_rows: u64,
    /// Totals rows not yet followed by data: data if more rows come, left out if they end the table.
    pending: Vec<Vec<String>>,
}

impl Scan {
    fn add(&mut self, row: &[String], style: NumberStyle) {
        if blank(row) {
            return;
        }
        if is_total_row(row) {
            self.pending.push(row.to_vec());
            return;
        }
        for held in std::mem::take(&mut self.pending) {
            self.count(&held, style);
        }
        self.count(row, style);
    }

    fn count(&mut self, row: &[String], style: NumberStyle) {
        let used = row.iter().rposition(|c| !c.trim().is_empty()).map_or(0, |i| i + 1);
        self.width = self.width.max(used);
        if self.tallies.len() < used {
            self.tallies.resize(used, Tally::default());
        }
        for (t, cell) in self.tallies.iter_mut().zip(row) {
            t.add(cell, style);
        }
        self.data_rows += 1;
    }
}

pub fn blank(row: &[String]) -> bool {
    row.iter().all(|c| c.trim().is_empty())
}
