//! `/v1/tools`: parse, call [`crate::tools`], answer the view.

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
use hookline_core::ids::ToolId;
use hookline_schema::ToolDefinition;

use crate::requests::ToolPatch;
use crate::service::tools;
use crate::views::ToolView;

#[utoipa::path(
    post, path = "/v1/tools", tag = "tools", summary = "Create a tool", operation_id = "createTool",
    security(("apiKey" = [])),
    request_body = ToolDefinition,
    responses(
        (status = 201, body = ToolView),
        CreateErrors
    )
)]
pub async fn create(
    State(state): State<CoreState>,
    caller: Caller,
    Checked(definition): Checked<ToolDefinition>,
) -> Result<(StatusCode, Json<ToolView>), ApiError> {
    let created = tools::create(&state, caller.org_id, definition).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(
    get, path = "/v1/tools", tag = "tools", summary = "List tools", operation_id = "listTools",
    security(("apiKey" = [])),
    params(ListQuery),
    responses(
        (status = 200, body = ListPage<ToolView>),
        ListErrors
    )
)]
pub async fn list(
    State(state): State<CoreState>,
    caller: Caller,
    params: ListParams,
) -> Result<Json<ListPage<ToolView>>, ApiError> {
    Ok(Json(tools::list(&state, caller.org_id, &params).await?))
}

#[utoipa::path(
    get, path = "/v1/tools/{id}", tag = "tools", summary = "Read a tool", operation_id = "getTool",
    security(("apiKey" = [])),
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = ToolView),
        ByIdErrors
    )
)]
pub async fn read(
    State(state): State<CoreState>,
    caller: Caller,
    InPath(id): InPath<ToolId>,
) -> Result<Json<ToolView>, ApiError> {
    Ok(Json(tools::get(&state, caller.org_id, id).await?))
}

/// `PUT`: the same partial update as `PATCH` (the contract gives both one meaning).
#[utoipa::path(
    put, path = "/v1/tools/{id}", tag = "tools", summary = "Update a tool partially (as PATCH): fields sent replace, null clears",
    operation_id = "replaceTool",
    security(("apiKey" = [])),
    params(("id" = Uuid, Path)),
    request_body = ToolPatch,
    responses(
        (status = 200, body = ToolView),
        ChangeErrors
    )
)]
pub async fn replace(
    state: State<CoreState>,
    caller: Caller,
    id: InPath<ToolId>,
    body: JsonBody,
) -> Result<Json<ToolView>, ApiError> {
    update(state, caller, id, body).await
}

/// `PATCH`: a partial update.
#[utoipa::path(
    patch, path = "/v1/tools/{id}", tag = "tools", summary = "Update a tool partially: fields sent replace, null clears",
    operation_id = "updateTool",
    security(("apiKey" = [])),
    params(("id" = Uuid, Path)),
    request_body = ToolPatch,
    responses(
        (status = 200, body = ToolView),
        ChangeErrors
    )
)]
pub async fn update(
    State(state): State<CoreState>,
    caller: Caller,
    InPath(id): InPath<ToolId>,
    body: JsonBody,
) -> Result<Json<ToolView>, ApiError> {
    let patch = body.object()?;
    Ok(Json(tools::update(&state, caller.org_id, id, patch).await?))
}

#[utoipa::path(
    delete, path = "/v1/tools/{id}", tag = "tools", summary = "Delete a tool", operation_id = "deleteTool",
    security(("apiKey" = [])),
    params(("id" = Uuid, Path), ("force" = Option<bool>, Query, description = "Detach it from the personas that use it")),
    responses(
        (status = 204, description = "Deleted"),
        DeleteErrors
    )
)]
pub async fn delete(
    State(state): State<CoreState>,
    caller: Caller,
    query: QueryMap,
    InPath(id): InPath<ToolId>,
) -> Result<StatusCode, ApiError> {
    tools::delete(&state, caller.org_id, id, query.flag("force")?).await?;
    Ok(StatusCode::NO_CONTENT)
}
