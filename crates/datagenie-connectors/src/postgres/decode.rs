//! PostgreSQL values in their binary wire form → [`Value`].
//!
//! tokio-postgres asks for every result column in binary form. Each value is decoded here by its type, by hand, so
//! that nothing is lost on the way: NUMERIC from its base-10000 digits (never through a float), dates and times to
//! ISO 8601 text (a `timestamptz` with the session's UTC offset), INTERVAL to an ISO 8601 duration as PostgreSQL's
//! own `iso_8601` style writes it, arrays and composites to JSON, ranges, network addresses, bit strings and UUIDs to
//! their usual text. A type this module does not know (an extension's) becomes its text when its binary form is
//! text (enums, `citext`, domains over text), else `\x` and hex — never an error, never a panic: malformed input
//! falls back the same way.

use std::fmt::Write as _;

use datagenie_core::value::Value;
use tokio_postgres::types::{FromSql, Kind, Type};

/// Arrays nest at most this deep (PostgreSQL's own limit is 6); deeper input is shown as hex instead.
const MAX_DEPTH: usize = 8;

/// Microseconds and days from the Unix epoch to PostgreSQL's epoch, 2000-01-01.
const PG_EPOCH_DAYS: i64 = 10_957;
const MICROS_PER_DAY: i64 = 86_400_000_000;

/// A column value exactly as the server sent it; accepts every type, so no column is ever refused.
pub(crate) struct Raw<'a>(pub(crate) Option<&'a [u8]>);

impl<'a> FromSql<'a> for Raw<'a> {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(Some(raw)))
    }

    fn from_sql_null(_: &Type) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(None))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// Session facts decoding depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DecodeContext {
    /// Seconds east of UTC at which `timestamptz` values are shown (the session time zone's current offset).
    pub(crate) utc_offset_secs: i32,
}

/// Decodes one value of type `ty`. `None` is SQL NULL.
pub(crate) fn decode(ty: &Type, raw: Option<&[u8]>, ctx: &DecodeContext) -> Value {
    match raw {
        None => Value::Null,
        Some(bytes) => decode_at(ty, bytes, ctx, 0).unwrap_or_else(|| fallback(bytes)),
    }
}

