//! Postgres advisory locks: what takes turns across every instance sharing the database. Each
//! lock's key is made here, so the keys of different locks are chosen side by side.
//!
//! - a session's turn lock (the conversation runtime: one turn at a time per session), held on
//!   one connection for the whole turn and released by [`release_turn`];
//! - the delivery claim lock (claims of due calls take turns), held until the transaction ends;
//! - the Lab's development-organization lock (two sign-ins at once make one organization), held
//!   until the transaction ends.

use sqlx::PgConnection;
use uuid::Uuid;

use crate::error::StoreResult;

/// Arbitrary, fixed: the claim lock's key, and the space the turn locks' keys are folded into.
const HOOKLINE: i64 = 0x686f_6f6b_6c69_6e65;

/// The turn lock key of a session: its id folded to 64 bits (both halves, since a UUIDv7's
/// first half is mostly its timestamp), in a space of its own.
fn turn_key(session_id: Uuid) -> i64 {
    let (hi, lo) = session_id.as_u64_pair();
    (hi as i64) ^ (lo as i64) ^ HOOKLINE
}

/// What trying a session's turn lock found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TurnTry {
    /// This connection now holds the lock (until [`release_turn`] or the connection closes).
    pub locked: bool,
    /// The seq of the session's latest user message (0 when none), read in the same statement
    /// so that a waiting turn learns it was overtaken without a second round trip.
    pub latest_user_seq: i64,
}

/// Tries the session's turn lock on this connection, without waiting.
pub async fn try_turn(conn: &mut PgConnection, session_id: Uuid) -> StoreResult<TurnTry> {
    let row = sqlx::query!(
        r#"SELECT pg_try_advisory_lock($1) AS "locked!",
               (SELECT max(seq) FROM conversation_messages
                WHERE session_id = $2 AND role = 'user') AS latest_user_seq"#,
        turn_key(session_id),
        session_id,
    )
    .fetch_one(conn)
    .await?;
    Ok(TurnTry {
        locked: row.locked,
        latest_user_seq: row.latest_user_seq.unwrap_or(0),
    })
}

/// Releases the session's turn lock held by this connection (Postgres warns, and nothing
/// else happens, if it held none).
pub async fn release_turn(conn: &mut PgConnection, session_id: Uuid) -> StoreResult<()> {
    sqlx::query_scalar!("SELECT pg_advisory_unlock($1)", turn_key(session_id))
        .fetch_one(conn)
        .await?;
    Ok(())
}

/// Waits for the delivery claim lock and holds it until the transaction ends, which then
/// commits without waiting for the disk (in the same statement): a lease lost in a crash of
/// Postgres only lets the call be claimed again (at least once, as after a process dies), and
/// the attempt's outcome is recorded durably, under the fencing token, by `finish_attempts`.
///
/// The same statement pins the claim's plans to its indexes for the transaction. Without
/// statistics on `tool_calls` (a table never analyzed: autovacuum off, or not yet run) the
/// planner takes `lease_owner IS NOT NULL` for nearly every row and counted the live leases
/// with a sequential scan of the whole call log: 39 ms a claim with 50,000 calls logged, 0.2 ms
/// through the partial index of leased rows. Bitmap scans are off too, as they never mark the
/// index entries of dead rows (delivered calls) for skipping, and JIT, which such estimates
/// switch on for a statement that runs in a fraction of a millisecond.
pub async fn claims(tx: &mut PgConnection) -> StoreResult<()> {
    sqlx::query_scalar!(
        "SELECT concat(set_config('synchronous_commit', 'off', true),
                       set_config('enable_seqscan', 'off', true),
                       set_config('enable_bitmapscan', 'off', true),
                       set_config('jit', 'off', true))
         FROM (SELECT pg_advisory_xact_lock($1)) AS turn",
        HOOKLINE
    )
    .fetch_one(tx)
    .await?;
    Ok(())
}

/// Waits for the Lab's development-organization lock and holds it until the transaction ends.
pub async fn dev_organization(tx: &mut PgConnection) -> StoreResult<()> {
    sqlx::query!("SELECT pg_advisory_xact_lock(hashtext('hookline-lab-dev-organization'))")
        .execute(tx)
        .await?;
    Ok(())
}
