//! Session events: numbered 1, 2, 3… within each session (the SSE id), stored so a reconnecting
//! client can replay what it missed, and announced with NOTIFY (ids only) so a stream on any
//! instance hears of them.

use chrono::Utc;
use serde_json::{json, Value};
use sqlx::{PgConnection, PgExecutor, Postgres, Transaction};
use uuid::Uuid;

use hookline_schema::ToolType;

use crate::calls::CallStatus;
use crate::error::StoreResult;
use crate::event_name::EventName;
use crate::repo::json_text;

/// The NOTIFY channel; each payload is `<session id>:<seq>`.
pub const CHANNEL: &str = "hookline_events";

#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub seq: i64,
    pub event: EventName,
    pub data: sqlx::types::Json<Value>,
}

/// Appends one event in the caller's transaction and returns its announcement, to make with
/// [`notify`] once the transaction has committed.
pub async fn append(
    tx: &mut Transaction<'_, Postgres>,
    session_id: Uuid,
    event: EventName,
    data: &Value,
) -> StoreResult<Vec<String>> {
    let new = NewEvent {
        session_id,
        event,
        data: data.clone(),
    };
    append_many(tx, &[new]).await
}

/// An event to append with [`append_many`].
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub session_id: Uuid,
    pub event: EventName,
    pub data: Value,
}

/// Appends many events in one go, numbered in the order given within each session, and returns
/// the announcements to make with [`notify`] (one per session) once the transaction has
/// committed. Events of sessions that are gone are dropped. A session that has ended gets its
/// `sessionEnded` after these events once no awaited call of it is still running.
///
/// It takes a transaction because the numbers are taken under the session row's lock, held until
/// commit: numbers then follow commit order, so a reader never sees event N+1 before event N.
/// The announcements are made apart because Postgres serialises the commits of transactions
/// that NOTIFY: inside a durable transaction that would queue every commit behind the disk.
///
/// The events are numbered and inserted in one statement (one round trip).
pub async fn append_many(
    tx: &mut Transaction<'_, Postgres>,
    all: &[NewEvent],
) -> StoreResult<Vec<String>> {
    let conn: &mut PgConnection = tx;
    if all.is_empty() {
        return Ok(Vec::new());
    }
    let numbering = Numbering::of(all);
    // Taking the numbers locks each session row until commit, so numbers follow commit order.
    // Each event's number is its session's base plus its place among that session's events.
    // The rows are locked in id order first: writers whose groups span sessions (the call-log
    // writers, the delivery recorder) then never wait on each other in a cycle (a deadlock).
    // NO KEY UPDATE, not UPDATE: a call's start row checks its session with a foreign key, which
    // takes KEY SHARE on the sessions in the batch's order; FOR UPDATE conflicts with that and the
    // two deadlocked under load (issue 15 bench, stop 18), NO KEY UPDATE (what the UPDATE takes
    // anyway) does not. `crate::repo::batch` numbers its events the same way.
    // The names bind as text (`EventName`'s `sqlx::Type`), past the macro's `Vec<String>` check.
    let rows = sqlx::query!(
        r#"WITH locked AS (
              SELECT id FROM sessions WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE),
            b AS (
              UPDATE sessions s SET event_seq = s.event_seq + c.n
              FROM unnest($1::uuid[], $2::int8[]) AS c(id, n)
              WHERE s.id = c.id AND s.id IN (SELECT id FROM locked)
              RETURNING s.id, s.event_seq - c.n AS base, s.event_seq AS last,
                  s.ended_at IS NOT NULL AND NOT s.end_announced AS unannounced_end),
            ins AS (
              INSERT INTO session_events (session_id, seq, event, data)
              SELECT e.id, b.base + e.place, e.event, e.data::json
              FROM unnest($3::uuid[], $4::int8[], $5::text[], $6::text[])
                AS e(id, place, event, data)
              JOIN b ON b.id = e.id)
           SELECT b.id AS "id!", b.last AS "last!", b.unannounced_end AS "unannounced_end!"
           FROM b"#,
        &numbering.sessions,
        &numbering.counts,
        &all.iter().map(|e| e.session_id).collect::<Vec<_>>(),
        &numbering.places,
        all.iter().map(|e| e.event).collect::<Vec<_>>() as _,
        &all.iter().map(|e| json_text(&e.data)).collect::<Vec<_>>(),
    )
    .fetch_all(&mut *conn)
    .await?;
    let ended: Vec<Uuid> = rows
        .iter()
        .filter(|r| r.unannounced_end)
        .map(|r| r.id)
        .collect();
    let mut notes: Vec<String> = rows
        .iter()
        .map(|r| format!("{}:{}", r.id, r.last))
        .collect();
    if !ended.is_empty() {
        notes.extend(announce_ends(tx, &ended, false).await?);
    }
    Ok(notes)
}