/// `None` when the bytes are not a valid value of `ty`: the caller falls back to text or hex.
fn decode_at(ty: &Type, b: &[u8], ctx: &DecodeContext, depth: usize) -> Option<Value> {
    if depth > MAX_DEPTH {
        return None;
    }
    match ty.kind() {
        Kind::Enum(_) => return text(b),
        Kind::Domain(base) => return decode_at(base, b, ctx, depth + 1),
        Kind::Array(elem) => return array(elem, b, ctx, depth).map(Value::Json),
        Kind::Range(elem) => return range(elem, b, ctx, depth).map(Value::Text),
        Kind::Composite(fields) => {
            let types: Vec<(Option<&str>, Type)> = fields.iter().map(|f| (Some(f.name()), f.type_().clone())).collect();
            return composite(Some(&types), b, ctx, depth).map(Value::Json);
        }
        _ => {}
    }
    match *ty {
        Type::BOOL => one(b).map(|v| Value::Bool(v != 0)),
        Type::INT2 => Some(Value::Int(i64::from(i16::from_be_bytes(b.try_into().ok()?)))),
        Type::INT4 => Some(Value::Int(i64::from(i32::from_be_bytes(b.try_into().ok()?)))),
        Type::INT8 => Some(Value::Int(i64::from_be_bytes(b.try_into().ok()?))),
        Type::OID | Type::REGCLASS | Type::REGPROC | Type::REGTYPE | Type::XID | Type::CID => {
            Some(Value::Int(i64::from(u32::from_be_bytes(b.try_into().ok()?))))
        }
        Type::FLOAT4 => {
            // Through the shortest decimal form, so 1.1::float4 is 1.1 and not 1.100000023841858.
            let f = f32::from_be_bytes(b.try_into().ok()?);
            Some(Value::Float(if f.is_finite() { f.to_string().parse().ok()? } else { f64::from(f) }))
        }
        Type::FLOAT8 => Some(Value::Float(f64::from_be_bytes(b.try_into().ok()?))),
        Type::NUMERIC => numeric(b),
        Type::MONEY => {
            // Cents as an int8; two fraction digits, as in the usual `lc_monetary` locales.
            let cents = i64::from_be_bytes(b.try_into().ok()?);
            Some(Value::Decimal(scaled(i128::from(cents), 2)))
        }
        Type::TEXT
        | Type::VARCHAR
        | Type::BPCHAR
        | Type::NAME
        | Type::UNKNOWN
        | Type::XML
        | Type::CHAR
        | Type::REFCURSOR => text(b),
        Type::BYTEA => Some(Value::Blob(b.to_vec())),
        Type::JSON => json(b),
        Type::JSONB => match b.split_first() {
            Some((1, rest)) => json(rest),
            _ => None,
        },
        Type::UUID => uuid(b).map(Value::Text),
        Type::DATE => date(i32::from_be_bytes(b.try_into().ok()?)).map(Value::Text),
        Type::TIME => time_of_day(i64::from_be_bytes(b.try_into().ok()?)).map(Value::Text),
        Type::TIMETZ => {
            if b.len() != 12 {
                return None;
            }
            let micros = i64::from_be_bytes(b[..8].try_into().ok()?);
            // The wire holds seconds *west* of UTC.
            let west = i32::from_be_bytes(b[8..].try_into().ok()?);
            Some(Value::Text(format!("{}{}", time_of_day(micros)?, offset(west.checked_neg()?))))
        }
        Type::TIMESTAMP => timestamp(i64::from_be_bytes(b.try_into().ok()?), None).map(Value::Text),
        Type::TIMESTAMPTZ => {
            timestamp(i64::from_be_bytes(b.try_into().ok()?), Some(ctx.utc_offset_secs)).map(Value::Text)
        }
        Type::INTERVAL => interval(b).map(Value::Text),
        Type::BIT | Type::VARBIT => bits(b).map(Value::Text),
        Type::INET | Type::CIDR => inet(b).map(Value::Text),
        Type::MACADDR | Type::MACADDR8 if b.len() == 6 || b.len() == 8 => {
            Some(Value::Text(b.iter().map(|x| format!("{x:02x}")).collect::<Vec<_>>().join(":")))
        }
        Type::POINT if b.len() == 16 => {
            let x = f64::from_be_bytes(b[..8].try_into().ok()?);
            let y = f64::from_be_bytes(b[8..].try_into().ok()?);
            Some(Value::Text(format!("({x},{y})")))
        }
        Type::PG_LSN => {
            let lsn = u64::from_be_bytes(b.try_into().ok()?);
            Some(Value::Text(format!("{:X}/{:X}", lsn >> 32, lsn & 0xffff_ffff)))
        }
        Type::RECORD => composite(None, b, ctx, depth).map(Value::Json),
        _ if ty.name() == "hstore" => hstore(b).map(Value::Json),
        _ => None,
    }
}

/// Unknown or malformed: the bytes as text when they are readable UTF-8 (the binary form of enums, `citext` and
/// many extension types is their text), else `\x` and hex, as PostgreSQL prints bytes.
fn fallback(b: &[u8]) -> Value {
    match std::str::from_utf8(b) {
        Ok(s) if !s.chars().any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r')) => Value::Text(s.to_string()),
        _ => {
            let mut out = String::with_capacity(2 + 2 * b.len());
            out.push_str("\\x");
            for x in b {
                let _ = write!(out, "{x:02x}");
            }
            Value::Text(out)
        }
    }
}

fn one(b: &[u8]) -> Option<u8> {
    match b {
        [x] => Some(*x),
        _ => None,
    }
}

fn text(b: &[u8]) -> Option<Value> {
    std::str::from_utf8(b).ok().map(|s| Value::Text(s.to_string()))
}

fn json(b: &[u8]) -> Option<Value> {
    serde_json::from_slice(b).ok().map(Value::Json)
}

