//! Secrets (API keys, passwords, tokens) live only inside [`Secret`]: its `Debug` and `Display` print a redaction,
//! it does not implement `Serialize`, and the only way to read it is the explicit [`Secret::expose`].
//!
//! A database URL is a secret too, because it may carry a password (`postgres://user:PASSWORD@host/db`,
//! `…?password=PASSWORD`): it lives in [`SecretUrl`], whose every printed form — `Debug`, `Display`, `Serialize` —
//! is [`redact_url`]'s. That is the one redaction every path uses (configuration output, errors, logs).

use std::fmt;

#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret's value, for the one place that must send it (an HTTP header, a driver's login).
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(\"[redacted]\")")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

/// A database URL or path that may hold a password. Printed (`Debug`, `Display`, `Serialize`) only as
/// [`redact_url`] writes it; [`SecretUrl::expose`] gives the text to the one place that connects.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct SecretUrl(String);

impl SecretUrl {
    pub fn new(value: impl Into<String>) -> Self {
        SecretUrl(value.into())
    }

    /// The URL as given, password included: for parsing it into a driver's login, nothing else.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The URL with any password replaced by `[redacted]`.
    pub fn redacted(&self) -> String {
        redact_url(&self.0)
    }

    pub fn is_empty(&self) -> bool {
        self.0.trim().is_empty()
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretUrl({:?})", self.redacted())
    }
}

impl fmt::Display for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl std::str::FromStr for SecretUrl {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(SecretUrl(s.to_string()))
    }
}

impl serde::Serialize for SecretUrl {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.redacted())
    }
}

impl<'de> serde::Deserialize<'de> for SecretUrl {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(SecretUrl)
    }
}

/// What stands for a removed password.
pub const REDACTED: &str = "[redacted]";

/// Query parameters whose value is a password, compared case-insensitively.
const PASSWORD_PARAMS: &[&str] = &["password", "pass", "passwd", "pwd", "sslpassword"];

/// `url` with every password removed: the password of the user-info part (`scheme://user:PASSWORD@host`) and the
/// value of any password query parameter (`?password=…`). Works on any text, also malformed URLs: a string that is
/// not a URL comes back unchanged, and when it cannot tell where a password ends it removes more rather than less
/// (everything up to the last `@` before the query string). Plain paths (SQLite files) are unchanged.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else { return redact_query(url) };
    let rest_start = scheme_end + 3;
    let rest = &url[rest_start..];
    let query_at = rest.find('?').unwrap_or(rest.len());
    let (before_query, query) = rest.split_at(query_at);
    let mut out = String::with_capacity(url.len());
    out.push_str(&url[..rest_start]);
    // The password may hold an unencoded '@' or '/': the host part follows the last '@' before the query.
    match before_query.rfind('@') {
        Some(at) => {
            let userinfo = &before_query[..at];
            match userinfo.find(':') {
                Some(colon) => {
                    out.push_str(&userinfo[..colon]);
                    out.push(':');
                    out.push_str(REDACTED);
                }
                None => out.push_str(userinfo),
            }
            out.push_str(&before_query[at..]);
        }
        None => out.push_str(before_query),
    }
    out.push_str(&redact_query(query));
    out
}

/// The password parameters' values of a query string (`?a=1&password=x`) replaced; other text unchanged.
fn redact_query(text: &str) -> String {
    let Some(q) = text.find('?') else { return text.to_string() };
    let (head, query) = text.split_at(q + 1);
    let parts: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if PASSWORD_PARAMS.iter().any(|p| p.eq_ignore_ascii_case(k.trim())) => {
                format!("{k}={REDACTED}")
            }
            _ => pair.to_string(),
        })
        .collect();
    format!("{head}{}", parts.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_url_form_loses_its_password() {
        let cases = [
            ("postgres://bob:S3cr3t@db:5432/shop", "postgres://bob:[redacted]@db:5432/shop"),
            ("postgresql://bob:S3cr3t@db/shop?sslmode=require", "postgresql://bob:[redacted]@db/shop?sslmode=require"),
            ("mysql://root:S3cr3t@127.0.0.1:3306/mysql", "mysql://root:[redacted]@127.0.0.1:3306/mysql"),
            ("mariadb://u:S3cr3t@h/d", "mariadb://u:[redacted]@h/d"),
            ("postgres://bob:p@ss/w@rd@db/shop", "postgres://bob:[redacted]@db/shop"),
            (
                "postgres://db/shop?user=bob&password=S3cr3t&sslmode=disable",
                "postgres://db/shop?user=bob&password=[redacted]&sslmode=disable",
            ),
            ("postgres://db/shop?PASSWORD=S3cr3t", "postgres://db/shop?PASSWORD=[redacted]"),
            ("postgres://bob:S3cr3t@db/shop?pwd=Other", "postgres://bob:[redacted]@db/shop?pwd=[redacted]"),
            ("postgres://bob@db/shop", "postgres://bob@db/shop"),
            ("sqlite:///home/me/shop.db", "sqlite:///home/me/shop.db"),
            ("./shop.db", "./shop.db"),
            ("", ""),
        ];
        for (given, expected) in cases {
            assert_eq!(redact_url(given), expected, "{given}");
        }
    }

    #[test]
    fn secret_urls_print_only_redacted() {
        let u = SecretUrl::new("postgres://bob:S3cr3t@db/shop");
        for shown in [format!("{u:?}"), format!("{u}"), u.redacted()] {
            assert!(!shown.contains("S3cr3t") && shown.contains("bob"), "{shown}");
        }
        assert_eq!(u.expose(), "postgres://bob:S3cr3t@db/shop");
        let json = serde_json::to_string(&u).expect("serialize");
        assert!(!json.contains("S3cr3t"), "{json}");
    }

    #[test]
    fn never_printed() {
        let s = Secret::new("sk-live-123");
        assert!(!format!("{s:?}").contains("sk-live"));
        assert!(!format!("{s}").contains("sk-live"));
        assert_eq!(s.expose(), "sk-live-123");
    }
}
