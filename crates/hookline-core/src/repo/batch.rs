//! A writer's batch in one statement: what the turn writer and the engine's call log commit
//! together (messages stored and completed, ends of awaited calls, events numbered and
//! announced). Alone, the statement is its own transaction: one round trip instead of BEGIN,
//! three or four statements and COMMIT, on the path of a conversation's words and of a call's
//! end.
//!
//! Data-modifying CTEs run in one snapshot and cannot see each other's writes: the text
//! conversation of a `messageHistoryUpdated` in the batch ([`Batch::history`]) is therefore
//! built from the messages committed before (those completed here left out) and what the
//! batch's own writes return. What needs to read a write comes after the commit or in a
//! transaction: the `sessionEnded` of a session that ended without it (it must come after these
//! events, and its check reads the calls' ends). The statement itself sees that case (a session of its events
//! has ended, unannounced) and then writes nothing, and [`write`] writes the batch again in a
//! transaction, followed by `sessionEnded`.
//!
//! The events are numbered as [`crate::repo::events::append_many`] numbers them: each session
//! row is locked (FOR NO KEY UPDATE, in id order; see the deadlock note there) before anything
//! is written, and held to the commit, so numbers follow commit order. Every write of the
//! statement joins the check that took those locks, so none runs before them.

use sqlx::{PgExecutor, PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::conversation::Role;
use crate::error::StoreResult;
use crate::repo::events::{self, NewEvent, Numbering, CHANNEL};
use crate::repo::json_text;
use crate::repo::messages::NewMessage;
use crate::repo::tool_calls::{Finish, FinishColumns};

/// What a writer commits together. Messages are stored in the order given; a message is either
/// inserted or completed in one batch, never both (the statement cannot write a row twice).
#[derive(Default)]
pub struct Batch<'a> {
    pub inserts: Vec<NewMessage<'a>>,
    /// Messages stored by an earlier batch, completed: the id each was stored under, and what
    /// it becomes (it may take a new id).
    pub completes: Vec<(Uuid, NewMessage<'a>)>,
    /// Ends of awaited calls (no lease), each with its last event among `events`: a call is
    /// never seen finished without it.
    pub finishes: &'a [Finish],
    /// Numbered in the order given within each session; those of sessions that are gone are
    /// dropped.
    pub events: &'a [NewEvent],
    /// `messageHistoryUpdated`'s timestamp (its JSON string, without the quotes) when one of
    /// `events` is that event: its data (given as `null`) is then the session's text
    /// conversation with this batch's messages, built by the statement (nothing of it travels
    /// to Hookline and back, and no second statement reads what the first committed).
    pub history: Option<&'a str>,
}

impl Batch<'_> {
    fn is_empty(&self) -> bool {
        self.inserts.is_empty()
            && self.completes.is_empty()
            && self.finishes.is_empty()
            && self.events.is_empty()
    }
}

/// Writes the batch in one statement, or, when a session of its events has ended without its
/// `sessionEnded` yet, in a transaction that also writes that (see [`write_in`]). For a pool
/// whose commits do not wait for the disk: the NOTIFY goes with the writes.
pub async fn write(pool: &PgPool, batch: &Batch<'_>) -> StoreResult<()> {
    if batch.is_empty() || statement(pool, batch, false).await?.written {
        return Ok(());
    }
    let mut tx = pool.begin().await?;
    write_in(&mut tx, batch).await?;
    tx.commit().await?;
    Ok(())
}

/// Writes the batch in the caller's transaction (which does not wait for the disk), then the
/// `sessionEnded` of its sessions that ended without it, unless an awaited call of theirs is
/// still running ([`events::announce_ends`]); all announced at commit.
async fn write_in(tx: &mut Transaction<'_, Postgres>, batch: &Batch<'_>) -> StoreResult<()> {
    let ended = statement(&mut **tx, batch, true).await?.ended;
    if !ended.is_empty() {
        let notes = events::announce_ends(tx, &ended, false).await?;
        events::notify(&mut **tx, &notes).await?;
    }
    Ok(())
}

