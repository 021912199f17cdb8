//! The background work that gives ready documents their vectors: every process runs one worker
//! that claims a due document (`repo::knowledge::embeddings::claim`), sends its chunks to the
//! organization's embedding model in bounded batches, and stores each batch's vectors in one
//! statement. A failure (the model down, a bad answer) is written on the document with a
//! backoff and tried again later; the document stays `ready` and searchable lexically
//! throughout.

use std::time::Duration;

use hookline_core::http::CoreState;
use hookline_core::repo::knowledge::embeddings::{self, Due, Pending};
use hookline_core::repo::llms;
use hookline_core::StoreError;
use tokio::sync::watch;
use uuid::Uuid;

use super::client::{EmbedBounds, EmbedFailure, Embedder, Model};

/// How often an idle worker looks for documents to embed.
const POLL: Duration = Duration::from_secs(1);
/// How long a claimed document is kept; renewed after every batch, and longer than one
/// batch may take (an entry's `timeoutSeconds` is at most 120).
const LEASE: Duration = Duration::from_secs(300);
/// The longest wait between tries is the first wait times this.
const MAX_BACKOFF_FACTOR: u32 = 64;

/// Starts this process's embedding worker; it stops (giving back its document) once `stop`
/// turns true.
pub fn spawn(
    state: CoreState,
    embedder: Embedder,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let stopping = *stop.borrow();
            if stopping {
                return;
            }
            // While the database is known to be away (`db::away` probes it on its own
            // connection) a claim would only fail: wait out the poll quietly instead.
            let claimed = if state.away.is_away() {
                Ok(None)
            } else {
                embeddings::claim(&state.pool, LEASE).await
            };
            match claimed {
                Ok(Some(due)) => {
                    let id = due.document_id;
                    let stopped = tokio::select! {
                        () = embed_document(&state, &embedder, due) => false,
                        _ = stop.wait_for(|s| *s) => true,
                    };
                    if !stopped {
                        continue;
                    }
                    if let Err(e) = embeddings::release(&state.pool, id).await {
                        tracing::warn!(document_id = %id, error = %e, "could not give back a document being embedded");
                    }
                    return;
                }
                Ok(None) => {}
                // Has it looked whether the database is away (and said so once).
                Err(StoreError::Unavailable) => state.away.noticed(),
                Err(e) => tracing::warn!(error = %e, "could not claim a document to embed"),
            }
            tokio::select! {
                () = tokio::time::sleep(POLL) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
        }
    })
}

/// The wait after the `attempts`-th failure in a row: the setting, doubled each time, at most
/// [`MAX_BACKOFF_FACTOR`] times it.
pub fn backoff(first: Duration, attempts: i32) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1))
        .unwrap_or(0)
        .min(6);
    first * (1u32 << doublings).min(MAX_BACKOFF_FACTOR)
}

async fn embed_document(state: &CoreState, embedder: &Embedder, due: Due) {
    let id = due.document_id;
    let outcome = embed_all(state, embedder, &due).await;
    let written = match &outcome {
        // The database went away meanwhile: nothing can be written now, and the vectors
        // stored so far are kept (the next claim skips them).
        Err(Failed::Store(StoreError::Unavailable)) => Err(StoreError::Unavailable),
        Ok(Some(count)) => {
            tracing::info!(document_id = %id, chunks = count, "document embedded");
            embeddings::finish(&state.pool, id, due.llm_id, &due.model).await
        }
        // The model changed (or went) since the claim: the next claim takes the new one.
        Ok(None) => embeddings::release(&state.pool, id).await,
        Err(Failed::Store(e)) => {
            tracing::warn!(document_id = %id, error = %e, "could not store a document's vectors");
            let wait = backoff(state.settings.knowledge.embed_retry, due.attempts);
            embeddings::fail(
                &state.pool,
                id,
                "the vectors could not be stored; will try again",
                wait,
            )
            .await
        }
        Err(Failed::Model(failure)) => {
            let wait = backoff(state.settings.knowledge.embed_retry, due.attempts);
            tracing::warn!(document_id = %id, error = %failure, retry_in_s = wait.as_secs(), "could not embed a document");
            embeddings::fail(&state.pool, id, &failure.to_string(), wait).await
        }
    };
    match written {
        Ok(()) => {}
        Err(StoreError::Unavailable) => give_back_once_back(state, id).await,
        Err(e) => {
            tracing::warn!(document_id = %id, error = %e, "could not write a document's embedding state");
        }
    }
}

/// The database went away while the document was claimed: says so to `away` (which probes it
/// and logs the outage once), waits quietly until it answers again, then gives the document
/// back, so it is claimed again at once rather than when its lease runs out minutes later.
async fn give_back_once_back(state: &CoreState, id: Uuid) {
    loop {
        state.away.noticed();
        tokio::time::sleep(POLL).await;
        if state.away.is_away() {
            continue;
        }
        match embeddings::release(&state.pool, id).await {
            Ok(()) => return,
            Err(StoreError::Unavailable) => {}
            Err(e) => {
                tracing::warn!(document_id = %id, error = %e, "could not give back a document being embedded");
                return;
            }
        }
    }
}

