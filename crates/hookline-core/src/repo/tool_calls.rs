//! The call log: one row per tool call, written when the call starts (which also makes a
//! repeated `toolCallId` find its first run) and completed when it ends. Fire-and-forget calls
//! are also the delivery queue: a due row has `next_attempt_at` set.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use hookline_schema::ToolType;

use crate::calls::{CallFailure, CallStatus};
use crate::error::StoreResult;
use crate::repo::Page;
use crate::repo::{json_text, locks};

/// A call to start, owned, for [`start_many`].
#[derive(Debug, Clone)]
pub struct CallToStart {
    pub id: Uuid,
    pub org_id: Uuid,
    pub session_id: Uuid,
    pub tool_call_id: String,
    pub tool_name: String,
    pub tool_type: ToolType,
    pub status: CallStatus,
    pub await_response: bool,
    pub arguments: Value,
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// What [`start_many`] found for one call; `Repeated` carries no record (look it up).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Started {
    Started,
    Repeated,
    NoSession,
    SessionEnded,
    SessionExpired,
}

/// Starts many calls in one statement (the hot path groups the calls that arrive together):
/// each is inserted if its session is active and its `toolCallId` new, and told which it was.
pub async fn start_many(
    db: impl PgExecutor<'_>,
    calls: &[CallToStart],
) -> StoreResult<Vec<Started>> {
    let column = |f: &dyn Fn(&CallToStart) -> Uuid| calls.iter().map(f).collect::<Vec<_>>();
    let text = |f: &dyn Fn(&CallToStart) -> &str| {
        calls.iter().map(|c| f(c).to_owned()).collect::<Vec<_>>()
    };
    // The enums bind as text (their `sqlx::Type`); `as _` takes them past the macro's check,
    // which expects `String`s for a `text[]`.
    let rows = sqlx::query!(
        r#"WITH input AS (
              SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[],
                                   $6::text[], $7::text[], $8::bool[], $9::text[], $10::timestamptz[])
                WITH ORDINALITY AS i(id, org_id, session_id, tool_call_id, tool_name, tool_type,
                                     status, await_response, arguments, next_attempt_at, n)),
            s AS (SELECT id, org_id, ended_at, expires_at FROM sessions
                  WHERE id IN (SELECT session_id FROM input)),
            ins AS (
              INSERT INTO tool_calls (id, org_id, session_id, tool_call_id, tool_name, tool_type,
                  status, await_response, arguments, next_attempt_at)
              SELECT i.id, i.org_id, i.session_id, i.tool_call_id, i.tool_name, i.tool_type,
                     i.status, i.await_response, i.arguments::json, i.next_attempt_at
              FROM input i JOIN s ON s.id = i.session_id AND s.org_id = i.org_id
              WHERE s.ended_at IS NULL AND s.expires_at > now()
              ORDER BY i.n
              ON CONFLICT (session_id, tool_call_id) DO NOTHING RETURNING id)
           SELECT i.id IN (SELECT id FROM ins) AS "inserted!", s.id IS NULL AS "no_session!",
                  s.ended_at IS NOT NULL AS "ended!",
                  COALESCE(s.expires_at <= now(), false) AS "expired!"
           FROM input i LEFT JOIN s ON s.id = i.session_id AND s.org_id = i.org_id
           ORDER BY i.n"#,
        &column(&|c| c.id),
        &column(&|c| c.org_id),
        &column(&|c| c.session_id),
        &text(&|c| &c.tool_call_id),
        &text(&|c| &c.tool_name),
        calls.iter().map(|c| c.tool_type).collect::<Vec<_>>() as _,
        calls.iter().map(|c| c.status).collect::<Vec<_>>() as _,
        &calls.iter().map(|c| c.await_response).collect::<Vec<_>>(),
        &calls
            .iter()
            .map(|c| json_text(&c.arguments))
            .collect::<Vec<_>>(),
        calls.iter().map(|c| c.next_attempt_at).collect::<Vec<_>>() as _,
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            if r.inserted {
                Started::Started
            } else if r.no_session {
                Started::NoSession
            } else if r.ended {
                Started::SessionEnded
            } else if r.expired {
                Started::SessionExpired
            } else {
                Started::Repeated
            }
        })
        .collect())
}

