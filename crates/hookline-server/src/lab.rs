//! The Lab: the web UI at `/lab`, a client of the public REST API served from files embedded in
//! the binary (no Node toolchain, nothing fetched from another origin).
//!
//! Every page under `/lab/` answers the same HTML shell (the browser routes); the scripts and
//! styles live under `/lab/assets/`. Every answer carries a Content-Security-Policy that allows
//! only this origin's scripts, styles and API, so text an organization or an LLM wrote cannot
//! become script even if a page forgot to render it as text.
//!
//! One route is not part of the public API: `POST /lab/dev/organization`, development mode's
//! one-click sign-in, which answers `404` in production.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use hookline_core::http::cors::is_loopback_origin;
use hookline_core::http::{ApiError, CoreState};
use hookline_core::repo::{api_keys, locks, organizations};
use hookline_core::settings::Mode;

/// Only this origin, no inline script or style, no framing, no plugins.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The organization development mode's one-click sign-in uses (created on first use).
pub const DEV_ORGANIZATION: &str = "Local Lab";

/// The header the dev sign-in demands: a browser cannot send it cross-origin without a CORS
/// preflight, which this server refuses, so another site cannot mint keys on a developer's machine.
pub const DEV_HEADER: &str = "x-hookline-lab";

const INDEX: &str = include_str!("../lab/index.html");

/// The embedded assets: name under `/lab/assets/`, content type, bytes.
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "lab.css",
        "text/css; charset=utf-8",
        include_str!("../lab/lab.css"),
    ),
    (
        "favicon.svg",
        "image/svg+xml",
        include_str!("../lab/favicon.svg"),
    ),
    ("app.js", JS, include_str!("../lab/app.js")),
    ("api.js", JS, include_str!("../lab/api.js")),
    ("dom.js", JS, include_str!("../lab/dom.js")),
    ("ui.js", JS, include_str!("../lab/ui.js")),
    ("tools.js", JS, include_str!("../lab/tools.js")),
    ("schema.js", JS, include_str!("../lab/schema.js")),
    ("tool_trial.js", JS, include_str!("../lab/tool_trial.js")),
    ("shaping.js", JS, include_str!("../lab/shaping.js")),
    ("personas.js", JS, include_str!("../lab/personas.js")),
    ("settings.js", JS, include_str!("../lab/settings.js")),
    ("playground.js", JS, include_str!("../lab/playground.js")),
    ("sessions.js", JS, include_str!("../lab/sessions.js")),
    ("tool_cards.js", JS, include_str!("../lab/tool_cards.js")),
    ("chat.js", JS, include_str!("../lab/chat.js")),
    ("llms.js", JS, include_str!("../lab/llms.js")),
    ("start.js", JS, include_str!("../lab/start.js")),
    (
        "session_page.js",
        JS,
        include_str!("../lab/session_page.js"),
    ),
    ("mcp.js", JS, include_str!("../lab/mcp.js")),
    ("connections.js", JS, include_str!("../lab/connections.js")),
    (
        "openapi_import.js",
        JS,
        include_str!("../lab/openapi_import.js"),
    ),
    ("knowledge.js", JS, include_str!("../lab/knowledge.js")),
    ("chunks.js", JS, include_str!("../lab/chunks.js")),
    ("mcp_source.js", JS, include_str!("../lab/mcp_source.js")),
];

const JS: &str = "text/javascript; charset=utf-8";

/// The seed's five tools, offered as templates in the tool form (the files of `examples/tools/`).
const TEMPLATES: &[&str] = &[
    include_str!("../../../examples/tools/check_order_status.json"),
    include_str!("../../../examples/tools/check_product_availability.json"),
    include_str!("../../../examples/tools/create_support_ticket.json"),
    include_str!("../../../examples/tools/get_weather.json"),
    include_str!("../../../examples/tools/update_contact_info.json"),
];

pub fn router(state: CoreState) -> Router {
    Router::new()
        .route("/lab", get(page))
        .route("/lab/", get(page))
        .route("/lab/assets/templates.json", get(templates))
        .route("/lab/assets/{name}", get(asset))
        .route("/lab/dev/organization", post(dev_organization))
        .route("/lab/{*path}", get(page))
        .with_state(state)
}

fn secured(mut response: Response, cache: &'static str) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}

/// The shell; the mode is a `<meta>` so the page can offer the dev sign-in without a script.
async fn page(State(state): State<CoreState>) -> Response {
    let mode = match state.settings.mode {
        Mode::Development => "development",
        Mode::Production => "production",
    };
    let html = INDEX.replace("{{mode}}", mode);
    secured(
        ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response(),
        "no-cache",
    )
}

async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|(n, _, _)| *n == name) {
        Some((_, content_type, body)) => secured(
            ([(header::CONTENT_TYPE, *content_type)], *body).into_response(),
            "no-cache",
        ),
        None => ApiError::not_found("Lab asset").into_response(),
    }
}

async fn templates() -> Response {
    let list: Vec<serde_json::Value> = TEMPLATES
        .iter()
        .map(|t| serde_json::from_str(t).expect("examples/tools holds JSON"))
        .collect();
    secured(Json(list).into_response(), "no-cache")
}

/// Development mode only: an API key of the local organization (created on first use), so
/// opening the Lab is all a newcomer needs. In production this route does not exist (`404`).
async fn dev_organization(
    State(state): State<CoreState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if state.settings.mode != Mode::Development {
        return Err(ApiError::not_found("route"));
    }
    if headers.get(DEV_HEADER).is_none() {
        return Err(ApiError::forbidden(format!(
            "the Lab's dev sign-in needs the {DEV_HEADER} header"
        )));
    }
    // A page of another site whose name was made to resolve to this machine (DNS rebinding)
    // is same-origin to the browser and may send the header: it still names its own host.
    if !headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .is_some_and(|host| is_loopback_origin(&format!("http://{host}")))
    {
        return Err(ApiError::forbidden(
            "the Lab's dev sign-in answers only a loopback address (localhost, 127.0.0.1, [::1])",
        ));
    }
    // `Origin: null` comes from sandboxed frames and local files: never the Lab's own page.
    if let Some(origin) = headers.get(header::ORIGIN) {
        if !origin.to_str().is_ok_and(is_loopback_origin) {
            return Err(ApiError::forbidden(
                "the Lab's dev sign-in answers only pages served from a loopback address",
            ));
        }
    }
    let mut tx = state.pool.begin().await?;
    // Serialized so two clicks at once make one organization, not a name conflict.
    locks::dev_organization(&mut tx).await?;
    let org = match organizations::find(&mut tx, DEV_ORGANIZATION).await? {
        Some(org) => org,
        None => organizations::create(&mut tx, &state.settings.secrets, DEV_ORGANIZATION).await?,
    };
    let created = api_keys::create(&mut *tx, org.id, "lab").await?;
    tx.commit().await?;
    tracing::info!(org = %org.id, key = %created.record.id, "the Lab created a development API key");
    let body = json!({
        "organization": {"id": org.id, "name": org.name},
        "key": created.key.expose(),
        "keyPrefix": created.record.key_prefix,
    });
    Ok(secured(
        (StatusCode::CREATED, Json(body)).into_response(),
        "no-store",
    ))
}
