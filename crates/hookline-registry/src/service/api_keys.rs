//! An organization's API keys. The key itself exists in plain text only in the answer that
//! creates it; revoking forgets it at once in this instance's cache.

use crate::service::RegistryError;
use hookline_core::http::{CoreState, ListPage, ListParams};
use hookline_core::ids::ApiKeyId;
use hookline_core::repo::api_keys;
use uuid::Uuid;

use crate::views::{ApiKeyView, NewApiKeyView};

/// One page of the organization's active keys, oldest first.
pub async fn list(
    state: &CoreState,
    org_id: Uuid,
    params: &ListParams,
) -> Result<ListPage<ApiKeyView>, RegistryError> {
    let mut keys = api_keys::list(&state.pool, org_id).await?;
    // An organization has a handful of keys: filtering them here is simpler than in SQL.
    if let Some(search) = params.search.as_deref().map(str::to_lowercase) {
        keys.retain(|k| k.name.to_lowercase().contains(search.as_str()));
    }
    let total = keys.len() as i64;
    let data = keys
        .iter()
        .skip(params.page.offset() as usize)
        .take(params.page.per_page as usize)
        .map(ApiKeyView::from)
        .collect();
    Ok(ListPage::new(data, total, params.page))
}

/// Makes a key labelled `name` (already checked).
pub async fn create(
    state: &CoreState,
    org_id: Uuid,
    name: &str,
) -> Result<NewApiKeyView, RegistryError> {
    let created = api_keys::create(&state.pool, org_id, name).await?;
    tracing::info!(key_id = %created.record.id, "API key created");
    Ok(NewApiKeyView {
        id: created.record.id,
        name: created.record.name,
        key: created.key.expose().to_owned(),
        key_prefix: created.record.key_prefix,
        created_at: created.record.created_at,
    })
}

/// Revokes a key: it stops working at once here, and within the cache's lifetime elsewhere.
pub async fn revoke(state: &CoreState, org_id: Uuid, id: ApiKeyId) -> Result<(), RegistryError> {
    let Some(key_hash) = api_keys::revoke(&state.pool, org_id, id.0).await? else {
        return Err(RegistryError::NotFound("API key"));
    };
    state.auth.forget(&key_hash);
    tracing::info!(key_id = %id, "API key revoked");
    Ok(())
}
