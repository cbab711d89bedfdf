//! Personal data in results: which columns hold it, and how to mask it (seed 000 `mask_personal_data`).
//!
//! Classification looks at a column's name (English, Korean, and the abbreviations Korean schemas use such as
//! `CUST_NM`, `HP_NO`, `JUMIN_NO`) and, when values are at hand, at the values themselves, so an alias
//! (`SELECT email AS contact`) or an expression (`upper(email)`, `name || ''`) does not hide personal data.
//! A per-connection [`PiiPolicy`] overrides either way. Masking keeps only what the format shows — the email domain,
//! a phone's prefix and last four digits, a card's last four digits, a birth date, a name's first (and last) letter,
//! the province and district of an address — and replaces everything else with a fixed number of `*`.
//!
//! Invariants:
//! - Nothing here panics, on any input (arbitrary Unicode, empty strings, any [`Value`]).
//! - [`mask_value`] is idempotent: masking a masked value returns it unchanged.
//! - Every masked text contains `*`, so text without `*` never comes back unchanged.
//! - A masked value does not reveal the length of what it hides: the stars are fixed in number for each format.
//! - Values of a shape the kind's format does not recognise become `***`; non-text values (other than integers and
//!   decimals, which are masked through their digits) become the text `***`; nulls stay null.
//! - Value detection never looks at more than [`MAX_SAMPLES`] values of a column.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorCode, Result};
use crate::hangul::is_syllable;
use crate::value::{ResultColumn, ResultSet, Value};

/// A kind of personal data. The snake_case names ([`PiiKind::as_str`]) are stable: policies and clients use them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PiiKind {
    Email,
    Phone,
    CardNumber,
    PersonName,
    /// Korean resident registration numbers (주민등록번호), US social security numbers, passport numbers.
    NationalId,
    /// Postal addresses; detected by value for Korean addresses (`서울특별시 강남구 …`).
    Address,
}

impl PiiKind {
    /// Every kind, in detection priority order.
    pub const ALL: &'static [PiiKind] = &[
        PiiKind::Email,
        PiiKind::NationalId,
        PiiKind::CardNumber,
        PiiKind::Phone,
        PiiKind::Address,
        PiiKind::PersonName,
    ];

    /// The stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            PiiKind::Email => "email",
            PiiKind::Phone => "phone",
            PiiKind::CardNumber => "card_number",
            PiiKind::PersonName => "person_name",
            PiiKind::NationalId => "national_id",
            PiiKind::Address => "address",
        }
    }
}

impl fmt::Display for PiiKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PiiKind {
    type Err = Error;

    /// Parses a stable name, ignoring case and surrounding space.
    fn from_str(s: &str) -> Result<Self> {
        let s = s.trim();
        PiiKind::ALL.iter().copied().find(|k| k.as_str().eq_ignore_ascii_case(s)).ok_or_else(|| {
            let names: Vec<&str> = PiiKind::ALL.iter().map(|k| k.as_str()).collect();
            Error::new(ErrorCode::InvalidArgument, format!("unknown PII kind '{s}' (known: {})", names.join(", ")))
        })
    }
}

/// A column is classified by its values when at least this percentage of its non-empty values match one of the
/// value detectors. Real personal-data columns are dirty (placeholders, test rows, legacy formats), so demanding 100%
/// would miss them; free-text columns where the odd value is an email must not be masked wholesale, so a simple
/// majority would be too eager. 80% tolerates one dirty value in five.
pub const VALUE_THRESHOLD_PERCENT: usize = 80;

/// The most values of one column that value detection reads.
pub const MAX_SAMPLES: usize = 200;

/// What masking puts in place of a value whose shape the format does not recognise.
const UNKNOWN_MASK: &str = "***";

// ---------------------------------------------------------------------------------------------------------------
// Policy

/// Per-connection overrides of the classification, keyed by `column` or `table.column` (lowercase; the table part may
/// itself be schema-qualified). An override of `None` means "not personal data", `Some(kind)` forces a kind.
/// Invariant: every key is trimmed, lowercase, and has non-empty parts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PiiPolicy {
    overrides: BTreeMap<String, Option<PiiKind>>,
}

impl PiiPolicy {
    pub fn new() -> Self {
        PiiPolicy::default()
    }

    /// Sets an override. Fails with `invalid_argument` when the key is empty or has an empty part (`users.`, `.x`).
    pub fn set(&mut self, key: &str, kind: Option<PiiKind>) -> Result<()> {
        let key = normalize_key(key)?;
        self.overrides.insert(key, kind);
        Ok(())
    }

    /// Parses a `key=kind` override as written on a command line or in a request: `users.email=none`,
    /// `notes=email`. `none`, `off` and `not_pii` mean "not personal data".
    pub fn parse_override(spec: &str) -> Result<(String, Option<PiiKind>)> {
        let Some((key, kind)) = spec.split_once('=') else {
            return Err(Error::new(
                ErrorCode::InvalidArgument,
                format!("PII override '{spec}' is not of the form column=kind or table.column=kind"),
            ));
        };
        let key = normalize_key(key)?;
        let kind = match kind.trim().to_ascii_lowercase().as_str() {
            "none" | "off" | "not_pii" => None,
            other => Some(other.parse()?),
        };
        Ok((key, kind))
    }

    /// The override for a column, if any: `table.column` first, then (for a schema-qualified table) the table's bare
    /// name, then the bare column. The outer `None` means "no override".
    pub fn lookup(&self, table: Option<&str>, column: &str) -> Option<Option<PiiKind>> {
        let column = column.trim().to_lowercase();
        if let Some(table) = table.map(|t| t.trim().to_lowercase()).filter(|t| !t.is_empty()) {
            if let Some(kind) = self.overrides.get(&format!("{table}.{column}")) {
                return Some(*kind);
            }
            if let Some((_, bare)) = table.rsplit_once('.')
                && let Some(kind) = self.overrides.get(&format!("{bare}.{column}"))
            {
                return Some(*kind);
            }
        }
        self.overrides.get(&column).copied()
    }

    /// The overrides, in key order, so the classification can be shown.
    pub fn overrides(&self) -> impl Iterator<Item = (&str, Option<PiiKind>)> {
        self.overrides.iter().map(|(k, v)| (k.as_str(), *v))
    }

    pub fn is_empty(&self) -> bool {
        self.overrides.is_empty()
    }

    /// [`classify_column`] under this policy: an override wins.
    pub fn classify_column(&self, table: Option<&str>, column: &str, samples: &[&str]) -> Option<PiiKind> {
        match self.lookup(table, column) {
            Some(kind) => kind,
            None => classify_column(table, column, samples),
        }
    }
}

fn normalize_key(key: &str) -> Result<String> {
    let key = key.trim().to_lowercase();
    let bad = key.is_empty() || key.split('.').any(|part| part.trim().is_empty());
    if bad {
        return Err(Error::new(
            ErrorCode::InvalidArgument,
            format!("PII override key '{key}' must be 'column' or 'table.column' with no empty part"),
        ));
    }
    Ok(key)
}

impl TryFrom<BTreeMap<String, Option<PiiKind>>> for PiiPolicy {
    type Error = Error;

    fn try_from(map: BTreeMap<String, Option<PiiKind>>) -> Result<Self> {
        let mut policy = PiiPolicy::new();
        for (key, kind) in map {
            policy.set(&key, kind)?;
        }
        Ok(policy)
    }
}

/// Serialised as a map from key to kind name or `null` ("not personal data").
impl Serialize for PiiPolicy {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.overrides.serialize(s)
    }
}

impl<'de> Deserialize<'de> for PiiPolicy {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let map = BTreeMap::<String, Option<PiiKind>>::deserialize(d)?;
        PiiPolicy::try_from(map).map_err(serde::de::Error::custom)
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Classification of result columns

/// Why a column got its classification, so it can be shown next to the result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PiiBasis {
    /// The connection's policy decided (either way).
    Override,
    /// The caller's schema knowledge (the source column's classification) decided.
    Schema,
    /// The column's name decided.
    Name,
    /// The column's values decided.
    Values,
    /// Nothing marked the column as personal data.
    Undetected,
}

/// A column's classification and its basis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PiiDecision {
    pub kind: Option<PiiKind>,
    pub basis: PiiBasis,
}

/// Classifies each result column: the policy's override for the column name first, then `schema_hint` (what the
/// caller knows about the column from the schema, e.g. through lineage), then the column's name, then its values in
/// the first [`MAX_SAMPLES`] rows. Returns one decision per column, in column order.
pub fn explain_result(
    columns: &[ResultColumn],
    rows: &[Vec<Value>],
    schema_hint: impl Fn(&str) -> Option<PiiKind>,
    policy: &PiiPolicy,
) -> Vec<PiiDecision> {
    columns
        .iter()
        .enumerate()
        .map(|(i, col)| {
            if let Some(kind) = policy.lookup(None, &col.name) {
                return PiiDecision { kind, basis: PiiBasis::Override };
            }
            if let Some(kind) = schema_hint(&col.name) {
                return PiiDecision { kind: Some(kind), basis: PiiBasis::Schema };
            }
            if let Some(kind) = classify_name(None, &col.name) {
                return PiiDecision { kind: Some(kind), basis: PiiBasis::Name };
            }
            let texts: Vec<String> =
                rows.iter().take(MAX_SAMPLES).filter_map(|row| row.get(i).and_then(sample_text)).collect();
            let samples: Vec<&str> = texts.iter().map(String::as_str).collect();
            match classify_values(&samples) {
                Some(kind) => PiiDecision { kind: Some(kind), basis: PiiBasis::Values },
                None => PiiDecision { kind: None, basis: PiiBasis::Undetected },
            }
        })
        .collect()
}

