//! Stored tools.

use chrono::{DateTime, Utc};
use indexmap::IndexMap;
use sqlx::types::Json;
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use hookline_schema::ToolDefinition;

use crate::error::StoreResult;
use crate::repo::json_text;
use crate::repo::Page;
use crate::sealed_tool::{reseal_headers, SealedTool};

/// The unique constraint that keeps tool names unique within an organization.
pub const NAME_CONSTRAINT: &str = "tools_org_name_key";

#[derive(Debug, Clone)]
pub struct StoredTool {
    pub id: Uuid,
    pub org_id: Uuid,
    pub tool: SealedTool,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub usage_count: i64,
}

/// A row as the queries below select it (`Json<…>` decodes the `json` columns).
struct Row {
    id: Uuid,
    org_id: Uuid,
    definition: Json<ToolDefinition>,
    sealed_headers: Json<IndexMap<String, String>>,
    version: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    usage_count: i64,
}

impl From<Row> for StoredTool {
    fn from(r: Row) -> Self {
        Self {
            id: r.id,
            org_id: r.org_id,
            tool: SealedTool {
                definition: r.definition.0,
                sealed_headers: r.sealed_headers.0,
            },
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
            usage_count: r.usage_count,
        }
    }
}

pub async fn insert(
    db: impl PgExecutor<'_>,
    org_id: Uuid,
    tool: &SealedTool,
) -> StoreResult<StoredTool> {
    // A tool just made is in no persona's list yet: its usage count is 0.
    let row = sqlx::query_as!(
        Row,
        r#"INSERT INTO tools (id, org_id, name, tool_type, description, definition, sealed_headers)
           VALUES ($1, $2, $3, $4, $5, $6::text::json, $7::text::json)
           RETURNING id, org_id, definition AS "definition: _", sealed_headers AS "sealed_headers: _",
               version, created_at, updated_at, 0::int8 AS "usage_count!""#,
        Uuid::now_v7(),
        org_id,
        tool.definition.name(),
        tool.definition.tool_type().as_str(),
        tool.definition.description(),
        json_text(&tool.definition),
        json_text(&tool.sealed_headers),
    )
    .fetch_one(db)
    .await?;
    Ok(row.into())
}

pub async fn get(
    db: impl PgExecutor<'_>,
    org_id: Uuid,
    id: Uuid,
) -> StoreResult<Option<StoredTool>> {
    let row = sqlx::query_as!(
        Row,
        r#"SELECT id, org_id, definition AS "definition: _", sealed_headers AS "sealed_headers: _",
               version, created_at, updated_at,
               (SELECT count(*) FROM persona_tools pt WHERE pt.tool_id = t.id) AS "usage_count!"
           FROM tools t WHERE org_id = $1 AND id = $2"#,
        org_id,
        id,
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(Into::into))
}

/// Locks the tool's row for the rest of the transaction.
pub async fn lock(
    conn: &mut PgConnection,
    org_id: Uuid,
    id: Uuid,
) -> StoreResult<Option<StoredTool>> {
    let row = sqlx::query_as!(
        Row,
        r#"SELECT id, org_id, definition AS "definition: _", sealed_headers AS "sealed_headers: _",
               version, created_at, updated_at,
               (SELECT count(*) FROM persona_tools pt WHERE pt.tool_id = t.id) AS "usage_count!"
           FROM tools t WHERE org_id = $1 AND id = $2 FOR UPDATE"#,
        org_id,
        id,
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(Into::into))
}

