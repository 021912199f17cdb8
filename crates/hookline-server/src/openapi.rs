//! The OpenAPI 3.1 document, generated from the services' code, and the readable reference page.

use hookline_core::http::problem::responses::{
    BadRequest, Conflict, InUse, Invalid, NotFound, RateLimited, TooLarge, Unauthorized,
    Unavailable,
};
use hookline_core::http::ProblemDocument;
use hookline_schema::FieldError;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::OpenApi as Document;
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Hookline",
        description = "Webhook tools for AI personas: define tools, attach them to personas, run \
                       them during conversations. Errors are RFC 7807 problem documents.",
        license(name = "Apache-2.0"),
    ),
    paths(crate::health::healthz, crate::health::readyz),
    components(
        schemas(ProblemDocument, FieldError, crate::health::HealthView),
        responses(BadRequest, Unauthorized, NotFound, Conflict, TooLarge, Invalid, RateLimited, Unavailable, InUse)
    ),
    modifiers(&BearerKeys),
    tags((name = "operations", description = "Health, readiness and metrics"))
)]
struct BaseApi;

struct BearerKeys;

impl Modify for BearerKeys {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        let bearer = |description: &str| {
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(description))
                    .build(),
            )
        };
        components.add_security_scheme("apiKey", bearer("An organization API key, `hk_…`"));
        components.add_security_scheme(
            "sessionToken",
            bearer("A single-use session token, `hst_…`, from POST /v1/auth/session-token"),
        );
        components.add_security_scheme(
            "clientSecret",
            bearer("A session's client secret, `hcs_…`: that session only, never its server tools"),
        );
    }
}

/// The whole API's document.
pub fn document() -> Document {
    let mut doc = BaseApi::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc.merge(hookline_registry::RegistryApi::openapi());
    doc.merge(hookline_sessions::SessionsApi::openapi());
    doc.merge(hookline_engine::EngineApi::openapi());
    doc.merge(hookline_conversations::ConversationsApi::openapi());
    doc.merge(hookline_mcp::McpApi::openapi());
    doc.merge(hookline_knowledge::KnowledgeApi::openapi());
    doc
}

/// The document as pretty JSON, exactly as committed in `docs/openapi.json`.
pub fn document_json() -> String {
    let mut text = document()
        .to_pretty_json()
        .expect("the OpenAPI document serializes");
    text.push('\n');
    text
}

/// A reference page that renders `/openapi.json` in the browser, with nothing fetched from
/// anywhere else.
pub const REFERENCE_PAGE: &str = include_str!("../assets/reference.html");
