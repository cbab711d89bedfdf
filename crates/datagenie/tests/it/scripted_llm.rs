//! A scripted LLM server speaking the OpenAI chat-completions and Anthropic messages protocols, on 127.0.0.1 port 0,
//! inside the test process. Each request takes the next scripted step; every request is recorded for assertions.
//! It is the only mock in these tests: the LLM is the edge DataGenie does not own.
//!
//! It also serves OpenAI's `/v1/embeddings`, apart from the chat script: deterministic vectors that carry meaning
//! ([`embed_text`]: hashed words plus a small synonym table), so tests can exercise semantic retrieval. Embedding
//! requests take no scripted step and are recorded in a list of their own ([`ScriptedLlm::embedding_requests`]), so
//! `requests()` and `received()` count chat calls only. [`ScriptedLlm::set_embeddings`] makes the route fail.

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

/// How `/v1/embeddings` answers (every request alike, until changed).
#[derive(Clone, Debug, Default)]
pub enum Embeddings {
    /// [`embed_text`] of each input, with `usage.prompt_tokens` = the number of words.
    #[default]
    Semantic,
    /// An HTTP error status with a body. 400 fails at once; 429 and 5xx are retried by the client first.
    Status(u16, String),
    /// A 200 response whose body is not valid JSON (not retried).
    Garbage,
}

/// The length of the scripted embeddings.
pub const EMBEDDING_DIMS: usize = 64;

/// Words of one meaning, in English and Korean: each group has a dimension of its own (its position here; no other
/// word lands there), so texts that share a meaning but no words still get close vectors.
const SYNONYMS: &[(&str, &[&str])] = &[
    ("refund", &["refund", "refunds", "refunded", "return", "returns", "returned", "반품", "환불"]),
    ("customer", &["customer", "customers", "client", "clients", "buyer", "buyers", "고객", "손님", "회원"]),
    ("revenue", &["revenue", "revenues", "sales", "turnover", "income", "매출", "수익", "판매액"]),
    ("order", &["order", "orders", "purchase", "purchases", "주문", "구매"]),
    ("product", &["product", "products", "item", "items", "goods", "상품", "제품"]),
    ("cancel", &["cancel", "cancels", "cancelled", "canceled", "cancellation", "취소"]),
    ("month", &["month", "months", "monthly", "월", "월별"]),
];

/// Words that carry no meaning of their own: they count as tokens but add nothing to a vector.
const STOP_WORDS: &[&str] = &[
    "a", "an", "the", "of", "by", "in", "on", "for", "to", "and", "or", "is", "are", "was", "what", "which", "how",
    "per", "with", "from", "each", "all",
];

/// The synonym group `word` belongs to. A Hangul word that starts with a group's Korean word of two syllables or
/// more (`고객별`, `매출액`, `환불된`) belongs to that group.
fn concept(word: &str) -> Option<usize> {
    if let Some(i) = SYNONYMS.iter().position(|(_, words)| words.contains(&word)) {
        return Some(i);
    }
    if !datagenie_core::hangul::contains_hangul(word) {
        return None;
    }
    SYNONYMS
        .iter()
        .position(|(_, words)| words.iter().any(|w| !w.is_ascii() && w.chars().count() > 1 && word.starts_with(w)))
}

/// The words of `text`: lower-cased runs of letters and digits (`_` and punctuation split).
fn words(text: &str) -> Vec<String> {
    text.to_lowercase().split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_string).collect()
}

/// The dimension `word` adds to: its synonym group's, else its hash (FNV-1a, the same in every run; an English
/// plural `s` dropped first) among the dimensions no group holds; `None` for a stop word.
fn dimension(word: &str) -> Option<usize> {
    if STOP_WORDS.contains(&word) {
        return None;
    }
    if let Some(i) = concept(word) {
        return Some(i);
    }
    let word = match word.strip_suffix('s') {
        Some(stem) if stem.len() > 2 && !stem.ends_with('s') && word.is_ascii() => stem,
        _ => word,
    };
    let hash = word.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    let free = (EMBEDDING_DIMS - SYNONYMS.len()) as u64;
    Some(SYNONYMS.len() + (hash % free) as usize)
}

