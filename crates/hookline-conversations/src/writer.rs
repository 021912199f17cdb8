//! A turn's writes, in order, off the turn's path. The turn hands over each write (the persona's
//! message placed at its first word and completed at the end of its round, the tool results,
//! every speech delta, the events and call-log ends of the tool calls the engine settles at once,
//! `messageHistoryUpdated`) and goes on reading the LLM's stream; one task per turn writes
//! whatever has piled up since its last commit together, in the order given, in one statement
//! (messages, calls' ends, events numbered, stored and announced, `messageHistoryUpdated` built
//! from the conversation with them; one round trip). Deltas that arrive
//! together are so written together (one commit instead of one per delta), and a slow commit
//! never holds back a tool call or the next delta.
//!
//! Order is what the contract needs from these writes, and one writer per turn keeps it: a tool
//! result is handed over after the persona message that asked for it, and events are numbered in
//! the order handed over. The turn waits for its writer ([`TurnWriter::flush`]) before anything
//! that must come after its writes: the end of the session after `end_call`, the next turn (the
//! session's turn lock is released only then) and the `?wait=true` answer.
//!
//! Under load the speech coalesces: consecutive deltas of one reply handed over while the last
//! commit ran are stored as one event with their texts joined (a reader appends deltas, so it
//! sees the same words), which bounds the rows a fast-talking LLM makes by the commits, not by
//! its fragments. The events stored are counted ([`TurnWriter::events_stored`]) for the turn's
//! bound on them.
//!
//! While the database is away (restarting, refusing connections) the writer holds what it has
//! and tries again until it is back ([`durable_write`], the call log's policy too); the turn goes
//! on handing over writes meanwhile (they are bounded by the turn: its rounds, the LLM's tokens)
//! and waits for them where it flushes. A write that fails for another reason ends the turn.
//!
//! Like the call log, these commits do not wait for the disk (the pool has
//! `synchronous_commit = off`): a crash may lose the last moments of a conversation, never their
//! order. The NOTIFY goes in the same statement, which costs no extra round trip; Postgres
//! serialises the commits of notifying transactions, but these commits do not wait for a flush.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use chrono::Utc;
use serde_json::Value;
use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use hookline_core::durable_write;
use hookline_core::repo::batch::{self, Batch};
use hookline_core::repo::events::NewEvent;
use hookline_core::repo::messages::NewMessage;
use hookline_core::repo::tool_calls;
use hookline_core::{EventName, Role, StoreError, StoredCall};
use hookline_engine::CallRecorder;

/// Writes handed over at most per transaction.
const BATCH: usize = 512;

/// A message to store, owned (it crosses to the writer's task).
#[derive(Debug, Clone)]
pub struct Row {
    pub id: Uuid,
    pub session_id: Uuid,
    pub turn_id: Uuid,
    pub role: Role,
    pub content: String,
    pub tool_calls: Option<Vec<StoredCall>>,
    pub tool_call_id: Option<String>,
    pub is_error: bool,
    pub interrupted: bool,
}

impl Row {
    fn as_new(&self) -> NewMessage<'_> {
        NewMessage {
            id: self.id,
            session_id: self.session_id,
            turn_id: self.turn_id,
            role: self.role,
            content: &self.content,
            tool_calls: self.tool_calls.as_deref(),
            tool_call_id: self.tool_call_id.as_deref(),
            is_error: self.is_error,
            interrupted: self.interrupted,
        }
    }
}

enum Op {
    Insert(Row),
    /// Completes the message stored under `placed` (it may take a new id).
    Complete {
        placed: Uuid,
        row: Row,
    },
    Event(EventName, Value),
    /// A tool call's end (its call-log row) with its last event, recorded for the engine.
    Finish(Box<tool_calls::Finish>, EventName, Value),
    /// `messageHistoryUpdated`, with the conversation as written so far.
    History,
    Flush(oneshot::Sender<bool>),
}

