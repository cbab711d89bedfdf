//! Anthropic's messages API: `POST {base_url}/v1/messages` with `x-api-key` and `anthropic-version: 2023-06-01`,
//! the system prompt as the top-level `system` field, and the answer's text joined from its `text` content blocks.
//!
//! A `base_url` already ending in `/v1` is accepted too (`/messages` is then appended, not `/v1/messages`). A key is
//! required for Anthropic's own host; a gateway on another host may inject it, so there the key is optional.

use async_trait::async_trait;
use datagenie_core::llm::{ChatRequest, ChatResponse, LlmProvider, Role, TokenUsage};
use datagenie_core::{Result, Secret};
use reqwest::Url;
use reqwest::header::{HeaderMap, HeaderValue};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::completion::{Completion, Parsed, check_request, finish};
use crate::http::{
    HttpOptions, Target, Transport, invalid_config, join_path, non_empty_key, parse_base_url, secret_header,
};

/// The API version this client speaks.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// Settings of an [`Anthropic`] provider. `Debug` shows no key.
#[derive(Debug, Clone, PartialEq)]
pub struct AnthropicOptions {
    /// Default `https://api.anthropic.com`.
    pub base_url: String,
    pub api_key: Option<Secret>,
    pub model: String,
    pub http: HttpOptions,
}

impl AnthropicOptions {
    pub const DEFAULT_BASE_URL: &'static str = "https://api.anthropic.com";

    /// Options for Anthropic's own endpoint with default timeouts and retries.
    pub fn new(model: impl Into<String>, api_key: Secret) -> Self {
        AnthropicOptions {
            base_url: Self::DEFAULT_BASE_URL.to_string(),
            api_key: Some(api_key),
            model: model.into(),
            http: HttpOptions::default(),
        }
    }

    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }
}

/// A provider for Anthropic's messages API. Cheap to share (`Arc`); it keeps one connection pool.
#[derive(Debug)]
pub struct Anthropic {
    model: String,
    transport: Transport,
}

impl Anthropic {
    /// Validates the options (`InvalidConfig` for a base_url that is not an http(s) URL, an empty model, a missing
    /// key for `api.anthropic.com`, zero timeouts) and builds the client. Sends nothing.
    pub fn new(options: AnthropicOptions) -> Result<Self> {
        let model = options.model.trim().to_string();
        if model.is_empty() {
            return Err(invalid_config("the LLM model name is empty"));
        }
        let base = parse_base_url(&options.base_url)?;
        let api_key = non_empty_key(options.api_key);
        if api_key.is_none() && base.host_str().is_some_and(|h| h.eq_ignore_ascii_case("api.anthropic.com")) {
            return Err(invalid_config("the Anthropic API needs an API key; none is configured"));
        }
        let url = messages_url(&base);
        let headers = headers(api_key.as_ref())?;
        let target = Target { provider: "anthropic", base, url, headers, model: model.clone(), api_key };
        let transport = Transport::new(target, options.http)?;
        Ok(Anthropic { model, transport })
    }

    /// One message completion, with the number of attempts it took and whether its usage is estimated.
    pub async fn chat(&self, request: &ChatRequest) -> Result<Completion> {
        check_request(request)?;
        let body = request_body(&self.model, request);
        let reply = self.transport.post_json(body.to_string().into_bytes()).await?;
        let wire: WireResponse = self.transport.parse_json(&reply.body)?;
        let parsed = self.parse(wire)?;
        let completion = finish(&self.transport, request, parsed, reply.attempts)?;
        tracing::debug!(provider = "anthropic", model = %completion.response.model, attempts = completion.attempts,
            prompt_tokens = completion.response.usage.prompt_tokens,
            completion_tokens = completion.response.usage.completion_tokens,
            usage_estimated = completion.usage_estimated, "LLM completion");
        Ok(completion)
    }

    fn parse(&self, wire: WireResponse) -> Result<Parsed> {
        let Some(content) = wire.content else {
            return Err(self.transport.bad_response("no content blocks"));
        };
        let text = content
            .iter()
            .filter(|block| block.get("type").and_then(Value::as_str) == Some("text"))
            .filter_map(|block| block.get("text").and_then(Value::as_str))
            .collect();
        Ok(Parsed {
            text,
            usage: wire.usage.map(WireUsage::into_usage),
            model: wire.model.filter(|m| !m.is_empty()).unwrap_or_else(|| self.model.clone()),
            stop_reason: wire.stop_reason,
            refusal: None,
        })
    }
}

#[async_trait]
impl LlmProvider for Anthropic {
    fn provider_name(&self) -> &str {
        "anthropic"
    }

    fn model(&self) -> &str {
        &self.model
    }

    async fn complete(&self, request: &ChatRequest) -> Result<ChatResponse> {
        self.chat(request).await.map(|c| c.response)
    }
}

