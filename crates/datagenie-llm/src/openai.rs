//! Any OpenAI-compatible chat-completions endpoint: OpenAI, Azure OpenAI, Ollama, vLLM, llama.cpp server, LM Studio.
//!
//! Requests go to `{base_url}/chat/completions` with the system prompt as the first message. Authentication:
//! - no key: no auth header at all (local servers need none);
//! - a key, not Azure: `Authorization: Bearer <key>`;
//! - a key, Azure: `api-key: <key>`. Azure mode is on when [`OpenAiOptions::azure`] is set **or** the host ends in
//!   `.openai.azure.com`, `.cognitiveservices.azure.com` or `.services.ai.azure.com`. The `api-version` query is
//!   added only when [`AzureOptions::api_version`] is set (Azure's v1 API needs none; a query already in `base_url`
//!   is kept either way). For a deployment, use `base_url = https://<res>.openai.azure.com/openai/deployments/<name>`.

use async_trait::async_trait;
use datagenie_core::llm::{ChatRequest, ChatResponse, LlmProvider, Role, TokenUsage};
use datagenie_core::{Result, Secret};
use reqwest::Url;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::completion::{Completion, Parsed, check_request, finish};
use crate::http::{
    HttpOptions, Target, Transport, invalid_config, is_azure_host, join_path, non_empty_key, openai_auth_headers,
    parse_base_url, set_api_version,
};

/// Azure OpenAI settings. Present = Azure mode even on a host not recognised as Azure's (e.g. behind a gateway).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AzureOptions {
    /// Sent as the `api-version` query parameter when set (e.g. `2024-10-21`).
    pub api_version: Option<String>,
}

/// Which request field carries the answer's token limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenLimitParam {
    /// `max_completion_tokens` (and no `temperature`) for OpenAI reasoning models — names starting `o1`, `o3`, `o4`
    /// or `gpt-5`, which reject `max_tokens` and custom temperatures; `max_tokens` for every other model.
    #[default]
    Auto,
    /// Always `max_tokens` with `temperature` (every OpenAI-compatible server accepts this).
    MaxTokens,
    /// Always `max_completion_tokens`, without `temperature`.
    MaxCompletionTokens,
}

/// Settings of an [`OpenAiCompatible`] provider. `Debug` shows no key.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenAiOptions {
    /// E.g. `https://api.openai.com/v1` or `http://localhost:11434/v1`; `/chat/completions` is appended.
    pub base_url: String,
    /// `None` (or empty) sends no auth header.
    pub api_key: Option<Secret>,
    pub model: String,
    pub azure: Option<AzureOptions>,
    pub token_limit: TokenLimitParam,
    pub http: HttpOptions,
}

impl OpenAiOptions {
    /// OpenAI's own endpoint.
    pub const OPENAI_BASE_URL: &'static str = "https://api.openai.com/v1";

    /// Options with no key, not Azure, `TokenLimitParam::Auto` and default timeouts and retries.
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        OpenAiOptions {
            base_url: base_url.into(),
            api_key: None,
            model: model.into(),
            azure: None,
            token_limit: TokenLimitParam::Auto,
            http: HttpOptions::default(),
        }
    }

    pub fn with_api_key(mut self, key: Secret) -> Self {
        self.api_key = Some(key);
        self
    }
}

/// A provider for any OpenAI-compatible endpoint. Cheap to share (`Arc`); it keeps one connection pool.
#[derive(Debug)]
pub struct OpenAiCompatible {
    model: String,
    azure: bool,
    reasoning_style: bool,
    transport: Transport,
}

impl OpenAiCompatible {
    /// Validates the options (`InvalidConfig` for a base_url that is not an http(s) URL, an empty model, an empty
    /// `api_version`, zero timeouts) and builds the client. Sends nothing.
    pub fn new(options: OpenAiOptions) -> Result<Self> {
        let model = options.model.trim().to_string();
        if model.is_empty() {
            return Err(invalid_config("the LLM model name is empty"));
        }
        let base = parse_base_url(&options.base_url)?;
        let azure = options.azure.is_some() || is_azure_host(&base);
        let url = request_url(&base, options.azure.as_ref())?;
        let api_key = non_empty_key(options.api_key);
        let headers = openai_auth_headers(api_key.as_ref(), azure)?;
        let reasoning_style = match options.token_limit {
            TokenLimitParam::Auto => is_reasoning_model(&model),
            TokenLimitParam::MaxTokens => false,
            TokenLimitParam::MaxCompletionTokens => true,
        };
        let target = Target { provider: "openai", base, url, headers, model: model.clone(), api_key };
        let transport = Transport::new(target, options.http)?;
        Ok(OpenAiCompatible { model, azure, reasoning_style, transport })
    }

    /// Whether requests use Azure's `api-key` header.
    pub fn is_azure(&self) -> bool {
        self.azure
    }

