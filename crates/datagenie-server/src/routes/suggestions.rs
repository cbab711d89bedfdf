//! `GET /connections/{id}/suggestions`: questions to start a conversation from — the connection's verified
//! templates the caller may use, then questions about the tables they may read that the built-in engine answers.
//! Every suggestion is answered without an LLM and within the caller's permissions.

use std::sync::Arc;

use axum::Json as JsonOut;
use axum::extract::{Path, State};
use datagenie_app::suggest::{Language, suggestions};
use datagenie_core::guard;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Auth;
use crate::error::ApiResult;
use crate::extract::Query;
use crate::routes::Listed;
use crate::routes::connections::{readable_schema, visible_connection};
use crate::routes::templates::{dialect_of, key_of, may_see};
use crate::state::AppState;

/// Suggestions per connection.
const MAX_SUGGESTIONS: usize = 6;
/// Of which at most this many come from templates (the rest show what the schema holds).
const MAX_FROM_TEMPLATES: usize = 3;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SuggestionQuery {
    /// `en` (default) or `ko`: the language of the questions written from the schema.
    pub lang: Option<String>,
}

/// A question to start from.
#[derive(Debug, Serialize, ToSchema)]
pub struct Suggestion {
    pub question: String,
    /// `template` (a verified template's phrasing) or `schema` (written from the tables you may read).
    pub source: &'static str,
}

#[utoipa::path(get, path = "/api/v1/connections/{id}/suggestions", tag = "connections",
    params(("id" = String, Path), SuggestionQuery), responses((status = 200, body = inline(Listed<Suggestion>))))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
    Query(q): Query<SuggestionQuery>,
) -> ApiResult<JsonOut<Listed<Suggestion>>> {
    let c = visible_connection(&state, &auth, &id).await?;
    let crate::routes::connections::Readable { schema, policy, .. } = readable_schema(&state, &auth, &c).await?;
    let mut items = Vec::new();
    if let Some(templates) = state.templates.clone() {
        let key = key_of(&state, &c).await?;
        let dialect = dialect_of(c.engine);
        // The system database failing leaves the schema's suggestions.
        let listed = templates.list(Some(&key)).await.ok();
        for t in listed.unwrap_or_default() {
            if items.len() >= MAX_FROM_TEMPLATES {
                break;
            }
            // A phrasing without slots, whose SQL the guard lets this caller run.
            let Some(question) = t.questions.iter().find(|p| !p.contains('{')) else { continue };
            if t.verified && may_see(&auth, &t) && guard::check(&t.sql, dialect, &policy).is_ok() {
                items.push(Suggestion { question: question.clone(), source: "template" });
            }
        }
    }
    let language = Language::from_tag(q.lang.as_deref().unwrap_or("en"));
    let today = datagenie_app::today();
    let rest = MAX_SUGGESTIONS - items.len();
    let written =
        tokio::task::spawn_blocking(move || suggestions(&schema, language, &today, rest)).await.unwrap_or_default();
    for question in written {
        if !items.iter().any(|s: &Suggestion| s.question.eq_ignore_ascii_case(&question)) {
            items.push(Suggestion { question, source: "schema" });
        }
    }
    Ok(JsonOut(Listed { items, next_cursor: None }))
}
