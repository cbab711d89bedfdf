//! Anthropic provider: what it sends and how it reads answers.

use datagenie_core::ErrorCode;
use datagenie_core::llm::{LlmProvider, TokenUsage, estimate_tokens};
use datagenie_llm::{ANTHROPIC_VERSION, Anthropic, AnthropicOptions};
use serde_json::json;

use crate::server::{Reply, Scripted};
use crate::{KEY, fast_http, key, question};

fn provider(server: &Scripted) -> Anthropic {
    let options = AnthropicOptions { http: fast_http(), ..AnthropicOptions::new("claude-sonnet-4", key()) }
        .with_base_url(&server.base);
    Anthropic::new(options).expect("valid options")
}

#[tokio::test]
async fn success_reports_text_usage_and_the_request_shape() {
    let reply = json!({
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-20250514",
        "content": [
            {"type": "thinking", "thinking": "hmm"},
            {"type": "text", "text": "SELECT "},
            {"type": "text", "text": "1"}
        ],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 30, "output_tokens": 4}
    });
    let server = Scripted::start(vec![Reply::ok(reply)]).await;
    let p = provider(&server);
    assert_eq!((p.provider_name(), p.model()), ("anthropic", "claude-sonnet-4"));
    let done = p.chat(&question()).await.expect("completion");

    assert_eq!(done.response.text, "SELECT 1", "only text blocks, joined");
    assert_eq!(done.response.usage, TokenUsage { prompt_tokens: 30, completion_tokens: 4 });
    assert_eq!(done.response.model, "claude-sonnet-4-20250514");
    assert_eq!((done.attempts, done.usage_estimated), (1, false));

    let sent = server.single();
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.path, "/v1/messages");
    assert_eq!(sent.header("x-api-key"), Some(KEY));
    assert_eq!(sent.header("anthropic-version"), Some(ANTHROPIC_VERSION));
    assert!(sent.header("authorization").is_none());
    assert_eq!(sent.body["model"], "claude-sonnet-4");
    assert_eq!(sent.body["system"], "You write SQLite SQL.");
    assert_eq!(sent.body["messages"], json!([{"role": "user", "content": "지난달 매출 상위 5개 상품은?"}]));
    assert_eq!(sent.body["max_tokens"], 256);
}

#[tokio::test]
async fn missing_usage_is_estimated() {
    let server = Scripted::start(vec![Reply::ok(json!({"content": [{"type": "text", "text": "SELECT 9"}]}))]).await;
    let done = provider(&server).chat(&question()).await.expect("completion");
    assert!(done.usage_estimated);
    assert_eq!(done.response.usage.completion_tokens, estimate_tokens("SELECT 9") as u64);
    assert!(done.response.usage.prompt_tokens > 0);
    assert_eq!(done.response.model, "claude-sonnet-4");
}

#[tokio::test]
async fn overloaded_529_is_retried() {
    let overloaded = json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}});
    let ok =
        json!({"content": [{"type": "text", "text": "SELECT 1"}], "usage": {"input_tokens": 1, "output_tokens": 1}});
    let server = Scripted::start(vec![Reply::status(529, overloaded), Reply::ok(ok)]).await;
    let done = provider(&server).chat(&question()).await.expect("completion");
    assert_eq!((done.attempts, server.count()), (2, 2));
}

#[tokio::test]
async fn answers_without_text_are_bad_responses() {
    let cases = [
        (json!({"content": []}), "no text"),
        (json!({"content": [{"type": "tool_use", "id": "x"}], "stop_reason": "tool_use"}), "stop reason: tool_use"),
        (json!({"content": [], "stop_reason": "max_tokens"}), "raise max_tokens"),
        (json!({"type": "message"}), "no content blocks"),
        (json!({"content": "SELECT 1"}), "malformed JSON"),
    ];
    for (reply, expected) in cases {
        let server = Scripted::start(vec![Reply::ok(reply)]).await;
        let err = provider(&server).chat(&question()).await.expect_err(expected);
        assert_eq!(err.code, ErrorCode::LlmBadResponse, "{expected}");
        assert!(err.message.contains(expected), "{expected}: {}", err.message);
    }
}

#[tokio::test]
async fn a_base_url_ending_in_v1_is_not_doubled() {
    let server = Scripted::start(vec![Reply::ok(json!({"content": [{"type": "text", "text": "SELECT 1"}]}))]).await;
    let options = AnthropicOptions { http: fast_http(), ..AnthropicOptions::new("claude", key()) }
        .with_base_url(format!("{}/v1/", server.base));
    Anthropic::new(options).expect("options").chat(&question()).await.expect("completion");
    assert_eq!(server.single().path, "/v1/messages");
}
