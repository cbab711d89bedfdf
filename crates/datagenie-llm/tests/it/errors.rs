//! Retries and error mapping, the same for both providers: each case runs against each.

use std::time::{Duration, Instant};

use datagenie_core::{Error, ErrorCode};
use datagenie_llm::{Anthropic, AnthropicOptions, Completion, HttpOptions, OpenAiCompatible, OpenAiOptions};
use serde_json::{Value, json};

use crate::server::{Reply, Scripted};
use crate::{KEY, KEY_PART, closed_port, fast_http, key, question};

#[derive(Clone, Copy, Debug)]
enum Which {
    OpenAi,
    Anthropic,
}

const BOTH: [Which; 2] = [Which::OpenAi, Which::Anthropic];

impl Which {
    /// The configured model: `llama9` (an Ollama-style name) or `claude-x`.
    fn model(self) -> &'static str {
        match self {
            Which::OpenAi => "llama9",
            Which::Anthropic => "claude-x",
        }
    }

    /// What `base_url` is set to for a server at `root`.
    fn base_url(self, root: &str) -> String {
        match self {
            Which::OpenAi => format!("{root}/v1"),
            Which::Anthropic => root.to_string(),
        }
    }

    /// A successful answer in this provider's format.
    fn ok(self) -> Reply {
        Reply::ok(match self {
            Which::OpenAi => {
                json!({"choices": [{"message": {"content": "SELECT 1"}}], "usage": {"prompt_tokens": 3, "completion_tokens": 2}})
            }
            Which::Anthropic => {
                json!({"content": [{"type": "text", "text": "SELECT 1"}], "usage": {"input_tokens": 3, "output_tokens": 2}})
            }
        })
    }

    /// An error body in this provider's format.
    fn error_body(self, message: &str) -> Value {
        match self {
            Which::OpenAi => {
                json!({"error": {"message": message, "type": "invalid_request_error", "code": null}})
            }
            Which::Anthropic => {
                json!({"type": "error", "error": {"type": "invalid_request_error", "message": message}})
            }
        }
    }

    async fn call(self, root: &str, http: HttpOptions) -> Result<Completion, Error> {
        match self {
            Which::OpenAi => {
                let options = OpenAiOptions {
                    api_key: Some(key()),
                    http,
                    ..OpenAiOptions::new(self.base_url(root), self.model())
                };
                OpenAiCompatible::new(options)?.chat(&question()).await
            }
            Which::Anthropic => {
                let options = AnthropicOptions { http, ..AnthropicOptions::new(self.model(), key()) }
                    .with_base_url(self.base_url(root));
                Anthropic::new(options)?.chat(&question()).await
            }
        }
    }
}

/// Runs one call against a server scripted with `replies`; returns the outcome and how many requests arrived.
async fn run(which: Which, replies: Vec<Reply>, http: HttpOptions) -> (Result<Completion, Error>, usize, String) {
    let server = Scripted::start(replies).await;
    let outcome = which.call(&server.base, http).await;
    (outcome, server.count(), server.base.clone())
}

fn assert_no_key(which: Which, err: &Error) {
    assert!(!err.message.contains(KEY) && !err.message.contains(KEY_PART), "{which:?} leaked the key: {}", err.message);
}

#[tokio::test]
async fn a_429_then_success_is_retried_once() {
    for which in BOTH {
        let (outcome, requests, _) =
            run(which, vec![Reply::status(429, which.error_body("slow down")), which.ok()], fast_http()).await;
        let done = outcome.expect("second attempt succeeds");
        assert_eq!((done.attempts, requests), (2, 2), "{which:?}");
        assert_eq!(done.response.text, "SELECT 1");
    }
}

#[tokio::test]
async fn transient_5xx_are_retried_until_success() {
    for which in BOTH {
        let replies = vec![
            Reply::status(503, which.error_body("busy")),
            Reply::raw(502, "<html>bad gateway</html>"),
            Reply::status(504, json!({})),
            which.ok(),
        ];
        let (outcome, requests, _) = run(which, replies, fast_http()).await;
        assert_eq!(outcome.map(|c| c.attempts), Ok(4), "{which:?}");
        assert_eq!(requests, 4);
    }
}

#[tokio::test]
async fn retry_after_seconds_is_honoured() {
    let case = |which: Which| async move {
        let limited = Reply::status(429, which.error_body("wait")).with_header("retry-after", "1");
        let started = Instant::now();
        let (outcome, requests, _) = run(which, vec![limited, which.ok()], fast_http()).await;
        (which, outcome, requests, started.elapsed())
    };
    let (a, b) = tokio::join!(case(Which::OpenAi), case(Which::Anthropic));
    for (which, outcome, requests, elapsed) in [a, b] {
        assert_eq!(outcome.map(|c| c.attempts), Ok(2), "{which:?}");
        assert_eq!(requests, 2);
        // The backoff alone is at most 4 ms; only the server's Retry-After explains a wait of about a second.
        assert!(elapsed >= Duration::from_millis(950), "{which:?} waited only {elapsed:?}");
    }
}

