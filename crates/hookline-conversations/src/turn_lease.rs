//! A session's turn, held as a lease (`repo::locks::take_turn`): one turn at a time per session
//! on every instance sharing the database, without a connection held for the turn.
//!
//! The holder renews its lease while the turn runs; if a renewal finds the lease taken over (the
//! process stalled, or the database was away, past the lease's end), the turn is told to stop
//! ([`TurnLease::lost`]) rather than run beside the new holder's. An instance that begins to stop
//! gives back every lease it holds at once ([`Leases::give_back_all`]); one that dies leaves
//! its sessions' next turns waiting until the leases run out.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::watch;
use uuid::Uuid;

use hookline_core::repo::locks;
use hookline_core::repo::messages::Message;
use hookline_core::StoreError;

use crate::history::HISTORY_WINDOW;

/// How long a session's turn stays taken unless renewed: the longest a session's next turn
/// waits after an instance died mid-turn. Long enough for several renewals, each of which may
/// wait out the pool's acquire timeout (at most 5 s, `HOOKLINE_DATABASE_ACQUIRE_TIMEOUT_MS`)
/// before it fails and is tried again.
pub const TURN_LEASE: Duration = Duration::from_secs(30);
/// How often a running turn renews its lease.
const RENEW_EVERY: Duration = Duration::from_secs(5);
/// How soon a renewal that failed is tried again.
const RENEW_RETRY: Duration = Duration::from_secs(1);
/// How often a turn waiting for the session's running turn tries again.
const TAKE_RETRY: Duration = Duration::from_millis(25);

/// The leases this instance holds (holder → session), given back together when it stops.
#[derive(Clone, Default)]
pub struct Leases(Arc<Mutex<HashMap<Uuid, Uuid>>>);

impl Leases {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Uuid>> {
        self.0.lock().expect("never poisoned")
    }

    /// Gives back every lease held here, in one statement; turns still running keep running
    /// until the process ends, but the sessions' next turns need not wait for their leases.
    pub async fn give_back_all(&self, pool: &PgPool) {
        let (holders, sessions): (Vec<Uuid>, Vec<Uuid>) = self.lock().drain().unzip();
        if holders.is_empty() {
            return;
        }
        match locks::release_turns(pool, &sessions, &holders).await {
            Ok(()) => tracing::info!(turns = holders.len(), "gave back the turns running here"),
            Err(e) => {
                tracing::warn!(error = %e, "could not give back running turns; their leases will run out")
            }
        }
    }
}

/// A session's turn taken by this instance.
pub struct TurnLease {
    pool: PgPool,
    leases: Leases,
    session_id: Uuid,
    holder: Uuid,
    renewing: tokio::task::JoinHandle<()>,
    lost: Arc<watch::Sender<bool>>,
    given_back: bool,
    /// The conversation as the lease found it (its last [`HISTORY_WINDOW`] messages), read with
    /// the lease: the turn begins with it.
    history: Vec<Message>,
}

impl TurnLease {
    /// Takes the session's turn, or returns `None` once a newer user message than `mine` exists
    /// (its own turn answers both). Each try takes the turn and looks for a newer message in one
    /// statement, then sleeps a moment (or until a message is posted here). Until
    /// `answered_first` (a follow-up's turn), it also waits for the turn of the user message
    /// `mine` to have had the session's turn first.
    pub async fn take(
        pool: &PgPool,
        leases: &Leases,
        session_id: Uuid,
        mine: i64,
        mut latest: watch::Receiver<i64>,
        answered_first: Option<tokio::time::Instant>,
    ) -> Result<Option<Self>, StoreError> {
        let holder = Uuid::now_v7();
        loop {
            let first = answered_first.is_some_and(|until| tokio::time::Instant::now() < until);
            let found = locks::take_turn(
                pool,
                session_id,
                holder,
                mine,
                TURN_LEASE,
                first,
                HISTORY_WINDOW,
            )
            .await?;
            let history = found.history;
            let lease = found.locked.then(|| {
                leases.lock().insert(holder, session_id);
                let lost = Arc::new(watch::channel(false).0);
                Self {
                    pool: pool.clone(),
                    leases: leases.clone(),
                    session_id,
                    holder,
                    renewing: tokio::spawn(renew(pool.clone(), session_id, holder, lost.clone())),
                    lost,
                    given_back: false,
                    history,
                }
            });
            if found.latest_user_seq > mine {
                if let Some(lease) = lease {
                    lease.give_back().await;
                }
                return Ok(None);
            }
            if lease.is_some() {
                return Ok(lease);
            }
            if let Ok(Err(_)) = tokio::time::timeout(TAKE_RETRY, latest.changed()).await {
                tokio::time::sleep(TAKE_RETRY).await;
            }
        }
    }

    /// The conversation read with the lease (oldest first); empty once taken.
    pub fn take_history(&mut self) -> Vec<Message> {
        std::mem::take(&mut self.history)
    }

    /// Becomes true if the lease is lost while the turn runs.
    pub fn lost(&self) -> watch::Receiver<bool> {
        self.lost.subscribe()
    }

    /// Gives the session's turn back: the next turn takes it at once.
    pub async fn give_back(mut self) {
        self.renewing.abort();
        let given_back = tokio::time::timeout(
            Duration::from_secs(5),
            locks::release_turns(&self.pool, &[self.session_id], &[self.holder]),
        )
        .await;
        if !matches!(given_back, Ok(Ok(()))) {
            // Most often the database is away (the turn ended because it was). Given back as
            // soon as it is there again, rather than leaving the session's next turn to wait
            // out the lease: a fault run found turns posted just after a restart of Postgres
            // waiting past their callers' timeouts.
            tracing::warn!(session_id = %self.session_id, "could not give a turn back; trying again until its lease runs out");
            let pool = self.pool.clone();
            let (sessions, holders) = ([self.session_id], [self.holder]);
            tokio::spawn(tokio::time::timeout(TURN_LEASE, async move {
                let _ = hookline_core::durable_write::retry("turn lease", || {
                    locks::release_turns(&pool, &sessions, &holders)
                })
                .await;
            }));
        }
        self.leases.lock().remove(&self.holder);
        self.given_back = true;
    }
}

/// Keeps a running turn's lease from running out, until aborted or the lease is lost.
async fn renew(pool: PgPool, session_id: Uuid, holder: Uuid, lost: Arc<watch::Sender<bool>>) {
    let mut wait = RENEW_EVERY;
    loop {
        tokio::time::sleep(wait).await;
        match locks::renew_turn(&pool, session_id, holder, TURN_LEASE).await {
            Ok(true) => wait = RENEW_EVERY,
            Ok(false) => {
                tracing::warn!(%session_id, "a running turn lost the session's lease; it stops");
                let _ = lost.send(true);
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, %session_id, "could not renew a turn's lease");
                wait = RENEW_RETRY;
            }
        }
    }
}

impl Drop for TurnLease {
    fn drop(&mut self) {
        if self.given_back {
            return;
        }
        // Dropped without `give_back` (a panic, or the give-back cut short): given back from a
        // task of its own while the runtime runs, else left to run out.
        self.renewing.abort();
        self.leases.lock().remove(&self.holder);
        let (pool, session_id, holder) = (self.pool.clone(), self.session_id, self.holder);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = locks::release_turns(&pool, &[session_id], &[holder]).await;
            });
        }
    }
}