/// A big-endian reader that fails instead of panicking on short input.
struct Reader<'a> {
    b: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.b.len() < n {
            return None;
        }
        let (head, rest) = self.b.split_at(n);
        self.b = rest;
        Some(head)
    }

    fn i16(&mut self) -> Option<i16> {
        Some(i16::from_be_bytes(self.take(2)?.try_into().ok()?))
    }

    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_be_bytes(self.take(2)?.try_into().ok()?))
    }

    fn i32(&mut self) -> Option<i32> {
        Some(i32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }

    fn i64(&mut self) -> Option<i64> {
        Some(i64::from_be_bytes(self.take(8)?.try_into().ok()?))
    }

    /// A length-prefixed value: `Some(None)` for a NULL (length -1).
    fn value(&mut self) -> Option<Option<&'a [u8]>> {
        let len = self.i32()?;
        if len == -1 {
            return Some(None);
        }
        Some(Some(self.take(usize::try_from(len).ok()?)?))
    }

    fn done(&self) -> bool {
        self.b.is_empty()
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Numbers

/// NUMERIC: `ndigits`, `weight` (of the first base-10000 digit), sign, `dscale` (decimal digits after the point),
/// then the digits. Printed exactly with `dscale` fraction digits, as PostgreSQL prints it. NaN and ±Infinity
/// become text.
pub(crate) fn numeric(b: &[u8]) -> Option<Value> {
    let mut r = Reader { b };
    let ndigits = usize::try_from(r.i16()?).ok()?;
    let weight = i32::from(r.i16()?);
    let sign = r.u16()?;
    let dscale = usize::from(r.u16()?);
    let mut digits = Vec::with_capacity(ndigits);
    for _ in 0..ndigits {
        let d = r.i16()?;
        if !(0..10_000).contains(&d) {
            return None;
        }
        digits.push(d as u16);
    }
    if !r.done() || dscale > 0x3fff {
        return None;
    }
    let negative = match sign {
        0x0000 => false,
        0x4000 => true,
        0xC000 => return Some(Value::Text("NaN".into())),
        0xD000 => return Some(Value::Text("Infinity".into())),
        0xF000 => return Some(Value::Text("-Infinity".into())),
        _ => return None,
    };
    // Base-10000 digit k has weight `weight - k`; the integer part holds digits of weight >= 0.
    let digit = |w: i32| -> u16 {
        let k = weight - w;
        if k < 0 { 0 } else { usize::try_from(k).ok().and_then(|k| digits.get(k)).copied().unwrap_or(0) }
    };
    let mut out = String::new();
    if weight >= 0 {
        for w in (0..=weight).rev() {
            let d = digit(w);
            if out.is_empty() {
                if d != 0 || w == 0 {
                    let _ = write!(out, "{d}");
                }
            } else {
                let _ = write!(out, "{d:04}");
            }
        }
    } else {
        out.push('0');
    }
    if dscale > 0 {
        out.push('.');
        let mut frac = String::with_capacity(dscale + 4);
        let mut w = -1;
        while frac.len() < dscale {
            let _ = write!(frac, "{:04}", digit(w));
            w -= 1;
        }
        frac.truncate(dscale);
        out.push_str(&frac);
    }
    let is_zero = out.bytes().all(|c| c == b'0' || c == b'.');
    if negative && !is_zero {
        out.insert(0, '-');
    }
    Some(Value::Decimal(out))
}

/// `n / 10^scale` as exact decimal text.
fn scaled(n: i128, scale: usize) -> String {
    let digits = n.unsigned_abs().to_string();
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (int, frac) = padded.split_at(padded.len() - scale);
    let sign = if n < 0 { "-" } else { "" };
    if scale == 0 { format!("{sign}{int}") } else { format!("{sign}{int}.{frac}") }
}

// ---------------------------------------------------------------------------------------------------------------
// Dates and times

/// The civil date of a day count from 1970-01-01 (proleptic Gregorian; year 0 is 1 BC).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// ISO 8601 year: four digits for 0000–9999, else signed (`+10000`, `-0044` for 45 BC).
fn iso_year(y: i64) -> String {
    if (0..=9999).contains(&y) {
        format!("{y:04}")
    } else if y < 0 {
        format!("-{:04}", -y)
    } else {
        format!("+{y}")
    }
}

fn date_from_days(days_since_2000: i64) -> String {
    let (y, m, d) = civil_from_days(days_since_2000 + PG_EPOCH_DAYS);
    format!("{}-{m:02}-{d:02}", iso_year(y))
}

/// DATE: days since 2000-01-01; `infinity` and `-infinity` are the extreme values.
fn date(days: i32) -> Option<String> {
    Some(match days {
        i32::MAX => "infinity".into(),
        i32::MIN => "-infinity".into(),
        d => date_from_days(i64::from(d)),
    })
}

/// `HH:MM:SS` with the fraction's significant digits (`13:45:06.5`), as PostgreSQL prints it.
fn time_of_day(micros: i64) -> Option<String> {
    if !(0..=MICROS_PER_DAY).contains(&micros) {
        return None;
    }
    let secs = micros / 1_000_000;
    let mut out = format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
    push_fraction(&mut out, micros % 1_000_000);
    Some(out)
}

fn push_fraction(out: &mut String, micros: i64) {
    if micros != 0 {
        let frac = format!("{:06}", micros.unsigned_abs());
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
}

/// `+09:00`, `-03:30`, `+05:53:28` (historic offsets have seconds); UTC is `+00:00`.
fn offset(east_secs: i32) -> String {
    let sign = if east_secs < 0 { '-' } else { '+' };
    let s = east_secs.unsigned_abs();
    let mut out = format!("{sign}{:02}:{:02}", s / 3600, s / 60 % 60);
    if !s.is_multiple_of(60) {
        let _ = write!(out, ":{:02}", s % 60);
    }
    out
}

/// TIMESTAMP (`offset: None`) or TIMESTAMPTZ (an instant, shown at `offset` seconds east of UTC): microseconds since
/// 2000-01-01 00:00 (UTC for timestamptz). `2024-02-29T13:45:06.5+09:00`.
fn timestamp(micros: i64, offset_secs: Option<i32>) -> Option<String> {
    match micros {
        i64::MAX => return Some("infinity".into()),
        i64::MIN => return Some("-infinity".into()),
        _ => {}
    }
    let local = micros.checked_add(i64::from(offset_secs.unwrap_or(0)).checked_mul(1_000_000)?)?;
    let days = local.div_euclid(MICROS_PER_DAY);
    let mut out = date_from_days(days);
    out.push('T');
    out.push_str(&time_of_day(local.rem_euclid(MICROS_PER_DAY))?);
    if let Some(east) = offset_secs {
        out.push_str(&offset(east));
    }
    Some(out)
}

/// INTERVAL: microseconds, days, months → an ISO 8601 duration the way PostgreSQL's `iso_8601` interval style
/// writes it: `P1Y2M3DT4H5M6.5S`, each part with its own sign (`P-1D`, `PT-0.5S`), `PT0S` for zero.
pub(crate) fn interval(b: &[u8]) -> Option<String> {
    let mut r = Reader { b };
    let micros = r.i64()?;
    let days = r.i32()?;
    let months = r.i32()?;
    if !r.done() {
        return None;
    }
    let (years, months) = (months / 12, months % 12);
    // The time part splits toward zero, so every time field shares the sign of `micros`.
    let hours = micros / 3_600_000_000;
    let minutes = micros / 60_000_000 % 60;
    let seconds = micros / 1_000_000 % 60;
    let fraction = micros % 1_000_000;
    if years == 0 && months == 0 && days == 0 && micros == 0 {
        return Some("PT0S".into());
    }
    let mut out = String::from("P");
    for (n, unit) in [(years, 'Y'), (months, 'M'), (days, 'D')] {
        if n != 0 {
            let _ = write!(out, "{n}{unit}");
        }
    }
    if micros != 0 {
        out.push('T');
        for (n, unit) in [(hours, 'H'), (minutes, 'M')] {
            if n != 0 {
                let _ = write!(out, "{n}{unit}");
            }
        }
        if seconds != 0 || fraction != 0 {
            if micros < 0 {
                out.push('-');
            }
            let _ = write!(out, "{}", seconds.unsigned_abs());
            push_fraction(&mut out, fraction);
            out.push('S');
        }
    }
    Some(out)
}

// ---------------------------------------------------------------------------------------------------------------
// Other scalars

fn uuid(b: &[u8]) -> Option<String> {
    if b.len() != 16 {
        return None;
    }
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Some(format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..]))
}

