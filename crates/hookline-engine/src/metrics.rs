//! Prometheus metrics of tool calls (by tool and outcome) and of fire-and-forget delivery.

use std::time::Duration;

use crate::outcome::Outcome;

/// Counts a call by outcome and records its latency, so slow endpoints (the seed advises under
/// a second) show up per tool.
pub fn record_call(tool: &str, outcome: &Outcome, elapsed: Duration) {
    let outcome_label = if outcome.completed {
        "completed".to_owned()
    } else {
        outcome.error_kind().unwrap_or("failed").to_owned()
    };
    metrics::counter!("hookline_tool_calls_total", "tool" => tool.to_owned(), "outcome" => outcome_label)
        .increment(1);
    metrics::histogram!("hookline_tool_call_duration_seconds", "tool" => tool.to_owned())
        .record(elapsed.as_secs_f64());
}

pub fn delivery_attempt(tool: &str, outcome: &Outcome, settled: bool) {
    metrics::counter!("hookline_delivery_attempts_total", "tool" => tool.to_owned()).increment(1);
    if outcome.completed {
        metrics::counter!("hookline_deliveries_total", "tool" => tool.to_owned()).increment(1);
    } else if settled {
        metrics::counter!("hookline_delivery_failures_total", "tool" => tool.to_owned())
            .increment(1);
    }
}

pub fn queue(depth: i64, oldest_due_seconds: f64) {
    metrics::gauge!("hookline_delivery_queue_depth").set(depth as f64);
    metrics::gauge!("hookline_delivery_oldest_due_seconds").set(oldest_due_seconds);
}