/// The scripted embedding of `text`: +1 in each word's dimension (see [`dimension`]), then L2-normalized (all zeros
/// when `text` has no meaningful word). Deterministic, so a test can compute the similarity the application will
/// see: `refunds by customer` and `고객 환불` are the same vector (cosine 1.0); `monthly revenue` and `매출` 0.71.
pub fn embed_text(text: &str) -> Vec<f32> {
    let mut vector = vec![0.0f32; EMBEDDING_DIMS];
    for word in words(text) {
        if let Some(d) = dimension(&word) {
            vector[d] += 1.0;
        }
    }
    let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        vector.iter_mut().for_each(|x| *x /= norm);
    }
    vector
}

/// The cosine similarity of two scripted embeddings (their dot product: both have unit length or are zero).
pub fn similarity(a: &str, b: &str) -> f32 {
    embed_text(a).iter().zip(embed_text(b)).map(|(x, y)| x * y).sum()
}

#[derive(Clone, Debug)]
pub struct Recorded {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Recorded {
    /// All message texts of the request (system prompt included), joined; for an embedding request, its inputs.
    pub fn text(&self) -> String {
        let mut parts = self.inputs();
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

    /// The inputs of an embedding request (`input`: a string or a list of strings); empty for a chat request.
    pub fn inputs(&self) -> Vec<String> {
        match self.body.get("input") {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::to_string).collect(),
            _ => Vec::new(),
        }
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
    /// How `/v1/embeddings` answers.
    embeddings: Embeddings,
    /// Requests to `/v1/embeddings`, apart from `requests`.
    embedding_requests: Vec<Recorded>,
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
            ..Inner::default()
        }));
        let app = Router::new()
            .route("/v1/chat/completions", post(openai))
            .route("/v1/messages", post(anthropic))
            .route("/v1/embeddings", post(embeddings))
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

    /// Requests to `/v1/embeddings` (failed ones included), in arrival order.
    pub fn embedding_requests(&self) -> Vec<Recorded> {
        self.inner.lock().map(|i| i.embedding_requests.clone()).unwrap_or_default()
    }

    /// Every text sent to `/v1/embeddings`, in order, over all requests.
    pub fn embedded_texts(&self) -> Vec<String> {
        self.embedding_requests().iter().flat_map(Recorded::inputs).collect()
    }

    /// How `/v1/embeddings` answers from now on ([`Embeddings::Semantic`] until set).
    pub fn set_embeddings(&self, mode: Embeddings) {
        if let Ok(mut i) = self.inner.lock() {
            i.embeddings = mode;
        }
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

async fn embeddings(State(inner): State<Arc<Mutex<Inner>>>, headers: HeaderMap, body: Bytes) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let request = Recorded { path: "/v1/embeddings".to_string(), headers, body };
    let inputs = request.inputs();
    let model = request.body.get("model").and_then(Value::as_str).unwrap_or("test-embedding").to_string();
    let mode = match inner.lock() {
        Ok(mut i) => {
            i.embedding_requests.push(request);
            i.embeddings.clone()
        }
        Err(_) => return (StatusCode::INTERNAL_SERVER_ERROR, "scripted LLM lock poisoned").into_response(),
    };
    match mode {
        Embeddings::Semantic => {
            let data: Vec<Value> = inputs
                .iter()
                .enumerate()
                .map(|(index, text)| json!({"object": "embedding", "index": index, "embedding": embed_text(text)}))
                .collect();
            let tokens: usize = inputs.iter().map(|t| words(t).len()).sum();
            axum::Json(json!({
                "object": "list", "data": data, "model": model,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens}
            }))
            .into_response()
        }
        Embeddings::Status(code, body) => {
            (StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), body).into_response()
        }
        Embeddings::Garbage => (StatusCode::OK, "{not json").into_response(),
    }
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
