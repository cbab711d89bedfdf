//! `mysql://` and `mariadb://` URLs: what the user types, turned into a [`MysqlTarget`] the connector opens.

use std::fmt;
use std::path::PathBuf;

use datagenie_core::{Error, Secret};

use crate::{invalid, percent_decode};

/// The port MySQL and MariaDB listen on unless told otherwise.
pub const DEFAULT_PORT: u16 = 3306;

/// How the connection uses TLS, with the names and meaning of the MySQL client's `--ssl-mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SslMode {
    /// Plain TCP.
    Disabled,
    /// TLS when the server offers it, plain otherwise; the certificate is not checked (the MySQL default).
    #[default]
    Preferred,
    /// TLS or no connection; the certificate is not checked unless `ssl-ca` is given (then as `VerifyCa`).
    Required,
    /// TLS with a certificate signed by a trusted CA (`ssl-ca`, else the bundled web PKI roots); any host name.
    VerifyCa,
    /// As `VerifyCa`, and the certificate must name the host.
    VerifyIdentity,
}

impl SslMode {
    /// The URL spelling: `DISABLED`, `PREFERRED`, `REQUIRED`, `VERIFY_CA`, `VERIFY_IDENTITY`.
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disabled => "DISABLED",
            SslMode::Preferred => "PREFERRED",
            SslMode::Required => "REQUIRED",
            SslMode::VerifyCa => "VERIFY_CA",
            SslMode::VerifyIdentity => "VERIFY_IDENTITY",
        }
    }

    fn parse(value: &str) -> Option<SslMode> {
        // `verify-ca` and `verify_ca` alike, in any case.
        match value.to_ascii_uppercase().replace('-', "_").as_str() {
            "DISABLED" => Some(SslMode::Disabled),
            "PREFERRED" => Some(SslMode::Preferred),
            "REQUIRED" => Some(SslMode::Required),
            "VERIFY_CA" => Some(SslMode::VerifyCa),
            "VERIFY_IDENTITY" => Some(SslMode::VerifyIdentity),
            _ => None,
        }
    }
}

/// A parsed MySQL/MariaDB URL. The password is a [`Secret`]: `Debug` and [`MysqlTarget::describe`] never show it.
#[derive(Debug, Clone, PartialEq)]
pub struct MysqlTarget {
    scheme: &'static str,
    host: String,
    port: u16,
    user: String,
    password: Option<Secret>,
    database: Option<String>,
    ssl_mode: SslMode,
    ssl_ca: Option<PathBuf>,
}

impl MysqlTarget {
    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn user(&self) -> &str {
        &self.user
    }

    pub fn password(&self) -> Option<&Secret> {
        self.password.as_ref()
    }

    /// The database (schema) of the URL's path; `None` means every non-system schema the login can see.
    pub fn database(&self) -> Option<&str> {
        self.database.as_deref()
    }

    pub fn ssl_mode(&self) -> SslMode {
        self.ssl_mode
    }

    pub fn ssl_ca(&self) -> Option<&std::path::Path> {
        self.ssl_ca.as_deref()
    }

    /// The driver's TLS options for this target's `ssl-mode` and `ssl-ca` (`None`: plain TCP), for tools that open
    /// their own sessions (the demo loader), so they check certificates as the connector does.
    pub fn tls_options(&self) -> Result<Option<mysql_async::SslOpts>, Error> {
        super::ssl_opts(self)
    }

    /// The URL without the password, e.g. `mysql://reader@db.internal:3306/shop?ssl-mode=REQUIRED`; it parses back
    /// to this target minus the password. The default `ssl-mode` (PREFERRED) is left out.
    pub fn describe(&self) -> String {
        let host = if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
        let mut out = format!("{}://{}@{host}:{}/", self.scheme, encode(&self.user, false), self.port);
        if let Some(db) = &self.database {
            out.push_str(&encode(db, false));
        }
        let mut params = Vec::new();
        if self.ssl_mode != SslMode::Preferred {
            params.push(format!("ssl-mode={}", self.ssl_mode.as_str()));
        }
        if let Some(ca) = &self.ssl_ca {
            params.push(format!("ssl-ca={}", encode(&ca.to_string_lossy(), true)));
        }
        if !params.is_empty() {
            out.push('?');
            out.push_str(&params.join("&"));
        }
        out
    }
}

impl fmt::Display for MysqlTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

