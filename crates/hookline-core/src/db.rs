//! The Postgres pool (making the database when asked, the readiness ping) and the one
//! schema's migrations.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};

use crate::settings::redact_url;

pub mod away;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("DATABASE_URL is not a valid Postgres URL ({url}): {reason}")]
    BadUrl { url: String, reason: String },
    #[error("cannot reach the database at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("there is no database {name} at {url}; `hookline migrate` (or `hookline serve`) creates it — is DATABASE_URL the server's?")]
    Missing { name: String, url: String },
    #[error("cannot apply the migrations to {url}: {reason}")]
    Migration { url: String, reason: String },
}

/// How long a command's pool (not the server's: it has `HOOKLINE_DATABASE_ACQUIRE_TIMEOUT_MS`)
/// waits for a connection: a command runs a few statements once and may as well wait.
pub const COMMAND_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Connects to the database, creating it first when the server exists but the database does not
/// (for `serve` and `migrate` only). `acquire_timeout`: how long a statement waits for a
/// connection before it fails (see [`pool_options`]).
pub async fn connect_or_create(
    url: &str,
    max_connections: u32,
    acquire_timeout: Duration,
) -> Result<PgPool, DbError> {
    open(url, max_connections, acquire_timeout, true).await
}

/// Connects to a database that must exist already (every other command: a typo in
/// DATABASE_URL must not make a second, empty database).
pub async fn connect_existing(url: &str, max_connections: u32) -> Result<PgPool, DbError> {
    open(url, max_connections, COMMAND_ACQUIRE_TIMEOUT, false).await
}

async fn open(
    url: &str,
    max_connections: u32,
    acquire_timeout: Duration,
    create: bool,
) -> Result<PgPool, DbError> {
    let shown = redact_url(url);
    let options = PgConnectOptions::from_str(url).map_err(|e| DbError::BadUrl {
        url: shown.clone(),
        reason: e.to_string(),
    })?;
    let options = options.log_statements(tracing::log::LevelFilter::Trace);
    let unreachable = |e: sqlx::Error| DbError::Unreachable {
        url: shown.clone(),
        reason: e.to_string(),
    };
    if let Err(e) = options.connect().await {
        if !is_missing_database(&e) {
            return Err(unreachable(e));
        }
        if !create {
            return Err(DbError::Missing {
                name: options.get_database().unwrap_or("hookline").to_owned(),
                url: shown,
            });
        }
        create_database(&options).await.map_err(unreachable)?;
    }
    pool_options(max_connections, acquire_timeout)
        .connect_with(options)
        .await
        .map_err(unreachable)
}

/// The options of every pool: connections are not pinged when taken from the pool. sqlx pings
/// an idle connection before handing it out by default, which is a round trip to Postgres in
/// front of every statement or transaction run on the pool (half the round trips of a tool
/// call). A connection that broke while idle (Postgres restarted) fails its next statement
/// instead, and is then closed rather than returned to the pool.
///
/// `acquire_timeout` bounds how long a statement waits for a connection. While Postgres is down
/// sqlx retries a refused connection until then, so it is also how long a request of an outage's
/// first moments takes to fail (the requests after it fail at once: [`away`]). It was 5 s, and a
/// request whose statements each waited it took up to ~10 s to answer its 503; 1 s by default
/// is still far above what a statement waits for a connection under load (measured: see
/// docs/reliability.md).
fn pool_options(max_connections: u32, acquire_timeout: Duration) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(acquire_timeout)
        .test_before_acquire(false)
}

/// The acquire timeout `pool` was made with, for the pools made beside it.
fn acquire_timeout_of(pool: &PgPool) -> Duration {
    pool.options().get_acquire_timeout()
}

/// A second pool to the same database whose commits do not wait for the disk
/// (`synchronous_commit = off`), for writes whose loss in a crash costs a log line or the last
/// moments of a conversation, never a promise: the call log of answered calls, a turn's writes.
///
/// Its statements are planned once per connection (`plan_cache_mode = force_generic_plan`):
/// they are the hot path's few fixed statements, whose rows come in arrays (`unnest`) and are
/// looked up by key, so one plan suits every call. Left to itself Postgres plans them again at
/// every execution, since a generic plan's estimate (10 rows per array) looks dearer than a plan
/// made for the arrays at hand: for a writer's batch statement that was 0.4 ms of planning per
/// batch, as much as running it.
pub fn fast_pool(pool: &PgPool, max_connections: u32) -> PgPool {
    let options = pool.connect_options().as_ref().clone().options([
        ("synchronous_commit", "off"),
        ("plan_cache_mode", "force_generic_plan"),
    ]);
    pool_options(max_connections, acquire_timeout_of(pool)).connect_lazy_with(options)
}

/// The event hub's pool: its one connection, held for good by the `LISTEN`. Taken from the main
/// pool, it was one connection fewer for everything else, and a main pool of one left none.
/// Closed when the main pool closes, which ends the listener's wait.
///
/// `direct` (`HOOKLINE_DATABASE_DIRECT_URL`) is where to listen when the main pool goes through
/// a pooler in transaction mode, which would hand the `LISTEN`'s server connection to other
/// clients between statements (and so lose its notifications).
pub fn listener_pool(pool: &PgPool, direct: Option<&str>) -> PgPool {
    let options = direct
        .and_then(|url| PgConnectOptions::from_str(url).ok())
        .unwrap_or_else(|| pool.connect_options().as_ref().clone());
    let own = pool_options(1, acquire_timeout_of(pool)).connect_lazy_with(options);
    let (main, closing) = (pool.clone(), own.clone());
    tokio::spawn(async move {
        main.close_event().await;
        closing.close().await;
    });
    own
}

fn is_missing_database(e: &sqlx::Error) -> bool {
    // 3D000: invalid_catalog_name.
    matches!(e, sqlx::Error::Database(db) if db.code().as_deref() == Some("3D000"))
}

async fn create_database(options: &PgConnectOptions) -> Result<(), sqlx::Error> {
    let name = options.get_database().unwrap_or("hookline").to_owned();
    let mut admin = options.clone().database("postgres").connect().await?;
    let quoted = format!("\"{}\"", name.replace('"', "\"\""));
    let created = sqlx::query(&format!("CREATE DATABASE {quoted}"))
        .execute(&mut admin)
        .await;
    admin.close().await?;
    match created {
        // 42P04: another process created it meanwhile.
        Err(sqlx::Error::Database(db)) if db.code().as_deref() == Some("42P04") => Ok(()),
        Err(e) => Err(e),
        Ok(_) => {
            tracing::info!(database = %name, "created the database");
            Ok(())
        }
    }
}

/// Whether the database answers (the readiness probe): one round trip on a pooled connection.
pub async fn ping(pool: &PgPool) -> Result<(), sqlx::Error> {
    sqlx::query_scalar!("SELECT 1").fetch_one(pool).await?;
    Ok(())
}

/// Applies every migration not yet applied: on `pool`, or on a connection of its own to `direct`
/// (`HOOKLINE_DATABASE_DIRECT_URL`) when given, since the migrator holds a session-level lock
/// that a pooler in transaction mode would not keep on one server connection.
pub async fn migrate(pool: &PgPool, url: &str, direct: Option<&str>) -> Result<(), DbError> {
    let (pool, url) = match direct {
        Some(direct) => (
            open(direct, 1, COMMAND_ACQUIRE_TIMEOUT, false).await?,
            direct,
        ),
        None => (pool.clone(), url),
    };
    MIGRATOR.run(&pool).await.map_err(|e| DbError::Migration {
        url: redact_url(url),
        reason: e.to_string(),
    })
}
