//! The HTTP transport both providers share: one JSON POST with timeouts, bounded retries and the mapping of every
//! failure to a stable error code.
//!
//! Invariants:
//! - the API key reaches the wire only through header values marked sensitive; it never appears in an error message
//!   (401/403 bodies are not even read, and any other message is scrubbed of the key), a log line or `Debug` output;
//! - 400, 401, 403 and 404 are never retried; 429, 500, 502, 503, 504, 529, connect errors and timeouts are retried
//!   at most `max_retries` times;
//! - redirects are not followed (a redirect could carry the key to another host); they become `LlmBadResponse`;
//! - TLS certificates are verified against the platform's roots; a client for an `http://` endpoint has no roots at
//!   all (it never makes a TLS connection, and loading the system's CA store is a measurable part of `ask`);
//! - a response body larger than `max_response_bytes` is refused, never buffered whole;
//! - at debug level the transport logs the host, attempt number, status and elapsed time — never the prompt or body.

use std::fmt;
use std::time::{Duration, Instant};

use datagenie_core::{Error, ErrorCode, Result, Secret};
use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Client, Response, StatusCode, Url};

use crate::retry::{backoff_delay, is_retryable_status, jitter_unit, parse_retry_after};

/// The most characters of a provider's own error message an error of ours quotes.
const MAX_PROVIDER_MESSAGE_CHARS: usize = 300;
/// The most bytes of an error response read to find its message.
const MAX_ERROR_BODY_BYTES: usize = 64 * 1024;
/// Keys shorter than this are not scrubbed from messages (replacing a one-letter "key" would garble the text).
const MIN_SCRUBBED_KEY_LEN: usize = 8;

/// Timeouts, retries and limits of the HTTP transport, shared by every provider's options.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpOptions {
    /// Whole-request limit, from sending to the last byte of the answer. Default 60 s.
    pub request_timeout: Duration,
    /// Limit for establishing the TCP (and TLS) connection. Default 10 s.
    pub connect_timeout: Duration,
    /// Retries after the first attempt (so at most `max_retries + 1` requests). Default 3, at most 10.
    pub max_retries: u32,
    /// First backoff delay; it doubles on each retry, with jitter. Default 500 ms.
    pub backoff_base: Duration,
    /// Largest backoff delay. Default 8 s.
    pub backoff_cap: Duration,
    /// Largest `Retry-After` honoured; when the server asks for a longer wait the call fails at once rather than
    /// sleeping through it. Default 30 s.
    pub retry_after_cap: Duration,
    /// Largest accepted response body. Default 8 MiB.
    pub max_response_bytes: usize,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            request_timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            max_retries: 3,
            backoff_base: Duration::from_millis(500),
            backoff_cap: Duration::from_secs(8),
            retry_after_cap: Duration::from_secs(30),
            max_response_bytes: 8 * 1024 * 1024,
        }
    }
}

impl HttpOptions {
    /// The largest `max_retries` accepted.
    pub const MAX_RETRIES_LIMIT: u32 = 10;

    fn validate(&self) -> Result<()> {
        if self.request_timeout.is_zero() || self.connect_timeout.is_zero() {
            return Err(invalid_config("LLM timeouts must be greater than zero"));
        }
        if self.max_retries > Self::MAX_RETRIES_LIMIT {
            return Err(invalid_config(format!(
                "LLM max_retries is {}, at most {} is allowed",
                self.max_retries,
                Self::MAX_RETRIES_LIMIT
            )));
        }
        if self.max_response_bytes == 0 {
            return Err(invalid_config("LLM max_response_bytes must be greater than zero"));
        }
        Ok(())
    }
}

pub(crate) fn invalid_config(message: impl Into<String>) -> Error {
    Error::new(ErrorCode::InvalidConfig, message)
}