/// [`explain_result`] without the basis: one kind (or `None`) per result column.
pub fn classify_result(
    columns: &[ResultColumn],
    rows: &[Vec<Value>],
    schema_hint: impl Fn(&str) -> Option<PiiKind>,
    policy: &PiiPolicy,
) -> Vec<Option<PiiKind>> {
    explain_result(columns, rows, schema_hint, policy).into_iter().map(|d| d.kind).collect()
}

/// The text value detection reads from a cell: text as is, integers and decimals through their digits (card
/// numbers and registration numbers are sometimes stored as numbers). Other values are not samples.
fn sample_text(value: &Value) -> Option<String> {
    match value {
        Value::Text(s) => Some(s.clone()),
        Value::Int(_) | Value::Decimal(_) => Some(value.to_display()),
        _ => None,
    }
}

/// Classifies a schema or result column by its name and, failing that, by `samples` (at most [`MAX_SAMPLES`] are
/// read). `table` gives context to ambiguous names: `name` is a person's name in `customers`, not in `products`.
pub fn classify_column(table: Option<&str>, column: &str, samples: &[&str]) -> Option<PiiKind> {
    classify_name(table, column).or_else(|| classify_values(samples))
}

// ---------------------------------------------------------------------------------------------------------------
// Classification by name

/// Tokens that turn a name about personal data into metadata about it: `email_verified`, `phone_count`,
/// `card_company`, `passport_expiry`, `name_length`, `email_id`.
#[rustfmt::skip]
const META_TOKENS: &[&str] = &[
    "count", "cnt", "total", "sum", "avg", "average", "min", "max", "date", "dt", "time", "at", "ts", "timestamp",
    "updated", "created", "changed", "modified", "status", "flag", "yn", "is", "has", "verified", "verify",
    "verification", "confirmed", "confirm", "type", "kind", "category", "len", "length", "size", "hash", "hashed",
    "md5", "sha", "sha1", "sha256", "digest", "encrypted", "enc", "token", "opt", "optin", "optout", "consent", "agree",
    "agreed", "agreement", "sent", "send", "enabled", "enable", "valid", "validated", "template", "format", "pattern",
    "regex", "label", "policy", "domain", "provider", "country", "prefix", "code", "ext", "extension", "app", "os",
    "device", "platform", "version", "browser", "model", "brand", "company", "issuer", "bank", "vendor", "network",
    "expiry", "expires", "expiration", "exp", "limit", "balance", "fee", "fees", "amount", "rate", "id", "key", "seq",
    "idx", "pk", "fk", "ref", "mask", "masked", "visible", "visibility", "subject", "body", "campaign", "nationality",
    "issued", "score", "rank", "level", "source", "channel", "usage", "plan", "carrier", "operator", "charge",
    "preference", "pref", "setting", "settings", "notify", "notification", "alert", "bounce", "bounced", "unsubscribe",
    "unsubscribed", "subscription", "language", "lang", "ip", "ipv4", "ipv6", "mac", "url", "uri", "web", "website",
    "wallet", "server", "memory", "mem", "contract", "node", "remote", "proxy", "gateway", "broadcast", "multicast",
    "bitcoin", "btc", "eth", "hex",
];

/// Token sequences that name a kind (after compound words are split: `phonenumber` → `phone number`).
const NAME_PATTERNS: &[(PiiKind, &[&str])] = &[
    (PiiKind::NationalId, &["ssn"]),
    (PiiKind::NationalId, &["rrn"]),
    (PiiKind::NationalId, &["jumin"]),
    (PiiKind::NationalId, &["nin"]),
    (PiiKind::NationalId, &["passport"]),
    (PiiKind::NationalId, &["national", "id"]),
    (PiiKind::NationalId, &["national", "identity"]),
    (PiiKind::NationalId, &["national", "insurance"]),
    (PiiKind::NationalId, &["resident", "no"]),
    (PiiKind::NationalId, &["resident", "num"]),
    (PiiKind::NationalId, &["resident", "number"]),
    (PiiKind::NationalId, &["resident", "registration"]),
    (PiiKind::NationalId, &["social", "security"]),
    (PiiKind::NationalId, &["alien", "registration"]),
    (PiiKind::NationalId, &["foreigner", "registration"]),
    (PiiKind::NationalId, &["id", "card", "no"]),
    (PiiKind::NationalId, &["id", "card", "number"]),
    (PiiKind::Email, &["email"]),
    (PiiKind::Email, &["emails"]),
    (PiiKind::Email, &["e", "mail"]),
    (PiiKind::Email, &["mail"]),
    (PiiKind::CardNumber, &["card", "no"]),
    (PiiKind::CardNumber, &["card", "num"]),
    (PiiKind::CardNumber, &["card", "number"]),
    (PiiKind::CardNumber, &["card", "nbr"]),
    (PiiKind::CardNumber, &["credit", "card"]),
    (PiiKind::CardNumber, &["debit", "card"]),
    (PiiKind::CardNumber, &["cc", "no"]),
    (PiiKind::CardNumber, &["cc", "num"]),
    (PiiKind::CardNumber, &["cc", "number"]),
    (PiiKind::Phone, &["phone"]),
    (PiiKind::Phone, &["phones"]),
    (PiiKind::Phone, &["telephone"]),
    (PiiKind::Phone, &["tel"]),
    (PiiKind::Phone, &["mobile"]),
    (PiiKind::Phone, &["fax"]),
    (PiiKind::Phone, &["handphone"]),
    (PiiKind::Phone, &["cell", "no"]),
    (PiiKind::Phone, &["cell", "num"]),
    (PiiKind::Phone, &["cell", "number"]),
    (PiiKind::Phone, &["hp", "no"]),
    (PiiKind::Phone, &["hp", "num"]),
    (PiiKind::Phone, &["hp", "number"]),
    (PiiKind::Phone, &["contact", "no"]),
    (PiiKind::Phone, &["contact", "num"]),
    (PiiKind::Phone, &["contact", "number"]),
    (PiiKind::Address, &["address"]),
    (PiiKind::Address, &["addresses"]),
    (PiiKind::Address, &["addr"]),
];

/// Words that qualify `name` as a person's: `first_name`, `family_name`.
const NAME_QUALIFIERS: &[&str] = &[
    "first", "last", "full", "given", "family", "middle", "maiden", "real", "legal", "birth", "sur", "fore",
    "personal", "f", "l",
];

/// Adjectives skipped when looking for whose name it is: `primary_contact_first_name` is the contact's.
const NAME_OWNER_SKIP: &[&str] =
    &["primary", "secondary", "alt", "alternate", "preferred", "current", "previous", "other", "vice", "assistant"];

/// Single words that are a person's name by themselves.
const NAME_WORDS: &[&str] = &["surname", "surnames", "fname", "lname", "forename", "forenames"];

/// Suffixes of a bare `name` that only say which language it is in: `name_en`, `name_kr`.
const LANGUAGE_TAGS: &[&str] =
    &["en", "eng", "english", "kr", "ko", "kor", "korean", "cn", "zh", "jp", "ja", "local", "native", "1", "2"];

/// Nouns for people (singular). `customer_name` is a person's name, `product_name` is not; a table named after one
/// of these makes its bare `name` column a person's name.
#[rustfmt::skip]
const PERSON_NOUNS: &[&str] = &[
    "person", "people", "user", "usr", "customer", "cust", "client", "member", "mbr", "employee", "emp", "staff",
    "student", "teacher", "instructor", "professor", "faculty", "tutor", "patient", "doctor", "physician", "nurse",
    "dentist", "therapist", "author", "writer", "editor", "reviewer", "journalist", "poet", "singer", "artist",
    "musician", "composer", "conductor", "actor", "actress", "director", "producer", "performer", "dancer", "player",
    "athlete", "coach", "manager", "owner", "holder", "cardholder", "driver", "pilot", "passenger", "guest", "visitor",
    "buyer", "seller", "recipient", "receiver", "sender", "contact", "applicant", "candidate", "representative", "rep",
    "agent", "volunteer", "participant", "subscriber", "host", "captain", "technician", "mechanic", "scientist",
    "engineer", "architect", "worker", "resident", "citizen", "spouse", "parent", "guardian", "father", "mother",
    "child", "beneficiary", "payee", "payer", "assignee", "reporter", "requester", "approver", "friend", "politician",
    "president", "founder", "rider", "jockey", "officer", "soldier", "advisor", "supervisor", "lawyer", "attorney",
    "judge", "tenant", "landlord", "borrower", "lender", "traveler", "traveller", "tourist", "speaker", "photographer",
    "designer", "developer", "contestant", "voter", "individual", "insured", "policyholder", "shopper", "consumer",
    "wrestler", "gymnast", "swimmer", "climber", "perpetrator", "victim", "witness", "suspect", "pupil", "alumnus",
    "alumni", "head", "chair", "chairman", "leader", "dependent", "stu",
];

/// Table-name words that say nothing about what the table holds: `customer_info`, `tb_member`, `dim_customer`.
#[rustfmt::skip]
const TABLE_NOISE: &[&str] = &[
    "info", "information", "data", "detail", "details", "profile", "profiles", "record", "records", "master", "mst",
    "list", "tbl", "table", "tb", "t", "dim", "base", "main", "v", "vw", "view", "current", "all",
];

/// Heads that compound words start with, for splitting `emailaddress`, `creditcardnumber`, `firstname`, `telno`.
/// `user` is deliberately absent: `username` is a login handle, not a person's name.
#[rustfmt::skip]
const COMPOUND_HEADS: &[&str] = &[
    "email", "mail", "phone", "mobile", "cell", "tel", "fax", "hp", "card", "credit", "debit", "cc", "first", "last",
    "full", "given", "family", "middle", "maiden", "real", "legal", "resident", "national", "passport", "social",
    "security", "jumin", "contact", "home", "work", "office", "customer", "cust", "member", "employee", "emp",
    "student", "patient", "client", "staff", "billing", "shipping", "delivery", "street", "postal", "primary",
    "secondary", "alt", "id",
];