/// How a call ended (or an attempt of a fire-and-forget call went).
#[derive(Debug, Clone)]
pub struct Finish {
    pub id: Uuid,
    pub status: CallStatus,
    pub request: Option<Value>,
    pub response: Option<Value>,
    pub result: Option<Value>,
    pub error: Option<CallFailure>,
    pub http_status: Option<i32>,
    pub truncated: bool,
    pub execution_time_ms: i64,
    pub attempts: i32,
    /// This attempt, appended to the call's attempt log.
    pub attempt: Option<Value>,
    /// When to try again (fire-and-forget only); `None` settles the call.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
}

/// Records attempts of fire-and-forget calls in one statement, each only while the token its
/// claim wrote (`owner`) still holds its lease, and returns the ids recorded. A call missing from
/// the answer lost its lease, to a process that claimed it again after the lease ran out: that
/// process's attempt is the one on record, and this one's outcome is dropped so the record never
/// counts an attempt twice.
pub async fn finish_attempts(
    db: impl PgExecutor<'_>,
    all: &[(Uuid, &Finish)],
) -> StoreResult<Vec<Uuid>> {
    let owners = all.iter().map(|(owner, _)| Some(*owner)).collect();
    let finishes: Vec<&Finish> = all.iter().map(|(_, f)| *f).collect();
    record(db, &finishes, owners).await
}

/// The one statement behind [`finish_attempts`]: a row whose `owner` is given is written only
/// while that token holds its lease; the ids written come back. (The ends of awaited calls are
/// written with their events by [`crate::repo::batch`], with the same columns.)
async fn record(
    db: impl PgExecutor<'_>,
    all: &[&Finish],
    owners: Vec<Option<Uuid>>,
) -> StoreResult<Vec<Uuid>> {
    let f = FinishColumns::of(all.iter().copied());
    // Arrays with NULLs in them (`Vec<Option<_>>`) and of enums bind `as _`: the macro checks
    // a `text[]` against `Vec<String>` only.
    Ok(sqlx::query_scalar!(
        "UPDATE tool_calls t SET status = f.status, request = f.request::json,
            response = f.response::json, result = f.result::json, error = f.error::json,
            http_status = f.http_status, truncated = f.truncated,
            execution_time_ms = f.execution_time_ms, attempts = f.attempts,
            attempt_log = CASE WHEN f.attempt IS NULL THEN t.attempt_log
                               ELSE t.attempt_log || jsonb_build_array(f.attempt::jsonb) END,
            next_attempt_at = f.next_attempt_at, completed_at = f.completed_at,
            lease_owner = NULL, lease_until = NULL
         FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                     $7::int4[], $8::bool[], $9::int8[], $10::int4[], $11::text[],
                     $12::timestamptz[], $13::timestamptz[], $14::uuid[])
           AS f(id, status, request, response, result, error, http_status, truncated,
                execution_time_ms, attempts, attempt, next_attempt_at, completed_at, owner)
         WHERE t.id = f.id AND (f.owner IS NULL OR t.lease_owner = f.owner)
         RETURNING t.id",
        &f.ids,
        f.statuses as _,
        f.requests as _,
        f.responses as _,
        f.results as _,
        f.errors as _,
        f.http_statuses as _,
        &f.truncated,
        &f.execution_times_ms,
        &f.attempts,
        f.attempt as _,
        f.next_attempts_at as _,
        f.completed_at as _,
        owners as _,
    )
    .fetch_all(db)
    .await?)
}

/// Ends of calls as a statement's columns (JSON as text, see [`json_text`]).
pub(crate) struct FinishColumns {
    pub ids: Vec<Uuid>,
    pub statuses: Vec<CallStatus>,
    pub requests: Vec<Option<String>>,
    pub responses: Vec<Option<String>>,
    pub results: Vec<Option<String>>,
    pub errors: Vec<Option<String>>,
    pub http_statuses: Vec<Option<i32>>,
    pub truncated: Vec<bool>,
    pub execution_times_ms: Vec<i64>,
    pub attempts: Vec<i32>,
    pub attempt: Vec<Option<String>>,
    pub next_attempts_at: Vec<Option<DateTime<Utc>>>,
    pub completed_at: Vec<Option<DateTime<Utc>>>,
}