/// BIT and VARBIT: the bit count, then the bits packed from the most significant; shown as `0`/`1` text.
fn bits(b: &[u8]) -> Option<String> {
    let mut r = Reader { b };
    let n = usize::try_from(r.i32()?).ok()?;
    if r.b.len() != n.div_ceil(8) {
        return None;
    }
    Some((0..n).map(|i| if r.b[i / 8] & (0x80 >> (i % 8)) != 0 { '1' } else { '0' }).collect())
}

/// INET and CIDR: family, prefix bits, is-cidr flag, address length, address. Shown as PostgreSQL does: `/n` for
/// CIDR always, for INET only when it is not a single host.
fn inet(b: &[u8]) -> Option<String> {
    let (&family, rest) = b.split_first()?;
    let (&prefix, rest) = rest.split_first()?;
    let (&is_cidr, rest) = rest.split_first()?;
    let (&len, addr) = rest.split_first()?;
    let (text, full) = match (family, len, addr.len()) {
        (2, 4, 4) => (std::net::Ipv4Addr::new(addr[0], addr[1], addr[2], addr[3]).to_string(), 32),
        (3, 16, 16) => {
            let octets: [u8; 16] = addr.try_into().ok()?;
            (std::net::Ipv6Addr::from(octets).to_string(), 128)
        }
        _ => return None,
    };
    if is_cidr != 0 || prefix != full { Some(format!("{text}/{prefix}")) } else { Some(text) }
}