#[tokio::test]
async fn retry_after_ms_is_honoured() {
    let limited = Reply::status(429, json!({})).with_header("retry-after-ms", "300").with_header("retry-after", "9");
    let started = Instant::now();
    let (outcome, requests, _) = run(Which::OpenAi, vec![limited, Which::OpenAi.ok()], fast_http()).await;
    assert_eq!((outcome.map(|c| c.attempts), requests), (Ok(2), 2));
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(290) && elapsed < Duration::from_secs(5), "{elapsed:?}");
}

#[tokio::test]
async fn a_retry_after_beyond_the_cap_fails_at_once() {
    for which in BOTH {
        let limited = Reply::status(429, which.error_body("quota exhausted")).with_header("retry-after", "120");
        let (outcome, requests, _) = run(which, vec![limited, which.ok()], fast_http()).await;
        let err = outcome.expect_err("gives up");
        assert_eq!(err.code, ErrorCode::LlmRateLimited, "{which:?}");
        assert_eq!(requests, 1, "{which:?} must not sleep two minutes");
        assert!(
            err.message.contains("retry after 120 s") && err.message.contains("quota exhausted"),
            "{}",
            err.message
        );
    }
}

#[tokio::test]
async fn endless_429_is_rate_limited_after_max_retries() {
    for which in BOTH {
        let http = HttpOptions { max_retries: 2, ..fast_http() };
        let (outcome, requests, _) = run(which, vec![Reply::status(429, which.error_body("slow down"))], http).await;
        let err = outcome.expect_err("rate limited");
        assert_eq!(err.code, ErrorCode::LlmRateLimited, "{which:?}");
        assert_eq!(requests, 3, "{which:?}: 1 attempt + 2 retries");
        assert!(err.message.contains("after 3 attempts"), "{}", err.message);
    }
}

#[tokio::test]
async fn endless_500_is_unreachable_after_max_retries() {
    for which in BOTH {
        let (outcome, requests, _) = run(which, vec![Reply::status(500, which.error_body("boom"))], fast_http()).await;
        let err = outcome.expect_err("server error");
        assert_eq!(err.code, ErrorCode::LlmUnreachable, "{which:?}");
        assert_eq!(requests, 4, "{which:?}: 1 attempt + 3 retries");
        assert!(err.message.contains("HTTP 500 after 4 attempts: boom"), "{}", err.message);
    }
}

#[tokio::test]
async fn html_error_pages_are_not_quoted() {
    let http = HttpOptions { max_retries: 0, ..fast_http() };
    let (outcome, requests, _) = run(Which::OpenAi, vec![Reply::raw(502, "<html><h1>nginx</h1></html>")], http).await;
    let err = outcome.expect_err("bad gateway");
    assert_eq!((err.code, requests), (ErrorCode::LlmUnreachable, 1));
    assert!(!err.message.contains("nginx"), "{}", err.message);
}

#[tokio::test]
async fn auth_failures_are_not_retried_and_never_show_the_key() {
    for which in BOTH {
        for status in [401, 403] {
            let echo = which.error_body(&format!("Incorrect API key provided: {KEY}. sk-test-DO-NOT-LEAK-01****6789"));
            let (outcome, requests, _) = run(which, vec![Reply::status(status, echo), which.ok()], fast_http()).await;
            let err = outcome.expect_err("auth failure");
            assert_eq!(err.code, ErrorCode::LlmAuthFailed, "{which:?} {status}");
            assert_eq!(requests, 1, "{which:?} {status} must not be retried");
            assert!(err.message.contains("the endpoint refused the API key"), "{}", err.message);
            assert_no_key(which, &err);
        }
    }
}

#[tokio::test]
async fn a_keyless_openai_call_that_needs_a_key_says_so() {
    let server = Scripted::start(vec![Reply::status(401, json!({"error": {"message": "no key"}}))]).await;
    let options = OpenAiOptions { http: fast_http(), ..OpenAiOptions::new(format!("{}/v1", server.base), "m") };
    let err = OpenAiCompatible::new(options).expect("options").chat(&question()).await.expect_err("401");
    assert_eq!(err.code, ErrorCode::LlmAuthFailed);
    assert!(err.message.contains("none is configured"), "{}", err.message);
}

#[tokio::test]
async fn other_client_errors_quote_the_provider_but_not_the_key() {
    for which in BOTH {
        let body = which.error_body(&format!("context too long for key {KEY}"));
        let (outcome, requests, _) = run(which, vec![Reply::status(400, body), which.ok()], fast_http()).await;
        let err = outcome.expect_err("bad request");
        assert_eq!(err.code, ErrorCode::LlmBadResponse, "{which:?}");
        assert_eq!(requests, 1, "{which:?}: 400 is not retried");
        assert!(err.message.contains("rejected the request (HTTP 400): context too long"), "{}", err.message);
        assert_no_key(which, &err);
    }
}

