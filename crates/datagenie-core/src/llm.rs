//! The contract every LLM provider implements, token usage, and cost estimation from a price table.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::Result;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Assistant,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

impl Message {
    pub fn user(content: impl Into<String>) -> Self {
        Message { role: Role::User, content: content.into() }
    }
    pub fn assistant(content: impl Into<String>) -> Self {
        Message { role: Role::Assistant, content: content.into() }
    }
}

/// One chat request: a system prompt and the conversation so far.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    pub system: String,
    pub messages: Vec<Message>,
    pub max_tokens: u32,
    pub temperature: f32,
}

/// Tokens counted by the provider (or estimated when the provider reports none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TokenUsage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

impl TokenUsage {
    pub fn total(&self) -> u64 {
        self.prompt_tokens + self.completion_tokens
    }
}

impl std::ops::AddAssign for TokenUsage {
    fn add_assign(&mut self, o: TokenUsage) {
        self.prompt_tokens += o.prompt_tokens;
        self.completion_tokens += o.completion_tokens;
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChatResponse {
    pub text: String,
    pub usage: TokenUsage,
    /// The model that answered, as the provider reports it.
    pub model: String,
}

#[async_trait]
pub trait LlmProvider: Send + Sync {
    /// `openai`, `anthropic`, … — for reports and the audit trail.
    fn provider_name(&self) -> &str;
    /// The configured model name.
    fn model(&self) -> &str;
    async fn complete(&self, request: &ChatRequest) -> Result<ChatResponse>;
}

/// Texts to embed, in the order their vectors are wanted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EmbeddingRequest {
    pub inputs: Vec<String>,
}

impl EmbeddingRequest {
    pub fn new<S: Into<String>>(inputs: impl IntoIterator<Item = S>) -> Self {
        EmbeddingRequest { inputs: inputs.into_iter().map(Into::into).collect() }
    }
}

/// The vectors of one [`EmbeddingRequest`].
///
/// - `vectors` are in input order, exactly one per input, all of the same length, each L2-normalized by the
///   implementation (so the cosine similarity of two vectors is their dot product). A vector the endpoint sent as
///   all zeros stays all zeros (it is similar to nothing).
/// - `usage.prompt_tokens` is what the endpoint reported (summed over the requests it took), or, when it reported
///   none (or zero), an estimate: the sum of [`estimate_tokens`] over the inputs. `usage_estimated` says which.
///   `usage.completion_tokens` is always 0.
/// - `model` is the model that answered, as the endpoint names it (else the configured one).
#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddingResponse {
    pub vectors: Vec<Vec<f32>>,
    pub usage: TokenUsage,
    pub usage_estimated: bool,
    pub model: String,
}

impl EmbeddingResponse {
    /// The length of the vectors (0 when there are none).
    pub fn dimensions(&self) -> usize {
        self.vectors.first().map_or(0, Vec::len)
    }
}

/// An embedding model behind some endpoint: texts in, unit vectors out.
#[async_trait]
pub trait EmbeddingProvider: Send + Sync {
    /// `openai`, … — for reports and the audit trail.
    fn provider_name(&self) -> &str;
    /// The configured model name.
    fn model(&self) -> &str;
    /// One vector per input, in input order, L2-normalized (see [`EmbeddingResponse`]). An empty request sends
    /// nothing and returns no vectors.
    async fn embed(&self, request: &EmbeddingRequest) -> Result<EmbeddingResponse>;
}

/// Scales `vector` to unit length in place. Returns false (leaving it unchanged) when its norm is zero or not
/// finite.
pub fn l2_normalize(vector: &mut [f32]) -> bool {
    let norm = vector.iter().map(|x| f64::from(*x) * f64::from(*x)).sum::<f64>().sqrt();
    if norm == 0.0 || !norm.is_finite() {
        return false;
    }
    for x in vector.iter_mut() {
        *x = (f64::from(*x) / norm) as f32;
    }
    true
}

/// Price of a model in US dollars per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelPrice {
    pub input_per_mtok: f64,
    pub output_per_mtok: f64,
}

/// Per-model prices. A model matches the longest key that is a prefix of its name (so `gpt-4o-mini-2024-07-18` uses
/// `gpt-4o-mini`, not `gpt-4o`); a model with no match costs 0 (local models). Configuration adds or overrides keys.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceTable {
    prices: BTreeMap<String, ModelPrice>,
}

