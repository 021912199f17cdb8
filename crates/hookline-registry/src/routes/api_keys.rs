//! `/v1/api-keys`: parse, call [`crate::api_keys`], answer the view.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use hookline_core::http::problem::responses::{
    BadRequest, ByIdErrors, Invalid, ListErrors, TooLarge, Unauthorized, Unavailable,
};
use hookline_core::http::{
    ApiError, Caller, Checked, CoreState, InPath, ListPage, ListParams, ListQuery,
};
use hookline_core::ids::ApiKeyId;

use crate::requests::ApiKeyInput;
use crate::service::api_keys;
use crate::views::{ApiKeyView, NewApiKeyView};

#[utoipa::path(
    get, path = "/v1/api-keys", tag = "api-keys", summary = "List active API keys", operation_id = "listApiKeys",
    security(("apiKey" = [])),
    params(ListQuery),
    responses(
        (status = 200, body = ListPage<ApiKeyView>),
        ListErrors
    )
)]
pub async fn list(
    State(state): State<CoreState>,
    caller: Caller,
    params: ListParams,
) -> Result<Json<ListPage<ApiKeyView>>, ApiError> {
    Ok(Json(api_keys::list(&state, caller.org_id, &params).await?))
}

#[utoipa::path(
    post, path = "/v1/api-keys", tag = "api-keys", summary = "Create an API key", operation_id = "createApiKey",
    security(("apiKey" = [])),
    request_body = ApiKeyInput,
    responses(
        (status = 201, body = NewApiKeyView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 413, response = TooLarge),
        (status = 422, response = Invalid),
        (status = 503, response = Unavailable)
    )
)]
pub async fn create(
    State(state): State<CoreState>,
    caller: Caller,
    Checked(input): Checked<ApiKeyInput>,
) -> Result<(StatusCode, Json<NewApiKeyView>), ApiError> {
    let created = api_keys::create(&state, caller.org_id, &input.name).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(
    delete, path = "/v1/api-keys/{id}", tag = "api-keys", summary = "Revoke an API key at once", operation_id = "revokeApiKey",
    security(("apiKey" = [])),
    params(("id" = Uuid, Path)),
    responses(
        (status = 204, description = "Revoked"),
        ByIdErrors
    )
)]
pub async fn revoke(
    State(state): State<CoreState>,
    caller: Caller,
    InPath(id): InPath<ApiKeyId>,
) -> Result<StatusCode, ApiError> {
    api_keys::revoke(&state, caller.org_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
