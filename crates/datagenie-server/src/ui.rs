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

    /// The first page's scripts and styles stay small: 150 KB even before compression (the budget is 150 KB
    /// compressed).
    #[test]
    fn the_first_page_is_light() {
        let code: usize =
            ASSETS.iter().filter(|a| a.name.ends_with(".js") || a.name.ends_with(".css")).map(|a| a.body.len()).sum();
        assert!(code <= 150 * 1024, "the page's JS and CSS are {code} bytes");
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
