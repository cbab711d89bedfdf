//! Embeddings from any OpenAI-compatible `POST {base_url}/embeddings` endpoint: OpenAI, Azure OpenAI, Ollama's `/v1`,
//! vLLM, LM Studio, llama.cpp server.
//!
//! The same transport as the chat provider (`http`): timeouts, retries with backoff and `Retry-After`, error codes,
//! and the same authentication (no key: no header; a key: `Authorization: Bearer`, or `api-key` for Azure — on when
//! [`OpenAiEmbeddingsOptions::azure`] is set or the host is Azure's; see `openai`).
//!
//! Invariants:
//! - inputs go in batches of at most [`MAX_EMBEDDING_BATCH`], one request after another; the vectors come back in
//!   input order, placed by each item's `index` (never by its position in `data`);
//! - every vector is L2-normalized here, so cosine similarity is a dot product;
//! - an answer with the wrong number of items, a missing, duplicate or out-of-range `index`, an embedding that is not
//!   a non-empty list of finite numbers, or vectors of different lengths (within a batch, across batches, or other
//!   than the configured `dimensions`) is `LlmBadResponse`, and is not retried;
//! - usage is the endpoint's `prompt_tokens` (or `total_tokens`), else estimated per batch, and flagged as such;
//! - a constructor sends nothing; an empty request sends nothing; an empty input is refused before anything is sent.

use async_trait::async_trait;
use datagenie_core::llm::l2_normalize;
use datagenie_core::llm::{EmbeddingProvider, EmbeddingRequest, EmbeddingResponse, TokenUsage, estimate_tokens};
use datagenie_core::{Error, ErrorCode, Result, Secret};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::http::{
    HttpOptions, Target, Transport, invalid_config, is_azure_host, join_path, non_empty_key, openai_auth_headers,
    parse_base_url, provider_message, set_api_version,
};
use crate::openai::AzureOptions;

/// The most inputs sent in one request (OpenAI accepts 2048, local servers often far fewer; 64 keeps each request
/// and its answer small).
pub const MAX_EMBEDDING_BATCH: usize = 64;

/// Settings of an [`OpenAiEmbeddings`] client. `Debug` shows no key.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenAiEmbeddingsOptions {
    /// E.g. `https://api.openai.com/v1` or `http://localhost:11434/v1`; `/embeddings` is appended. For an Azure
    /// deployment: `https://<res>.openai.azure.com/openai/deployments/<name>`.
    pub base_url: String,
    /// `None` (or empty) sends no auth header.
    pub api_key: Option<Secret>,
    pub model: String,
    /// Sent as `dimensions` when set (OpenAI's `text-embedding-3-*` shorten their vectors to it); the answer's
    /// vectors must then have exactly this length.
    pub dimensions: Option<u32>,
    pub azure: Option<AzureOptions>,
    pub http: HttpOptions,
}

impl OpenAiEmbeddingsOptions {
    /// OpenAI's own endpoint.
    pub const OPENAI_BASE_URL: &'static str = "https://api.openai.com/v1";
    /// OpenAI's small embedding model (1536 dimensions).
    pub const DEFAULT_MODEL: &'static str = "text-embedding-3-small";

    /// Options with no key, no `dimensions`, not Azure, and default timeouts and retries.
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        OpenAiEmbeddingsOptions {
            base_url: base_url.into(),
            api_key: None,
            model: model.into(),
            dimensions: None,
            azure: None,
            http: HttpOptions::default(),
        }
    }

    pub fn with_api_key(mut self, key: Secret) -> Self {
        self.api_key = Some(key);
        self
    }

    pub fn with_dimensions(mut self, dimensions: u32) -> Self {
        self.dimensions = Some(dimensions);
        self
    }
}

/// An embedding client for any OpenAI-compatible endpoint. Cheap to share (`Arc`); it keeps one connection pool.
#[derive(Debug)]
pub struct OpenAiEmbeddings {
    model: String,
    dimensions: Option<u32>,
    azure: bool,
    transport: Transport,
}

