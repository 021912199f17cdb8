//! Document processing, durable in Postgres: every process runs a few workers that claim a
//! document in `processing` under a lease (`FOR UPDATE SKIP LOCKED`), cut its file into chunks
//! on a blocking thread within the document's time and size bounds, and write the chunks with
//! the document's `ready` (or its `failed` and the reason) in one transaction fenced by the
//! lease. The lease outlasts the work's time bound, so a live worker always finishes first; a
//! process that died leaves its claims to be taken again once their leases run out, and one that
//! stops gives them back at once.

mod chunks;
mod docx;
mod extract;
mod json;
mod markdown;
mod pdf;
mod prose;
mod records;
mod sections;

use std::sync::Arc;
use std::time::{Duration, Instant};

use hookline_core::http::CoreState;
use hookline_core::repo::knowledge::chunks as chunk_rows;
use hookline_core::repo::knowledge::documents::{self, Claimed};
use hookline_core::StoreError;
use tokio::sync::{watch, Notify};
use uuid::Uuid;

pub use chunks::Failure;

use crate::file_type::FileType;

/// Claims of one document at most: a document that stopped its process this many times (a
/// crash while reading it, say) fails rather than going round forever.
const MAX_ATTEMPTS: i32 = 3;
/// How often an idle worker looks for documents uploaded to other processes.
const POLL: Duration = Duration::from_secs(1);

/// Wakes this process's idle workers: an upload here need not wait for the next poll. A static,
/// not state, because the upload service has only the shared `CoreState`; an extra wake-up of
/// another app in the same process (tests) costs one empty claim.
static WAKE: Notify = Notify::const_new();

pub fn wake() {
    WAKE.notify_waiters();
}

/// Starts the process's workers; they stop (giving back what they hold) once `stop` turns true.
pub fn spawn(state: CoreState, stop: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
    let holder = Uuid::new_v4();
    let workers = state.settings.knowledge.workers;
    let state = Arc::new(state);
    tokio::spawn(async move {
        let mut running = tokio::task::JoinSet::new();
        for _ in 0..workers {
            running.spawn(work(state.clone(), holder, stop.clone()));
        }
        while running.join_next().await.is_some() {}
        match documents::give_back(&state.pool, holder).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(documents = n, "gave back documents being processed"),
            Err(e) => tracing::warn!(error = %e, "could not give back documents being processed"),
        }
    })
}

async fn work(state: Arc<CoreState>, holder: Uuid, mut stop: watch::Receiver<bool>) {
    while !*stop.borrow() {
        // Asked for before the claim, so an upload committed during it is not missed.
        let woken = WAKE.notified();
        match claim(&state, holder).await {
            Ok(Some(doc)) => {
                tokio::select! {
                    () = process(&state, holder, doc) => {}
                    // A stopping process leaves the document to be given back, unfinished.
                    _ = stop.wait_for(|s| *s) => return,
                }
                continue;
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "could not claim a document to process"),
        }
        tokio::select! {
            () = woken => {}
            () = tokio::time::sleep(POLL) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

async fn claim(state: &CoreState, holder: Uuid) -> Result<Option<Claimed>, StoreError> {
    let mut conn = state.pool.acquire().await?;
    documents::claim(&mut conn, holder, state.settings.knowledge.lease()).await
}

/// Processes one claimed document to its end, ready or failed.
async fn process(state: &CoreState, holder: Uuid, mut doc: Claimed) {
    let started = Instant::now();
    let outcome = if doc.attempts > MAX_ATTEMPTS {
        Err(Failure(format!(
            "processing stopped {MAX_ATTEMPTS} times before it finished"
        )))
    } else {
        cut(state, &doc.content_type, std::mem::take(&mut doc.content)).await
    };
    let written = match &outcome {
        Ok(chunks) => write_ready(state, holder, &doc, chunks).await,
        Err(failure) => write_failed(state, holder, &doc, &failure.0).await,
    };
    match written {
        Ok(true) => tracing::info!(
            document_id = %doc.id,
            ready = outcome.is_ok(),
            chunks = outcome.as_ref().map_or(0, Vec::len),
            ms = started.elapsed().as_millis() as u64,
            "document processed"
        ),
        // Deleted meanwhile, or (never within the lease) taken over.
        Ok(false) => tracing::info!(document_id = %doc.id, "document gone before it was written"),
        Err(e) => {
            tracing::warn!(document_id = %doc.id, error = %e, "could not write a processed document")
        }
    }
}

/// The document's chunks, made on a blocking thread within its time bound.
async fn cut(
    state: &CoreState,
    content_type: &str,
    content: Vec<u8>,
) -> Result<Vec<chunk_rows::NewChunk>, Failure> {
    let settings = &state.settings.knowledge;
    let Some(kind) = FileType::of_content_type(content_type) else {
        return Err(Failure(format!("{content_type} cannot be read")));
    };
    let limit = settings.document_time;
    let collector =
        chunks::Collector::new(settings.max_chunks, Instant::now() + limit, limit.as_secs());
    let job = tokio::task::spawn_blocking(move || extract::chunks(kind, &content, collector));
    match tokio::time::timeout(limit, job).await {
        Ok(Ok(result)) => result,
        Ok(Err(_panicked)) => Err(Failure::new("the document could not be read")),
        // The extractors check the time as they go; this is for one stuck inside a library call.
        Err(_) => Err(Failure(format!(
            "processing took longer than {} s (HOOKLINE_KNOWLEDGE_DOCUMENT_SECONDS)",
            limit.as_secs()
        ))),
    }
}

async fn write_ready(
    state: &CoreState,
    holder: Uuid,
    doc: &Claimed,
    chunks: &[chunk_rows::NewChunk],
) -> Result<bool, StoreError> {
    let mut tx = state.pool.begin().await?;
    let count = i32::try_from(chunks.len()).unwrap_or(i32::MAX);
    if !documents::finish_ready(&mut tx, doc.id, holder, count).await? {
        return Ok(false);
    }
    chunk_rows::insert(&mut tx, doc.id, doc.folder_id, chunks).await?;
    tx.commit().await?;
    if let Err(e) = chunk_rows::merge_pending(&state.pool).await {
        // Searches only read more until the next merge; the document is ready all the same.
        tracing::warn!(document_id = %doc.id, error = %e, "could not merge the search index's pending entries");
    }
    Ok(true)
}

async fn write_failed(
    state: &CoreState,
    holder: Uuid,
    doc: &Claimed,
    reason: &str,
) -> Result<bool, StoreError> {
    let mut tx = state.pool.begin().await?;
    if !documents::finish_failed(&mut tx, doc.id, Some(holder), reason).await? {
        return Ok(false);
    }
    tx.commit().await?;
    Ok(true)
}
