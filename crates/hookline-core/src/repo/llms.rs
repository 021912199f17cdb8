//! LLM connections. The API key is kept sealed; `open_key` is the only way back to it.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use hookline_schema::{LlmFields, LlmKind, Provider, Violations};

use crate::error::StoreResult;
use crate::repo::tools::like_pattern;
use crate::repo::Page;
use crate::secrets::{SecretBox, SecretError, SecretString};

/// The unique constraint that keeps LLM names unique within an organization.
pub const NAME_CONSTRAINT: &str = "llms_org_name_key";

#[derive(Debug, Clone)]
pub struct StoredLlm {
    pub id: Uuid,
    pub org_id: Uuid,
    pub name: String,
    /// `chat` or `embedding` ([`LlmKind`]), fixed once the entry exists.
    pub kind: String,
    pub provider: String,
    pub base_url: String,
    pub model: String,
    pub sealed_api_key: Option<String>,
    pub temperature: Option<f64>,
    pub max_tokens: Option<i32>,
    pub timeout_seconds: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub usage_count: i64,
}

impl StoredLlm {
    pub fn kind(&self) -> LlmKind {
        LlmKind::parse(&self.kind).unwrap_or(LlmKind::Chat)
    }

    pub fn provider(&self) -> Provider {
        Provider::parse(&self.provider).unwrap_or(Provider::OpenAi)
    }

    /// The API key in plain text, for the outgoing request only.
    pub fn open_key(&self, secrets: &SecretBox) -> Result<Option<SecretString>, SecretError> {
        self.sealed_api_key
            .as_deref()
            .map(|sealed| secrets.open(sealed, &key_context(self.org_id, self.id)))
            .transpose()
    }
}

/// The associated data of an LLM's API key: a sealed key only opens for its own LLM.
pub fn key_context(org_id: Uuid, llm_id: Uuid) -> String {
    format!("org:{org_id}:llm:{llm_id}:api-key")
}

/// An LLM's fields as its columns hold them, for `insert` and `update` to bind alike.
struct Columns<'a> {
    name: &'a str,
    kind: &'static str,
    provider: &'static str,
    base_url: &'a str,
    model: &'a str,
    sealed_api_key: Option<&'a str>,
    temperature: Option<f64>,
    max_tokens: Option<i32>,
    timeout_seconds: i32,
}

impl<'a> Columns<'a> {
    fn of(llm: &'a LlmFields, sealed_api_key: Option<&'a str>) -> Self {
        Self {
            name: &llm.name,
            kind: llm.kind.as_str(),
            provider: llm.provider.as_str(),
            base_url: &llm.base_url,
            model: &llm.model,
            sealed_api_key,
            temperature: llm.temperature,
            // Both are bounded by `LlmFields::parse`, well within an `integer`.
            max_tokens: llm.max_tokens.map(|n| n as i32),
            timeout_seconds: llm.timeout_seconds as i32,
        }
    }
}

/// Inserts an LLM under `id` (chosen by the caller, who sealed the key for it).
pub async fn insert(
    db: impl PgExecutor<'_>,
    org_id: Uuid,
    id: Uuid,
    llm: &LlmFields,
    sealed_api_key: Option<&str>,
) -> StoreResult<StoredLlm> {
    let c = Columns::of(llm, sealed_api_key);
    Ok(sqlx::query_as!(
        StoredLlm,
        r#"INSERT INTO llms AS l (id, org_id, name, provider, base_url, model, sealed_api_key,
               temperature, max_tokens, timeout_seconds, kind)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
           RETURNING id, org_id, name, kind, provider, base_url, model, sealed_api_key, temperature,
               max_tokens, timeout_seconds, created_at, updated_at,
               (SELECT count(*) FROM personas p WHERE p.org_id = l.org_id AND p.llm_id = l.id::text)
                   AS "usage_count!""#,
        id,
        org_id,
        c.name,
        c.provider,
        c.base_url,
        c.model,
        c.sealed_api_key,
        c.temperature,
        c.max_tokens,
        c.timeout_seconds,
        c.kind,
    )
    .fetch_one(db)
    .await?)
}

