//! `/v1/llms`: the LLM connections personas talk through. The API key is sealed like a tool's
//! header values, shown only as the same masked preview, and never follows `baseUrl` to another
//! origin unless it is sent again.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use hookline_core::http::problem::responses::{
    BadRequest, Conflict, Invalid, NotFound, Unauthorized,
};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::merge::{merge_top_level, origin_moved};
use crate::openapi::{LlmInput, LlmList, LlmResponse};
use hookline_core::http::ProblemDocument;
use hookline_core::http::{
    parse_id, ApiError, Caller, CoreState, JsonBody, ListPage, ListQuery, Pagination, QueryMap,
};
use hookline_core::repo::llms::{self, key_context, StoredLlm, NAME_CONSTRAINT};
use hookline_core::StoreError;
use hookline_schema::{mask_header_value, LlmFields};

/// An LLM as the API shows it: the key as its masked preview (or null), never in full.
pub fn llm_json(llm: &StoredLlm, key_preview: Option<String>) -> Value {
    json!({
        "id": llm.id,
        "name": llm.name,
        "provider": llm.provider,
        "baseUrl": llm.base_url,
        "model": llm.model,
        "apiKey": key_preview,
        "temperature": llm.temperature,
        "maxTokens": llm.max_tokens,
        "timeoutSeconds": llm.timeout_seconds,
        "createdAt": llm.created_at,
        "updatedAt": llm.updated_at,
        "usageCount": llm.usage_count,
    })
}

/// The view of a stored LLM, its key opened only to compute the preview.
fn render(state: &CoreState, llm: &StoredLlm) -> Result<Value, ApiError> {
    let key = llm
        .open_key(&state.settings.secrets)
        .map_err(ApiError::internal)?;
    Ok(llm_json(llm, key.map(|k| mask_header_value(k.expose()))))
}

fn store_error(e: StoreError, name: &str) -> ApiError {
    match e {
        StoreError::Conflict { constraint } if constraint == NAME_CONSTRAINT => {
            ApiError::conflict(format!("an LLM named {name:?} exists already"))
                .with_field("name", "is taken by another LLM of your organization")
        }
        other => other.into(),
    }
}

fn parse(state: &CoreState, body: &Value) -> Result<LlmFields, ApiError> {
    LlmFields::parse(body, &state.settings.destinations).map_err(ApiError::invalid)
}

#[utoipa::path(
    post, path = "/v1/llms", tag = "llms", summary = "Create an LLM connection",
    operation_id = "createLlm",
    security(("apiKey" = [])),
    request_body = LlmInput,
    responses(
        (status = 201, body = LlmResponse),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid)
    )
)]
pub async fn create(
    State(state): State<CoreState>,
    caller: Caller,
    body: JsonBody,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let fields = parse(&state, &body.0)?;
    let id = Uuid::now_v7();
    let sealed = fields.api_key.as_deref().map(|key| {
        state
            .settings
            .secrets
            .seal(key, &key_context(caller.org_id, id))
    });
    let stored = llms::insert(&state.pool, caller.org_id, id, &fields, sealed.as_deref())
        .await
        .map_err(|e| store_error(e, &fields.name))?;
    tracing::info!(llm_id = %id, provider = %stored.provider, "llm created");
    Ok((StatusCode::CREATED, Json(render(&state, &stored)?)))
}

#[utoipa::path(
    get, path = "/v1/llms", tag = "llms", summary = "List LLM connections",
    operation_id = "listLlms",
    security(("apiKey" = [])),
    params(ListQuery),
    responses(
        (status = 200, body = LlmList),
        (status = 401, response = Unauthorized),
        (status = 422, response = Invalid)
    )
)]
pub async fn list(
    State(state): State<CoreState>,
    caller: Caller,
    query: QueryMap,
) -> Result<Json<ListPage<Value>>, ApiError> {
    let page = Pagination::from_query(&query)?;
    let search = query.get("search").filter(|s| !s.is_empty());
    let mut conn = state.pool.acquire().await?;
    let (found, total) = llms::list(&mut conn, caller.org_id, search, page).await?;
    let data = found
        .iter()
        .map(|llm| render(&state, llm))
        .collect::<Result<_, _>>()?;
    Ok(Json(ListPage::new(data, total, page)))
}

#[utoipa::path(
    get, path = "/v1/llms/{id}", tag = "llms", summary = "Read an LLM connection",
    operation_id = "getLlm",
    security(("apiKey" = [])),
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = LlmResponse),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound)
    )
)]
pub async fn read(
    State(state): State<CoreState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id, "LLM")?;
    let llm = llms::get(&state.pool, caller.org_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("LLM"))?;
    Ok(Json(render(&state, &llm)?))
}

const RESEND: &str = "baseUrl now points at another origin (scheme, host or port): send the \
    API key again in full, or null for none";

