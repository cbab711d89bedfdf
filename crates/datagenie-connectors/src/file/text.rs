//! CSV and TSV files: the encoding (a BOM, valid UTF-8, else a guess — CP949/EUC-KR for Korean exports), the
//! delimiter (sniffed among comma, tab, semicolon and pipe), the number style (decimal comma with `;` files that
//! write `1.234,5`), then two streamed passes: the first finds the header and decides each column's type from all its
//! values, the second stores the rows.

use std::io::Read;
use std::path::Path;

use datagenie_core::sheet::NumberStyle;
use datagenie_core::{Error, ErrorCode};
use encoding_rs::Encoding;

use super::sink::Sink;
use super::{Kind, MAX_LINE_BYTES, binary_kind, file_label, open_error};

/// Bytes read to decide the encoding and the delimiter.
const SNIFF_BYTES: usize = 64 * 1024;
/// Lines of the sample that vote on the delimiter.
const SNIFF_LINES: usize = 50;

pub(super) fn load(path: &Path, kind: Kind, table: &str, sink: &mut Sink) -> Result<(), Error> {
    let label = file_label(path);
    let head = read_head(path)?;
    if head.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(Error::new(ErrorCode::EmptyFile, format!("{label} is empty")));
    }
    if let Some(what) = binary_kind(&head) {
        return Err(Error::new(ErrorCode::InvalidFile, format!("{label} is {what}, not a CSV file")));
    }
    let encoding = detect_encoding(&head);
    if !is_utf16(encoding) && head.contains(&0) {
        return Err(Error::new(ErrorCode::InvalidFile, format!("{label} holds binary data, not text")));
    }
    let (sample, _, _) = encoding.decode(&head);
    let delimiter = if kind == Kind::Tsv { b'\t' } else { sniff_delimiter(&sample) };
    let style = NumberStyle { decimal_comma: delimiter == b';' && writes_decimal_comma(&sample) };

    let how = describe_text(encoding, delimiter, style);
    super::rows::store(&label, table, &how, style, sink, || Records::open(path, encoding, delimiter))
}

/// How the text was read, for the table's comment.
fn describe_text(encoding: &'static Encoding, delimiter: u8, style: NumberStyle) -> String {
    let sep = match delimiter {
        b'\t' => "tab".to_string(),
        d => format!("'{}'", d as char),
    };
    let name = if encoding == encoding_rs::EUC_KR { "CP949 (EUC-KR)" } else { encoding.name() };
    let mut how = format!("{name} text, {sep}-separated");
    if style.decimal_comma {
        how.push_str(", decimal comma");
    }
    how
}

fn read_head(path: &Path) -> Result<Vec<u8>, Error> {
    let f = std::fs::File::open(path).map_err(|e| open_error(path, e))?;
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    f.take(SNIFF_BYTES as u64).read_to_end(&mut head).map_err(|e| open_error(path, e))?;
    Ok(head)
}

fn is_utf16(e: &'static Encoding) -> bool {
    e == encoding_rs::UTF_16LE || e == encoding_rs::UTF_16BE
}

/// A BOM decides; else valid UTF-8 (a character cut at the sample's end allowed); else the detector's guess, which
/// for Korean text is EUC-KR as browsers mean it (CP949, a superset).
fn detect_encoding(head: &[u8]) -> &'static Encoding {
    if let Some((e, _)) = Encoding::for_bom(head) {
        return e;
    }
    match std::str::from_utf8(head) {
        Ok(_) => return encoding_rs::UTF_8,
        Err(e) if e.error_len().is_none() => return encoding_rs::UTF_8,
        Err(_) => {}
    }
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    detector.feed(head, false);
    detector.guess(None, chardetng::Utf8Detection::Deny)
}

