//! Tools: webhook, client and system tools of an organization. Header values are sealed at rest;
//! an update may send a header back as its masked preview to keep the stored value, unless the
//! URL moves to another origin.

use crate::service::RegistryError;
use hookline_core::http::{CoreState, ListPage, ListParams};
use hookline_core::ids::ToolId;
use hookline_core::refusals::NameTaken;
use hookline_core::repo::knowledge::folders;
use hookline_core::repo::tools::{self, StoredTool, NAME_CONSTRAINT};
use hookline_core::sealed_tool::SealedTool;
use hookline_core::secrets::SecretBox;
use hookline_schema::name::repeated_name;
use hookline_schema::{mask_header_value, ToolDefinition, Violations};
use serde_json::{Map, Value};
use sqlx::PgConnection;
use uuid::Uuid;

use super::merge::{merge_top_level, origin_moved, unknown_cleared, TOOL_FIELDS};
use crate::views::ToolView;

fn store_error(e: hookline_core::StoreError, name: &str) -> RegistryError {
    super::name_taken(e, NAME_CONSTRAINT, "a tool", "tool", name)
}

/// Stores a new tool, its header values sealed.
pub async fn create(
    state: &CoreState,
    org_id: Uuid,
    definition: ToolDefinition,
) -> Result<ToolView, RegistryError> {
    let name = definition.name().to_owned();
    let mut tx = state.pool.begin().await?;
    check_folders(&mut tx, org_id, &definition).await?;
    super::connections::check_tool(&mut tx, org_id, &definition, "").await?;
    let sealed = SealedTool::seal(definition, org_id, &state.settings.secrets);
    let stored = tools::insert(&mut *tx, org_id, &sealed)
        .await
        .map_err(|e| store_error(e, &name))?;
    tx.commit().await?;
    tracing::info!(tool_id = %stored.id, tool = %name, "tool created");
    Ok(ToolView::from(&stored))
}

/// One page of the organization's tools, oldest first.
pub async fn list(
    state: &CoreState,
    org_id: Uuid,
    params: &ListParams,
) -> Result<ListPage<ToolView>, RegistryError> {
    let mut conn = state.pool.acquire().await?;
    let (found, total) =
        tools::list(&mut conn, org_id, params.search.as_deref(), params.page).await?;
    let data = found.iter().map(ToolView::from).collect();
    Ok(ListPage::new(data, total, params.page))
}

pub async fn get(state: &CoreState, org_id: Uuid, id: ToolId) -> Result<ToolView, RegistryError> {
    let tool = tools::get(&state.pool, org_id, id.0)
        .await?
        .ok_or_else(|| RegistryError::NotFound("tool"))?;
    Ok(ToolView::from(&tool))
}

const MADE_PLAIN: &str = "is a secret: send its value again to make it plain (listed in \
                          plainHeaders), since a plain value is shown in full";
const RESEND: &str = "the URL now points at another origin (scheme, host or port): \
    send this header's value again in full, or remove it";

/// Applies a partial update (JSON Merge Patch meaning at the top level): the merged whole must
/// be a valid definition. PUT and PATCH both mean this.
pub async fn update(
    state: &CoreState,
    org_id: Uuid,
    id: ToolId,
    patch: Map<String, Value>,
) -> Result<ToolView, RegistryError> {
    let unknown = unknown_cleared(&patch, &TOOL_FIELDS, "a tool");
    if !unknown.is_empty() {
        return Err(RegistryError::Invalid(unknown));
    }
    let secrets = &state.settings.secrets;
    let mut tx = state.pool.begin().await?;
    let current = tools::lock(&mut tx, org_id, id.0)
        .await?
        .ok_or_else(|| RegistryError::NotFound("tool"))?;
    let (merged, resend) = merged_definition(&current, patch, secrets)?;
    let definition = ToolDefinition::parse(&merged, "", &state.settings.destinations)
        .map_err(RegistryError::Invalid)?;
    // Asked for only once the rest is valid: a broken URL is reported as such first.
    if !resend.is_empty() {
        return Err(RegistryError::Invalid(resend));
    }
    super::connections::check_tool(&mut tx, org_id, &definition, "").await?;
    check_folders(&mut tx, org_id, &definition).await?;
    let name = definition.name().to_owned();
    let sealed = SealedTool::seal(definition, org_id, secrets);
    let stored = tools::update(&mut *tx, org_id, id.0, &sealed)
        .await
        .map_err(|e| store_error(e, &name))?;
    let users = tools::users(&mut *tx, id.0).await?;
    tx.commit().await?;
    super::announce_tools_changed(state, users.into_iter().map(|(persona, _)| persona)).await;
    tracing::info!(tool_id = %id, version = stored.version, "tool updated");
    Ok(ToolView::from(&stored))
}

/// A knowledge tool's folders must be the organization's (a 422 naming `documentFolderIds[i]`);
/// they stay share-locked until the caller's transaction ends, so none is deleted meanwhile.
async fn check_folders(
    conn: &mut PgConnection,
    org_id: Uuid,
    definition: &ToolDefinition,
) -> Result<(), RegistryError> {
    let ToolDefinition::Server(tool) = definition else {
        return Ok(());
    };
    if !tool.is_knowledge() {
        return Ok(());
    }
    let problems = folders::check_owned(
        &mut *conn,
        org_id,
        &tool.document_folder_ids,
        "documentFolderIds",
    )
    .await?;
    problems.into_result(()).map_err(RegistryError::Invalid)
}

