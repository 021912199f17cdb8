//! A webhook's `response` settings applied to a completed call: the LLM is given the shaped
//! result, the call log keeps the whole answer (with what shaping could not find), and assigned
//! values become session variables for later calls.

use serde_json::{json, Value};
use uuid::Uuid;

use hookline_schema::ToolDefinition;

use super::Engine;
use crate::outcome::Outcome;

impl Engine {
    /// Shapes a completed call's result by its tool's `response`; stores what it assigns when
    /// the call belongs to a session (before the answer, so the next call can use it).
    pub(crate) async fn shape(
        &self,
        org_id: Uuid,
        session_id: Option<Uuid>,
        definition: &ToolDefinition,
        mut outcome: Outcome,
    ) -> Outcome {
        let ToolDefinition::Server(webhook) = definition else {
            return outcome;
        };
        let Some(shaping) = webhook.response.as_ref().filter(|_| outcome.completed) else {
            return outcome;
        };
        let shaped = shaping.shape(&outcome.result);
        outcome.result = shaped.result;
        outcome.truncated |= shaped.truncated;
        if !shaped.missing.is_empty() || !shaped.assigned.is_empty() {
            let assigned: Vec<&str> = shaped.assigned.iter().map(|(n, _)| n.as_str()).collect();
            if let Some(Value::Object(response)) = &mut outcome.response {
                response.insert(
                    "shaping".into(),
                    json!({"missing": shaped.missing, "assigned": assigned}),
                );
            }
        }
        if let (Some(session_id), false) = (session_id, shaped.assigned.is_empty()) {
            self.assign(org_id, session_id, &shaped.assigned).await;
        }
        outcome
    }
}
