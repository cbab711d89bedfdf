//! `/metrics`: Prometheus text exposition, every name prefixed `datagenie_`.
//!
//! - `datagenie_http_requests_total{route,method,status}` and `datagenie_http_request_duration_seconds{route,method}`
//!   (the route is the matched pattern, `/api/v1/history/{id}`, never the raw path);
//! - `datagenie_questions_total{source,outcome}` (`template|builtin|llm|none` × `answered|refused|failed`);
//! - `datagenie_llm_tokens_total{model,kind}` (`prompt|completion`) and `datagenie_llm_cost_usd_total{model}`;
//! - `datagenie_guard_refusals_total{code}`;
//! - `datagenie_logins_total{outcome}` (`success|failure|locked`).

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
    method: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QuestionLabels {
    source: String,
    outcome: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TokenLabels {
    model: String,
    kind: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ModelLabels {
    model: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabels {
    code: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CacheLabels {
    kind: String,
    outcome: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: String,
}

type Histograms = Family<RouteLabels, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 1 ms … ~33 s
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

/// The server's metrics.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Histograms,
    questions: Family<QuestionLabels, Counter>,
    tokens: Family<TokenLabels, Counter>,
    cost: Family<ModelLabels, Counter<f64, AtomicU64>>,
    refusals: Family<CodeLabels, Counter>,
    logins: Family<OutcomeLabels, Counter>,
    cache: Family<CacheLabels, Counter>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("datagenie");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register("http_requests", "HTTP requests by route, method and status", requests.clone());
        let latency: Histograms = Family::new_with_constructor(latency_histogram);
        registry.register("http_request_duration_seconds", "HTTP request latency by route and method", latency.clone());
        let questions = Family::<QuestionLabels, Counter>::default();
        registry.register("questions", "Questions by the source that answered and the outcome", questions.clone());
        let tokens = Family::<TokenLabels, Counter>::default();
        registry.register("llm_tokens", "LLM tokens by model and kind (prompt, completion)", tokens.clone());
        let cost = Family::<ModelLabels, Counter<f64, AtomicU64>>::default();
        registry.register("llm_cost_usd", "LLM cost in US dollars by model", cost.clone());
        let refusals = Family::<CodeLabels, Counter>::default();
        registry.register("guard_refusals", "SQL refused by the guard, by error code", refusals.clone());
        let logins = Family::<OutcomeLabels, Counter>::default();
        registry.register("logins", "Login attempts by outcome", logins.clone());
        let cache = Family::<CacheLabels, Counter>::default();
        registry.register("cache", "Result and LLM-reply cache lookups by kind (rows, llm) and outcome", cache.clone());
        Metrics { registry, requests, latency, questions, tokens, cost, refusals, logins, cache }
    }

    pub fn request(&self, route: &str, method: &str, status: u16, seconds: f64) {
        let (route, method) = (route.to_string(), method.to_string());
        self.requests.get_or_create(&RequestLabels { route: route.clone(), method: method.clone(), status }).inc();
        self.latency.get_or_create(&RouteLabels { route, method }).observe(seconds);
    }

    pub fn question(&self, source: &str, outcome: &str) {
        self.questions.get_or_create(&QuestionLabels { source: source.into(), outcome: outcome.into() }).inc();
    }

    pub fn llm_usage(&self, model: &str, prompt_tokens: u64, completion_tokens: u64, cost_usd: f64) {
        let model = model.to_string();
        self.tokens.get_or_create(&TokenLabels { model: model.clone(), kind: "prompt".into() }).inc_by(prompt_tokens);
        self.tokens
            .get_or_create(&TokenLabels { model: model.clone(), kind: "completion".into() })
            .inc_by(completion_tokens);
        if cost_usd > 0.0 {
            self.cost.get_or_create(&ModelLabels { model }).inc_by(cost_usd);
        }
    }

    pub fn guard_refusal(&self, code: &str) {
        self.refusals.get_or_create(&CodeLabels { code: code.into() }).inc();
    }

    /// A cache lookup: `kind` `rows` or `llm`, `outcome` `hit` or `miss`.
    pub fn cache(&self, kind: &str, outcome: &str, n: u64) {
        if n > 0 {
            self.cache.get_or_create(&CacheLabels { kind: kind.into(), outcome: outcome.into() }).inc_by(n);
        }
    }

    pub fn login(&self, outcome: &str) {
        self.logins.get_or_create(&OutcomeLabels { outcome: outcome.into() }).inc();
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_is_prefixed_and_labelled() {
        let m = Metrics::new();
        m.request("/api/v1/ask", "POST", 200, 0.012);
        m.question("llm", "answered");
        m.llm_usage("gpt-x", 100, 20, 0.5);
        m.guard_refusal("forbidden_table");
        m.login("failure");
        let text = m.render();
        for line in text.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
            assert!(line.starts_with("datagenie_"), "{line}");
        }
        for needle in [
            r#"datagenie_http_requests_total{route="/api/v1/ask",method="POST",status="200"} 1"#,
            r#"datagenie_questions_total{source="llm",outcome="answered"} 1"#,
            r#"datagenie_llm_tokens_total{model="gpt-x",kind="prompt"} 100"#,
            r#"datagenie_llm_cost_usd_total{model="gpt-x"} 0.5"#,
            r#"datagenie_guard_refusals_total{code="forbidden_table"} 1"#,
            r#"datagenie_logins_total{outcome="failure"} 1"#,
            "datagenie_http_request_duration_seconds_bucket",
        ] {
            assert!(text.contains(needle), "{needle} in\n{text}");
        }
    }
}