/// The handle a turn (and its tool-call tasks) writes through. Cloned handles share the order.
#[derive(Clone)]
pub struct TurnWriter {
    tx: mpsc::UnboundedSender<Op>,
    failed: Arc<AtomicBool>,
    /// Events committed so far.
    stored: Arc<AtomicUsize>,
}

impl TurnWriter {
    /// Starts the writer of one session's turn on `pool`; it stops once every handle is gone.
    pub fn start(pool: PgPool, session_id: Uuid) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let failed = Arc::new(AtomicBool::new(false));
        let stored = Arc::new(AtomicUsize::new(0));
        tokio::spawn(run(pool, session_id, rx, failed.clone(), stored.clone()));
        Self { tx, failed, stored }
    }

    /// How many events the turn's writes have stored so far.
    pub fn events_stored(&self) -> usize {
        self.stored.load(Ordering::Relaxed)
    }

    fn send(&self, op: Op) {
        if self.tx.send(op).is_err() {
            self.failed.store(true, Ordering::Relaxed);
        }
    }

    pub fn insert(&self, row: Row) {
        self.send(Op::Insert(row));
    }

    pub fn complete(&self, placed: Uuid, row: Row) {
        self.send(Op::Complete { placed, row });
    }

    pub fn event(&self, event: EventName, data: Value) {
        self.send(Op::Event(event, data));
    }

    pub fn history(&self) {
        self.send(Op::History);
    }

    /// True once a write has failed (the turn then ends: its conversation could not be stored).
    pub fn failed(&self) -> bool {
        self.failed.load(Ordering::Relaxed)
    }

    /// Waits until everything handed over so far is committed; false if any write failed.
    pub async fn flush(&self) -> bool {
        let (done, written) = oneshot::channel();
        self.send(Op::Flush(done));
        written.await.unwrap_or(false) && !self.failed()
    }
}

/// The turn's tool calls record their events and ends here, in order with the turn's words: a
/// call's `toolCallCompleted` is handed over before the LLM hears its result, so it is numbered
/// before the next round's words without the turn waiting for a commit.
impl CallRecorder for TurnWriter {
    fn event(&self, event: EventName, data: Value) {
        self.send(Op::Event(event, data));
    }

    fn finish(&self, finish: tool_calls::Finish, event: EventName, data: Value) {
        self.send(Op::Finish(Box::new(finish), event, data));
    }

    fn written(&self) -> futures::future::BoxFuture<'_, ()> {
        Box::pin(async move {
            self.flush().await;
        })
    }
}

async fn run(
    pool: PgPool,
    session_id: Uuid,
    mut rx: mpsc::UnboundedReceiver<Op>,
    failed: Arc<AtomicBool>,
    stored: Arc<AtomicUsize>,
) {
    let mut ops = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut ops, BATCH).await > 0 {
        let mut flushes = Vec::new();
        let mut work = Vec::with_capacity(ops.len());
        for op in ops.drain(..) {
            match op {
                Op::Flush(done) => flushes.push(done),
                other => work.push(other),
            }
        }
        // After a failure nothing more is written: a later write could land out of order.
        if !work.is_empty() && !failed.load(Ordering::Relaxed) {
            match write(&pool, session_id, work).await {
                Ok(events) => {
                    stored.fetch_add(events, Ordering::Relaxed);
                }
                Err(e) => {
                    tracing::error!(error = %e, %session_id, "a turn's writes could not be stored");
                    failed.store(true, Ordering::Relaxed);
                }
            }
        }
        let ok = !failed.load(Ordering::Relaxed);
        for done in flushes {
            let _ = done.send(ok);
        }
    }
}