impl FinishColumns {
    pub(crate) fn of<'f>(all: impl Iterator<Item = &'f Finish>) -> Self {
        let mut c = Self {
            ids: Vec::new(),
            statuses: Vec::new(),
            requests: Vec::new(),
            responses: Vec::new(),
            results: Vec::new(),
            errors: Vec::new(),
            http_statuses: Vec::new(),
            truncated: Vec::new(),
            execution_times_ms: Vec::new(),
            attempts: Vec::new(),
            attempt: Vec::new(),
            next_attempts_at: Vec::new(),
            completed_at: Vec::new(),
        };
        for f in all {
            c.ids.push(f.id);
            c.statuses.push(f.status);
            c.requests.push(f.request.as_ref().map(json_text));
            c.responses.push(f.response.as_ref().map(json_text));
            c.results.push(f.result.as_ref().map(json_text));
            c.errors.push(f.error.as_ref().map(json_text));
            c.http_statuses.push(f.http_status);
            c.truncated.push(f.truncated);
            c.execution_times_ms.push(f.execution_time_ms);
            c.attempts.push(f.attempts);
            c.attempt.push(f.attempt.as_ref().map(json_text));
            c.next_attempts_at.push(f.next_attempt_at);
            c.completed_at.push(f.completed_at);
        }
        c
    }
}