    /// One chat completion, with the number of attempts it took and whether its usage is estimated.
    pub async fn chat(&self, request: &ChatRequest) -> Result<Completion> {
        check_request(request)?;
        let body = request_body(&self.model, request, self.reasoning_style);
        let reply = self.transport.post_json(body.to_string().into_bytes()).await?;
        let wire: WireResponse = self.transport.parse_json(&reply.body)?;
        let parsed = self.parse(wire, &reply.body)?;
        let completion = finish(&self.transport, request, parsed, reply.attempts)?;
        tracing::debug!(provider = "openai", model = %completion.response.model, attempts = completion.attempts,
            prompt_tokens = completion.response.usage.prompt_tokens,
            completion_tokens = completion.response.usage.completion_tokens,
            usage_estimated = completion.usage_estimated, "LLM completion");
        Ok(completion)
    }

    fn parse(&self, wire: WireResponse, raw: &[u8]) -> Result<Parsed> {
        let Some(choice) = wire.choices.into_iter().next() else {
            let said = crate::http::provider_message(raw).map(|m| format!(": {m}")).unwrap_or_default();
            return Err(self.transport.bad_response(format!("no choices{said}")));
        };
        let message = choice.message.unwrap_or_default();
        Ok(Parsed {
            text: content_text(message.content.as_ref()),
            usage: wire.usage.map(|u| TokenUsage {
                prompt_tokens: u.prompt_tokens.unwrap_or(0),
                completion_tokens: u.completion_tokens.unwrap_or(0),
            }),
            model: wire.model.filter(|m| !m.is_empty()).unwrap_or_else(|| self.model.clone()),
            stop_reason: choice.finish_reason,
            refusal: message.refusal,
        })
    }
}

#[async_trait]
impl LlmProvider for OpenAiCompatible {
    fn provider_name(&self) -> &str {
        "openai"
    }

    fn model(&self) -> &str {
        &self.model
    }

    async fn complete(&self, request: &ChatRequest) -> Result<ChatResponse> {
        self.chat(request).await.map(|c| c.response)
    }
}

/// `{base}/chat/completions`, with `api-version` set (replacing any in `base`) when Azure options name one.
fn request_url(base: &Url, azure: Option<&AzureOptions>) -> Result<Url> {
    let mut url = join_path(base, "chat/completions");
    if let Some(version) = azure.and_then(|a| a.api_version.as_deref()) {
        set_api_version(&mut url, version)?;
    }
    Ok(url)
}

/// OpenAI's reasoning families, judged by the model name after any `provider/` prefix.
fn is_reasoning_model(model: &str) -> bool {
    let name = model.rsplit('/').next().unwrap_or(model).to_ascii_lowercase();
    ["o1", "o3", "o4", "gpt-5"].iter().any(|family| name == *family || name.starts_with(&format!("{family}-")))
}

/// The JSON body: `model`, `messages` (system first, omitted when empty), the token limit and `temperature`.
fn request_body(model: &str, request: &ChatRequest, reasoning_style: bool) -> Value {
    let mut messages = Vec::with_capacity(request.messages.len() + 1);
    if !request.system.trim().is_empty() {
        messages.push(json!({"role": "system", "content": request.system}));
    }
    for m in &request.messages {
        let role = match m.role {
            Role::User => "user",
            Role::Assistant => "assistant",
        };
        messages.push(json!({"role": role, "content": m.content}));
    }
    if reasoning_style {
        json!({"model": model, "messages": messages, "max_completion_tokens": request.max_tokens})
    } else {
        json!({"model": model, "messages": messages, "max_tokens": request.max_tokens,
            "temperature": request.temperature})
    }
}

/// `content` as a string, or as a list of parts whose `text` fields are joined (some servers send parts).
fn content_text(content: Option<&Value>) -> String {
    match content {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts.iter().filter_map(|p| p.get("text").and_then(Value::as_str)).collect(),
        _ => String::new(),
    }
}

#[derive(Deserialize)]
struct WireResponse {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    choices: Vec<WireChoice>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct WireChoice {
    #[serde(default)]
    message: Option<WireMessage>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize, Default)]
struct WireMessage {
    #[serde(default)]
    content: Option<Value>,
    #[serde(default)]
    refusal: Option<String>,
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: Option<u64>,
    #[serde(default)]
    completion_tokens: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use datagenie_core::ErrorCode;
    use datagenie_core::llm::Message;

    fn request(system: &str) -> ChatRequest {
        ChatRequest {
            system: system.into(),
            messages: vec![Message::user("q"), Message::assistant("a"), Message::user("q2")],
            max_tokens: 100,
            temperature: 0.2,
        }
    }

