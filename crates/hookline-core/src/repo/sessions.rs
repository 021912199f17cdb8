//! Session tokens (single-use, stored as hashes) and the sessions they start.

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use crate::error::StoreResult;
use crate::repo::json_text;
use crate::snapshot::SessionConfig;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Session {
    pub id: Uuid,
    pub org_id: Uuid,
    pub persona_id: Option<Uuid>,
    pub client_label: Option<String>,
    pub config: Json<SessionConfig>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    /// Its `sessionEnded` event has been written (the last event of an ended session).
    pub end_announced: bool,
}

/// Where a session is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SessionStatus {
    Active,
    Ended,
    Expired,
}

impl SessionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Ended => "ended",
            Self::Expired => "expired",
        }
    }
}

impl Session {
    pub fn status(&self) -> SessionStatus {
        if self.ended_at.is_some() {
            SessionStatus::Ended
        } else if self.expires_at <= Utc::now() {
            SessionStatus::Expired
        } else {
            SessionStatus::Active
        }
    }
}

pub struct NewToken<'a> {
    pub token_hash: &'a [u8],
    pub org_id: Uuid,
    pub persona_id: Option<Uuid>,
    pub client_label: Option<&'a str>,
    pub config: &'a SessionConfig,
    pub expires_at: DateTime<Utc>,
}

pub async fn insert_token(db: impl PgExecutor<'_>, t: &NewToken<'_>) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO session_tokens (token_hash, org_id, persona_id, client_label, config, expires_at)
         VALUES ($1, $2, $3, $4, $5::json, $6)",
    )
    .bind(t.token_hash)
    .bind(t.org_id)
    .bind(t.persona_id)
    .bind(t.client_label)
    .bind(json_text(t.config))
    .bind(t.expires_at)
    .execute(db)
    .await?;
    Ok(())
}

/// Why a token could not be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRefusal {
    Unknown,
    AlreadyUsed,
    Expired,
}

#[derive(sqlx::FromRow)]
pub struct ConsumedToken {
    pub org_id: Uuid,
    pub persona_id: Option<Uuid>,
    pub client_label: Option<String>,
    pub config: Json<SessionConfig>,
    /// How long the token was issued for, which is also how long its session lasts.
    pub lifetime_seconds: f64,
}

/// Marks a token used, atomically: of two concurrent attempts exactly one gets it.
pub async fn consume_token(
    conn: &mut PgConnection,
    token_hash: &[u8],
) -> StoreResult<Result<ConsumedToken, TokenRefusal>> {
    let consumed: Option<ConsumedToken> = sqlx::query_as(
        "UPDATE session_tokens SET consumed_at = now()
         WHERE token_hash = $1 AND consumed_at IS NULL AND expires_at > now()
         RETURNING org_id, persona_id, client_label, config,
                   extract(epoch FROM expires_at - created_at)::float8 AS lifetime_seconds",
    )
    .bind(token_hash)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(token) = consumed {
        return Ok(Ok(token));
    }
    let state: Option<(bool, bool)> = sqlx::query_as(
        "SELECT consumed_at IS NOT NULL, expires_at <= now() FROM session_tokens WHERE token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(Err(match state {
        None => TokenRefusal::Unknown,
        Some((true, _)) => TokenRefusal::AlreadyUsed,
        Some((false, _)) => TokenRefusal::Expired,
    }))
}

const COLUMNS: &str = "id, org_id, persona_id, client_label, config, created_at, expires_at, \
    ended_at, end_announced";

pub struct NewSession<'a> {
    pub org_id: Uuid,
    pub persona_id: Option<Uuid>,
    pub client_label: Option<&'a str>,
    pub client_secret_hash: &'a [u8],
    pub config: &'a SessionConfig,
    pub lifetime_seconds: f64,
}

pub async fn insert(db: impl PgExecutor<'_>, s: &NewSession<'_>) -> StoreResult<Session> {
    Ok(sqlx::query_as(&format!(
        "INSERT INTO sessions (id, org_id, persona_id, client_label, client_secret_hash, config, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6::json, now() + make_interval(secs => $7))
         RETURNING {COLUMNS}"
    ))
    .bind(Uuid::now_v7())
    .bind(s.org_id)
    .bind(s.persona_id)
    .bind(s.client_label)
    .bind(s.client_secret_hash)
    .bind(json_text(s.config))
    .bind(s.lifetime_seconds)
    .fetch_one(db)
    .await?)
}

