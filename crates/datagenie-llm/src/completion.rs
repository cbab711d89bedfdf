//! What one provider call returns beyond [`ChatResponse`], and the usage estimate that keeps every call metered.

use datagenie_core::llm::{ChatRequest, ChatResponse, TokenUsage, estimate_tokens};
use datagenie_core::{Error, ErrorCode, Result};

use crate::http::{Transport, shorten};

/// One completed call: the response, how many HTTP requests it took (1 = no retry) and whether the token usage was
/// estimated because the server reported none.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    pub response: ChatResponse,
    pub attempts: u32,
    pub usage_estimated: bool,
}

/// A request both providers refuse before sending: without a message there is nothing to answer.
pub(crate) fn check_request(request: &ChatRequest) -> Result<()> {
    if request.messages.is_empty() {
        return Err(Error::new(ErrorCode::Internal, "an LLM chat request needs at least one message"));
    }
    Ok(())
}

/// The pieces a provider extracted from a 2xx answer.
pub(crate) struct Parsed {
    pub text: String,
    pub usage: Option<TokenUsage>,
    /// The model the server names; the configured one when it names none.
    pub model: String,
    /// `finish_reason` / `stop_reason`, to explain an empty answer.
    pub stop_reason: Option<String>,
    /// A refusal message some servers send instead of text.
    pub refusal: Option<String>,
}

/// Turns extracted pieces into a [`Completion`]. An answer without text is `LlmBadResponse` explaining why (a
/// refusal, or the token limit reached before any text — common with reasoning models).
pub(crate) fn finish(
    transport: &Transport,
    request: &ChatRequest,
    parsed: Parsed,
    attempts: u32,
) -> Result<Completion> {
    if parsed.text.trim().is_empty() {
        return Err(transport.bad_response(empty_answer_detail(&parsed)));
    }
    let (usage, usage_estimated) = usage_or_estimate(parsed.usage, request, &parsed.text);
    let response = ChatResponse { text: parsed.text, usage, model: parsed.model };
    Ok(Completion { response, attempts, usage_estimated })
}

fn empty_answer_detail(parsed: &Parsed) -> String {
    if let Some(refusal) = parsed.refusal.as_deref().filter(|r| !r.trim().is_empty()) {
        return format!("a refusal instead of text: {}", shorten(refusal, 300));
    }
    match parsed.stop_reason.as_deref() {
        Some(reason @ ("length" | "max_tokens")) => {
            format!("no text (stop reason: {reason}); the token limit ran out first, raise max_tokens")
        }
        Some(reason) => format!("no text (stop reason: {})", shorten(reason, 40)),
        None => "no text".to_string(),
    }
}

/// Usage as the server reported it, or — when it reported none (or only zeros, as some local servers do) — an
/// estimate from the prompt and the answer with [`estimate_tokens`]. Returns the usage and whether it is estimated.
pub(crate) fn usage_or_estimate(reported: Option<TokenUsage>, request: &ChatRequest, text: &str) -> (TokenUsage, bool) {
    match reported {
        Some(usage) if usage.total() > 0 => (usage, false),
        _ => (estimate_usage(request, text), true),
    }
}

fn estimate_usage(request: &ChatRequest, text: &str) -> TokenUsage {
    let prompt: usize =
        estimate_tokens(&request.system) + request.messages.iter().map(|m| estimate_tokens(&m.content)).sum::<usize>();
    TokenUsage { prompt_tokens: prompt as u64, completion_tokens: estimate_tokens(text) as u64 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datagenie_core::llm::Message;

    fn request() -> ChatRequest {
        ChatRequest {
            system: "abcdabcd".into(),
            messages: vec![Message::user("매출"), Message::assistant("abcd")],
            max_tokens: 10,
            temperature: 0.0,
        }
    }

    #[test]
    fn reported_usage_is_kept() {
        let usage = TokenUsage { prompt_tokens: 7, completion_tokens: 3 };
        assert_eq!(usage_or_estimate(Some(usage), &request(), "x"), (usage, false));
    }

    #[test]
    fn missing_or_zero_usage_is_estimated() {
        let expected = TokenUsage { prompt_tokens: 2 + 2 + 1, completion_tokens: 2 };
        assert_eq!(usage_or_estimate(None, &request(), "SELECT"), (expected, true));
        assert_eq!(usage_or_estimate(Some(TokenUsage::default()), &request(), "SELECT"), (expected, true));
    }
}