/// Updates an LLM's fields; its kind stays what it was created with (the caller refuses a
/// change of it).
pub async fn update(
    db: impl PgExecutor<'_>,
    org_id: Uuid,
    id: Uuid,
    llm: &LlmFields,
    sealed_api_key: Option<&str>,
) -> StoreResult<StoredLlm> {
    let c = Columns::of(llm, sealed_api_key);
    Ok(sqlx::query_as!(
        StoredLlm,
        r#"UPDATE llms l SET name = $3, provider = $4, base_url = $5, model = $6,
               sealed_api_key = $7, temperature = $8, max_tokens = $9, timeout_seconds = $10,
               updated_at = now()
           WHERE org_id = $1 AND id = $2
           RETURNING id, org_id, name, kind, provider, base_url, model, sealed_api_key, temperature,
               max_tokens, timeout_seconds, created_at, updated_at,
               (SELECT count(*) FROM personas p WHERE p.org_id = l.org_id AND p.llm_id = l.id::text)
                   AS "usage_count!""#,
        org_id,
        id,
        c.name,
        c.provider,
        c.base_url,
        c.model,
        c.sealed_api_key,
        c.temperature,
        c.max_tokens,
        c.timeout_seconds,
    )
    .fetch_one(db)
    .await?)
}

pub async fn get(
    db: impl PgExecutor<'_>,
    org_id: Uuid,
    id: Uuid,
) -> StoreResult<Option<StoredLlm>> {
    Ok(sqlx::query_as!(
        StoredLlm,
        r#"SELECT id, org_id, name, kind, provider, base_url, model, sealed_api_key, temperature,
               max_tokens, timeout_seconds, created_at, updated_at,
               (SELECT count(*) FROM personas p WHERE p.org_id = l.org_id AND p.llm_id = l.id::text)
                   AS "usage_count!"
           FROM llms l WHERE org_id = $1 AND id = $2"#,
        org_id,
        id,
    )
    .fetch_optional(db)
    .await?)
}

/// Locks the LLM's row for the rest of the transaction.
pub async fn lock(
    conn: &mut PgConnection,
    org_id: Uuid,
    id: Uuid,
) -> StoreResult<Option<StoredLlm>> {
    Ok(sqlx::query_as!(
        StoredLlm,
        r#"SELECT id, org_id, name, kind, provider, base_url, model, sealed_api_key, temperature,
               max_tokens, timeout_seconds, created_at, updated_at,
               (SELECT count(*) FROM personas p WHERE p.org_id = l.org_id AND p.llm_id = l.id::text)
                   AS "usage_count!"
           FROM llms l WHERE org_id = $1 AND id = $2 FOR UPDATE OF l"#,
        org_id,
        id,
    )
    .fetch_optional(conn)
    .await?)
}

