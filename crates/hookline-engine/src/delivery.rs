//! Durable delivery of fire-and-forget calls. A call is stored before its 202; workers in every
//! process claim due calls with `FOR UPDATE SKIP LOCKED` under a lease, so no two deliver one
//! attempt and a process that dies only delays its calls until the lease runs out. Connection
//! errors, timeouts, 5xx and 429 are retried with exponential backoff and jitter (`Retry-After`
//! honoured, up to the longest backoff); other answers settle the call.
//!
//! Each claim writes a fresh token into the rows it takes, and an attempt's outcome is recorded
//! only while its row still carries that token: a worker whose lease ran out (a stalled process)
//! and whose call was claimed again cannot overwrite the newer attempt's record. A claim never
//! takes more of one organization's calls than its share (see `tool_calls::claim`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use uuid::Uuid;

use hookline_core::repo::tool_calls::{self, Claim, Due, Finish};
use hookline_core::repo::{events, tool_limits};
use hookline_core::settings::DeliverySettings;
use hookline_core::{CallStatus, ErrorKind, StoreError};
use hookline_schema::definition::MAX_TIMEOUT_SECONDS;
use hookline_schema::{ToolDefinition, ToolType};

use crate::call::{attempt_entry, call_event_data, end_event, Engine};
use crate::outcome::Outcome;

mod recorder;

use recorder::{Attempt, Recorder};

const IDLE_POLL: Duration = Duration::from_millis(250);
const STATS_EVERY: Duration = Duration::from_secs(5);
/// How often a stopping process looks whether its last attempts are recorded.
const DRAIN_POLL: Duration = Duration::from_millis(20);
/// Time an attempt may take beyond its tool's timeout: looking the call up before, recording
/// its outcome after. A stopping process waits this long past the last attempt's timeout.
const RECORD_GRACE: Duration = Duration::from_secs(5);

/// The attempts this process has in flight: each call's claim token and the time by which its
/// attempt is over (its tool's timeout, plus [`RECORD_GRACE`]).
#[derive(Clone, Default)]
struct InFlight(Arc<Mutex<HashMap<Uuid, (Uuid, Instant)>>>);

