//! `/v1/tools`: webhook, client and system tools.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use hookline_core::http::problem::responses::{
    BadRequest, Conflict, Invalid, NotFound, TooLarge, Unauthorized, Unavailable,
};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::requests::ToolPatch;
use crate::views::ToolView;
use hookline_core::http::ProblemDocument;
use hookline_core::http::{
    parse_id, ApiError, Caller, CoreState, JsonBody, ListPage, ListQuery, Pagination, QueryMap,
};
use hookline_core::repo::tools::{self, StoredTool, NAME_CONSTRAINT};
use hookline_core::sealed_tool::SealedTool;
use hookline_core::secrets::SecretBox;
use hookline_core::StoreError;
use hookline_schema::{mask_header_value, ToolDefinition, Violations};

use crate::merge::{merge_top_level, origin_moved, unknown_cleared, TOOL_FIELDS};

fn name_taken(name: &str) -> ApiError {
    ApiError::conflict(format!("a tool named {name:?} exists already"))
        .with_field("name", "is taken by another tool of your organization")
}

fn store_error(e: StoreError, name: &str) -> ApiError {
    match e {
        StoreError::Conflict { constraint } if constraint == NAME_CONSTRAINT => name_taken(name),
        other => other.into(),
    }
}

#[utoipa::path(
    post, path = "/v1/tools", tag = "tools", summary = "Create a tool", operation_id = "createTool",
    security(("apiKey" = [])),
    request_body = ToolDefinition,
    responses(
        (status = 201, body = ToolView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 409, response = Conflict),
        (status = 413, response = TooLarge),
        (status = 422, response = Invalid),
        (status = 503, response = Unavailable)
    )
)]
pub async fn create(
    State(state): State<CoreState>,
    caller: Caller,
    body: JsonBody,
) -> Result<(StatusCode, Json<ToolView>), ApiError> {
    let definition = ToolDefinition::parse(&body.0, "", &state.settings.destinations)
        .map_err(ApiError::invalid)?;
    let name = definition.name().to_owned();
    let sealed = SealedTool::seal(definition, caller.org_id, &state.settings.secrets);
    let stored = tools::insert(&state.pool, caller.org_id, &sealed)
        .await
        .map_err(|e| store_error(e, &name))?;
    tracing::info!(tool_id = %stored.id, tool = %name, "tool created");
    Ok((StatusCode::CREATED, Json(ToolView::from(&stored))))
}

#[utoipa::path(
    get, path = "/v1/tools", tag = "tools", summary = "List tools", operation_id = "listTools",
    security(("apiKey" = [])),
    params(ListQuery),
    responses(
        (status = 200, body = ListPage<ToolView>),
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
) -> Result<Json<ListPage<ToolView>>, ApiError> {
    let page = Pagination::from_query(&query)?;
    let search = query.get("search").filter(|s| !s.is_empty());
    let mut conn = state.pool.acquire().await?;
    let (found, total) = tools::list(&mut conn, caller.org_id, search, page).await?;
    Ok(Json(ListPage::new(
        found.iter().map(ToolView::from).collect(),
        total,
        page,
    )))
}

