//! Page cursors, shared by every store implementation.
//!
//! Lists are read by keyset: a page is the items after the last one of the previous page in the list's order
//! (`created_at, id`, `name`, `seq`, …), never an offset, so rows inserted or deleted between two pages neither
//! repeat nor skip an item that was there. The cursor is that last item's sort key, opaque to clients: base64url
//! (no padding) of the JSON array `[list, key, id]`, where `list` names the list it belongs to so a cursor given to
//! another list is refused instead of misread.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use datagenie_core::{Error, ErrorCode};

use crate::model::{MAX_PAGE, PageRequest};

/// The longest cursor accepted: longer text is not one of ours.
const MAX_CURSOR_LEN: usize = 2048;

/// The cursor after an item with this sort `key` and `id` in `list`.
pub fn encode(list: &str, key: &str, id: &str) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::json!([list, key, id]).to_string())
}

/// The `(key, id)` a cursor of `list` holds. Errors: [`ErrorCode::InvalidArgument`] for text that is not a cursor
/// of this list.
pub fn decode(list: &str, cursor: &str) -> Result<(String, String), Error> {
    let invalid = || Error::new(ErrorCode::InvalidArgument, "the page cursor is not valid for this list");
    if cursor.len() > MAX_CURSOR_LEN {
        return Err(invalid());
    }
    let bytes = URL_SAFE_NO_PAD.decode(cursor.trim()).map_err(|_| invalid())?;
    let parts: Vec<String> = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    match <[String; 3]>::try_from(parts) {
        Ok([l, key, id]) if l == list => Ok((key, id)),
        _ => Err(invalid()),
    }
}

/// The page size to use: the request's, within 1..=[`MAX_PAGE`].
pub fn limit(page: &PageRequest) -> usize {
    page.limit.clamp(1, MAX_PAGE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_foreign_or_junk_ones_are_refused() {
        let c = encode("history", "2025-06-24T10:30:00.123Z", "abc");
        assert!(c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_'), "{c}");
        assert_eq!(decode("history", &c).expect("decode"), ("2025-06-24T10:30:00.123Z".into(), "abc".into()));
        let odd = encode("users", "é\"],[", "");
        assert_eq!(decode("users", &odd).expect("decode"), ("é\"],[".into(), String::new()));
        for bad in [
            &encode("users", "k", "i"),
            "",
            "!!!",
            "e30",
            &URL_SAFE_NO_PAD.encode("[\"history\",\"k\"]"),
            &"A".repeat(5000),
        ] {
            assert_eq!(decode("history", bad).expect_err(bad).code, ErrorCode::InvalidArgument, "{bad}");
        }
    }

    #[test]
    fn limits_are_clamped() {
        assert_eq!(limit(&PageRequest { limit: 0, cursor: None }), 1);
        assert_eq!(limit(&PageRequest { limit: 7, cursor: None }), 7);
        assert_eq!(limit(&PageRequest { limit: usize::MAX, cursor: None }), MAX_PAGE);
    }
}
