//! `POST /v1/sessions/{id}/messages` and `GET /v1/sessions/{id}/messages`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use hookline_core::http::session_auth::SessionCredential;
use hookline_core::http::{ApiError, InPath, JsonBody, ListPage, Pagination, QueryMap};
use hookline_core::ids::SessionId;
use hookline_core::repo::messages::{self, Message};
use hookline_core::repo::sessions::SessionStatus;
use hookline_schema::fields::Fields;
use hookline_schema::Violations;

use crate::openapi::{MessageList, PostMessage, PostedMessage, TurnResult};
use crate::runtime::{session_llm, TurnReport};
use crate::ConversationState;

/// Longest user message, in characters.
pub const MAX_MESSAGE_CHARS: usize = 10_000;

fn parse_content(body: &Value) -> Result<String, ApiError> {
    let mut v = Violations::new();
    let Some(map) = body.as_object() else {
        v.wrong_type("", "a JSON object");
        return Err(ApiError::invalid(v));
    };
    let mut f = Fields::new(map, "", &mut v);
    let content = f.required_string("content").map(str::to_owned);
    f.finish("a message");
    if let Some(text) = &content {
        let n = text.chars().count();
        if n == 0 || n > MAX_MESSAGE_CHARS || text.trim().is_empty() {
            v.rule(
                "content",
                format!("must be 1 to {MAX_MESSAGE_CHARS} characters, not blank"),
            );
        }
    }
    v.into_result(content.unwrap_or_default())
        .map_err(ApiError::invalid)
}

#[utoipa::path(
    post, path = "/v1/sessions/{id}/messages", tag = "conversations",
    summary = "Post a user message: the persona answers through its LLM",
    operation_id = "postMessage",
    security(("apiKey" = []), ("clientSecret" = [])),
    params(
        ("id" = uuid::Uuid, Path),
        ("wait" = Option<bool>, Query, description = "Answer 200 when the turn is over, with its outcome"),
    ),
    request_body = PostMessage,
    responses(
        (status = 202, body = PostedMessage, description = "Accepted: the answer arrives as events"),
        (status = 200, body = TurnResult, description = "With `?wait=true`: the turn's outcome"),
        (status = 400, response = hookline_core::http::problem::responses::BadRequest),
        (status = 401, response = hookline_core::http::problem::responses::Unauthorized),
        (status = 404, response = hookline_core::http::problem::responses::NotFound),
        (status = 409, response = hookline_core::http::problem::responses::Conflict),
        (status = 422, response = hookline_core::http::problem::responses::Invalid)
    )
)]
pub async fn post(
    State(ConversationState { runtime, .. }): State<ConversationState>,
    credential: SessionCredential,
    InPath(SessionId(id)): InPath<SessionId>,
    query: QueryMap,
    body: JsonBody,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let wait = query.flag("wait")?;
    let session = credential.session(&runtime.core, id).await?;
    let content = parse_content(&body.0)?;
    match session.status() {
        SessionStatus::Active => {}
        SessionStatus::Ended => return Err(ApiError::conflict("the session has ended")),
        SessionStatus::Expired => return Err(ApiError::conflict("the session has expired")),
    }
    let llm = session_llm(&runtime.core.pool, &session)
        .await?
        .ok_or_else(|| {
            ApiError::conflict(
                "the session's persona has no LLM (llmId): drive it through /tool-calls, or start \
             a session for a persona with one",
            )
        })?;
    let accepted = runtime.accept(id, &content).await?;
    let (message_id, turn_id) = (accepted.message_id, accepted.turn_id);
    let turn = tokio::spawn(runtime.clone().run_turn(session, llm, accepted));
    if !wait {
        return Ok((
            StatusCode::ACCEPTED,
            Json(json!({"id": message_id, "turnId": turn_id})),
        ));
    }
    let report = turn.await.map_err(ApiError::internal)?;
    Ok((
        StatusCode::OK,
        Json(report_json(message_id, turn_id, &report)),
    ))
}

fn report_json(id: uuid::Uuid, turn_id: uuid::Uuid, r: &TurnReport) -> Value {
    let mut body = json!({
        "id": id,
        "turnId": turn_id,
        "reply": r.reply.as_ref().map(|reply| json!({
            "id": reply.id, "content": reply.content, "interrupted": reply.interrupted,
        })),
        "toolCalls": r.tool_calls,
        "sessionEnded": r.session_ended,
    });
    if let Some((kind, message)) = &r.error {
        body["error"] = json!({"kind": kind, "message": message});
    }
    body
}

/// A stored message as the API shows it.
pub fn message_json(m: &Message) -> Value {
    let mut out = json!({
        "id": m.id,
        "turnId": m.turn_id,
        "role": m.role,
        "content": m.content,
        "interrupted": m.interrupted,
        "createdAt": m.created_at,
    });
    if let Some(calls) = &m.tool_calls {
        out["toolCalls"] = calls.0.clone();
    }
    if let Some(call_id) = &m.tool_call_id {
        out["toolCallId"] = json!(call_id);
    }
    out
}

#[utoipa::path(
    get, path = "/v1/sessions/{id}/messages", tag = "conversations",
    summary = "List the conversation in order, tool exchanges included",
    operation_id = "listMessages",
    security(("apiKey" = []), ("clientSecret" = [])),
    params(("id" = uuid::Uuid, Path), hookline_core::http::ListQuery),
    responses(
        (status = 200, body = MessageList),
        (status = 401, response = hookline_core::http::problem::responses::Unauthorized),
        (status = 404, response = hookline_core::http::problem::responses::NotFound),
        (status = 422, response = hookline_core::http::problem::responses::Invalid)
    )
)]
pub async fn list(
    State(ConversationState { runtime, .. }): State<ConversationState>,
    credential: SessionCredential,
    InPath(SessionId(id)): InPath<SessionId>,
    query: QueryMap,
) -> Result<Json<ListPage<Value>>, ApiError> {
    let page = Pagination::from_query(&query)?;
    credential.session(&runtime.core, id).await?;
    let mut conn = runtime.core.pool.acquire().await?;
    let (found, total) = messages::page(&mut conn, id, page.per_page, page.offset()).await?;
    Ok(Json(ListPage::new(
        found.iter().map(message_json).collect(),
        total,
        page,
    )))
}
