//! Connections and the access tokens they hold. The client secret and the token are kept
//! sealed; `open_secret` and `CachedToken::open` are the only ways back to them.
//!
//! The token row doubles as the refresh lease every instance shares: whoever takes the lease
//! (`take_lease`) asks the token endpoint, the others read the row until the new token is there.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use hookline_schema::connection::OAUTH2_CLIENT_CREDENTIALS;
use hookline_schema::{ConnectionFields, Violations};

use crate::error::StoreResult;
use crate::repo::tools::like_pattern;
use crate::repo::Page;
use crate::secrets::{SecretBox, SecretError, SecretString};

/// The unique constraint that keeps connection names unique within an organization.
pub const NAME_CONSTRAINT: &str = "connections_org_name_key";

#[derive(Debug, Clone)]
pub struct StoredConnection {
    pub id: Uuid,
    pub org_id: Uuid,
    pub name: String,
    pub connection_type: String,
    pub token_url: String,
    pub client_id: String,
    pub sealed_client_secret: String,
    pub scope: Option<String>,
    pub audience: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// How many tools name this connection.
    pub usage_count: i64,
}

impl StoredConnection {
    /// The client secret in plain text, for the token request only.
    pub fn open_secret(&self, secrets: &SecretBox) -> Result<SecretString, SecretError> {
        secrets.open(
            &self.sealed_client_secret,
            &secret_context(self.org_id, self.id),
        )
    }
}

/// The associated data of a connection's client secret: it only opens for its own connection.
pub fn secret_context(org_id: Uuid, connection_id: Uuid) -> String {
    format!("org:{org_id}:connection:{connection_id}:client-secret")
}

/// The associated data of a connection's cached access token.
pub fn token_context(org_id: Uuid, connection_id: Uuid) -> String {
    format!("org:{org_id}:connection:{connection_id}:access-token")
}

/// Inserts a connection under `id` (chosen by the caller, who sealed the secret for it).
pub async fn insert(
    db: impl PgExecutor<'_>,
    org_id: Uuid,
    id: Uuid,
    c: &ConnectionFields,
    sealed_client_secret: &str,
) -> StoreResult<StoredConnection> {
    Ok(sqlx::query_as!(
        StoredConnection,
        r#"INSERT INTO connections AS c (id, org_id, name, connection_type, token_url, client_id,
               sealed_client_secret, scope, audience)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           RETURNING id, org_id, name, connection_type, token_url, client_id,
               sealed_client_secret, scope, audience, created_at, updated_at,
               (SELECT count(*) FROM tools t WHERE t.org_id = c.org_id
                   AND t.definition->>'connectionId' = c.id::text) AS "usage_count!""#,
        id,
        org_id,
        c.name,
        OAUTH2_CLIENT_CREDENTIALS,
        c.token_url,
        c.client_id,
        sealed_client_secret,
        c.scope,
        c.audience,
    )
    .fetch_one(db)
    .await?)
}

/// Rewrites a connection; its cached token is forgotten in the same statement (it was had with
/// the old credentials).
pub async fn update(
    db: impl PgExecutor<'_>,
    org_id: Uuid,
    id: Uuid,
    c: &ConnectionFields,
    sealed_client_secret: &str,
) -> StoreResult<StoredConnection> {
    Ok(sqlx::query_as!(
        StoredConnection,
        r#"WITH forgotten AS (DELETE FROM connection_tokens WHERE connection_id = $2)
           UPDATE connections c SET name = $3, token_url = $4, client_id = $5,
               sealed_client_secret = $6, scope = $7, audience = $8, updated_at = now()
           WHERE org_id = $1 AND id = $2
           RETURNING id, org_id, name, connection_type, token_url, client_id,
               sealed_client_secret, scope, audience, created_at, updated_at,
               (SELECT count(*) FROM tools t WHERE t.org_id = c.org_id
                   AND t.definition->>'connectionId' = c.id::text) AS "usage_count!""#,
        org_id,
        id,
        c.name,
        c.token_url,
        c.client_id,
        sealed_client_secret,
        c.scope,
        c.audience,
    )
    .fetch_one(db)
    .await?)
}

