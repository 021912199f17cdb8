//! LLM connections personas talk through. The API key is sealed like a tool's header values,
//! shown only as the same masked preview, and never follows `baseUrl` to another origin unless
//! it is sent again.

use crate::service::RegistryError;
use hookline_core::http::{CoreState, ListPage, ListParams};
use hookline_core::ids::LlmId;
use hookline_core::repo::llms::{self, key_context, StoredLlm, NAME_CONSTRAINT};
use hookline_schema::{mask_header_value, LlmFields};
use serde_json::{Map, Value};
use sqlx::PgConnection;
use uuid::Uuid;

use super::merge::{keeps_secret, origin_moved, patched_body};
use crate::views::LlmView;

/// The view of a stored LLM, its key opened only to compute the preview.
fn render(state: &CoreState, llm: &StoredLlm) -> Result<LlmView, RegistryError> {
    let key = llm
        .open_key(&state.settings.secrets)
        .map_err(RegistryError::internal)?;
    Ok(LlmView::new(
        llm,
        key.map(|k| mask_header_value(k.expose())),
    ))
}

fn store_error(e: hookline_core::StoreError, name: &str) -> RegistryError {
    super::name_taken(e, NAME_CONSTRAINT, "an LLM", "LLM", name)
}

/// Stores a new LLM connection, its API key sealed.
pub async fn create(
    state: &CoreState,
    org_id: Uuid,
    fields: LlmFields,
) -> Result<LlmView, RegistryError> {
    let id = Uuid::now_v7();
    let sealed = fields
        .api_key
        .as_deref()
        .map(|key| state.settings.secrets.seal(key, &key_context(org_id, id)));
    let stored = llms::insert(&state.pool, org_id, id, &fields, sealed.as_deref())
        .await
        .map_err(|e| store_error(e, &fields.name))?;
    tracing::info!(llm_id = %id, provider = %stored.provider, "llm created");
    render(state, &stored)
}

/// One page of the organization's LLM connections, oldest first.
pub async fn list(
    state: &CoreState,
    org_id: Uuid,
    params: &ListParams,
) -> Result<ListPage<LlmView>, RegistryError> {
    let mut conn = state.pool.acquire().await?;
    let (found, total) =
        llms::list(&mut conn, org_id, params.search.as_deref(), params.page).await?;
    let data = found
        .iter()
        .map(|llm| render(state, llm))
        .collect::<Result<_, _>>()?;
    Ok(ListPage::new(data, total, params.page))
}

pub async fn get(state: &CoreState, org_id: Uuid, id: LlmId) -> Result<LlmView, RegistryError> {
    let llm = llms::get(&state.pool, org_id, id.0)
        .await?
        .ok_or_else(|| RegistryError::NotFound("LLM"))?;
    render(state, &llm)
}

const RESEND: &str = "baseUrl now points at another origin (scheme, host or port): send the \
    API key again in full, or null for none";

/// A partial update (JSON Merge Patch meaning, as everywhere). An `apiKey` equal to the current
/// preview (or not sent) keeps the stored key, as long as `baseUrl` stays on the same origin.
pub async fn update(
    state: &CoreState,
    org_id: Uuid,
    id: LlmId,
    patch: Map<String, Value>,
) -> Result<LlmView, RegistryError> {
    let secrets = &state.settings.secrets;
    let mut tx = state.pool.begin().await?;
    let current = llms::lock(&mut tx, org_id, id.0)
        .await?
        .ok_or_else(|| RegistryError::NotFound("LLM"))?;
    let stored_key = current.open_key(secrets).map_err(RegistryError::internal)?;
    let preview = stored_key.as_ref().map(|k| mask_header_value(k.expose()));
    let keeps_key = keeps_secret(&patch, "apiKey", preview.as_deref());
    let kept = stored_key
        .as_ref()
        .filter(|_| keeps_key)
        .map(|k| k.expose());
    let merged = patched_body(&LlmView::new(&current, None), "apiKey", patch, kept)?;
    let fields =
        LlmFields::parse(&merged, &state.settings.destinations).map_err(RegistryError::Invalid)?;
    if fields.kind != current.kind() {
        return Err(RegistryError::field(
            "kind",
            format!(
                "cannot change once the LLM exists (it is {:?}); create another LLM entry",
                current.kind
            ),
        ));
    }
    // Asked for only once the rest is valid: a broken URL is reported as such first.
    if keeps_key && origin_moved(&current.base_url, &fields.base_url) {
        return Err(RegistryError::field("apiKey", RESEND));
    }
    let sealed = fields
        .api_key
        .as_deref()
        .map(|key| secrets.seal(key, &key_context(org_id, id.0)));
    let stored = llms::update(&mut *tx, org_id, id.0, &fields, sealed.as_deref())
        .await
        .map_err(|e| store_error(e, &fields.name))?;
    tx.commit().await?;
    tracing::info!(llm_id = %id, "llm updated");
    render(state, &stored)
}

/// Deletes an LLM connection. One that personas use is a 409 listing them, unless `force`
/// clears their `llmId`.
pub async fn delete(
    state: &CoreState,
    org_id: Uuid,
    id: LlmId,
    force: bool,
) -> Result<(), RegistryError> {
    let mut tx = state.pool.begin().await?;
    llms::lock(&mut tx, org_id, id.0)
        .await?
        .ok_or_else(|| RegistryError::NotFound("LLM"))?;
    let users = llms::users(&mut *tx, org_id, id.0).await?;
    if !users.is_empty() && !force {
        return Err(super::in_use("the LLM", users, "change their llmId first"));
    }
    llms::detach_everywhere(&mut *tx, org_id, id.0).await?;
    llms::delete(&mut *tx, org_id, id.0).await?;
    tx.commit().await?;
    tracing::info!(llm_id = %id, detached = users.len(), "llm deleted");
    Ok(())
}

/// Checks a persona body's `llmId` (when set) names a chat LLM of the organization; 422 naming
/// `field` otherwise (an embedding entry is refused by name).
pub(crate) async fn check_llm_id(
    db: &mut PgConnection,
    org_id: Uuid,
    llm_id: Option<&str>,
    field: &str,
) -> Result<(), RegistryError> {
    if let Some(llm_id) = llm_id {
        llms::check_id(db, org_id, llm_id, field)
            .await?
            .map_err(RegistryError::Invalid)?;
    }
    Ok(())
}
