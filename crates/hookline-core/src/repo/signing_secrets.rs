//! Standard Webhooks signing secrets (`whsec_` + base64). After a rotation the old secret keeps
//! signing for 24 hours beside the new one, so receivers can switch without dropping requests.

use base64::Engine as _;
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use crate::error::StoreResult;
use crate::secrets::{signing_secret_context, SecretBox, SecretString};

pub const SECRET_PREFIX: &str = "whsec_";

#[derive(Debug, Clone)]
pub struct SigningSecret {
    pub id: Uuid,
    pub secret: SecretString,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

struct Row {
    id: Uuid,
    secret: String,
    created_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
}

pub async fn create(
    db: impl PgExecutor<'_>,
    secrets: &SecretBox,
    org_id: Uuid,
) -> StoreResult<Uuid> {
    let bytes: [u8; 24] = rand::random();
    let secret = format!(
        "{SECRET_PREFIX}{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    );
    let id = Uuid::now_v7();
    sqlx::query!(
        "INSERT INTO signing_secrets (id, org_id, secret) VALUES ($1, $2, $3)",
        id,
        org_id,
        secrets.seal(&secret, &signing_secret_context(org_id)),
    )
    .execute(db)
    .await?;
    Ok(id)
}

/// The secrets that sign now, newest first.
pub async fn active(
    db: impl PgExecutor<'_>,
    secrets: &SecretBox,
    org_id: Uuid,
) -> StoreResult<Vec<SigningSecret>> {
    let rows = sqlx::query_as!(
        Row,
        "SELECT id, secret, created_at, expires_at FROM signing_secrets
         WHERE org_id = $1 AND (expires_at IS NULL OR expires_at > now())
         ORDER BY created_at DESC, id DESC",
        org_id,
    )
    .fetch_all(db)
    .await?;
    let context = signing_secret_context(org_id);
    rows.into_iter()
        .map(|r| {
            Ok(SigningSecret {
                id: r.id,
                secret: secrets.open(&r.secret, &context)?,
                created_at: r.created_at,
                expires_at: r.expires_at,
            })
        })
        .collect()
}

/// Adds a new secret; the ones active until now retire in 24 hours.
pub async fn rotate(conn: &mut PgConnection, secrets: &SecretBox, org_id: Uuid) -> StoreResult<()> {
    sqlx::query!(
        "UPDATE signing_secrets SET expires_at = now() + interval '24 hours'
         WHERE org_id = $1 AND expires_at IS NULL",
        org_id,
    )
    .execute(&mut *conn)
    .await?;
    create(&mut *conn, secrets, org_id).await?;
    Ok(())
}

/// Re-seals every signing secret made with an old key.
pub async fn reseal_all(
    conn: &mut PgConnection,
    secrets: &SecretBox,
    done: &mut super::Resealing,
) -> StoreResult<()> {
    let rows = sqlx::query!("SELECT id, org_id, secret FROM signing_secrets FOR UPDATE")
        .fetch_all(&mut *conn)
        .await?;
    for row in rows {
        let (id, org_id, sealed) = (row.id, row.org_id, row.secret);
        let context = signing_secret_context(org_id);
        let Some(fresh) = done.reseal(secrets, &sealed, &context, org_id, || {
            format!("signing secret {id}")
        }) else {
            continue;
        };
        sqlx::query!(
            "UPDATE signing_secrets SET secret = $2 WHERE id = $1",
            id,
            fresh
        )
        .execute(&mut *conn)
        .await?;
        done.resealed += 1;
    }
    Ok(())
}