/// Tails a compound word may end with after a head.
const COMPOUND_TAILS: &[&str] =
    &["no", "num", "number", "nbr", "address", "addr", "name", "nm", "phone", "card", "id", "mail", "email"];

/// Classifies a column by its name alone. `table` (when known) decides whether a bare `name` is a person's.
pub fn classify_name(table: Option<&str>, column: &str) -> Option<PiiKind> {
    let tokens = split_compounds(name_tokens(column));
    if tokens.is_empty() {
        return None;
    }
    if let Some(kind) = korean_name_kind(&tokens) {
        return kind;
    }
    pattern_kind(&tokens).unwrap_or_else(|| person_name_kind(table, &tokens))
}

/// Splits an identifier into lowercase words at non-alphanumeric characters, camelCase humps, and letter/digit and
/// Hangul/Latin boundaries: `CustomerEmailAddress2` → `customer email address 2`, `SSNNumber` → `ssn number`.
fn name_tokens(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut tokens = Vec::new();
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            flush(&mut tokens, &mut current);
            continue;
        }
        if i > 0 && chars[i - 1].is_alphanumeric() {
            let p = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            let hump = (p.is_lowercase() && c.is_uppercase()) || (p.is_uppercase() && c.is_uppercase() && next_lower);
            let class_change = p.is_ascii_digit() != c.is_ascii_digit() || is_syllable(p) != is_syllable(c);
            if hump || class_change {
                flush(&mut tokens, &mut current);
            }
        }
        current.extend(c.to_lowercase());
    }
    flush(&mut tokens, &mut current);
    tokens
}

fn flush(tokens: &mut Vec<String>, current: &mut String) {
    if !current.is_empty() {
        tokens.push(std::mem::take(current));
    }
}

/// Splits compound words made of a known head and known parts: `phonenumber` → `phone number`.
fn split_compounds(tokens: Vec<String>) -> Vec<String> {
    tokens.into_iter().flat_map(|t| split_compound(&t).unwrap_or_else(|| vec![t])).collect()
}

fn split_compound(token: &str) -> Option<Vec<String>> {
    if COMPOUND_TAILS.contains(&token) || COMPOUND_HEADS.contains(&token) {
        return Some(vec![token.to_string()]);
    }
    COMPOUND_HEADS.iter().filter(|h| token.len() > h.len() && token.starts_with(*h)).find_map(|head| {
        let rest = split_compound(&token[head.len()..])?;
        Some(std::iter::once(head.to_string()).chain(rest).collect())
    })
}

/// The first pattern of [`NAME_PATTERNS`] found in `tokens`. `Some(None)` when a pattern matched but a metadata word
/// accompanies it (`email_verified`): the column is about personal data but does not hold it.
fn pattern_kind(tokens: &[String]) -> Option<Option<PiiKind>> {
    NAME_PATTERNS.iter().find_map(|(kind, pattern)| {
        let start = tokens.windows(pattern.len()).position(|w| w.iter().zip(pattern.iter()).all(|(a, b)| a == b))?;
        let rest = tokens[..start].iter().chain(&tokens[start + pattern.len()..]);
        Some(if has_meta(rest) { None } else { Some(*kind) })
    })
}

fn has_meta<'a>(mut tokens: impl Iterator<Item = &'a String>) -> bool {
    tokens.any(|t| META_TOKENS.contains(&t.as_str()))
}

/// Person names by English name: `first_name`, `customer_name`, `cust_nm`, `surname`, `name_last`, and a bare `name`
/// (or `name_en`) only in a table named after people. A qualified name belongs to the word before it
/// (`building_full_name` is a building's), so that word must be a person noun unless the table is named after people.
fn person_name_kind(table: Option<&str>, tokens: &[String]) -> Option<PiiKind> {
    let person_table = || table.is_some_and(is_person_table);
    if let Some(i) = tokens.iter().position(|t| NAME_WORDS.contains(&t.as_str())) {
        let rest = tokens[..i].iter().chain(&tokens[i + 1..]);
        let owner_ok = name_owner(&tokens[..i]).is_none_or(|o| is_person_noun(o) || person_table());
        return (!has_meta(rest) && owner_ok).then_some(PiiKind::PersonName);
    }
    let i = tokens.iter().rposition(|t| t == "name" || t == "names" || t == "nm")?;
    let (before, after) = (&tokens[..i], &tokens[i + 1..]);
    if has_meta(before.iter().chain(after)) {
        return None;
    }
    let person = match before.last() {
        Some(prev) if NAME_QUALIFIERS.contains(&prev.as_str()) => {
            name_owner(before).is_none_or(|o| is_person_noun(o) || person_table())
        }
        Some(prev) => is_person_noun(prev),
        None => match after.first() {
            Some(next) if NAME_QUALIFIERS.contains(&next.as_str()) => true,
            _ => after.iter().all(|t| LANGUAGE_TAGS.contains(&t.as_str())) && person_table(),
        },
    };
    person.then_some(PiiKind::PersonName)
}

/// The nearest word before a name that is neither a qualifier (`first`) nor a generic adjective (`primary`).
fn name_owner(before: &[String]) -> Option<&str> {
    before.iter().rev().map(String::as_str).find(|t| !NAME_QUALIFIERS.contains(t) && !NAME_OWNER_SKIP.contains(t))
}

fn is_person_noun(word: &str) -> bool {
    let singulars = [Some(word), word.strip_suffix("es"), word.strip_suffix('s')];
    singulars.into_iter().flatten().any(|w| PERSON_NOUNS.contains(&w))
}

/// True when a table is named after people: `customers`, `tb_member_info`, `dim_customer`, `회원정보`.
fn is_person_table(table: &str) -> bool {
    let compact: String = name_tokens(table).concat();
    if KO_PERSON_NOUNS.iter().any(|n| compact.contains(n)) {
        return true;
    }
    let tokens = name_tokens(table);
    tokens.iter().rev().find(|t| !TABLE_NOISE.contains(&t.as_str())).is_some_and(|t| is_person_noun(t))
}

// Korean column names. Korean identifiers are matched on the words joined without separators (`고객_이름` →
// `고객이름`), because Korean compounds are written without spaces.

#[rustfmt::skip]
const KO_META: &[&str] = &[
    "여부", "횟수", "건수", "일시", "일자", "날짜", "시간", "유형", "종류", "상태", "동의", "인증", "코드", "길이",
    "카드사", "통신사", "국가",
];

const KO_PATTERNS: &[(PiiKind, &[&str])] = &[
    (PiiKind::Email, &["이메일", "전자우편", "전자메일", "메일"]),
    (PiiKind::NationalId, &["주민등록번호", "주민번호", "외국인등록번호", "여권번호", "운전면허번호"]),
    (PiiKind::CardNumber, &["카드번호", "신용카드"]),
    (PiiKind::Phone, &["전화", "연락처", "휴대폰", "핸드폰", "휴대전화", "팩스"]),
    (PiiKind::Address, &["주소", "거주지", "배송지"]),
];

/// Words for people in Korean column and table names; `X명` and `X이름` are personal names only for these `X`.
#[rustfmt::skip]
const KO_PERSON_NOUNS: &[&str] = &[
    "고객", "회원", "직원", "사원", "학생", "환자", "담당자", "예금주", "수취인", "수령인", "수신인", "주문자",
    "구매자", "사용자", "이용자", "작성자", "가입자", "보호자", "신청자", "대표자", "교사", "교수", "의사", "강사",
    "선수", "가수", "배우", "저자", "작가", "운전자", "승객", "손님", "방문자", "판매자", "발송인", "임차인", "임대인",
    "계약자", "피보험자", "수익자", "배우자", "관리자", "책임자", "소유자", "본인",
];

/// Qualifiers before `이름`/`성명` that keep it a person's name: `영문이름`, `한글성명`.
const KO_NAME_QUALIFIERS: &[&str] = &["영문", "한글", "한자", "실"];

/// Addresses that are not postal: `IP주소`, `웹주소`.
const KO_NOT_POSTAL: &[&str] = &["ip", "mac", "웹", "url", "서버", "이메일", "메일"];

/// `Some(kind)` when a Korean word decided (`Some(None)`: it names metadata, e.g. `이메일수신여부`), `None` when the
/// name has no Korean personal-data word.
fn korean_name_kind(tokens: &[String]) -> Option<Option<PiiKind>> {
    let compact: String = tokens.concat();
    if !compact.chars().any(is_syllable) {
        return None;
    }
    let meta = KO_META.iter().any(|m| compact.contains(m));
    for (kind, words) in KO_PATTERNS {
        if words.iter().any(|w| compact.contains(w)) {
            if *kind == PiiKind::Address && KO_NOT_POSTAL.iter().any(|w| compact.contains(w)) {
                return Some(None);
            }
            return Some((!meta).then_some(*kind));
        }
    }
    if korean_person_name(&compact) {
        return Some((!meta).then_some(PiiKind::PersonName));
    }
    None
}

/// `이름`, `성명`, `성함`, `고객이름`, `영문성명`, `고객명`, `예금주명` — but not `상품명`, `회사이름`, `고객명단`.
fn korean_person_name(compact: &str) -> bool {
    let by_word = ["이름", "성명", "성함"].iter().any(|w| {
        compact.match_indices(w).any(|(i, _)| {
            let prefix = &compact[..i];
            prefix.is_empty()
                || KO_PERSON_NOUNS.iter().chain(KO_NAME_QUALIFIERS).any(|n| prefix.ends_with(n))
                || (!prefix.chars().any(is_syllable) && name_tokens(prefix).last().is_some_and(|t| is_person_noun(t)))
        })
    });
    by_word
        || KO_PERSON_NOUNS.iter().any(|n| {
            compact
                .match_indices(&format!("{n}명"))
                .any(|(i, m)| !compact[i + m.len()..].chars().next().is_some_and(is_syllable))
        })
}

