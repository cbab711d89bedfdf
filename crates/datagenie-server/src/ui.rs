//! The web UI: a few hand-written files (`ui/`), embedded in the binary at build time and served from memory.
//!
//! No front-end build and nothing fetched from elsewhere: `index.html` loads one stylesheet and one ES module from
//! `/ui/`, which talk to the same HTTP API as every other client. Each file is served with its SHA-256 as a strong
//! `ETag` and `Cache-Control: no-cache`, so a browser revalidates with `If-None-Match` and gets `304` until the binary
//! changes. The security headers (a Content-Security-Policy without inline scripts or styles, among them) are the
//! server's own, set in [`crate::middleware`] for every response.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use datagenie_core::ErrorCode;
use sha2::{Digest, Sha256};

use crate::error::ApiError;

/// One embedded file.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset { name: "index.html", content_type: "text/html; charset=utf-8", body: include_bytes!("../ui/index.html") },
    Asset { name: "app.css", content_type: "text/css; charset=utf-8", body: include_bytes!("../ui/app.css") },
    Asset { name: "app.js", content_type: "text/javascript; charset=utf-8", body: include_bytes!("../ui/app.js") },
    Asset { name: "i18n.js", content_type: "text/javascript; charset=utf-8", body: include_bytes!("../ui/i18n.js") },
    Asset { name: "core.js", content_type: "text/javascript; charset=utf-8", body: include_bytes!("../ui/core.js") },
    Asset {
        name: "answer.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../ui/answer.js"),
    },
    // Loaded when their screens are first opened, not with the first page.
    Asset {
        name: "history.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../ui/history.js"),
    },
    Asset { name: "admin.js", content_type: "text/javascript; charset=utf-8", body: include_bytes!("../ui/admin.js") },
    // The charts' own font (Latin and all of Hangul): the page falls back to it for Hangul only, so a machine without
    // Korean fonts still shows Korean, and a browser that has them never downloads it (unicode-range in app.css).
    Asset { name: "font.ttf", content_type: "font/ttf", body: datagenie_chart::FONT_DATA },
];

/// The ETag of each asset, in [`ASSETS`]' order (hashed once).
fn etags() -> &'static [String] {
    static ETAGS: OnceLock<Vec<String>> = OnceLock::new();
    ETAGS.get_or_init(|| {
        ASSETS
            .iter()
            .map(|a| {
                let digest = Sha256::digest(a.body);
                format!("\"{}\"", datagenie_core::schema::hex(&digest[..16]))
            })
            .collect()
    })
}

fn serve(name: &str, headers: &HeaderMap) -> Response {
    let Some(i) = ASSETS.iter().position(|a| a.name == name) else {
        return ApiError::new(ErrorCode::NotFound, "no such file").into_response();
    };
    let (asset, etag) = (&ASSETS[i], &etags()[i]);
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut response = if fresh { StatusCode::NOT_MODIFIED.into_response() } else { asset.body.into_response() };
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(v) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, v);
    }
    response
}

/// `GET /`: the page.
pub async fn index(headers: HeaderMap) -> Response {
    serve("index.html", &headers)
}

