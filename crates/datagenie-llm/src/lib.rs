//! LLM providers for DataGenie: any OpenAI-compatible endpoint ([`OpenAiCompatible`]) and Anthropic's messages API
//! ([`Anthropic`]), both implementing [`datagenie_core::llm::LlmProvider`]; and embeddings from any OpenAI-compatible
//! endpoint ([`OpenAiEmbeddings`], implementing [`datagenie_core::llm::EmbeddingProvider`]).
//!
//! Both share one HTTP transport (`http`) and one retry policy (`retry`): timeouts, bounded exponential backoff with
//! jitter, `Retry-After`, and the mapping of every failure to a code of [`datagenie_core::ErrorCode`]. Invariants:
//! - a constructor sends nothing; it validates the options and fails with `InvalidConfig`;
//! - every successful call is metered: usage comes from the server or, when it reports none, is estimated;
//! - the API key never appears in `Debug`, logs or error messages;
//! - only 127.0.0.1 is contacted by this crate's tests.

mod anthropic;
mod completion;
mod embeddings;
mod http;
mod openai;
mod retry;

pub use anthropic::{ANTHROPIC_VERSION, Anthropic, AnthropicOptions};
pub use completion::Completion;
pub use embeddings::{MAX_EMBEDDING_BATCH, OpenAiEmbeddings, OpenAiEmbeddingsOptions};
pub use http::HttpOptions;
pub use openai::{AzureOptions, OpenAiCompatible, OpenAiOptions, TokenLimitParam};