// ---------------------------------------------------------------------------------------------------------------
// Classification by values

/// Classifies a column by its values: the most frequent detected kind, when at least [`VALUE_THRESHOLD_PERCENT`] of
/// the non-empty values (placeholders such as `N/A` or `없음` do not count) are personal data of some kind. Korean
/// names additionally need at least half of the matches to be three syllables or longer, because two-syllable words
/// starting with a surname syllable (`서울`, `정보`, `김치`) are everywhere. Reads at most [`MAX_SAMPLES`] values.
pub fn classify_values(samples: &[&str]) -> Option<PiiKind> {
    let mut counts: BTreeMap<PiiKind, usize> = BTreeMap::new();
    let (mut considered, mut long_names) = (0usize, 0usize);
    for sample in samples.iter().take(MAX_SAMPLES).map(|s| s.trim()).filter(|s| !is_placeholder(s)) {
        considered += 1;
        if let Some(kind) = detect_value(sample) {
            *counts.entry(kind).or_default() += 1;
            if kind == PiiKind::PersonName && sample.chars().count() >= 3 {
                long_names += 1;
            }
        }
    }
    let matched: usize = counts.values().sum();
    if considered == 0 || matched * 100 < considered * VALUE_THRESHOLD_PERCENT {
        return None;
    }
    let best = PiiKind::ALL.iter().copied().max_by_key(|k| {
        // Ties go to the earlier kind in priority order.
        let rank = PiiKind::ALL.len() - PiiKind::ALL.iter().position(|x| x == k).unwrap_or(0);
        (counts.get(k).copied().unwrap_or(0), rank)
    })?;
    let best_count = counts.get(&best).copied().unwrap_or(0);
    if best == PiiKind::PersonName && long_names * 2 < best_count {
        return None;
    }
    Some(best)
}

fn is_placeholder(s: &str) -> bool {
    const PLACEHOLDERS: &[&str] =
        &["-", "--", "n/a", "na", "none", "null", "nil", "unknown", "없음", "미입력", "해당없음"];
    s.is_empty() || PLACEHOLDERS.iter().any(|p| p.eq_ignore_ascii_case(s))
}

/// The kind of personal data one value is, by its shape alone, checking in [`PiiKind::ALL`] order. Person names are
/// recognised only in Hangul (a common surname followed by one to three syllables); Latin-script names have no
/// reliable shape and are left to column names.
pub fn detect_value(value: &str) -> Option<PiiKind> {
    let v = value.trim();
    if v.is_empty() || v.len() > 256 {
        return None;
    }
    if is_email(v) {
        Some(PiiKind::Email)
    } else if is_rrn(v) || is_ssn(v) {
        Some(PiiKind::NationalId)
    } else if is_card_number(v) {
        Some(PiiKind::CardNumber)
    } else if is_phone(v) {
        Some(PiiKind::Phone)
    } else if is_korean_address(v) {
        Some(PiiKind::Address)
    } else if is_korean_name(v) {
        Some(PiiKind::PersonName)
    } else {
        None
    }
}

/// An email address: one `@`, a dot-atom local part of at most 64 characters, and a domain of at least two labels
/// whose last is alphabetic (or an IDN `xn--` label).
fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else { return false };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local.chars().all(|c| c.is_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
    local_ok && is_domain(domain)
}

fn is_domain(d: &str) -> bool {
    let labels: Vec<&str> = d.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_alphanumeric() || c == '-')
    };
    let tld_ok = labels.last().is_some_and(|t| {
        (t.chars().count() >= 2 && t.chars().all(char::is_alphabetic)) || t.to_ascii_lowercase().starts_with("xn--")
    });
    d.len() <= 253 && labels.len() >= 2 && labels.iter().all(label_ok) && tld_ok
}

fn digits_of(s: &str) -> Vec<u8> {
    s.bytes().filter(u8::is_ascii_digit).map(|b| b - b'0').collect()
}

/// Splits `s` at the given separators into groups; `None` when a group is empty or holds anything but digits.
fn digit_groups<'a>(s: &'a str, separators: &[char]) -> Option<Vec<&'a str>> {
    let groups: Vec<&str> = s.split(|c| separators.contains(&c)).filter(|g| !g.is_empty()).collect();
    let ok = !groups.is_empty() && groups.iter().all(|g| g.bytes().all(|b| b.is_ascii_digit()));
    ok.then_some(groups)
}

/// A Korean resident (or foreigner) registration number: `YYMMDD-GNNNNNN` with a valid date and `G` in 1–8 (1–4
/// citizens, 5–8 foreigners, by century and sex). Without the dash, 13 bare digits are too close to other numbers,
/// so the check digit must also be valid (numbers issued since October 2020 have none and need the dash).
fn is_rrn(s: &str) -> bool {
    let (digits, dashed) = match s.split_once('-') {
        Some((a, b)) if a.len() == 6 && b.len() == 7 => (format!("{a}{b}"), true),
        Some(_) => return false,
        None if s.len() == 13 => (s.to_string(), false),
        None => return false,
    };
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let d = digits_of(&digits);
    let date_ok = is_valid_yymmdd(&d[..6]);
    let gender_ok = (1..=8).contains(&d[6]);
    date_ok && gender_ok && (dashed || rrn_checksum_ok(&d))
}

fn is_valid_yymmdd(d: &[u8]) -> bool {
    let (month, day) = (d[2] * 10 + d[3], d[4] * 10 + d[5]);
    let max_day = match month {
        2 => 29,
        4 | 6 | 9 | 11 => 30,
        1..=12 => 31,
        _ => return false,
    };
    (1..=max_day).contains(&day)
}

fn rrn_checksum_ok(d: &[u8]) -> bool {
    const WEIGHTS: [u32; 12] = [2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5];
    let sum: u32 = d.iter().zip(WEIGHTS).map(|(&x, w)| u32::from(x) * w).sum();
    (11 - sum % 11) % 10 == u32::from(d[12])
}

/// A US social security number written `AAA-GG-SSSS`, with the ranges the SSA never issues excluded (area 000, 666
/// and 900–999, group 00, serial 0000). Nine bare digits are not recognised: too many other numbers look like that.
fn is_ssn(s: &str) -> bool {
    let Some(groups) = digit_groups(s, &['-']) else { return false };
    if groups.len() != 3 || s.matches('-').count() != 2 {
        return false;
    }
    let [area, group, serial] = [groups[0], groups[1], groups[2]];
    let lens_ok = area.len() == 3 && group.len() == 2 && serial.len() == 4;
    lens_ok && area != "000" && area != "666" && !area.starts_with('9') && group != "00" && serial != "0000"
}

/// A payment card number: 13–19 digits passing the Luhn check, starting with an issuer digit in use (2–6 for the
/// international networks, 9 for Korean domestic cards — which excludes 13-digit millisecond timestamps, all
/// starting with 1), not one repeated digit, and when separated, grouped the way cards are printed.
fn is_card_number(s: &str) -> bool {
    let Some(groups) = digit_groups(s, &[' ', '-']) else { return false };
    let d = digits_of(s);
    let grouping_ok = match groups.iter().map(|g| g.len()).collect::<Vec<_>>().as_slice() {
        [_] => true,
        [4, 6, 5] | [4, 6, 4] => true,
        [init @ .., last] => init.iter().all(|&l| l == 4) && (1..=4).contains(last),
        [] => false,
    };
    (13..=19).contains(&d.len())
        && grouping_ok
        && matches!(d.first(), Some(2..=6 | 9))
        && d.iter().any(|&x| Some(&x) != d.first())
        && luhn_ok(&d)
}

fn luhn_ok(d: &[u8]) -> bool {
    let sum: u32 = d
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &x)| {
            let x = u32::from(x);
            if i % 2 == 1 { if x * 2 > 9 { x * 2 - 9 } else { x * 2 } } else { x }
        })
        .sum();
    sum.is_multiple_of(10)
}

fn is_phone(s: &str) -> bool {
    korean_phone(s, false).is_some() || is_international_phone(s) || is_nanp_phone(s)
}

/// Korean area codes (after the trunk `0`) other than Seoul's `2`.
const KO_AREA_CODES: &[&str] =
    &["31", "32", "33", "41", "42", "43", "44", "51", "52", "53", "54", "55", "61", "62", "63", "64"];

/// A Korean phone number, as (prefix with its leading `0`, remaining digit slots). Mobile `010-1234-5678`,
/// `01012345678`, `+82-10-1234-5678`, `+82 (0)10 …`; landlines `02-123-4567`, `031-123-4567`; VoIP `070-…`.
/// When separated, the groups must be prefix, 3–4 digits, 4 digits. The first digit after the prefix is not 0 (no
/// exchange starts with 0). With `masked`, `*` may stand for digits after the prefix (to recognise a masked number).
fn korean_phone(s: &str, masked: bool) -> Option<(String, String)> {
    let s = s.trim();
    let (international, body) = match s.strip_prefix("+82") {
        Some(rest) => (true, rest.trim_start_matches([' ', '-', '.']).replacen("(0)", "", 1)),
        None => (false, s.to_string()),
    };
    let slot = |c: char| c.is_ascii_digit() || (masked && c == '*');
    let groups: Vec<&str> = body.split([' ', '-', '.', '(', ')']).filter(|g| !g.is_empty()).collect();
    if groups.is_empty() || !groups.iter().all(|g| g.chars().all(slot)) {
        return None;
    }
    let mut slots: String = groups.concat();
    if international && !slots.starts_with('0') {
        slots.insert(0, '0');
    }
    let prefix = korean_prefix(&slots)?;
    let rest = &slots[prefix.len()..];
    let lens_ok = match prefix.as_str() {
        "010" | "070" => rest.len() == 8,
        _ => (7..=8).contains(&rest.len()),
    };
    let groups_ok = match groups.len() {
        1 => true,
        3 => {
            let first = groups[0].trim_start_matches('0');
            first == prefix.trim_start_matches('0') && (3..=4).contains(&groups[1].len()) && groups[2].len() == 4
        }
        _ => false,
    };
    // No exchange starts with 0 (1 is unusual but appears in widely used sample numbers such as 010-1234-5678).
    let first_ok = rest.chars().next().is_some_and(|c| matches!(c, '1'..='9') || (masked && c == '*'));
    let last4_ok = rest.len() >= 4 && rest[rest.len() - 4..].bytes().all(|b| b.is_ascii_digit());
    (lens_ok && groups_ok && first_ok && last4_ok).then(|| (prefix, rest.to_string()))
}