struct Outcome {
    written: bool,
    /// The batch's sessions that have ended without their `sessionEnded`.
    ended: Vec<Uuid>,
}

/// The one statement. Without `anyway`, it writes nothing when a session of its events has
/// ended without its `sessionEnded` (`written` false).
async fn statement(db: impl PgExecutor<'_>, b: &Batch<'_>, anyway: bool) -> StoreResult<Outcome> {
    let numbering = Numbering::of(b.events);
    let ins = MessageColumns::of(b.inserts.iter());
    let done = MessageColumns::of(b.completes.iter().map(|(_, m)| m));
    let fin = FinishColumns::of(b.finishes.iter());
    // `locked` takes the session rows' locks; `go` reads it and every write joins `go`, so the
    // locks come first. The enums and arrays with NULLs bind `as _` (the macro checks a
    // `text[]` against `Vec<String>` only).
    let row = sqlx::query!(
        r#"WITH locked AS (
              SELECT id, ended_at IS NOT NULL AND NOT end_announced AS unannounced_end
              FROM sessions WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE),
            go AS (
              SELECT $7 OR NOT EXISTS (SELECT 1 FROM locked WHERE unannounced_end) AS ok),
            b AS (
              UPDATE sessions s SET event_seq = s.event_seq + c.n
              FROM unnest($1::uuid[], $2::int8[]) AS c(id, n), go
              WHERE go.ok AND s.id = c.id AND s.id IN (SELECT id FROM locked)
              RETURNING s.id, s.event_seq - c.n AS base, s.event_seq AS last),
            msgs AS (
              INSERT INTO conversation_messages
                  (id, session_id, turn_id, role, content, tool_calls, tool_call_id, is_error,
                   interrupted)
              SELECT m.id, m.session_id, m.turn_id, m.role, m.content, m.tool_calls::json,
                     m.tool_call_id, m.is_error, m.interrupted
              FROM unnest($9::uuid[], $10::uuid[], $11::uuid[], $12::text[], $13::text[],
                          $14::text[], $15::text[], $35::bool[], $16::bool[]) WITH ORDINALITY
                AS m(id, session_id, turn_id, role, content, tool_calls, tool_call_id,
                     is_error, interrupted, n), go
              WHERE go.ok
              ORDER BY m.n
              RETURNING seq, id, session_id, role, content, interrupted),
            completed AS (
              UPDATE conversation_messages m SET id = c.id, content = c.content,
                  tool_calls = c.tool_calls::json, interrupted = c.interrupted
              FROM unnest($17::uuid[], $18::uuid[], $19::text[], $20::text[], $21::bool[])
                AS c(placed, id, content, tool_calls, interrupted), go
              WHERE go.ok AND m.id = c.placed
              RETURNING m.seq, m.id, m.session_id, m.role, m.content, m.interrupted),
            ev AS (
              INSERT INTO session_events (session_id, seq, event, data)
              SELECT e.id, b.base + e.place, e.event,
                  CASE WHEN $36::text IS NOT NULL AND e.event = 'messageHistoryUpdated' THEN (
                      SELECT json_build_object(
                          'messages', COALESCE(json_agg(json_build_object(
                              'id', h.id, 'role', h.role, 'content', h.content,
                              'interrupted', h.interrupted) ORDER BY h.seq), '[]'::json),
                          'timestamp', $36::text)
                      FROM (SELECT seq, id, role, content, interrupted
                            FROM conversation_messages
                            WHERE session_id = e.id AND id <> ALL($17::uuid[])
                            UNION ALL
                            SELECT seq, id, role, content, interrupted FROM msgs
                            WHERE session_id = e.id
                            UNION ALL
                            SELECT seq, id, role, content, interrupted FROM completed
                            WHERE session_id = e.id) h
                      WHERE h.role <> 'tool' AND h.content <> '')
                  ELSE e.data::json END
              FROM unnest($3::uuid[], $4::int8[], $5::text[], $6::text[])
                AS e(id, place, event, data)
              JOIN b ON b.id = e.id),
            finished AS (
              UPDATE tool_calls t SET status = f.status, request = f.request::json,
                  response = f.response::json, result = f.result::json, error = f.error::json,
                  http_status = f.http_status, truncated = f.truncated,
                  execution_time_ms = f.execution_time_ms, attempts = f.attempts,
                  attempt_log = CASE WHEN f.attempt IS NULL THEN t.attempt_log
                                     ELSE t.attempt_log || jsonb_build_array(f.attempt::jsonb) END,
                  next_attempt_at = f.next_attempt_at, completed_at = f.completed_at,
                  lease_owner = NULL, lease_until = NULL
              FROM unnest($22::uuid[], $23::text[], $24::text[], $25::text[], $26::text[],
                          $27::text[], $28::int4[], $29::bool[], $30::int8[], $31::int4[],
                          $32::text[], $33::timestamptz[], $34::timestamptz[])
                AS f(id, status, request, response, result, error, http_status, truncated,
                     execution_time_ms, attempts, attempt, next_attempt_at, completed_at), go
              WHERE go.ok AND t.id = f.id)
           SELECT go.ok AS "written!",
               ARRAY(SELECT id FROM locked WHERE unannounced_end) AS "ended!",
               (SELECT count(*) FROM b CROSS JOIN LATERAL
                   (SELECT true FROM pg_notify($8, b.id::text || ':' || b.last)) n)
                 AS "announced!"
           FROM go"#,
        &numbering.sessions,
        &numbering.counts,
        &b.events.iter().map(|e| e.session_id).collect::<Vec<_>>(),
        &numbering.places,
        b.events.iter().map(|e| e.event).collect::<Vec<_>>() as _,
        &b.events
            .iter()
            .map(|e| json_text(&e.data))
            .collect::<Vec<_>>(),
        anyway,
        CHANNEL,
        &ins.ids,
        &ins.session_ids,
        &ins.turn_ids,
        ins.roles as _,
        &ins.contents,
        ins.tool_calls as _,
        ins.tool_call_ids as _,
        &ins.interrupted,
        &b.completes
            .iter()
            .map(|(placed, _)| *placed)
            .collect::<Vec<_>>(),
        &done.ids,
        &done.contents,
        done.tool_calls as _,
        &done.interrupted,
        &fin.ids,
        fin.statuses as _,
        fin.requests as _,
        fin.responses as _,
        fin.results as _,
        fin.errors as _,
        fin.http_statuses as _,
        &fin.truncated,
        &fin.execution_times_ms,
        &fin.attempts,
        fin.attempt as _,
        fin.next_attempts_at as _,
        fin.completed_at as _,
        &ins.is_error,
        b.history,
    )
    .fetch_one(db)
    .await?;
    Ok(Outcome {
        written: row.written,
        ended: row.ended,
    })
}

