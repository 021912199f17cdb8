//! `/v1/personas`: parse, call [`crate::personas`], answer the view.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use hookline_core::http::problem::responses::{
    ByIdErrors, ChangeErrors, Conflict, CreateErrors, ListErrors, NotFound, Unauthorized,
    Unavailable,
};
use hookline_core::http::{
    ApiError, Caller, Checked, CoreState, InPath, JsonBody, ListPage, ListParams, ListQuery,
};
use hookline_core::ids::{PersonaId, ToolId};
use hookline_schema::PersonaFields;

use crate::requests::PersonaPatch;
use crate::service::personas;
use crate::views::PersonaView;

#[utoipa::path(
    post, path = "/v1/personas", tag = "personas", summary = "Create a persona", operation_id = "createPersona",
    security(("apiKey" = [])),
    request_body = PersonaFields,
    responses(
        (status = 201, body = PersonaView),
        CreateErrors
    )
)]
pub async fn create(
    State(state): State<CoreState>,
    caller: Caller,
    Checked(fields): Checked<PersonaFields>,
) -> Result<(StatusCode, Json<PersonaView>), ApiError> {
    let created = personas::create(&state, caller.org_id, fields).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(
    get, path = "/v1/personas", tag = "personas", summary = "List personas", operation_id = "listPersonas",
    security(("apiKey" = [])),
    params(ListQuery),
    responses(
        (status = 200, body = ListPage<PersonaView>),
        ListErrors
    )
)]
pub async fn list(
    State(state): State<CoreState>,
    caller: Caller,
    params: ListParams,
) -> Result<Json<ListPage<PersonaView>>, ApiError> {
    Ok(Json(personas::list(&state, caller.org_id, &params).await?))
}

#[utoipa::path(
    get, path = "/v1/personas/{id}", tag = "personas", summary = "Read a persona", operation_id = "getPersona",
    security(("apiKey" = [])),
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = PersonaView),
        ByIdErrors
    )
)]
pub async fn read(
    State(state): State<CoreState>,
    caller: Caller,
    InPath(id): InPath<PersonaId>,
) -> Result<Json<PersonaView>, ApiError> {
    Ok(Json(personas::get(&state, caller.org_id, id).await?))
}

/// `PUT`: the same partial update as `PATCH` (the contract gives both one meaning).
#[utoipa::path(
    put, path = "/v1/personas/{id}", tag = "personas", summary = "Update a persona partially (as PATCH): fields sent replace, null clears",
    operation_id = "replacePersona",
    security(("apiKey" = [])),
    params(("id" = Uuid, Path)),
    request_body = PersonaPatch,
    responses(
        (status = 200, body = PersonaView),
        ChangeErrors
    )
)]
pub async fn replace(
    state: State<CoreState>,
    caller: Caller,
    id: InPath<PersonaId>,
    body: JsonBody,
) -> Result<Json<PersonaView>, ApiError> {
    update(state, caller, id, body).await
}

/// `PATCH`: a partial update.
#[utoipa::path(
    patch, path = "/v1/personas/{id}", tag = "personas", summary = "Update a persona partially: fields sent replace, null clears",
    operation_id = "updatePersona",
    security(("apiKey" = [])),
    params(("id" = Uuid, Path)),
    request_body = PersonaPatch,
    responses(
        (status = 200, body = PersonaView),
        ChangeErrors
    )
)]
pub async fn update(
    State(state): State<CoreState>,
    caller: Caller,
    InPath(id): InPath<PersonaId>,
    body: JsonBody,
) -> Result<Json<PersonaView>, ApiError> {
    let patch = body.object()?;
    Ok(Json(
        personas::update(&state, caller.org_id, id, patch).await?,
    ))
}

#[utoipa::path(
    delete, path = "/v1/personas/{id}", tag = "personas", summary = "Delete a persona", operation_id = "deletePersona",
    security(("apiKey" = [])),
    params(("id" = Uuid, Path)),
    responses(
        (status = 204, description = "Deleted"),
        ByIdErrors
    )
)]
pub async fn delete(
    State(state): State<CoreState>,
    caller: Caller,
    InPath(id): InPath<PersonaId>,
) -> Result<StatusCode, ApiError> {
    personas::delete(&state, caller.org_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post, path = "/v1/personas/{id}/tools/{toolId}", tag = "personas", summary = "Attach a tool", operation_id = "attachPersonaTool",
    security(("apiKey" = [])),
    params(("id" = Uuid, Path), ("toolId" = Uuid, Path)),
    responses(
        (status = 200, body = PersonaView),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 503, response = Unavailable)
    )
)]
pub async fn attach(
    State(state): State<CoreState>,
    caller: Caller,
    InPath((id, tool_id)): InPath<(PersonaId, ToolId)>,
) -> Result<Json<PersonaView>, ApiError> {
    Ok(Json(
        personas::attach(&state, caller.org_id, id, tool_id).await?,
    ))
}

#[utoipa::path(
    delete, path = "/v1/personas/{id}/tools/{toolId}", tag = "personas", summary = "Detach a tool", operation_id = "detachPersonaTool",
    security(("apiKey" = [])),
    params(("id" = Uuid, Path), ("toolId" = Uuid, Path)),
    responses(
        (status = 200, body = PersonaView),
        ByIdErrors
    )
)]
pub async fn detach(
    State(state): State<CoreState>,
    caller: Caller,
    InPath((id, tool_id)): InPath<(PersonaId, ToolId)>,
) -> Result<Json<PersonaView>, ApiError> {
    Ok(Json(
        personas::detach(&state, caller.org_id, id, tool_id).await?,
    ))
}
