//! Spreadsheet files as databases: `--db sales.csv`, `--db report.xlsx` (also `.tsv`, `.xls`, `.xlsb`, `.ods`), or
//! `--db ./folder/` (every such file in it).
//! Each file is loaded once into a SQLite database in the cache directory, named by the SHA-256 of its content (and
//! of this loader's rules), and then opened like any SQLite file — read-only, with the same guard, authorizer and
//! limits. A second question on an unchanged file opens the cached database without reading the file again.
//!
//! Reading is streamed: the text is decoded and parsed row by row, twice (once to decide the columns' types, once to
//! store the rows), so memory stays bounded whatever the file's size; rows go to a temporary file that is renamed
//! into place when complete, so a failed load leaves nothing behind. The judgement — header, types, names — is
//! `datagenie_core::sheet`'s.

mod rows;
mod sink;
mod text;
mod workbook;

use std::io::Read;
use std::path::{Path, PathBuf};

use datagenie_core::{Error, ErrorCode};
use sha2::{Digest, Sha256};

/// Bumped when the loading rules change, so cached databases built by older rules are not reused.
const LOADER_VERSION: &str = "sheet-1";

/// The largest file loaded (the server's upload limit is lower: its `max_file_size_mb` setting).
pub const MAX_FILE_BYTES: u64 = 4 << 30;
/// The longest line of a text file: a longer one is not a table (or is an attack on memory).
pub const MAX_LINE_BYTES: usize = 4 << 20;

/// The kinds of file read as tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Comma-, semicolon- or pipe-separated text (the delimiter is sniffed).
    Csv,
    /// Tab-separated text.
    Tsv,
    /// An Excel or OpenDocument workbook: each non-empty visible sheet a table.
    Workbook,
}

/// The kind of `path` by its extension (case-insensitive).
pub fn kind_of(path: &Path) -> Option<Kind> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "csv" => Some(Kind::Csv),
        "tsv" | "tab" => Some(Kind::Tsv),
        "xlsx" | "xlsm" | "xlsb" | "xls" | "ods" => Some(Kind::Workbook),
        _ => None,
    }
}

/// True when `path` names a spreadsheet file by its extension, or an existing folder (whose spreadsheets are the
/// tables). A `.txt` file is not taken for one: it is more often a mistyped database path than a table.
pub fn is_file_target(path: &Path) -> bool {
    path.is_dir() || kind_of(path).is_some()
}

/// The files a target means: the file itself, or the spreadsheets in a folder (sorted by name; not recursive).
pub fn files_of(path: &Path) -> Result<Vec<PathBuf>, Error> {
    if !path.exists() {
        return Err(Error::new(ErrorCode::DatabaseNotFound, format!("the file {} does not exist", path.display())));
    }
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let entries = std::fs::read_dir(path).map_err(|e| {
        Error::new(ErrorCode::DatabaseNotFound, format!("cannot read the folder {}: {e}", path.display()))
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && kind_of(p).is_some())
        .filter(|p| !p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.') || n.starts_with("~$")))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(Error::new(
            ErrorCode::EmptyFile,
            format!("the folder {} holds no spreadsheet (.csv, .tsv, .xlsx, .xls, .xlsb, .ods)", path.display()),
        ));
    }
    Ok(files)
}

/// How files are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LoadOptions {
    /// Read a workbook's hidden sheets too (skipped by default).
    pub include_hidden_sheets: bool,
}

/// The SQLite database holding the tables of `path` (a file or a folder), loading it into `cache_dir` unless an
/// identical content was loaded before, with the default options.
pub fn load(path: &Path, cache_dir: &Path) -> Result<PathBuf, Error> {
    load_with(path, cache_dir, LoadOptions::default())
}