/// Messages as the statement's columns.
struct MessageColumns {
    ids: Vec<Uuid>,
    session_ids: Vec<Uuid>,
    turn_ids: Vec<Uuid>,
    roles: Vec<Role>,
    contents: Vec<String>,
    tool_calls: Vec<Option<String>>,
    tool_call_ids: Vec<Option<String>>,
    is_error: Vec<bool>,
    interrupted: Vec<bool>,
}

impl MessageColumns {
    fn of<'m, 'a: 'm>(all: impl Iterator<Item = &'m NewMessage<'a>>) -> Self {
        let mut c = Self {
            ids: Vec::new(),
            session_ids: Vec::new(),
            turn_ids: Vec::new(),
            roles: Vec::new(),
            contents: Vec::new(),
            tool_calls: Vec::new(),
            tool_call_ids: Vec::new(),
            is_error: Vec::new(),
            interrupted: Vec::new(),
        };
        for m in all {
            c.ids.push(m.id);
            c.session_ids.push(m.session_id);
            c.turn_ids.push(m.turn_id);
            c.roles.push(m.role);
            c.contents.push(m.content.to_owned());
            c.tool_calls.push(m.tool_calls.map(json_text));
            c.tool_call_ids.push(m.tool_call_id.map(str::to_owned));
            c.is_error.push(m.is_error);
            c.interrupted.push(m.interrupted);
        }
        c
    }
}
