//! Organizations: the unit of isolation.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::error::StoreResult;
use crate::repo::signing_secrets;
use crate::secrets::SecretBox;

#[derive(Debug, Clone)]
pub struct Organization {
    pub id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// Creates an organization with its first signing secret.
pub async fn create(
    conn: &mut PgConnection,
    secrets: &SecretBox,
    name: &str,
) -> StoreResult<Organization> {
    let org = sqlx::query_as!(
        Organization,
        "INSERT INTO organizations (id, name) VALUES ($1, $2) RETURNING id, name, created_at",
        Uuid::now_v7(),
        name,
    )
    .fetch_one(&mut *conn)
    .await?;
    signing_secrets::create(&mut *conn, secrets, org.id).await?;
    Ok(org)
}

/// Finds an organization by its id (when `key` is a UUID) or by its name.
pub async fn find(conn: &mut PgConnection, key: &str) -> StoreResult<Option<Organization>> {
    let id = Uuid::parse_str(key).ok();
    Ok(sqlx::query_as!(
        Organization,
        "SELECT id, name, created_at FROM organizations WHERE id = $1 OR name = $2",
        id,
        key,
    )
    .fetch_optional(conn)
    .await?)
}
