//! Session tokens (single-use, stored as hashes) and the sessions they start.

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use crate::error::StoreResult;
use crate::repo::{json_text, Page};
use crate::snapshot::SessionConfig;

#[derive(Debug, Clone)]
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
    pub const ALL: [Self; 3] = [Self::Active, Self::Ended, Self::Expired];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Ended => "ended",
            Self::Expired => "expired",
        }
    }

    /// The status named `name` (`active`, `ended` or `expired`).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

impl Session {
    /// Where the session is now. The SQL function `session_status` (migration 0006) is the same
    /// rule, for the lists that filter by it.
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
    sqlx::query!(
        "INSERT INTO session_tokens (token_hash, org_id, persona_id, client_label, config, expires_at)
         VALUES ($1, $2, $3, $4, $5::text::json, $6)",
        t.token_hash,
        t.org_id,
        t.persona_id,
        t.client_label,
        json_text(t.config),
        t.expires_at,
    )
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
    let consumed = sqlx::query_as!(
        ConsumedToken,
        r#"UPDATE session_tokens SET consumed_at = now()
           WHERE token_hash = $1 AND consumed_at IS NULL AND expires_at > now()
           RETURNING org_id, persona_id, client_label, config AS "config: _",
               extract(epoch FROM expires_at - created_at)::float8 AS "lifetime_seconds!""#,
        token_hash,
    )
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(token) = consumed {
        return Ok(Ok(token));
    }
    let used = sqlx::query_scalar!(
        r#"SELECT consumed_at IS NOT NULL AS "used!" FROM session_tokens WHERE token_hash = $1"#,
        token_hash,
    )
    .fetch_optional(&mut *conn)
    .await?;
    Ok(Err(match used {
        None => TokenRefusal::Unknown,
        Some(true) => TokenRefusal::AlreadyUsed,
        Some(false) => TokenRefusal::Expired,
    }))
}

pub struct NewSession<'a> {
    pub org_id: Uuid,
    pub persona_id: Option<Uuid>,
    pub client_label: Option<&'a str>,
    pub client_secret_hash: &'a [u8],
    pub config: &'a SessionConfig,
    pub lifetime_seconds: f64,
}

pub async fn insert(db: impl PgExecutor<'_>, s: &NewSession<'_>) -> StoreResult<Session> {
    Ok(sqlx::query_as!(
        Session,
        r#"INSERT INTO sessions
               (id, org_id, persona_id, client_label, client_secret_hash, config, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6::text::json, now() + make_interval(secs => $7))
           RETURNING id, org_id, persona_id, client_label, config AS "config: _", created_at,
               expires_at, ended_at, end_announced"#,
        Uuid::now_v7(),
        s.org_id,
        s.persona_id,
        s.client_label,
        s.client_secret_hash,
        json_text(s.config),
        s.lifetime_seconds,
    )
    .fetch_one(db)
    .await?)
}

pub async fn get(db: impl PgExecutor<'_>, org_id: Uuid, id: Uuid) -> StoreResult<Option<Session>> {
    Ok(sqlx::query_as!(
        Session,
        r#"SELECT id, org_id, persona_id, client_label, config AS "config: _", created_at,
               expires_at, ended_at, end_announced
           FROM sessions WHERE org_id = $1 AND id = $2"#,
        org_id,
        id,
    )
    .fetch_optional(db)
    .await?)
}

/// Replaces an active session's snapshot (an MCP session following its persona's tools); `None`
/// when it is not active any more.
pub async fn set_config(
    db: impl PgExecutor<'_>,
    org_id: Uuid,
    id: Uuid,
    config: &SessionConfig,
) -> StoreResult<Option<Session>> {
    Ok(sqlx::query_as!(
        Session,
        r#"UPDATE sessions SET config = $3::text::json
           WHERE org_id = $1 AND id = $2 AND ended_at IS NULL AND expires_at > now()
           RETURNING id, org_id, persona_id, client_label, config AS "config: _", created_at,
               expires_at, ended_at, end_announced"#,
        org_id,
        id,
        json_text(config),
    )
    .fetch_optional(db)
    .await?)
}

/// Which sessions a list holds: all, or a persona's, or those in one status, or both.
#[derive(Debug, Clone, Copy, Default)]
pub struct SessionFilter {
    pub persona_id: Option<Uuid>,
    pub status: Option<SessionStatus>,
}

/// A session in a list, with its status as the list's query saw it (the status it was filtered
/// by: at the instant a session expires, the Rust clock and the database's may disagree).
#[derive(Debug, Clone)]
pub struct ListedSession {
    pub session: Session,
    pub status: SessionStatus,
}