/// The delimiter whose count per line is the same on the most lines (quoted text ignored); a comma when none is
/// found (a one-column file).
fn sniff_delimiter(sample: &str) -> u8 {
    let lines: Vec<&str> = sample.lines().filter(|l| !l.trim().is_empty()).take(SNIFF_LINES).collect();
    let mut best = (0usize, b',');
    for d in [b',', b'\t', b';', b'|'] {
        let counts: Vec<usize> = lines.iter().map(|l| count_outside_quotes(l, d)).collect();
        let mut freq: std::collections::BTreeMap<usize, usize> = std::collections::BTreeMap::new();
        for &c in counts.iter().filter(|c| **c > 0) {
            *freq.entry(c).or_default() += 1;
        }
        let agreeing = freq.values().copied().max().unwrap_or(0);
        if agreeing > best.0 {
            best = (agreeing, d);
        }
    }
    best.1
}

fn count_outside_quotes(line: &str, d: u8) -> usize {
    let mut quoted = false;
    let mut n = 0;
    for b in line.bytes() {
        if b == b'"' {
            quoted = !quoted;
        } else if b == d && !quoted {
            n += 1;
        }
    }
    n
}

/// A `;` file writing numbers as `1.234,5` or `12,5`.
fn writes_decimal_comma(sample: &str) -> bool {
    sample.lines().take(SNIFF_LINES * 4).flat_map(|l| l.split(';')).any(|field| {
        let f = field.trim().trim_matches('"').trim_start_matches('-');
        let Some((int, frac)) = f.rsplit_once(',') else { return false };
        !frac.is_empty()
            && frac.bytes().all(|b| b.is_ascii_digit())
            && !int.is_empty()
            && int.split('.').all(|g| !g.is_empty() && g.bytes().all(|b| b.is_ascii_digit()))
            && (frac.len() != 3 || int.contains('.'))
    })
}

/// The file's records, decoded to UTF-8 as they are read.
struct Records {
    reader: csv::Reader<Decoding<std::fs::File>>,
    record: csv::StringRecord,
    label: String,
}

impl Records {
    fn open(path: &Path, encoding: &'static Encoding, delimiter: u8) -> Result<Records, Error> {
        let f = std::fs::File::open(path).map_err(|e| open_error(path, e))?;
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .from_reader(Decoding::new(f, encoding));
        Ok(Records { reader, record: csv::StringRecord::new(), label: file_label(path) })
    }

    fn error(&self, e: csv::Error) -> Error {
        let label = &self.label;
        if let csv::ErrorKind::Io(io) = e.kind()
            && io.get_ref().is_some_and(|inner| inner.is::<LineTooLong>())
        {
            return Error::new(
                ErrorCode::FileTooLarge,
                format!("{label} has a line longer than {} MiB: it is not a table", MAX_LINE_BYTES >> 20),
            );
        }
        Error::new(ErrorCode::InvalidFile, format!("{label} cannot be read as CSV: {e}"))
    }
}

impl super::rows::Rows for Records {
    fn next_row(&mut self) -> Result<Option<Vec<String>>, Error> {
        match self.reader.read_record(&mut self.record) {
            Ok(true) => Ok(Some(self.record.iter().map(str::to_string).collect())),
            Ok(false) => Ok(None),
            Err(e) => Err(self.error(e)),
        }
    }
}

#[derive(Debug)]
struct LineTooLong;

impl std::fmt::Display for LineTooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a line longer than {MAX_LINE_BYTES} bytes")
    }
}

impl std::error::Error for LineTooLong {}

/// A reader of UTF-8 from bytes in `encoding` (a BOM is removed), refusing lines longer than [`MAX_LINE_BYTES`].
struct Decoding<R> {
    inner: R,
    decoder: encoding_rs::Decoder,
    raw: Vec<u8>,
    out: Vec<u8>,
    pos: usize,
    done: bool,
    since_newline: usize,
}

