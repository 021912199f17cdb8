//! `/v1/knowledge/folders`: parse, call [`crate::folders`], answer the view.

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
use hookline_core::ids::FolderId;

use crate::requests::{FolderInput, FolderPatch};
use crate::service::folders;
use crate::views::FolderView;

#[utoipa::path(
    post, path = "/v1/knowledge/folders", tag = "knowledge", summary = "Create a knowledge folder",
    operation_id = "createKnowledgeFolder",
    security(("apiKey" = [])),
    request_body = FolderInput,
    responses(
        (status = 201, body = FolderView),
        CreateErrors
    )
)]
pub async fn create(
    State(state): State<CoreState>,
    caller: Caller,
    Checked(input): Checked<FolderInput>,
) -> Result<(StatusCode, Json<FolderView>), ApiError> {
    let created = folders::create(&state, caller.org_id, input).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(
    get, path = "/v1/knowledge/folders", tag = "knowledge", summary = "List knowledge folders",
    operation_id = "listKnowledgeFolders",
    security(("apiKey" = [])),
    params(ListQuery),
    responses(
        (status = 200, body = ListPage<FolderView>),
        ListErrors
    )
)]
pub async fn list(
    State(state): State<CoreState>,
    caller: Caller,
    params: ListParams,
) -> Result<Json<ListPage<FolderView>>, ApiError> {
    Ok(Json(folders::list(&state, caller.org_id, &params).await?))
}

#[utoipa::path(
    get, path = "/v1/knowledge/folders/{id}", tag = "knowledge", summary = "Read a knowledge folder",
    operation_id = "getKnowledgeFolder",
    security(("apiKey" = [])),
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = FolderView),
        ByIdErrors
    )
)]
pub async fn read(
    State(state): State<CoreState>,
    caller: Caller,
    InPath(id): InPath<FolderId>,
) -> Result<Json<FolderView>, ApiError> {
    Ok(Json(folders::get(&state, caller.org_id, id).await?))
}

#[utoipa::path(
    patch, path = "/v1/knowledge/folders/{id}", tag = "knowledge",
    summary = "Update a knowledge folder partially: fields sent replace, null clears",
    operation_id = "updateKnowledgeFolder",
    security(("apiKey" = [])),
    params(("id" = Uuid, Path)),
    request_body = FolderPatch,
    responses(
        (status = 200, body = FolderView),
        ChangeErrors
    )
)]
pub async fn update(
    State(state): State<CoreState>,
    caller: Caller,
    InPath(id): InPath<FolderId>,
    body: JsonBody,
) -> Result<Json<FolderView>, ApiError> {
    let patch = body.object()?;
    Ok(Json(
        folders::update(&state, caller.org_id, id, patch).await?,
    ))
}

#[utoipa::path(
    delete, path = "/v1/knowledge/folders/{id}", tag = "knowledge",
    summary = "Delete a knowledge folder with its documents",
    operation_id = "deleteKnowledgeFolder",
    security(("apiKey" = [])),
    params(("id" = Uuid, Path), ("force" = Option<bool>, Query, description = "Delete it even while knowledge tools search it")),
    responses(
        (status = 204),
        DeleteErrors
    )
)]
pub async fn delete(
    State(state): State<CoreState>,
    caller: Caller,
    query: QueryMap,
    InPath(id): InPath<FolderId>,
) -> Result<StatusCode, ApiError> {
    folders::delete(&state, caller.org_id, id, query.flag("force")?).await?;
    Ok(StatusCode::NO_CONTENT)
}
