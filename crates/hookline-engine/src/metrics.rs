//! Prometheus metrics of tool calls (by tool type and outcome) and of fire-and-forget delivery.
//!
//! Label values come from small fixed sets (tool types, outcomes, error kinds): never tool names
//! or ids, which any organization could multiply without bound.

use std::time::Duration;

use hookline_schema::ToolType;

use crate::outcome::Outcome;

/// Counts a call by its tool's type (`server`, `client`, `system`) and outcome, and records its
/// latency.
pub fn record_call(tool_type: ToolType, outcome: &Outcome, elapsed: Duration) {
    let tool_type = tool_type.as_str();
    metrics::counter!("hookline_tool_calls_total", "type" => tool_type, "outcome" => outcome.label())
        .increment(1);
    metrics::histogram!("hookline_tool_call_duration_seconds", "type" => tool_type)
        .record(elapsed.as_secs_f64());
}

pub fn delivery_attempt(outcome: &Outcome, settled: bool) {
    metrics::counter!("hookline_delivery_attempts_total", "outcome" => outcome.label())
        .increment(1);
    if outcome.completed {
        metrics::counter!("hookline_deliveries_total").increment(1);
    } else if settled {
        metrics::counter!("hookline_delivery_failures_total").increment(1);
    }
}

pub fn queue(depth: i64, oldest_due_seconds: f64) {
    metrics::gauge!("hookline_delivery_queue_depth").set(depth as f64);
    metrics::gauge!("hookline_delivery_oldest_due_seconds").set(oldest_due_seconds);
}
