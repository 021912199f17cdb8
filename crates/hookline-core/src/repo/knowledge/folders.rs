//! Knowledge folders: named sets of an organization's documents that knowledge tools search.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use crate::error::StoreResult;
use crate::repo::tools::like_pattern;
use crate::repo::Page;

/// The unique constraint that keeps folder names unique within an organization.
pub const NAME_CONSTRAINT: &str = "knowledge_folders_org_name_key";

#[derive(Debug, Clone)]
pub struct StoredFolder {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub document_count: i64,
}

pub async fn insert(
    db: impl PgExecutor<'_>,
    org_id: Uuid,
    id: Uuid,
    name: &str,
    description: Option<&str>,
) -> StoreResult<StoredFolder> {
    Ok(sqlx::query_as!(
        StoredFolder,
        r#"INSERT INTO knowledge_folders (id, org_id, name, description) VALUES ($1, $2, $3, $4)
           RETURNING id, name, description, created_at, updated_at, 0::bigint AS "document_count!""#,
        id,
        org_id,
        name,
        description,
    )
    .fetch_one(db)
    .await?)
}

pub async fn get(
    db: impl PgExecutor<'_>,
    org_id: Uuid,
    id: Uuid,
) -> StoreResult<Option<StoredFolder>> {
    Ok(sqlx::query_as!(
        StoredFolder,
        r#"SELECT id, name, description, created_at, updated_at,
               (SELECT count(*) FROM knowledge_documents d WHERE d.folder_id = f.id)
                   AS "document_count!"
           FROM knowledge_folders f WHERE org_id = $1 AND id = $2"#,
        org_id,
        id,
    )
    .fetch_optional(db)
    .await?)
}

/// Locks the folder's row for the rest of the transaction (a delete, an update, an upload
/// into it).
pub async fn lock(conn: &mut PgConnection, org_id: Uuid, id: Uuid) -> StoreResult<bool> {
    let found = sqlx::query_scalar!(
        "SELECT id FROM knowledge_folders WHERE org_id = $1 AND id = $2 FOR UPDATE",
        org_id,
        id,
    )
    .fetch_optional(conn)
    .await?;
    Ok(found.is_some())
}

pub async fn update(
    db: impl PgExecutor<'_>,
    org_id: Uuid,
    id: Uuid,
    name: &str,
    description: Option<&str>,
) -> StoreResult<StoredFolder> {
    Ok(sqlx::query_as!(
        StoredFolder,
        r#"UPDATE knowledge_folders f SET name = $3, description = $4, updated_at = now()
           WHERE org_id = $1 AND id = $2
           RETURNING id, name, description, created_at, updated_at,
               (SELECT count(*) FROM knowledge_documents d WHERE d.folder_id = f.id)
                   AS "document_count!""#,
        org_id,
        id,
        name,
        description,
    )
    .fetch_one(db)
    .await?)
}