fn korean_prefix(slots: &str) -> Option<String> {
    let body = slots.strip_prefix('0')?;
    let prefix = if body.starts_with('2') {
        "2"
    } else if let Some(p) = ["10", "11", "16", "17", "18", "19", "70"].iter().find(|p| body.starts_with(*p)) {
        p
    } else {
        KO_AREA_CODES.iter().find(|p| body.starts_with(*p))?
    };
    Some(format!("0{prefix}"))
}

/// A number in international format: `+`, a country code not starting with 0, 8–15 digits in all (E.164), with
/// spaces, dashes, dots or parentheses between groups.
fn is_international_phone(s: &str) -> bool {
    let Some(rest) = s.strip_prefix('+') else { return false };
    let rest = strip_extension(rest);
    let Some(groups) = digit_groups(rest, &[' ', '-', '.', '(', ')']) else { return false };
    let d = digits_of(rest);
    (8..=15).contains(&d.len()) && groups.first().is_some_and(|g| !g.starts_with('0'))
}

/// A North American number with separators: `(415) 555-2671`, `415-555-2671`, `415.555.2671`, `1-415-555-2671`,
/// with an optional extension (`x123`, `ext. 123`). Ten bare digits are not recognised.
fn is_nanp_phone(s: &str) -> bool {
    let main = strip_extension(s);
    let Some(groups) = digit_groups(main, &[' ', '-', '.', '(', ')']) else { return false };
    let lens: Vec<usize> = groups.iter().map(|g| g.len()).collect();
    match lens.as_slice() {
        [3, 3, 4] => true,
        [1, 3, 3, 4] => groups[0] == "1",
        _ => false,
    }
}

/// The number without a trailing extension (`x123`, `ext 123`, `ext. 123`).
fn strip_extension(s: &str) -> &str {
    let lower = s.to_ascii_lowercase();
    for marker in ["ext.", "ext", "x"] {
        if let Some(i) = lower.rfind(marker) {
            let tail = lower[i + marker.len()..].trim_start();
            if !tail.is_empty() && tail.bytes().all(|b| b.is_ascii_digit()) {
                return s[..i].trim_end();
            }
        }
    }
    s
}

/// Korean provinces and metropolitan cities as addresses start with them, in full and short forms.
#[rustfmt::skip]
const KO_PROVINCES: &[&str] = &[
    "서울특별시", "서울시", "서울", "부산광역시", "부산시", "부산", "대구광역시", "대구시", "대구", "인천광역시",
    "인천시", "인천", "광주광역시", "광주시", "광주", "대전광역시", "대전시", "대전", "울산광역시", "울산시", "울산",
    "세종특별자치시", "세종시", "세종", "경기도", "경기", "강원도", "강원특별자치도", "강원", "충청북도", "충북",
    "충청남도", "충남", "전라북도", "전북특별자치도", "전북", "전라남도", "전남", "경상북도", "경북", "경상남도",
    "경남", "제주특별자치도", "제주도", "제주",
];

/// A Korean postal address: a province, a city/county/district (시/군/구; Sejong has none), and a road, village or
/// lot part (`…로`, `…길`, `…동`, `…읍`, `…면`, `…리`, `…가`, or a number): `서울특별시 강남구 테헤란로 152`.
fn is_korean_address(s: &str) -> bool {
    let words: Vec<&str> = s.split_whitespace().collect();
    let [province, second, ..] = words.as_slice() else { return false };
    if words.len() < 3 || !KO_PROVINCES.contains(province) {
        return false;
    }
    let district_ok = ["시", "군", "구"].iter().any(|x| second.ends_with(x)) || province.starts_with("세종");
    let locality_ok = words[2..].iter().chain(std::iter::once(second)).any(|w| {
        ["로", "길", "동", "읍", "면", "리", "가"].iter().any(|x| w.ends_with(x))
            || w.bytes().any(|b| b.is_ascii_digit())
    });
    district_ok && locality_ok
}

/// The hundred or so most common Korean surnames (about 99% of the population), as single syllables.
const KO_SURNAMES: &str = "김이박최정강조윤장임한오서신권황안송전홍유고문양손배백허남심노하곽성차주우구민류나진지엄채원\
천방공현함변염여추도소석선설마길연위표명기반라왕금옥육인맹제모탁국어은편용예경봉사부가복태목형피두감호빈동온좌\
음리림";

/// Two-syllable surnames.
const KO_COMPOUND_SURNAMES: &[&str] = &["남궁", "황보", "제갈", "선우", "사공", "독고", "서문", "동방"];

/// A Korean name: two to four Hangul syllables starting with a common surname (or three to four with a compound
/// surname).
fn is_korean_name(s: &str) -> bool {
    let syllables: Vec<char> = s.chars().collect();
    let n = syllables.len();
    if !(2..=4).contains(&n) || !syllables.iter().all(|&c| is_syllable(c)) {
        return false;
    }
    let compound = n >= 3 && KO_COMPOUND_SURNAMES.iter().any(|p| s.starts_with(p));
    compound || KO_SURNAMES.contains(syllables[0])
}

// ---------------------------------------------------------------------------------------------------------------
// Masking

/// Masks every cell of the columns whose kind is `Some`. `kinds[i]` belongs to column `i`; columns beyond `kinds`
/// are left alone (they were not classified as personal data).
pub fn mask_result(result: &mut ResultSet, kinds: &[Option<PiiKind>]) {
    for row in &mut result.rows {
        for (cell, kind) in row.iter_mut().zip(kinds) {
            if let Some(kind) = kind {
                *cell = mask_value(*kind, cell);
            }
        }
    }
}

/// Masks one value as `kind`. Nulls stay null; text, integers and decimals are masked by their text
/// ([`mask_text`]); any other value (booleans, floats, blobs, JSON) becomes the text `***`.
pub fn mask_value(kind: PiiKind, value: &Value) -> Value {
    match value {
        Value::Null => Value::Null,
        Value::Text(s) => Value::Text(mask_text(kind, s)),
        Value::Int(_) | Value::Decimal(_) => Value::Text(mask_text(kind, &value.to_display())),
        _ => Value::Text(UNKNOWN_MASK.to_string()),
    }
}

/// Masks one text as `kind`; `***` when its shape is not one the kind's format knows. Formats (seed 000 keeps a little
/// more of each; these keep less and never show lengths):
/// - email: first character of the local part and the domain, `j***@example.com`;
/// - phone: Korean numbers keep the prefix and last four digits, `010-****-5678`, `02-****-4567`,
///   `+82-10-****-5678`; other numbers of at least seven digits keep the last four, `***-****-2671`;
/// - card number: the last four digits, `****-****-****-1234`, whatever the length;
/// - national ID: a Korean registration number keeps the birth date only, `900101-*******` — the form Korean
///   certificates print when the back digits are hidden, which also hides sex, century and (before 2020) place of
///   registration; a US SSN keeps its last four digits, `***-**-6789`; anything else is `***`;
/// - person name: Hangul names keep the first and last syllable, `김*수`, `김*` for two syllables (so three and four
///   syllables look alike); other names keep each word's initial, `J*** D***` (at most four words);
/// - address: a Korean address keeps its province and district, `서울특별시 강남구 ***`; others are `***`.
pub fn mask_text(kind: PiiKind, text: &str) -> String {
    let s = text.trim();
    let masked = match kind {
        PiiKind::Email => mask_email(s),
        PiiKind::Phone => mask_phone(s),
        PiiKind::CardNumber => mask_card(s),
        PiiKind::NationalId => mask_national_id(s),
        PiiKind::PersonName => mask_name(s),
        PiiKind::Address => mask_address(s),
    };
    masked.unwrap_or_else(|| UNKNOWN_MASK.to_string())
}

fn mask_email(s: &str) -> Option<String> {
    let (local, domain) = s.rsplit_once('@')?;
    let first = local.chars().next()?;
    if local.chars().any(char::is_whitespace) || !is_domain(domain) {
        return None;
    }
    let keep = if first == '*' { String::new() } else { first.to_string() };
    Some(format!("{keep}***@{domain}"))
}

fn mask_phone(s: &str) -> Option<String> {
    if let Some((prefix, rest)) = korean_phone(s, true) {
        let last4 = &rest[rest.len() - 4..];
        return Some(if s.trim_start().starts_with("+82") {
            format!("+82-{}-****-{last4}", &prefix[1..])
        } else {
            format!("{prefix}-****-{last4}")
        });
    }
    let main = strip_extension(s);
    let allowed = |c: char| c.is_ascii_digit() || c == '*' || " -.()+".contains(c);
    let slots: Vec<char> = main.chars().filter(|c| c.is_ascii_digit() || *c == '*').collect();
    if !main.chars().all(allowed) || slots.len() < 7 {
        return None;
    }
    last_four_digits(&slots).map(|last4| format!("***-****-{last4}"))
}

fn last_four_digits(slots: &[char]) -> Option<String> {
    let tail = slots.get(slots.len().checked_sub(4)?..)?;
    tail.iter().all(char::is_ascii_digit).then(|| tail.iter().collect())
}