impl OpenAiEmbeddings {
    /// Validates the options (`InvalidConfig` for a base_url that is not an http(s) URL, an empty model, zero
    /// `dimensions`, an empty Azure `api_version`, zero timeouts) and builds the client. Sends nothing.
    pub fn new(options: OpenAiEmbeddingsOptions) -> Result<Self> {
        let model = options.model.trim().to_string();
        if model.is_empty() {
            return Err(invalid_config("the embedding model name is empty"));
        }
        if options.dimensions == Some(0) {
            return Err(invalid_config("embedding dimensions must be greater than zero"));
        }
        let base = parse_base_url(&options.base_url)?;
        let azure = options.azure.is_some() || is_azure_host(&base);
        let mut url = join_path(&base, "embeddings");
        if let Some(version) = options.azure.as_ref().and_then(|a| a.api_version.as_deref()) {
            set_api_version(&mut url, version)?;
        }
        let api_key = non_empty_key(options.api_key);
        let headers = openai_auth_headers(api_key.as_ref(), azure)?;
        let target = Target { provider: "openai", base, url, headers, model: model.clone(), api_key };
        let transport = Transport::new(target, options.http)?;
        Ok(OpenAiEmbeddings { model, dimensions: options.dimensions, azure, transport })
    }

    /// Whether requests use Azure's `api-key` header.
    pub fn is_azure(&self) -> bool {
        self.azure
    }

    /// The configured `dimensions`, if any.
    pub fn dimensions(&self) -> Option<u32> {
        self.dimensions
    }

    /// One batch: its vectors in input order (normalized), its usage, whether that is estimated, the model named.
    async fn embed_batch(&self, inputs: &[String], width: &mut Option<usize>) -> Result<Batch> {
        let mut body = json!({"model": self.model, "input": inputs});
        if let Some(dimensions) = self.dimensions {
            body["dimensions"] = json!(dimensions);
        }
        let reply = self.transport.post_json(body.to_string().into_bytes()).await?;
        let wire: WireResponse = self.transport.parse_json(&reply.body)?;
        let Some(data) = wire.data else {
            let said = provider_message(&reply.body).map(|m| format!(": {m}")).unwrap_or_default();
            return Err(self.transport.bad_response(format!("no embeddings (no `data`){said}")));
        };
        let vectors = self.place(data, inputs.len(), width)?;
        let reported = wire.usage.and_then(|u| u.prompt_tokens.filter(|n| *n > 0).or(u.total_tokens)).unwrap_or(0);
        let (prompt_tokens, estimated) = if reported > 0 {
            (reported, false)
        } else {
            (inputs.iter().map(|i| estimate_tokens(i) as u64).sum(), true)
        };
        let model = wire.model.filter(|m| !m.trim().is_empty());
        tracing::debug!(provider = "openai", model = %self.model, inputs = inputs.len(), attempts = reply.attempts,
            prompt_tokens, usage_estimated = estimated, "embedding batch");
        Ok(Batch { vectors, prompt_tokens, estimated, model })
    }

