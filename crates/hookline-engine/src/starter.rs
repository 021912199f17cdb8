//! Starts calls in groups: every call is a row written before it runs (so a repeated
//! `toolCallId` finds it and an ended session refuses it), and the calls that arrive together
//! share one statement and one commit instead of paying for one each. For fire-and-forget calls,
//! whose 202 promises delivery, that commit is durable (group commit), and their
//! `toolCallStarted` events are written in the same transaction, so no delivery can report its
//! end before the start is on record.

use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};

use hookline_core::repo::events::{self, NewEvent};
use hookline_core::repo::tool_calls::{self, CallToStart, Started};
use hookline_core::StoreError;

const BATCH: usize = 256;

/// A call to start, the event to write with it (if any), and where to send the answer.
type Request = (
    CallToStart,
    Option<NewEvent>,
    oneshot::Sender<Result<Started, String>>,
);

#[derive(Clone)]
pub struct Starter {
    tx: mpsc::Sender<Request>,
}

impl Starter {
    pub fn start(pool: PgPool) -> Self {
        let (tx, rx) = mpsc::channel(16_384);
        tokio::spawn(run(pool, rx));
        Self { tx }
    }

    /// Starts one call, in whatever group it joins; `event` is written with it if it starts.
    pub async fn begin(
        &self,
        call: CallToStart,
        event: Option<NewEvent>,
    ) -> Result<Started, StoreError> {
        let (done, answer) = oneshot::channel();
        let gone = || StoreError::Other(sqlx::Error::PoolClosed);
        self.tx
            .send((call, event, done))
            .await
            .map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?.map_err(|e| {
            tracing::error!(error = %e, "starting calls failed");
            StoreError::Unavailable
        })
    }
}

async fn run(pool: PgPool, mut rx: mpsc::Receiver<Request>) {
    let mut batch = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        let mut calls = Vec::with_capacity(batch.len());
        let mut events = Vec::with_capacity(batch.len());
        let mut replies = Vec::with_capacity(batch.len());
        for (call, event, reply) in batch.drain(..) {
            calls.push(call);
            events.push(event);
            replies.push(reply);
        }
        match start_group(&pool, &calls, events).await {
            Ok(results) => {
                for (reply, result) in replies.into_iter().zip(results) {
                    let _ = reply.send(Ok(result));
                }
            }
            Err(e) => {
                let message = e.to_string();
                for reply in replies {
                    let _ = reply.send(Err(message.clone()));
                }
            }
        }
    }
}

/// One group in one transaction: the rows, then the events of the calls that did start.
async fn start_group(
    pool: &PgPool,
    calls: &[CallToStart],
    events: Vec<Option<NewEvent>>,
) -> Result<Vec<Started>, StoreError> {
    if events.iter().all(Option::is_none) {
        return tool_calls::start_many(pool, calls).await;
    }
    let mut tx = pool.begin().await?;
    let results = tool_calls::start_many(&mut *tx, calls).await?;
    let started: Vec<NewEvent> = results
        .iter()
        .zip(events)
        .filter_map(|(r, e)| e.filter(|_| *r == Started::Started))
        .collect();
    if !started.is_empty() {
        events::append_many(&mut tx, &started).await?;
    }
    tx.commit().await?;
    Ok(results)
}
