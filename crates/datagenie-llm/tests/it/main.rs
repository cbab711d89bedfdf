//! The crate's one integration-test binary: both providers against a scripted server on 127.0.0.1.

mod anthropic;
mod errors;
mod openai;
mod server;

use std::time::Duration;

use datagenie_core::Secret;
use datagenie_core::llm::{ChatRequest, Message};
use datagenie_llm::HttpOptions;

/// A key that a misbehaving server might echo; no error message may contain it or its distinctive middle.
pub const KEY: &str = "sk-test-DO-NOT-LEAK-0123456789";
pub const KEY_PART: &str = "DO-NOT-LEAK";

pub fn key() -> Secret {
    Secret::new(KEY)
}

/// Fast retries for tests: 1 ms backoff, 3 retries, a 5 s request timeout (the timeout test shortens it).
pub fn fast_http() -> HttpOptions {
    HttpOptions {
        request_timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(5),
        max_retries: 3,
        backoff_base: Duration::from_millis(1),
        backoff_cap: Duration::from_millis(4),
        retry_after_cap: Duration::from_secs(5),
        max_response_bytes: 1024 * 1024,
    }
}

pub fn question() -> ChatRequest {
    ChatRequest {
        system: "You write SQLite SQL.".into(),
        messages: vec![Message::user("지난달 매출 상위 5개 상품은?")],
        max_tokens: 256,
        temperature: 0.0,
    }
}

/// A port on 127.0.0.1 that nothing listens on (bound, then released).
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    port
}
