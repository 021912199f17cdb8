//! Vectors of knowledge chunks, made by the organization's embedding model, and the exact
//! nearest-neighbour search over them. A ready document is also an embedding job: it is due
//! whenever its vectors were not made by the organization's current embedding model (the newest
//! LLM entry of kind `embedding`), claimed by pushing its `embed_after` past now (the lease),
//! and after a failure not due again before its backoff ran out.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::time::Duration;

use futures::TryStreamExt;
use sqlx::{Connection, PgConnection, PgExecutor};
use uuid::Uuid;

use crate::error::StoreResult;

/// A document whose chunks need vectors from `llm_id`'s `model`.
#[derive(Debug, Clone)]
pub struct Due {
    pub document_id: Uuid,
    pub org_id: Uuid,
    pub folder_id: Uuid,
    pub llm_id: Uuid,
    pub model: String,
    /// Claims since its last success, this one included.
    pub attempts: i32,
}

fn millis(d: Duration) -> f64 {
    d.as_millis() as f64
}

/// Claims the ready document that has waited longest for vectors of its organization's
/// embedding model, keeping it for `lease`. Concurrent claimers skip each other's rows.
pub async fn claim(db: impl PgExecutor<'_>, lease: Duration) -> StoreResult<Option<Due>> {
    let due = sqlx::query!(
        r#"WITH model AS (
               SELECT DISTINCT ON (org_id) org_id, id, model FROM llms
               WHERE kind = 'embedding' ORDER BY org_id, created_at DESC, id DESC),
           due AS (
               SELECT d.id, m.id AS llm_id, m.model FROM model m
                   JOIN knowledge_documents d ON d.org_id = m.org_id
               WHERE d.status = 'ready' AND d.embed_after <= now()
                   AND (d.embedded_llm_id IS DISTINCT FROM m.id
                        OR d.embedded_model IS DISTINCT FROM m.model)
               ORDER BY d.embed_after, d.id LIMIT 1
               FOR UPDATE OF d SKIP LOCKED)
           UPDATE knowledge_documents d
           SET embed_after = now() + $1 * interval '1 millisecond',
               embed_attempts = d.embed_attempts + 1
           FROM due WHERE d.id = due.id
           RETURNING d.id, d.org_id, d.folder_id, due.llm_id AS "llm_id!",
               due.model AS "model!", d.embed_attempts"#,
        millis(lease),
    )
    .fetch_optional(db)
    .await?;
    Ok(due.map(|d| Due {
        document_id: d.id,
        org_id: d.org_id,
        folder_id: d.folder_id,
        llm_id: d.llm_id,
        model: d.model,
        attempts: d.embed_attempts,
    }))
}

/// Keeps a claimed document for `lease` more (after each batch, so a large document's work is
/// never taken over while it goes on).
pub async fn renew(db: impl PgExecutor<'_>, document_id: Uuid, lease: Duration) -> StoreResult<()> {
    sqlx::query!(
        "UPDATE knowledge_documents SET embed_after = now() + $2 * interval '1 millisecond'
         WHERE id = $1",
        document_id,
        millis(lease),
    )
    .execute(db)
    .await?;
    Ok(())
}

/// A chunk's text as it is embedded: its heading path, then its content.
#[derive(Debug, Clone)]
pub struct Pending {
    pub chunk_id: i64,
    /// Its place in the document: the worker's cursor.
    pub ordinal: i32,
    pub text: String,
    /// It has a vector of the claimed model already (a claim taken over after a crash finds
    /// those it need not send again).
    pub embedded: bool,
}

