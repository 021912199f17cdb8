//! Knowledge documents. A document in `processing` is also a job: claimed by one instance under a
//! lease ([`claim`]), finished by that holder only ([`finish_ready`], [`finish_failed`]).

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgExecutor};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::StoreResult;
use crate::repo::Page;

/// Where a document is: `processing` until it is `ready` (searchable) or `failed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, sqlx::Type)]
#[serde(rename_all = "lowercase")]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub enum DocumentStatus {
    Processing,
    Ready,
    Failed,
}

#[derive(Debug, Clone)]
pub struct StoredDocument {
    pub id: Uuid,
    pub folder_id: Uuid,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub status: DocumentStatus,
    pub error: Option<String>,
    pub chunk_count: Option<i32>,
    /// Why the last try to embed the document's chunks failed (cleared once it succeeds).
    pub embedding_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A new document's row, before it is stored.
pub struct NewDocument<'a> {
    pub id: Uuid,
    pub folder_id: Uuid,
    pub filename: &'a str,
    pub content_type: &'a str,
    pub content: &'a [u8],
}

/// Stores a document in `processing` with its file.
pub async fn insert(
    conn: &mut PgConnection,
    org_id: Uuid,
    doc: &NewDocument<'_>,
) -> StoreResult<StoredDocument> {
    let size = i64::try_from(doc.content.len()).unwrap_or(i64::MAX);
    let stored = sqlx::query_as!(
        StoredDocument,
        r#"INSERT INTO knowledge_documents (id, org_id, folder_id, filename, content_type, size)
           VALUES ($1, $2, $3, $4, $5, $6)
           RETURNING id, folder_id, filename, content_type, size, status AS "status: _", error,
               chunk_count, embedding_error, created_at, updated_at"#,
        doc.id,
        org_id,
        doc.folder_id,
        doc.filename,
        doc.content_type,
        size,
    )
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT INTO knowledge_files (document_id, content) VALUES ($1, $2)",
        doc.id,
        doc.content,
    )
    .execute(&mut *conn)
    .await?;
    Ok(stored)
}

/// The bytes the organization's documents take, counted under a lock of the organization's row
/// that lasts until the transaction ends, so two uploads cannot both pass a quota check.
pub async fn lock_storage_used(conn: &mut PgConnection, org_id: Uuid) -> StoreResult<i64> {
    // NO KEY UPDATE: a lock that other writes' foreign-key checks on the row do not wait for.
    sqlx::query!(
        "SELECT id FROM organizations WHERE id = $1 FOR NO KEY UPDATE",
        org_id
    )
    .fetch_optional(&mut *conn)
    .await?;
    Ok(sqlx::query_scalar!(
        r#"SELECT coalesce(sum(size), 0)::bigint AS "used!" FROM knowledge_documents
           WHERE org_id = $1"#,
        org_id
    )
    .fetch_one(&mut *conn)
    .await?)
}

pub async fn get(
    db: impl PgExecutor<'_>,
    org_id: Uuid,
    id: Uuid,
) -> StoreResult<Option<StoredDocument>> {
    Ok(sqlx::query_as!(
        StoredDocument,
        r#"SELECT id, folder_id, filename, content_type, size, status AS "status: _", error,
               chunk_count, embedding_error, created_at, updated_at
           FROM knowledge_documents WHERE org_id = $1 AND id = $2"#,
        org_id,
        id,
    )
    .fetch_optional(db)
    .await?)
}

/// Deletes a document with its file, chunks and vectors; its folder's `vectors_version` moves
/// in the same statement (instances keeping the folder's vectors in memory read them again).
pub async fn delete(db: impl PgExecutor<'_>, org_id: Uuid, id: Uuid) -> StoreResult<bool> {
    let deleted = sqlx::query_scalar!(
        r#"WITH gone AS (
               DELETE FROM knowledge_documents WHERE org_id = $1 AND id = $2 RETURNING folder_id),
           moved AS (
               UPDATE knowledge_folders SET vectors_version = vectors_version + 1
               WHERE id IN (SELECT folder_id FROM gone))
           SELECT count(*) AS "n!" FROM gone"#,
        org_id,
        id
    )
    .fetch_one(db)
    .await?;
    Ok(deleted == 1)
}

