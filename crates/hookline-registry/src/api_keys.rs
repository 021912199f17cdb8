//! `/v1/api-keys`: an organization's keys. The key itself is shown once, when it is made.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use hookline_core::http::problem::responses::{
    BadRequest, Invalid, NotFound, TooLarge, Unauthorized, Unavailable,
};

use crate::requests::ApiKeyInput;
use crate::views::{ApiKeyView, NewApiKeyView};
use hookline_core::http::{
    parse_id, ApiError, Caller, CoreState, JsonBody, ListPage, ListQuery, Pagination, QueryMap,
};
use hookline_core::repo::api_keys;
use hookline_schema::fields::Fields;
use hookline_schema::Violations;

const MAX_NAME_CHARS: usize = 100;

#[utoipa::path(
    get, path = "/v1/api-keys", tag = "api-keys", summary = "List active API keys", operation_id = "listApiKeys",
    security(("apiKey" = [])),
    params(ListQuery),
    responses(
        (status = 200, body = ListPage<ApiKeyView>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 422, response = Invalid),
        (status = 503, response = Unavailable)
    )
)]
pub async fn list(
    State(state): State<CoreState>,
    caller: Caller,
    query: QueryMap,
) -> Result<Json<ListPage<ApiKeyView>>, ApiError> {
    let page = Pagination::from_query(&query)?;
    let search = query.get("search").map(str::to_lowercase);
    let mut keys = api_keys::list(&state.pool, caller.org_id).await?;
    // An organization has a handful of keys: filtering them here is simpler than in SQL.
    if let Some(search) = &search {
        keys.retain(|k| k.name.to_lowercase().contains(search.as_str()));
    }
    let total = keys.len() as i64;
    let data = keys
        .iter()
        .skip(page.offset() as usize)
        .take(page.per_page as usize)
        .map(ApiKeyView::from)
        .collect();
    Ok(Json(ListPage::new(data, total, page)))
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
    body: JsonBody,
) -> Result<(StatusCode, Json<NewApiKeyView>), ApiError> {
    let mut v = Violations::new();
    let name = match body.0.as_object() {
        None => {
            v.wrong_type("", "a JSON object");
            None
        }
        Some(map) => {
            let mut f = Fields::new(map, "", &mut v);
            let name = f.string("name").map(str::to_owned);
            f.finish("an API key");
            name
        }
    };
    let name = name.unwrap_or_else(|| "default".into());
    if name.trim().is_empty() || name.chars().count() > MAX_NAME_CHARS {
        v.rule(
            "name",
            format!("must be 1 to {MAX_NAME_CHARS} characters, not blank"),
        );
    }
    v.into_result(()).map_err(ApiError::invalid)?;
    let created = api_keys::create(&state.pool, caller.org_id, &name).await?;
    tracing::info!(key_id = %created.record.id, "API key created");
    Ok((
        StatusCode::CREATED,
        Json(NewApiKeyView {
            id: created.record.id,
            name: created.record.name,
            key: created.key.expose().to_owned(),
            key_prefix: created.record.key_prefix,
            created_at: created.record.created_at,
        }),
    ))
}

#[utoipa::path(
    delete, path = "/v1/api-keys/{id}", tag = "api-keys", summary = "Revoke an API key at once", operation_id = "revokeApiKey",
    security(("apiKey" = [])),
    params(("id" = Uuid, Path)),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 503, response = Unavailable)
    )
)]
pub async fn revoke(
    State(state): State<CoreState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id, "API key")?;
    let Some(key_hash) = api_keys::revoke(&state.pool, caller.org_id, id).await? else {
        return Err(ApiError::not_found("API key"));
    };
    state.auth.forget(&key_hash);
    tracing::info!(key_id = %id, "API key revoked");
    Ok(StatusCode::NO_CONTENT)
}