fn mask_card(s: &str) -> Option<String> {
    if !s.chars().all(|c| c.is_ascii_digit() || c == '*' || c == ' ' || c == '-') {
        return None;
    }
    let slots: Vec<char> = s.chars().filter(|c| c.is_ascii_digit() || *c == '*').collect();
    if !(12..=19).contains(&slots.len()) {
        return None;
    }
    last_four_digits(&slots).map(|last4| format!("****-****-****-{last4}"))
}

fn mask_national_id(s: &str) -> Option<String> {
    let slot = |c: char| c.is_ascii_digit() || c == '*';
    let parts: Vec<&str> = s.split('-').collect();
    match parts.as_slice() {
        // Korean RRN, with or without its dash: keep the birth date.
        [front, back] if front.len() == 6 && back.len() == 7 => {}
        [whole] if whole.len() == 13 => {}
        // US SSN: keep the last four digits.
        [a, b, c] if a.len() == 3 && b.len() == 2 && c.len() == 4 => {
            let all_slots = parts.iter().all(|p| p.chars().all(slot));
            let last4 = c.bytes().all(|b| b.is_ascii_digit());
            return (all_slots && last4).then(|| format!("***-**-{c}"));
        }
        _ => return None,
    }
    let slots: String = parts.concat();
    let birth = slots.get(..6)?;
    let ok = slots.chars().all(slot) && birth.bytes().all(|b| b.is_ascii_digit());
    ok.then(|| format!("{birth}-*******"))
}

fn mask_name(s: &str) -> Option<String> {
    let chars: Vec<char> = s.chars().collect();
    let hangul_name = chars.len() >= 2 && is_syllable(chars[0]) && chars.iter().all(|&c| is_syllable(c) || c == '*');
    if hangul_name {
        let (first, last) = (chars[0], chars[chars.len() - 1]);
        return Some(if chars.len() >= 3 && last != '*' { format!("{first}*{last}") } else { format!("{first}*") });
    }
    let words: Vec<&str> = s.split_whitespace().collect();
    if !(1..=4).contains(&words.len()) {
        return None;
    }
    let masked: Vec<String> = words
        .iter()
        .map(|w| match w.chars().next() {
            Some(c) if is_syllable(c) => format!("{c}*"),
            Some(c) if c.is_alphabetic() => format!("{c}***"),
            _ => UNKNOWN_MASK.to_string(),
        })
        .collect();
    Some(masked.join(" "))
}

fn mask_address(s: &str) -> Option<String> {
    let words: Vec<&str> = s.split_whitespace().collect();
    let [province, second, ..] = words.as_slice() else { return None };
    if !KO_PROVINCES.contains(province) {
        return None;
    }
    let district = ["시", "군", "구"].iter().any(|x| second.ends_with(x)) && !second.contains('*');
    Some(if district { format!("{province} {second} ***") } else { format!("{province} ***") })
}

#[cfg(test)]
mod tests {
    use super::*;
    use PiiKind::*;

    fn name(table: Option<&str>, column: &str) -> Option<PiiKind> {
        classify_name(table, column)
    }

    #[test]
    fn kinds_round_trip_their_stable_names() {
        for &kind in PiiKind::ALL {
            assert_eq!(kind.as_str().parse::<PiiKind>().expect("parses"), kind);
            assert_eq!(serde_json::to_value(kind).expect("json"), serde_json::json!(kind.as_str()));
        }
        assert_eq!(" Card_Number ".parse::<PiiKind>().expect("parses"), CardNumber);
        let err = "ssn".parse::<PiiKind>().expect_err("unknown");
        assert_eq!(err.code, ErrorCode::InvalidArgument);
        assert!(err.message.contains("national_id"), "{}", err.message);
    }

    #[test]
    fn column_names_in_english() {
        let cases: &[(Option<&str>, &str, Option<PiiKind>)] = &[
            (None, "email", Some(Email)),
            (None, "e_mail", Some(Email)),
            (None, "EmailAddress", Some(Email)),
            (None, "Customer_Email_Address", Some(Email)),
            (None, "mail", Some(Email)),
            (None, "upper(email)", Some(Email)),
            (None, "phone", Some(Phone)),
            (None, "phone_number", Some(Phone)),
            (None, "PhoneNumber", Some(Phone)),
            (None, "mobile", Some(Phone)),
            (None, "cell_mobile_number", Some(Phone)),
            (None, "cellphone", Some(Phone)),
            (None, "tel_no", Some(Phone)),
            (None, "TELNO", Some(Phone)),
            (None, "HP_NO", Some(Phone)),
            (None, "fax", Some(Phone)),
            (None, "contact_number", Some(Phone)),
            (None, "card_no", Some(CardNumber)),
            (None, "credit_card", Some(CardNumber)),
            (None, "creditCardNumber", Some(CardNumber)),
            (None, "cc_number", Some(CardNumber)),
            (None, "rrn", Some(NationalId)),
            (None, "ssn", Some(NationalId)),
            (None, "SSNNumber", Some(NationalId)),
            (None, "Mgr_ssn", Some(NationalId)),
            (None, "resident_no", Some(NationalId)),
            (None, "JUMIN_NO", Some(NationalId)),
            (None, "national_id", Some(NationalId)),
            (None, "passport_number", Some(NationalId)),
            (None, "address", Some(Address)),
            (None, "home_addr", Some(Address)),
            (None, "billing_address_line1", Some(Address)),
            (None, "full_name", Some(PersonName)),
            (None, "first_name", Some(PersonName)),
            (None, "LastName", Some(PersonName)),
            (None, "customer_name", Some(PersonName)),
            (None, "customer_first_name", Some(PersonName)),
            (None, "CUST_NM", Some(PersonName)),
            (None, "emp_nm", Some(PersonName)),
            (None, "user_name", Some(PersonName)),
            (None, "surname", Some(PersonName)),
            (None, "fname", Some(PersonName)),
            (None, "name_last", Some(PersonName)),
            (None, "primary_contact_first_name", Some(PersonName)),
            (None, "personal_name", Some(PersonName)),
            (None, "LName", Some(PersonName)),
            (Some("STUDENT"), "STU_FNAME", Some(PersonName)),
            (Some("Apartment_Buildings"), "guest_first_name", Some(PersonName)),
            (Some("customers"), "name", Some(PersonName)),
            (Some("people"), "Name", Some(PersonName)),
            (Some("tb_member_info"), "name", Some(PersonName)),
            (Some("dim_customer"), "name_en", Some(PersonName)),
            (Some("employees"), "name", Some(PersonName)),
        ];
        for (table, column, want) in cases {
            assert_eq!(name(*table, column), *want, "{table:?}.{column}");
        }
    }

    #[test]
    fn column_names_that_are_not_personal_data() {
        let cases: &[(Option<&str>, &str)] = &[
            (None, "product_name"),
            (None, "company_name"),
            (None, "file_name"),
            (None, "filename"),
            (None, "table_name"),
            (None, "category_name"),
            (None, "username"),
            (None, "name"),
            (Some("products"), "name"),
            (Some("stadium"), "name"),
            (Some("customer_orders"), "name"),
            (Some("customers"), "name_length"),
            (None, "email_verified"),
            (None, "email_count"),
            (None, "count(email)"),
            (None, "length(email)"),
            (None, "is_mobile"),
            (None, "mobile_app_version"),
            (None, "phone_verified_at"),
            (None, "card_company"),
            (None, "card_id"),
            (None, "card_type_code"),
            (Some("Apartment_Buildings"), "building_full_name"),
            (Some("city"), "official_name"),
            (None, "resident_id"),
            (None, "card"),
            (None, "Membership_card"),
            (None, "passport_expiry"),
            (None, "ip_address"),
            (None, "mac_address"),
            (None, "wallet_address"),
            (None, "horsepower"),
            (None, "hp"),
            (None, "order_number"),
            (None, "telemetry"),
            (None, "mailshot_id"),
            (None, "cell_type"),
            (None, ""),
            (None, "___"),
        ];
        for (table, column) in cases {
            assert_eq!(name(*table, column), None, "{table:?}.{column}");
        }
    }

    #[test]
    fn column_names_in_korean() {
        let cases: &[(&str, Option<PiiKind>)] = &[
            ("이메일", Some(Email)),
            ("고객_이메일", Some(Email)),
            ("이메일주소", Some(Email)),
            ("전화번호", Some(Phone)),
            ("연락처", Some(Phone)),
            ("휴대폰번호", Some(Phone)),
            ("핸드폰", Some(Phone)),
            ("카드번호", Some(CardNumber)),
            ("신용카드", Some(CardNumber)),
            ("주민등록번호", Some(NationalId)),
            ("주민번호", Some(NationalId)),
            ("외국인등록번호", Some(NationalId)),
            ("주소", Some(Address)),
            ("배송지", Some(Address)),
            ("도로명주소", Some(Address)),
            ("이름", Some(PersonName)),
            ("성명", Some(PersonName)),
            ("고객명", Some(PersonName)),
            ("고객_이름", Some(PersonName)),
            ("회원명", Some(PersonName)),
            ("예금주명", Some(PersonName)),
            ("영문성명", Some(PersonName)),
            ("customer이름", Some(PersonName)),
            // not personal data
            ("상품명", None),
            ("회사명", None),
            ("회사이름", None),
            ("파일명", None),
            ("카테고리명", None),
            ("고객명단", None),
            ("카드사", None),
            ("이메일수신여부", None),
            ("전화횟수", None),
            ("IP주소", None),
            ("웹주소", None),
            ("주문번호", None),
            ("매출액", None),
        ];
        for (column, want) in cases {
            assert_eq!(name(None, column), *want, "{column}");
        }
        assert_eq!(name(Some("회원정보"), "name"), Some(PersonName));
    }