    /// The items of `data` in input order by their `index`, each checked and normalized. `width` is the vector
    /// length seen so far (in earlier batches too).
    fn place(&self, data: Vec<WireItem>, expected: usize, width: &mut Option<usize>) -> Result<Vec<Vec<f32>>> {
        if data.len() != expected {
            return Err(self.bad(format!("{} embeddings for {expected} inputs", data.len())));
        }
        let mut slots: Vec<Option<Vec<f32>>> = vec![None; expected];
        for (position, item) in data.into_iter().enumerate() {
            let index = match item.index.as_ref().and_then(Value::as_u64) {
                Some(i) => i,
                None if item.index.is_none() => {
                    return Err(self.bad(format!("an embedding without `index` (item {position})")));
                }
                None => {
                    return Err(self.bad(format!("an embedding whose `index` is not a whole number (item {position})")));
                }
            };
            let slot = usize::try_from(index).ok().and_then(|i| slots.get_mut(i));
            let Some(slot) = slot else {
                return Err(self.bad(format!("an embedding `index` {index} out of range for {expected} inputs")));
            };
            if slot.is_some() {
                return Err(self.bad(format!("two embeddings with `index` {index}")));
            }
            let mut vector = self.numbers(item.embedding, index)?;
            match *width {
                Some(w) if w != vector.len() => {
                    return Err(self
                        .bad(format!("embeddings of different lengths ({w} and {} at index {index})", vector.len())));
                }
                Some(_) => {}
                None => {
                    if let Some(d) = self.dimensions.filter(|d| *d as usize != vector.len()) {
                        return Err(self.bad(format!(
                            "embeddings of {} dimensions where {d} were asked for (does the model support \
                             `dimensions`?)",
                            vector.len()
                        )));
                    }
                    *width = Some(vector.len());
                }
            }
            l2_normalize(&mut vector);
            *slot = Some(vector);
        }
        // `data.len() == expected` and no index repeats, so every slot is filled.
        slots.into_iter().map(|v| v.ok_or_else(|| self.bad("a missing embedding"))).collect()
    }

    /// An embedding as a non-empty list of finite numbers.
    fn numbers(&self, embedding: Option<Value>, index: u64) -> Result<Vec<f32>> {
        let items = match embedding {
            Some(Value::Array(items)) => items,
            Some(Value::String(_)) => {
                return Err(self.bad(format!("a base64 embedding at index {index} (a list of floats is expected)")));
            }
            None | Some(Value::Null) => return Err(self.bad(format!("no `embedding` at index {index}"))),
            Some(_) => return Err(self.bad(format!("an `embedding` that is not a list at index {index}"))),
        };
        if items.is_empty() {
            return Err(self.bad(format!("an empty embedding at index {index}")));
        }
        items
            .iter()
            .map(|v| v.as_f64().map(|x| x as f32).filter(|x| x.is_finite()))
            .collect::<Option<Vec<f32>>>()
            .ok_or_else(|| self.bad(format!("an embedding with a value that is not a finite number at index {index}")))
    }

    fn bad(&self, detail: impl std::fmt::Display) -> Error {
        self.transport.bad_response(detail)
    }
}

/// What one batch contributed.
struct Batch {
    vectors: Vec<Vec<f32>>,
    prompt_tokens: u64,
    estimated: bool,
    model: Option<String>,
}

#[async_trait]
impl EmbeddingProvider for OpenAiEmbeddings {
    fn provider_name(&self) -> &str {
        "openai"
    }

    fn model(&self) -> &str {
        &self.model
    }

    async fn embed(&self, request: &EmbeddingRequest) -> Result<EmbeddingResponse> {
        if let Some(i) = request.inputs.iter().position(|s| s.trim().is_empty()) {
            return Err(Error::new(ErrorCode::Internal, format!("embedding input {i} is empty")));
        }
        let mut vectors = Vec::with_capacity(request.inputs.len());
        let mut usage = TokenUsage::default();
        let mut usage_estimated = false;
        let mut model = None;
        let mut width = None;
        for chunk in request.inputs.chunks(MAX_EMBEDDING_BATCH) {
            let batch = self.embed_batch(chunk, &mut width).await?;
            vectors.extend(batch.vectors);
            usage.prompt_tokens += batch.prompt_tokens;
            usage_estimated |= batch.estimated;
            model = model.or(batch.model);
        }
        Ok(EmbeddingResponse { vectors, usage, usage_estimated, model: model.unwrap_or_else(|| self.model.clone()) })
    }
}