    #[test]
    fn system_goes_first_and_empty_system_is_omitted() {
        let body = request_body("m", &request("sys"), false);
        assert_eq!(body["messages"][0], json!({"role": "system", "content": "sys"}));
        assert_eq!(body["messages"][1]["role"], "user");
        assert_eq!(body["messages"][2]["role"], "assistant");
        assert_eq!(body["max_tokens"], 100);
        assert!(body["temperature"].as_f64().is_some_and(|t| (t - 0.2).abs() < 1e-6));
        let body = request_body("m", &request("  "), false);
        assert_eq!(body["messages"][0]["role"], "user");
        assert_eq!(body["messages"].as_array().map(Vec::len), Some(3));
    }

    #[test]
    fn reasoning_models_get_max_completion_tokens_and_no_temperature() {
        for m in ["o3-mini", "o1", "openai/o4-mini", "gpt-5", "GPT-5-mini"] {
            assert!(is_reasoning_model(m), "{m}");
        }
        for m in ["gpt-4o", "llama3.1:8b", "o3x", "qwen2.5-coder", "gpt-50"] {
            assert!(!is_reasoning_model(m), "{m}");
        }
        let body = request_body("o3-mini", &request("s"), true);
        assert_eq!(body["max_completion_tokens"], 100);
        assert!(body.get("max_tokens").is_none() && body.get("temperature").is_none());
    }

    #[test]
    fn azure_is_detected_by_host_and_api_version_replaces_the_query() -> Result<()> {
        assert!(is_azure_host(&parse_base_url("https://res.openai.azure.com/openai/v1")?));
        assert!(is_azure_host(&parse_base_url("https://RES.cognitiveservices.azure.com/x")?));
        assert!(!is_azure_host(&parse_base_url("https://api.openai.com/v1")?));
        assert!(!is_azure_host(&parse_base_url("https://openai.azure.com.evil.example/v1")?));
        let base = parse_base_url("https://r.openai.azure.com/openai/deployments/d?api-version=old&x=1")?;
        let azure = AzureOptions { api_version: Some("2024-10-21".into()) };
        let url = request_url(&base, Some(&azure))?;
        assert_eq!(url.path(), "/openai/deployments/d/chat/completions");
        assert_eq!(url.query(), Some("x=1&api-version=2024-10-21"));
        let empty = AzureOptions { api_version: Some(" ".into()) };
        assert_eq!(request_url(&base, Some(&empty)).map_err(|e| e.code), Err(ErrorCode::InvalidConfig));
        Ok(())
    }

    #[test]
    fn auth_header_style() -> Result<()> {
        let key = Secret::new("sk-test-abcdefgh");
        assert!(openai_auth_headers(None, false)?.is_empty());
        let bearer = openai_auth_headers(Some(&key), false)?;
        assert_eq!(
            bearer.get(reqwest::header::AUTHORIZATION).map(|v| v.as_bytes()),
            Some(&b"Bearer sk-test-abcdefgh"[..])
        );
        let azure = openai_auth_headers(Some(&key), true)?;
        assert!(azure.get(reqwest::header::AUTHORIZATION).is_none());
        assert_eq!(azure.get("api-key").map(|v| v.as_bytes()), Some(&b"sk-test-abcdefgh"[..]));
        Ok(())
    }

    #[test]
    fn content_parts_are_joined() {
        assert_eq!(content_text(Some(&json!("hi"))), "hi");
        assert_eq!(content_text(Some(&json!([{"type": "text", "text": "a"}, {"type": "x"}, {"text": "b"}]))), "ab");
        assert_eq!(content_text(Some(&Value::Null)), "");
        assert_eq!(content_text(None), "");
    }

    #[test]
    fn constructor_validates() {
        let bad = |o: OpenAiOptions| OpenAiCompatible::new(o).map(|_| ()).map_err(|e| e.code);
        assert_eq!(bad(OpenAiOptions::new("localhost:11434/v1", "m")), Err(ErrorCode::InvalidConfig));
        assert_eq!(bad(OpenAiOptions::new("ftp://h/v1", "m")), Err(ErrorCode::InvalidConfig));
        assert_eq!(bad(OpenAiOptions::new("http://h/v1", " ")), Err(ErrorCode::InvalidConfig));
        assert_eq!(bad(OpenAiOptions::new("http://h/v1", "m")), Ok(()));
    }

    #[test]
    fn debug_never_shows_the_key() -> Result<()> {
        let options =
            OpenAiOptions::new("https://api.openai.com/v1", "gpt-4o").with_api_key(Secret::new("sk-live-SECRET"));
        assert!(!format!("{options:?}").contains("sk-live"));
        let provider = OpenAiCompatible::new(options)?;
        let shown = format!("{provider:?}");
        assert!(!shown.contains("sk-live"), "{shown}");
        assert!(shown.contains("gpt-4o"));
        Ok(())
    }
}
