//! Personas and the ordered list of tools each may call. A persona's tools and LLM must be the
//! organization's own; they are checked in the transaction that writes the persona.

use crate::service::RegistryError;
use hookline_core::http::{CoreState, ListPage, ListParams};
use hookline_core::ids::{PersonaId, ToolId};
use hookline_core::repo::personas::{self, Persona};
use hookline_core::repo::tools;
use hookline_schema::persona::PERSONA_FIELDS;
use hookline_schema::PersonaFields;
use serde_json::{Map, Value};
use sqlx::PgConnection;
use uuid::Uuid;

use super::merge::{merge_top_level, unknown_cleared};
use crate::views::PersonaView;

async fn render(db: &mut PgConnection, p: &Persona) -> Result<PersonaView, RegistryError> {
    let tools = personas::tools_of(db, &[p.id]).await?;
    Ok(PersonaView::new(p, &tools))
}

/// The tools and LLM a persona names must be the organization's (422 naming the field).
async fn check_references(
    db: &mut PgConnection,
    org_id: Uuid,
    fields: &PersonaFields,
) -> Result<(), RegistryError> {
    super::tools::existing(db, org_id, &fields.tool_ids, "toolIds").await?;
    super::llms::check_llm_id(db, org_id, fields.details.llm_id.as_deref(), "llmId").await
}

pub async fn create(
    state: &CoreState,
    org_id: Uuid,
    fields: PersonaFields,
) -> Result<PersonaView, RegistryError> {
    let mut tx = state.pool.begin().await?;
    check_references(&mut tx, org_id, &fields).await?;
    let persona = personas::insert(&mut tx, org_id, &fields).await?;
    let shown = render(&mut tx, &persona).await?;
    tx.commit().await?;
    Ok(shown)
}

/// One page of the organization's personas, oldest first, each with its tools.
pub async fn list(
    state: &CoreState,
    org_id: Uuid,
    params: &ListParams,
) -> Result<ListPage<PersonaView>, RegistryError> {
    let mut conn = state.pool.acquire().await?;
    let (found, total) =
        personas::list(&mut conn, org_id, params.search.as_deref(), params.page).await?;
    let ids: Vec<Uuid> = found.iter().map(|p| p.id).collect();
    let tools = personas::tools_of(&mut *conn, &ids).await?;
    let data = found.iter().map(|p| PersonaView::new(p, &tools)).collect();
    Ok(ListPage::new(data, total, params.page))
}

pub async fn get(
    state: &CoreState,
    org_id: Uuid,
    id: PersonaId,
) -> Result<PersonaView, RegistryError> {
    let mut conn = state.pool.acquire().await?;
    let persona = personas::get(&mut *conn, org_id, id.0)
        .await?
        .ok_or_else(|| RegistryError::NotFound("persona"))?;
    render(&mut conn, &persona).await
}

/// Applies a partial update (JSON Merge Patch meaning at the top level) to the persona's
/// writable fields; the merged whole is checked as a new persona would be.
pub async fn update(
    state: &CoreState,
    org_id: Uuid,
    id: PersonaId,
    patch: Map<String, Value>,
) -> Result<PersonaView, RegistryError> {
    let unknown = unknown_cleared(&patch, &PERSONA_FIELDS, "a persona");
    if !unknown.is_empty() {
        return Err(RegistryError::Invalid(unknown));
    }
    let mut tx = state.pool.begin().await?;
    let current = personas::lock(&mut tx, org_id, id.0)
        .await?
        .ok_or_else(|| RegistryError::NotFound("persona"))?;
    let tools = personas::tools_of(&mut *tx, &[id.0]).await?;
    let view = serde_json::to_value(PersonaView::new(&current, &tools))
        .map_err(RegistryError::internal)?;
    let Value::Object(mut merged) = view else {
        return Err(RegistryError::internal("a persona view is not an object"));
    };
    // Only the writable fields take part; the rest of the view is output.
    merged.retain(|k, v| !v.is_null() && PERSONA_FIELDS.contains(&k.as_str()));
    let tools_moved = patch.contains_key("toolIds");
    merge_top_level(&mut merged, patch);
    let fields =
        PersonaFields::parse(&Value::Object(merged), "").map_err(RegistryError::Invalid)?;
    check_references(&mut tx, org_id, &fields).await?;
    let persona = personas::update(&mut tx, org_id, id.0, &fields).await?;
    let shown = render(&mut tx, &persona).await?;
    tx.commit().await?;
    if tools_moved {
        super::announce_tools_changed(state, [id.0]).await;
    }
    Ok(shown)
}

pub async fn delete(state: &CoreState, org_id: Uuid, id: PersonaId) -> Result<(), RegistryError> {
    if personas::delete(&state.pool, org_id, id.0).await? {
        Ok(())
    } else {
        Err(RegistryError::NotFound("persona"))
    }
}

/// Locks the persona and checks the tool is the organization's (either missing is a 404).
async fn persona_and_tool(
    tx: &mut PgConnection,
    org_id: Uuid,
    persona_id: PersonaId,
    tool_id: ToolId,
) -> Result<Persona, RegistryError> {
    let persona = personas::lock(tx, org_id, persona_id.0)
        .await?
        .ok_or_else(|| RegistryError::NotFound("persona"))?;
    tools::get(&mut *tx, org_id, tool_id.0)
        .await?
        .ok_or_else(|| RegistryError::NotFound("tool"))?;
    Ok(persona)
}

/// Appends a tool to the persona's list (nothing changes if it is there already).
pub async fn attach(
    state: &CoreState,
    org_id: Uuid,
    persona_id: PersonaId,
    tool_id: ToolId,
) -> Result<PersonaView, RegistryError> {
    let mut tx = state.pool.begin().await?;
    let persona = persona_and_tool(&mut tx, org_id, persona_id, tool_id).await?;
    personas::attach(&mut tx, persona.id, tool_id.0).await?;
    let shown = render(&mut tx, &persona).await?;
    tx.commit().await?;
    super::announce_tools_changed(state, [persona.id]).await;
    Ok(shown)
}

/// Removes a tool from the persona's list; a 404 when it was not on it.
pub async fn detach(
    state: &CoreState,
    org_id: Uuid,
    persona_id: PersonaId,
    tool_id: ToolId,
) -> Result<PersonaView, RegistryError> {
    let mut tx = state.pool.begin().await?;
    let persona = persona_and_tool(&mut tx, org_id, persona_id, tool_id).await?;
    if !personas::detach(&mut *tx, persona.id, tool_id.0).await? {
        return Err(RegistryError::NotFound("tool on this persona"));
    }
    let shown = render(&mut tx, &persona).await?;
    tx.commit().await?;
    super::announce_tools_changed(state, [persona.id]).await;
    Ok(shown)
}