fn messages_url(base: &Url) -> Url {
    if base.path().trim_end_matches('/').ends_with("/v1") {
        join_path(base, "messages")
    } else {
        join_path(base, "v1/messages")
    }
}

fn headers(api_key: Option<&Secret>) -> Result<HeaderMap> {
    let mut headers = HeaderMap::new();
    headers.insert("anthropic-version", HeaderValue::from_static(ANTHROPIC_VERSION));
    if let Some(key) = api_key {
        headers.insert("x-api-key", secret_header("", key)?);
    }
    Ok(headers)
}

/// The JSON body: `model`, `max_tokens`, `temperature`, `messages`, and `system` when non-empty.
fn request_body(model: &str, request: &ChatRequest) -> Value {
    let messages: Vec<Value> = request
        .messages
        .iter()
        .map(|m| {
            let role = match m.role {
                Role::User => "user",
                Role::Assistant => "assistant",
            };
            json!({"role": role, "content": m.content})
        })
        .collect();
    let mut body = json!({
        "model": model,
        "max_tokens": request.max_tokens,
        "temperature": request.temperature,
        "messages": messages,
    });
    if !request.system.trim().is_empty() {
        body["system"] = json!(request.system);
    }
    body
}

#[derive(Deserialize)]
struct WireResponse {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    content: Option<Vec<Value>>,
    #[serde(default)]
    stop_reason: Option<String>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    input_tokens: u64,
    #[serde(default)]
    output_tokens: u64,
    #[serde(default)]
    cache_creation_input_tokens: Option<u64>,
    #[serde(default)]
    cache_read_input_tokens: Option<u64>,
}

impl WireUsage {
    /// Prompt tokens include cache writes and reads, so every input token is metered.
    fn into_usage(self) -> TokenUsage {
        let cached = self.cache_creation_input_tokens.unwrap_or(0) + self.cache_read_input_tokens.unwrap_or(0);
        TokenUsage { prompt_tokens: self.input_tokens + cached, completion_tokens: self.output_tokens }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datagenie_core::ErrorCode;
    use datagenie_core::llm::Message;

    #[test]
    fn system_is_top_level_and_never_a_message() {
        let request =
            ChatRequest { system: "sys".into(), messages: vec![Message::user("q")], max_tokens: 50, temperature: 0.0 };
        let body = request_body("claude", &request);
        assert_eq!(body["system"], "sys");
        assert_eq!(body["messages"], json!([{"role": "user", "content": "q"}]));
        assert_eq!(body["max_tokens"], 50);
        let no_system = request_body("claude", &ChatRequest { system: String::new(), ..request });
        assert!(no_system.get("system").is_none());
    }

    #[test]
    fn messages_url_accepts_base_with_or_without_v1() -> Result<()> {
        let url = |b: &str| parse_base_url(b).map(|u| messages_url(&u).to_string());
        assert_eq!(url("https://api.anthropic.com")?, "https://api.anthropic.com/v1/messages");
        assert_eq!(url("https://api.anthropic.com/")?, "https://api.anthropic.com/v1/messages");
        assert_eq!(url("https://gw.example/anthropic/v1/")?, "https://gw.example/anthropic/v1/messages");
        Ok(())
    }

    #[test]
    fn usage_counts_cached_input() {
        let wire: WireUsage = serde_json::from_value(json!({
            "input_tokens": 10, "output_tokens": 5, "cache_read_input_tokens": 100, "cache_creation_input_tokens": null
        }))
        .expect("usage JSON");
        assert_eq!(wire.into_usage(), TokenUsage { prompt_tokens: 110, completion_tokens: 5 });
    }

    #[test]
    fn constructor_validates() {
        let code = |o: AnthropicOptions| Anthropic::new(o).map(|_| ()).map_err(|e| e.code);
        let key = || Secret::new("sk-ant-test-0000");
        assert_eq!(code(AnthropicOptions::new("claude", key())), Ok(()));
        assert_eq!(code(AnthropicOptions::new("", key())), Err(ErrorCode::InvalidConfig));
        assert_eq!(
            code(AnthropicOptions::new("c", key()).with_base_url("api.anthropic.com")),
            Err(ErrorCode::InvalidConfig)
        );
        let keyless = AnthropicOptions { api_key: None, ..AnthropicOptions::new("c", key()) };
        assert_eq!(code(keyless.clone()), Err(ErrorCode::InvalidConfig));
        assert_eq!(code(keyless.with_base_url("http://127.0.0.1:9/")), Ok(()));
    }

    #[test]
    fn debug_never_shows_the_key() -> Result<()> {
        let options = AnthropicOptions::new("claude-sonnet-4", Secret::new("sk-ant-SECRET-1"));
        assert!(!format!("{options:?}").contains("sk-ant"));
        let shown = format!("{:?}", Anthropic::new(options)?);
        assert!(!shown.contains("sk-ant"), "{shown}");
        Ok(())
    }
}