/// One page of a folder's documents, oldest first, with the total count.
pub async fn list(
    db: &mut PgConnection,
    org_id: Uuid,
    folder_id: Uuid,
    page: Page,
) -> StoreResult<(Vec<StoredDocument>, i64)> {
    let total = sqlx::query_scalar!(
        r#"SELECT count(*) AS "total!" FROM knowledge_documents
           WHERE org_id = $1 AND folder_id = $2"#,
        org_id,
        folder_id,
    )
    .fetch_one(&mut *db)
    .await?;
    let rows = sqlx::query_as!(
        StoredDocument,
        r#"SELECT id, folder_id, filename, content_type, size, status AS "status: _", error,
               chunk_count, embedding_error, created_at, updated_at
           FROM knowledge_documents WHERE org_id = $1 AND folder_id = $2
           ORDER BY created_at, id LIMIT $3 OFFSET $4"#,
        org_id,
        folder_id,
        page.per_page,
        page.offset(),
    )
    .fetch_all(&mut *db)
    .await?;
    Ok((rows, total))
}

/// A document claimed for processing, with its file.
#[derive(Debug)]
pub struct Claimed {
    pub id: Uuid,
    pub org_id: Uuid,
    pub folder_id: Uuid,
    pub filename: String,
    pub content_type: String,
    /// How many times it was claimed, this claim included.
    pub attempts: i32,
    pub content: Vec<u8>,
}

/// Claims the oldest document waiting for processing (never claimed, or its holder's lease ran
/// out) for `holder` until `lease` from now. Concurrent claimers skip each other's rows.
pub async fn claim(
    db: &mut PgConnection,
    holder: Uuid,
    lease: Duration,
) -> StoreResult<Option<Claimed>> {
    let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
    let Some(doc) = sqlx::query!(
        r#"UPDATE knowledge_documents SET lease_holder = $1,
               lease_until = now() + $2 * interval '1 millisecond', attempts = attempts + 1
           WHERE id = (
               SELECT id FROM knowledge_documents
               WHERE status = 'processing' AND (lease_until IS NULL OR lease_until < now())
               ORDER BY created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
           RETURNING id, org_id, folder_id, filename, content_type, attempts"#,
        holder,
        lease_ms as f64,
    )
    .fetch_optional(&mut *db)
    .await?
    else {
        return Ok(None);
    };
    let content = sqlx::query_scalar!(
        "SELECT content FROM knowledge_files WHERE document_id = $1",
        doc.id
    )
    .fetch_optional(&mut *db)
    .await?
    .unwrap_or_default();
    Ok(Some(Claimed {
        id: doc.id,
        org_id: doc.org_id,
        folder_id: doc.folder_id,
        filename: doc.filename,
        content_type: doc.content_type,
        attempts: doc.attempts,
        content,
    }))
}

/// Marks a claimed document ready with `chunk_count` chunks (written by the caller in the same
/// transaction) and drops its file. False when `holder` no longer holds it (nothing changes then,
/// once the caller rolls back).
pub async fn finish_ready(
    conn: &mut PgConnection,
    id: Uuid,
    holder: Uuid,
    chunk_count: i32,
) -> StoreResult<bool> {
    let done = sqlx::query!(
        "UPDATE knowledge_documents SET status = 'ready', chunk_count = $3, error = NULL,
             lease_holder = NULL, lease_until = NULL, updated_at = now()
         WHERE id = $1 AND lease_holder = $2 AND status = 'processing'",
        id,
        holder,
        chunk_count,
    )
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    drop_file(conn, id).await?;
    Ok(true)
}

/// Marks a claimed document failed with `reason` and drops its file; false when `holder` no
/// longer holds it. `holder` None fails it whoever holds it (a document out of attempts).
pub async fn finish_failed(
    conn: &mut PgConnection,
    id: Uuid,
    holder: Option<Uuid>,
    reason: &str,
) -> StoreResult<bool> {
    let done = sqlx::query!(
        "UPDATE knowledge_documents SET status = 'failed', error = $3, lease_holder = NULL,
             lease_until = NULL, updated_at = now()
         WHERE id = $1 AND ($2::uuid IS NULL OR lease_holder = $2) AND status = 'processing'",
        id,
        holder,
        reason,
    )
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    drop_file(conn, id).await?;
    Ok(true)
}

/// Gives back the claims `holder` still has (a stopping instance), so another takes them at once.
pub async fn give_back(db: impl PgExecutor<'_>, holder: Uuid) -> StoreResult<u64> {
    let done = sqlx::query!(
        "UPDATE knowledge_documents SET lease_holder = NULL, lease_until = NULL,
             attempts = greatest(attempts - 1, 0)
         WHERE lease_holder = $1 AND status = 'processing'",
        holder,
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

async fn drop_file(conn: &mut PgConnection, id: Uuid) -> StoreResult<()> {
    sqlx::query!("DELETE FROM knowledge_files WHERE document_id = $1", id)
        .execute(conn)
        .await?;
    Ok(())
}
