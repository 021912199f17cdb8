//! `/v1/connections`: parse, call [`crate::connections`], answer the view.

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
use hookline_core::ids::ConnectionId;
use hookline_schema::ConnectionFields;

use crate::connection_wire::{ConnectionPatch, ConnectionView};
use crate::service::connections;

#[utoipa::path(
    post, path = "/v1/connections", tag = "connections", summary = "Create a connection",
    operation_id = "createConnection",
    security(("apiKey" = [])),
    request_body = ConnectionFields,
    responses(
        (status = 201, body = ConnectionView),
        CreateErrors
    )
)]
pub async fn create(
    State(state): State<CoreState>,
    caller: Caller,
    Checked(fields): Checked<ConnectionFields>,
) -> Result<(StatusCode, Json<ConnectionView>), ApiError> {
    let created = connections::create(&state, caller.org_id, fields).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(
    get, path = "/v1/connections", tag = "connections", summary = "List connections",
    operation_id = "listConnections",
    security(("apiKey" = [])),
    params(ListQuery),
    responses(
        (status = 200, body = ListPage<ConnectionView>),
        ListErrors
    )
)]
pub async fn list(
    State(state): State<CoreState>,
    caller: Caller,
    params: ListParams,
) -> Result<Json<ListPage<ConnectionView>>, ApiError> {
    Ok(Json(
        connections::list(&state, caller.org_id, &params).await?,
    ))
}

#[utoipa::path(
    get, path = "/v1/connections/{id}", tag = "connections", summary = "Read a connection",
    operation_id = "getConnection",
    security(("apiKey" = [])),
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = ConnectionView),
        ByIdErrors
    )
)]
pub async fn read(
    State(state): State<CoreState>,
    caller: Caller,
    InPath(id): InPath<ConnectionId>,
) -> Result<Json<ConnectionView>, ApiError> {
    Ok(Json(connections::get(&state, caller.org_id, id).await?))
}

/// `PUT` and `PATCH` alike: a partial update (JSON Merge Patch meaning, as everywhere).
#[utoipa::path(
    put, path = "/v1/connections/{id}", tag = "connections",
    summary = "Update a connection partially (as PATCH): fields sent replace, null clears",
    operation_id = "putConnection",
    security(("apiKey" = [])),
    params(("id" = Uuid, Path)),
    request_body = ConnectionPatch,
    responses(
        (status = 200, body = ConnectionView),
        ChangeErrors
    )
)]
pub async fn put(
    state: State<CoreState>,
    caller: Caller,
    id: InPath<ConnectionId>,
    body: JsonBody,
) -> Result<Json<ConnectionView>, ApiError> {
    update(state, caller, id, body).await
}

/// A partial update. A `clientSecret` equal to the current preview (or not sent) keeps the
/// stored secret, as long as `tokenUrl` stays on the same origin.
#[utoipa::path(
    patch, path = "/v1/connections/{id}", tag = "connections",
    summary = "Update a connection partially: fields sent replace, null clears",
    operation_id = "updateConnection",
    security(("apiKey" = [])),
    params(("id" = Uuid, Path)),
    request_body = ConnectionPatch,
    responses(
        (status = 200, body = ConnectionView),
        ChangeErrors
    )
)]
pub async fn update(
    State(state): State<CoreState>,
    caller: Caller,
    InPath(id): InPath<ConnectionId>,
    body: JsonBody,
) -> Result<Json<ConnectionView>, ApiError> {
    let patch = body.object()?;
    Ok(Json(
        connections::update(&state, caller.org_id, id, patch).await?,
    ))
}

#[utoipa::path(
    delete, path = "/v1/connections/{id}", tag = "connections", summary = "Delete a connection",
    operation_id = "deleteConnection",
    security(("apiKey" = [])),
    params(("id" = Uuid, Path), ("force" = Option<bool>, Query, description = "Delete even when tools use it (their calls then fail with kind auth)")),
    responses(
        (status = 204),
        DeleteErrors
    )
)]
pub async fn delete(
    State(state): State<CoreState>,
    caller: Caller,
    query: QueryMap,
    InPath(id): InPath<ConnectionId>,
) -> Result<StatusCode, ApiError> {
    connections::delete(&state, caller.org_id, id, query.flag("force")?).await?;
    Ok(StatusCode::NO_CONTENT)
}