/// How a list of events is numbered: per session, how many it has (`counts`, the sessions in
/// first-seen order), and each event's place among its session's events, from 1.
pub(crate) struct Numbering {
    pub sessions: Vec<Uuid>,
    pub counts: Vec<i64>,
    pub places: Vec<i64>,
}

impl Numbering {
    pub(crate) fn of(all: &[NewEvent]) -> Self {
        let mut n = Self {
            sessions: Vec::new(),
            counts: Vec::new(),
            places: Vec::with_capacity(all.len()),
        };
        for e in all {
            match n.sessions.iter().position(|id| *id == e.session_id) {
                Some(i) => {
                    n.counts[i] += 1;
                    n.places.push(n.counts[i]);
                }
                None => {
                    n.sessions.push(e.session_id);
                    n.counts.push(1);
                    n.places.push(1);
                }
            }
        }
        n
    }
}

/// Writes `sessionEnded` for each of these sessions that has ended and not had it yet, unless
/// (without `force`) an awaited call of it is still running: that call's events come first, and
/// the transaction that records its end writes `sessionEnded` after them. Returns the
/// announcements to make once committed.
///
/// Every writer of a session's events holds the session row's lock from numbering to commit, so
/// the last of them to commit sees every call's end and exactly one writes `sessionEnded`.
/// Client-tool calls and fire-and-forget deliveries do not hold the end back: nothing bounds
/// when a browser answers or a retry runs.
pub async fn announce_ends(
    tx: &mut Transaction<'_, Postgres>,
    session_ids: &[Uuid],
    force: bool,
) -> StoreResult<Vec<String>> {
    let data: Vec<String> = session_ids
        .iter()
        .map(|id| json_text(&session_ended_data(*id)))
        .collect();
    let rows = sqlx::query!(
        "WITH ended AS (
            UPDATE sessions s SET event_seq = s.event_seq + 1, end_announced = true
            FROM unnest($1::uuid[], $2::text[]) AS c(id, data)
            WHERE s.id = c.id AND s.ended_at IS NOT NULL AND NOT s.end_announced
              AND ($3 OR NOT EXISTS (
                  SELECT 1 FROM tool_calls t
                  WHERE t.session_id = s.id AND t.status = $5 AND t.await_response
                    AND t.tool_type <> $6))
            RETURNING s.id, s.event_seq, c.data)
         INSERT INTO session_events (session_id, seq, event, data)
         SELECT id, event_seq, $4, data::json FROM ended
         RETURNING session_id, seq",
        session_ids,
        &data,
        force,
        EventName::SessionEnded.as_str(),
        CallStatus::Running.as_str(),
        ToolType::Client.as_str(),
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| format!("{}:{}", r.session_id, r.seq))
        .collect())
}

/// Announces stored events (`<session id>:<seq>` each). Outside a transaction that writes, this
/// commits without waiting for the disk.
pub async fn notify(db: impl PgExecutor<'_>, notes: &[String]) -> StoreResult<()> {
    if notes.is_empty() {
        return Ok(());
    }
    sqlx::query!(
        "SELECT pg_notify($1, n) FROM unnest($2::text[]) AS n",
        CHANNEL,
        notes,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// The session's events after `after`, in order, at most `limit`.
pub async fn after(
    db: impl PgExecutor<'_>,
    session_id: Uuid,
    after: i64,
    limit: i64,
) -> StoreResult<Vec<StoredEvent>> {
    Ok(sqlx::query_as!(
        StoredEvent,
        r#"SELECT seq, event AS "event: _", data AS "data: _" FROM session_events
           WHERE session_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"#,
        session_id,
        after,
        limit,
    )
    .fetch_all(db)
    .await?)
}

/// The number of the session's latest event (0 when none).
pub async fn latest(db: impl PgExecutor<'_>, session_id: Uuid) -> StoreResult<i64> {
    let seq = sqlx::query_scalar!("SELECT event_seq FROM sessions WHERE id = $1", session_id)
        .fetch_one(db)
        .await?;
    Ok(seq)
}

/// The data of a `sessionEnded` event.
pub fn session_ended_data(session_id: Uuid) -> Value {
    json!({
        "eventUid": Uuid::now_v7(),
        "sessionId": session_id,
        "timestamp": Utc::now(),
    })
}