/// One page of the organization's sessions that pass `filter`, newest first, and how many pass
/// it in all. Read backwards by `sessions_org_idx` (org, created_at), or for a persona by
/// `sessions_org_persona_idx`.
pub async fn list(
    db: &mut PgConnection,
    org_id: Uuid,
    filter: SessionFilter,
    page: Page,
) -> StoreResult<(Vec<ListedSession>, i64)> {
    let status = filter.status.map(SessionStatus::as_str);
    let total = sqlx::query_scalar!(
        r#"SELECT count(*) AS "total!" FROM sessions
           WHERE org_id = $1 AND ($2::uuid IS NULL OR persona_id = $2)
             AND ($3::text IS NULL OR session_status(ended_at, expires_at) = $3)"#,
        org_id,
        filter.persona_id,
        status,
    )
    .fetch_one(&mut *db)
    .await?;
    let rows = sqlx::query!(
        r#"SELECT id, org_id, persona_id, client_label, config AS "config: Json<SessionConfig>",
               created_at, expires_at, ended_at, end_announced,
               session_status(ended_at, expires_at) AS "status!"
           FROM sessions
           WHERE org_id = $1 AND ($2::uuid IS NULL OR persona_id = $2)
             AND ($3::text IS NULL OR session_status(ended_at, expires_at) = $3)
           ORDER BY created_at DESC, id DESC LIMIT $4 OFFSET $5"#,
        org_id,
        filter.persona_id,
        status,
        page.per_page,
        page.offset(),
    )
    .fetch_all(&mut *db)
    .await?;
    Ok((
        rows.into_iter()
            .map(|r| ListedSession {
                status: SessionStatus::parse(&r.status)
                    .expect("session_status() answers one of SessionStatus::ALL"),
                session: Session {
                    id: r.id,
                    org_id: r.org_id,
                    persona_id: r.persona_id,
                    client_label: r.client_label,
                    config: r.config,
                    created_at: r.created_at,
                    expires_at: r.expires_at,
                    ended_at: r.ended_at,
                    end_announced: r.end_announced,
                },
            })
            .collect(),
        total,
    ))
}

/// The session a client secret belongs to.
pub async fn get_by_secret(
    db: impl PgExecutor<'_>,
    secret_hash: &[u8],
) -> StoreResult<Option<Session>> {
    Ok(sqlx::query_as!(
        Session,
        r#"SELECT id, org_id, persona_id, client_label, config AS "config: _", created_at,
               expires_at, ended_at, end_announced
           FROM sessions WHERE client_secret_hash = $1"#,
        secret_hash,
    )
    .fetch_optional(db)
    .await?)
}

/// Ends a session (idempotent: the first end time stays).
pub async fn end(db: impl PgExecutor<'_>, org_id: Uuid, id: Uuid) -> StoreResult<Option<Session>> {
    Ok(sqlx::query_as!(
        Session,
        r#"UPDATE sessions SET ended_at = COALESCE(ended_at, now())
           WHERE org_id = $1 AND id = $2
           RETURNING id, org_id, persona_id, client_label, config AS "config: _", created_at,
               expires_at, ended_at, end_announced"#,
        org_id,
        id,
    )
    .fetch_optional(db)
    .await?)
}

/// Sessions that ended more than `after` ago and still have no `sessionEnded`.
pub async fn ended_unannounced(
    db: impl PgExecutor<'_>,
    after: std::time::Duration,
) -> StoreResult<Vec<Uuid>> {
    Ok(sqlx::query_scalar!(
        "SELECT id FROM sessions
         WHERE ended_at < now() - make_interval(secs => $1) AND NOT end_announced LIMIT 1000",
        after.as_secs_f64(),
    )
    .fetch_all(db)
    .await?)
}

/// Re-seals the header values inside every session token's and session's snapshot that were
/// sealed with an older key.
pub async fn reseal_all(
    conn: &mut PgConnection,
    secrets: &crate::SecretBox,
    done: &mut super::Resealing,
) -> StoreResult<()> {
    let tokens = sqlx::query!(
        r#"SELECT token_hash, org_id, config AS "config: Json<SessionConfig>"
           FROM session_tokens FOR UPDATE"#
    )
    .fetch_all(&mut *conn)
    .await?;
    for token in tokens {
        let Json(mut config) = token.config;
        let owner = "an unused session token";
        if reseal_config(&mut config, token.org_id, secrets, done, owner) > 0 {
            sqlx::query!(
                "UPDATE session_tokens SET config = $2::text::json WHERE token_hash = $1",
                token.token_hash,
                json_text(&config),
            )
            .execute(&mut *conn)
            .await?;
        }
    }
    let sessions = sqlx::query!(
        r#"SELECT id, org_id, config AS "config: Json<SessionConfig>" FROM sessions FOR UPDATE"#
    )
    .fetch_all(&mut *conn)
    .await?;
    for session in sessions {
        let Json(mut config) = session.config;
        let owner = format!("session {}", session.id);
        if reseal_config(&mut config, session.org_id, secrets, done, &owner) > 0 {
            sqlx::query!(
                "UPDATE sessions SET config = $2::text::json WHERE id = $1",
                session.id,
                json_text(&config),
            )
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

/// Re-seals the header values of a snapshot's tools (reporting those that do not open as
/// `tool <name> in <owner>`); how many changed.
fn reseal_config(
    config: &mut SessionConfig,
    org_id: Uuid,
    secrets: &crate::SecretBox,
    done: &mut super::Resealing,
    owner: &str,
) -> u64 {
    let mut changed = 0;
    for tool in &mut config.tools {
        let result = tool.tool.reseal(org_id, secrets);
        changed += result.0;
        let name = tool.tool.definition.name().to_owned();
        done.headers(org_id, &format!("tool {name} in {owner}"), result);
    }
    changed
}