/// [`load`] with `options` (part of the cache key).
pub fn load_with(path: &Path, cache_dir: &Path, options: LoadOptions) -> Result<PathBuf, Error> {
    let files = files_of(path)?;
    let mut digest = Sha256::new();
    digest.update(LOADER_VERSION.as_bytes());
    digest.update(if options.include_hidden_sheets { "hidden" } else { "visible" }.as_bytes());
    for file in &files {
        digest.update(file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default().as_bytes());
        digest.update(hash_file(file)?);
    }
    let key = datagenie_core::schema::hex(&digest.finalize()[..16]);
    let dir = cache_dir.join("sheets");
    std::fs::create_dir_all(&dir).map_err(|e| {
        Error::new(ErrorCode::OutputFailed, format!("cannot create the cache directory {}: {e}", dir.display()))
    })?;
    let target = dir.join(format!("{key}.sqlite"));
    if target.is_file() {
        return Ok(target);
    }
    let partial = dir.join(format!("{key}.{}.partial", std::process::id()));
    let built = build(&files, &partial, options);
    match built {
        Ok(()) => {
            std::fs::rename(&partial, &target).map_err(|e| {
                let _ = std::fs::remove_file(&partial);
                Error::new(ErrorCode::OutputFailed, format!("cannot store the loaded file in {}: {e}", dir.display()))
            })?;
            Ok(target)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            Err(e)
        }
    }
}

fn build(files: &[PathBuf], out: &Path, options: LoadOptions) -> Result<(), Error> {
    let mut sink = sink::Sink::create(out)?;
    let mut taken = Vec::new();
    for file in files {
        let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        match kind_of(file).unwrap_or(Kind::Csv) {
            Kind::Workbook => workbook::load(file, &mut sink, &mut taken, options.include_hidden_sheets)?,
            kind => {
                let base = datagenie_core::sheet::clean_name(&stem);
                let name =
                    datagenie_core::sheet::unique_name(if base.is_empty() { "sheet" } else { &base }, &mut taken);
                text::load(file, kind, &name, &mut sink)?;
            }
        }
    }
    sink.finish()
}

fn file_label(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| path.display().to_string())
}

/// SHA-256 of the file's bytes, streamed.
fn hash_file(path: &Path) -> Result<[u8; 32], Error> {
    let mut f = std::fs::File::open(path).map_err(|e| open_error(path, e))?;
    let size = f.metadata().map(|m| m.len()).unwrap_or(0);
    if size > MAX_FILE_BYTES {
        return Err(Error::new(
            ErrorCode::FileTooLarge,
            format!("{} is {size} bytes; the largest file read is {MAX_FILE_BYTES} bytes", file_label(path)),
        ));
    }
    let mut digest = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(|e| open_error(path, e))?;
        if n == 0 {
            break;
        }
        digest.update(&buf[..n]);
    }
    Ok(digest.finalize().into())
}

fn open_error(path: &Path, e: std::io::Error) -> Error {
    match e.kind() {
        std::io::ErrorKind::NotFound => {
            Error::new(ErrorCode::DatabaseNotFound, format!("the file {} does not exist", path.display()))
        }
        _ => Error::new(ErrorCode::InvalidFile, format!("cannot read {}: {e}", path.display())),
    }
}

/// What the first bytes say a text file really is, when it is not text: an executable or an archive posing as CSV.
fn binary_kind(head: &[u8]) -> Option<&'static str> {
    const MAGICS: &[(&[u8], &str)] = &[
        (b"MZ", "a Windows executable"),
        (b"\x7fELF", "an ELF executable"),
        (b"\xcf\xfa\xed\xfe", "a Mach-O executable"),
        (b"\xca\xfe\xba\xbe", "a Mach-O or Java binary"),
        (b"PK\x03\x04", "a zip archive (an .xlsx workbook is one: give it its .xlsx name)"),
        (b"\xd0\xcf\x11\xe0", "an OLE2 document (an old .xls workbook)"),
        (b"%PDF", "a PDF document"),
        (b"\x89PNG", "a PNG image"),
        (b"\xff\xd8\xff", "a JPEG image"),
        (b"SQLite format 3\0", "a SQLite database (give it as a database, not a spreadsheet)"),
    ];
    MAGICS.iter().find(|(magic, _)| head.starts_with(magic)).map(|(_, what)| *what)
}
