//! Organization API keys: `hk_` and 32 random bytes, stored only as a SHA-256 hash (the entropy
//! makes a slow hash unnecessary).

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::credential;
use crate::error::StoreResult;
use crate::secrets::SecretString;

pub const KEY_PREFIX: &str = "hk_";

#[derive(Debug, Clone)]
pub struct ApiKey {
    pub id: Uuid,
    pub org_id: Uuid,
    pub name: String,
    pub key_prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// A key just made: the only moment the key itself exists outside its owner's hands.
#[derive(Debug)]
pub struct NewApiKey {
    pub record: ApiKey,
    pub key: SecretString,
}

pub async fn create(db: impl PgExecutor<'_>, org_id: Uuid, name: &str) -> StoreResult<NewApiKey> {
    let key = credential::generate(KEY_PREFIX);
    let record = sqlx::query_as!(
        ApiKey,
        "INSERT INTO api_keys (id, org_id, name, key_hash, key_prefix) VALUES ($1, $2, $3, $4, $5)
         RETURNING id, org_id, name, key_prefix, created_at, last_used_at",
        Uuid::now_v7(),
        org_id,
        name,
        credential::hash(&key),
        &key[..KEY_PREFIX.len() + 6],
    )
    .fetch_one(db)
    .await?;
    Ok(NewApiKey {
        record,
        key: SecretString::new(key),
    })
}

/// The organization's active keys, oldest first.
pub async fn list(db: impl PgExecutor<'_>, org_id: Uuid) -> StoreResult<Vec<ApiKey>> {
    Ok(sqlx::query_as!(
        ApiKey,
        "SELECT id, org_id, name, key_prefix, created_at, last_used_at FROM api_keys
         WHERE org_id = $1 AND revoked_at IS NULL ORDER BY created_at, id",
        org_id,
    )
    .fetch_all(db)
    .await?)
}

/// Revokes a key; its hash (to forget it in caches), or `None` when the organization has no
/// such active key.
pub async fn revoke(
    db: impl PgExecutor<'_>,
    org_id: Uuid,
    id: Uuid,
) -> StoreResult<Option<Vec<u8>>> {
    Ok(sqlx::query_scalar!(
        "UPDATE api_keys SET revoked_at = now() WHERE org_id = $1 AND id = $2 AND revoked_at IS NULL
         RETURNING key_hash",
        org_id,
        id,
    )
    .fetch_optional(db)
    .await?)
}

/// Records that a key was just used (`lastUsedAt`).
pub async fn touch(db: impl PgExecutor<'_>, id: Uuid) -> StoreResult<()> {
    sqlx::query!("UPDATE api_keys SET last_used_at = now() WHERE id = $1", id)
        .execute(db)
        .await?;
    Ok(())
}

/// The active key with this hash: `(key id, organization id)`.
pub async fn find_active(
    db: impl PgExecutor<'_>,
    key_hash: &[u8],
) -> StoreResult<Option<(Uuid, Uuid)>> {
    let found = sqlx::query!(
        "SELECT id, org_id FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL",
        key_hash,
    )
    .fetch_optional(db)
    .await?;
    Ok(found.map(|key| (key.id, key.org_id)))
}