/// Writes a batch: the messages in order (a message placed and completed within the batch is
/// stored complete), the calls' ends, the events numbered in order, and their NOTIFY, in one
/// statement ([`batch::write`]; one round trip on the way to a turn's first words).
/// `messageHistoryUpdated` ends a part: the statement builds it from the conversation as
/// committed and the part's own messages; what was handed over after it is the next part,
/// committed after it, so a failure loses the end of the batch, never its order. Returns how
/// many events were stored.
async fn write(pool: &PgPool, session_id: Uuid, work: Vec<Op>) -> Result<usize, StoreError> {
    let mut part = Part::default();
    let mut events = 0;
    for op in work {
        match op {
            Op::Insert(row) => part.inserts.push(row),
            Op::Complete { placed, row } => part.complete(placed, row),
            Op::Event(event, data) => part.event(session_id, event, data),
            Op::Finish(finish, event, data) => {
                part.finishes.push(*finish);
                part.event(session_id, event, data);
            }
            Op::History => {
                // Built by the statement, with everything handed over before it.
                let timestamp = serde_json::to_value(Utc::now()).unwrap_or_default();
                part.history = Some(timestamp.as_str().unwrap_or_default().to_owned());
                part.event(session_id, EventName::MessageHistoryUpdated, Value::Null);
                events += part.events.len();
                store(pool, &std::mem::take(&mut part)).await?;
            }
            Op::Flush(_) => unreachable!("flushes are answered by the loop"),
        }
    }
    store(pool, &part).await?;
    Ok(events + part.events.len())
}

/// Joins a reply's text delta to the delta before it, when both are mid-reply pieces of the same
/// message (neither its end nor an interruption); false when they must stay two events.
fn coalesce(last: &mut NewEvent, event: EventName, data: &Value) -> bool {
    let mid_reply = |d: &Value| d["endOfSpeech"] == false && d["interrupted"] == false;
    if last.event != EventName::MessageStreamEvent
        || event != EventName::MessageStreamEvent
        || last.data["id"] != data["id"]
        || !mid_reply(&last.data)
        || !mid_reply(data)
    {
        return false;
    }
    match (&mut last.data["content"], data["content"].as_str()) {
        (Value::String(before), Some(more)) => {
            before.push_str(more);
            true
        }
        _ => false,
    }
}

/// Commits a part, waiting out a database outage ([`durable_write`]): each commit is retried on
/// its own, so one that follows a committed part never writes that part twice.
async fn store(pool: &PgPool, part: &Part) -> Result<(), StoreError> {
    let batch = part.batch();
    durable_write::retry(WRITER, || batch::write(pool, &batch)).await
}

/// The writer's name in the log.
const WRITER: &str = "conversation";

/// The writes of a batch up to a `messageHistoryUpdated` (or its end).
#[derive(Default)]
struct Part {
    inserts: Vec<Row>,
    /// Messages placed in an earlier batch, completed in this one.
    completes: Vec<(Uuid, Row)>,
    finishes: Vec<tool_calls::Finish>,
    events: Vec<NewEvent>,
    /// `messageHistoryUpdated`'s timestamp: the part ends with it ([`Batch::history`]).
    history: Option<String>,
}

impl Part {
    fn complete(&mut self, placed: Uuid, row: Row) {
        match self.inserts.iter_mut().find(|r| r.id == placed) {
            Some(pending) => *pending = row,
            None => self.completes.push((placed, row)),
        }
    }

    fn event(&mut self, session_id: Uuid, event: EventName, data: Value) {
        if let Some(last) = self.events.last_mut() {
            if coalesce(last, event, &data) {
                return;
            }
        }
        self.events.push(NewEvent {
            session_id,
            event,
            data,
        });
    }

    fn batch(&self) -> Batch<'_> {
        Batch {
            inserts: self.inserts.iter().map(Row::as_new).collect(),
            completes: self
                .completes
                .iter()
                .map(|(placed, row)| (*placed, row.as_new()))
                .collect(),
            finishes: &self.finishes,
            events: &self.events,
            history: self.history.as_deref(),
        }
    }
}
