//! `/v1/llms`: parse, call [`crate::llms`], answer the view.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use hookline_core::http::problem::responses::{
    ByIdErrors, ChangeErrors, CreateErrors, DeleteErrors, ListErrors,
};
use hookline_core::http::{
    ApiError, Caller, Checked, CoreState, InPath, JsonBody, ListPage, ListParams, ListQuery,
    QueryMap,
};
use hookline_core::ids::LlmId;
use hookline_schema::LlmFields;

use crate::requests::LlmPatch;
use crate::service::llms;
use crate::views::LlmView;

#[utoipa::path(
    post, path = "/v1/llms", tag = "llms", summary = "Create an LLM connection",
    operation_id = "createLlm",
    security(("apiKey" = [])),
    request_body = LlmFields,
    responses(
        (status = 201, body = LlmView),
        CreateErrors
    )
)]
pub async fn create(
    State(state): State<CoreState>,
    caller: Caller,
    Checked(fields): Checked<LlmFields>,
) -> Result<(StatusCode, Json<LlmView>), ApiError> {
    let created = llms::create(&state, caller.org_id, fields).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(
    get, path = "/v1/llms", tag = "llms", summary = "List LLM connections",
    operation_id = "listLlms",
    security(("apiKey" = [])),
    params(ListQuery),
    responses(
        (status = 200, body = ListPage<LlmView>),
        ListErrors
    )
)]
pub async fn list(
    State(state): State<CoreState>,
    caller: Caller,
    params: ListParams,
) -> Result<Json<ListPage<LlmView>>, ApiError> {
    Ok(Json(llms::list(&state, caller.org_id, &params).await?))
}

#[utoipa::path(
    get, path = "/v1/llms/{id}", tag = "llms", summary = "Read an LLM connection",
    operation_id = "getLlm",
    security(("apiKey" = [])),
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = LlmView),
        ByIdErrors
    )
)]
pub async fn read(
    State(state): State<CoreState>,
    caller: Caller,
    InPath(id): InPath<LlmId>,
) -> Result<Json<LlmView>, ApiError> {
    Ok(Json(llms::get(&state, caller.org_id, id).await?))
}

/// `PUT` and `PATCH` alike: a partial update (JSON Merge Patch meaning, as everywhere).
#[utoipa::path(
    put, path = "/v1/llms/{id}", tag = "llms",
    summary = "Update an LLM connection partially (as PATCH): fields sent replace, null clears",
    operation_id = "putLlm",
    security(("apiKey" = [])),
    params(("id" = Uuid, Path)),
    request_body = LlmPatch,
    responses(
        (status = 200, body = LlmView),
        ChangeErrors
    )
)]
pub async fn put(
    state: State<CoreState>,
    caller: Caller,
    id: InPath<LlmId>,
    body: JsonBody,
) -> Result<Json<LlmView>, ApiError> {
    update(state, caller, id, body).await
}

/// A partial update. An `apiKey` equal to the current preview (or not sent) keeps the stored
/// key, as long as `baseUrl` stays on the same origin.
#[utoipa::path(
    patch, path = "/v1/llms/{id}", tag = "llms",
    summary = "Update an LLM connection partially: fields sent replace, null clears",
    operation_id = "updateLlm",
    security(("apiKey" = [])),
    params(("id" = Uuid, Path)),
    request_body = LlmPatch,
    responses(
        (status = 200, body = LlmView),
        ChangeErrors
    )
)]
pub async fn update(
    State(state): State<CoreState>,
    caller: Caller,
    InPath(id): InPath<LlmId>,
    body: JsonBody,
) -> Result<Json<LlmView>, ApiError> {
    let patch = body.object()?;
    Ok(Json(llms::update(&state, caller.org_id, id, patch).await?))
}

#[utoipa::path(
    delete, path = "/v1/llms/{id}", tag = "llms", summary = "Delete an LLM connection",
    operation_id = "deleteLlm",
    security(("apiKey" = [])),
    params(("id" = Uuid, Path), ("force" = Option<bool>, Query, description = "Clear the llmId of the personas that use it")),
    responses(
        (status = 204),
        DeleteErrors
    )
)]
pub async fn delete(
    State(state): State<CoreState>,
    caller: Caller,
    query: QueryMap,
    InPath(id): InPath<LlmId>,
) -> Result<StatusCode, ApiError> {
    llms::delete(&state, caller.org_id, id, query.flag("force")?).await?;
    Ok(StatusCode::NO_CONTENT)
}