/// `GET /ui/{file}`: the page's stylesheet and scripts.
pub async fn asset(Path(file): Path<String>, headers: HeaderMap) -> Response {
    if file == "index.html" {
        return ApiError::new(ErrorCode::NotFound, "no such file").into_response();
    }
    serve(&file, &headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asset(name: &str) -> &'static str {
        let a = ASSETS.iter().find(|a| a.name == name).unwrap_or_else(|| panic!("{name} is not embedded"));
        std::str::from_utf8(a.body).expect("utf-8")
    }

    /// The `/ui/…` modules a script imports statically (`from "/ui/x.js"`).
    fn imports(code: &str) -> Vec<String> {
        code.split("from \"")
            .skip(1)
            .filter_map(|rest| rest.strip_prefix("/ui/")?.split('"').next().map(String::from))
            .collect()
    }

    /// The first page — its stylesheet, app.js and what app.js imports statically, transitively — stays within 150 KB
    /// even before compression (the budget is 150 KB compressed); the history and administration screens are loaded
    /// when first opened, not with it.
    #[test]
    fn the_first_page_is_light() {
        let mut first = vec!["app.css".to_string(), "app.js".to_string()];
        let mut i = 1;
        while i < first.len() {
            for m in imports(asset(&first[i])) {
                if !first.contains(&m) {
                    first.push(m);
                }
            }
            i += 1;
        }
        let bytes: usize = first.iter().map(|f| asset(f).len()).sum();
        assert!(bytes <= 150 * 1024, "the first page's JS and CSS are {bytes} bytes: {first:?}");
        for later in ["history.js", "admin.js"] {
            assert!(!first.iter().any(|f| f == later), "{later} is not part of the first page: {first:?}");
        }
        // Every embedded script is used: imported statically, or named by a script that loads it on demand.
        for a in ASSETS.iter().filter(|a| a.name.ends_with(".js")) {
            let named = format!("\"/ui/{}\"", a.name);
            let loaded = first.iter().any(|f| f == a.name)
                || ASSETS.iter().any(|b| b.name.ends_with(".js") && b.name != a.name && asset(b.name).contains(&named));
            assert!(loaded, "{} is embedded but never loaded", a.name);
        }
    }

    /// The keys of the dictionary block that starts at `start` (`\n  en: {`) and ends at the next `\n  }`.
    fn keys(code: &str, start: &str) -> std::collections::BTreeSet<String> {
        let Some(at) = code.find(start) else { return Default::default() };
        let block = &code[at + start.len()..];
        let block = &block[..block.find("\n  }").unwrap_or(block.len())];
        block
            .lines()
            .filter_map(|l| {
                let l = l.trim_start();
                let key: String = l.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                (!key.is_empty() && l[key.len()..].starts_with(':')).then_some(key)
            })
            .collect()
    }

    /// Every label and message exists in English and in Korean.
    #[test]
    fn every_string_is_in_both_languages() {
        let mut checked = 0;
        for a in ASSETS.iter().filter(|a| a.name.ends_with(".js")) {
            let code = asset(a.name);
            let (en, ko) = (keys(code, "\n  en: {"), keys(code, "\n  ko: {"));
            assert_eq!(en.is_empty(), ko.is_empty(), "{}: one language only", a.name);
            let only_en: Vec<_> = en.difference(&ko).collect();
            let only_ko: Vec<_> = ko.difference(&en).collect();
            assert!(
                only_en.is_empty() && only_ko.is_empty(),
                "{}: English only {only_en:?}, Korean only {only_ko:?}",
                a.name
            );
            checked += en.len();
        }
        assert!(checked > 300, "the dictionaries were found ({checked} keys)");
    }

    /// No script writes HTML: text goes in as text (see core.js).
    #[test]
    fn no_script_parses_html() {
        for a in ASSETS.iter().filter(|a| a.name.ends_with(".js")) {
            let code = asset(a.name);
            for sink in ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"] {
                assert!(!code.contains(sink), "{} uses {sink}", a.name);
            }
        }
    }

    #[test]
    fn every_asset_is_named_once_and_the_page_loads_only_embedded_files() {
        let mut names: Vec<_> = ASSETS.iter().map(|a| a.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ASSETS.len());
        let page = std::str::from_utf8(ASSETS[0].body).expect("utf-8");
        // Every src/href of the page is one of ours, under /ui/; nothing inline.
        for attr in ["src=\"", "href=\""] {
            for part in page.split(attr).skip(1) {
                let url = part.split('"').next().unwrap_or("");
                let file = url.strip_prefix("/ui/").unwrap_or_else(|| panic!("{url} is not under /ui/"));
                assert!(ASSETS.iter().any(|a| a.name == file), "{url} is not embedded");
            }
        }
        assert!(!page.contains("<script>") && !page.contains("<style") && !page.contains("style=\""), "inline code");
        // No inline event handler (` onclick=` and the like).
        for (i, _) in page.match_indices(" on") {
            let rest = &page[i + 3..];
            let name: String = rest.chars().take_while(char::is_ascii_alphabetic).collect();
            assert!(!rest[name.len()..].starts_with('='), "an inline handler: on{name}");
        }
    }
}