#[derive(Debug, Clone)]
pub struct CallRecord {
    pub id: Uuid,
    pub org_id: Uuid,
    pub session_id: Uuid,
    pub tool_call_id: String,
    pub tool_name: String,
    pub tool_type: ToolType,
    pub status: CallStatus,
    pub await_response: bool,
    pub arguments: Json<Value>,
    pub request: Option<Json<Value>>,
    pub response: Option<Json<Value>>,
    pub result: Option<Json<Value>>,
    pub error: Option<Json<CallFailure>>,
    pub http_status: Option<i32>,
    pub truncated: bool,
    pub execution_time_ms: Option<i64>,
    pub attempts: i32,
    pub attempt_log: Json<Value>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

pub async fn get(
    db: impl PgExecutor<'_>,
    org_id: Uuid,
    id: Uuid,
) -> StoreResult<Option<CallRecord>> {
    Ok(sqlx::query_as!(
        CallRecord,
        r#"SELECT id, org_id, session_id, tool_call_id, tool_name, tool_type AS "tool_type: _",
               status AS "status: _", await_response, arguments AS "arguments: _",
               request AS "request: _", response AS "response: _", result AS "result: _",
               error AS "error: _", http_status, truncated, execution_time_ms, attempts,
               attempt_log AS "attempt_log: _", next_attempt_at, created_at, completed_at
           FROM tool_calls WHERE org_id = $1 AND id = $2"#,
        org_id,
        id,
    )
    .fetch_optional(db)
    .await?)
}

pub async fn by_tool_call_id(
    db: impl PgExecutor<'_>,
    session_id: Uuid,
    tool_call_id: &str,
) -> StoreResult<Option<CallRecord>> {
    Ok(sqlx::query_as!(
        CallRecord,
        r#"SELECT id, org_id, session_id, tool_call_id, tool_name, tool_type AS "tool_type: _",
               status AS "status: _", await_response, arguments AS "arguments: _",
               request AS "request: _", response AS "response: _", result AS "result: _",
               error AS "error: _", http_status, truncated, execution_time_ms, attempts,
               attempt_log AS "attempt_log: _", next_attempt_at, created_at, completed_at
           FROM tool_calls WHERE session_id = $1 AND tool_call_id = $2"#,
        session_id,
        tool_call_id,
    )
    .fetch_optional(db)
    .await?)
}

/// One page of a session's calls, oldest first, with the total.
pub async fn list(
    db: &mut PgConnection,
    session_id: Uuid,
    page: Page,
) -> StoreResult<(Vec<CallRecord>, i64)> {
    let total = sqlx::query_scalar!(
        r#"SELECT count(*) AS "total!" FROM tool_calls WHERE session_id = $1"#,
        session_id,
    )
    .fetch_one(&mut *db)
    .await?;
    let rows = sqlx::query_as!(
        CallRecord,
        r#"SELECT id, org_id, session_id, tool_call_id, tool_name, tool_type AS "tool_type: _",
               status AS "status: _", await_response, arguments AS "arguments: _",
               request AS "request: _", response AS "response: _", result AS "result: _",
               error AS "error: _", http_status, truncated, execution_time_ms, attempts,
               attempt_log AS "attempt_log: _", next_attempt_at, created_at, completed_at
           FROM tool_calls WHERE session_id = $1 ORDER BY id LIMIT $2 OFFSET $3"#,
        session_id,
        page.per_page,
        page.offset(),
    )
    .fetch_all(&mut *db)
    .await?;
    Ok((rows, total))
}

/// Settles a waiting client-tool call with the browser's answer; false when the call is not
/// waiting (unknown, or settled already).
pub async fn settle_client_call(
    db: impl PgExecutor<'_>,
    session_id: Uuid,
    tool_call_id: &str,
    status: CallStatus,
    result: Option<&Value>,
    error: Option<&CallFailure>,
) -> StoreResult<Option<CallRecord>> {
    Ok(sqlx::query_as!(
        CallRecord,
        r#"UPDATE tool_calls SET status = $3, result = $4::text::json, error = $5::text::json,
               completed_at = now(),
               execution_time_ms = (extract(epoch FROM now() - created_at) * 1000)::bigint
           WHERE session_id = $1 AND tool_call_id = $2 AND tool_type = $6 AND status = ANY($7)
           RETURNING id, org_id, session_id, tool_call_id, tool_name, tool_type AS "tool_type: _",
               status AS "status: _", await_response, arguments AS "arguments: _",
               request AS "request: _", response AS "response: _", result AS "result: _",
               error AS "error: _", http_status, truncated, execution_time_ms, attempts,
               attempt_log AS "attempt_log: _", next_attempt_at, created_at, completed_at"#,
        session_id,
        tool_call_id,
        status.as_str(),
        result.map(json_text),
        error.map(json_text),
        ToolType::Client.as_str(),
        [CallStatus::Pending, CallStatus::Running] as _,
    )
    .fetch_optional(db)
    .await?)
}

/// A fire-and-forget call due for an attempt, claimed under a lease.
#[derive(Debug, Clone)]
pub struct Due {
    pub id: Uuid,
    pub org_id: Uuid,
    pub session_id: Uuid,
    pub tool_call_id: String,
    pub tool_name: String,
    pub arguments: Json<Value>,
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
    /// The claim's token: only its holder may record the attempt ([`finish_attempt`]).
    pub lease_owner: Uuid,
}

/// How a claim is made.
#[derive(Debug, Clone, Copy)]
pub struct Claim {
    /// The token written into each claimed row; a fresh one for every claim, so a call claimed
    /// again (even by the same process) after its lease ran out has a new holder.
    pub owner: Uuid,
    pub lease_seconds: f64,
    pub limit: i64,
    /// The most calls of one organization leased at once, counted over every process...
    pub per_org: i64,
    /// ... unless the claim has room to spare once every organization got its share: then
    /// the oldest due calls of any organization fill it, all but `reserve` of it (kept free for
    /// an organization that has nothing in flight yet, since an attempt is never interrupted).
    pub reserve: i64,
}

/// Claims up to `limit` due calls until the lease runs out, oldest due first, first never more
/// of one organization than `per_org` leased at once (so one organization with a slow endpoint
/// cannot hold every worker); then, if room is left beyond `reserve`, the oldest due calls of
/// any organization (nobody else is waiting). Rows another process is claiming are skipped, and
/// a lease that ran out (its process died) is claimed again.
///
/// The per-organization count is of live leases in the table, so it holds across processes;
/// claims take turns under a transaction-scoped advisory lock so two processes never both see
/// room for the same slot. A claim is one or two short statements, so the turns cost little.
pub async fn claim(pool: &sqlx::PgPool, c: Claim) -> StoreResult<Vec<Due>> {
    let mut tx = pool.begin().await?;
    locks::claims(&mut tx).await?;
    // `orgs` walks the organizations with due calls one index probe each (a loose index scan),
    // so a claim costs about the same with a backlog of a hundred calls or a hundred thousand.
    let due = sqlx::query_as!(
        Due,
        r#"WITH RECURSIVE orgs AS (
            (SELECT org_id FROM tool_calls WHERE next_attempt_at <= now() ORDER BY org_id LIMIT 1)
            UNION ALL
            SELECT (SELECT t.org_id FROM tool_calls t
                    WHERE t.next_attempt_at <= now() AND t.org_id > o.org_id
                    ORDER BY t.org_id LIMIT 1)
            FROM orgs o WHERE o.org_id IS NOT NULL),
          busy AS (
            SELECT org_id, count(*) AS n FROM tool_calls
            WHERE lease_owner IS NOT NULL AND lease_until >= now() GROUP BY org_id),
          picked AS (
            SELECT c.id FROM orgs o
            LEFT JOIN busy b ON b.org_id = o.org_id
            CROSS JOIN LATERAL (
                SELECT t.id, t.next_attempt_at FROM tool_calls t
                WHERE t.org_id = o.org_id AND t.next_attempt_at <= now()
                  AND (t.lease_until IS NULL OR t.lease_until < now())
                ORDER BY t.next_attempt_at LIMIT greatest($4 - COALESCE(b.n, 0), 0)) c
            WHERE o.org_id IS NOT NULL
            ORDER BY c.next_attempt_at, c.id LIMIT $3),
          locked AS (
            SELECT id FROM tool_calls
            WHERE id IN (SELECT id FROM picked)
              AND next_attempt_at <= now() AND (lease_until IS NULL OR lease_until < now())
            FOR UPDATE SKIP LOCKED)
         UPDATE tool_calls t
            SET lease_owner = $1, lease_until = now() + make_interval(secs => $2), status = $5
         FROM locked WHERE t.id = locked.id
         RETURNING t.id, t.org_id, t.session_id, t.tool_call_id, t.tool_name,
                   t.arguments AS "arguments: _", t.attempts, t.created_at,
                   t.lease_owner AS "lease_owner!""#,
        c.owner,
        c.lease_seconds,
        c.limit,
        c.per_org,
        CallStatus::Running.as_str(),
    )
    .fetch_all(&mut *tx)
    .await?;
    // Room left means no organization with due calls was held back by anything but its cap:
    // nobody else waits, so the busy ones may use the idle workers (work-conserving).
    let spare = c.limit - due.len() as i64 - c.reserve;
    let mut due = due;
    if spare > 0 {
        let more = sqlx::query_as!(
            Due,
            r#"WITH locked AS (
                SELECT id FROM tool_calls
                WHERE next_attempt_at <= now() AND (lease_until IS NULL OR lease_until < now())
                ORDER BY next_attempt_at LIMIT $3
                FOR UPDATE SKIP LOCKED)
             UPDATE tool_calls t
                SET lease_owner = $1, lease_until = now() + make_interval(secs => $2),
                    status = $4
             FROM locked WHERE t.id = locked.id
             RETURNING t.id, t.org_id, t.session_id, t.tool_call_id, t.tool_name,
                       t.arguments AS "arguments: _", t.attempts, t.created_at,
                       t.lease_owner AS "lease_owner!""#,
            c.owner,
            c.lease_seconds,
            spare,
            CallStatus::Running.as_str(),
        )
        .fetch_all(&mut *tx)
        .await?;
        due.extend(more);
    }
    tx.commit().await?;
    Ok(due)
}