#[derive(Deserialize)]
struct WireResponse {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    data: Option<Vec<WireItem>>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct WireItem {
    #[serde(default)]
    index: Option<Value>,
    #[serde(default)]
    embedding: Option<Value>,
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: Option<u64>,
    #[serde(default)]
    total_tokens: Option<u64>,
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use axum::body::Bytes;
    use axum::extract::State;
    use axum::http::{HeaderMap, StatusCode, Uri};
    use axum::response::{IntoResponse, Response};

    use super::*;

    const KEY: &str = "sk-test-DO-NOT-LEAK-0123456789";

    /// One answer of the test server: a status, a body, extra headers.
    type Answer = (u16, String, Vec<(&'static str, String)>);
    /// Answers a request from its body.
    type Answerer = Box<dyn Fn(&Value) -> Answer + Send>;

    /// A request as the test server saw it.
    #[derive(Clone, Debug)]
    struct Seen {
        path: String,
        query: Option<String>,
        headers: HeaderMap,
        body: Value,
    }

    struct Script {
        /// Answers in order; when they run out, `answer` is called with the request body.
        queue: VecDeque<Answer>,
        answer: Option<Answerer>,
        seen: Vec<Seen>,
    }

    /// A local server on 127.0.0.1 port 0 (bound before `start` returns).
    struct Server {
        root: String,
        script: Arc<Mutex<Script>>,
    }

    impl Server {
        async fn start(queue: Vec<Answer>, answer: Option<Answerer>) -> Server {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let port = listener.local_addr().expect("addr").port();
            let script = Arc::new(Mutex::new(Script { queue: queue.into(), answer, seen: Vec::new() }));
            let app = axum::Router::new().fallback(handle).with_state(Arc::clone(&script));
            tokio::spawn(async move { axum::serve(listener, app).await });
            Server { root: format!("http://127.0.0.1:{port}"), script }
        }

        /// A server answering every request with `answer(body)`.
        async fn echo(answer: impl Fn(&Value) -> Answer + Send + 'static) -> Server {
            Server::start(Vec::new(), Some(Box::new(answer))).await
        }

        /// A server answering with `answers` in order, then 500.
        async fn replies(answers: Vec<Answer>) -> Server {
            Server::start(answers, None).await
        }

        fn seen(&self) -> Vec<Seen> {
            self.script.lock().map(|s| s.seen.clone()).unwrap_or_default()
        }
    }

    async fn handle(State(script): State<Arc<Mutex<Script>>>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
        let (status, body, extra) = {
            let mut s = script.lock().expect("script lock");
            let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
            s.seen.push(Seen {
                path: uri.path().to_string(),
                query: uri.query().map(str::to_string),
                headers,
                body: body.clone(),
            });
            match s.queue.pop_front() {
                Some(answer) => answer,
                None => match &s.answer {
                    Some(f) => f(&body),
                    None => (500, "script exhausted".to_string(), Vec::new()),
                },
            }
        };
        let mut response = (StatusCode::from_u16(status).expect("status"), body).into_response();
        response.headers_mut().insert("content-type", "application/json".parse().expect("header"));
        for (name, value) in extra {
            response.headers_mut().insert(name, value.parse().expect("header"));
        }
        response
    }

    fn ok(body: Value) -> Answer {
        (200, body.to_string(), Vec::new())
    }

    fn fast_http() -> HttpOptions {
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

    fn client(server: &Server, key: Option<&str>) -> OpenAiEmbeddings {
        let options = OpenAiEmbeddingsOptions {
            api_key: key.map(Secret::new),
            http: fast_http(),
            ..OpenAiEmbeddingsOptions::new(format!("{}/v1", server.root), "text-embedding-3-small")
        };
        OpenAiEmbeddings::new(options).expect("valid options")
    }

    /// Inputs `t0`, `t1`, …
    fn inputs(n: usize) -> EmbeddingRequest {
        EmbeddingRequest::new((0..n).map(|i| format!("t{i}")))
    }

    /// Each input `t<k>` as `[1, k]`, the items listed in reverse (so only `index` gives the order), with usage.
    fn reversed_answer(body: &Value) -> Answer {
        let inputs = body["input"].as_array().cloned().unwrap_or_default();
        let mut data: Vec<Value> = inputs
            .iter()
            .enumerate()
            .map(|(i, input)| {
                let k: f64 = input.as_str().and_then(|s| s[1..].parse().ok()).unwrap_or(-1.0);
                json!({"object": "embedding", "index": i, "embedding": [1.0, k]})
            })
            .collect();
        data.reverse();
        ok(json!({"object": "list", "data": data, "model": "text-embedding-3-small-v9",
            "usage": {"prompt_tokens": inputs.len() * 2, "total_tokens": inputs.len() * 2}}))
    }

    fn one(embedding: Value) -> Answer {
        ok(json!({"data": [{"index": 0, "embedding": embedding}], "usage": {"prompt_tokens": 1}}))
    }

    #[tokio::test]
    async fn batches_of_64_in_order_by_index() {
        let server = Server::echo(reversed_answer).await;
        let done = client(&server, Some(KEY)).embed(&inputs(150)).await.expect("embeddings");

        assert_eq!(done.vectors.len(), 150);
        for (k, v) in done.vectors.iter().enumerate() {
            assert_eq!(v.len(), 2);
            assert!((v[1] / v[0] - k as f32).abs() < 1e-3, "vector {k} is {v:?}");
            assert!((v[0] * v[0] + v[1] * v[1] - 1.0).abs() < 1e-5, "normalized");
        }
        assert_eq!(done.dimensions(), 2);
        assert_eq!(done.usage, TokenUsage { prompt_tokens: 300, completion_tokens: 0 });
        assert!(!done.usage_estimated);
        assert_eq!(done.model, "text-embedding-3-small-v9");

        let seen = server.seen();
        let sizes: Vec<usize> = seen.iter().map(|s| s.body["input"].as_array().map_or(0, Vec::len)).collect();
        assert_eq!(sizes, vec![64, 64, 22]);
        assert_eq!(seen[1].body["input"][0], "t64");
        assert_eq!(seen[0].path, "/v1/embeddings");
        assert_eq!(seen[0].body["model"], "text-embedding-3-small");
        assert!(seen[0].body.get("dimensions").is_none());
        let auth = seen[0].headers.get("authorization").and_then(|v| v.to_str().ok());
        assert_eq!(auth, Some(format!("Bearer {KEY}").as_str()));
    }

    #[tokio::test]
    async fn vectors_are_normalized_and_a_zero_vector_stays_zero() {
        let body = json!({"data": [
            {"index": 1, "embedding": [0.0, 0.0]},
            {"index": 0, "embedding": [3.0, 4]},
        ], "usage": {"prompt_tokens": 4}});
        let server = Server::replies(vec![ok(body)]).await;
        let done = client(&server, None).embed(&EmbeddingRequest::new(["a", "b"])).await.expect("embeddings");
        assert_eq!(done.vectors, vec![vec![0.6, 0.8], vec![0.0, 0.0]]);
        assert_eq!(done.model, "text-embedding-3-small", "the configured model when none is named");
        assert!(server.seen()[0].headers.get("authorization").is_none(), "no key: no auth header");
    }

    #[tokio::test]
    async fn missing_usage_is_estimated() {
        let request = EmbeddingRequest::new(["monthly revenue by region", "고객 환불"]);
        let expected: u64 = request.inputs.iter().map(|s| estimate_tokens(s) as u64).sum();
        let body = json!({"data": [{"index": 0, "embedding": [1.0]}, {"index": 1, "embedding": [2.0]}]});
        for answer in [ok(body.clone()), ok(json!({"data": body["data"], "usage": {"prompt_tokens": 0}}))] {
            let server = Server::replies(vec![answer]).await;
            let done = client(&server, None).embed(&request).await.expect("embeddings");
            assert_eq!(done.usage, TokenUsage { prompt_tokens: expected, completion_tokens: 0 });
            assert!(done.usage_estimated);
        }
        let server = Server::replies(vec![ok(json!({"data": body["data"], "usage": {"total_tokens": 9}}))]).await;
        let done = client(&server, None).embed(&request).await.expect("embeddings");
        assert_eq!((done.usage.prompt_tokens, done.usage_estimated), (9, false), "total_tokens when alone");
    }

    #[tokio::test]
    async fn error_statuses_map_to_codes_and_retry_only_when_transient() {
        // 401: not retried, no key in the message.
        let server = Server::replies(vec![(401, json!({"error": {"message": KEY}}).to_string(), Vec::new())]).await;
        let err = client(&server, Some(KEY)).embed(&inputs(1)).await.expect_err("401");
        assert_eq!(err.code, ErrorCode::LlmAuthFailed);
        assert!(!err.message.contains("DO-NOT-LEAK"), "{}", err.message);
        assert_eq!(server.seen().len(), 1);

        // 429 with Retry-After, then success.
        let limited = (429, json!({"error": {"message": "slow down"}}).to_string(), vec![("retry-after", "0".into())]);
        let server = Server::start(vec![limited], Some(Box::new(reversed_answer))).await;
        let done = client(&server, Some(KEY)).embed(&inputs(3)).await.expect("retried");
        assert_eq!(done.vectors.len(), 3);
        assert_eq!(server.seen().len(), 2);

        // 429 on every attempt: rate limited after 1 + max_retries requests.
        let server = Server::echo(|_| (429, "{}".into(), Vec::new())).await;
        let err = client(&server, None).embed(&inputs(1)).await.expect_err("429");
        assert_eq!(err.code, ErrorCode::LlmRateLimited);
        assert_eq!(server.seen().len(), 4);

        // 500 on every attempt.
        let server = Server::echo(|_| (500, json!({"error": {"message": "boom"}}).to_string(), Vec::new())).await;
        let err = client(&server, Some(KEY)).embed(&inputs(1)).await.expect_err("500");
        assert_eq!(err.code, ErrorCode::LlmUnreachable);
        assert!(err.message.contains("boom"), "{}", err.message);
        assert_eq!(server.seen().len(), 4);

        // 404 names the model and the path.
        let server = Server::replies(vec![(404, "{}".into(), Vec::new())]).await;
        let err = client(&server, None).embed(&inputs(1)).await.expect_err("404");
        assert_eq!(err.code, ErrorCode::LlmBadResponse);
        assert!(err.message.contains("text-embedding-3-small") && err.message.contains("/v1/embeddings"));
    }

    #[tokio::test]
    async fn a_failing_later_batch_fails_the_call() {
        let server = Server::start(
            vec![reversed_answer(&json!({"input": (0..64).map(|i| format!("t{i}")).collect::<Vec<_>>()}))],
            None,
        )
        .await;
        let err = client(&server, None).embed(&inputs(65)).await.expect_err("second batch fails");
        assert_eq!(err.code, ErrorCode::LlmUnreachable);
    }

    #[tokio::test]
    async fn malformed_answers_are_bad_responses_and_not_retried() {
        let two = EmbeddingRequest::new(["a", "b"]);
        let data = |items: Value| ok(json!({"data": items, "usage": {"prompt_tokens": 2}}));
        let cases = [
            ((200, "{not json".to_string(), Vec::new()), "malformed JSON"),
            (ok(json!({"error": {"message": "upstream failed"}})), "no `data`): upstream failed"),
            (data(json!([{"index": 0, "embedding": [1.0]}])), "1 embeddings for 2 inputs"),
            (data(json!([{"index": 0, "embedding": [1.0]}, {"embedding": [1.0]}])), "without `index`"),
            (data(json!([{"index": 0, "embedding": [1.0]}, {"index": "1", "embedding": [1.0]}])), "not a whole"),
            (data(json!([{"index": 0, "embedding": [1.0]}, {"index": 0, "embedding": [1.0]}])), "two embeddings"),
            (data(json!([{"index": 0, "embedding": [1.0]}, {"index": 2, "embedding": [1.0]}])), "out of range"),
            (data(json!([{"index": 0, "embedding": [1.0]}, {"index": 1, "embedding": ["x"]}])), "not a finite"),
            (data(json!([{"index": 0, "embedding": [1.0]}, {"index": 1, "embedding": [null]}])), "not a finite"),
            (data(json!([{"index": 0, "embedding": [1.0]}, {"index": 1, "embedding": "AAAA"}])), "base64"),
            (data(json!([{"index": 0, "embedding": [1.0]}, {"index": 1, "embedding": {"a": 1}}])), "not a list"),
            (data(json!([{"index": 0, "embedding": [1.0]}, {"index": 1}])), "no `embedding`"),
            (data(json!([{"index": 0, "embedding": [1.0]}, {"index": 1, "embedding": []}])), "an empty embedding"),
            (data(json!([{"index": 0, "embedding": [1.0]}, {"index": 1, "embedding": [1.0, 2.0]}])), "different"),
            (data(json!([{"index": 0, "embedding": [1e300]}, {"index": 1, "embedding": [1.0]}])), "not a finite"),
        ];
        for (answer, expected) in cases {
            let server = Server::replies(vec![answer]).await;
            let err = client(&server, Some(KEY)).embed(&two).await.expect_err(expected);
            assert_eq!(err.code, ErrorCode::LlmBadResponse, "{expected}");
            assert!(err.message.contains(expected), "{expected}: {}", err.message);
            assert_eq!(server.seen().len(), 1, "{expected}: not retried");
        }
    }

    #[tokio::test]
    async fn lengths_must_agree_across_batches() {
        let server = Server::echo(|body| {
            let n = body["input"].as_array().map_or(0, Vec::len);
            let width = if n == MAX_EMBEDDING_BATCH { 3 } else { 2 };
            let data: Vec<Value> = (0..n).map(|i| json!({"index": i, "embedding": vec![1.0; width]})).collect();
            ok(json!({"data": data}))
        })
        .await;
        let err = client(&server, None).embed(&inputs(70)).await.expect_err("3 then 2 dimensions");
        assert_eq!(err.code, ErrorCode::LlmBadResponse);
        assert!(err.message.contains("different lengths (3 and 2"), "{}", err.message);
    }

    #[tokio::test]
    async fn dimensions_are_sent_and_enforced() {
        let server = Server::replies(vec![one(json!([1.0, 0.0, 0.0])), one(json!([1.0, 0.0]))]).await;
        let options = OpenAiEmbeddingsOptions {
            http: fast_http(),
            ..OpenAiEmbeddingsOptions::new(format!("{}/v1", server.root), "m").with_dimensions(3)
        };
        let embeddings = OpenAiEmbeddings::new(options).expect("options");
        assert_eq!(embeddings.dimensions(), Some(3));
        assert_eq!(embeddings.embed(&inputs(1)).await.expect("3 dims").dimensions(), 3);
        assert_eq!(server.seen()[0].body["dimensions"], 3);
        let err = embeddings.embed(&inputs(1)).await.expect_err("2 dims");
        assert!(err.message.contains("2 dimensions where 3 were asked for"), "{}", err.message);
    }

    #[tokio::test]
    async fn empty_requests_send_nothing_and_empty_inputs_are_refused() {
        let server = Server::replies(Vec::new()).await;
        let embeddings = client(&server, None);
        let done = embeddings.embed(&EmbeddingRequest::default()).await.expect("nothing to do");
        assert!(done.vectors.is_empty() && !done.usage_estimated && done.usage.total() == 0);
        let err = embeddings.embed(&EmbeddingRequest::new(["a", " "])).await.expect_err("empty input");
        assert_eq!(err.code, ErrorCode::Internal);
        assert!(err.message.contains("input 1"));
        assert!(server.seen().is_empty());
    }

    #[tokio::test]
    async fn azure_uses_the_api_key_header_and_api_version() {
        let server = Server::replies(vec![one(json!([1.0]))]).await;
        let options = OpenAiEmbeddingsOptions {
            api_key: Some(Secret::new(KEY)),
            azure: Some(AzureOptions { api_version: Some("2024-10-21".into()) }),
            http: fast_http(),
            ..OpenAiEmbeddingsOptions::new(format!("{}/openai/deployments/emb?x=1", server.root), "emb")
        };
        let embeddings = OpenAiEmbeddings::new(options).expect("options");
        assert!(embeddings.is_azure());
        embeddings.embed(&inputs(1)).await.expect("embeddings");
        let seen = server.seen();
        assert_eq!(seen[0].path, "/openai/deployments/emb/embeddings");
        assert_eq!(seen[0].query.as_deref(), Some("x=1&api-version=2024-10-21"));
        assert_eq!(seen[0].headers.get("api-key").and_then(|v| v.to_str().ok()), Some(KEY));
        assert!(seen[0].headers.get("authorization").is_none());

        let host = OpenAiEmbeddingsOptions::new("https://res.openai.azure.com/openai/v1", "m");
        assert!(OpenAiEmbeddings::new(host).expect("options").is_azure());
    }

    #[tokio::test]
    async fn works_as_a_trait_object() {
        let server = Server::echo(reversed_answer).await;
        let provider: Arc<dyn EmbeddingProvider> = Arc::new(client(&server, None));
        assert_eq!((provider.provider_name(), provider.model()), ("openai", "text-embedding-3-small"));
        assert_eq!(provider.embed(&inputs(2)).await.expect("embeddings").vectors.len(), 2);
    }

    #[test]
    fn constructor_validates() {
        let bad = |o: OpenAiEmbeddingsOptions| OpenAiEmbeddings::new(o).map(|_| ()).map_err(|e| e.code);
        assert_eq!(bad(OpenAiEmbeddingsOptions::new("localhost:11434/v1", "m")), Err(ErrorCode::InvalidConfig));
        assert_eq!(bad(OpenAiEmbeddingsOptions::new("http://h/v1", " ")), Err(ErrorCode::InvalidConfig));
        assert_eq!(
            bad(OpenAiEmbeddingsOptions::new("http://h/v1", "m").with_dimensions(0)),
            Err(ErrorCode::InvalidConfig)
        );
        let azure = OpenAiEmbeddingsOptions {
            azure: Some(AzureOptions { api_version: Some(" ".into()) }),
            ..OpenAiEmbeddingsOptions::new("http://h/v1", "m")
        };
        assert_eq!(bad(azure), Err(ErrorCode::InvalidConfig));
        let zero = OpenAiEmbeddingsOptions {
            http: HttpOptions { request_timeout: Duration::ZERO, ..HttpOptions::default() },
            ..OpenAiEmbeddingsOptions::new("http://h/v1", "m")
        };
        assert_eq!(bad(zero), Err(ErrorCode::InvalidConfig));
        assert_eq!(bad(OpenAiEmbeddingsOptions::new("http://h/v1", "m")), Ok(()));
    }

    #[test]
    fn debug_never_shows_the_key() {
        let options = OpenAiEmbeddingsOptions::new(OpenAiEmbeddingsOptions::OPENAI_BASE_URL, "text-embedding-3-small")
            .with_api_key(Secret::new("sk-live-SECRET"));
        assert!(!format!("{options:?}").contains("sk-live"));
        let shown = format!("{:?}", OpenAiEmbeddings::new(options).expect("options"));
        assert!(!shown.contains("sk-live"), "{shown}");
        assert!(shown.contains("text-embedding-3-small"));
    }
}
