//! `/v1/personas`: personas and the tools they may call.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use hookline_core::http::problem::responses::{
    BadRequest, Conflict, Invalid, NotFound, TooLarge, Unauthorized, Unavailable,
};
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::requests::{PersonaInput, PersonaPatch};
use crate::views::PersonaView;
use hookline_core::http::{
    parse_id, ApiError, Caller, CoreState, JsonBody, ListPage, ListQuery, Pagination, QueryMap,
};
use hookline_core::repo::personas::{self, Persona};
use hookline_core::repo::tools;
use hookline_schema::persona::PERSONA_FIELDS;
use hookline_schema::PersonaFields;

use crate::merge::{merge_top_level, unknown_cleared};

async fn render(db: &mut PgConnection, p: &Persona) -> Result<Json<PersonaView>, ApiError> {
    let tools = personas::tools_of(db, &[p.id]).await?;
    Ok(Json(PersonaView::new(p, &tools)))
}

fn parse(body: &Value) -> Result<PersonaFields, ApiError> {
    PersonaFields::parse(body, "").map_err(ApiError::invalid)
}

#[utoipa::path(
    post, path = "/v1/personas", tag = "personas", summary = "Create a persona", operation_id = "createPersona",
    security(("apiKey" = [])),
    request_body = PersonaInput,
    responses(
        (status = 201, body = PersonaView),
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
) -> Result<(StatusCode, Json<PersonaView>), ApiError> {
    let fields = parse(&body.0)?;
    let mut tx = state.pool.begin().await?;
    crate::tools::existing(&mut tx, caller.org_id, &fields.tool_ids, "toolIds").await?;
    crate::llms::check_llm_id(&mut tx, caller.org_id, fields.llm_id.as_deref(), "llmId").await?;
    let persona = personas::insert(&mut tx, caller.org_id, &fields).await?;
    let shown = render(&mut tx, &persona).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, shown))
}

#[utoipa::path(
    get, path = "/v1/personas", tag = "personas", summary = "List personas", operation_id = "listPersonas",
    security(("apiKey" = [])),
    params(ListQuery),
    responses(
        (status = 200, body = ListPage<PersonaView>),
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
) -> Result<Json<ListPage<PersonaView>>, ApiError> {
    let page = Pagination::from_query(&query)?;
    let search = query.get("search").filter(|s| !s.is_empty());
    let mut conn = state.pool.acquire().await?;
    let (found, total) = personas::list(&mut conn, caller.org_id, search, page).await?;
    let ids: Vec<Uuid> = found.iter().map(|p| p.id).collect();
    let tools = personas::tools_of(&mut *conn, &ids).await?;
    let data = found.iter().map(|p| PersonaView::new(p, &tools)).collect();
    Ok(Json(ListPage::new(data, total, page)))
}

#[utoipa::path(
    get, path = "/v1/personas/{id}", tag = "personas", summary = "Read a persona", operation_id = "getPersona",
    security(("apiKey" = [])),
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = PersonaView),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 503, response = Unavailable)
    )
)]
pub async fn read(
    State(state): State<CoreState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<PersonaView>, ApiError> {
    let id = parse_id(&id, "persona")?;
    let mut conn = state.pool.acquire().await?;
    let persona = personas::get(&mut *conn, caller.org_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("persona"))?;
    render(&mut conn, &persona).await
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
) -> Result<Json<PersonaView>, ApiError> {
    let id = parse_id(&id, "persona")?;
    let patch = body.object()?;
    let unknown = unknown_cleared(&patch, &PERSONA_FIELDS, "a persona");
    if !unknown.is_empty() {
        return Err(ApiError::invalid(unknown));
    }
    let mut tx = state.pool.begin().await?;
    let current = personas::lock(&mut tx, caller.org_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("persona"))?;
    let tools = personas::tools_of(&mut *tx, &[id]).await?;
    let view =
        serde_json::to_value(PersonaView::new(&current, &tools)).map_err(ApiError::internal)?;
    let Value::Object(mut merged) = view else {
        return Err(ApiError::internal("a persona view is not an object"));
    };
    // Only the writable fields take part; the rest of the view is output.
    merged.retain(|k, v| {
        !v.is_null() && !matches!(k.as_str(), "id" | "tools" | "createdAt" | "updatedAt")
    });
    merge_top_level(&mut merged, patch);
    let fields = parse(&Value::Object(merged))?;
    crate::tools::existing(&mut tx, caller.org_id, &fields.tool_ids, "toolIds").await?;
    crate::llms::check_llm_id(&mut tx, caller.org_id, fields.llm_id.as_deref(), "llmId").await?;
    let persona = personas::update(&mut tx, caller.org_id, id, &fields).await?;
    let shown = render(&mut tx, &persona).await?;
    tx.commit().await?;
    Ok(shown)
}

#[utoipa::path(
    delete, path = "/v1/personas/{id}", tag = "personas", summary = "Delete a persona", operation_id = "deletePersona",
    security(("apiKey" = [])),
    params(("id" = Uuid, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 503, response = Unavailable)
    )
)]
pub async fn delete(
    State(state): State<CoreState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id, "persona")?;
    if personas::delete(&state.pool, caller.org_id, id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("persona"))
    }
}

/// Both path ids, checked against the caller's organization (another's is a 404).
async fn persona_and_tool(
    tx: &mut PgConnection,
    org_id: Uuid,
    ids: (String, String),
) -> Result<(Persona, Uuid), ApiError> {
    let persona_id = parse_id(&ids.0, "persona")?;
    let tool_id = parse_id(&ids.1, "tool")?;
    let persona = personas::lock(tx, org_id, persona_id)
        .await?
        .ok_or_else(|| ApiError::not_found("persona"))?;
    tools::get(&mut *tx, org_id, tool_id)
        .await?
        .ok_or_else(|| ApiError::not_found("tool"))?;
    Ok((persona, tool_id))
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
    Path(ids): Path<(String, String)>,
) -> Result<Json<PersonaView>, ApiError> {
    let mut tx = state.pool.begin().await?;
    let (persona, tool_id) = persona_and_tool(&mut tx, caller.org_id, ids).await?;
    personas::attach(&mut tx, persona.id, tool_id).await?;
    let shown = render(&mut tx, &persona).await?;
    tx.commit().await?;
    Ok(shown)
}

#[utoipa::path(
    delete, path = "/v1/personas/{id}/tools/{toolId}", tag = "personas", summary = "Detach a tool", operation_id = "detachPersonaTool",
    security(("apiKey" = [])),
    params(("id" = Uuid, Path), ("toolId" = Uuid, Path)),
    responses(
        (status = 200, body = PersonaView),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 503, response = Unavailable)
    )
)]
pub async fn detach(
    State(state): State<CoreState>,
    caller: Caller,
    Path(ids): Path<(String, String)>,
) -> Result<Json<PersonaView>, ApiError> {
    let mut tx = state.pool.begin().await?;
    let (persona, tool_id) = persona_and_tool(&mut tx, caller.org_id, ids).await?;
    if !personas::detach(&mut *tx, persona.id, tool_id).await? {
        return Err(ApiError::not_found("tool on this persona"));
    }
    let shown = render(&mut tx, &persona).await?;
    tx.commit().await?;
    Ok(shown)
}
