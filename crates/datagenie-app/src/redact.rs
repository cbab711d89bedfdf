//! Secrets out of what is recorded or returned: the old and new values of an admin change go into the audit log,
//! and a stored setting may be sensitive. Values under secret-looking keys are replaced by `[redacted]`, and every
//! string that holds a URL has its password removed ([`datagenie_core::secret::redact_url`]).

use datagenie_core::secret::{REDACTED, redact_url};
use serde_json::Value;

/// Keys whose values are secrets, compared case-insensitively, alone or as the last word of a key (`db_password`).
const SECRET_KEYS: &[&str] =
    &["password", "password_hash", "secret", "token", "api_key", "key_hash", "private_key", "authorization"];

/// `value` with every secret replaced, at any depth.
pub fn redact_json(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let secret = is_secret_key(k) && !v.is_null();
                    (k.clone(), if secret { Value::String(REDACTED.into()) } else { redact_json(v) })
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact_json).collect()),
        Value::String(s) if s.contains("://") || s.contains("password=") => Value::String(redact_url(s)),
        other => other.clone(),
    }
}

fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    SECRET_KEYS.iter().any(|s| k == *s || k.ends_with(&format!("_{s}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_at_any_depth_are_replaced() {
        let v = json!({
            "email": "kim@example.com",
            "password": "Hunter2!",
            "db_password": "Pw1",
            "refresh_token": "rt-abc",
            "nested": [{"api_key": "dg_x_y", "url": "postgres://u:Pw2@h/db", "note": "no secret"}],
            "options": {"dsn": "mysql://root:Pw3@db/shop?password=Pw4"},
            "tokens_used": 42,
            "password_changed": null,
        });
        let r = redact_json(&v).to_string();
        for secret in ["Hunter2!", "Pw1", "rt-abc", "dg_x_y", "Pw2", "Pw3", "Pw4"] {
            assert!(!r.contains(secret), "{secret} in {r}");
        }
        assert!(r.contains("kim@example.com") && r.contains("no secret") && r.contains("42"), "{r}");
        assert!(r.contains("postgres://u:[redacted]@h/db"), "{r}");
        assert!(r.contains("\"password_changed\":null"), "a null says nothing: {r}");
    }
}