/// The organization's tools with these ids, in the order of `ids` (missing ones left out).
pub async fn get_many(
    db: impl PgExecutor<'_>,
    org_id: Uuid,
    ids: &[Uuid],
) -> StoreResult<Vec<StoredTool>> {
    let rows = sqlx::query_as!(
        Row,
        r#"SELECT t.id, t.org_id, t.definition AS "definition: _",
               t.sealed_headers AS "sealed_headers: _", t.version, t.created_at, t.updated_at,
               (SELECT count(*) FROM persona_tools pt WHERE pt.tool_id = t.id) AS "usage_count!"
           FROM tools t JOIN unnest($2::uuid[]) WITH ORDINALITY AS wanted(id, n) ON wanted.id = t.id
           WHERE t.org_id = $1 ORDER BY wanted.n"#,
        org_id,
        ids,
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// All the organization's tools with these ids, in order; each id that is missing (or another
/// organization's, the same answer) is a violation named `field[i]`.
pub async fn get_all(
    db: impl PgExecutor<'_>,
    org_id: Uuid,
    ids: &[Uuid],
    field: &str,
) -> StoreResult<Result<Vec<StoredTool>, hookline_schema::Violations>> {
    let found = get_many(db, org_id, ids).await?;
    let mut missing = hookline_schema::Violations::new();
    for (i, id) in ids.iter().enumerate() {
        if !found.iter().any(|t| t.id == *id) {
            missing.rule(
                format!("{field}[{i}]"),
                "is not a tool of your organization",
            );
        }
    }
    Ok(missing.into_result(found))
}

pub async fn update(
    db: impl PgExecutor<'_>,
    org_id: Uuid,
    id: Uuid,
    tool: &SealedTool,
) -> StoreResult<StoredTool> {
    let row = sqlx::query_as!(
        Row,
        r#"UPDATE tools t SET name = $3, tool_type = $4, description = $5,
               definition = $6::text::json, sealed_headers = $7::text::json,
               version = version + 1, updated_at = now()
           WHERE org_id = $1 AND id = $2
           RETURNING id, org_id, definition AS "definition: _", sealed_headers AS "sealed_headers: _",
               version, created_at, updated_at,
               (SELECT count(*) FROM persona_tools pt WHERE pt.tool_id = t.id) AS "usage_count!""#,
        org_id,
        id,
        tool.definition.name(),
        tool.definition.tool_type().as_str(),
        tool.definition.description(),
        json_text(&tool.definition),
        json_text(&tool.sealed_headers),
    )
    .fetch_one(db)
    .await?;
    Ok(row.into())
}

pub async fn delete(db: impl PgExecutor<'_>, org_id: Uuid, id: Uuid) -> StoreResult<bool> {
    let done = sqlx::query!(
        "DELETE FROM tools WHERE org_id = $1 AND id = $2",
        org_id,
        id
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// One page of the organization's tools, oldest first, optionally filtered by a search in
/// name and description; with the total count.
pub async fn list(
    db: &mut PgConnection,
    org_id: Uuid,
    search: Option<&str>,
    page: Page,
) -> StoreResult<(Vec<StoredTool>, i64)> {
    let pattern = search.map(like_pattern);
    let total = sqlx::query_scalar!(
        r#"SELECT count(*) AS "total!" FROM tools WHERE org_id = $1
             AND ($2::text IS NULL OR name ILIKE $2 OR description ILIKE $2)"#,
        org_id,
        pattern.as_deref(),
    )
    .fetch_one(&mut *db)
    .await?;
    let rows = sqlx::query_as!(
        Row,
        r#"SELECT id, org_id, definition AS "definition: _", sealed_headers AS "sealed_headers: _",
               version, created_at, updated_at,
               (SELECT count(*) FROM persona_tools pt WHERE pt.tool_id = t.id) AS "usage_count!"
           FROM tools t WHERE org_id = $1
             AND ($2::text IS NULL OR name ILIKE $2 OR description ILIKE $2)
           ORDER BY created_at, id LIMIT $3 OFFSET $4"#,
        org_id,
        pattern.as_deref(),
        page.per_page,
        page.offset(),
    )
    .fetch_all(&mut *db)
    .await?;
    Ok((rows.into_iter().map(Into::into).collect(), total))
}

/// `%text%` for ILIKE, with the pattern characters in `text` matched literally.
pub fn like_pattern(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// The personas (id, name) that use a tool.
pub async fn users(db: impl PgExecutor<'_>, tool_id: Uuid) -> StoreResult<Vec<(Uuid, String)>> {
    let rows = sqlx::query!(
        "SELECT p.id, p.name FROM persona_tools pt JOIN personas p ON p.id = pt.persona_id
         WHERE pt.tool_id = $1 ORDER BY p.created_at, p.id",
        tool_id,
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|p| (p.id, p.name)).collect())
}

/// Detaches a tool from every persona (before a forced delete).
pub async fn detach_everywhere(db: impl PgExecutor<'_>, tool_id: Uuid) -> StoreResult<()> {
    sqlx::query!("DELETE FROM persona_tools WHERE tool_id = $1", tool_id)
        .execute(db)
        .await?;
    Ok(())
}

/// Re-seals every tool's header values made with an older key.
pub async fn reseal_all(
    conn: &mut PgConnection,
    secrets: &crate::SecretBox,
    done: &mut super::Resealing,
) -> StoreResult<()> {
    let rows = sqlx::query!(
        r#"SELECT id, org_id, sealed_headers AS "sealed_headers: Json<IndexMap<String, String>>"
           FROM tools FOR UPDATE"#
    )
    .fetch_all(&mut *conn)
    .await?;
    for row in rows {
        let (id, org_id, Json(mut sealed)) = (row.id, row.org_id, row.sealed_headers);
        let result = reseal_headers(&mut sealed, org_id, secrets);
        let changed = result.0;
        done.headers(org_id, &format!("tool {id}"), result);
        if changed > 0 {
            sqlx::query!(
                "UPDATE tools SET sealed_headers = $2::text::json WHERE id = $1",
                id,
                json_text(&sealed),
            )
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}
