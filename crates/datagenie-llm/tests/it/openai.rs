//! OpenAI-compatible provider: what it sends and how it reads answers.

use std::sync::Arc;

use datagenie_core::llm::{LlmProvider, TokenUsage, estimate_tokens};
use datagenie_core::{ErrorCode, Secret};
use datagenie_llm::{AzureOptions, OpenAiCompatible, OpenAiOptions, TokenLimitParam};
use serde_json::json;

use crate::server::{Reply, Scripted};
use crate::{KEY, fast_http, key, question};

fn provider(server: &Scripted, api_key: Option<Secret>) -> OpenAiCompatible {
    let options = OpenAiOptions {
        api_key,
        http: fast_http(),
        ..OpenAiOptions::new(format!("{}/v1", server.base), "gpt-4o-mini")
    };
    OpenAiCompatible::new(options).expect("valid options")
}

fn answer(text: &str) -> serde_json::Value {
    json!({
        "id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 42, "completion_tokens": 7, "total_tokens": 49}
    })
}

#[tokio::test]
async fn success_reports_text_usage_and_the_request_shape() {
    let server = Scripted::start(vec![Reply::ok(answer("SELECT 1"))]).await;
    let done = provider(&server, Some(key())).chat(&question()).await.expect("completion");

    assert_eq!(done.response.text, "SELECT 1");
    assert_eq!(done.response.usage, TokenUsage { prompt_tokens: 42, completion_tokens: 7 });
    assert_eq!(done.response.model, "gpt-4o-mini-2024-07-18");
    assert_eq!((done.attempts, done.usage_estimated), (1, false));

    let sent = server.single();
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.path, "/v1/chat/completions");
    assert_eq!(sent.header("authorization"), Some(format!("Bearer {KEY}").as_str()));
    assert_eq!(sent.header("content-type"), Some("application/json"));
    assert_eq!(sent.body["model"], "gpt-4o-mini");
    assert_eq!(sent.body["messages"][0], json!({"role": "system", "content": "You write SQLite SQL."}));
    assert_eq!(sent.body["messages"][1], json!({"role": "user", "content": "지난달 매출 상위 5개 상품은?"}));
    assert_eq!(sent.body["max_tokens"], 256);
    assert_eq!(sent.body["temperature"], 0.0);
}

#[tokio::test]
async fn missing_usage_is_estimated_and_no_key_sends_no_auth_header() {
    let reply = json!({"choices": [{"message": {"role": "assistant", "content": "SELECT name FROM t"}}]});
    let server = Scripted::start(vec![Reply::ok(reply)]).await;
    let done = provider(&server, None).chat(&question()).await.expect("completion");

    let q = question();
    let expected_prompt = estimate_tokens(&q.system) + estimate_tokens(&q.messages[0].content);
    assert!(done.usage_estimated);
    assert_eq!(done.response.usage.prompt_tokens, expected_prompt as u64);
    assert_eq!(done.response.usage.completion_tokens, estimate_tokens("SELECT name FROM t") as u64);
    assert_eq!(done.response.model, "gpt-4o-mini", "falls back to the configured model");
    let sent = server.single();
    assert!(sent.header("authorization").is_none());
    assert!(sent.header("api-key").is_none());
}

#[tokio::test]
async fn an_empty_key_counts_as_no_key() {
    let server = Scripted::start(vec![Reply::ok(answer("SELECT 1"))]).await;
    provider(&server, Some(Secret::new(""))).chat(&question()).await.expect("completion");
    assert!(server.single().header("authorization").is_none());
}

