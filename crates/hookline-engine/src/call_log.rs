//! Writes the call log and the session events off the request's critical path: handlers queue
//! what happened and writers commit it in groups. Each session belongs to one of `WRITERS`
//! writers, which writes in the order things were queued (so a call's `toolCallStarted` always
//! precedes its end), while different sessions are written side by side.

use serde_json::Value;
use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use hookline_core::durable_write;
use hookline_core::repo::batch::{self, Batch};
use hookline_core::repo::{events, tool_calls};
use hookline_core::EventName;

const BATCH: usize = 256;
const WRITERS: usize = 4;

#[derive(Debug)]
pub enum Entry {
    Event {
        session_id: Uuid,
        event: EventName,
        data: Value,
    },
    /// A call's end, with its last event: the two are written in one transaction, so a call is
    /// never seen finished without its event (which would let `sessionEnded` overtake it).
    Finish {
        session_id: Uuid,
        finish: Box<tool_calls::Finish>,
        event: EventName,
        data: Value,
    },
    /// Answered once everything queued before it is written.
    Flush(oneshot::Sender<()>),
}

/// Where a call settled before its answer records its events and its end instead of the call
/// log, when its caller keeps a writer of its own for the session: the conversation runtime's
/// turn writer, so that a tool's `toolCallStarted`/`toolCallCompleted` are numbered in order with
/// the turn's words without the turn waiting for this log to be written (see
/// [`crate::Engine::call`] for which calls may use it). Both methods queue and return at once; the
/// recorder writes in the order given, and writes an end with its event in one transaction.
pub trait CallRecorder: Send + Sync {
    /// An event of the call's session.
    fn event(&self, event: EventName, data: Value);
    /// The call's end, with its last event.
    fn finish(&self, finish: tool_calls::Finish, event: EventName, data: Value);
    /// Resolves once everything queued so far is written (a repeated `toolCallId` looks again
    /// at a call whose end may still be queued here).
    fn written(&self) -> futures::future::BoxFuture<'_, ()>;
}

#[derive(Clone)]
pub struct CallLog {
    txs: Vec<mpsc::Sender<Entry>>,
}

impl CallLog {
    /// Starts the writers; they run until every `CallLog` handle is dropped, writing what is
    /// queued.
    pub fn start(pool: PgPool) -> Self {
        let txs = (0..WRITERS)
            .map(|_| {
                // Bounded so a writer that falls behind (or waits out an outage) slows
                // handlers down instead of growing memory.
                let (tx, rx) = mpsc::channel(2_048);
                tokio::spawn(write_loop(pool.clone(), rx));
                tx
            })
            .collect();
        Self { txs }
    }

    fn writer(&self, session_id: Uuid) -> &mpsc::Sender<Entry> {
        &self.txs[(session_id.as_u128() % WRITERS as u128) as usize]
    }

    pub async fn push(&self, entry: Entry) {
        let tx = match &entry {
            Entry::Event { session_id, .. } | Entry::Finish { session_id, .. } => {
                self.writer(*session_id)
            }
            Entry::Flush(_) => &self.txs[0],
        };
        if tx.send(entry).await.is_err() {
            tracing::error!("the call log writer has stopped; an entry was not written");
        }
    }

    pub async fn event(&self, session_id: Uuid, event: EventName, data: Value) {
        self.push(Entry::Event {
            session_id,
            event,
            data,
        })
        .await;
    }

    /// Waits until everything queued so far for this session is written (its writer writes in
    /// order, so one flush behind the queued entries is enough).
    pub async fn flush_session(&self, session_id: Uuid) {
        let (done, wait) = oneshot::channel();
        if self
            .writer(session_id)
            .send(Entry::Flush(done))
            .await
            .is_ok()
        {
            let _ = wait.await;
        }
    }

    /// Waits until everything queued so far is written, by every writer.
    pub async fn flush(&self) {
        let waits = self.txs.iter().map(|tx| async move {
            let (done, wait) = oneshot::channel();
            if tx.send(Entry::Flush(done)).await.is_ok() {
                let _ = wait.await;
            }
        });
        futures::future::join_all(waits).await;
    }
}

async fn write_loop(pool: PgPool, mut rx: mpsc::Receiver<Entry>) {
    let mut batch = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        let mut flushes = Vec::new();
        let mut finishes = Vec::new();
        let mut new_events = Vec::new();
        for entry in batch.drain(..) {
            match entry {
                Entry::Flush(done) => flushes.push(done),
                Entry::Finish {
                    session_id,
                    finish,
                    event,
                    data,
                } => {
                    finishes.push(*finish);
                    new_events.push(events::NewEvent {
                        session_id,
                        event,
                        data,
                    });
                }
                Entry::Event {
                    session_id,
                    event,
                    data,
                } => new_events.push(events::NewEvent {
                    session_id,
                    event,
                    data,
                }),
            }
        }
        if !finishes.is_empty() || !new_events.is_empty() {
            // The entries describe calls already answered: while the database is away the
            // writer holds them and takes nothing new, so its queue fills and handlers wait
            // ([`durable_write`]). Only a write that fails twice for another reason is lost.
            let written =
                durable_write::retry("call log", || write(&pool, &finishes, &new_events)).await;
            if let Err(e) = written {
                let lost = finishes.len() + new_events.len();
                tracing::error!(error = %e, entries = lost, "call log entries lost");
            }
        }
        for done in flushes {
            let _ = done.send(());
        }
    }
}

/// Writes a group in one statement (ends of calls, events numbered and announced: one round
/// trip, see [`batch`]); in a transaction when a session of it has ended and its `sessionEnded`
/// is to follow these events. This pool does not wait for the disk, so the announcements go with
/// the writes.
async fn write(
    pool: &PgPool,
    finishes: &[tool_calls::Finish],
    new_events: &[events::NewEvent],
) -> Result<(), hookline_core::StoreError> {
    batch::write(
        pool,
        &Batch {
            finishes,
            events: new_events,
            ..Batch::default()
        },
    )
    .await
}