pub async fn delete(db: impl PgExecutor<'_>, org_id: Uuid, id: Uuid) -> StoreResult<bool> {
    let done = sqlx::query!("DELETE FROM llms WHERE org_id = $1 AND id = $2", org_id, id)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// One page of the organization's LLMs, oldest first, optionally filtered by a search in name
/// and model; with the total count.
pub async fn list(
    db: &mut PgConnection,
    org_id: Uuid,
    search: Option<&str>,
    page: Page,
) -> StoreResult<(Vec<StoredLlm>, i64)> {
    let pattern = search.map(like_pattern);
    let total = sqlx::query_scalar!(
        r#"SELECT count(*) AS "total!" FROM llms WHERE org_id = $1
             AND ($2::text IS NULL OR name ILIKE $2 OR model ILIKE $2)"#,
        org_id,
        pattern.as_deref(),
    )
    .fetch_one(&mut *db)
    .await?;
    let rows = sqlx::query_as!(
        StoredLlm,
        r#"SELECT id, org_id, name, kind, provider, base_url, model, sealed_api_key, temperature,
               max_tokens, timeout_seconds, created_at, updated_at,
               (SELECT count(*) FROM personas p WHERE p.org_id = l.org_id AND p.llm_id = l.id::text)
                   AS "usage_count!"
           FROM llms l WHERE org_id = $1
             AND ($2::text IS NULL OR name ILIKE $2 OR model ILIKE $2)
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

/// The personas (id, name) whose `llmId` is this LLM.
pub async fn users(
    db: impl PgExecutor<'_>,
    org_id: Uuid,
    llm_id: Uuid,
) -> StoreResult<Vec<(Uuid, String)>> {
    let rows = sqlx::query!(
        "SELECT id, name FROM personas WHERE org_id = $1 AND llm_id = $2::uuid::text
         ORDER BY created_at, id",
        org_id,
        llm_id,
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|p| (p.id, p.name)).collect())
}

/// Clears `llmId` on every persona using this LLM (before a forced delete).
pub async fn detach_everywhere(
    db: impl PgExecutor<'_>,
    org_id: Uuid,
    llm_id: Uuid,
) -> StoreResult<()> {
    sqlx::query!(
        "UPDATE personas SET llm_id = NULL, updated_at = now()
         WHERE org_id = $1 AND llm_id = $2::uuid::text",
        org_id,
        llm_id,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Checks that `llm_id` (as a body gave it) names an LLM of the organization; otherwise a
/// violation named `field` (a missing id and another organization's get the same answer).
/// The row is share-locked so a concurrent delete cannot slip between check and write.
pub async fn check_id(
    db: impl PgExecutor<'_>,
    org_id: Uuid,
    llm_id: &str,
    field: &str,
) -> StoreResult<Result<Uuid, Violations>> {
    let refused = || {
        Ok(Err(Violations::single(
            field,
            "is not an LLM of your organization",
        )))
    };
    let Ok(id) = Uuid::parse_str(llm_id) else {
        return refused();
    };
    let found = sqlx::query_scalar!(
        "SELECT kind FROM llms WHERE org_id = $1 AND id = $2 FOR SHARE",
        org_id,
        id,
    )
    .fetch_optional(db)
    .await?;
    match found.as_deref().map(LlmKind::parse) {
        Some(Some(LlmKind::Chat)) => Ok(Ok(id)),
        Some(_) => Ok(Err(Violations::single(
            field,
            "is an embedding model (kind \"embedding\"); a persona talks through a chat LLM",
        ))),
        None => refused(),
    }
}

/// Re-seals every LLM API key made with an older key; a key that does not open is reported.
pub async fn reseal_all(
    conn: &mut PgConnection,
    secrets: &SecretBox,
    done: &mut super::Resealing,
) -> StoreResult<()> {
    let rows = sqlx::query!(
        r#"SELECT id, org_id, sealed_api_key AS "sealed_api_key!" FROM llms
           WHERE sealed_api_key IS NOT NULL FOR UPDATE"#
    )
    .fetch_all(&mut *conn)
    .await?;
    for row in rows {
        let (id, org_id, sealed) = (row.id, row.org_id, row.sealed_api_key);
        let context = key_context(org_id, id);
        let Some(fresh) = done.reseal(secrets, &sealed, &context, org_id, || {
            format!("API key of LLM {id}")
        }) else {
            continue;
        };
        sqlx::query!(
            "UPDATE llms SET sealed_api_key = $2 WHERE id = $1",
            id,
            fresh
        )
        .execute(&mut *conn)
        .await?;
        done.resealed += 1;
    }
    Ok(())
}

/// The organization's embedding model: its newest LLM entry of kind `embedding` (one entry is
/// used at a time; creating another switches to it, and its vectors are made anew).
pub async fn embedding_model(
    db: impl PgExecutor<'_>,
    org_id: Uuid,
) -> StoreResult<Option<StoredLlm>> {
    Ok(sqlx::query_as!(
        StoredLlm,
        r#"SELECT id, org_id, name, kind, provider, base_url, model, sealed_api_key, temperature,
               max_tokens, timeout_seconds, created_at, updated_at, 0::bigint AS "usage_count!"
           FROM llms l WHERE org_id = $1 AND kind = 'embedding'
           ORDER BY created_at DESC, id DESC LIMIT 1"#,
        org_id,
    )
    .fetch_optional(db)
    .await?)
}