pub async fn get(
    db: impl PgExecutor<'_>,
    org_id: Uuid,
    id: Uuid,
) -> StoreResult<Option<StoredConnection>> {
    Ok(sqlx::query_as!(
        StoredConnection,
        r#"SELECT id, org_id, name, connection_type, token_url, client_id,
               sealed_client_secret, scope, audience, created_at, updated_at,
               (SELECT count(*) FROM tools t WHERE t.org_id = c.org_id
                   AND t.definition->>'connectionId' = c.id::text) AS "usage_count!"
           FROM connections c WHERE org_id = $1 AND id = $2"#,
        org_id,
        id,
    )
    .fetch_optional(db)
    .await?)
}

/// Locks the connection's row for the rest of the transaction.
pub async fn lock(
    conn: &mut PgConnection,
    org_id: Uuid,
    id: Uuid,
) -> StoreResult<Option<StoredConnection>> {
    Ok(sqlx::query_as!(
        StoredConnection,
        r#"SELECT id, org_id, name, connection_type, token_url, client_id,
               sealed_client_secret, scope, audience, created_at, updated_at,
               (SELECT count(*) FROM tools t WHERE t.org_id = c.org_id
                   AND t.definition->>'connectionId' = c.id::text) AS "usage_count!"
           FROM connections c WHERE org_id = $1 AND id = $2 FOR UPDATE OF c"#,
        org_id,
        id,
    )
    .fetch_optional(conn)
    .await?)
}

