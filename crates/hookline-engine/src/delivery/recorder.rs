//! Records delivery attempts in groups: every attempt that finished while the last group was
//! being committed goes into the next one, one `UPDATE … FROM unnest` for all their rows (each
//! still fenced by its claim token), one insert of their end events and one durable commit.
//! At the rate a fast endpoint answers, a commit per attempt was what bounded delivery: the
//! disk's flush and a round trip each, where a group pays them once.

use std::collections::HashSet;

use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use hookline_core::repo::events::{self, NewEvent};
use hookline_core::repo::tool_calls::{self, Finish};
use hookline_core::StoreError;

use crate::call_log::CallLog;

/// The most attempts recorded in one statement.
const BATCH: usize = 256;

/// One attempt's outcome to record under its claim token, with its end event if it settled.
pub struct Attempt {
    pub owner: Uuid,
    pub finish: Finish,
    pub end: Option<NewEvent>,
}

type Request = (Attempt, oneshot::Sender<Result<bool, String>>);

#[derive(Clone)]
pub struct Recorder {
    tx: mpsc::Sender<Request>,
}

impl Recorder {
    /// Starts the writer; it runs until every `Recorder` handle is dropped.
    pub fn start(pool: PgPool, log: CallLog) -> Self {
        // As many as there are workers at most wait here; the bound is only a backstop.
        let (tx, rx) = mpsc::channel(4_096);
        tokio::spawn(run(pool, log, rx));
        Self { tx }
    }

    /// Records one attempt in whatever group it joins. False when its lease was lost (the call
    /// was claimed again; that attempt is the one on record).
    pub async fn record(&self, attempt: Attempt) -> Result<bool, StoreError> {
        let (done, answer) = oneshot::channel();
        let gone = || StoreError::Other(sqlx::Error::PoolClosed);
        self.tx.send((attempt, done)).await.map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?.map_err(|e| {
            tracing::error!(error = %e, "recording delivery attempts failed");
            StoreError::Unavailable
        })
    }
}

async fn run(pool: PgPool, log: CallLog, mut rx: mpsc::Receiver<Request>) {
    let mut batch = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        let (attempts, replies): (Vec<Attempt>, Vec<_>) = batch.drain(..).unzip();
        match write(&pool, &log, &attempts).await {
            Ok(recorded) => {
                for (reply, a) in replies.into_iter().zip(&attempts) {
                    let _ = reply.send(Ok(recorded.contains(&a.finish.id)));
                }
            }
            // One bad row must not hold the others back: each is tried alone, so only the row
            // at fault is left to run again when its lease ends.
            Err(e) if attempts.len() > 1 => {
                tracing::warn!(error = %e, attempts = attempts.len(), "recording a group of delivery attempts failed; recording them one by one");
                for (reply, a) in replies.into_iter().zip(attempts) {
                    let one = [a];
                    let result = write(&pool, &log, &one).await;
                    let _ = reply.send(result.map(|r| !r.is_empty()).map_err(|e| e.to_string()));
                }
            }
            Err(e) => {
                for reply in replies {
                    let _ = reply.send(Err(e.to_string()));
                }
            }
        }
    }
}

/// Writes one group in one durable transaction and announces its events once committed;
/// returns the ids of the calls recorded (those whose lease still held).
async fn write(
    pool: &PgPool,
    log: &CallLog,
    attempts: &[Attempt],
) -> Result<HashSet<Uuid>, StoreError> {
    if attempts.iter().any(|a| a.end.is_some()) {
        // Calls' `toolCallStarted` may still sit in this instance's call-log queue; they must
        // be numbered before their ends. One flush serves the whole group.
        log.flush().await;
    }
    let rows: Vec<(Uuid, &Finish)> = attempts.iter().map(|a| (a.owner, &a.finish)).collect();
    let mut tx = pool.begin().await?;
    let recorded: HashSet<Uuid> = tool_calls::finish_attempts(&mut *tx, &rows)
        .await?
        .into_iter()
        .collect();
    let ends: Vec<NewEvent> = attempts
        .iter()
        .filter(|a| recorded.contains(&a.finish.id))
        .filter_map(|a| a.end.clone())
        .collect();
    let notes = events::append_many(&mut tx, &ends).await?;
    tx.commit().await?;
    // Announced apart: a NOTIFY inside a durable transaction would serialise commits.
    if let Err(e) = events::notify(pool, &notes).await {
        tracing::warn!(error = %e, "could not announce delivered calls");
    }
    Ok(recorded)
}