    #[test]
    fn email_values() {
        for v in ["kim@example.com", "j.doe+tag@mail.example.co.kr", "a@b.io", " x_y@d-e.org ", "홍길동@회사.한국"]
        {
            assert_eq!(detect_value(v), Some(Email), "{v}");
        }
        for v in [
            "@example.com",
            "kim@",
            "kim@localhost",
            "kim@example",
            "kim@@example.com",
            "kim@ex..com",
            ".kim@example.com",
            "kim.@example.com",
            "kim@-ex.com",
            "kim@example.c0m",
            "kim example@x.com",
            "a@b.c",
            "not an email",
        ] {
            assert_ne!(detect_value(v), Some(Email), "{v}");
        }
    }

    #[test]
    fn phone_values() {
        let phones = [
            "010-1234-5678",
            "01012345678",
            "010 1234 5678",
            "010.1234.5678",
            "+82-10-1234-5678",
            "+82 10 1234 5678",
            "+821012345678",
            "+82 (0)10-1234-5678",
            "011-123-4567",
            "02-123-4567",
            "02-1234-5678",
            "(02) 1234-5678",
            "031-123-4567",
            "0312345678",
            "070-1234-5678",
            "+1 (514) 721-4711",
            "+55 (12) 3923-5555",
            "+49 0711 2842222",
            "(948)040-1064x387",
            "1-247-673-8446",
            "235.899.9744",
            "202.626.1698x9242",
            "415-555-2671",
        ];
        for v in phones {
            assert_eq!(detect_value(v), Some(Phone), "{v}");
        }
        let not_phones = [
            "0101234567",     // 010 numbers have eight digits after the prefix
            "010-0123-4567",  // no number starts its exchange with 0
            "010-12-345678",  // wrong grouping
            "2024-0101-1234", // an order number
            "20240101-0001",
            "ORD-010-1234-5678",
            "0001234567",
            "1588-1234", // a business representative number, not a person's
            "12345",
            "+0 123 456 789",
            "+12345",
            "4155552671", // ten bare digits
            "2024-01-15",
        ];
        for v in not_phones {
            assert_ne!(detect_value(v), Some(Phone), "{v}");
        }
    }

    #[test]
    fn card_values() {
        for v in [
            "4111111111111111",
            "4111 1111 1111 1111",
            "4111-1111-1111-1111",
            "5500 0000 0000 0004",
            "3782 822463 10005",
            "348237249146944",
            "4539333582768",
            "9410000000000005",
        ] {
            assert_eq!(detect_value(v), Some(CardNumber), "{v}");
        }
        for v in [
            "4111111111111112",    // Luhn fails
            "1700000000004",       // a millisecond timestamp that happens to pass Luhn
            "1718000000000",       // a millisecond timestamp
            "0000000000000000",    // passes Luhn, not a card
            "4111 11111 1111 111", // printed grouping is wrong
            "411111111111",        // too short
            "41111111111111111111",
            "4111a11111111111",
        ] {
            assert_ne!(detect_value(v), Some(CardNumber), "{v}");
        }
    }

    #[test]
    fn national_id_values() {
        for v in ["900101-1234567", "021231-3123456", "851115-5123456", "000229-4123456", "123-45-6789"] {
            assert_eq!(detect_value(v), Some(NationalId), "{v}");
        }
        // Without a dash, the check digit decides: 900101-1234568 has a valid one, ...567 does not.
        assert!(rrn_checksum_ok(&digits_of("9001011234568")));
        assert_eq!(detect_value("9001011234568"), Some(NationalId));
        assert_ne!(detect_value("9001011234567"), Some(NationalId));
        for v in [
            "901301-1234567", // month 13
            "900132-1234567", // day 32
            "900431-1234567", // April 31
            "900101-9234567", // gender digit 9
            "900101-0234567",
            "2024-01-01",
            "20240101-1234567",
            "900101-123456",
            "000-12-3456",
            "666-12-3456",
            "912-12-3456",
            "123-00-6789",
            "123-45-0000",
            "123456789",
        ] {
            assert_ne!(detect_value(v), Some(NationalId), "{v}");
        }
    }

    #[test]
    fn korean_name_and_address_values() {
        for v in ["김철수", "이영희", "박지", "남궁민수", "제갈량", "황보석"] {
            assert_eq!(detect_value(v), Some(PersonName), "{v}");
        }
        for v in ["아메리카노", "커피", "노트북가방들", "김", "Kim", "김철수1", "케이크"] {
            assert_ne!(detect_value(v), Some(PersonName), "{v}");
        }
        for v in [
            "서울특별시 강남구 테헤란로 152",
            "경기도 성남시 분당구 판교역로 235",
            "서울 강남구 역삼동 123-4",
            "세종특별자치시 한누리대로 2130",
        ] {
            assert_eq!(detect_value(v), Some(Address), "{v}");
        }
        for v in ["서울특별시", "서울 강남구", "서울 맛집 추천", "강남구 테헤란로 152"] {
            assert_ne!(detect_value(v), Some(Address), "{v}");
        }
    }

    #[test]
    fn value_classification_needs_a_clear_majority() {
        let emails = ["a@x.com", "b@x.com", "c@x.com", "d@x.com", "N/A", "", "없음"];
        assert_eq!(classify_values(&emails), Some(Email));
        // Four of five is enough, three of five is not.
        assert_eq!(classify_values(&["a@x.com", "b@x.com", "c@x.com", "d@x.com", "hello"]), Some(Email));
        assert_eq!(classify_values(&["a@x.com", "b@x.com", "c@x.com", "hi", "hello"]), None);
        // A contact column mixing emails and phones is personal data; the more common kind names it, ties go to the
        // kind checked first.
        assert_eq!(classify_values(&["a@x.com", "010-1234-5678", "02-123-4567"]), Some(Phone));
        assert_eq!(classify_values(&["a@x.com", "010-1234-5678", "02-123-4567", "b@y.kr"]), Some(Email));
        assert_eq!(classify_values(&[]), None);
        assert_eq!(classify_values(&["", " ", "-"]), None);
        // Only the first MAX_SAMPLES values are read.
        let mut many = vec!["plain text"; MAX_SAMPLES];
        many.extend(["a@x.com"; 1000]);
        assert_eq!(classify_values(&many), None);
    }

    #[test]
    fn korean_names_need_mostly_three_syllables() {
        assert_eq!(classify_values(&["김철수", "이영희", "박민", "최지우", "정하늘"]), Some(PersonName));
        // Cities and common words that begin with a surname syllable.
        assert_eq!(classify_values(&["서울", "부산", "인천", "전주", "강릉", "안산", "구미"]), None);
        assert_eq!(classify_values(&["정보", "김치", "이사", "강남", "신발"]), None);
        // A menu where many dishes start with a surname syllable, several with three or four syllables.
        let menu = [
            "김밥",
            "라면",
            "떡볶이",
            "순대",
            "어묵",
            "우동",
            "김치찌개",
            "제육볶음",
            "비빔밥",
            "불고기",
            "갈비탕",
            "육개장",
            "설렁탕",
            "곰탕",
            "한정식",
        ];
        assert_eq!(classify_values(&menu), None);
    }

    #[test]
    fn timestamps_and_ids_are_not_cards() {
        let stamps: Vec<String> = (0..50).map(|i| (1_700_000_000_000i64 + i * 86_400_123).to_string()).collect();
        let samples: Vec<&str> = stamps.iter().map(String::as_str).collect();
        assert_eq!(classify_values(&samples), None);
        let ids: Vec<String> = (1..200).map(|i| i.to_string()).collect();
        let samples: Vec<&str> = ids.iter().map(String::as_str).collect();
        assert_eq!(classify_values(&samples), None);
    }

    #[test]
    fn classify_column_uses_name_then_values() {
        assert_eq!(classify_column(Some("products"), "name", &["Coffee", "Tea"]), None);
        assert_eq!(classify_column(Some("products"), "name", &["김철수", "이영희"]), Some(PersonName));
        assert_eq!(classify_column(None, "contact", &["a@x.com", "b@y.org"]), Some(Email));
        assert_eq!(classify_column(None, "email", &[]), Some(Email));
        assert_eq!(
            classify_column(None, "other_card_details", &["5567915676420345", "4539333582768"]),
            Some(CardNumber)
        );
    }

    #[test]
    fn policy_overrides_win_both_ways() {
        let mut policy = PiiPolicy::new();
        policy.set("Users.Nickname", Some(PersonName)).expect("valid key");
        policy.set("email", None).expect("valid key");
        policy.set("public.orders.memo", Some(Phone)).expect("valid key");
        assert_eq!(policy.classify_column(Some("users"), "nickname", &[]), Some(PersonName));
        assert_eq!(policy.classify_column(Some("accounts"), "nickname", &[]), None);
        assert_eq!(policy.classify_column(Some("users"), "EMAIL", &["a@x.com"]), None);
        assert_eq!(policy.classify_column(Some("users"), "phone", &[]), Some(Phone));
        assert_eq!(policy.lookup(Some("public.orders"), "memo"), Some(Some(Phone)));
        assert_eq!(policy.lookup(Some("orders"), "memo"), None);
        assert_eq!(policy.lookup(Some("public.users"), "nickname"), Some(Some(PersonName)));
        let shown: Vec<(&str, Option<PiiKind>)> = policy.overrides().collect();
        assert_eq!(shown[0], ("email", None));
        assert_eq!(shown.len(), 3);
        for bad in ["", " ", "users.", ".email", "a..b"] {
            let err = policy.set(bad, None).expect_err(bad);
            assert_eq!(err.code, ErrorCode::InvalidArgument);
        }
    }