enum Failed {
    Model(EmbedFailure),
    Store(StoreError),
}

impl From<StoreError> for Failed {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

/// Embeds every chunk of the document that has no vector of the claimed model yet: the count
/// embedded, or `None` when the organization's model is no longer the one claimed.
async fn embed_all(
    state: &CoreState,
    embedder: &Embedder,
    due: &Due,
) -> Result<Option<usize>, Failed> {
    let settings = &state.settings.knowledge;
    let Some(llm) = llms::embedding_model(&state.pool, due.org_id).await? else {
        return Ok(None);
    };
    if llm.id != due.llm_id || llm.model != due.model {
        return Ok(None);
    }
    let model = Model::open(llm, &state.settings.secrets).map_err(Failed::Model)?;
    let bounds = EmbedBounds {
        dimensions: settings.embed_dimensions,
        response_bytes: settings.embed_response_bytes,
        time: model.timeout(),
    };
    let limit = i64::try_from(settings.embed_batch).unwrap_or(i64::MAX);
    // One organization's vectors from one model all have one length: a search compares them
    // with one query vector. Read once; after the first batch this claim's own length holds.
    let mut stored = embeddings::dimensions(&state.pool, due.llm_id, &due.model).await?;
    // The document's chunks are walked once, in order: every chunk up to `after` has its
    // vector (stored by this claim, or found already there after a crash or a lost lease).
    let mut after = -1;
    let mut done = 0;
    loop {
        let window = embeddings::pending(
            &mut *state.pool.acquire().await.map_err(StoreError::from)?,
            due.document_id,
            due.llm_id,
            &due.model,
            after,
            limit,
        )
        .await?;
        let Some(last) = window.last().map(|p| p.ordinal) else {
            return Ok(Some(done));
        };
        let todo: Vec<Pending> = window.into_iter().filter(|p| !p.embedded).collect();
        if todo.is_empty() {
            after = last;
            continue;
        }
        let batch = within_bytes(todo, settings.embed_batch_bytes);
        let texts: Vec<String> = batch.iter().map(|p| p.text.clone()).collect();
        let vectors = embedder
            .embed(&model, &texts, bounds)
            .await
            .map_err(Failed::Model)?;
        let dimensions = vectors.first().map_or(0, Vec::len);
        let dimensions = i32::try_from(dimensions).unwrap_or(i32::MAX);
        if let Some(stored) = stored {
            if stored != dimensions {
                return Err(Failed::Model(EmbedFailure::Invalid(format!(
                    "the embedding model answered vectors of {dimensions} dimensions, but the \
                     vectors it made before have {stored}; to change dimensions, create a new \
                     embedding LLM entry (everything is embedded again)"
                ))));
            }
        }
        let ids: Vec<i64> = batch.iter().map(|p| p.chunk_id).collect();
        let flat: Vec<f32> = vectors.into_iter().flatten().collect();
        embeddings::store(
            &state.pool,
            due.folder_id,
            due.llm_id,
            &due.model,
            &ids,
            dimensions,
            &flat,
        )
        .await?;
        embeddings::renew(&state.pool, due.document_id, LEASE).await?;
        stored = Some(dimensions);
        // A batch cut short by its bytes leaves the rest of the window for the next read.
        after = batch.last().map_or(last, |p| p.ordinal);
        done += ids.len();
    }
}

/// The first chunks whose text fits `max_bytes` together; at least one, so a chunk larger than
/// the bound goes alone rather than never.
fn within_bytes(pending: Vec<Pending>, max_bytes: usize) -> Vec<Pending> {
    let mut total = 0;
    let mut batch = Vec::new();
    for p in pending {
        total += p.text.len();
        if !batch.is_empty() && total > max_bytes {
            break;
        }
        batch.push(p);
    }
    batch
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let first = Duration::from_secs(30);
        assert_eq!(backoff(first, 1), first);
        assert_eq!(backoff(first, 2), first * 2);
        assert_eq!(backoff(first, 7), first * 64);
        assert_eq!(backoff(first, 100), first * 64);
        assert_eq!(backoff(first, 0), first);
    }

    #[test]
    fn a_batch_keeps_within_its_bytes() {
        let p = |n: usize| Pending {
            chunk_id: n as i64,
            ordinal: n as i32,
            text: "x".repeat(n),
            embedded: false,
        };
        let ids = |b: Vec<Pending>| b.iter().map(|p| p.chunk_id).collect::<Vec<_>>();
        assert_eq!(ids(within_bytes(vec![p(4), p(5), p(6)], 10)), [4, 5]);
        assert_eq!(ids(within_bytes(vec![p(40), p(5)], 10)), [40]);
    }
}
