//! A scripted LLM server speaking the OpenAI chat-completions and Anthropic messages protocols, on 127.0.0.1 port 0,
//! inside the test process. Each request takes the next scripted step; every request is recorded for assertions.
//! It is the only mock in these tests: the LLM is the edge DataGenie does not own.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

#[derive(Clone, Debug)]
pub enum Step {
    /// A reply with this text as the assistant's message, with token usage.
    Reply(String),
    /// An HTTP error status with a body.
    Status(u16, String),
    /// A reply that arrives after this long (longer than the client waits, to test timeouts).
    Slow(Duration, String),
    /// A 200 response whose body is not valid JSON.
    Garbage,
}

pub fn reply(text: impl Into<String>) -> Step {
    Step::Reply(text.into())
}

pub fn sql(sql: &str) -> Step {
    Step::Reply(format!("Here is the query:\n```sql\n{sql}\n```"))
}

#[derive(Clone, Debug)]
pub struct Recorded {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Recorded {
    /// All message texts of the request (system prompt included), joined.
    pub fn text(&self) -> String {
        let mut parts = Vec::new();
        if let Some(s) = self.body.get("system").and_then(Value::as_str) {
            parts.push(s.to_string());
        }
        if let Some(msgs) = self.body.get("messages").and_then(Value::as_array) {
            for m in msgs {
                match m.get("content") {
                    Some(Value::String(s)) => parts.push(s.clone()),
                    Some(other) => parts.push(other.to_string()),
                    None => {}
                }
            }
        }
        parts.join("\n")
    }
}

#[derive(Default)]
struct Inner {
    steps: VecDeque<Step>,
    /// Replayed when the script runs out (None: answer 500 "script exhausted").
    fallback: Option<Step>,
    requests: Vec<Recorded>,
    /// The number of requests received, for tests that wait until a question reaches the LLM.
    received: Option<tokio::sync::watch::Sender<usize>>,
}

#[derive(Clone)]
pub struct ScriptedLlm {
    inner: Arc<Mutex<Inner>>,
    pub base_url: String,
}

impl ScriptedLlm {
    pub async fn start(steps: Vec<Step>) -> ScriptedLlm {
        Self::start_with_fallback(steps, None).await
    }

    pub async fn start_with_fallback(steps: Vec<Step>, fallback: Option<Step>) -> ScriptedLlm {
        let (received, _) = tokio::sync::watch::channel(0);
        let inner = Arc::new(Mutex::new(Inner {
            steps: steps.into(),
            fallback,
            requests: Vec::new(),
            received: Some(received),
        }));
        let app = Router::new()
            .route("/v1/chat/completions", post(openai))
            .route("/v1/messages", post(anthropic))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind scripted LLM");
        let addr = listener.local_addr().expect("local addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        ScriptedLlm { inner, base_url: format!("http://{addr}/v1") }
    }

    /// Base URL for Anthropic (without the /v1 suffix, which its client adds).
    pub fn anthropic_base(&self) -> String {
        self.base_url.trim_end_matches("/v1").to_string()
    }

    /// Waits until at least `n` requests have arrived (no polling: the server signals each one).
    pub async fn received(&self, n: usize) {
        let rx = self.inner.lock().ok().and_then(|i| i.received.as_ref().map(|tx| tx.subscribe()));
        if let Some(mut rx) = rx {
            let _ = rx.wait_for(|count| *count >= n).await;
        }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.inner.lock().map(|i| i.requests.clone()).unwrap_or_default()
    }
}

fn next_step(inner: &Arc<Mutex<Inner>>, path: &str, headers: &HeaderMap, body: &Bytes) -> Option<Step> {
    let mut i = inner.lock().ok()?;
    let body = serde_json::from_slice(body).unwrap_or(Value::Null);
    i.requests.push(Recorded { path: path.to_string(), headers: headers.clone(), body });
    let count = i.requests.len();
    if let Some(tx) = &i.received {
        tx.send_replace(count);
    }
    i.steps.pop_front().or_else(|| i.fallback.clone())
}

async fn openai(State(inner): State<Arc<Mutex<Inner>>>, headers: HeaderMap, body: Bytes) -> Response {
    let step = next_step(&inner, "/v1/chat/completions", &headers, &body);
    respond(step, |text| {
        json!({
            "id": "chatcmpl-test", "object": "chat.completion", "model": "test-model",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}
        })
    })
    .await
}

async fn anthropic(State(inner): State<Arc<Mutex<Inner>>>, headers: HeaderMap, body: Bytes) -> Response {
    let step = next_step(&inner, "/v1/messages", &headers, &body);
    respond(step, |text| {
        json!({
            "id": "msg_test", "type": "message", "role": "assistant", "model": "claude-test",
            "content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
            "usage": {"input_tokens": 100, "output_tokens": 20}
        })
    })
    .await
}

async fn respond(step: Option<Step>, ok: impl Fn(&str) -> Value) -> Response {
    match step {
        Some(Step::Reply(text)) => axum::Json(ok(&text)).into_response(),
        Some(Step::Status(code, body)) => {
            (StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), body).into_response()
        }
        Some(Step::Slow(delay, text)) => {
            tokio::time::sleep(delay).await;
            axum::Json(ok(&text)).into_response()
        }
        Some(Step::Garbage) => (StatusCode::OK, "{not json").into_response(),
        None => (StatusCode::INTERNAL_SERVER_ERROR, "script exhausted").into_response(),
    }
}
