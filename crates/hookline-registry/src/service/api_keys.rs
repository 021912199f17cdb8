//! An organization's API keys. The key itself exists in plain text only in the answer that
//! creates it; revoking forgets it at once in this instance's cache.

use hookline_core::http::{ApiError, CoreState, ListPage, ListParams};
use hookline_core::ids::ApiKeyId;
use hookline_core::repo::api_keys;
use hookline_schema::fields::Fields;
use hookline_schema::Violations;
use serde_json::Value;
use uuid::Uuid;

use crate::views::{ApiKeyView, NewApiKeyView};

/// One page of the organization's active keys, oldest first.
pub async fn list(
    state: &CoreState,
    org_id: Uuid,
    params: &ListParams,
) -> Result<ListPage<ApiKeyView>, ApiError> {
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

const MAX_NAME_CHARS: usize = 100;

/// Reads a new key's body: `{"name"?}`, 1–100 characters, not blank (default `default`).
pub fn parse_name(body: &Value) -> Result<String, ApiError> {
    let mut v = Violations::new();
    let name = match body.as_object() {
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
    v.into_result(name).map_err(ApiError::invalid)
}

/// Makes a key labelled `name` (already checked).
pub async fn create(
    state: &CoreState,
    org_id: Uuid,
    name: &str,
) -> Result<NewApiKeyView, ApiError> {
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
pub async fn revoke(state: &CoreState, org_id: Uuid, id: ApiKeyId) -> Result<(), ApiError> {
    let Some(key_hash) = api_keys::revoke(&state.pool, org_id, id.0).await? else {
        return Err(ApiError::not_found("API key"));
    };
    state.auth.forget(&key_hash);
    tracing::info!(key_id = %id, "API key revoked");
    Ok(())
}
