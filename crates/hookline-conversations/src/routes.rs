//! `POST /v1/sessions/{id}/messages` and `GET /v1/sessions/{id}/messages`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use hookline_core::http::problem::responses::ListInErrors;
use hookline_core::http::problem::ProblemType;
use hookline_core::http::session_auth::SessionCredential;
use hookline_core::http::{ApiError, Check, InPath, JsonBody, ListPage, Pagination, QueryMap};
use hookline_core::ids::SessionId;
use hookline_core::repo::sessions::SessionStatus;
use hookline_core::repo::{followups, messages};

use crate::requests::PostMessage;
use crate::runtime::session_llm;
use crate::views::{FollowUpView, MessageView, PostedMessage, TurnResult};
use crate::ConversationState;

/// The answer to a posted message: 202 at once, or 200 with the turn's outcome (`?wait=true`).
#[derive(serde::Serialize)]
#[serde(untagged)]
pub enum PostAnswer {
    Accepted(PostedMessage),
    Finished(TurnResult),
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
        (status = 422, response = hookline_core::http::problem::responses::Invalid),
        (status = 429, response = hookline_core::http::problem::responses::RateLimited),
        (status = 503, response = hookline_core::http::problem::responses::Unavailable)
    )
)]
pub async fn post(
    State(ConversationState { runtime, .. }): State<ConversationState>,
    credential: SessionCredential,
    InPath(SessionId(id)): InPath<SessionId>,
    query: QueryMap,
    body: JsonBody,
) -> Result<(StatusCode, Json<PostAnswer>), ApiError> {
    let wait = query.flag("wait")?;
    let session = credential.session(&runtime.core, id).await?;
    // The session before the body: one that does not exist is a 404 whatever the body holds.
    let message = PostMessage::check(&body.0, &runtime.core.settings).map_err(ApiError::invalid)?;
    match session.status() {
        SessionStatus::Active => {}
        SessionStatus::Ended => return Err(ApiError::session_closed(false)),
        SessionStatus::Expired => return Err(ApiError::session_closed(true)),
    }
    runtime.message_rate.take(id).map_err(|wait| {
        ApiError::rate_limited(
            format!(
                "this session posts messages too fast (at most {} at once, then {} a second)",
                runtime.core.settings.turns.message_burst,
                runtime.core.settings.turns.messages_per_second
            ),
            wait,
        )
    })?;
    let llm = session_llm(&runtime.core.pool, &session)
        .await?
        .ok_or_else(|| {
            ApiError::conflict(
                "the session's persona has no LLM (llmId): drive it through /tool-calls, or start \
             a session for a persona with one",
            )
            .typed(ProblemType::NoLlm)
        })?;
    let accepted = runtime
        .accept(id, &message.content)
        .await?
        .ok_or_else(|| ApiError::session_closed(false))?;
    let posted = PostedMessage {
        id: accepted.message_id,
        turn_id: accepted.turn_id,
    };
    let turn = tokio::spawn(runtime.clone().run_turn(session, llm, accepted));
    if !wait {
        return Ok((StatusCode::ACCEPTED, Json(PostAnswer::Accepted(posted))));
    }
    let report = turn.await.map_err(ApiError::internal)?;
    if report.database_unavailable {
        // The message is stored (and is in the conversation): said, with its ids, so a client
        // knows that posting it again would store it twice. The session's next turn reads it.
        return Err(ApiError::database_unavailable(
            "the message was stored, but its turn could not begin: the database is not \
             available; the session's next turn answers it too (posting it again stores it twice)",
        )
        .with("id", serde_json::json!(posted.id))
        .with("turnId", serde_json::json!(posted.turn_id)));
    }
    Ok((
        StatusCode::OK,
        Json(PostAnswer::Finished(TurnResult::new(posted, report))),
    ))
}

#[utoipa::path(
    get, path = "/v1/sessions/{id}/messages", tag = "conversations",
    summary = "List the conversation in order, tool exchanges included",
    operation_id = "listMessages",
    security(("apiKey" = []), ("clientSecret" = [])),
    params(("id" = uuid::Uuid, Path), hookline_core::http::ListQuery),
    responses(
        (status = 200, body = ListPage<MessageView>),
        ListInErrors
    )
)]
pub async fn list(
    State(ConversationState { runtime, .. }): State<ConversationState>,
    credential: SessionCredential,
    InPath(SessionId(id)): InPath<SessionId>,
    query: QueryMap,
) -> Result<Json<ListPage<MessageView>>, ApiError> {
    let page = Pagination::from_query(&query)?;
    credential.session(&runtime.core, id).await?;
    let mut conn = runtime.core.pool.acquire().await?;
    let (found, total) = messages::page(&mut conn, id, page.per_page, page.offset()).await?;
    Ok(Json(ListPage::new(
        found.iter().map(MessageView::from).collect(),
        total,
        page,
    )))
}

#[utoipa::path(
    get, path = "/v1/sessions/{id}/followups", tag = "conversations",
    summary = "List the follow-ups the persona scheduled in this session",
    operation_id = "listFollowUps",
    security(("apiKey" = []), ("clientSecret" = [])),
    params(("id" = uuid::Uuid, Path), hookline_core::http::ListQuery),
    responses(
        (status = 200, body = ListPage<FollowUpView>),
        ListInErrors
    )
)]
pub async fn list_follow_ups(
    State(ConversationState { runtime, .. }): State<ConversationState>,
    credential: SessionCredential,
    InPath(SessionId(id)): InPath<SessionId>,
    query: QueryMap,
) -> Result<Json<ListPage<FollowUpView>>, ApiError> {
    let page = Pagination::from_query(&query)?;
    credential.session(&runtime.core, id).await?;
    let mut conn = runtime.core.pool.acquire().await?;
    let (found, total) = followups::page(&mut conn, id, page.per_page, page.offset()).await?;
    Ok(Json(ListPage::new(
        found.iter().map(FollowUpView::from).collect(),
        total,
        page,
    )))
}
