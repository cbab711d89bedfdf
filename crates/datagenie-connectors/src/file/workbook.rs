//! Workbooks (xlsx, xlsm, xlsb, xls, ods) read with calamine: each non-empty visible sheet is a table named after the
//! sheet. Formulas give their cached values; dates become ISO text (the workbook's 1900 or 1904 system applied);
//! merged cells are filled with their top-left value (a merged header names every column it spans); then the same
//! judgement as for CSV (header, types, totals). Before calamine opens a zip-based workbook, its directory is read
//! to bound what it decompresses to, so a zip bomb posing as `.xlsx` is refused without being inflated.

use std::path::Path;

use calamine::{Data, Reader, SheetType, SheetVisible, open_workbook_auto};
use datagenie_core::sheet::{NumberStyle, clean_name, unique_name};
use datagenie_core::{Error, ErrorCode};

use super::rows::{InMemory, blank};
use super::sink::Sink;
use super::{file_label, open_error};

/// The most a workbook may decompress to, in all.
pub const MAX_UNZIPPED_BYTES: u64 = 1 << 30;
/// A part that inflates more than this many times its compressed size (and is over 1 MiB) is a bomb, not a sheet.
const MAX_RATIO: u64 = 200;

pub(super) fn load(path: &Path, sink: &mut Sink, taken: &mut Vec<String>, hidden: bool) -> Result<(), Error> {
    let label = file_label(path);
    let head = head(path)?;
    if head.is_empty() {
        return Err(Error::new(ErrorCode::EmptyFile, format!("{label} is empty")));
    }
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    let zipped = ext != "xls";
    if head.starts_with(b"\xd0\xcf\x11\xe0") && zipped {
        // An OLE2 container where a zip was due: how Office stores a password-protected workbook.
        return Err(Error::new(
            ErrorCode::EncryptedFile,
            format!("{label} is password-protected (encrypted); save it without a password and try again"),
        ));
    }
    if zipped {
        if !head.starts_with(b"PK\x03\x04") {
            return Err(Error::new(
                ErrorCode::InvalidFile,
                format!("{label} is not a {ext} workbook (not a zip file)"),
            ));
        }
        check_zip(path, &label)?;
    } else if !head.starts_with(b"\xd0\xcf\x11\xe0") {
        return Err(Error::new(ErrorCode::InvalidFile, format!("{label} is not an xls workbook")));
    }
    let mut book = open_workbook_auto(path).map_err(|e| book_error(&label, &e))?;
    let sheets: Vec<calamine::Sheet> = book.sheets_metadata().to_vec();
    let mut tables = 0;
    for sheet in sheets {
        if sheet.typ != SheetType::WorkSheet || (!hidden && sheet.visible != SheetVisible::Visible) {
            continue;
        }
        let range = book.worksheet_range(&sheet.name).map_err(|e| book_error(&label, &e))?;
        let mut rows = grid(&range);
        if let Some(merged) = merged_cells(&mut book, &sheet.name) {
            fill_merged(&mut rows, &merged, range.start().unwrap_or((0, 0)));
        }
        if rows.iter().all(|r| blank(r)) {
            continue;
        }
        let base = clean_name(&sheet.name);
        let name = unique_name(if base.is_empty() { "sheet" } else { &base }, taken);
        let sheet_label = format!("{label} › {}", sheet.name);
        let how = format!("{ext} worksheet");
        super::rows::store(&sheet_label, &name, &how, NumberStyle::default(), sink, || {
            Ok(InMemory { rows: &rows, next: 0 })
        })?;
        tables += 1;
    }
    if tables == 0 {
        return Err(Error::new(ErrorCode::EmptyFile, format!("{label} has no sheet with data")));
    }
    Ok(())
}

fn head(path: &Path) -> Result<Vec<u8>, Error> {
    use std::io::Read;
    let f = std::fs::File::open(path).map_err(|e| open_error(path, e))?;
    let mut head = Vec::with_capacity(8);
    f.take(8).read_to_end(&mut head).map_err(|e| open_error(path, e))?;
    Ok(head)
}

/// The zip's directory: what every part says it decompresses to, in all and against its compressed size — then
/// each part inflated (into nothing) to check it holds no more than it says, so a zip that lies about its sizes is
/// refused too. The work is bounded by the declared sizes, which passed the limits.
fn check_zip(path: &Path, label: &str) -> Result<(), Error> {
    let unreadable = |e: &dyn std::fmt::Display| {
        Error::new(ErrorCode::InvalidFile, format!("{label} is not a readable workbook: {e}"))
    };
    let f = std::fs::File::open(path).map_err(|e| open_error(path, e))?;
    let mut archive = zip::ZipArchive::new(std::io::BufReader::new(f)).map_err(|e| unreadable(&e))?;
    let mut total = 0u64;
    let mut declared = Vec::with_capacity(archive.len());
    for i in 0..archive.len() {
        let part = archive.by_index_raw(i).map_err(|e| unreadable(&e))?;
        let (size, packed) = (part.size(), part.compressed_size().max(1));
        total = total.saturating_add(size);
        if total > MAX_UNZIPPED_BYTES || (size > 1 << 20 && size / packed > MAX_RATIO) {
            return Err(Error::new(
                ErrorCode::FileTooLarge,
                format!("{label} decompresses to more than a workbook holds ({size} bytes from {packed}): refused"),
            ));
        }
        declared.push(size);
    }
    for (i, size) in declared.into_iter().enumerate() {
        let part = archive.by_index(i).map_err(|e| unreadable(&e))?;
        let inflated = std::io::copy(&mut std::io::Read::take(part, size + 1), &mut std::io::sink())
            .map_err(|e| unreadable(&e))?;
        if inflated > size {
            return Err(Error::new(
                ErrorCode::FileTooLarge,
                format!("{label} holds a part that inflates past its declared size: refused"),
            ));
        }
    }
    Ok(())
}