/// Parses a provider's `base_url`: an absolute http(s) URL with a host, no credentials and no fragment. A trailing
/// slash is allowed; a query (such as Azure's `api-version`) is kept and carried onto every request URL.
pub(crate) fn parse_base_url(raw: &str) -> Result<Url> {
    let raw = raw.trim();
    let url = Url::parse(raw).map_err(|e| invalid_config(format!("LLM base_url is not a valid URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid_config(format!("LLM base_url must start with http:// or https://, not {}:", url.scheme())));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid_config("LLM base_url has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid_config("LLM base_url must not contain credentials; set the API key instead"));
    }
    if url.fragment().is_some() {
        return Err(invalid_config("LLM base_url must not contain a #fragment"));
    }
    Ok(url)
}

/// `base` with `suffix` appended to its path (exactly one `/` between them); the query of `base` is kept.
pub(crate) fn join_path(base: &Url, suffix: &str) -> Url {
    let mut url = base.clone();
    let path = format!("{}/{}", base.path().trim_end_matches('/'), suffix.trim_start_matches('/'));
    url.set_path(&path);
    url
}

/// `host` or `host:port`: what error messages name.
pub(crate) fn host_label(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    }
}

/// The URL without its query, for messages (a query may carry parameters the user did not mean to show).
fn display_url(url: &Url) -> String {
    format!("{}://{}{}", url.scheme(), host_label(url), url.path().trim_end_matches('/'))
}

/// A header value holding a secret, marked sensitive so HTTP tooling redacts it. Fails with `InvalidConfig` (without
/// quoting the key) when the key holds characters an HTTP header cannot carry.
pub(crate) fn secret_header(prefix: &str, secret: &Secret) -> Result<HeaderValue> {
    let mut value = HeaderValue::from_str(&format!("{prefix}{}", secret.expose()))
        .map_err(|_| invalid_config("the LLM API key contains characters that cannot be sent in an HTTP header"))?;
    value.set_sensitive(true);
    Ok(value)
}

/// A non-empty key, or `None`: an empty key means "no key" (local servers need none).
pub(crate) fn non_empty_key(key: Option<Secret>) -> Option<Secret> {
    key.filter(|k| !k.expose().trim().is_empty())
}

/// Hosts served by Azure OpenAI / Azure AI: they take the key in an `api-key` header.
pub(crate) const AZURE_HOST_SUFFIXES: [&str; 3] =
    [".openai.azure.com", ".cognitiveservices.azure.com", ".services.ai.azure.com"];

/// Whether `url`'s host is one of Azure's (see [`AZURE_HOST_SUFFIXES`]).
pub(crate) fn is_azure_host(url: &Url) -> bool {
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    AZURE_HOST_SUFFIXES.iter().any(|suffix| host.ends_with(suffix))
}

/// Sets the `api-version` query parameter (replacing any already there, keeping the other parameters). An empty
/// version is `InvalidConfig`.
pub(crate) fn set_api_version(url: &mut Url, version: &str) -> Result<()> {
    let version = version.trim();
    if version.is_empty() {
        return Err(invalid_config("the Azure api_version is empty"));
    }
    let kept: Vec<(String, String)> =
        url.query_pairs().filter(|(k, _)| k != "api-version").map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    url.query_pairs_mut().clear().extend_pairs(kept).append_pair("api-version", version);
    Ok(())
}

/// The auth header of an OpenAI-compatible endpoint: none without a key, `api-key: <key>` for Azure, else
/// `Authorization: Bearer <key>`.
pub(crate) fn openai_auth_headers(api_key: Option<&Secret>, azure: bool) -> Result<HeaderMap> {
    let mut headers = HeaderMap::new();
    match (api_key, azure) {
        (None, _) => {}
        (Some(key), true) => {
            headers.insert("api-key", secret_header("", key)?);
        }
        (Some(key), false) => {
            headers.insert(header::AUTHORIZATION, secret_header("Bearer ", key)?);
        }
    }
    Ok(headers)
}

/// Everything fixed about one provider's requests.
pub(crate) struct Target {
    /// For logs: `openai`, `anthropic`.
    pub provider: &'static str,
    /// The configured base URL, for messages.
    pub base: Url,
    /// The URL every request is POSTed to.
    pub url: Url,
    /// Headers sent with every request (auth, versions); secret values must come from [`secret_header`].
    pub headers: HeaderMap,
    /// The configured model, for "not found" messages.
    pub model: String,
    /// The key, kept only to know whether one is set and to scrub it from messages.
    pub api_key: Option<Secret>,
}

/// A successful answer: the raw body and how many requests it took.
pub(crate) struct Reply {
    pub body: Vec<u8>,
    pub attempts: u32,
}

/// The reusable client of one provider (connection pool, fixed target and options).
pub(crate) struct Transport {
    client: Client,
    options: HttpOptions,
    target: Target,
    host: String,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("url", &display_url(&self.target.url))
            .field("model", &self.target.model)
            .field("api_key", &self.target.api_key)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Transport {
    pub(crate) fn new(mut target: Target, options: HttpOptions) -> Result<Self> {
        options.validate()?;
        target.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        target.headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        let mut builder = Client::builder()
            .timeout(options.request_timeout)
            .connect_timeout(options.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("datagenie/", env!("CARGO_PKG_VERSION")));
        if target.url.scheme() == "http" {
            // TLS roots only where TLS is used. The client only ever sends to `target.url` and follows no redirect,
            // so a plain-HTTP endpoint never needs a certificate: it gets an empty root store instead of the
            // platform verifier, which reads the system's CA store when the client is built (2-2.6 ms of every
            // `ask`, and an error on a machine without CA certificates). A TLS connection through this client could
            // verify no certificate at all: it fails closed.
            builder = builder.tls_certs_only(std::iter::empty::<reqwest::Certificate>());
        }
        let client = builder
            .build()
            .map_err(|e| Error::new(ErrorCode::Internal, format!("cannot build the HTTP client: {e}")))?;
        let host = host_label(&target.url);
        Ok(Transport { client, options, target, host })
    }

    /// An `LlmBadResponse` naming the endpoint, for answers that arrived but cannot be used.
    pub(crate) fn bad_response(&self, detail: impl fmt::Display) -> Error {
        let message = format!("the LLM endpoint at {} answered with {detail}", self.host);
        Error::new(ErrorCode::LlmBadResponse, self.scrub(message))
    }

    /// Decodes a 2xx body; anything that is not the expected JSON is `LlmBadResponse`.
    pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(&self, body: &[u8]) -> Result<T> {
        serde_json::from_slice(body).map_err(|e| self.bad_response(format!("malformed JSON ({e})")))
    }

    /// POSTs `body` (JSON) to the target, retrying transient failures. Returns the body of the first 2xx answer.
    pub(crate) async fn post_json(&self, body: Vec<u8>) -> Result<Reply> {
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let started = Instant::now();
            let outcome = self.attempt(&body).await;
            let elapsed_ms = started.elapsed().as_millis() as u64;
            match outcome {
                Ok(body) => {
                    tracing::debug!(provider = self.target.provider, host = %self.host, attempts, elapsed_ms, "LLM call succeeded");
                    return Ok(Reply { body, attempts });
                }
                Err(failure) => {
                    tracing::debug!(provider = self.target.provider, host = %self.host, attempts, elapsed_ms,
                        failure = failure.label(), "LLM call attempt failed");
                    match self.next_delay(&failure, attempts) {
                        Some(delay) => tokio::time::sleep(delay).await,
                        None => return Err(self.to_error(failure, attempts)),
                    }
                }
            }
        }
    }

    async fn attempt(&self, body: &[u8]) -> Result<Vec<u8>, Failure> {
        let request =
            self.client.post(self.target.url.clone()).headers(self.target.headers.clone()).body(body.to_vec());
        let mut response = request.send().await.map_err(Failure::from_reqwest)?;
        let status = response.status();
        if status.is_success() {
            return read_limited(&mut response, self.options.max_response_bytes).await;
        }
        Err(status_failure(response).await)
    }

    /// How long to wait before the next attempt, or `None` to give up now.
    fn next_delay(&self, failure: &Failure, attempts: u32) -> Option<Duration> {
        if !failure.is_retryable() || attempts > self.options.max_retries {
            return None;
        }
        match failure.retry_after() {
            Some(wait) if wait > self.options.retry_after_cap => None,
            Some(wait) => Some(wait),
            None => Some(backoff_delay(attempts, self.options.backoff_base, self.options.backoff_cap, jitter_unit())),
        }
    }

    fn to_error(&self, failure: Failure, attempts: u32) -> Error {
        let host = &self.host;
        let tries = if attempts > 1 { format!(" after {attempts} attempts") } else { String::new() };
        let (code, message) = match failure {
            Failure::Connect(cause) => {
                (ErrorCode::LlmUnreachable, format!("cannot reach the LLM endpoint at {host}{tries}: {cause}"))
            }
            Failure::Transport(cause) => (
                ErrorCode::LlmUnreachable,
                format!("the connection to the LLM endpoint at {host} failed{tries}: {cause}"),
            ),
            Failure::Timeout => (
                ErrorCode::LlmTimeout,
                format!(
                    "the LLM endpoint at {host} did not answer within {}{tries}",
                    seconds(self.options.request_timeout)
                ),
            ),
            Failure::TooLarge => (
                ErrorCode::LlmBadResponse,
                format!(
                    "the LLM endpoint at {host} sent a response larger than {} bytes",
                    self.options.max_response_bytes
                ),
            ),
            Failure::Redirect { status, location } => (
                ErrorCode::LlmBadResponse,
                format!(
                    "the LLM endpoint at {host} redirected (HTTP {status}){}; set base_url to the final address",
                    location.map(|l| format!(" to {l}")).unwrap_or_default()
                ),
            ),
            Failure::Internal(cause) => (ErrorCode::Internal, format!("cannot send the LLM request: {cause}")),
            Failure::Status { status, retry_after, message } => {
                return self.status_error(status, retry_after, message, &tries);
            }
        };
        Error::new(code, self.scrub(message))
    }

    fn status_error(&self, status: u16, retry_after: Option<Duration>, message: Option<String>, tries: &str) -> Error {
        let host = &self.host;
        let quoted = message.map(|m| format!(": {m}")).unwrap_or_default();
        let (code, text) = match status {
            401 | 403 if self.target.api_key.is_none() => (
                ErrorCode::LlmAuthFailed,
                format!("the LLM endpoint at {host} requires an API key (HTTP {status}) and none is configured"),
            ),
            401 | 403 => {
                (ErrorCode::LlmAuthFailed, format!("the endpoint refused the API key (HTTP {status} from {host})"))
            }
            404 => (ErrorCode::LlmBadResponse, self.not_found_message(&quoted)),
            429 => {
                let wait = retry_after.map(|w| format!(" (it asks to retry after {})", seconds(w))).unwrap_or_default();
                (
                    ErrorCode::LlmRateLimited,
                    format!("the LLM endpoint at {host} is rate limiting requests (HTTP 429{tries}){wait}{quoted}"),
                )
            }
            500..=599 => (
                ErrorCode::LlmUnreachable,
                format!("the LLM endpoint at {host} failed with HTTP {status}{tries}{quoted}"),
            ),
            _ => (
                ErrorCode::LlmBadResponse,
                format!("the LLM endpoint at {host} rejected the request (HTTP {status}){quoted}"),
            ),
        };
        Error::new(code, self.scrub(text))
    }

    /// Ollama and most servers answer 404 for an unknown model; a 404 that does not mention a model usually means a
    /// wrong path in `base_url`.
    fn not_found_message(&self, quoted: &str) -> String {
        let model = &self.target.model;
        let base = display_url(&self.target.base);
        if quoted.to_ascii_lowercase().contains("model") {
            format!("model '{model}' not found at {base} (HTTP 404){quoted}")
        } else {
            format!(
                "model '{model}' or the API path not found at {} (HTTP 404){quoted}; check the model name and base_url",
                display_url(&self.target.url)
            )
        }
    }

    /// Replaces any occurrence of the API key in `message` (a server may echo it back).
    fn scrub(&self, message: String) -> String {
        match &self.target.api_key {
            Some(key) if key.expose().len() >= MIN_SCRUBBED_KEY_LEN && message.contains(key.expose()) => {
                message.replace(key.expose(), "[redacted]")
            }
            _ => message,
        }
    }
}

/// Why one attempt failed.
#[derive(Debug)]
enum Failure {
    /// The connection could not be established (refused, DNS, connect timeout, TLS).
    Connect(String),
    /// The connection broke while sending or receiving.
    Transport(String),
    /// The request timeout elapsed.
    Timeout,
    /// A non-2xx, non-3xx answer.
    Status { status: u16, retry_after: Option<Duration>, message: Option<String> },
    /// A 3xx answer (not followed).
    Redirect { status: u16, location: Option<String> },
    /// The body exceeded `max_response_bytes`.
    TooLarge,
    /// The request could not be built (a bug).
    Internal(String),
}

impl Failure {
    fn from_reqwest(error: reqwest::Error) -> Failure {
        let cause = root_cause(&error);
        if error.is_connect() {
            Failure::Connect(cause)
        } else if error.is_timeout() {
            Failure::Timeout
        } else if error.is_builder() {
            Failure::Internal(cause)
        } else {
            Failure::Transport(cause)
        }
    }

    fn is_retryable(&self) -> bool {
        match self {
            Failure::Connect(_) | Failure::Transport(_) | Failure::Timeout => true,
            Failure::Status { status, .. } => is_retryable_status(*status),
            Failure::Redirect { .. } | Failure::TooLarge | Failure::Internal(_) => false,
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            Failure::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// A short, content-free label for logs.
    fn label(&self) -> String {
        match self {
            Failure::Connect(_) => "connect".into(),
            Failure::Transport(_) => "transport".into(),
            Failure::Timeout => "timeout".into(),
            Failure::Status { status, .. } | Failure::Redirect { status, .. } => {
                format!("http {status}")
            }
            Failure::TooLarge => "too large".into(),
            Failure::Internal(_) => "internal".into(),
        }
    }
}

/// The innermost cause of an error (e.g. "Connection refused (os error 111)"); reqwest's own text names the URL.
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(source) = current.source() {
        current = source;
    }
    current.to_string()
}

/// Classifies a non-2xx answer. The body of 401/403 is never read: it may echo part of the key.
async fn status_failure(mut response: Response) -> Failure {
    let status = response.status();
    if status.is_redirection() {
        let location =
            header_str(&response, header::LOCATION).and_then(|l| Url::parse(l).ok()).map(|u| display_url(&u));
        return Failure::Redirect { status: status.as_u16(), location };
    }
    let retry_after =
        parse_retry_after(header_str(&response, header::RETRY_AFTER), header_str(&response, "retry-after-ms"));
    let message = if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
        None
    } else {
        read_limited(&mut response, MAX_ERROR_BODY_BYTES).await.ok().and_then(|body| provider_message(&body))
    };
    Failure::Status { status: status.as_u16(), retry_after, message }
}

fn header_str(response: &Response, name: impl header::AsHeaderName) -> Option<&str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

/// Reads the body chunk by chunk, refusing it once it passes `limit` bytes.
async fn read_limited(response: &mut Response, limit: usize) -> Result<Vec<u8>, Failure> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(Failure::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(Failure::from_reqwest)? {
        if body.len() + chunk.len() > limit {
            return Err(Failure::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The provider's own error text from an error body, shortened to [`MAX_PROVIDER_MESSAGE_CHARS`]: `error.message`
/// (OpenAI, Anthropic, Ollama's /v1), `error` as a string (Ollama's native API), `message` (vLLM) or `detail`; a
/// plain-text body is quoted as is; HTML and empty bodies yield `None`.
pub(crate) fn provider_message(body: &[u8]) -> Option<String> {
    let text = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(json) => json_message(&json)?,
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            if text.is_empty() || text.starts_with('<') {
                return None;
            }
            text.to_string()
        }
    };
    let text = shorten(&text, MAX_PROVIDER_MESSAGE_CHARS);
    (!text.is_empty()).then_some(text)
}

fn json_message(json: &serde_json::Value) -> Option<String> {
    let candidates = [json.pointer("/error/message"), json.get("error"), json.get("message"), json.get("detail")];
    candidates.into_iter().flatten().find_map(|v| v.as_str()).map(str::to_string)
}

/// Whitespace collapsed to single spaces, at most `max` characters (an ellipsis marks a cut).
pub(crate) fn shorten(text: &str, max: usize) -> String {
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.chars().count() <= max {
        return collapsed;
    }
    let mut cut: String = collapsed.chars().take(max).collect();
    cut.push('…');
    cut
}

/// "2 s", "0.2 s".
fn seconds(d: Duration) -> String {
    format!("{} s", d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_must_be_http_with_a_host() {
        assert!(parse_base_url("https://api.openai.com/v1").is_ok());
        assert!(parse_base_url(" http://localhost:11434/v1/ ").is_ok());
        for bad in
            ["", "localhost:11434", "ftp://x/v1", "file:///etc/passwd", "http://", "not a url", "https://u:p@h/v1"]
        {
            let err = parse_base_url(bad).expect_err(bad);
            assert_eq!(err.code, ErrorCode::InvalidConfig, "{bad}");
        }
        assert!(!parse_base_url("https://u:hunter2@h/v1").expect_err("creds").message.contains("hunter2"));
        assert_eq!(parse_base_url("https://h/v1#x").map_err(|e| e.code), Err(ErrorCode::InvalidConfig));
    }

    #[test]
    fn join_keeps_query_and_one_slash() -> Result<()> {
        let base = parse_base_url("https://r.openai.azure.com/openai/deployments/d/?api-version=1")?;
        assert_eq!(
            join_path(&base, "chat/completions").as_str(),
            "https://r.openai.azure.com/openai/deployments/d/chat/completions?api-version=1"
        );
        let base = parse_base_url("http://127.0.0.1:8080")?;
        assert_eq!(join_path(&base, "/v1/messages").as_str(), "http://127.0.0.1:8080/v1/messages");
        assert_eq!(host_label(&base), "127.0.0.1:8080");
        Ok(())
    }

    #[test]
    fn provider_message_finds_the_usual_fields() {
        assert_eq!(provider_message(br#"{"error":{"message":"bad model","type":"x"}}"#).as_deref(), Some("bad model"));
        assert_eq!(provider_message(br#"{"error":"model 'x' not found"}"#).as_deref(), Some("model 'x' not found"));
        assert_eq!(provider_message(br#"{"object":"error","message":"too long"}"#).as_deref(), Some("too long"));
        assert_eq!(provider_message(br#"{"detail":"nope"}"#).as_deref(), Some("nope"));
        assert_eq!(provider_message(b"upstream  overloaded\n").as_deref(), Some("upstream overloaded"));
        assert_eq!(provider_message(b"<html><body>502</body></html>"), None);
        assert_eq!(provider_message(b""), None);
        assert_eq!(provider_message(br#"{"error":{"code":5}}"#), None);
    }

    #[test]
    fn provider_message_is_shortened_on_a_char_boundary() {
        let long = format!(r#"{{"error":{{"message":"{}"}}}}"#, "매".repeat(1000));
        let msg = provider_message(long.as_bytes()).unwrap_or_default();
        assert_eq!(msg.chars().count(), MAX_PROVIDER_MESSAGE_CHARS + 1);
        assert!(msg.ends_with('…'));
    }

    #[test]
    fn options_are_validated() {
        let zero = HttpOptions { request_timeout: Duration::ZERO, ..HttpOptions::default() };
        assert_eq!(zero.validate().map_err(|e| e.code), Err(ErrorCode::InvalidConfig));
        let many = HttpOptions { max_retries: 11, ..HttpOptions::default() };
        assert_eq!(many.validate().map_err(|e| e.code), Err(ErrorCode::InvalidConfig));
        assert!(HttpOptions::default().validate().is_ok());
    }

    #[test]
    fn secret_header_is_sensitive_and_rejects_newlines() {
        let value = secret_header("Bearer ", &Secret::new("sk-test-1234567890"));
        assert!(value.as_ref().is_ok_and(HeaderValue::is_sensitive));
        let err = secret_header("", &Secret::new("sk-bad\nkey")).expect_err("newline");
        assert_eq!(err.code, ErrorCode::InvalidConfig);
        assert!(!err.message.contains("sk-bad"));
    }

    #[test]
    fn empty_keys_count_as_none() {
        assert!(non_empty_key(Some(Secret::new("  "))).is_none());
        assert!(non_empty_key(None).is_none());
        assert!(non_empty_key(Some(Secret::new("k"))).is_some());
    }
}
