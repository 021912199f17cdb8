//! Whether the database is known to be away, so that requests meanwhile answer their 503 at once
//! instead of each waiting out the pool's acquire timeout.
//!
//! While Postgres is down, every statement waits up to `HOOKLINE_DATABASE_ACQUIRE_TIMEOUT_MS`
//! for a connection (sqlx retries a refused connection until then) before it fails. Without a
//! shared state each request of a 30 s outage paid that wait, once per statement it reached.
//! With it only the first requests of an outage wait: the first failure ([`Away::noticed`])
//! makes a connection of its own to the database (not through the pool: a pool merely busy is
//! not an outage), and if that fails too, the database is away until such a connection
//! succeeds again, tried every [`PROBE_EVERY`]. Requests while it is away fail at once
//! ([`Away::is_away`]); the first one after it is back runs as usual.
//!
//! Why a probe of its own rather than letting the next request try: while the state is set no
//! request reaches the pool, so something must find the database back, and a fresh connection
//! says so without sending a user's request into a database that may still refuse it. A lost
//! connection alone (Postgres ended one backend, the pool's idle connection broke) fails one
//! request, and the probe, finding the database there, sets nothing.
//!
//! The pools' idle connections from before an outage are most likely dead (a restarted Postgres
//! ended them), and the pools do not test a connection before handing it out, so each would
//! fail one request after the database is back. Since no request used them during the outage,
//! the probe tests them ([`sweep`]) before it clears the state: a fault run without this
//! answered 503s for 0.3-0.5 s after a restart of Postgres, one per dead connection.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgPool};

/// How often the database is tried while it is away: an instance serves again about this plus
/// a connection's setup after Postgres is back. A refused connection costs next to nothing, and
/// one Postgres refuses while starting up or shutting down costs it a short-lived process: 40 a
/// second is nothing to either. At 100 ms a fault run's instances served again ~100 ms after a
/// restart of Postgres, where the pools by themselves (retrying from 10 ms) had taken 10-70 ms.
pub const PROBE_EVERY: Duration = Duration::from_millis(25);

/// The database's availability as this process last saw it; cheap to clone and to ask.
#[derive(Clone)]
pub struct Away(Arc<Inner>);

struct Inner {
    away: AtomicBool,
    /// A probe runs (at most one at a time).
    probing: AtomicBool,
    options: PgConnectOptions,
    /// The process's pools on this database, whose idle connections are tested once it is back.
    pools: Mutex<Vec<PgPool>>,
    /// How long one try may take: the pool's acquire timeout, so a database that takes in
    /// connections but never answers is away too.
    timeout: Duration,
}

impl Away {
    /// The state of `pool`'s database, not away to begin with.
    pub fn new(pool: &PgPool) -> Self {
        Self(Arc::new(Inner {
            away: AtomicBool::new(false),
            probing: AtomicBool::new(false),
            options: pool.connect_options().as_ref().clone(),
            pools: Mutex::new(vec![pool.clone()]),
            timeout: pool.options().get_acquire_timeout(),
        }))
    }

    /// Another pool of the process on the same database (the fast pools), whose idle
    /// connections are tested too when the database is back.
    pub fn watch(&self, pool: &PgPool) {
        self.0
            .pools
            .lock()
            .expect("never poisoned")
            .push(pool.clone());
    }

    /// True while the database is known to be away: a request needing it may answer 503 at once.
    pub fn is_away(&self) -> bool {
        self.0.away.load(Ordering::Relaxed)
    }

    /// A statement failed because the database was unavailable: looks whether it is away (a
    /// connection of its own), and if so keeps it marked away until it answers again.
    pub fn noticed(&self) {
        if self.0.probing.swap(true, Ordering::AcqRel) {
            return;
        }
        let inner = self.0.clone();
        tokio::spawn(async move {
            let mut since: Option<Instant> = None;
            loop {
                if inner.reachable().await {
                    if since.is_some() {
                        let pools = inner.pools.lock().expect("never poisoned").clone();
                        for pool in pools {
                            sweep(&pool, inner.timeout).await;
                        }
                    }
                    inner.away.store(false, Ordering::Relaxed);
                    inner.probing.store(false, Ordering::Release);
                    if let Some(since) = since {
                        tracing::info!(after = ?since.elapsed(), "the database is back");
                    }
                    return;
                }
                if since.is_none() {
                    since = Some(Instant::now());
                    inner.away.store(true, Ordering::Relaxed);
                    tracing::warn!(
                        "the database is not reachable: requests that need it answer 503 at once until it is back"
                    );
                }
                tokio::time::sleep(PROBE_EVERY).await;
            }
        });
    }
}

impl Inner {
    /// One fresh connection and one statement (a pooler such as PgBouncer accepts a connection
    /// by itself; the statement needs the server), within the timeout.
    async fn reachable(&self) -> bool {
        let attempt = async {
            let mut conn = self.options.connect().await?;
            sqlx::query("SELECT 1").execute(&mut conn).await?;
            conn.close().await
        };
        matches!(
            tokio::time::timeout(self.timeout, attempt).await,
            Ok(Ok(()))
        )
    }
}

/// Tests each connection idle in `pool` (all at once, each within `timeout`) and closes those
/// that do not answer; the others go back to the pool.
async fn sweep(pool: &PgPool, timeout: Duration) {
    let idle: Vec<_> = (0..pool.num_idle())
        .map_while(|_| pool.try_acquire())
        .collect();
    let mut tested = tokio::task::JoinSet::new();
    for mut conn in idle {
        tested.spawn(async move {
            let alive = matches!(tokio::time::timeout(timeout, conn.ping()).await, Ok(Ok(())));
            if !alive {
                conn.close_on_drop();
            }
            alive
        });
    }
    let results: Vec<bool> = tested.join_all().await;
    let dead = results.iter().filter(|alive| !**alive).count();
    if dead > 0 {
        tracing::info!(
            dead,
            of = results.len(),
            "closed the idle connections the outage had broken"
        );
    }
}