#[utoipa::path(
    get, path = "/v1/tools/{id}", tag = "tools", summary = "Read a tool", operation_id = "getTool",
    security(("apiKey" = [])),
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = ToolView),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 503, response = Unavailable)
    )
)]
pub async fn read(
    State(state): State<CoreState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ToolView>, ApiError> {
    let id = parse_id(&id, "tool")?;
    let tool = tools::get(&state.pool, caller.org_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("tool"))?;
    Ok(Json(ToolView::from(&tool)))
}

const RESEND: &str = "the URL now points at another origin (scheme, host or port): \
    send this header's value again in full, or remove it";

/// True when the patch sends a URL whose origin differs from the stored webhook's.
fn origin_changed(current: &ToolDefinition, patch: &Map<String, Value>) -> bool {
    let (ToolDefinition::Server(webhook), Some(Value::String(new))) = (current, patch.get("url"))
    else {
        return false;
    };
    // A URL that does not parse fails the definition's own checks first.
    origin_moved(&webhook.url, new)
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
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = TooLarge),
        (status = 422, response = Invalid),
        (status = 503, response = Unavailable)
    )
)]
pub async fn replace(
    state: State<CoreState>,
    caller: Caller,
    id: Path<String>,
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
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = TooLarge),
        (status = 422, response = Invalid),
        (status = 503, response = Unavailable)
    )
)]
pub async fn update(
    State(state): State<CoreState>,
    caller: Caller,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Json<ToolView>, ApiError> {
    let id = parse_id(&id, "tool")?;
    let patch = body.object()?;
    let unknown = unknown_cleared(&patch, &TOOL_FIELDS, "a tool");
    if !unknown.is_empty() {
        return Err(ApiError::invalid(unknown));
    }
    let secrets = &state.settings.secrets;
    let mut tx = state.pool.begin().await?;
    let current = tools::lock(&mut tx, caller.org_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("tool"))?;
    let (merged, resend) = merged_definition(&current, patch, secrets)?;
    let definition = ToolDefinition::parse(&merged, "", &state.settings.destinations)
        .map_err(ApiError::invalid)?;
    // Asked for only once the rest is valid: a broken URL is reported as such first.
    if !resend.is_empty() {
        return Err(ApiError::invalid(resend));
    }
    let name = definition.name().to_owned();
    let sealed = SealedTool::seal(definition, caller.org_id, secrets);
    let stored = tools::update(&mut *tx, caller.org_id, id, &sealed)
        .await
        .map_err(|e| store_error(e, &name))?;
    tx.commit().await?;
    tracing::info!(tool_id = %id, version = stored.version, "tool updated");
    Ok(Json(ToolView::from(&stored)))
}

/// The stored definition with the patch applied, header values in plain text again: a header
/// sent back with its masked preview keeps its stored value, unless the URL moves to another
/// origin; then the headers whose values must be sent again are returned beside it.
fn merged_definition(
    current: &StoredTool,
    mut patch: Map<String, Value>,
    secrets: &SecretBox,
) -> Result<(Value, Violations), ApiError> {
    let plain = current
        .tool
        .open_headers(current.org_id, secrets)
        .map_err(ApiError::internal)?;
    let preview_of = |name: &str| {
        plain
            .iter()
            .find(|(stored, _)| stored.eq_ignore_ascii_case(name))
            .map(|(_, value)| (mask_header_value(value.expose()), value.expose().to_owned()))
    };
    // Stored values may only follow the tool to the endpoint they were written for: a new origin
    // (scheme, host or port) would let anyone holding an API key read them back with `/test`.
    let moved = origin_changed(&current.tool.definition, &patch);
    let mut resend = Violations::new();
    match patch.get_mut("headers") {
        Some(Value::Object(sent)) => {
            for (name, value) in sent.iter_mut() {
                if let (Some(text), Some((preview, real))) = (value.as_str(), preview_of(name)) {
                    if text == preview {
                        if moved {
                            resend.rule(format!("headers.{name}"), RESEND);
                        }
                        *value = Value::String(real);
                    }
                }
            }
        }
        Some(_) => {}
        None if moved => {
            for (name, _) in &plain {
                resend.rule(format!("headers.{name}"), RESEND);
            }
        }
        None => {}
    }
    let Value::Object(mut merged) = current.tool.definition.to_json() else {
        return Err(ApiError::internal("a stored definition is not an object"));
    };
    if let Some(Value::Object(headers)) = merged.get_mut("headers") {
        for (name, value) in plain {
            headers.insert(name, Value::String(value.expose().to_owned()));
        }
    }
    merge_top_level(&mut merged, patch);
    Ok((Value::Object(merged), resend))
}

#[utoipa::path(
    delete, path = "/v1/tools/{id}", tag = "tools", summary = "Delete a tool", operation_id = "deleteTool",
    security(("apiKey" = [])),
    params(("id" = Uuid, Path), ("force" = Option<bool>, Query, description = "Detach it from the personas that use it")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
        (status = 503, response = Unavailable),
        (status = 409, description = "In use: the problem lists `personas`", body = ProblemDocument, content_type = "application/problem+json")
    )
)]
pub async fn delete(
    State(state): State<CoreState>,
    caller: Caller,
    Path(id): Path<String>,
    query: QueryMap,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id, "tool")?;
    let force = query.flag("force")?;
    let mut tx = state.pool.begin().await?;
    tools::lock(&mut tx, caller.org_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("tool"))?;
    let users = tools::users(&mut *tx, id).await?;
    if !users.is_empty() && !force {
        let personas: Vec<Value> = users
            .iter()
            .map(|(id, name)| json!({"id": id, "name": name}))
            .collect();
        return Err(ApiError::conflict(format!(
            "the tool is used by {} persona(s); detach it first or delete with ?force=true",
            users.len()
        ))
        .with("personas", Value::Array(personas)));
    }
    tools::detach_everywhere(&mut *tx, id).await?;
    tools::delete(&mut *tx, caller.org_id, id).await?;
    tx.commit().await?;
    tracing::info!(tool_id = %id, detached = users.len(), "tool deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// Looks up tools named by id in a body; each one missing (or another organization's) is a
/// 422 naming `field[i]`.
pub(crate) async fn existing(
    db: &mut sqlx::PgConnection,
    org_id: Uuid,
    ids: &[Uuid],
    field: &str,
) -> Result<Vec<StoredTool>, ApiError> {
    let found = tools::get_all(&mut *db, org_id, ids, field)
        .await?
        .map_err(ApiError::invalid)?;
    let mut names = std::collections::HashSet::new();
    for tool in &found {
        if !names.insert(tool.tool.definition.name()) {
            return Err(ApiError::conflict(format!(
                "two tools named {:?} cannot be on one persona",
                tool.tool.definition.name()
            )));
        }
    }
    Ok(found)
}
