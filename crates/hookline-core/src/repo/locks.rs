//! What takes turns across every instance sharing the database. Each kind's key or row is made
//! here, so they are chosen side by side.
//!
//! - a session's turn (the conversation runtime: one turn at a time per session): a lease in
//!   `session_turns`, taken by [`take_turn`], renewed by [`renew_turn`] while the turn runs and
//!   given back by [`release_turns`]. A running turn holds no connection, so the turns running at
//!   once are not capped by a pool, and a holder that died frees the session when its lease ends;
//! - the delivery claim lock (claims of due calls take turns), an advisory lock held until the
//!   transaction ends;
//! - the Lab's development-organization lock (two sign-ins at once make one organization), an
//!   advisory lock held until the transaction ends.

use std::time::Duration;

use sqlx::types::Json;
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use crate::conversation::{Role, StoredCall};
use crate::error::StoreResult;
use crate::repo::messages::Message;

/// Arbitrary, fixed: the claim lock's key.
const HOOKLINE: i64 = 0x686f_6f6b_6c69_6e65;

/// What trying a session's turn found.
#[derive(Debug, Clone)]
pub struct TurnTry {
    /// `holder` now holds the session's turn, for `lease` unless renewed.
    pub locked: bool,
    /// The seq of the session's latest user message (0 when none), read in the same statement
    /// so that a waiting turn learns it was overtaken without a second round trip.
    pub latest_user_seq: i64,
    /// Once taken (and not overtaken), the session's most recent messages, oldest first, as
    /// many as asked for: the conversation the turn begins with, read in the same statement
    /// (one round trip less before the LLM's first request). Read after the lease was free,
    /// so the previous turn's writes, committed before it gave the lease back, are in it.
    pub history: Vec<Message>,
}

/// Takes the session's turn for `holder` if nobody holds it (no lease, or one that has ended)
/// and no user message newer than `mine` exists; never waits. With `answered_first` (a
/// follow-up's turn), also only once the turn of the user message `mine` has taken it before.
/// Once taken, reads the session's last `history` messages with it ([`TurnTry::history`]).
pub async fn take_turn(
    db: impl PgExecutor<'_>,
    session_id: Uuid,
    holder: Uuid,
    mine: i64,
    lease: Duration,
    answered_first: bool,
    history: i64,
) -> StoreResult<TurnTry> {
    // One row when nothing is read (not taken, overtaken, no message yet), else one per message.
    let rows = sqlx::query!(
        r#"WITH latest AS (
               SELECT coalesce(max(seq), 0) AS seq FROM conversation_messages
               WHERE session_id = $1 AND role = 'user'
           ),
           taken AS (
               -- Against a live lease, nothing is written (a waiting turn tries every few
               -- milliseconds); the ON CONFLICT condition still decides between two takers.
               INSERT INTO session_turns (session_id, holder, lease_until, seq)
               SELECT $1, $2, now() + make_interval(secs => $4), $3 FROM latest
               WHERE seq <= $3 AND NOT EXISTS (
                   SELECT 1 FROM session_turns WHERE session_id = $1 AND lease_until >= now()
               ) AND (NOT $5 OR latest.seq <= coalesce(
                   (SELECT t.seq FROM session_turns t WHERE t.session_id = $1), 0))
               ON CONFLICT (session_id) DO UPDATE
                   SET holder = excluded.holder, lease_until = excluded.lease_until,
                       seq = excluded.seq
                   WHERE session_turns.lease_until < now()
               RETURNING 1
           ),
           found AS (
               SELECT EXISTS (SELECT 1 FROM taken) AS locked, (SELECT seq FROM latest) AS seq
           )
           SELECT found.locked AS "locked!", found.seq AS "latest_user_seq!",
                  m.seq AS "seq?", m.id AS "id?", m.turn_id AS "turn_id?",
                  m.role AS "role?: Role", m.content AS "content?",
                  m.tool_calls AS "tool_calls?: Json<Vec<StoredCall>>",
                  m.tool_call_id AS "tool_call_id?", m.is_error AS "is_error?",
                  m.interrupted AS "interrupted?", m.created_at AS "created_at?"
           FROM found LEFT JOIN LATERAL (
               SELECT seq, id, turn_id, role, content, tool_calls, tool_call_id, is_error,
                      interrupted, created_at
               FROM conversation_messages
               WHERE session_id = $1 AND found.locked AND found.seq <= $3
               ORDER BY seq DESC LIMIT $6) m ON true"#,
        session_id,
        holder,
        mine,
        lease.as_secs_f64(),
        answered_first,
        history,
    )
    .fetch_all(db)
    .await?;
    let first = rows.first().ok_or(sqlx::Error::RowNotFound)?;
    let (locked, latest_user_seq) = (first.locked, first.latest_user_seq);
    // Newest first, to take the last `history`, then turned around.
    let mut history: Vec<Message> = rows
        .into_iter()
        .filter_map(|r| {
            Some(Message {
                seq: r.seq?,
                id: r.id?,
                session_id,
                turn_id: r.turn_id?,
                role: r.role?,
                content: r.content?,
                tool_calls: r.tool_calls,
                tool_call_id: r.tool_call_id,
                is_error: r.is_error?,
                interrupted: r.interrupted?,
                created_at: r.created_at?,
            })
        })
        .collect();
    history.reverse();
    Ok(TurnTry {
        locked,
        latest_user_seq,
        history,
    })
}

/// Extends `holder`'s lease of the session's turn to `lease` from now. False when `holder` no
/// longer holds it (the lease ran out and another turn took the session).
pub async fn renew_turn(
    db: impl PgExecutor<'_>,
    session_id: Uuid,
    holder: Uuid,
    lease: Duration,
) -> StoreResult<bool> {
    let renewed = sqlx::query!(
        "UPDATE session_turns SET lease_until = now() + make_interval(secs => $3)
         WHERE session_id = $1 AND holder = $2",
        session_id,
        holder,
        lease.as_secs_f64(),
    )
    .execute(db)
    .await?
    .rows_affected();
    Ok(renewed == 1)
}

/// Gives back each `sessions[i]`'s turn that `holders[i]` still holds: the next turn takes it
/// at once. The holder is cleared too, so a renewal already on its way finds nothing to renew.
pub async fn release_turns(
    db: impl PgExecutor<'_>,
    sessions: &[Uuid],
    holders: &[Uuid],
) -> StoreResult<()> {
    sqlx::query!(
        "UPDATE session_turns SET holder = '00000000-0000-0000-0000-000000000000',
                                  lease_until = '-infinity'
         FROM unnest($1::uuid[], $2::uuid[]) AS given (session_id, holder)
         WHERE session_turns.session_id = given.session_id
           AND session_turns.holder = given.holder",
        sessions,
        holders,
    )
    .execute(db)
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
