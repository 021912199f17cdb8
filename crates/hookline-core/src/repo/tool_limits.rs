//! A webhook tool's `limits`, shared by every instance: a token bucket for `perSecond`, one
//! leased row per call in flight for `maxConcurrent`, and the pause an endpoint's 429 asked for
//! (`Retry-After`). The tool's row in `tool_limit_state` is locked while a call takes its turn,
//! so two instances never both see room for the same slot; nothing is held during the call.

use std::time::Duration;

use sqlx::PgPool;
use uuid::Uuid;

use crate::error::StoreResult;
use crate::CallStatus;

/// One endpoint's limits, as a call asks for its turn under them.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_concurrent: Option<u32>,
    pub per_second: Option<f64>,
    /// How long a taken slot is held at most (the call's timeout and some grace): a slot of an
    /// instance that died frees itself then.
    pub lease: Duration,
}

/// What asking for a turn found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Turn {
    /// The call may go (and holds a slot under `holder` when `maxConcurrent` is set).
    Granted,
    /// Not now: try again after about this long.
    Wait(Duration),
}

/// Takes a turn for the call `holder` of `(org_id, tool_name)` if its limits and any pause
/// asked for by the endpoint allow it now; never waits.
pub async fn take(
    pool: &PgPool,
    org_id: Uuid,
    tool_name: &str,
    holder: Uuid,
    limits: Limits,
) -> StoreResult<Turn> {
    // A full bucket holds a second's worth of calls (at least one).
    let burst = limits.per_second.map_or(1.0, |r| r.max(1.0));
    let mut tx = pool.begin().await?;
    sqlx::query!(
        r#"INSERT INTO tool_limit_state (org_id, tool_name, tokens) VALUES ($1, $2, $3)
           ON CONFLICT (org_id, tool_name) DO NOTHING"#,
        org_id,
        tool_name,
        burst,
    )
    .execute(&mut *tx)
    .await?;
    let state = sqlx::query!(
        r#"SELECT tokens, extract(epoch FROM now() - refilled_at)::float8 AS "elapsed!",
                  extract(epoch FROM blocked_until - now())::float8 AS "blocked_for?"
           FROM tool_limit_state WHERE org_id = $1 AND tool_name = $2 FOR UPDATE"#,
        org_id,
        tool_name,
    )
    .fetch_one(&mut *tx)
    .await?;
    if let Some(blocked) = state.blocked_for.filter(|s| *s > 0.0) {
        return Ok(Turn::Wait(Duration::from_secs_f64(blocked)));
    }
    let tokens = match limits.per_second {
        Some(rate) => {
            let tokens = (state.tokens + state.elapsed.max(0.0) * rate).min(burst);
            if tokens < 1.0 {
                return Ok(Turn::Wait(Duration::from_secs_f64((1.0 - tokens) / rate)));
            }
            Some(tokens - 1.0)
        }
        None => None,
    };
    if let Some(max) = limits.max_concurrent {
        let in_flight = sqlx::query_scalar!(
            r#"WITH expired AS (
                   DELETE FROM tool_call_slots
                   WHERE org_id = $1 AND tool_name = $2 AND lease_until < now())
               SELECT count(*) AS "n!" FROM tool_call_slots
               WHERE org_id = $1 AND tool_name = $2 AND lease_until >= now()"#,
            org_id,
            tool_name,
        )
        .fetch_one(&mut *tx)
        .await?;
        if in_flight >= i64::from(max) {
            // A slot frees when a call ends, which nobody announces across instances: look
            // again soon.
            return Ok(Turn::Wait(SLOT_POLL));
        }
        sqlx::query!(
            r#"INSERT INTO tool_call_slots (org_id, tool_name, holder, lease_until)
               VALUES ($1, $2, $3, now() + make_interval(secs => $4))
               ON CONFLICT DO NOTHING"#,
            org_id,
            tool_name,
            holder,
            limits.lease.as_secs_f64(),
        )
        .execute(&mut *tx)
        .await?;
    }
    if let Some(tokens) = tokens {
        sqlx::query!(
            r#"UPDATE tool_limit_state SET tokens = $3, refilled_at = now()
               WHERE org_id = $1 AND tool_name = $2"#,
            org_id,
            tool_name,
            tokens,
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(Turn::Granted)
}

/// How soon a call waiting for a free slot looks again.
pub const SLOT_POLL: Duration = Duration::from_millis(25);

/// Gives back the slot `holder` took.
pub async fn release(
    pool: &PgPool,
    org_id: Uuid,
    tool_name: &str,
    holder: Uuid,
) -> StoreResult<()> {
    sqlx::query!(
        "DELETE FROM tool_call_slots WHERE org_id = $1 AND tool_name = $2 AND holder = $3",
        org_id,
        tool_name,
        holder,
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Records that the endpoint asked to be left alone for `pause` (a 429's `Retry-After`): no
/// call of the tool is sent before then, from any instance.
pub async fn pause(
    pool: &PgPool,
    org_id: Uuid,
    tool_name: &str,
    pause: Duration,
) -> StoreResult<()> {
    sqlx::query!(
        r#"INSERT INTO tool_limit_state (org_id, tool_name, blocked_until)
           VALUES ($1, $2, now() + make_interval(secs => $3))
           ON CONFLICT (org_id, tool_name) DO UPDATE SET blocked_until =
               greatest(coalesce(tool_limit_state.blocked_until, now()), excluded.blocked_until)"#,
        org_id,
        tool_name,
        pause.as_secs_f64(),
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Puts a claimed fire-and-forget call back in the queue, due after `wait`, without counting an
/// attempt: its tool's limits had no room for it. Only while `owner` still holds its lease.
pub async fn defer(pool: &PgPool, id: Uuid, owner: Uuid, wait: Duration) -> StoreResult<()> {
    sqlx::query!(
        r#"UPDATE tool_calls SET status = $3, lease_owner = NULL, lease_until = NULL,
               next_attempt_at = now() + make_interval(secs => $4)
           WHERE id = $1 AND lease_owner = $2"#,
        id,
        owner,
        CallStatus::Pending.as_str(),
        wait.as_secs_f64(),
    )
    .execute(pool)
    .await?;
    Ok(())
}