impl InFlight {
    /// Registers a claimed call until the returned guard is dropped (on every exit path).
    fn hold(&self, due: &Due) -> Held {
        let deadline =
            Instant::now() + Duration::from_secs(u64::from(MAX_TIMEOUT_SECONDS)) + RECORD_GRACE;
        self.lock().insert(due.id, (due.lease_owner, deadline));
        Held {
            in_flight: self.clone(),
            id: due.id,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, (Uuid, Instant)>> {
        self.0.lock().expect("in-flight lock")
    }

    /// When the last attempt in flight is over at the latest; `None` when nothing is in flight.
    fn latest(&self) -> Option<Instant> {
        self.lock().values().map(|(_, at)| *at).max()
    }

    fn owners(&self) -> Vec<Uuid> {
        self.lock().values().map(|(owner, _)| *owner).collect()
    }
}

struct Held {
    in_flight: InFlight,
    id: Uuid,
}

impl Held {
    /// Narrows the deadline once the tool, and so its timeout, is known.
    fn expect_within(&self, timeout: Duration) {
        if let Some(entry) = self.in_flight.lock().get_mut(&self.id) {
            entry.1 = Instant::now() + timeout + RECORD_GRACE;
        }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.in_flight.lock().remove(&self.id);
    }
}

/// Runs the delivery workers until `stop` turns true; then finishes or gives back what it holds.
pub fn spawn(engine: Arc<Engine>, mut stop: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let settings = engine.settings.delivery.clone();
        let workers = settings.workers;
        let permits = Arc::new(Semaphore::new(workers));
        let in_flight = InFlight::default();
        let recorder = Recorder::start(engine.pool.clone(), engine.log.clone());
        let mut stats_at = Instant::now();
        while !*stop.borrow() {
            if stats_at.elapsed() >= STATS_EVERY {
                stats_at = Instant::now();
                match tool_calls::queue_stats(&engine.pool).await {
                    Ok((depth, oldest)) => crate::metrics::queue(depth, oldest),
                    // Said out loud: a silent failure here once hid both gauges for good.
                    Err(e) => {
                        tracing::warn!(error = %e, "could not read the delivery queue's size")
                    }
                }
            }
            let asked = permits.available_permits().min(64);
            // While the database is known to be away (`db::away`, which probes it on its own
            // connection) a claim would only fail: the loop waits out its idle poll instead, and
            // says nothing four times a second for the length of the outage.
            let claimed = if asked == 0 || engine.core.away.is_away() {
                Vec::new()
            } else {
                let claim = Claim {
                    owner: Uuid::now_v7(),
                    lease_seconds: settings.lease.as_secs_f64(),
                    limit: asked as i64,
                    per_org: settings.org_concurrency as i64,
                    // One organization's share of this process's workers stays free for an
                    // organization with nothing in flight; the rest may go to a busy one.
                    reserve: settings.org_concurrency as i64,
                };
                tool_calls::claim(&engine.pool, claim)
                    .await
                    .unwrap_or_else(|e| {
                        if matches!(e, StoreError::Unavailable) {
                            // Has it looked whether the database is away (and said so once).
                            engine.core.away.noticed();
                        } else {
                            tracing::warn!(error = %e, "could not claim due calls");
                        }
                        Vec::new()
                    })
            };
            let full = !claimed.is_empty() && claimed.len() == asked;
            for due in claimed {
                let permit = permits.clone().acquire_owned().await.expect("never closed");
                let held = in_flight.hold(&due);
                let engine = engine.clone();
                let settings = settings.clone();
                let recorder = recorder.clone();
                tokio::spawn(async move {
                    let worker = Worker {
                        engine: &engine,
                        settings: &settings,
                        recorder: &recorder,
                        permit,
                    };
                    if let Err(e) = worker.deliver(&due, &held).await {
                        tracing::error!(error = %e, call_id = %due.id, "a delivery attempt could not be recorded; it will run again when its lease ends");
                    }
                    // Held (and so leased, and waited for by a stopping process) until recorded.
                    drop(held);
                    // The organization may have room again: claim now rather than after the
                    // idle poll, so a backlog drains at the workers' pace.
                    engine.wake.notify_one();
                });
            }
            if !full {
                tokio::select! {
                    () = engine.wake.notified() => {}
                    () = tokio::time::sleep(IDLE_POLL) => {}
                    _ = stop.changed() => {}
                }
            }
        }
        let drained = drain(&in_flight).await;
        let owners = in_flight.owners();
        if !owners.is_empty() {
            match tool_calls::release(&engine.pool, &owners).await {
                Ok(n) => tracing::info!(released = n, "gave back calls still in flight"),
                Err(e) => {
                    tracing::warn!(error = %e, "could not give back held calls; their leases will run out")
                }
            }
        }
        tracing::info!(drained, "delivery workers stopped");
    })
}

/// Stopping: lets every attempt in flight run as long as its timeout allows and be recorded
/// (the deadline of each is narrowed once its tool is known, so the wait is re-read as it goes).
/// True when all of them finished.
async fn drain(in_flight: &InFlight) -> bool {
    loop {
        let Some(until) = in_flight.latest() else {
            return true;
        };
        if Instant::now() >= until {
            return false;
        }
        tokio::time::sleep_until(until.min(Instant::now() + DRAIN_POLL)).await;
    }
}

/// The wait before attempt `n + 1` after `n` attempts, by the deliveries' settings (see
/// [`crate::retry::Backoff`]).
pub fn backoff(
    settings: &DeliverySettings,
    attempts: i32,
    retry_after: Option<Duration>,
) -> Duration {
    let backoff = crate::retry::Backoff {
        base: settings.backoff_base,
        max: settings.backoff_max,
    };
    backoff.wait(u32::try_from(attempts).unwrap_or(0), retry_after)
}

/// What one delivery attempt needs. The worker's permit is given back as soon as the
/// request is answered: recording the outcome joins the next group commit (see [`recorder`]),
/// and the worker may meanwhile send the next call's request.
struct Worker<'a> {
    engine: &'a Engine,
    settings: &'a DeliverySettings,
    recorder: &'a Recorder,
    permit: OwnedSemaphorePermit,
}