/// hstore (an extension, recognised by name): a count, then key/value pairs → a JSON object of strings and nulls.
fn hstore(b: &[u8]) -> Option<serde_json::Value> {
    let mut r = Reader { b };
    let n = r.i32()?;
    let mut map = serde_json::Map::new();
    for _ in 0..n {
        let key = std::str::from_utf8(r.value()??).ok()?.to_string();
        let value = match r.value()? {
            None => serde_json::Value::Null,
            Some(v) => serde_json::Value::String(std::str::from_utf8(v).ok()?.to_string()),
        };
        map.insert(key, value);
    }
    r.done().then_some(serde_json::Value::Object(map))
}

// ---------------------------------------------------------------------------------------------------------------
// Containers

/// A value inside a container, as JSON (decimals as numbers when exact, blobs as base64, unknowns as text).
fn element_json(ty: &Type, b: Option<&[u8]>, ctx: &DecodeContext, depth: usize) -> serde_json::Value {
    match b {
        None => serde_json::Value::Null,
        Some(b) => decode_at(ty, b, ctx, depth + 1).unwrap_or_else(|| fallback(b)).to_json(),
    }
}

/// An array: dimensions, element type, lower bounds, then the elements → nested JSON arrays.
fn array(elem: &Type, b: &[u8], ctx: &DecodeContext, depth: usize) -> Option<serde_json::Value> {
    let mut r = Reader { b };
    let ndim = usize::try_from(r.i32()?).ok()?;
    let _has_nulls = r.i32()?;
    let _elem_oid = r.u32()?;
    if ndim > MAX_DEPTH {
        return None;
    }
    let mut dims = Vec::with_capacity(ndim);
    for _ in 0..ndim {
        dims.push(usize::try_from(r.i32()?).ok()?);
        let _lower_bound = r.i32()?;
    }
    if ndim == 0 {
        return r.done().then(|| serde_json::Value::Array(Vec::new()));
    }
    let total = dims.iter().try_fold(1usize, |acc, d| acc.checked_mul(*d))?;
    // Each element takes at least its 4-byte length: refuse counts the input cannot hold before allocating.
    if total > r.b.len() / 4 + 1 {
        return None;
    }
    let mut flat = Vec::with_capacity(total);
    for _ in 0..total {
        flat.push(element_json(elem, r.value()?, ctx, depth));
    }
    if !r.done() {
        return None;
    }
    // Regroup the flat elements, innermost dimension first.
    for &d in dims[1..].iter().rev() {
        if d == 0 {
            break;
        }
        flat = flat.chunks(d).map(|c| serde_json::Value::Array(c.to_vec())).collect();
    }
    Some(serde_json::Value::Array(flat))
}

/// A composite or anonymous record: field count, then (type OID, value) per field → a JSON object when the field
/// names are known, else a JSON array.
fn composite(
    fields: Option<&[(Option<&str>, Type)]>,
    b: &[u8],
    ctx: &DecodeContext,
    depth: usize,
) -> Option<serde_json::Value> {
    let mut r = Reader { b };
    let n = usize::try_from(r.i32()?).ok()?;
    if n > r.b.len() / 8 + 1 {
        return None;
    }
    let mut values = Vec::with_capacity(n);
    for i in 0..n {
        let oid = r.u32()?;
        let value = r.value()?;
        let declared = fields.and_then(|f| f.get(i));
        let ty = declared.map(|(_, t)| t.clone()).or_else(|| Type::from_oid(oid));
        let json = match (ty, value) {
            (_, None) => serde_json::Value::Null,
            (Some(ty), v) => element_json(&ty, v, ctx, depth),
            (None, Some(v)) => fallback(v).to_json(),
        };
        values.push((declared.and_then(|(name, _)| *name), json));
    }
    if !r.done() {
        return None;
    }
    if values.iter().all(|(name, _)| name.is_some()) && !values.is_empty() {
        Some(serde_json::Value::Object(
            values.into_iter().map(|(name, v)| (name.unwrap_or_default().to_string(), v)).collect(),
        ))
    } else {
        Some(serde_json::Value::Array(values.into_iter().map(|(_, v)| v).collect()))
    }
}