#[tokio::test]
async fn unknown_model_404_names_the_model_and_base_url() {
    for which in BOTH {
        let body = match which {
            Which::OpenAi => {
                json!({"error": {"message": "model \"llama9\" not found, try pulling it first", "type": "api_error"}})
            }
            Which::Anthropic => which.error_body("model: claude-x"),
        };
        let (outcome, requests, root) = run(which, vec![Reply::status(404, body), which.ok()], fast_http()).await;
        let err = outcome.expect_err("not found");
        assert_eq!(err.code, ErrorCode::LlmBadResponse, "{which:?}");
        assert_eq!(requests, 1, "{which:?}: 404 is not retried");
        let expected = format!("model '{}' not found at {}", which.model(), which.base_url(&root));
        assert!(err.message.contains(&expected), "{which:?}: {} lacks {expected}", err.message);
    }
}

#[tokio::test]
async fn a_404_without_a_model_message_points_at_the_path() {
    let (outcome, _, root) = run(Which::OpenAi, vec![Reply::raw(404, "404 page not found")], fast_http()).await;
    let err = outcome.expect_err("not found");
    assert_eq!(err.code, ErrorCode::LlmBadResponse);
    assert!(err.message.contains(&format!("API path not found at {root}/v1/chat/completions")), "{}", err.message);
    assert!(err.message.contains("check the model name and base_url"));
}

#[tokio::test]
async fn malformed_json_is_a_bad_response_and_not_retried() {
    for which in BOTH {
        let (outcome, requests, _) =
            run(which, vec![Reply::raw(200, "{\"choices\": [tru"), which.ok()], fast_http()).await;
        let err = outcome.expect_err("malformed");
        assert_eq!(err.code, ErrorCode::LlmBadResponse, "{which:?}");
        assert!(err.message.contains("malformed JSON"), "{}", err.message);
        assert_eq!(requests, 1);
    }
}

#[tokio::test]
async fn a_slow_endpoint_times_out_after_each_attempt() {
    let http = HttpOptions { request_timeout: Duration::from_millis(200), max_retries: 1, ..fast_http() };
    let case = |which: Which| {
        let http = http.clone();
        async move { (which, run(which, vec![Reply::Hang], http).await) }
    };
    let (a, b) = tokio::join!(case(Which::OpenAi), case(Which::Anthropic));
    for (which, (outcome, requests, _)) in [a, b] {
        let err = outcome.expect_err("timeout");
        assert_eq!(err.code, ErrorCode::LlmTimeout, "{which:?}: {}", err.message);
        assert_eq!(requests, 2, "{which:?}: timeouts are retried");
        assert!(err.message.contains("within 0.2 s after 2 attempts"), "{}", err.message);
    }
}

#[tokio::test]
async fn a_refused_connection_is_unreachable_and_names_the_host() {
    for which in BOTH {
        let port = closed_port();
        let http = HttpOptions { max_retries: 1, ..fast_http() };
        let err = which.call(&format!("http://127.0.0.1:{port}"), http).await.expect_err("refused");
        assert_eq!(err.code, ErrorCode::LlmUnreachable, "{which:?}");
        assert!(err.message.contains(&format!("127.0.0.1:{port}")), "{}", err.message);
        assert!(err.message.contains("after 2 attempts"), "{}", err.message);
    }
}

#[tokio::test]
async fn redirects_are_not_followed() {
    for which in BOTH {
        let elsewhere = Scripted::start(vec![which.ok()]).await;
        let moved = Reply::raw(307, "").with_header("location", &format!("{}/v1/chat/completions?k=1", elsewhere.base));
        let (outcome, requests, _) = run(which, vec![moved], fast_http()).await;
        let err = outcome.expect_err("redirect");
        assert_eq!(err.code, ErrorCode::LlmBadResponse, "{which:?}");
        assert!(err.message.contains("set base_url to the final address"), "{}", err.message);
        assert!(!err.message.contains("k=1"), "the query is not shown: {}", err.message);
        assert_eq!((requests, elsewhere.count()), (1, 0), "{which:?}: the key must not travel to another host");
    }
}

#[tokio::test]
async fn oversized_answers_are_refused() {
    for which in BOTH {
        let http = HttpOptions { max_response_bytes: 64, ..fast_http() };
        let (outcome, requests, _) = run(which, vec![which.ok()], http).await;
        let err = outcome.expect_err("too large");
        assert_eq!(err.code, ErrorCode::LlmBadResponse, "{which:?}");
        assert!(err.message.contains("larger than 64 bytes"), "{}", err.message);
        assert_eq!(requests, 1);
    }
}