/// Deletes the folder with its documents and their chunks (by cascade).
pub async fn delete(db: impl PgExecutor<'_>, org_id: Uuid, id: Uuid) -> StoreResult<bool> {
    let done = sqlx::query!(
        "DELETE FROM knowledge_folders WHERE org_id = $1 AND id = $2",
        org_id,
        id
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// One page of the organization's folders, oldest first, optionally filtered by a search in
/// name and description; with the total count.
pub async fn list(
    db: &mut PgConnection,
    org_id: Uuid,
    search: Option<&str>,
    page: Page,
) -> StoreResult<(Vec<StoredFolder>, i64)> {
    let pattern = search.map(like_pattern);
    let total = sqlx::query_scalar!(
        r#"SELECT count(*) AS "total!" FROM knowledge_folders WHERE org_id = $1
             AND ($2::text IS NULL OR name ILIKE $2 OR description ILIKE $2)"#,
        org_id,
        pattern.as_deref(),
    )
    .fetch_one(&mut *db)
    .await?;
    let rows = sqlx::query_as!(
        StoredFolder,
        r#"SELECT id, name, description, created_at, updated_at,
               (SELECT count(*) FROM knowledge_documents d WHERE d.folder_id = f.id)
                   AS "document_count!"
           FROM knowledge_folders f WHERE org_id = $1
             AND ($2::text IS NULL OR name ILIKE $2 OR description ILIKE $2)
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

/// The knowledge tools (id, name) of the organization whose `documentFolderIds` name the folder.
pub async fn tools_using(
    db: impl PgExecutor<'_>,
    org_id: Uuid,
    folder_id: Uuid,
) -> StoreResult<Vec<(Uuid, String)>> {
    let rows = sqlx::query!(
        r#"SELECT id, name FROM tools
           WHERE org_id = $1 AND definition->>'subtype' = 'knowledge'
             AND (definition::jsonb -> 'documentFolderIds') ? $2::uuid::text
           ORDER BY created_at, id"#,
        org_id,
        folder_id,
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|t| (t.id, t.name)).collect())
}

/// Which of `ids` are folders of the organization (share-locked, so a concurrent delete cannot
/// slip between the check and what the caller writes).
pub async fn owned(db: impl PgExecutor<'_>, org_id: Uuid, ids: &[Uuid]) -> StoreResult<Vec<Uuid>> {
    Ok(sqlx::query_scalar!(
        "SELECT id FROM knowledge_folders WHERE org_id = $1 AND id = ANY($2) FOR SHARE",
        org_id,
        ids,
    )
    .fetch_all(db)
    .await?)
}

/// What a search reads before it runs, in one statement: which of `ids` are the
/// organization's folders, and which embedding model the organization has.
#[derive(Debug, Clone)]
pub struct SearchScope {
    pub owned: Vec<Uuid>,
    /// Its newest LLM entry of kind `embedding`, if it has one.
    pub model: Option<ModelStamp>,
}

/// Enough of the organization's embedding model to tell whether a copy of it read earlier is
/// still the one (every change of an entry moves its `updated_at`; another entry has another
/// id), and whether it made vectors yet (a search is hybrid only then).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelStamp {
    pub llm_id: Uuid,
    pub updated_at: DateTime<Utc>,
    pub has_vectors: bool,
}

/// The [`SearchScope`] of a search of `ids`. Nothing is locked: a search writes nothing, and a
/// share lock would make every search write its folders' rows.
pub async fn search_scope(
    db: impl PgExecutor<'_>,
    org_id: Uuid,
    ids: &[Uuid],
) -> StoreResult<SearchScope> {
    let row = sqlx::query!(
        r#"SELECT f.owned AS "owned!", l.id AS "llm_id?", l.updated_at AS "updated_at?",
               EXISTS (SELECT 1 FROM knowledge_embeddings v
                       WHERE v.llm_id = l.id AND v.model = l.model) AS "has_vectors!"
           FROM (SELECT coalesce(array_agg(id), '{}') AS owned FROM knowledge_folders
                 WHERE org_id = $1 AND id = ANY($2)) f
               LEFT JOIN LATERAL (
                   SELECT id, model, updated_at FROM llms
                   WHERE org_id = $1 AND kind = 'embedding'
                   ORDER BY created_at DESC, id DESC LIMIT 1) l ON true"#,
        org_id,
        ids,
    )
    .fetch_one(db)
    .await?;
    let model = match (row.llm_id, row.updated_at) {
        (Some(llm_id), Some(updated_at)) => Some(ModelStamp {
            llm_id,
            updated_at,
            has_vectors: row.has_vectors,
        }),
        _ => None,
    };
    Ok(SearchScope {
        owned: row.owned,
        model,
    })
}

/// Each of `ids` that is not a folder of the organization, as a violation naming `field[i]` (the
/// same words for one that does not exist and one of another organization). Share-locks the
/// folders found, as [`owned`] does.
pub async fn check_owned(
    db: impl PgExecutor<'_>,
    org_id: Uuid,
    ids: &[Uuid],
    field: &str,
) -> StoreResult<hookline_schema::Violations> {
    let found = owned(db, org_id, ids).await?;
    let mut v = hookline_schema::Violations::new();
    for (i, id) in ids.iter().enumerate() {
        if !found.contains(id) {
            v.rule(
                format!("{field}[{i}]"),
                "is not a folder of your organization",
            );
        }
    }
    Ok(v)
}