impl Worker<'_> {
    async fn deliver(self, due: &Due, held: &Held) -> Result<(), StoreError> {
        let Self {
            engine,
            settings,
            recorder,
            permit,
        } = self;
        let started = std::time::Instant::now();
        let session = engine
            .caches
            .session(&engine.pool, due.org_id, due.session_id)
            .await?;
        let tool = session.as_ref().and_then(|s| s.config.tool(&due.tool_name));
        if let Some(ToolDefinition::Server(webhook)) = tool.map(|t| &t.tool.definition) {
            held.expect_within(Duration::from_secs(u64::from(webhook.timeout_seconds)));
        }
        let mut turn = None;
        if let Some(ToolDefinition::Server(webhook)) = tool.map(|t| &t.tool.definition) {
            match engine.try_turn(due.org_id, webhook, due.id).await {
                Ok(taken) => turn = taken,
                Err(wait) => {
                    // No room under the tool's limits: due again later, no attempt counted.
                    drop(permit);
                    tool_limits::defer(&engine.pool, due.id, due.lease_owner, wait).await?;
                    return Ok(());
                }
            }
        }
        let (request, outcome) = match tool {
            Some(tool) => {
                let session = session.as_ref().expect("a tool comes from its session");
                let scope = crate::call::variables::Scope::Session {
                    session_id: due.session_id,
                    config: &session.config,
                };
                let (request, outcome) = engine
                    .attempt(
                        due.org_id,
                        &tool.tool,
                        &due.arguments.0,
                        &due.id.to_string(),
                        scope,
                    )
                    .await;
                if let ToolDefinition::Server(webhook) = &tool.tool.definition {
                    engine.end_turn(due.org_id, webhook, turn, &outcome).await;
                }
                let outcome = engine
                    .shape(
                        due.org_id,
                        Some(due.session_id),
                        &tool.tool.definition,
                        outcome,
                    )
                    .await;
                (request, outcome)
            }
            None => {
                let mut gone = Outcome::failed(
                    ErrorKind::Connection,
                    "the call's session or tool no longer exists",
                );
                // Nothing to send, now or later.
                gone.retryable = false;
                (None, gone)
            }
        };
        drop(permit);
        engine.wake.notify_one();
        let tool = tool.map(|t| &t.tool.definition);
        record_attempt(recorder, settings, due, tool, request, outcome, started).await
    }
}

/// Writes how an attempt went (through the recorder, fenced by the lease): the call settled, or
/// due again after its backoff while attempts remain and the failure may pass; and, once
/// settled, its end event.
async fn record_attempt(
    recorder: &Recorder,
    settings: &DeliverySettings,
    due: &Due,
    tool: Option<&ToolDefinition>,
    request: Option<serde_json::Value>,
    outcome: Outcome,
    started: std::time::Instant,
) -> Result<(), StoreError> {
    let attempts = due.attempts + 1;
    let ms = started.elapsed().as_millis() as i64;
    let now = Utc::now();
    let retry = !outcome.completed
        && outcome.retryable
        && u32::try_from(attempts).unwrap_or(u32::MAX) < settings.max_attempts;
    let next_attempt_at = retry.then(|| {
        let wait = backoff(settings, attempts, outcome.retry_after);
        now + chrono::Duration::from_std(wait).unwrap_or_default()
    });
    let status = match (outcome.completed, retry) {
        (false, true) => CallStatus::Pending,
        (completed, _) => CallStatus::of_end(completed),
    };
    let settled = status.is_settled();
    let total_ms = (now - due.created_at).num_milliseconds();
    let end = match (settled, tool) {
        (true, Some(tool)) => {
            let data = call_event_data(due.session_id, &due.tool_call_id, tool, &due.arguments.0);
            let (event, data) = end_event(&outcome, total_ms, data);
            Some(events::NewEvent {
                session_id: due.session_id,
                event,
                data,
            })
        }
        _ => None,
    };
    let finish = Finish {
        id: due.id,
        status,
        request,
        response: outcome.response.clone(),
        result: Some(outcome.result.clone()),
        error: outcome.error.clone(),
        http_status: outcome.http_status.map(i32::from),
        truncated: outcome.truncated,
        execution_time_ms: if settled { total_ms } else { ms },
        attempts,
        attempt: Some(attempt_entry(now, &outcome, ms)),
        next_attempt_at,
        completed_at: settled.then_some(now),
    };
    let recorded = recorder
        .record(Attempt {
            owner: due.lease_owner,
            finish,
            end,
        })
        .await?;
    if !recorded {
        // Our lease ran out and the call was claimed again: that attempt is the one on record.
        tracing::warn!(call_id = %due.id, attempts, "a delivery attempt outlived its lease; its outcome was dropped");
        return Ok(());
    }
    crate::metrics::delivery_attempt(&outcome, settled);
    if settled {
        crate::metrics::record_call(ToolType::Server, &outcome, started.elapsed());
    }
    tracing::debug!(call_id = %due.id, attempts, %status, "delivery attempt");
    Ok(())
}
