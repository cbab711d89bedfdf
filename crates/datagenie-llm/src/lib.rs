//! LLM providers for DataGenie: any OpenAI-compatible endpoint and Anthropic's messages API
