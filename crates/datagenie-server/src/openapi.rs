//! The OpenAPI 3.1 document, generated from the handlers' annotations (utoipa) at first request and kept.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes;

#[derive(OpenApi)]
#[openapi(
    info(title = "DataGenie", description = "Ask your databases questions in plain language: read-only, guarded, metered, audited."),
    paths(
        routes::ops::healthz, routes::ops::readyz, routes::ops::metrics, routes::ops::openapi,
        routes::auth::login, routes::auth::refresh, routes::auth::logout, routes::auth::me, routes::auth::update_me,
        routes::auth::create_key, routes::auth::list_keys, routes::auth::revoke_key,
        routes::users::create, routes::users::list, routes::users::get, routes::users::update, routes::users::delete, routes::users::credits, routes::users::grant_credits, routes::jobs::create, routes::jobs::get, routes::jobs::cancel, routes::jobs::output,
        routes::connections::create, routes::connections::list, routes::connections::get, routes::connections::update,
        routes::files::upload,
        routes::connections::delete, routes::connections::test, routes::connections::sync, routes::connections::purge_cache, routes::connections::schema, routes::suggestions::list,
        routes::connections::put_permission, routes::connections::list_permissions, routes::connections::delete_permission,
        routes::sessions::create, routes::sessions::list, routes::sessions::get, routes::sessions::messages,
        routes::sessions::rename, routes::sessions::delete,
        routes::ask::ask,
        routes::history::list, routes::history::get, routes::history::chart_svg, routes::history::chart_png,
        routes::history::rows_csv, routes::history::verify,
        routes::knowledge::list, routes::knowledge::add, routes::knowledge::remove, routes::knowledge::search,
        routes::templates::create, routes::templates::list, routes::templates::verify, routes::templates::delete,
        routes::system::usage, routes::system::audit_log, routes::system::verify_audit,
        routes::system::settings, routes::system::put_setting,
    ),
    modifiers(&Security),
    security(("bearer" = []), ("api_key" = [])),
)]
struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT or dg_ API key").build(),
            ),
        );
        components
            .add_security_scheme("api_key", SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))));
    }
}

/// The document as JSON text.
pub fn document() -> String {
    static DOC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DOC.get_or_init(|| ApiDoc::openapi().to_json().unwrap_or_else(|_| "{}".into())).clone()
}
