//! Starting, listing, reading and ending sessions, and their tools: parse, call [`crate::service`],
//! answer the view.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use hookline_core::http::auth::bearer;
use hookline_core::http::problem::responses::{ByIdErrors, NotFound, Unauthorized, Unavailable};
use hookline_core::http::session_auth::{SessionCredential, SESSION_TOKEN_PREFIX};
use hookline_core::http::{ApiError, Caller, CoreState, InPath, ListPage, PageQuery, QueryMap};
use hookline_core::ids::SessionId;
use hookline_schema::ExportFormat;

use crate::requests::{SessionListParams, SessionListQuery};
use crate::service;
use crate::views::{SessionToolsView, SessionView, StartedSessionView};

#[utoipa::path(
    post, path = "/v1/engine/session", tag = "sessions",
    summary = "Start a session with a session token (single use)", operation_id = "startSession",
    security(("sessionToken" = [])),
    responses(
        (status = 201, body = StartedSessionView),
        (status = 401, description = "Missing, unknown, already used or expired token", body = hookline_core::http::ProblemDocument, content_type = "application/problem+json"),
        (status = 503, response = Unavailable)
    )
)]
pub async fn start(
    State(state): State<CoreState>,
    parts: axum::http::request::Parts,
) -> Result<(StatusCode, Json<StartedSessionView>), ApiError> {
    let Some(token) = bearer(&parts).filter(|t| t.starts_with(SESSION_TOKEN_PREFIX)) else {
        return Err(ApiError::unauthorized(
            "send the session token as `Authorization: Bearer hst_...`",
        ));
    };
    let started = service::start(&state, token).await?;
    Ok((StatusCode::CREATED, Json(started)))
}

#[utoipa::path(
    get, path = "/v1/sessions", tag = "sessions", summary = "List sessions, newest first",
    description = "The organization's sessions, each as `GET /v1/sessions/{id}` shows it, newest first; optionally those of one persona (an id that is none of yours matches none) or in one status.",
    operation_id = "listSessions",
    security(("apiKey" = [])),
    params(PageQuery, SessionListQuery),
    responses(
        (status = 200, body = ListPage<SessionView>),
        (status = 400, description = "A query parameter holds U+0000", body = hookline_core::http::ProblemDocument, content_type = "application/problem+json"),
        (status = 401, response = Unauthorized),
        (status = 422, description = "A page parameter, `personaId` or `status` is malformed (each named in `errors`)", body = hookline_core::http::ProblemDocument, content_type = "application/problem+json"),
        (status = 503, response = Unavailable)
    )
)]
pub async fn list(
    State(state): State<CoreState>,
    caller: Caller,
    params: SessionListParams,
) -> Result<Json<ListPage<SessionView>>, ApiError> {
    Ok(Json(service::list(&state, caller.org_id, &params).await?))
}

#[utoipa::path(
    get, path = "/v1/sessions/{id}", tag = "sessions", summary = "Read a session", operation_id = "getSession",
    security(("apiKey" = []), ("clientSecret" = [])),
    params(("id" = uuid::Uuid, Path)),
    responses(
        (status = 200, body = SessionView),
        ByIdErrors
    )
)]
pub async fn read(
    State(state): State<CoreState>,
    credential: SessionCredential,
    InPath(id): InPath<SessionId>,
) -> Result<Json<SessionView>, ApiError> {
    let session = credential.session(&state, id.0).await?;
    Ok(Json(SessionView::from(&session)))
}

#[utoipa::path(
    post, path = "/v1/sessions/{id}/end", tag = "sessions", summary = "End a session (idempotent)", operation_id = "endSession",
    security(("apiKey" = []), ("clientSecret" = [])),
    params(("id" = uuid::Uuid, Path)),
    responses(
        (status = 200, description = "The session, ended", body = SessionView),
        ByIdErrors
    )
)]
pub async fn end(
    State(state): State<CoreState>,
    credential: SessionCredential,
    InPath(id): InPath<SessionId>,
) -> Result<Json<SessionView>, ApiError> {
    let session = credential.session(&state, id.0).await?;
    Ok(Json(service::end(&state, &session).await?))
}

#[utoipa::path(
    get, path = "/v1/sessions/{id}/tools", tag = "sessions",
    summary = "The session's tools as an LLM API expects them (path, query and body parameters merged)",
    operation_id = "listSessionTools",
    security(("apiKey" = []), ("clientSecret" = [])),
    params(("id" = uuid::Uuid, Path), ("format" = Option<ExportFormat>, Query, description = "`openai` (default; Chat Completions), `openai-responses` (the Responses API), `anthropic` or `mcp`")),
    responses(
        (status = 200, body = SessionToolsView),
        (status = 400, description = "A query parameter holds U+0000", body = hookline_core::http::ProblemDocument, content_type = "application/problem+json"),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 422, description = "Unknown format", body = hookline_core::http::ProblemDocument, content_type = "application/problem+json"),
        (status = 503, response = Unavailable)
    )
)]
pub async fn tools(
    State(state): State<CoreState>,
    credential: SessionCredential,
    query: QueryMap,
    InPath(id): InPath<SessionId>,
) -> Result<Json<SessionToolsView>, ApiError> {
    let format = match query.get("format") {
        None => ExportFormat::default(),
        Some(name) => ExportFormat::parse(name).ok_or_else(|| {
            ApiError::field(
                "format",
                "must be openai, openai-responses, anthropic or mcp",
            )
        })?,
    };
    let session = credential.session(&state, id.0).await?;
    Ok(Json(service::tools(&session, format)))
}