fn book_error(label: &str, e: &calamine::Error) -> Error {
    let text = e.to_string();
    if text.to_ascii_lowercase().contains("password") {
        return Error::new(ErrorCode::EncryptedFile, format!("{label} is password-protected; save it without one"));
    }
    Error::new(ErrorCode::InvalidFile, format!("{label} is not a readable workbook: {text}"))
}

/// The sheet's cells as text the judgement reads: numbers in full precision, dates as ISO text, errors empty.
fn grid(range: &calamine::Range<Data>) -> Vec<Vec<String>> {
    range
        .rows()
        .map(|row| {
            let mut cells: Vec<String> = row.iter().map(text).collect();
            while cells.last().is_some_and(|c| c.is_empty()) {
                cells.pop();
            }
            cells
        })
        .collect()
}

fn text(cell: &Data) -> String {
    match cell {
        Data::Empty | Data::Error(_) => String::new(),
        Data::String(s) => s.clone(),
        Data::Int(n) => n.to_string(),
        Data::Float(x) if x.fract() == 0.0 && x.abs() < 9.0e15 => format!("{}", *x as i64),
        Data::Float(x) => format!("{x}"),
        Data::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        Data::DateTime(d) => match d.as_datetime() {
            Some(dt) => {
                use chrono::{Datelike, Timelike};
                let date = format!("{:04}-{:02}-{:02}", dt.year(), dt.month(), dt.day());
                if (dt.hour(), dt.minute(), dt.second()) == (0, 0, 0) {
                    date
                } else {
                    format!("{date} {:02}:{:02}:{:02}", dt.hour(), dt.minute(), dt.second())
                }
            }
            None => String::new(),
        },
        Data::DateTimeIso(s) => s.replace('T', " "),
        Data::DurationIso(s) => s.clone(),
    }
}

fn merged_cells<R: std::io::Read + std::io::Seek>(
    book: &mut calamine::Sheets<R>,
    sheet: &str,
) -> Option<Vec<calamine::Dimensions>> {
    match book {
        calamine::Sheets::Xlsx(x) => x.merge_cells_by_sheet_name(sheet).ok(),
        calamine::Sheets::Xls(x) => x.merge_cells_by_sheet_name(sheet).ok(),
        _ => None,
    }
}

/// Every cell of a merged region gets the region's top-left value (`origin`: the range's first cell).
/// Regions are clipped to the sheet's used cells: a region merged over a whole sheet grows nothing.
fn fill_merged(rows: &mut [Vec<String>], merged: &[calamine::Dimensions], origin: (u32, u32)) {
    let width = rows.iter().map(Vec::len).max().unwrap_or(0);
    if width == 0 {
        return;
    }
    for m in merged {
        let (r0, c0) = (m.start.0.saturating_sub(origin.0) as usize, m.start.1.saturating_sub(origin.1) as usize);
        let (r1, c1) = (m.end.0.saturating_sub(origin.0) as usize, m.end.1.saturating_sub(origin.1) as usize);
        let c1 = c1.min(width - 1);
        if c0 > c1 {
            continue;
        }
        let Some(value) = rows.get(r0).and_then(|r| r.get(c0)).cloned() else { continue };
        for row in rows.iter_mut().take(r1 + 1).skip(r0) {
            if row.len() <= c1 {
                row.resize(c1 + 1, String::new());
            }
            for cell in row.iter_mut().take(c1 + 1).skip(c0) {
                if cell.is_empty() {
                    cell.clone_from(&value);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(rows: &[&[&str]]) -> Vec<Vec<String>> {
        rows.iter().map(|r| r.iter().map(|c| c.to_string()).collect()).collect()
    }

    #[test]
    fn merged_cells_are_filled_within_the_used_cells() {
        let mut rows = grid(&[&["금액", "", "비고"], &["1", "2", "x"], &["3"]]);
        let header = calamine::Dimensions { start: (0, 0), end: (0, 1) };
        fill_merged(&mut rows, &[header], (0, 0));
        assert_eq!(rows[0], ["금액", "금액", "비고"]);
        // A region over the whole sheet grows no row past the used width.
        let mut rows = grid(&[&["a", ""], &["", ""]]);
        let everything = calamine::Dimensions { start: (0, 0), end: (1_048_575, 16_383) };
        fill_merged(&mut rows, &[everything], (0, 0));
        assert_eq!(rows, grid(&[&["a", "a"], &["a", "a"]]));
        // Offsets: the range starts at B2.
        let mut rows = grid(&[&["x", ""]]);
        fill_merged(&mut rows, &[calamine::Dimensions { start: (1, 1), end: (1, 2) }], (1, 1));
        assert_eq!(rows[0], ["x", "x"]);
    }
}
