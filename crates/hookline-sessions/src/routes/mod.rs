//! The sessions service's HTTP face: each handler reads its input, calls [`crate::service`] and
//! answers the view; the event stream (Server-Sent Events) lives here whole, being HTTP through
//! and through. The `#[utoipa::path]` blocks are this service's part of the OpenAPI document.

pub mod events;
mod problems;
mod sessions;
mod tokens;

use axum::routing::{get, post};
use axum::Router;
use hookline_core::http::cors::browser_cors;
use hookline_core::http::flattened::OneObject;
use hookline_core::http::CoreState;
use utoipa::{OpenApi, ToSchema};

use crate::{requests, views};

#[derive(OpenApi)]
#[openapi(
    paths(
        tokens::issue, sessions::start, sessions::list, sessions::read, sessions::end, sessions::tools,
        events::stream,
    ),
    components(schemas(
        views::SessionView, views::StartedSessionView, views::SessionTokenView,
        views::SessionToolsView, hookline_core::http::ListPage<views::SessionView>,
        hookline_core::snapshot::PublicToolView,
        hookline_core::repo::sessions::SessionStatus, hookline_schema::ExportFormat,
        requests::SessionTokenRequest, requests::PersonaConfig, requests::StoredPersonaConfig,
        requests::EphemeralPersonaConfig,
    )),
    modifiers(&ONE_OBJECT),
    tags((name = "sessions", description = "Session tokens and sessions"))
)]
pub struct SessionsApi;

/// The ephemeral persona embeds the persona's fields flattened; its checker refuses unknown fields.
const ONE_OBJECT: OneObject = OneObject {
    closed: &[<requests::EphemeralPersonaConfig as ToSchema>::name],
};

/// A preflight from an origin that is not allowed ends here, with no CORS headers.
pub async fn preflight() -> axum::http::StatusCode {
    axum::http::StatusCode::NO_CONTENT
}

/// A session's event stream; the server serves its connections on a path of their own and
/// recognises them by this route.
pub const EVENTS_ROUTE: &str = "/v1/sessions/{id}/events";

/// The sessions service's routes. Those a browser calls answer CORS for the configured origins.
/// `streams` counts the instance's open streams (shared with the MCP server's `GET` streams).
pub fn router(state: CoreState, streams: events::OpenStreams) -> Router {
    // OPTIONS is routed so that preflights reach the CORS layer instead of a 405.
    let browser = Router::new()
        .route("/v1/sessions/{id}", get(sessions::read).options(preflight))
        .route(
            "/v1/sessions/{id}/end",
            post(sessions::end).options(preflight),
        )
        .route(
            "/v1/sessions/{id}/tools",
            get(sessions::tools).options(preflight),
        )
        .layer(browser_cors(&state.settings));
    let events = Router::new()
        .route(EVENTS_ROUTE, get(events::stream).options(preflight))
        .layer(browser_cors(&state.settings))
        .with_state(events::EventsState {
            streams,
            core: state.clone(),
        });
    Router::new()
        .route("/v1/auth/session-token", post(tokens::issue))
        .route("/v1/engine/session", post(sessions::start))
        .route("/v1/sessions", get(sessions::list))
        .merge(browser)
        .with_state(state)
        .merge(events)
}