    #[test]
    fn policy_overrides_parse_and_serialise() {
        assert_eq!(PiiPolicy::parse_override("users.email=none").expect("ok"), ("users.email".to_string(), None));
        assert_eq!(PiiPolicy::parse_override(" Memo = Phone ").expect("ok"), ("memo".to_string(), Some(Phone)));
        for bad in ["users.email", "=email", "memo=phon", "memo="] {
            assert!(PiiPolicy::parse_override(bad).is_err(), "{bad}");
        }
        let policy: PiiPolicy =
            serde_json::from_value(serde_json::json!({"Users.Email": null, "memo": "phone"})).expect("valid");
        assert_eq!(policy.lookup(Some("users"), "email"), Some(None));
        assert_eq!(
            serde_json::to_value(&policy).expect("json"),
            serde_json::json!({"memo": "phone", "users.email": null})
        );
        assert!(serde_json::from_value::<PiiPolicy>(serde_json::json!({"x": "ssn"})).is_err());
        assert!(serde_json::from_value::<PiiPolicy>(serde_json::json!({"x.": "email"})).is_err());
    }

    fn col(name: &str) -> ResultColumn {
        ResultColumn { name: name.into(), decl_type: None }
    }

    fn text(s: &str) -> Value {
        Value::Text(s.into())
    }

    #[test]
    fn result_columns_are_caught_through_aliases_and_expressions() {
        let columns = [col("contact"), col("who"), col("upper(email)"), col("total"), col("card"), col("memo")];
        let rows = vec![
            vec![
                text("kim@example.com"),
                text("김철수"),
                text("KIM@EXAMPLE.COM"),
                Value::Int(3),
                Value::Int(4111111111111111),
                text("hi"),
            ],
            vec![
                text("lee@example.org"),
                text("이영희"),
                text("LEE@EXAMPLE.ORG"),
                Value::Int(5),
                Value::Null,
                text("x"),
            ],
            vec![Value::Null, text("박민수"), Value::Null, Value::Int(7), Value::Int(5500000000000004), text("y")],
        ];
        let policy = PiiPolicy::new();
        let decisions = explain_result(&columns, &rows, |_| None, &policy);
        let kinds: Vec<Option<PiiKind>> = decisions.iter().map(|d| d.kind).collect();
        assert_eq!(kinds, vec![Some(Email), Some(PersonName), Some(Email), None, Some(CardNumber), None]);
        assert_eq!(decisions[0].basis, PiiBasis::Values);
        assert_eq!(decisions[2].basis, PiiBasis::Name);
        assert_eq!(decisions[3].basis, PiiBasis::Undetected);

        // The schema hint and the policy come first, in that order of precedence.
        let mut policy = PiiPolicy::new();
        policy.set("contact", None).expect("valid key");
        let hint = |c: &str| (c == "memo" || c == "contact").then_some(Address);
        let decisions = explain_result(&columns, &rows, hint, &policy);
        assert_eq!(decisions[0], PiiDecision { kind: None, basis: PiiBasis::Override });
        assert_eq!(decisions[5], PiiDecision { kind: Some(Address), basis: PiiBasis::Schema });
        assert_eq!(classify_result(&columns, &rows, hint, &policy)[5], Some(Address));

        // Rows shorter than the columns do not panic; an empty result classifies by names only.
        let ragged = vec![vec![text("a@x.com")]];
        assert_eq!(classify_result(&columns, &ragged, |_| None, &PiiPolicy::new())[0], Some(Email));
        assert_eq!(classify_result(&columns, &[], |_| None, &PiiPolicy::new())[2], Some(Email));
    }

    #[test]
    fn masking_formats() {
        let cases: &[(PiiKind, &str, &str)] = &[
            (Email, "john.doe@example.com", "j***@example.com"),
            (Email, "  kim@회사.한국 ", "k***@회사.한국"),
            (Email, "not-an-email", "***"),
            (Email, "a@b", "***"),
            (Phone, "010-1234-5678", "010-****-5678"),
            (Phone, "01012345678", "010-****-5678"),
            (Phone, "+82 10 1234 5678", "+82-10-****-5678"),
            (Phone, "02-123-4567", "02-****-4567"),
            (Phone, "031-1234-5678", "031-****-5678"),
            (Phone, "+1 (514) 721-4711", "***-****-4711"),
            (Phone, "(948)040-1064x387", "***-****-1064"),
            (Phone, "2134", "***"),
            (Phone, "call me", "***"),
            (CardNumber, "4111 1111 1111 1111", "****-****-****-1111"),
            (CardNumber, "348237249146944", "****-****-****-6944"),
            (CardNumber, "1234", "***"),
            (NationalId, "900101-1234567", "900101-*******"),
            (NationalId, "9001011234568", "900101-*******"),
            (NationalId, "123-45-6789", "***-**-6789"),
            (NationalId, "M12345678", "***"),
            (PersonName, "김철수", "김*수"),
            (PersonName, "남궁민수", "남*수"),
            (PersonName, "김수", "김*"),
            (PersonName, "John Doe", "J*** D***"),
            (PersonName, "Jo", "J***"),
            (PersonName, "홍 길동", "홍* 길*"),
            (PersonName, "a b c d e", "***"),
            (PersonName, "42", "***"),
            (Address, "서울특별시 강남구 테헤란로 152", "서울특별시 강남구 ***"),
            (Address, "세종특별자치시 한누리대로 2130", "세종특별자치시 ***"),
            (Address, "1600 Amphitheatre Pkwy", "***"),
        ];
        for (kind, input, want) in cases {
            assert_eq!(mask_text(*kind, input), *want, "{kind} {input}");
        }
        // Lengths do not show: a 13- and a 19-digit card, a 3- and 4-syllable name, short and long local parts.
        assert_eq!(mask_text(CardNumber, "4539333582768"), "****-****-****-2768");
        assert_eq!(mask_text(CardNumber, "4111111111111111110").len(), "****-****-****-1110".len());
        assert_eq!(mask_text(Email, "j@x.com"), mask_text(Email, "jonathan.livingston@x.com"));
    }

    #[test]
    fn masking_values_of_every_type() {
        assert_eq!(mask_value(Email, &Value::Null), Value::Null);
        assert_eq!(mask_value(CardNumber, &Value::Int(4111111111111111)), text("****-****-****-1111"));
        assert_eq!(mask_value(NationalId, &Value::Decimal("9001011234568".into())), text("900101-*******"));
        assert_eq!(mask_value(Phone, &Value::Int(-5)), text("***"));
        for v in [
            Value::Bool(true),
            Value::Float(1.5),
            Value::Blob(vec![1, 2]),
            Value::Json(serde_json::json!({"e": "a@b.c"})),
        ] {
            assert_eq!(mask_value(Email, &v), text("***"));
        }
    }

    #[test]
    fn mask_result_masks_only_classified_columns() {
        let mut rs = ResultSet {
            columns: vec![col("email"), col("n"), col("extra")],
            rows: vec![vec![text("kim@example.com"), Value::Int(1), text("keep")], vec![Value::Null, Value::Int(2)]],
            truncated: false,
        };
        mask_result(&mut rs, &[Some(Email), None]);
        assert_eq!(rs.rows[0], vec![text("k***@example.com"), Value::Int(1), text("keep")]);
        assert_eq!(rs.rows[1], vec![Value::Null, Value::Int(2)]);
        let before = rs.clone();
        mask_result(&mut rs, &[Some(Email), None]);
        assert_eq!(rs, before, "masking twice changes nothing");
    }

    fn pii_text() -> impl proptest::strategy::Strategy<Value = (PiiKind, String)> {
        use proptest::prelude::*;
        prop_oneof![
            "[a-z][a-z0-9._]{0,15}@[a-z]{1,10}\\.(com|co\\.kr|org)".prop_map(|s| (Email, s)),
            "010-[2-9][0-9]{3}-[0-9]{4}".prop_map(|s| (Phone, s)),
            "0[2-6][1-5]?[ -]?[2-9][0-9]{2,3}[ -]?[0-9]{4}".prop_map(|s| (Phone, s)),
            "[3-6][0-9]{12,18}".prop_map(|s| (CardNumber, s)),
            "[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|1[0-9]|2[0-8])-[1-8][0-9]{6}".prop_map(|s| (NationalId, s)),
            "[김이박최정][가-힣]{1,3}".prop_map(|s| (PersonName, s)),
            "[A-Z][a-z]{1,8}( [A-Z][a-z]{1,8}){0,2}".prop_map(|s| (PersonName, s)),
            "(서울특별시|경기도) [가-힣]{1,3}[시구] [가-힣]{1,4}로 [0-9]{1,3}".prop_map(|s| (Address, s)),
        ]
    }

    proptest::proptest! {
        #[test]
        fn masking_never_panics_changes_starless_text_and_is_idempotent(
            // Arbitrary text, and text made of the characters the formats are built from.
            s in proptest::prop_oneof!["\\PC{0,40}", "[0-9*@.+() x김수서울시구로a-]{0,24}"],
            k in 0usize..6,
        ) {
            let kind = PiiKind::ALL[k];
            let once = mask_value(kind, &Value::Text(s.clone()));
            let Value::Text(masked) = &once else { panic!("text in, text out") };
            if !s.contains('*') {
                proptest::prop_assert_ne!(masked, &s);
            }
            proptest::prop_assert_eq!(mask_value(kind, &once), once.clone());
        }

        #[test]
        fn personal_data_is_never_returned_unchanged((kind, s) in pii_text()) {
            let masked = mask_text(kind, &s);
            proptest::prop_assert_ne!(&masked, &s);
            proptest::prop_assert_ne!(masked.as_str(), "", "{}", s);
            proptest::prop_assert_eq!(mask_text(kind, &masked), masked.clone());
        }

        #[test]
        fn classification_never_panics(name in "\\PC{0,30}", values in proptest::collection::vec("\\PC{0,30}", 0..8)) {
            let samples: Vec<&str> = values.iter().map(String::as_str).collect();
            let _ = classify_column(Some(&name), &name, &samples);
            let _ = is_person_table(&name);
        }
    }
}