/// Gives back the calls held under these claim tokens, due at once (on shutdown).
pub async fn release(db: impl PgExecutor<'_>, owners: &[Uuid]) -> StoreResult<u64> {
    Ok(sqlx::query!(
        "UPDATE tool_calls SET lease_owner = NULL, lease_until = NULL, status = $2
         WHERE lease_owner = ANY($1) AND next_attempt_at IS NOT NULL",
        owners,
        CallStatus::Pending.as_str(),
    )
    .execute(db)
    .await?
    .rows_affected())
}

/// Calls waiting for delivery, and how long the oldest due one has waited (seconds).
///
/// Counted through the due index, for the reason the claim is (see [`locks::claims`]): planned
/// without statistics, the count read the whole call log, 20 ms every 5 s with 50,000 calls
/// logged and growing with every call, where the index holds only the waiting ones.
pub async fn queue_stats(pool: &sqlx::PgPool) -> StoreResult<(i64, f64)> {
    let mut tx = pool.begin().await?;
    plan_on_indexes(&mut tx).await?;
    let stats = sqlx::query!(
        r#"SELECT count(*) AS "waiting!",
                  COALESCE(extract(epoch FROM now() - min(next_attempt_at)
                                   FILTER (WHERE next_attempt_at <= now())), 0)::float8
                      AS "oldest_seconds!"
           FROM tool_calls WHERE next_attempt_at IS NOT NULL"#
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok((stats.waiting, stats.oldest_seconds))
}

/// Plans the rest of the transaction on indexes, as [`locks::claims`] does in its own statement (the
/// reasons are there): for the other statements over the delivery queue, and the retention's
/// deletes ([`crate::repo::retention`]).
pub(crate) async fn plan_on_indexes(tx: &mut PgConnection) -> StoreResult<()> {
    sqlx::query_scalar!(
        "SELECT concat(set_config('enable_seqscan', 'off', true),
                       set_config('enable_bitmapscan', 'off', true),
                       set_config('jit', 'off', true))"
    )
    .fetch_one(tx)
    .await?;
    Ok(())
}
