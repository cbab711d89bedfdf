//! The SQLite database a spreadsheet is loaded into: one table per file or sheet, created with its columns' types and
//! comments (`-- …` in the CREATE TABLE text, which the SQLite connector reads back as the schema's comments), rows
//! inserted in one transaction with journaling off (the file is a scratch copy until it is renamed into place).

use std::path::Path;

use datagenie_core::sheet::{Cell, ColumnType};
use datagenie_core::{Error, ErrorCode};
use rusqlite::types::Value as SqlValue;

pub struct Sink {
    conn: rusqlite::Connection,
}

/// A column as stored.
pub struct ColumnDef {
    pub name: String,
    pub ty: ColumnType,
    pub comment: Option<String>,
}

fn failed(what: &str, e: rusqlite::Error) -> Error {
    Error::new(ErrorCode::OutputFailed, format!("cannot write the loaded spreadsheet ({what}): {e}"))
}

/// `"name"`, quotes doubled.
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A comment on one line (a `--` comment ends at the line's end).
fn one_line(text: &str) -> String {
    datagenie_core::schema_text::one_line(text, 500)
}

impl Sink {
    pub fn create(path: &Path) -> Result<Sink, Error> {
        let _ = std::fs::remove_file(path);
        let conn = rusqlite::Connection::open(path).map_err(|e| failed("open", e))?;
        conn.execute_batch("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; BEGIN;")
            .map_err(|e| failed("begin", e))?;
        Ok(Sink { conn })
    }

    /// Creates the table `name` and returns a writer of its rows.
    pub fn table(&mut self, name: &str, comment: &str, columns: &[ColumnDef]) -> Result<TableWriter<'_>, Error> {
        let mut ddl = format!("CREATE TABLE {} ( -- {}\n", ident(name), one_line(comment));
        for (i, c) in columns.iter().enumerate() {
            ddl.push_str(&format!("    {} {}", ident(&c.name), c.ty.sql_type()));
            if i + 1 < columns.len() {
                ddl.push(',');
            }
            if let Some(comment) = c.comment.as_deref().map(one_line).filter(|c| !c.is_empty()) {
                ddl.push_str(&format!(" -- {comment}"));
            }
            ddl.push('\n');
        }
        ddl.push(')');
        self.conn.execute_batch(&ddl).map_err(|e| failed("create table", e))?;
        let placeholders = vec!["?"; columns.len()].join(", ");
        let sql = format!("INSERT INTO {} VALUES ({placeholders})", ident(name));
        let insert = self.conn.prepare(&sql).map_err(|e| failed("prepare", e))?;
        Ok(TableWriter { insert, width: columns.len(), values: Vec::with_capacity(columns.len()) })
    }

    pub fn finish(self) -> Result<(), Error> {
        self.conn.execute_batch("COMMIT").map_err(|e| failed("commit", e))?;
        self.conn.close().map_err(|(_, e)| failed("close", e))
    }
}

pub struct TableWriter<'a> {
    insert: rusqlite::Statement<'a>,
    width: usize,
    values: Vec<SqlValue>,
}

impl TableWriter<'_> {
    /// One row; missing cells are NULL.
    pub fn row(&mut self, cells: impl Iterator<Item = Cell>) -> Result<(), Error> {
        self.values.clear();
        for cell in cells.take(self.width) {
            self.values.push(match cell {
                Cell::Null => SqlValue::Null,
                Cell::Int(n) => SqlValue::Integer(n),
                Cell::Real(x) => SqlValue::Real(x),
                Cell::Text(t) => SqlValue::Text(t),
            });
        }
        while self.values.len() < self.width {
            self.values.push(SqlValue::Null);
        }
        self.insert.execute(rusqlite::params_from_iter(self.values.iter())).map_err(|e| failed("insert", e))?;
        Ok(())
    }
}
