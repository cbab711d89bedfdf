//! Builds the configured LLM provider.

use std::sync::Arc;
use std::time::Duration;

use datagenie_core::Error;
use datagenie_core::llm::{EmbeddingProvider, LlmProvider};
use datagenie_llm::{
    Anthropic, AnthropicOptions, HttpOptions, OpenAiCompatible, OpenAiEmbeddings, OpenAiEmbeddingsOptions,
    OpenAiOptions,
};

use crate::config::{Config, DEFAULT_ANTHROPIC_MODEL, DEFAULT_OPENAI_MODEL, ProviderKind};

/// The configured provider, or `None` for `builtin` (no LLM). Sends nothing.
pub fn build(config: &Config) -> Result<Option<Arc<dyn LlmProvider>>, Error> {
    let llm = &config.llm;
    let http = HttpOptions {
        request_timeout: Duration::from_secs(llm.timeout_secs),
        max_retries: llm.max_retries,
        ..HttpOptions::default()
    };
    let key = (!llm.api_key.is_empty()).then(|| llm.api_key.clone());
    let base = llm.base_url.trim();
    let model = llm.model.trim();
    match llm.provider {
        ProviderKind::Builtin => Ok(None),
        ProviderKind::Openai => {
            let base = if base.is_empty() { OpenAiOptions::OPENAI_BASE_URL } else { base };
            // An endpoint that does not serve the default model answers 404, which the client reports as
            // "model 'gpt-4o-mini' not found at <base_url>": clear enough to fix.
            let model = if model.is_empty() { DEFAULT_OPENAI_MODEL } else { model };
            let mut options = OpenAiOptions::new(base, model);
            options.api_key = key;
            options.http = http;
            Ok(Some(Arc::new(OpenAiCompatible::new(options)?)))
        }
        ProviderKind::Anthropic => {
            let model = if model.is_empty() { DEFAULT_ANTHROPIC_MODEL } else { model };
            let options = AnthropicOptions {
                base_url: if base.is_empty() {
                    AnthropicOptions::DEFAULT_BASE_URL.to_string()
                } else {
                    base.to_string()
                },
                api_key: key,
                model: model.to_string(),
                http,
            };
            Ok(Some(Arc::new(Anthropic::new(options)?)))
        }
    }
}

/// The configured embeddings endpoint, or `None` when `embeddings.base_url` is empty. Sends nothing.
pub fn build_embeddings(config: &Config) -> Result<Option<Arc<dyn EmbeddingProvider>>, Error> {
    let e = &config.embeddings;
    let base = e.base_url.trim();
    if base.is_empty() {
        return Ok(None);
    }
    let model = e.model.trim();
    let model = if model.is_empty() { OpenAiEmbeddingsOptions::DEFAULT_MODEL } else { model };
    let mut options = OpenAiEmbeddingsOptions::new(base, model);
    let key = if e.api_key.is_empty() { &config.llm.api_key } else { &e.api_key };
    if !key.is_empty() {
        options = options.with_api_key(key.clone());
    }
    if e.dimensions > 0 {
        options = options.with_dimensions(e.dimensions);
    }
    options.http = HttpOptions {
        request_timeout: Duration::from_secs(e.timeout_secs),
        max_retries: config.llm.max_retries,
        ..HttpOptions::default()
    };
    Ok(Some(Arc::new(OpenAiEmbeddings::new(options)?)))
}