/// Parses `mysql://user[:password]@host[:port][/database][?ssl-mode=…&ssl-ca=…]` (also `mariadb://`).
///
/// User, password, database and `ssl-ca` are `%`-decoded, so a password with `@`, `/` or `:` is written `%40`,
/// `%2F`, `%3A`. The host may be an IPv6 address in brackets. Without a database every non-system schema is
/// introspected. `ssl-mode` takes the MySQL client's values (`DISABLED`, `PREFERRED` — the default —, `REQUIRED`,
/// `VERIFY_CA`, `VERIFY_IDENTITY`); `ssl-ca` names a PEM file of trusted CA certificates. Any other parameter is
/// refused, so a typo never silently weakens TLS. Errors are [`datagenie_core::ErrorCode::InvalidDatabaseUrl`] and
/// never contain the password.
pub fn parse_mysql_url(url: &str) -> Result<MysqlTarget, Error> {
    let url = url.trim();
    let (scheme, rest) = url.split_once("://").ok_or_else(|| invalid("a MySQL URL starts with mysql://"))?;
    let scheme = match scheme.to_ascii_lowercase().as_str() {
        "mysql" => "mysql",
        "mariadb" => "mariadb",
        _ => return Err(invalid("a MySQL URL starts with mysql:// or mariadb://")),
    };
    if rest.contains('#') {
        return Err(invalid("a MySQL URL cannot contain '#'; write it as %23"));
    }
    let (before_query, query) = match rest.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (rest, None),
    };
    // The authority ends at the first '/' after the last '@', so an unescaped '/' in a password is still read as
    // part of it.
    let at = before_query.rfind('@');
    let slash = before_query[at.map_or(0, |a| a + 1)..].find('/').map(|i| i + at.map_or(0, |a| a + 1));
    let (authority, path) = match slash {
        Some(i) => (&before_query[..i], &before_query[i + 1..]),
        None => (before_query, ""),
    };
    let (userinfo, hostport) = match authority.rfind('@') {
        Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
        None => (None, authority),
    };
    let (user, password) = match userinfo {
        None => (String::new(), None),
        Some(info) => match info.split_once(':') {
            Some((u, p)) => {
                let p =
                    percent_decode(p).map_err(|_| invalid("the password in the MySQL URL has a malformed %-escape"))?;
                (percent_decode(u)?, (!p.is_empty()).then(|| Secret::new(p)))
            }
            None => (percent_decode(info)?, None),
        },
    };
    if user.is_empty() {
        return Err(invalid("the MySQL URL names no user; write mysql://user:password@host/database"));
    }
    let (host, port) = parse_host_port(hostport)?;
    let database = match percent_decode(path)? {
        p if p.is_empty() => None,
        p if p.contains('/') => return Err(invalid("the path of a MySQL URL is one database name")),
        p => Some(p),
    };
    let mut target =
        MysqlTarget { scheme, host, port, user, password, database, ssl_mode: SslMode::default(), ssl_ca: None };
    let mut seen = Vec::new();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = key.to_ascii_lowercase().replace('_', "-");
        if seen.contains(&key) {
            return Err(invalid(format!("the MySQL URL gives '{key}' twice")));
        }
        let value = percent_decode(value)?;
        match key.as_str() {
            "ssl-mode" => {
                target.ssl_mode = SslMode::parse(&value).ok_or_else(|| {
                    invalid(format!(
                        "unknown ssl-mode '{value}'; use DISABLED, PREFERRED, REQUIRED, VERIFY_CA or VERIFY_IDENTITY"
                    ))
                })?;
            }
            "ssl-ca" => {
                if value.is_empty() {
                    return Err(invalid("ssl-ca in the MySQL URL names no file"));
                }
                target.ssl_ca = Some(PathBuf::from(value));
            }
            _ => {
                return Err(invalid(format!(
                    "unknown MySQL URL parameter '{key}'; DataGenie understands ssl-mode and ssl-ca"
                )));
            }
        }
        seen.push(key);
    }
    if target.ssl_mode == SslMode::Disabled && target.ssl_ca.is_some() {
        return Err(invalid("ssl-ca has no effect with ssl-mode=DISABLED"));
    }
    Ok(target)
}

/// `host`, `host:port`, `[v6]`, `[v6]:port`; an empty host is `localhost`.
fn parse_host_port(s: &str) -> Result<(String, u16), Error> {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (h, after) = rest.split_once(']').ok_or_else(|| invalid("unclosed '[' in the MySQL URL's host"))?;
        match after {
            "" => (h.to_string(), None),
            p => (h.to_string(), Some(p.strip_prefix(':').ok_or_else(|| invalid("bad text after the host"))?)),
        }
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (s.to_string(), None),
        }
    };
    let host = percent_decode(&host)?;
    if host.chars().any(|c| c.is_whitespace() || c == '/' || c == '@') {
        return Err(invalid("the host in the MySQL URL is malformed"));
    }
    let port = match port {
        None | Some("") => DEFAULT_PORT,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 => n,
            _ => return Err(invalid(format!("'{p}' is not a port number (1-65535)"))),
        },
    };
    Ok((if host.is_empty() { "localhost".to_string() } else { host }, port))
}