/// `PUT` and `PATCH` alike: a partial update (JSON Merge Patch meaning, as everywhere).
#[utoipa::path(
    put, path = "/v1/llms/{id}", tag = "llms",
    summary = "Update an LLM connection partially (as PATCH): fields sent replace, null clears",
    operation_id = "putLlm",
    security(("apiKey" = [])),
    params(("id" = Uuid, Path)),
    request_body = LlmInput,
    responses(
        (status = 200, body = LlmResponse),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid)
    )
)]
pub async fn put(
    state: State<CoreState>,
    caller: Caller,
    id: Path<String>,
    body: JsonBody,
) -> Result<Json<Value>, ApiError> {
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
    request_body = LlmInput,
    responses(
        (status = 200, body = LlmResponse),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid)
    )
)]
pub async fn update(
    State(state): State<CoreState>,
    caller: Caller,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id, "LLM")?;
    let patch = body.object()?;
    let secrets = &state.settings.secrets;
    let mut tx = state.pool.begin().await?;
    let current = llms::lock(&mut tx, caller.org_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("LLM"))?;
    let stored_key = current.open_key(secrets).map_err(ApiError::internal)?;
    let preview = stored_key.as_ref().map(|k| mask_header_value(k.expose()));
    // The stored key is kept when `apiKey` is not sent, or sent back as its preview.
    let keeps_key = stored_key.is_some()
        && match patch.get("apiKey") {
            None => true,
            Some(Value::String(sent)) => Some(sent) == preview.as_ref(),
            Some(_) => false,
        };
    let Value::Object(mut merged) = llm_json(&current, None) else {
        return Err(ApiError::internal("an LLM view is not an object"));
    };
    merged.retain(|k, v| {
        !v.is_null()
            && !matches!(
                k.as_str(),
                "id" | "createdAt" | "updatedAt" | "usageCount" | "apiKey"
            )
    });
    merge_top_level(&mut merged, patch);
    if let (true, Some(key)) = (keeps_key, &stored_key) {
        merged.insert("apiKey".into(), Value::String(key.expose().to_owned()));
    }
    let fields = parse(&state, &Value::Object(merged))?;
    // Asked for only once the rest is valid: a broken URL is reported as such first.
    if keeps_key && origin_moved(&current.base_url, &fields.base_url) {
        return Err(ApiError::field("apiKey", RESEND));
    }
    let sealed = fields
        .api_key
        .as_deref()
        .map(|key| secrets.seal(key, &key_context(caller.org_id, id)));
    let stored = llms::update(&mut *tx, caller.org_id, id, &fields, sealed.as_deref())
        .await
        .map_err(|e| store_error(e, &fields.name))?;
    tx.commit().await?;
    tracing::info!(llm_id = %id, "llm updated");
    Ok(Json(render(&state, &stored)?))
}

#[utoipa::path(
    delete, path = "/v1/llms/{id}", tag = "llms", summary = "Delete an LLM connection",
    operation_id = "deleteLlm",
    security(("apiKey" = [])),
    params(("id" = Uuid, Path), ("force" = Option<bool>, Query, description = "Clear the llmId of the personas that use it")),
    responses(
        (status = 204),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
        (status = 409, description = "In use: the problem lists `personas`", body = ProblemDocument, content_type = "application/problem+json")
    )
)]
pub async fn delete(
    State(state): State<CoreState>,
    caller: Caller,
    Path(id): Path<String>,
    query: QueryMap,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id, "LLM")?;
    let force = query.flag("force")?;
    let mut tx = state.pool.begin().await?;
    llms::lock(&mut tx, caller.org_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("LLM"))?;
    let users = llms::users(&mut *tx, caller.org_id, id).await?;
    if !users.is_empty() && !force {
        let personas: Vec<Value> = users
            .iter()
            .map(|(id, name)| json!({"id": id, "name": name}))
            .collect();
        return Err(ApiError::conflict(format!(
            "the LLM is used by {} persona(s); change their llmId first or delete with ?force=true",
            users.len()
        ))
        .with("personas", Value::Array(personas)));
    }
    llms::detach_everywhere(&mut *tx, caller.org_id, id).await?;
    llms::delete(&mut *tx, caller.org_id, id).await?;
    tx.commit().await?;
    tracing::info!(llm_id = %id, detached = users.len(), "llm deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// Checks a persona body's `llmId` (when set) names an LLM of the organization; 422 naming
/// `field` otherwise.
pub(crate) async fn check_llm_id(
    db: &mut sqlx::PgConnection,
    org_id: Uuid,
    llm_id: Option<&str>,
    field: &str,
) -> Result<(), ApiError> {
    if let Some(llm_id) = llm_id {
        llms::check_id(db, org_id, llm_id, field)
            .await?
            .map_err(ApiError::invalid)?;
    }
    Ok(())
}
