//! `POST /v1/knowledge/search`.

use axum::extract::State;
use axum::{Extension, Json};
use hookline_core::http::problem::responses::{BadRequest, Invalid, Unauthorized};
use hookline_core::http::{ApiError, Caller, Checked, CoreState};

use crate::embeddings::Embedder;
use crate::requests::SearchRequest;
use crate::service::search;
use crate::views::SearchResults;

#[utoipa::path(
    post, path = "/v1/knowledge/search", tag = "knowledge",
    summary = "Search the ready documents of folders, best chunks first",
    operation_id = "searchKnowledge",
    security(("apiKey" = [])),
    request_body = SearchRequest,
    responses(
        (status = 200, body = SearchResults),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 422, response = Invalid)
    )
)]
pub async fn search(
    State(state): State<CoreState>,
    Extension(embedder): Extension<Embedder>,
    caller: Caller,
    Checked(request): Checked<SearchRequest>,
) -> Result<Json<SearchResults>, ApiError> {
    Ok(Json(
        search::search(&state, &embedder, caller.org_id, &request).await?,
    ))
}