/// `%`-escapes what would end or confuse a URL component; non-ASCII text stays readable (the parser takes raw
/// UTF-8 as is). `keep_slash` for file paths.
fn encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii_alphanumeric()
            || matches!(c, '-' | '_' | '.' | '~')
            || (keep_slash && c == '/')
            || (!c.is_ascii() && !c.is_whitespace())
        {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use datagenie_core::ErrorCode;

    fn ok(s: &str) -> MysqlTarget {
        parse_mysql_url(s).unwrap_or_else(|e| panic!("{s:?} should parse: {e:?}"))
    }

    fn err(s: &str) -> Error {
        match parse_mysql_url(s) {
            Ok(t) => panic!("{s:?} should be refused, got {t:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn reads_every_part() {
        let t = ok("mysql://reader:p%40ss%2Fw0rd@db.internal:3307/shop?ssl-mode=verify_identity&ssl-ca=/etc/ca.pem");
        assert_eq!(t.host(), "db.internal");
        assert_eq!(t.port(), 3307);
        assert_eq!(t.user(), "reader");
        assert_eq!(t.password().map(Secret::expose), Some("p@ss/w0rd"));
        assert_eq!(t.database(), Some("shop"));
        assert_eq!(t.ssl_mode(), SslMode::VerifyIdentity);
        assert_eq!(t.ssl_ca(), Some(std::path::Path::new("/etc/ca.pem")));
    }

    #[test]
    fn defaults_and_variants() {
        let t = ok("mysql://root@127.0.0.1");
        assert_eq!((t.port(), t.database(), t.password()), (3306, None, None));
        assert_eq!(t.ssl_mode(), SslMode::Preferred);
        assert_eq!(ok("MariaDB://u@h/").database(), None);
        assert_eq!(ok("mysql://u:@h/db").password(), None, "an empty password is no password");
        let v6 = ok("mysql://u@[::1]:3310/db");
        assert_eq!((v6.host(), v6.port()), ("::1", 3310));
        assert_eq!(ok("mysql://u@[::1]/db").port(), 3306);
        assert_eq!(ok("mysql://u@/db").host(), "localhost");
        assert_eq!(ok("mysql://u@h/%EB%A7%A4%EC%B6%9C").database(), Some("매출"));
        assert_eq!(ok("mysql://u@h/db?SSL_MODE=Disabled").ssl_mode(), SslMode::Disabled);
        // An unescaped '/' or '@' in the password is still read as part of it.
        assert_eq!(ok("mysql://u:a/b@c@h/db").password().map(Secret::expose), Some("a/b@c"));
        assert_eq!(ok("mysql://u:a/b@c@h/db").database(), Some("db"));
    }

    #[test]
    fn describe_hides_the_password_and_parses_back() {
        for url in [
            "mysql://reader:hunter2@db.internal:3307/shop?ssl-mode=REQUIRED",
            "mariadb://r%40x:hunter2@[::1]/%EB%A7%A4%EC%B6%9C%20db?ssl-ca=/ca%20dir/ca.pem&ssl-mode=verify_ca",
            "mysql://u:hunter2@h",
        ] {
            let t = ok(url);
            let shown = t.describe();
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(!format!("{t:?}").contains("hunter2"));
            let back = ok(&shown);
            assert_eq!(back.password(), None);
            assert_eq!(
                (back.host(), back.port(), back.user(), back.database()),
                (t.host(), t.port(), t.user(), t.database())
            );
            assert_eq!((back.ssl_mode(), back.ssl_ca()), (t.ssl_mode(), t.ssl_ca()));
        }
        assert_eq!(ok("mysql://u:pw@h/db").describe(), "mysql://u@h:3306/db");
    }

    #[test]
    fn refuses_malformed_urls_without_echoing_the_password() {
        for bad in [
            "postgres://u:hunter2@h/db",
            "mysql:/u:hunter2@h/db",
            "mysql://:hunter2@h/db",
            "mysql://h/db",
            "mysql://u:hunter2@h:0/db",
            "mysql://u:hunter2@h:99999/db",
            "mysql://u:hunter2@h:port/db",
            "mysql://u:hunter2@h/db/more",
            "mysql://u:hunter2@h/db?sslmode=require",
            "mysql://u:hunter2@h/db?ssl-mode=maybe",
            "mysql://u:hunter2@h/db?ssl-mode=REQUIRED&ssl-mode=DISABLED",
            "mysql://u:hunter2@h/db?ssl-mode=DISABLED&ssl-ca=/ca.pem",
            "mysql://u:hunter2@h/db#x",
            "mysql://u:hunter2%zz@h/db",
            "mysql://u:hunter2@[::1/db",
            "mysql://u:hunter2@h/d%00b",
        ] {
            let e = err(bad);
            assert_eq!(e.code, ErrorCode::InvalidDatabaseUrl, "{bad}");
            assert!(!e.message.contains("hunter2"), "{bad}: {}", e.message);
        }
    }
}