pub async fn get(db: impl PgExecutor<'_>, org_id: Uuid, id: Uuid) -> StoreResult<Option<Session>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM sessions WHERE org_id = $1 AND id = $2"
    ))
    .bind(org_id)
    .bind(id)
    .fetch_optional(db)
    .await?)
}

/// The session a client secret belongs to.
pub async fn get_by_secret(
    db: impl PgExecutor<'_>,
    secret_hash: &[u8],
) -> StoreResult<Option<Session>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM sessions WHERE client_secret_hash = $1"
    ))
    .bind(secret_hash)
    .fetch_optional(db)
    .await?)
}

/// Ends a session (idempotent: the first end time stays).
pub async fn end(db: impl PgExecutor<'_>, org_id: Uuid, id: Uuid) -> StoreResult<Option<Session>> {
    Ok(sqlx::query_as(&format!(
        "UPDATE sessions SET ended_at = COALESCE(ended_at, now())
         WHERE org_id = $1 AND id = $2 RETURNING {COLUMNS}"
    ))
    .bind(org_id)
    .bind(id)
    .fetch_optional(db)
    .await?)
}

/// Sessions that ended more than `after` ago and still have no `sessionEnded`.
pub async fn ended_unannounced(
    db: impl PgExecutor<'_>,
    after: std::time::Duration,
) -> StoreResult<Vec<Uuid>> {
    let rows: Vec<(Uuid,)> = sqlx::query_as(
        "SELECT id FROM sessions
         WHERE ended_at < now() - make_interval(secs => $1) AND NOT end_announced LIMIT 1000",
    )
    .bind(after.as_secs_f64())
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// Deletes tokens that can no longer be used and sessions long past their end; returns
/// (tokens, sessions) deleted.
pub async fn sweep(
    db: &mut PgConnection,
    token_grace: chrono::Duration,
    session_retention: chrono::Duration,
) -> StoreResult<(u64, u64)> {
    let tokens = sqlx::query("DELETE FROM session_tokens WHERE expires_at < $1")
        .bind(Utc::now() - token_grace)
        .execute(&mut *db)
        .await?
        .rows_affected();
    let sessions = sqlx::query(
        "DELETE FROM sessions WHERE LEAST(expires_at, COALESCE(ended_at, expires_at)) < $1",
    )
    .bind(Utc::now() - session_retention)
    .execute(&mut *db)
    .await?
    .rows_affected();
    Ok((tokens, sessions))
}

/// Re-seals the header values inside every session token's and session's snapshot that were
/// sealed with an older key.
pub async fn reseal_all(
    conn: &mut PgConnection,
    secrets: &crate::SecretBox,
    done: &mut super::Resealing,
) -> StoreResult<()> {
    for (table, key) in [("session_tokens", "token_hash"), ("sessions", "id::text")] {
        let rows: Vec<(String, Uuid, Json<SessionConfig>)> = sqlx::query_as(&format!(
            "SELECT {key}::text, org_id, config FROM {table} FOR UPDATE"
        ))
        .fetch_all(&mut *conn)
        .await?;
        for (row_key, org_id, Json(mut config)) in rows {
            let mut changed = 0;
            let owner = if table == "sessions" {
                format!("session {row_key}")
            } else {
                "an unused session token".to_owned()
            };
            for tool in &mut config.tools {
                let result = tool.tool.reseal(org_id, secrets);
                changed += result.0;
                let name = tool.tool.definition.name().to_owned();
                done.headers(org_id, &format!("tool {name} in {owner}"), result);
            }
            if changed > 0 {
                sqlx::query(&format!(
                    "UPDATE {table} SET config = $2::json WHERE {key}::text = $1"
                ))
                .bind(row_key)
                .bind(json_text(&config))
                .execute(&mut *conn)
                .await?;
            }
        }
    }
    Ok(())
}