/// True when the patch sends a URL whose origin differs from the stored webhook's.
fn origin_changed(current: &ToolDefinition, patch: &Map<String, Value>) -> bool {
    let (ToolDefinition::Server(webhook), Some(Value::String(new))) = (current, patch.get("url"))
    else {
        return false;
    };
    // A URL that does not parse fails the definition's own checks first.
    origin_moved(&webhook.url, new)
}

/// The stored definition with the patch applied, header values in plain text again: a header
/// sent back with its masked preview keeps its stored value, unless the URL moves to another
/// origin; then the headers whose values must be sent again are returned beside it.
fn merged_definition(
    current: &StoredTool,
    mut patch: Map<String, Value>,
    secrets: &SecretBox,
) -> Result<(Value, Violations), RegistryError> {
    let plain = current
        .tool
        .open_headers(current.org_id, secrets)
        .map_err(RegistryError::internal)?;
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
    // The headers whose stored values are kept (sent back as their previews, or not sent).
    let mut kept: Vec<String> = Vec::new();
    match patch.get_mut("headers") {
        Some(Value::Object(sent)) => {
            for (name, value) in sent.iter_mut() {
                if let (Some(text), Some((preview, real))) = (value.as_str(), preview_of(name)) {
                    if text == preview {
                        if moved {
                            resend.rule(format!("headers.{name}"), RESEND);
                        }
                        kept.push(name.clone());
                        *value = Value::String(real);
                    }
                }
            }
        }
        Some(_) => {}
        None => {
            for (name, _) in &plain {
                if moved {
                    resend.rule(format!("headers.{name}"), RESEND);
                }
                kept.push(name.clone());
            }
        }
    }
    // A secret made plain would be shown in full: only with its value sent again, so an API key
    // alone cannot read back a stored secret this way.
    let was_plain = |name: &str| match &current.tool.definition {
        ToolDefinition::Server(w) => w.plain_headers.iter().any(|p| p.eq_ignore_ascii_case(name)),
        _ => false,
    };
    if let Some(Value::Array(made_plain)) = patch.get("plainHeaders") {
        for name in made_plain.iter().filter_map(Value::as_str) {
            if !was_plain(name) && kept.iter().any(|k| k.eq_ignore_ascii_case(name)) {
                resend.rule(format!("headers.{name}"), MADE_PLAIN);
            }
        }
    }
    let Value::Object(mut merged) = current.tool.definition.to_json() else {
        return Err(RegistryError::internal(
            "a stored definition is not an object",
        ));
    };
    if let Some(Value::Object(headers)) = merged.get_mut("headers") {
        for (name, value) in plain {
            headers.insert(name, Value::String(value.expose().to_owned()));
        }
    }
    let headers_replaced = patch.contains_key("headers") && !patch.contains_key("plainHeaders");
    merge_top_level(&mut merged, patch);
    if headers_replaced {
        keep_plain_headers_that_remain(&mut merged);
    }
    Ok((Value::Object(merged), resend))
}

/// New headers sent without `plainHeaders`: the stored names that are still headers stay plain,
/// the others are dropped (a client that never sends `plainHeaders` can still replace headers).
fn keep_plain_headers_that_remain(merged: &mut Map<String, Value>) {
    let names: Vec<String> = merged
        .get("headers")
        .and_then(Value::as_object)
        .map(|h| h.keys().map(|k| k.to_ascii_lowercase()).collect())
        .unwrap_or_default();
    if let Some(Value::Array(plain)) = merged.get_mut("plainHeaders") {
        plain.retain(|p| {
            p.as_str()
                .is_some_and(|p| names.contains(&p.to_ascii_lowercase()))
        });
    }
}

/// Deletes a tool. One that personas use is a 409 listing them, unless `force` detaches it.
pub async fn delete(
    state: &CoreState,
    org_id: Uuid,
    id: ToolId,
    force: bool,
) -> Result<(), RegistryError> {
    let mut tx = state.pool.begin().await?;
    tools::lock(&mut tx, org_id, id.0)
        .await?
        .ok_or_else(|| RegistryError::NotFound("tool"))?;
    let users = tools::users(&mut *tx, id.0).await?;
    if !users.is_empty() && !force {
        return Err(super::in_use("the tool", users, "detach it first"));
    }
    tools::detach_everywhere(&mut *tx, id.0).await?;
    tools::delete(&mut *tx, org_id, id.0).await?;
    tx.commit().await?;
    super::announce_tools_changed(state, users.iter().map(|(persona, _)| *persona)).await;
    tracing::info!(tool_id = %id, detached = users.len(), "tool deleted");
    Ok(())
}

/// Looks up tools named by id in a body; each one missing (or another organization's) is a
/// 422 naming `field[i]`, and two with one name are a 409.
pub(crate) async fn existing(
    db: &mut PgConnection,
    org_id: Uuid,
    ids: &[Uuid],
    field: &str,
) -> Result<Vec<StoredTool>, RegistryError> {
    let found = tools::get_all(&mut *db, org_id, ids, field)
        .await?
        .map_err(RegistryError::Invalid)?;
    if let Some(name) = repeated_name(found.iter().map(|t| t.tool.definition.name())) {
        return Err(NameTaken {
            detail: format!("two tools named {name:?} cannot be on one persona"),
            field: None,
        }
        .into());
    }
    Ok(found)
}