impl Default for PriceTable {
    /// List prices (USD per million tokens) of common hosted models as of 2025; override them in configuration.
    fn default() -> Self {
        let p = |i, o| ModelPrice { input_per_mtok: i, output_per_mtok: o };
        let prices = [
            ("gpt-4o", p(2.5, 10.0)),
            ("gpt-4o-mini", p(0.15, 0.6)),
            ("gpt-4.1", p(2.0, 8.0)),
            ("gpt-4.1-mini", p(0.4, 1.6)),
            ("gpt-4.1-nano", p(0.1, 0.4)),
            ("gpt-3.5-turbo", p(0.5, 1.5)),
            ("o3-mini", p(1.1, 4.4)),
            ("o4-mini", p(1.1, 4.4)),
            ("claude-3-5-haiku", p(0.8, 4.0)),
            ("claude-3-5-sonnet", p(3.0, 15.0)),
            ("claude-3-7-sonnet", p(3.0, 15.0)),
            ("claude-sonnet-4", p(3.0, 15.0)),
            ("claude-opus-4", p(15.0, 75.0)),
            ("claude-haiku-4", p(1.0, 5.0)),
        ];
        PriceTable { prices: prices.into_iter().map(|(k, v)| (k.to_string(), v)).collect() }
    }
}

impl PriceTable {
    pub fn empty() -> Self {
        PriceTable { prices: BTreeMap::new() }
    }

    pub fn insert(&mut self, model: impl Into<String>, price: ModelPrice) {
        self.prices.insert(model.into().to_ascii_lowercase(), price);
    }

    pub fn price(&self, model: &str) -> Option<ModelPrice> {
        let model = model.to_ascii_lowercase();
        // Strip a provider prefix such as `openai/` or a deployment path.
        let model = model.rsplit('/').next().unwrap_or(&model);
        self.prices.iter().filter(|(k, _)| model.starts_with(k.as_str())).max_by_key(|(k, _)| k.len()).map(|(_, v)| *v)
    }

    /// Estimated cost in USD of `usage` on `model`; 0 for models without a price.
    pub fn cost_usd(&self, model: &str, usage: TokenUsage) -> f64 {
        match self.price(model) {
            Some(p) => {
                (usage.prompt_tokens as f64 * p.input_per_mtok + usage.completion_tokens as f64 * p.output_per_mtok)
                    / 1_000_000.0
            }
            None => 0.0,
        }
    }
}

/// A rough token estimate for text that has not been sent (budgeting prompts): about four characters per token for
/// ASCII, one token per character for Hangul and other wide scripts.
pub fn estimate_tokens(text: &str) -> usize {
    let mut ascii = 0usize;
    let mut other = 0usize;
    for c in text.chars() {
        if c.is_ascii() {
            ascii += 1;
        } else {
            other += 1;
        }
    }
    ascii.div_ceil(4) + other
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_prefix_wins() {
        let t = PriceTable::default();
        assert_eq!(t.price("gpt-4o-mini-2024-07-18").map(|p| p.input_per_mtok), Some(0.15));
        assert_eq!(t.price("gpt-4o-2024-08-06").map(|p| p.input_per_mtok), Some(2.5));
        assert_eq!(t.price("openai/gpt-4o").map(|p| p.input_per_mtok), Some(2.5));
        assert!(t.price("llama3.1:8b").is_none());
    }

    #[test]
    fn cost_is_per_million_and_local_models_are_free() {
        let t = PriceTable::default();
        let u = TokenUsage { prompt_tokens: 1_000_000, completion_tokens: 500_000 };
        assert!((t.cost_usd("gpt-4o", u) - 7.5).abs() < 1e-9);
        assert_eq!(t.cost_usd("qwen2.5-coder", u), 0.0);
    }

    #[test]
    fn config_overrides_a_price() {
        let mut t = PriceTable::default();
        t.insert("GPT-4o", ModelPrice { input_per_mtok: 1.0, output_per_mtok: 1.0 });
        assert_eq!(t.price("gpt-4o").map(|p| p.input_per_mtok), Some(1.0));
    }

    #[test]
    fn normalized_vectors_have_unit_length() {
        let mut v = vec![3.0f32, 4.0];
        assert!(l2_normalize(&mut v));
        assert!((v[0] - 0.6).abs() < 1e-6 && (v[1] - 0.8).abs() < 1e-6);
        let mut zero = vec![0.0f32; 3];
        assert!(!l2_normalize(&mut zero));
        assert_eq!(zero, vec![0.0; 3]);
        assert_eq!(EmbeddingRequest::new(["a", "b"]).inputs, vec!["a".to_string(), "b".to_string()]);
    }

    #[test]
    fn token_estimate_counts_hangul_per_char() {
        assert_eq!(estimate_tokens("abcd"), 1);
        assert_eq!(estimate_tokens("매출"), 2);
    }
}
