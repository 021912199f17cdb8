//! Writes the call log and the session events off the request's critical path: handlers queue
//! what happened and a single writer commits it in groups, in the order it was queued (so a
//! call's `toolCallStarted` always precedes its end).

use serde_json::Value;
use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use hookline_core::repo::{events, tool_calls};

const BATCH: usize = 256;

#[derive(Debug)]
pub enum Entry {
    Event {
        session_id: Uuid,
        event: &'static str,
        data: Value,
    },
    Finish(Box<tool_calls::Finish>),
    /// Answered once everything queued before it is written.
    Flush(oneshot::Sender<()>),
}

#[derive(Clone)]
pub struct CallLog {
    tx: mpsc::Sender<Entry>,
}

impl CallLog {
    /// Starts the writer; it runs until every `CallLog` handle is dropped, writing what is queued.
    pub fn start(pool: PgPool) -> (Self, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(65_536);
        (Self { tx }, tokio::spawn(write_loop(pool, rx)))
    }

    pub async fn push(&self, entry: Entry) {
        if self.tx.send(entry).await.is_err() {
            tracing::error!("the call log writer has stopped; an entry was not written");
        }
    }

    pub async fn event(&self, session_id: Uuid, event: &'static str, data: Value) {
        self.push(Entry::Event {
            session_id,
            event,
            data,
        })
        .await;
    }

    /// Waits until everything queued so far is written.
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        self.push(Entry::Flush(done)).await;
        let _ = wait.await;
    }
}

async fn write_loop(pool: PgPool, mut rx: mpsc::Receiver<Entry>) {
    let mut batch = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        let mut flushes = Vec::new();
        let entries: Vec<Entry> = batch
            .drain(..)
            .filter_map(|e| match e {
                Entry::Flush(done) => {
                    flushes.push(done);
                    None
                }
                other => Some(other),
            })
            .collect();
        if !entries.is_empty() {
            // One retry covers a dropped connection; after that the entries are logged and lost
            // (they describe calls already answered; fire-and-forget calls never go this way).
            if let Err(first) = write(&pool, &entries).await {
                tracing::warn!(error = %first, "call log write failed; retrying once");
                if let Err(e) = write(&pool, &entries).await {
                    tracing::error!(error = %e, entries = entries.len(), "call log entries lost");
                }
            }
        }
        for done in flushes {
            let _ = done.send(());
        }
    }
}

/// Writes a group in one transaction: the ends of calls in one statement, the events in a few.
async fn write(pool: &PgPool, entries: &[Entry]) -> Result<(), hookline_core::StoreError> {
    let mut finishes = Vec::new();
    let mut new_events = Vec::new();
    for entry in entries {
        match entry {
            Entry::Event {
                session_id,
                event,
                data,
            } => new_events.push(events::NewEvent {
                session_id: *session_id,
                event,
                data: data.clone(),
            }),
            Entry::Finish(finish) => finishes.push((**finish).clone()),
            Entry::Flush(_) => {}
        }
    }
    let mut tx = pool.begin().await?;
    if !finishes.is_empty() {
        tool_calls::finish_many(&mut *tx, &finishes).await?;
    }
    if !new_events.is_empty() {
        events::append_many(&mut tx, &new_events).await?;
    }
    tx.commit().await?;
    Ok(())
}