pub async fn delete(db: impl PgExecutor<'_>, org_id: Uuid, id: Uuid) -> StoreResult<bool> {
    let done = sqlx::query!(
        "DELETE FROM connections WHERE org_id = $1 AND id = $2",
        org_id,
        id
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// One page of the organization's connections, oldest first, optionally filtered by a search in
/// name and token URL; with the total count.
pub async fn list(
    db: &mut PgConnection,
    org_id: Uuid,
    search: Option<&str>,
    page: Page,
) -> StoreResult<(Vec<StoredConnection>, i64)> {
    let pattern = search.map(like_pattern);
    let total = sqlx::query_scalar!(
        r#"SELECT count(*) AS "total!" FROM connections WHERE org_id = $1
             AND ($2::text IS NULL OR name ILIKE $2 OR token_url ILIKE $2)"#,
        org_id,
        pattern.as_deref(),
    )
    .fetch_one(&mut *db)
    .await?;
    let rows = sqlx::query_as!(
        StoredConnection,
        r#"SELECT id, org_id, name, connection_type, token_url, client_id,
               sealed_client_secret, scope, audience, created_at, updated_at,
               (SELECT count(*) FROM tools t WHERE t.org_id = c.org_id
                   AND t.definition->>'connectionId' = c.id::text) AS "usage_count!"
           FROM connections c WHERE org_id = $1
             AND ($2::text IS NULL OR name ILIKE $2 OR token_url ILIKE $2)
           ORDER BY created_at, id LIMIT $3 OFFSET $4"#,
        org_id,
        pattern.as_deref(),
        page.per_page,
        page.offset(),
    )
    .fetch_all(&mut *db)
    .await?;
    Ok((rows, total))
}

/// The tools (id, name) whose `connectionId` is this connection.
pub async fn tools_using(
    db: impl PgExecutor<'_>,
    org_id: Uuid,
    connection_id: Uuid,
) -> StoreResult<Vec<(Uuid, String)>> {
    let rows = sqlx::query!(
        "SELECT id, name FROM tools
         WHERE org_id = $1 AND definition->>'connectionId' = $2::uuid::text
         ORDER BY created_at, id",
        org_id,
        connection_id,
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|t| (t.id, t.name)).collect())
}

/// Checks that `connection_id` names a connection of the organization; otherwise a violation
/// named `field` (a missing id and another organization's get the same answer). The row is
/// share-locked so a concurrent delete cannot slip between check and write.
pub async fn check_id(
    db: impl PgExecutor<'_>,
    org_id: Uuid,
    connection_id: Uuid,
    field: &str,
) -> StoreResult<Result<(), Violations>> {
    let found = sqlx::query_scalar!(
        "SELECT id FROM connections WHERE org_id = $1 AND id = $2 FOR SHARE",
        org_id,
        connection_id,
    )
    .fetch_optional(db)
    .await?;
    Ok(match found {
        Some(_) => Ok(()),
        None => Err(Violations::single(
            field,
            "is not a connection of your organization",
        )),
    })
}

/// The shared token of a connection, as its row holds it.
#[derive(Debug, Clone)]
pub struct CachedToken {
    pub sealed_token: Option<String>,
    /// When a new token must be fetched (shortly before the old one expires).
    pub refresh_at: Option<DateTime<Utc>>,
}

impl CachedToken {
    /// The token, when there is one still good at `now`.
    pub fn usable(&self, now: DateTime<Utc>) -> Option<(&str, DateTime<Utc>)> {
        match (&self.sealed_token, self.refresh_at) {
            (Some(sealed), Some(at)) if at > now => Some((sealed, at)),
            _ => None,
        }
    }
}

pub async fn token(
    db: impl PgExecutor<'_>,
    connection_id: Uuid,
) -> StoreResult<Option<CachedToken>> {
    Ok(sqlx::query_as!(
        CachedToken,
        "SELECT sealed_token, refresh_at FROM connection_tokens WHERE connection_id = $1",
        connection_id,
    )
    .fetch_optional(db)
    .await?)
}

/// Takes the refresh lease for `lease_ms` milliseconds, unless another holder's lease is still
/// running, or the row no longer holds the token the caller saw (`seen`, sealed; `None`: none
/// usable) because another holder stored a new one meanwhile. True when this caller holds it and
/// so fetches the token.
pub async fn take_lease(
    db: impl PgExecutor<'_>,
    connection_id: Uuid,
    lease_ms: i64,
    seen: Option<&str>,
) -> StoreResult<bool> {
    let taken = sqlx::query_scalar!(
        r#"INSERT INTO connection_tokens (connection_id, lease_until)
           VALUES ($1, now() + $2::float8 * interval '1 millisecond')
           ON CONFLICT (connection_id) DO UPDATE SET lease_until = EXCLUDED.lease_until
               WHERE (connection_tokens.lease_until IS NULL
                      OR connection_tokens.lease_until < now())
                 AND (connection_tokens.sealed_token IS NOT DISTINCT FROM $3
                      OR connection_tokens.refresh_at IS NULL
                      OR connection_tokens.refresh_at <= now())
           RETURNING connection_id"#,
        connection_id,
        lease_ms as f64,
        seen,
    )
    .fetch_optional(db)
    .await?;
    Ok(taken.is_some())
}

/// Stores a fresh token and gives the lease back.
pub async fn store_token(
    db: impl PgExecutor<'_>,
    connection_id: Uuid,
    sealed_token: &str,
    refresh_at: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query!(
        "UPDATE connection_tokens SET sealed_token = $2, refresh_at = $3, lease_until = NULL,
             fetched_at = now()
         WHERE connection_id = $1",
        connection_id,
        sealed_token,
        refresh_at,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Gives the lease back without a token (the endpoint refused or did not answer), so the next
/// call may try again at once.
pub async fn release_lease(db: impl PgExecutor<'_>, connection_id: Uuid) -> StoreResult<()> {
    sqlx::query!(
        "UPDATE connection_tokens SET lease_until = NULL WHERE connection_id = $1",
        connection_id,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Re-seals every client secret and cached token made with an older key; a value that does not
/// open is reported. Tokens sealed with an older key are dropped instead: they are fetched again.
pub async fn reseal_all(
    conn: &mut PgConnection,
    secrets: &SecretBox,
    done: &mut super::Resealing,
) -> StoreResult<()> {
    let rows = sqlx::query!(
        "SELECT id, org_id, sealed_client_secret FROM connections ORDER BY id FOR UPDATE"
    )
    .fetch_all(&mut *conn)
    .await?;
    for row in rows {
        let (id, org_id) = (row.id, row.org_id);
        let context = secret_context(org_id, id);
        if let Some(fresh) =
            done.reseal(secrets, &row.sealed_client_secret, &context, org_id, || {
                format!("client secret of connection {id}")
            })
        {
            sqlx::query!(
                "UPDATE connections SET sealed_client_secret = $2 WHERE id = $1",
                id,
                fresh
            )
            .execute(&mut *conn)
            .await?;
            done.resealed += 1;
        }
    }
    sqlx::query!(
        "DELETE FROM connection_tokens WHERE sealed_token IS NOT NULL
           AND split_part(sealed_token, '.', 2) <> $1",
        secrets.current_key_id(),
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}
