//! DataGenie's HTTP server: accounts, permissions, questions, history, audit and limits over `/api/v1`, on the one
//! question pipeline of `datagenie-app` ([`datagenie_app::service::QuestionService`]).
//!
//! - [`router`] wires the routes ([`routes`]) under the middleware ([`middleware::around`]: request id, client
//!   address, per-address rate, security headers, timeout, metrics, access log);
//! - [`auth`]: passwords, access and refresh tokens, API keys and the [`auth::Auth`] extractor;
//! - [`serve`] runs it until SIGINT/SIGTERM, letting requests in flight finish.

/// `Debug` for a type that carries a secret (a password, a token, a key): only the named fields are shown, the rest
/// is elided, so a debug log line can never print the secret.
macro_rules! debug_without_secrets {
    ($ty:ident { $($field:ident),* $(,)? }) => {
        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($ty))$(.field(stringify!($field), &self.$field))*.finish_non_exhaustive()
            }
        }
    };
}
pub(crate) use debug_without_secrets;

pub mod audit;
pub mod auth;
pub mod error;
pub mod extract;
pub mod limits;
pub mod mcp;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod routes;
pub mod shared;
pub mod state;
pub mod ui;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Method, header};
use axum::routing::{get, post, put};
use datagenie_core::{Error, ErrorCode};
use tower_http::cors::{AllowOrigin, CorsLayer};

pub use state::AppState;

use crate::error::ApiError;

/// Every route.
pub fn router(state: Arc<AppState>) -> Router {
    use routes::*;
    let api = Router::new()
        .route("/auth/login", post(auth::login))
        .route("/auth/refresh", post(auth::refresh))
        .route("/auth/logout", post(auth::logout))
        .route("/me", get(auth::me).patch(auth::update_me))
        .route("/api-keys", post(auth::create_key).get(auth::list_keys))
        .route("/api-keys/{id}", axum::routing::delete(auth::revoke_key))
        .route("/users", post(users::create).get(users::list))
        .route("/users/{id}", get(users::get).patch(users::update).delete(users::delete))
        .route("/users/{id}/credits", get(users::credits).post(users::grant_credits))
        .route("/connections", post(connections::create).get(connections::list))
        .route("/files", post(files::upload).layer(DefaultBodyLimit::disable()))
        .route("/connections/{id}", get(connections::get).patch(connections::update).delete(connections::delete))
        .route("/connections/{id}/test", post(connections::test))
        .route("/connections/{id}/sync", post(connections::sync))
        .route("/jobs", post(jobs::create))
        .route("/jobs/{id}", get(jobs::get).delete(jobs::cancel))
        .route("/jobs/{id}/output.csv", get(jobs::output))
        .route("/connections/{id}/cache", axum::routing::delete(connections::purge_cache))
        .route("/connections/{id}/schema", get(connections::schema))
        .route("/connections/{id}/suggestions", get(suggestions::list))
        .route("/connections/{id}/permissions", get(connections::list_permissions))
        .route(
            "/connections/{id}/permissions/{user_id}",
            put(connections::put_permission).delete(connections::delete_permission),
        )
        .route("/sessions", post(sessions::create).get(sessions::list))
        .route("/sessions/{id}", get(sessions::get).patch(sessions::rename).delete(sessions::delete))
        .route("/sessions/{id}/messages", get(sessions::messages))
        .route("/ask", post(ask::ask))
        .route("/history", get(history::list))
        .route("/history/{id}", get(history::get))
        .route("/history/{id}/chart.svg", get(history::chart_svg))
        .route("/history/{id}/chart.png", get(history::chart_png))
        .route("/history/{id}/rows.csv", get(history::rows_csv))
        .route("/history/{id}/verify", post(history::verify))
        .route(
            "/knowledge",
            get(knowledge::list)
                .post(knowledge::add)
                .layer(DefaultBodyLimit::max(state.server.max_body_bytes.max(knowledge::MAX_REQUEST_BYTES))),
        )
        .route("/knowledge/search", get(knowledge::search))
        .route("/knowledge/{id}", axum::routing::delete(knowledge::remove))
        .route("/templates", post(templates::create).get(templates::list))
        .route("/templates/{id}", axum::routing::delete(templates::delete))
        .route("/templates/{id}/verify", post(templates::verify))
        .route("/usage", get(system::usage))
        .route("/audit", get(system::audit_log))
        .route("/audit/verify", get(system::verify_audit))
        .route("/settings", get(system::settings))
        .route("/settings/{key}", put(system::put_setting))
        .fallback(|| async { ApiError::new(ErrorCode::NotFound, "no such API route") });
    let mut app = Router::new()
        .route("/", get(crate::ui::index))
        .route("/ui/{file}", get(crate::ui::asset))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route("/api/openapi.json", get(ops::openapi))
        .route_service(
            "/mcp",
            tower::Layer::layer(
                &axum::middleware::from_fn_with_state(state.clone(), mcp::http::authenticate),
                mcp::http::service(state.clone()),
            ),
        )
        .nest("/api/v1", api)
        .fallback(|| async { ApiError::new(ErrorCode::NotFound, "not found") })
        .layer(DefaultBodyLimit::max(state.server.max_body_bytes));
    if let Some(cors) = cors(&state.server.cors_origins) {
        app = app.layer(cors);
    }
    app.layer(axum::middleware::from_fn_with_state(state.clone(), middleware::around)).with_state(state)
}

