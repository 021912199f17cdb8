//! The searchable chunks of ready documents, and the lexical search over them.

use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use crate::error::StoreResult;

/// A piece of a document's text and where in the document it came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewChunk {
    pub content: String,
    /// The heading path above it (`Setup > Ports`), for prose.
    pub heading: Option<String>,
    /// The page (from 1), for a PDF.
    pub page: Option<i32>,
    /// The data row (from 1, the header not counted), for a CSV.
    pub row: Option<i32>,
    /// The line (from 1), for a log.
    pub line: Option<i32>,
}

/// Rows a single insert statement carries at most.
const BATCH: usize = 1000;

/// Writes a document's chunks, numbered in order.
pub async fn insert(
    conn: &mut PgConnection,
    document_id: Uuid,
    folder_id: Uuid,
    chunks: &[NewChunk],
) -> StoreResult<()> {
    for (n, batch) in chunks.chunks(BATCH).enumerate() {
        let first = i32::try_from(n * BATCH).unwrap_or(i32::MAX);
        let content: Vec<&str> = batch.iter().map(|c| c.content.as_str()).collect();
        let heading: Vec<Option<&str>> = batch.iter().map(|c| c.heading.as_deref()).collect();
        let page: Vec<Option<i32>> = batch.iter().map(|c| c.page).collect();
        let row: Vec<Option<i32>> = batch.iter().map(|c| c.row).collect();
        let line: Vec<Option<i32>> = batch.iter().map(|c| c.line).collect();
        sqlx::query!(
            r#"INSERT INTO knowledge_chunks
                   (document_id, folder_id, ordinal, content, heading, page, row_number, line_number)
               SELECT $1, $2, $3::int + t.n::int - 1, t.content, t.heading, t.page, t.row_number, t.line_number
               FROM UNNEST($4::text[], $5::text[], $6::int[], $7::int[], $8::int[])
                   WITH ORDINALITY AS t(content, heading, page, row_number, line_number, n)"#,
            document_id,
            folder_id,
            first,
            &content as &[&str],
            &heading as &[Option<&str>],
            &page as &[Option<i32>],
            &row as &[Option<i32>],
            &line as &[Option<i32>],
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// A chunk a search found.
#[derive(Debug, Clone)]
pub struct Found {
    pub document_id: Uuid,
    pub filename: String,
    pub folder_id: Uuid,
    pub content: String,
    pub heading: Option<String>,
    pub page: Option<i32>,
    pub row: Option<i32>,
    pub line: Option<i32>,
    pub score: f32,
}

/// The best `limit` chunks of the organization's ready documents in `folder_ids` that match
/// `any_word` (a `to_tsquery` text, `(refun:* | polic:*) & !spam`; empty finds nothing), best
/// first: ranked by how well they match `any_word` plus how well they match `query` taken in
/// web-search syntax (all its words, "phrases", or, -not), so chunks with the whole phrase or
/// every word come first.
pub async fn search(
    db: impl PgExecutor<'_>,
    org_id: Uuid,
    folder_ids: &[Uuid],
    query: &str,
    any_word: &str,
    limit: i64,
) -> StoreResult<Vec<Found>> {
    Ok(sqlx::query_as!(
        Found,
        r#"WITH q AS (
               SELECT websearch_to_tsquery('english', $3) AS every,
                   to_tsquery('english', $4) AS any)
           SELECT c.document_id, d.filename, c.folder_id, c.content, c.heading, c.page,
               c.row_number AS row, c.line_number AS line,
               ts_rank(c.search, q.every) + ts_rank(c.search, q.any) AS "score!"
           FROM q, knowledge_chunks c
               JOIN knowledge_documents d ON d.id = c.document_id
           WHERE c.search @@ q.any AND c.folder_id = ANY($2) AND d.org_id = $1
               AND d.status = 'ready'
           ORDER BY 9 DESC, c.id
           LIMIT $5"#,
        org_id,
        folder_ids,
        query,
        any_word,
        limit,
    )
    .fetch_all(db)
    .await?)
}