#[tokio::test]
async fn azure_uses_the_api_key_header_and_api_version() {
    let server = Scripted::start(vec![Reply::ok(answer("SELECT 1"))]).await;
    let options = OpenAiOptions {
        api_key: Some(key()),
        azure: Some(AzureOptions { api_version: Some("2024-10-21".into()) }),
        http: fast_http(),
        ..OpenAiOptions::new(format!("{}/openai/deployments/sql", server.base), "sql")
    };
    let provider = OpenAiCompatible::new(options).expect("valid options");
    assert!(provider.is_azure());
    provider.chat(&question()).await.expect("completion");

    let sent = server.single();
    assert_eq!(sent.path, "/openai/deployments/sql/chat/completions");
    assert_eq!(sent.query.as_deref(), Some("api-version=2024-10-21"));
    assert_eq!(sent.header("api-key"), Some(KEY));
    assert!(sent.header("authorization").is_none());
}

#[tokio::test]
async fn reasoning_models_are_sent_max_completion_tokens() {
    let server = Scripted::start(vec![Reply::ok(answer("SELECT 1"))]).await;
    let options = OpenAiOptions { http: fast_http(), ..OpenAiOptions::new(format!("{}/v1", server.base), "o3-mini") };
    OpenAiCompatible::new(options).expect("options").chat(&question()).await.expect("completion");
    let sent = server.single();
    assert_eq!(sent.body["max_completion_tokens"], 256);
    assert!(sent.body.get("max_tokens").is_none() && sent.body.get("temperature").is_none());

    let server = Scripted::start(vec![Reply::ok(answer("SELECT 1"))]).await;
    let options = OpenAiOptions {
        token_limit: TokenLimitParam::MaxTokens,
        http: fast_http(),
        ..OpenAiOptions::new(format!("{}/v1", server.base), "o3-mini")
    };
    OpenAiCompatible::new(options).expect("options").chat(&question()).await.expect("completion");
    assert_eq!(server.single().body["max_tokens"], 256);
}

#[tokio::test]
async fn text_parts_are_joined() {
    let reply = json!({"choices": [{"message": {"content": [{"type": "text", "text": "SELECT "}, {"type": "text", "text": "2"}]}}]});
    let server = Scripted::start(vec![Reply::ok(reply)]).await;
    let done = provider(&server, None).chat(&question()).await.expect("completion");
    assert_eq!(done.response.text, "SELECT 2");
}

#[tokio::test]
async fn empty_answers_explain_themselves() {
    let cut = json!({"choices": [{"message": {"content": null}, "finish_reason": "length"}]});
    let refused = json!({"choices": [{"message": {"content": null, "refusal": "I can't help with that."}}]});
    let error_in_200 = json!({"error": {"message": "upstream provider failed"}});
    let cases = [
        (cut, "raise max_tokens"),
        (refused, "I can't help with that."),
        (error_in_200, "no choices: upstream provider failed"),
        (json!({"choices": []}), "no choices"),
    ];
    for (reply, expected) in cases {
        let server = Scripted::start(vec![Reply::ok(reply)]).await;
        let err = provider(&server, None).chat(&question()).await.expect_err(expected);
        assert_eq!(err.code, ErrorCode::LlmBadResponse, "{expected}");
        assert!(err.message.contains(expected), "{expected}: {}", err.message);
        assert_eq!(server.count(), 1, "bad answers are not retried");
    }
}

#[tokio::test]
async fn works_as_a_trait_object() {
    let server = Scripted::start(vec![Reply::ok(answer("SELECT 3"))]).await;
    let provider: Arc<dyn LlmProvider> = Arc::new(provider(&server, None));
    assert_eq!(provider.provider_name(), "openai");
    assert_eq!(provider.model(), "gpt-4o-mini");
    assert_eq!(provider.complete(&question()).await.expect("completion").text, "SELECT 3");
}

#[tokio::test]
async fn a_request_without_messages_is_refused_before_sending() {
    let server = Scripted::start(vec![Reply::ok(answer("x"))]).await;
    let mut request = question();
    request.messages.clear();
    let err = provider(&server, None).chat(&request).await.expect_err("no messages");
    assert_eq!(err.code, ErrorCode::Internal);
    assert_eq!(server.count(), 0);
}
