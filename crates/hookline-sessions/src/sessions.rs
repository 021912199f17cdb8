//! Starting, reading and ending sessions, and their tools in each LLM API's format.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use hookline_core::http::problem::responses::{NotFound, Unauthorized, Unavailable};

use crate::views::{SessionToolsView, SessionView, StartedSessionView};

use hookline_core::http::auth::bearer;
use hookline_core::http::{parse_id, ApiError, CoreState, QueryMap};
use hookline_core::repo::sessions::{self as repo, NewSession, TokenRefusal};
use hookline_core::session_end;
use hookline_schema::{export, ExportFormat};

use hookline_core::http::session_auth::{
    generate, hash, SessionCredential, CLIENT_SECRET_PREFIX, SESSION_TOKEN_PREFIX,
};

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
    let mut tx = state.pool.begin().await?;
    let consumed = match repo::consume_token(&mut tx, &hash(token)).await? {
        Ok(consumed) => consumed,
        Err(refusal) => {
            let why = match refusal {
                TokenRefusal::Unknown => "the session token is unknown",
                TokenRefusal::AlreadyUsed => "the session token has been used already",
                TokenRefusal::Expired => "the session token has expired",
            };
            return Err(ApiError::unauthorized(why));
        }
    };
    let client_secret = generate(CLIENT_SECRET_PREFIX);
    let session = repo::insert(
        &mut *tx,
        &NewSession {
            org_id: consumed.org_id,
            persona_id: consumed.persona_id,
            client_label: consumed.client_label.as_deref(),
            client_secret_hash: &hash(&client_secret),
            config: &consumed.config,
            lifetime_seconds: consumed.lifetime_seconds,
        },
    )
    .await?;
    tx.commit().await?;
    tracing::info!(session_id = %session.id, "session started");
    Ok((
        StatusCode::CREATED,
        Json(StartedSessionView::new(&session, client_secret)),
    ))
}

#[utoipa::path(
    get, path = "/v1/sessions/{id}", tag = "sessions", summary = "Read a session", operation_id = "getSession",
    security(("apiKey" = []), ("clientSecret" = [])),
    params(("id" = uuid::Uuid, Path)),
    responses(
        (status = 200, body = SessionView),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 503, response = Unavailable)
    )
)]
pub async fn read(
    State(state): State<CoreState>,
    credential: SessionCredential,
    Path(id): Path<String>,
) -> Result<Json<SessionView>, ApiError> {
    let id = parse_id(&id, "session")?;
    let session = credential.session(&state, id).await?;
    Ok(Json(SessionView::from(&session)))
}

#[utoipa::path(
    post, path = "/v1/sessions/{id}/end", tag = "sessions", summary = "End a session (idempotent)", operation_id = "endSession",
    security(("apiKey" = []), ("clientSecret" = [])),
    params(("id" = uuid::Uuid, Path)),
    responses(
        (status = 200, description = "The session, ended", body = SessionView),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 503, response = Unavailable)
    )
)]
pub async fn end(
    State(state): State<CoreState>,
    credential: SessionCredential,
    Path(id): Path<String>,
) -> Result<Json<SessionView>, ApiError> {
    let id = parse_id(&id, "session")?;
    let session = credential.session(&state, id).await?;
    let ended = session_end::end(&state.pool, session.org_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("session"))?;
    if session.ended_at.is_none() {
        tracing::info!(session_id = %id, "session ended");
    }
    Ok(Json(SessionView::from(&ended)))
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
    Path(id): Path<String>,
    query: QueryMap,
) -> Result<Json<SessionToolsView>, ApiError> {
    let id = parse_id(&id, "session")?;
    let format = match query.get("format") {
        None => ExportFormat::default(),
        Some(name) => ExportFormat::parse(name).ok_or_else(|| {
            ApiError::field(
                "format",
                "must be openai, openai-responses, anthropic or mcp",
            )
        })?,
    };
    let session = credential.session(&state, id).await?;
    let tools = session
        .config
        .tools
        .iter()
        .map(|t| export(&t.tool.definition, format))
        .collect();
    Ok(Json(SessionToolsView { format, tools }))
}
