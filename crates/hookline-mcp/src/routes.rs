//! The Streamable HTTP transport on `/v1/mcp/personas/{id}`: a client POSTs one JSON-RPC
//! message at a time and gets the answer as one JSON object (the transport lets a server answer
//! a request with JSON rather than an event stream, and Hookline has nothing to send before its
//! answer). `DELETE` ends the session; `GET` opens the stream of the server's own messages
//! ([`stream`]: `notifications/tools/list_changed`).
//!
//! Refusals before a message is read are HTTP statuses with problem documents, as everywhere in
//! the API: 403 for a foreign `Origin`, 401 without a valid API key, 404 for an unknown persona
//! or an ended session, 400 for a body that is not one JSON-RPC message, a missing session id or
//! an unsupported `MCP-Protocol-Version`.

use std::sync::Arc;

use axum::extract::{FromRef, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;

use hookline_core::http::cors::origin_allowed;
use hookline_core::http::problem::responses::{TooLarge, Unauthorized};
use hookline_core::http::{ApiError, Caller, CoreState, InPath, JsonBody, ProblemDocument};
use hookline_core::ids::PersonaId;
use hookline_core::settings::Settings;
use hookline_engine::Engine;

use hookline_sessions::OpenStreams;

use crate::jsonrpc::{McpMessage, Message, Reply, RpcError};
use crate::protocol::{self, SessionGone, SUPPORTED_VERSIONS};
use crate::sessions::{self, KeptSessions, SESSION_HEADER};
use crate::stream;

/// What the MCP routes hold.
#[derive(Clone, FromRef)]
pub struct McpState {
    pub core: CoreState,
    pub engine: Arc<Engine>,
    /// Open sessions kept for `tools/call` (behind an `Arc`: the state is cloned per request).
    pub kept: Arc<KeptSessions>,
    /// The instance's open streams, counted within their caps.
    pub streams: OpenStreams,
}

/// The header a client names its protocol revision in, after `initialize`.
pub const VERSION_HEADER: &str = "mcp-protocol-version";

/// Refuses a request whose `Origin` is not one the API's browser routes accept (the spec's
/// defence against DNS rebinding: a page of another site reaching a server on the user's own
/// machine or network). Requests without `Origin` come from programs, not pages, and pass.
pub async fn check_origin(
    State(settings): State<Arc<Settings>>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(origin) = request.headers().get(header::ORIGIN) {
        let allowed = origin.to_str().is_ok_and(|o| origin_allowed(&settings, o));
        if !allowed {
            return ApiError::forbidden(
                "this Origin may not use the MCP endpoint (HOOKLINE_CORS_ORIGINS lists the origins that may)",
            )
            .into_response();
        }
    }
    next.run(request).await
}

/// A revision named in `MCP-Protocol-Version` must be one this server speaks.
fn check_version(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(value) = headers.get(VERSION_HEADER) else {
        return Ok(());
    };
    match value.to_str() {
        Ok(v) if SUPPORTED_VERSIONS.contains(&v) => Ok(()),
        _ => Err(ApiError::bad_request(format!(
            "unsupported MCP-Protocol-Version: this server speaks {}",
            SUPPORTED_VERSIONS.join(", ")
        ))),
    }
}

#[utoipa::path(
    post, path = "/v1/mcp/personas/{id}", tag = "mcp",
    summary = "Send one MCP message (JSON-RPC 2.0) to the persona's MCP server",
    description = "MCP's Streamable HTTP transport (revisions 2025-06-18 and 2025-11-25). \
        `initialize` opens a Hookline session of the persona, whose id comes back in the \
        `Mcp-Session-Id` header; every later message carries it. `tools/list` answers the persona's \
        server tools (MCP shape), `tools/call` runs one through the engine exactly as \
        `POST /v1/sessions/{id}/tool-calls` does; a failed call is a result with `isError: true`. \
        A request is answered with one JSON-RPC response; a notification or response with 202.",
    operation_id = "sendMcpMessage",
    security(("apiKey" = [])),
    params(
        ("id" = uuid::Uuid, Path, description = "The persona"),
        ("Mcp-Session-Id" = Option<String>, Header, description = "The session's id, from initialize's answer; required after it"),
        ("MCP-Protocol-Version" = Option<String>, Header, description = "The revision agreed at initialize"),
    ),
    request_body = McpMessage,
    responses(
        (status = 200, description = "The request's answer (a JSON-RPC result or error)", body = Reply,
            headers(("Mcp-Session-Id" = String, description = "The new session's id (initialize only)"))),
        (status = 202, description = "A notification or response, accepted"),
        (status = 400, description = "Not one JSON-RPC message, no Mcp-Session-Id, or an unsupported MCP-Protocol-Version", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 401, response = Unauthorized),
        (status = 403, description = "An Origin that may not use the endpoint", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such persona, or the session has ended or expired (initialize again)", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 413, response = TooLarge),
        (status = 422, description = "A string holding U+0000", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn post(
    State(state): State<McpState>,
    caller: Caller,
    InPath(PersonaId(persona_id)): InPath<PersonaId>,
    headers: HeaderMap,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let message = Message::parse(body.0).map_err(|e| ApiError::bad_request(e.0))?;
    let (id, method, params) = match message {
        Message::Request { id, method, params } => (id, method, params),
        // Nothing to act on (`notifications/initialized`, a cancellation of a call that
        // answers anyway), but the session must exist: a client told 404 initializes again.
        Message::Notification | Message::Response => {
            sessions::find(&state.core, caller.org_id, persona_id, &headers).await?;
            return Ok(StatusCode::ACCEPTED.into_response());
        }
    };
    if method == "initialize" && !headers.contains_key(SESSION_HEADER) {
        let (session, persona_name) =
            sessions::open(&state.core, caller.org_id, persona_id).await?;
        tracing::info!(session_id = %session.id, "MCP session opened");
        let reply = Reply::new(id, Ok(protocol::initialize(&params, &persona_name)));
        let mut response = Json(reply).into_response();
        response.headers_mut().insert(
            SESSION_HEADER,
            HeaderValue::from_str(&session.id.to_string()).expect("a UUID is a header value"),
        );
        return Ok(response);
    }
    check_version(&headers)?;
    if method == "tools/call" {
        let outcome = call(&state, caller.org_id, persona_id, &headers, params).await?;
        return Ok(Json(Reply::new(id, outcome)).into_response());
    }
    let mut session = sessions::find(&state.core, caller.org_id, persona_id, &headers).await?;
    if method == "tools/list" {
        // The persona's tools as they are now: what a client told they changed lists for.
        session = hookline_sessions::follow_persona(&state.core, session).await?;
        // The next call here runs on them at once; other instances drop their copies when the
        // retaken snapshot's announcement reaches them.
        state.kept.forget(session.id);
    }
    let outcome = protocol::answer(&session.config.0, &method);
    Ok(Json(Reply::new(id, outcome)).into_response())
}

/// `tools/call`: the session from memory when this instance keeps it (see [`KeptSessions`]),
/// then exactly what `POST /v1/sessions/{id}/tool-calls` does. An ended session is refused when
/// the call is to be stored, with the same 404 as any later request of it.
async fn call(
    state: &McpState,
    org_id: uuid::Uuid,
    persona_id: uuid::Uuid,
    headers: &HeaderMap,
    params: serde_json::Map<String, serde_json::Value>,
) -> Result<Result<serde_json::Value, RpcError>, ApiError> {
    let (mut kept, from_memory) = state
        .kept
        .find(&state.core, org_id, persona_id, headers)
        .await?;
    let call = match protocol::read_call(params) {
        Ok(call) => call,
        Err(refused) => return Ok(Err(refused)),
    };
    if from_memory && !protocol::offers(&kept.session.config, &call.name) {
        // The kept copy may predate a `tools/list` made on another instance a moment ago, whose
        // word has not arrived yet: the session as stored decides (and says 404 if it ended).
        state.kept.forget(kept.session.id);
        (kept, _) = state
            .kept
            .find(&state.core, org_id, persona_id, headers)
            .await?;
    }
    if !protocol::offers(&kept.session.config, &call.name) {
        return Ok(Err(protocol::unknown_tool(
            &kept.session.config,
            &call.name,
        )));
    }
    let session_id = kept.session.id;
    match protocol::call_tool(&state.engine, kept.session.clone(), call).await {
        Ok(outcome) => Ok(outcome),
        Err(SessionGone) => {
            state.kept.forget(session_id);
            Err(sessions::gone())
        }
    }
}

#[utoipa::path(
    get, path = "/v1/mcp/personas/{id}", tag = "mcp",
    summary = "Open the stream of the server's own messages: notifications/tools/list_changed",
    description = "A Server-Sent Events stream for an open session (`Mcp-Session-Id`). Its one \
        message is `notifications/tools/list_changed`, sent when the persona's tools change (a tool \
        on its list updated or deleted, its list patched, a tool attached or detached), on any \
        instance; the client then sends `tools/list` again, and the session's tools follow the \
        persona's. The stream ends when the session does.",
    operation_id = "openMcpStream",
    security(("apiKey" = [])),
    params(
        ("id" = uuid::Uuid, Path, description = "The persona"),
        ("Mcp-Session-Id" = Option<String>, Header, description = "The session whose stream to open"),
    ),
    responses(
        (status = 200, description = "The stream (`event: message`, `data:` one JSON-RPC notification)", content_type = "text/event-stream", body = String),
        (status = 400, description = "No Mcp-Session-Id, or an unsupported MCP-Protocol-Version", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 401, response = Unauthorized),
        (status = 403, description = "An Origin that may not use the endpoint", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such persona, or the session has ended or expired (initialize again)", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 429, description = "The session holds as many streams on this instance as it may (`HOOKLINE_MCP_STREAMS_PER_SESSION`)", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 503, description = "The instance holds as many streams as it may (`HOOKLINE_STREAMS_PER_INSTANCE`), or the database is busy or not reachable; try again after `Retry-After` seconds", body = ProblemDocument, content_type = "application/problem+json", headers(("Retry-After" = u32, description = "Seconds to wait before trying again"))),
    )
)]
pub async fn get(
    State(state): State<McpState>,
    caller: Caller,
    InPath(PersonaId(persona_id)): InPath<PersonaId>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    check_version(&headers)?;
    let session = sessions::find(&state.core, caller.org_id, persona_id, &headers).await?;
    let slot = state.streams.open_mcp(session.id)?;
    Ok(stream::open(&state.core, &session, slot))
}

#[utoipa::path(
    delete, path = "/v1/mcp/personas/{id}", tag = "mcp",
    summary = "End the MCP session (and its Hookline session)",
    operation_id = "endMcpSession",
    security(("apiKey" = [])),
    params(
        ("id" = uuid::Uuid, Path, description = "The persona"),
        ("Mcp-Session-Id" = Option<String>, Header, description = "The session to end"),
    ),
    responses(
        (status = 204, description = "Ended; the id now answers 404"),
        (status = 400, description = "No Mcp-Session-Id", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 401, response = Unauthorized),
        (status = 403, description = "An Origin that may not use the endpoint", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such persona or open session", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn delete(
    State(state): State<McpState>,
    caller: Caller,
    InPath(PersonaId(persona_id)): InPath<PersonaId>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let session = sessions::find(&state.core, caller.org_id, persona_id, &headers).await?;
    hookline_sessions::end(&state.core, &session).await?;
    // Other instances' copies need no word: the call's start refuses an ended session.
    state.kept.forget(session.id);
    tracing::info!(session_id = %session.id, "MCP session ended");
    Ok(StatusCode::NO_CONTENT)
}
