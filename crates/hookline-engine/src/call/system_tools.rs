//! System tools: Hookline answers them itself (`end_call` ends the session once its own end is
//! written; `schedule_followup` stores a follow-up the conversation runtime starts when due; the
//! others are acknowledged).

use std::time::Duration;

use serde_json::{json, Value};

use hookline_core::repo::followups;
use hookline_core::{session_end, ErrorKind, EventName};
use hookline_schema::definition::{SystemTool, SystemToolName};

use super::settle::StartedCall;
use super::{CallAnswer, CallError, Engine};
use crate::outcome::Outcome;

impl Engine {
    /// Answers a system-tool call; `defer_end` leaves ending the session to the caller.
    pub(crate) async fn system_call(
        &self,
        call: &StartedCall<'_>,
        system: &SystemTool,
        defer_end: bool,
    ) -> Result<CallAnswer, CallError> {
        let outcome = match system.name {
            SystemToolName::EndCall => Outcome::completed(json!({"ended": true})),
            SystemToolName::ScheduleFollowup => self.schedule_followup(call).await?,
            _ => Outcome::completed(json!({"acknowledged": true})),
        };
        let answer = self.settle(call, None, outcome, 0).await;
        if system.name == SystemToolName::EndCall && !defer_end {
            // This call's own end is still queued: `sessionEnded` is written after it.
            session_end::end(&self.pool, call.session.org_id, call.session.id).await?;
        }
        Ok(answer)
    }

    /// Stores the follow-up the arguments ask for (already checked against the tool's
    /// parameters) and announces it; over the session's bound, the call fails and says so.
    async fn schedule_followup(&self, call: &StartedCall<'_>) -> Result<Outcome, CallError> {
        let after = call.arguments["afterSeconds"].as_u64().unwrap_or(5);
        let note = call.arguments["note"].as_str().unwrap_or_default();
        let most = self.settings.turns.followups_per_session;
        let session = &call.session;
        let scheduled = followups::schedule(
            &self.pool,
            session.org_id,
            session.id,
            note,
            Duration::from_secs(after),
            i64::from(most),
        )
        .await?;
        let Some(followup) = scheduled else {
            return Ok(Outcome::failed(
                ErrorKind::InvalidArguments,
                format!("this session already has {most} follow-ups waiting (or has ended); wait for one to run"),
            ));
        };
        let data = json!({
            "followUpId": followup.id,
            "at": followup.due_at,
            "note": followup.note,
            "toolCallId": call.tool_call_id,
            "timestamp": chrono::Utc::now(),
        });
        self.record_event(call, EventName::FollowUpScheduled, data)
            .await;
        let result: Value =
            json!({"status": "scheduled", "followUpId": followup.id, "at": followup.due_at});
        Ok(Outcome::completed(result))
    }
}