/// The document's next `limit` chunks after ordinal `after`, in order, each saying whether it
/// has a vector of `llm_id`'s `model` yet; empty once the document's chunks are all read.
///
/// The worker walks a document once per claim with this cursor, so a batch reads `limit`
/// chunks by the `(document_id, ordinal)` index and looks up `limit` vectors by primary key,
/// whatever the document's size or the table's statistics. Both halves are written so the
/// planner has no other choice (the window materialized, the lookup a `LATERAL … LIMIT 1`,
/// which is never turned into a join), and planned for each batch: asked as one anti-join
/// ("the first chunks without a vector"), it judged a new model's vectors rare (they arrive
/// after the last `ANALYZE`) and compared every chunk with every vector, 3–5 s a batch at
/// 20,000 chunks; with fresh statistics it read whole tables instead; and a plan cached while
/// the vectors table was nearly empty kept scanning it whole as it grew (docs/knowledge.md,
/// "Embedding").
pub async fn pending(
    conn: &mut PgConnection,
    document_id: Uuid,
    llm_id: Uuid,
    model: &str,
    after: i32,
    limit: i64,
) -> StoreResult<Vec<Pending>> {
    // Planned with this batch's values and the table's size now, never a generic plan kept from
    // the first batches (0.4 ms a batch planned each time, 20 ms with a plan kept from an
    // empty table, measured over a 20,000-chunk folder).
    let mut tx = conn.begin().await?;
    sqlx::query!("SET LOCAL plan_cache_mode = force_custom_plan")
        .execute(&mut *tx)
        .await?;
    let rows = sqlx::query!(
        r#"WITH next AS MATERIALIZED (
               SELECT id, ordinal, heading, content FROM knowledge_chunks
               WHERE document_id = $1 AND ordinal > $4
               ORDER BY ordinal LIMIT $5)
           SELECT n.id, n.ordinal,
               CASE WHEN n.heading IS NULL THEN n.content
                    ELSE n.heading || E'\n\n' || n.content END AS "text!",
               coalesce(v.llm_id = $2 AND v.model = $3, false) AS "embedded!"
           FROM next n LEFT JOIN LATERAL (
               SELECT llm_id, model FROM knowledge_embeddings WHERE chunk_id = n.id LIMIT 1) v
               ON true
           ORDER BY n.ordinal"#,
        document_id,
        llm_id,
        model,
        after,
        limit,
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows
        .into_iter()
        .map(|r| Pending {
            chunk_id: r.id,
            ordinal: r.ordinal,
            text: r.text,
            embedded: r.embedded,
        })
        .collect())
}

/// How many dimensions the vectors `llm_id`'s `model` made have (any one of them: every batch
/// is checked against the first), or none yet.
pub async fn dimensions(
    db: impl PgExecutor<'_>,
    llm_id: Uuid,
    model: &str,
) -> StoreResult<Option<i32>> {
    Ok(sqlx::query_scalar!(
        "SELECT cardinality(vector) FROM knowledge_embeddings WHERE llm_id = $1 AND model = $2
         LIMIT 1",
        llm_id,
        model,
    )
    .fetch_optional(db)
    .await?
    .flatten())
}