impl<R: Read> Decoding<R> {
    fn new(inner: R, encoding: &'static Encoding) -> Decoding<R> {
        Decoding {
            inner,
            decoder: encoding.new_decoder_with_bom_removal(),
            raw: vec![0; 64 * 1024],
            out: Vec::new(),
            pos: 0,
            done: false,
            since_newline: 0,
        }
    }

    fn refill(&mut self) -> std::io::Result<()> {
        let n = self.inner.read(&mut self.raw)?;
        let last = n == 0;
        let room = self.decoder.max_utf8_buffer_length(n).unwrap_or(n * 3 + 16).max(16);
        self.out.clear();
        self.out.resize(room, 0);
        let (_, _, written, _) = self.decoder.decode_to_utf8(&self.raw[..n], &mut self.out, last);
        self.out.truncate(written);
        self.pos = 0;
        self.done = last;
        Ok(())
    }
}

impl<R: Read> Read for Decoding<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.pos >= self.out.len() {
            if self.done {
                return Ok(0);
            }
            self.refill()?;
        }
        let n = buf.len().min(self.out.len() - self.pos);
        let chunk = &self.out[self.pos..self.pos + n];
        match chunk.iter().rposition(|b| *b == b'\n') {
            Some(i) => self.since_newline = n - i - 1,
            None => self.since_newline += n,
        }
        if self.since_newline > MAX_LINE_BYTES {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, LineTooLong));
        }
        buf[..n].copy_from_slice(chunk);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiters_are_sniffed() {
        assert_eq!(sniff_delimiter("a,b,c\n1,2,3\n"), b',');
        assert_eq!(sniff_delimiter("a\tb\tc\n1\t2\t3\n"), b'\t');
        assert_eq!(sniff_delimiter("a;b;c\n1,5;2,5;3\n4;5;6\n"), b';');
        assert_eq!(sniff_delimiter("a|b\n1|2\n"), b'|');
        assert_eq!(sniff_delimiter("\"x, y\";z\n\"1, 2\";3\n"), b';');
        assert_eq!(sniff_delimiter("only\none\n"), b',');
        assert!(writes_decimal_comma("a;b\n1.234,5;2\n"));
        assert!(writes_decimal_comma("a;b\n12,5;2\n"));
        assert!(!writes_decimal_comma("a;b\n1,234;2\n"));
    }

    #[test]
    fn encodings_are_detected() {
        let (cp949, _, _) = encoding_rs::EUC_KR.encode("지점,매출\n강남,1000\n서초,2000\n");
        assert_eq!(detect_encoding(&cp949), encoding_rs::EUC_KR);
        assert_eq!(detect_encoding("지점,매출\n".as_bytes()), encoding_rs::UTF_8);
        assert_eq!(detect_encoding(b"\xef\xbb\xbfa,b\n"), encoding_rs::UTF_8);
        assert_eq!(detect_encoding(b"\xff\xfea\0,\0b\0"), encoding_rs::UTF_16LE);
        // a multi-byte character cut by the sample's end is still UTF-8
        let cut = &"가나다".as_bytes()[..4];
        assert_eq!(detect_encoding(cut), encoding_rs::UTF_8);
    }

    #[test]
    fn long_lines_are_refused_while_streaming() {
        let long = vec![b'x'; MAX_LINE_BYTES + 10];
        let mut reader = Decoding::new(std::io::Cursor::new(long), encoding_rs::UTF_8);
        let mut sink = Vec::new();
        let e = reader.read_to_end(&mut sink).expect_err("too long");
        assert!(e.get_ref().is_some_and(|i| i.is::<LineTooLong>()));
        assert!(sink.len() <= MAX_LINE_BYTES + 64 * 1024 * 3);
        let mut ok = Decoding::new(std::io::Cursor::new(b"\xef\xbb\xbfa,b\nc,d\n".to_vec()), encoding_rs::UTF_8);
        let mut text = String::new();
        ok.read_to_string(&mut text).expect("read");
        assert_eq!(text, "a,b\nc,d\n");
    }
}