/// CORS for the configured origins; none configured: no CORS headers at all (same origin only).
fn cors(origins: &[String]) -> Option<CorsLayer> {
    let allowed: Vec<HeaderValue> = origins.iter().filter_map(|o| HeaderValue::from_str(o.trim()).ok()).collect();
    if allowed.is_empty() {
        return None;
    }
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(allowed))
            .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::ACCEPT,
                "x-api-key".parse().expect("header name"),
            ])
            .expose_headers(["x-request-id".parse().expect("header name"), header::RETRY_AFTER]),
    )
}

/// Serves until `shutdown` resolves; requests in flight (questions included) finish first.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let refresh = tokio::spawn(refresh_settings(state.clone()));
    let retention = tokio::spawn(retention_schedule(state.clone()));
    let workers = routes::jobs::spawn_workers(&state);
    let app = router(state);
    let served = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|e| Error::new(ErrorCode::Internal, format!("the server stopped: {e}")));
    refresh.abort();
    retention.abort();
    for w in workers {
        w.abort();
    }
    served
}

/// How often a server re-reads the settings, so that a change made through another server sharing the system
/// database applies here within that time (a change made through this server applies at once).
pub const SETTINGS_REFRESH: std::time::Duration = std::time::Duration::from_secs(1);

async fn refresh_settings(state: Arc<AppState>) {
    let mut tick = tokio::time::interval(SETTINGS_REFRESH);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = state.reload_runtime().await {
            tracing::debug!(code = %e.code, error = %e.message, "cannot re-read the settings");
        }
    }
}

/// How long after it starts a server first applies retention (seed 000's cleanup_old_data), and how often after
/// that. Several servers sharing a system database each run it: their runs take turns in the database, and a run
/// that finds nothing to remove leaves no trace.
pub const RETENTION_FIRST: std::time::Duration = std::time::Duration::from_secs(5);
pub const RETENTION_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// Removes what the retention settings no longer keep ([`datagenie_store::retention`]), now and then; logs a line
/// with the counts.
async fn retention_schedule(state: Arc<AppState>) {
    tokio::time::sleep(RETENTION_FIRST).await;
    let mut tick = tokio::time::interval(RETENTION_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let now = datagenie_store::model::Timestamp::now();
        match datagenie_store::retention::purge(state.store.as_ref(), now, false).await {
            Ok((policy, r)) => tracing::info!(
                history = r.history,
                events = r.events,
                sessions = r.sessions,
                refresh_tokens = r.refresh_tokens,
                jobs = r.jobs,
                counters = r.counters,
                audit_rows = r.audit_rows,
                audit_anchor = r.audit_anchor,
                history_days = policy.history_days,
                audit_days = policy.audit_days,
                job_days = policy.job_days,
                "retention: removed what is no longer kept"
            ),
            Err(e) => tracing::warn!(code = %e.code, error = %e.message, "retention failed"),
        }
    }
}

/// Resolves at SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
}