/// A range: flags, then the present bounds → `[1,5)`, `(,2024-01-01]`, `empty`.
fn range(elem: &Type, b: &[u8], ctx: &DecodeContext, depth: usize) -> Option<String> {
    const EMPTY: u8 = 0x01;
    const LB_INC: u8 = 0x02;
    const UB_INC: u8 = 0x04;
    const LB_INF: u8 = 0x08;
    const UB_INF: u8 = 0x10;
    let (&flags, rest) = b.split_first()?;
    if flags & EMPTY != 0 {
        return Some("empty".into());
    }
    let mut r = Reader { b: rest };
    let mut bound = |infinite: bool| -> Option<String> {
        if infinite {
            return Some(String::new());
        }
        let v = r.value()??;
        Some(decode_at(elem, v, ctx, depth + 1).unwrap_or_else(|| fallback(v)).to_display())
    };
    let lower = bound(flags & LB_INF != 0)?;
    let upper = bound(flags & UB_INF != 0)?;
    if !r.done() {
        return None;
    }
    let open = if flags & LB_INC != 0 { '[' } else { '(' };
    let close = if flags & UB_INC != 0 { ']' } else { ')' };
    Some(format!("{open}{lower},{upper}{close}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CTX: DecodeContext = DecodeContext { utc_offset_secs: 9 * 3600 };

    /// NUMERIC's binary form from its parts.
    fn num(weight: i16, sign: u16, dscale: u16, digits: &[i16]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend((digits.len() as i16).to_be_bytes());
        b.extend(weight.to_be_bytes());
        b.extend(sign.to_be_bytes());
        b.extend(dscale.to_be_bytes());
        for d in digits {
            b.extend(d.to_be_bytes());
        }
        b
    }

    fn dec(b: &[u8]) -> String {
        match numeric(b) {
            Some(Value::Decimal(s) | Value::Text(s)) => s,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn numerics_are_exact() {
        assert_eq!(dec(&num(1, 0, 2, &[9999, 9999, 9900])), "99999999.99");
        assert_eq!(dec(&num(-1, 0, 2, &[100])), "0.01");
        assert_eq!(dec(&num(0, 0, 2, &[7])), "7.00");
        assert_eq!(dec(&num(0, 0x4000, 1, &[12, 5000])), "-12.5");
        assert_eq!(dec(&num(0, 0, 0, &[])), "0");
        assert_eq!(dec(&num(0, 0, 3, &[])), "0.000");
        // 12345678901234567890.123456789: more digits than any float holds.
        assert_eq!(
            dec(&num(4, 0, 9, &[1234, 5678, 9012, 3456, 7890, 1234, 5678, 9000])),
            "12345678901234567890.123456789"
        );
        assert_eq!(dec(&num(-1, 0x4000, 6, &[1, 2300])), "-0.000123");
        assert_eq!(dec(&num(-2, 0, 8, &[1230])), "0.00001230");
        assert_eq!(dec(&num(5, 0, 0, &[1])), "100000000000000000000");
        assert_eq!(dec(&num(0, 0xC000, 0, &[])), "NaN");
        assert_eq!(dec(&num(0, 0xD000, 0, &[])), "Infinity");
        assert_eq!(dec(&num(0, 0xF000, 0, &[])), "-Infinity");
        assert!(numeric(&num(0, 0, 0, &[10_000])).is_none(), "a digit out of range");
        assert!(numeric(&[0, 1]).is_none(), "short input");
        assert!(numeric(&num(0, 0x1234, 0, &[1])).is_none(), "unknown sign");
    }

    #[test]
    fn dates_times_and_timestamps_are_iso_8601() {
        assert_eq!(date(0).as_deref(), Some("2000-01-01"));
        assert_eq!(date(8825).as_deref(), Some("2024-02-29"));
        assert_eq!(date(-730_120 - 365).as_deref(), Some("0000-01-01"));
        assert_eq!(date(3_000_000).as_deref(), Some("+10213-09-21"));
        assert_eq!(date(-730_485 - 365).as_deref(), Some("-0001-01-01"));
        assert_eq!(date(i32::MAX).as_deref(), Some("infinity"));
        assert_eq!(date(i32::MIN).as_deref(), Some("-infinity"));
        assert_eq!(time_of_day(49_506_500_000).as_deref(), Some("13:45:06.5"));
        assert_eq!(time_of_day(0).as_deref(), Some("00:00:00"));
        assert_eq!(time_of_day(MICROS_PER_DAY).as_deref(), Some("24:00:00"));
        assert_eq!(time_of_day(-1), None);
        let ts = (8825 * MICROS_PER_DAY) + 49_506_123_456;
        assert_eq!(timestamp(ts, None).as_deref(), Some("2024-02-29T13:45:06.123456"));
        // An instant at 04:45:06 UTC shown at +09:00.
        let utc = (8825 * MICROS_PER_DAY) + 17_106_000_000;
        assert_eq!(timestamp(utc, Some(9 * 3600)).as_deref(), Some("2024-02-29T13:45:06+09:00"));
        assert_eq!(timestamp(utc, Some(0)).as_deref(), Some("2024-02-29T04:45:06+00:00"));
        assert_eq!(timestamp(-MICROS_PER_DAY, Some(-12_600)).as_deref(), Some("1999-12-30T20:30:00-03:30"));
        assert_eq!(timestamp(i64::MAX, None).as_deref(), Some("infinity"));
        let mut timetz = 49_506_000_000_i64.to_be_bytes().to_vec();
        timetz.extend((-9 * 3600_i32).to_be_bytes());
        assert_eq!(decode(&Type::TIMETZ, Some(&timetz), &CTX), Value::Text("13:45:06+09:00".into()));
        assert_eq!(offset(-(5 * 3600 + 53 * 60 + 28)), "-05:53:28");
    }

    fn iv(micros: i64, days: i32, months: i32) -> String {
        let mut b = micros.to_be_bytes().to_vec();
        b.extend(days.to_be_bytes());
        b.extend(months.to_be_bytes());
        interval(&b).unwrap_or_default()
    }

    #[test]
    fn intervals_are_iso_8601_durations() {
        assert_eq!(iv(4 * 3_600_000_000 + 5 * 60_000_000 + 6_500_000, 3, 14), "P1Y2M3DT4H5M6.5S");
        assert_eq!(iv(0, 0, 0), "PT0S");
        assert_eq!(iv(0, -1, 0), "P-1D");
        assert_eq!(iv(-500_000, 0, 0), "PT-0.5S");
        assert_eq!(iv(-3_661_000_000, 0, -1), "P-1MT-1H-1M-1S");
        assert_eq!(iv(0, 0, 24), "P2Y");
        assert_eq!(iv(60_000_000, 0, 0), "PT1M");
        assert!(interval(&[0; 15]).is_none());
    }

    #[test]
    fn scalars() {
        assert_eq!(decode(&Type::INT2, Some(&(-5i16).to_be_bytes()), &CTX), Value::Int(-5));
        assert_eq!(decode(&Type::INT8, Some(&i64::MIN.to_be_bytes()), &CTX), Value::Int(i64::MIN));
        assert_eq!(decode(&Type::FLOAT4, Some(&1.1f32.to_be_bytes()), &CTX), Value::Float(1.1));
        assert_eq!(decode(&Type::BOOL, Some(&[1]), &CTX), Value::Bool(true));
        assert_eq!(decode(&Type::MONEY, Some(&(-1234i64).to_be_bytes()), &CTX), Value::Decimal("-12.34".into()));
        assert_eq!(decode(&Type::TEXT, Some("서울".as_bytes()), &CTX), Value::Text("서울".into()));
        assert_eq!(decode(&Type::BYTEA, Some(&[0, 255]), &CTX), Value::Blob(vec![0, 255]));
        assert_eq!(decode(&Type::TEXT, None, &CTX), Value::Null);
        assert_eq!(
            decode(&Type::JSONB, Some(b"\x01{\"a\": [1, 2]}"), &CTX),
            Value::Json(serde_json::json!({"a": [1, 2]}))
        );
        let id: Vec<u8> = (0u8..16).collect();
        assert_eq!(decode(&Type::UUID, Some(&id), &CTX), Value::Text("00010203-0405-0607-0809-0a0b0c0d0e0f".into()));
        let mut bit = 10i32.to_be_bytes().to_vec();
        bit.extend([0b1010_0000, 0b1100_0000]);
        assert_eq!(decode(&Type::VARBIT, Some(&bit), &CTX), Value::Text("1010000011".into()));
        assert_eq!(decode(&Type::INET, Some(&[2, 32, 0, 4, 192, 168, 0, 1]), &CTX), Value::Text("192.168.0.1".into()));
        assert_eq!(decode(&Type::CIDR, Some(&[2, 8, 1, 4, 10, 0, 0, 0]), &CTX), Value::Text("10.0.0.0/8".into()));
        assert_eq!(decode(&Type::PG_LSN, Some(&0x1_0000_00ffu64.to_be_bytes()), &CTX), Value::Text("1/FF".into()));
    }

    #[test]
    fn arrays_nest_as_json() {
        // int4[] {{1,2},{3,NULL}}
        let mut b = Vec::new();
        for x in [2i32, 1, 23, 2, 1, 2, 1] {
            b.extend(x.to_be_bytes());
        }
        for v in [Some(1i32), Some(2), Some(3), None] {
            match v {
                Some(v) => {
                    b.extend(4i32.to_be_bytes());
                    b.extend(v.to_be_bytes());
                }
                None => b.extend((-1i32).to_be_bytes()),
            }
        }
        assert_eq!(decode(&Type::INT4_ARRAY, Some(&b), &CTX), Value::Json(serde_json::json!([[1, 2], [3, null]])));
        let empty: Vec<u8> = [0i32, 0, 23].iter().flat_map(|x| x.to_be_bytes()).collect();
        assert_eq!(decode(&Type::INT4_ARRAY, Some(&empty), &CTX), Value::Json(serde_json::json!([])));
        // A count the input cannot hold is refused before allocating.
        let huge: Vec<u8> = [1i32, 0, 23, i32::MAX, 1].iter().flat_map(|x| x.to_be_bytes()).collect();
        assert!(matches!(decode(&Type::INT4_ARRAY, Some(&huge), &CTX), Value::Text(t) if t.starts_with("\\x")));
    }

    #[test]
    fn ranges_and_records() {
        let mut b = vec![0x02];
        for v in [1i32, 5] {
            b.extend(4i32.to_be_bytes());
            b.extend(v.to_be_bytes());
        }
        assert_eq!(decode(&Type::INT4_RANGE, Some(&b), &CTX), Value::Text("[1,5)".into()));
        assert_eq!(decode(&Type::INT4_RANGE, Some(&[0x01]), &CTX), Value::Text("empty".into()));
        let mut upper_only = vec![0x08 | 0x04];
        upper_only.extend(4i32.to_be_bytes());
        upper_only.extend(7i32.to_be_bytes());
        assert_eq!(decode(&Type::INT4_RANGE, Some(&upper_only), &CTX), Value::Text("(,7]".into()));
        let mut rec = 2i32.to_be_bytes().to_vec();
        rec.extend(23u32.to_be_bytes());
        rec.extend(4i32.to_be_bytes());
        rec.extend(1i32.to_be_bytes());
        rec.extend(25u32.to_be_bytes());
        rec.extend(1i32.to_be_bytes());
        rec.extend(b"a");
        assert_eq!(decode(&Type::RECORD, Some(&rec), &CTX), Value::Json(serde_json::json!([1, "a"])));
    }

    #[test]
    fn unknown_and_malformed_values_fall_back_to_text_or_hex() {
        assert_eq!(decode(&Type::INT4, Some(&[1, 2]), &CTX), Value::Text("\\x0102".into()));
        assert_eq!(decode(&Type::TS_VECTOR, Some(b"plain"), &CTX), Value::Text("plain".into()));
        assert_eq!(decode(&Type::JSON, Some(b"{bad"), &CTX), Value::Text("{bad".into()));
        assert_eq!(decode(&Type::TEXT, Some(&[0xff, 0xfe]), &CTX), Value::Text("\\xfffe".into()));
        assert_eq!(decode(&Type::BOOL, Some(&[]), &CTX), Value::Text(String::new()));
    }
}
