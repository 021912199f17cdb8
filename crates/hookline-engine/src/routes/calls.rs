//! The call log: `GET /v1/sessions/{id}/tool-calls` and `GET /v1/tool-calls/{id}`.

use axum::extract::State;
use axum::Json;
use hookline_core::http::problem::responses::{
    ByIdErrors, Invalid, NotFound, Unauthorized, Unavailable,
};

use hookline_core::http::{ApiError, Caller, InPath, ListPage, PageQuery, Pagination, QueryMap};
use hookline_core::ids::{SessionId, ToolCallId};
use hookline_core::repo::sessions;
use hookline_core::repo::tool_calls;

use super::EngineState;
use crate::views::CallView;

#[utoipa::path(
    get, path = "/v1/sessions/{id}/tool-calls", tag = "tool-calls", summary = "A session's calls, oldest first",
    operation_id = "listSessionToolCalls",
    security(("apiKey" = [])),
    params(("id" = uuid::Uuid, Path), PageQuery),
    responses(
        (status = 200, body = ListPage<CallView>),
        (status = 400, description = "A query parameter holds U+0000", body = hookline_core::http::ProblemDocument, content_type = "application/problem+json"),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
        (status = 503, response = Unavailable)
    )
)]
pub async fn list(
    State(state): State<EngineState>,
    caller: Caller,
    InPath(SessionId(id)): InPath<SessionId>,
    query: QueryMap,
) -> Result<Json<ListPage<CallView>>, ApiError> {
    let page = Pagination::from_query(&query)?;
    let mut conn = state.core.pool.acquire().await?;
    sessions::get(&mut *conn, caller.org_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("session"))?;
    let (rows, total) = tool_calls::list(&mut conn, id, page).await?;
    Ok(Json(ListPage::new(
        rows.iter().map(CallView::from).collect(),
        total,
        page,
    )))
}

#[utoipa::path(
    get, path = "/v1/tool-calls/{id}", tag = "tool-calls", summary = "One call, with its request, answer and attempts",
    operation_id = "getToolCall",
    security(("apiKey" = [])),
    params(("id" = uuid::Uuid, Path)),
    responses(
        (status = 200, body = CallView),
        ByIdErrors
    )
)]
pub async fn read(
    State(state): State<EngineState>,
    caller: Caller,
    InPath(ToolCallId(id)): InPath<ToolCallId>,
) -> Result<Json<CallView>, ApiError> {
    let record = tool_calls::get(&state.core.pool, caller.org_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("tool call"))?;
    Ok(Json(CallView::from(&record)))
}
