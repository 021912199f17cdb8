//! A webhook tool's turn under its `limits` (across instances, through `repo::tool_limits`)
//! and under the pause its endpoint asked for with a 429's `Retry-After`.
//!
//! A tool with limits asks Postgres for each call's turn. A tool without them asks nobody: a
//! 429 it got pauses its later calls on this instance only (kept in memory), so the plain call
//! costs no query. An awaited call waits for its turn up to its timeout, then fails
//! `rate_limited` (at once when its turn cannot come in time); a delivery that finds no room
//! goes back in the queue without counting an attempt.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use uuid::Uuid;

use hookline_core::repo::tool_limits::{self, Limits, Turn, SLOT_POLL};
use hookline_core::ErrorKind;
use hookline_schema::WebhookTool;

use super::Engine;
use crate::outcome::Outcome;

/// How long past its timeout a call's slot is held at most (a dead instance's slot frees then).
const SLOT_GRACE: Duration = Duration::from_secs(10);
/// The longest pause a `Retry-After` is taken for.
const MAX_PAUSE: Duration = Duration::from_secs(600);

/// Pauses asked for by endpoints of tools without limits, on this instance: (organization,
/// tool) → until when.
#[derive(Default)]
pub(crate) struct Paused(Mutex<HashMap<(Uuid, String), Instant>>);

impl Paused {
    fn until(&self, org_id: Uuid, tool: &str) -> Option<Instant> {
        let map = self.0.lock().expect("not poisoned");
        if map.is_empty() {
            return None;
        }
        map.get(&(org_id, tool.to_owned()))
            .copied()
            .filter(|t| *t > Instant::now())
    }

    fn set(&self, org_id: Uuid, tool: &str, until: Instant) {
        let mut map = self.0.lock().expect("not poisoned");
        let now = Instant::now();
        map.retain(|_, t| *t > now);
        let entry = map.entry((org_id, tool.to_owned())).or_insert(until);
        *entry = (*entry).max(until);
    }
}

/// A call's turn, held until it ends.
pub(crate) struct Held {
    org_id: Uuid,
    holder: Uuid,
    /// It took a slot of `maxConcurrent`, to give back.
    slot: bool,
}

fn limits_of(webhook: &WebhookTool) -> Option<Limits> {
    webhook.limits.as_ref().map(|l| Limits {
        max_concurrent: l.max_concurrent,
        per_second: l.per_second,
        lease: Duration::from_secs(u64::from(webhook.timeout_seconds)) + SLOT_GRACE,
    })
}

impl Engine {
    /// Asks once for the call's turn: `Ok` with what to give back when it ends, or how long to
    /// wait before asking again.
    pub(crate) async fn try_turn(
        &self,
        org_id: Uuid,
        webhook: &WebhookTool,
        holder: Uuid,
    ) -> Result<Option<Held>, Duration> {
        let name = webhook.name.as_str();
        let Some(limits) = limits_of(webhook) else {
            return match self.paused.until(org_id, name) {
                Some(until) => Err(until.saturating_duration_since(Instant::now())),
                None => Ok(None),
            };
        };
        match tool_limits::take(&self.pool, org_id, name, holder, limits).await {
            Ok(Turn::Granted) => Ok(Some(Held {
                org_id,
                holder,
                slot: limits.max_concurrent.is_some(),
            })),
            Ok(Turn::Wait(wait)) => Err(wait),
            Err(e) => {
                // The limits protect the endpoint from us; a database that cannot answer
                // would fail the call anyway, so the call goes and the cause is logged.
                tracing::error!(%org_id, tool = %name, error = %e, "a tool's limits could not be checked; the call goes without them");
                Ok(None)
            }
        }
    }

    /// Waits for the call's turn until `deadline`; the failed outcome when it does not come.
    pub(crate) async fn wait_turn(
        &self,
        org_id: Uuid,
        webhook: &WebhookTool,
        holder: Uuid,
        deadline: Instant,
    ) -> Result<Option<Held>, Outcome> {
        loop {
            let wait = match self.try_turn(org_id, webhook, holder).await {
                Ok(held) => return Ok(held),
                Err(wait) => wait,
            };
            let now = Instant::now();
            // A bucket refills at a known rate and a pause has a known end: when either lies
            // beyond the deadline, waiting cannot help. A slot may free at any moment.
            let hopeless = wait != SLOT_POLL && now + wait > deadline;
            if now >= deadline || hopeless {
                return Err(rate_limited(webhook));
            }
            tokio::time::sleep(wait.min(deadline - now)).await;
        }
    }

    /// Ends a call's turn: gives back its slot, and pauses the tool when its endpoint answered
    /// 429 with a `Retry-After`.
    pub(crate) async fn end_turn(
        &self,
        org_id: Uuid,
        webhook: &WebhookTool,
        held: Option<Held>,
        outcome: &Outcome,
    ) {
        let name = webhook.name.as_str();
        if let Some(held) = held.filter(|h| h.slot) {
            if let Err(e) = tool_limits::release(&self.pool, held.org_id, name, held.holder).await {
                tracing::warn!(tool = %name, error = %e, "a call's slot could not be given back; its lease frees it");
            }
        }
        self.pause_tool(org_id, webhook, outcome).await;
    }

    /// Records a 429's pause for the tool's later calls.
    async fn pause_tool(&self, org_id: Uuid, webhook: &WebhookTool, outcome: &Outcome) {
        let Some(pause) = outcome
            .retry_after
            .filter(|_| outcome.http_status == Some(429))
            .map(|wait| wait.min(MAX_PAUSE))
        else {
            return;
        };
        let name = webhook.name.as_str();
        if webhook.limits.is_some() {
            if let Err(e) = tool_limits::pause(&self.pool, org_id, name, pause).await {
                tracing::warn!(tool = %name, error = %e, "an endpoint's Retry-After could not be recorded");
            }
        } else {
            self.paused.set(org_id, name, Instant::now() + pause);
        }
    }
}

fn rate_limited(webhook: &WebhookTool) -> Outcome {
    let what = match webhook.limits.as_ref() {
        Some(l) => {
            let mut parts = Vec::new();
            if let Some(n) = l.max_concurrent {
                parts.push(format!("at most {n} at once"));
            }
            if let Some(r) = l.per_second {
                parts.push(format!("at most {r} per second"));
            }
            format!(
                "the tool's limits ({}) or a pause its endpoint asked for",
                parts.join(", ")
            )
        }
        None => "a pause its endpoint asked for (429 Retry-After)".to_owned(),
    };
    Outcome::failed(
        ErrorKind::RateLimited,
        format!(
            "not sent: {what} left no turn for the call within its timeout of {} s; try again later",
            webhook.timeout_seconds
        ),
    )
}
