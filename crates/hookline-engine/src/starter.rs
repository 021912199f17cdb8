//! Starts calls in groups: every call is a row written before it runs (so a repeated
//! `toolCallId` finds it and an ended session refuses it), and the calls that arrive together
//! share one statement and one commit instead of paying for one each. For fire-and-forget calls,
//! whose 202 promises delivery, that commit is durable: group commit.

use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};

use hookline_core::db::away::Away;
use hookline_core::repo::tool_calls::{self, CallToStart, Started};
use hookline_core::StoreError;

const BATCH: usize = 256;

type Request = (CallToStart, oneshot::Sender<Result<Started, String>>);

#[derive(Clone)]
pub struct Starter {
    tx: mpsc::Sender<Request>,
}

impl Starter {
    pub fn start(pool: PgPool, away: Away) -> Self {
        let (tx, rx) = mpsc::channel(16_384);
        tokio::spawn(run(pool, away, rx));
        Self { tx }
    }

    /// Starts one call, in whatever group it joins.
    pub async fn begin(&self, call: CallToStart) -> Result<Started, StoreError> {
        let (done, answer) = oneshot::channel();
        let gone = || StoreError::Other(sqlx::Error::PoolClosed);
        self.tx.send((call, done)).await.map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?.map_err(|e| {
            tracing::error!(error = %e, "starting calls failed");
            StoreError::Unavailable
        })
    }
}

async fn run(pool: PgPool, away: Away, mut rx: mpsc::Receiver<Request>) {
    let mut batch = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        let (calls, replies): (Vec<CallToStart>, Vec<_>) = batch.drain(..).unzip();
        // While the database is known to be away a batch fails at once rather than waiting for
        // a connection (db::away).
        let started = if away.is_away() {
            Err(StoreError::Unavailable)
        } else {
            tool_calls::start_many(&pool, &calls).await
        };
        match started {
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
                // The calls that queued while this batch waited for a connection have waited
                // as long: they fail with it rather than each waiting once more in the next
                // batch (a call of an outage's first second answered its 503 after ~2 s).
                if matches!(e, StoreError::Unavailable) {
                    while let Ok((_, reply)) = rx.try_recv() {
                        let _ = reply.send(Err(message.clone()));
                    }
                }
            }
        }
    }
}
