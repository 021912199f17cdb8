//! The searchable chunks of ready documents, and the lexical search over them.

use sqlx::{Connection, PgConnection};
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

/// Moves the entries the chunks' full-text indexes hold in their pending lists into the indexes
/// proper. New rows' words wait in such a list (up to `gin_pending_list_limit`, 4 MB by default)
/// until a vacuum or a later insert merges them, and every search reads the whole list meanwhile:
/// a few milliseconds a search after a large document. Merged after each document instead, so
/// searches read the index alone.
pub async fn merge_pending(db: impl sqlx::PgExecutor<'_>) -> StoreResult<()> {
    sqlx::query!(
        "SELECT gin_clean_pending_list('knowledge_chunks_search_idx'::regclass) AS text_entries,
             gin_clean_pending_list('knowledge_chunks_heading_idx'::regclass) AS heading_entries"
    )
    .fetch_one(db)
    .await?;
    Ok(())
}

/// A chunk a search found.
#[derive(Debug, Clone)]
pub struct Found {
    /// The chunk's own id (a hybrid search fuses rankings by it).
    pub id: i64,
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

/// What a search looks for, read from the caller's query in three ways.
#[derive(Debug, Clone, Copy)]
pub struct Query<'a> {
    /// The query as typed, in web-search syntax (all its words, "phrases", or, -not).
    pub text: &'a str,
    /// A `to_tsquery` text finding a chunk with any of the words, each also as a prefix, and none
    /// of the excluded ones: `(refun:* | polic:*) & !spam`; empty finds nothing.
    pub any_word: &'a str,
    /// A `to_tsquery` text finding a chunk with at least two of the words (`(a:* & b:*) | ...`);
    /// empty for a query of fewer than three words, where `text` says as much.
    pub two_words: &'a str,
    /// Each wanted word as a `to_tsquery` text of its own (`refun:*`).
    pub words: &'a [String],
}

/// The best `limit` chunks of the organization's ready documents in `folder_ids` that match
/// `query.any_word`, best first: ranked by how well they match `any_word` plus how well they
/// match `query.text`, so chunks with the whole phrase or every word come first.
///
/// Ranking reads each candidate's `tsvector`, so only a bounded set is ranked: at most
/// `candidates` chunks from each of the ways a chunk may match, from the most telling to the
/// least — every word (`text`), two of the words, a word in the heading path (which ranks above
/// the text), and each word on its own (sharing `candidates` among the words, so the chunks of a
/// rare word are never crowded out by those of a common one). Every tier is an index lookup;
/// only when a tier has more matches than its bound (never below `limit`) does the choice among
/// them follow the table's order rather than the rank.
pub async fn search(
    conn: &mut PgConnection,
    org_id: Uuid,
    folder_ids: &[Uuid],
    query: Query<'_>,
    limit: i64,
    candidates: i64,
) -> StoreResult<Vec<Found>> {
    // A plan made for this statement's values, never the cached generic one: not knowing the
    // bound, a generic plan reads the whole table in the hope of stopping early (seconds,
    // where the index lookups take milliseconds).
    let mut tx = conn.begin().await?;
    sqlx::query!("SET LOCAL plan_cache_mode = force_custom_plan")
        .execute(&mut *tx)
        .await?;
    // Folders are narrowed to the organization's first, so every lookup below keeps to them.
    // A chunk exists only for a ready document (written with its `ready`), the status check
    // on the few rows returned is kept as a second guard.
    let found = sqlx::query_as!(
        Found,
        r#"WITH q AS (
               SELECT websearch_to_tsquery('english', $3) AS every,
                   CASE WHEN $4 = '' THEN NULL ELSE to_tsquery('english', $4) END AS any,
                   CASE WHEN $5 = '' THEN NULL ELSE to_tsquery('english', $5) END AS two),
           f AS (
               SELECT coalesce(array_agg(id), '{}') AS ids
               FROM knowledge_folders WHERE org_id = $1 AND id = ANY($2)),
           candidate AS (
               (SELECT c.id FROM q, f, knowledge_chunks c
                WHERE c.search @@ q.every AND c.folder_id = ANY(f.ids) LIMIT greatest($6::bigint, $7::bigint))
               UNION
               (SELECT c.id FROM q, f, knowledge_chunks c
                WHERE c.search @@ q.two AND c.folder_id = ANY(f.ids) LIMIT greatest($6::bigint, $7::bigint))
               UNION
               (SELECT c.id FROM q, f, knowledge_chunks c
                WHERE c.heading IS NOT NULL
                    AND to_tsvector('english', coalesce(c.heading, '')) @@ q.any
                    AND c.folder_id = ANY(f.ids) LIMIT greatest($6::bigint, $7::bigint))
               UNION
               (SELECT one.id FROM unnest($8::text[]) AS w(word),
                    LATERAL (SELECT c.id FROM f, knowledge_chunks c
                             WHERE c.search @@ to_tsquery('english', w.word)
                                 AND c.folder_id = ANY(f.ids)
                             LIMIT greatest($6::bigint, $7::bigint / greatest(cardinality($8::text[]), 1))) one)),
           best AS (
               SELECT c.id, ts_rank(c.search, q.every) + ts_rank(c.search, q.any) AS score
               FROM q, candidate JOIN knowledge_chunks c USING (id)
               WHERE c.search @@ q.any
               ORDER BY 2 DESC, c.id
               LIMIT $6)
           SELECT c.id, c.document_id, d.filename, c.folder_id, c.content, c.heading, c.page,
               c.row_number AS row, c.line_number AS line, b.score AS "score!"
           FROM best b JOIN knowledge_chunks c USING (id)
               JOIN knowledge_documents d ON d.id = c.document_id
           WHERE d.org_id = $1 AND d.status = 'ready'
           ORDER BY b.score DESC, c.id"#,
        org_id,
        folder_ids,
        query.text,
        query.any_word,
        query.two_words,
        limit,
        candidates,
        query.words,
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(found)
}

/// The chunks `ids` of the organization's ready documents (a semantic match the lexical search
/// did not return), in no order, each with a score of 0 for the caller to set.
pub async fn by_ids(
    db: impl sqlx::PgExecutor<'_>,
    org_id: Uuid,
    ids: &[i64],
) -> StoreResult<Vec<Found>> {
    Ok(sqlx::query_as!(
        Found,
        r#"SELECT c.id, c.document_id, d.filename, c.folder_id, c.content, c.heading, c.page,
               c.row_number AS row, c.line_number AS line, 0::real AS "score!"
           FROM knowledge_chunks c JOIN knowledge_documents d ON d.id = c.document_id
           WHERE c.id = ANY($2) AND d.org_id = $1 AND d.status = 'ready'"#,
        org_id,
        ids,
    )
    .fetch_all(db)
    .await?)
}