/// Stores one batch of vectors (all of `dimensions`, laid end to end in `flat`, the i-th for
/// `chunk_ids[i]`), replacing those another model made. Chunks deleted meanwhile are skipped.
pub async fn store(
    db: impl PgExecutor<'_>,
    folder_id: Uuid,
    llm_id: Uuid,
    model: &str,
    chunk_ids: &[i64],
    dimensions: i32,
    flat: &[f32],
) -> StoreResult<()> {
    // The folder's `vectors_version` moves in the same statement, so no instance keeps a copy
    // of the folder's vectors older than what it can read (crate::vectors).
    sqlx::query!(
        r#"WITH stored AS (
               INSERT INTO knowledge_embeddings (chunk_id, folder_id, llm_id, model, vector)
               SELECT t.id, $1, $2, $3, ($6::real[])[((t.n - 1) * $5 + 1)::int : (t.n * $5)::int]
               FROM unnest($4::bigint[]) WITH ORDINALITY AS t(id, n)
                   JOIN knowledge_chunks c ON c.id = t.id
               ON CONFLICT (chunk_id) DO UPDATE
                   SET folder_id = excluded.folder_id, llm_id = excluded.llm_id,
                       model = excluded.model, vector = excluded.vector
               RETURNING 1)
           UPDATE knowledge_folders SET vectors_version = vectors_version + 1
           WHERE id = $1 AND EXISTS (SELECT 1 FROM stored)"#,
        folder_id,
        llm_id,
        model,
        chunk_ids,
        i64::from(dimensions),
        flat,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// The document's vectors are all made by `llm_id`'s `model`: it is no longer due.
pub async fn finish(
    db: impl PgExecutor<'_>,
    document_id: Uuid,
    llm_id: Uuid,
    model: &str,
) -> StoreResult<()> {
    sqlx::query!(
        "UPDATE knowledge_documents SET embedded_llm_id = $2, embedded_model = $3,
             embed_attempts = 0, embedding_error = NULL, embed_after = now()
         WHERE id = $1",
        document_id,
        llm_id,
        model,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// The try failed: `reason` is shown on the document, which is due again after `retry`.
pub async fn fail(
    db: impl PgExecutor<'_>,
    document_id: Uuid,
    reason: &str,
    retry: Duration,
) -> StoreResult<()> {
    sqlx::query!(
        "UPDATE knowledge_documents SET embedding_error = $2,
             embed_after = now() + $3 * interval '1 millisecond'
         WHERE id = $1",
        document_id,
        reason,
        millis(retry),
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Gives a claimed document back at once (its process is stopping, or its model changed).
pub async fn release(db: impl PgExecutor<'_>, document_id: Uuid) -> StoreResult<()> {
    sqlx::query!(
        "UPDATE knowledge_documents SET embed_after = now(),
             embed_attempts = greatest(embed_attempts - 1, 0)
         WHERE id = $1",
        document_id,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// The nearest chunks found, best first, and whether the folders held more vectors than were
/// compared.
#[derive(Debug, Clone, Default)]
pub struct Nearest {
    /// Chunk ids with their cosine similarity to the query.
    pub chunks: Vec<(i64, f32)>,
    pub truncated: bool,
}

/// Exact nearest neighbours: reads the vectors `llm_id`'s `model` made for the organization's
/// folders among `folder_ids` (at most `max` of them, as the table holds them) and keeps the
/// `depth` most similar to `query` (of a positive similarity). Vectors are stored at unit length and `query` must be too,
/// so cosine similarity is their dot product. Rows are compared as they stream in, so memory
/// holds `depth` results whatever `max` is; the cost is reading `max` × dimensions × 4 bytes.
///
/// Where Postgres has the `vector` extension, this is the one function to change: a `vector`
/// column with an HNSW index answers `ORDER BY vector <=> $query LIMIT depth` without reading
/// every vector (docs/knowledge.md, "Exact or HNSW").
#[allow(clippy::too_many_arguments)]
pub async fn nearest(
    conn: &mut PgConnection,
    org_id: Uuid,
    folder_ids: &[Uuid],
    llm_id: Uuid,
    model: &str,
    query: &[f32],
    max: i64,
    depth: usize,
) -> StoreResult<Nearest> {
    let mut rows = sqlx::query!(
        r#"SELECT v.chunk_id, v.vector AS "vector!: Vec<f32>" FROM knowledge_embeddings v
           WHERE v.folder_id IN (SELECT id FROM knowledge_folders WHERE org_id = $1 AND id = ANY($2))
               AND v.llm_id = $3 AND v.model = $4
           LIMIT $5"#,
        org_id,
        folder_ids,
        llm_id,
        model,
        max.saturating_add(1),
    )
    .fetch(&mut *conn);
    let mut best = Best::new(depth);
    let mut seen: i64 = 0;
    while let Some(row) = rows.try_next().await? {
        seen += 1;
        if seen > max {
            break;
        }
        if row.vector.len() != query.len() {
            continue;
        }
        best.offer(row.chunk_id, dot(&row.vector, query));
    }
    Ok(Nearest {
        chunks: best.ranked(),
        truncated: seen > max,
    })
}

/// The dot product of two vectors of one length. Sixteen running sums rather than one, so the
/// compiler keeps them in vector registers (a single sum is a chain of dependent additions,
/// several times slower); both search paths use this one function, so they find the same
/// similarities to the last bit.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    const LANES: usize = 16;
    let mut sums = [0.0f32; LANES];
    let (a_whole, b_whole) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (a_rest, b_rest) = (a_whole.remainder(), b_whole.remainder());
    for (x, y) in a_whole.zip(b_whole) {
        for i in 0..LANES {
            sums[i] += x[i] * y[i];
        }
    }
    let mut rest = 0.0f32;
    for (x, y) in a_rest.iter().zip(b_rest) {
        rest += x * y;
    }
    sums.iter().sum::<f32>() + rest
}

/// The `depth` most similar chunks offered, whatever the order they are offered in: best first,
/// ties by chunk id (the older chunk first).
pub struct Best {
    depth: usize,
    heap: BinaryHeap<Worst>,
}

impl Best {
    pub fn new(depth: usize) -> Self {
        Self {
            depth,
            heap: BinaryHeap::with_capacity(depth + 1),
        }
    }

    pub fn offer(&mut self, chunk_id: i64, similarity: f32) {
        // Unrelated (orthogonal or opposite) is no match, however few chunks there are.
        if similarity <= 0.0 || self.depth == 0 {
            return;
        }
        if self.heap.len() == self.depth {
            // Most chunks fall below the worst kept: no push and pop for them.
            if let Some(worst) = self.heap.peek() {
                if Worst(similarity, chunk_id).cmp(worst) != Ordering::Less {
                    return;
                }
            }
        }
        self.heap.push(Worst(similarity, chunk_id));
        if self.heap.len() > self.depth {
            self.heap.pop();
        }
    }

    pub fn ranked(self) -> Vec<(i64, f32)> {
        let mut chunks: Vec<(i64, f32)> =
            self.heap.into_iter().map(|Worst(s, id)| (id, s)).collect();
        chunks.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        chunks
    }
}

/// Orders a heap so that its top is the least similar chunk kept (the one to drop first).
#[derive(Debug, PartialEq)]
struct Worst(f32, i64);

impl Eq for Worst {}

impl PartialOrd for Worst {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Worst {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: the smallest similarity is the greatest, so it sits on top; among equals
        // the larger id goes first, keeping older chunks.
        other.0.total_cmp(&self.0).then(self.1.cmp(&other.1))
    }
}

/// The organization's folders among `folder_ids`, each with its `vectors_version` (which grows
/// with every change to its vectors); another organization's folders are not among them.
pub async fn folder_versions(
    db: impl PgExecutor<'_>,
    org_id: Uuid,
    folder_ids: &[Uuid],
) -> StoreResult<Vec<(Uuid, i64)>> {
    let rows = sqlx::query!(
        "SELECT id, vectors_version FROM knowledge_folders WHERE org_id = $1 AND id = ANY($2)
         ORDER BY id",
        org_id,
        folder_ids,
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.id, r.vectors_version))
        .collect())
}

/// One folder's vectors made by `llm_id`'s `model` that have `dimensions` dimensions, in chunk
/// order, laid end to end; at most `max` of them. `None` when the folder holds more (it is to
/// be searched without a copy in memory).
pub async fn load_folder(
    conn: &mut PgConnection,
    folder_id: Uuid,
    llm_id: Uuid,
    model: &str,
    dimensions: usize,
    max: usize,
) -> StoreResult<Option<(Vec<i64>, Vec<f32>)>> {
    let mut rows = sqlx::query!(
        r#"SELECT chunk_id, vector AS "vector!: Vec<f32>" FROM knowledge_embeddings
           WHERE folder_id = $1 AND llm_id = $2 AND model = $3
           ORDER BY chunk_id LIMIT $4"#,
        folder_id,
        llm_id,
        model,
        i64::try_from(max).unwrap_or(i64::MAX).saturating_add(1),
    )
    .fetch(&mut *conn);
    let mut ids = Vec::new();
    let mut flat = Vec::new();
    while let Some(row) = rows.try_next().await? {
        if ids.len() == max {
            return Ok(None);
        }
        // The search skips a vector of another length; so does its copy.
        if row.vector.len() != dimensions {
            continue;
        }
        ids.push(row.chunk_id);
        flat.extend_from_slice(&row.vector);
    }
    ids.shrink_to_fit();
    flat.shrink_to_fit();
    Ok(Some((ids, flat)))
}
