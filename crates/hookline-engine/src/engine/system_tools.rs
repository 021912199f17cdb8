//! System tools: Hookline answers them itself (`end_call` ends the session once its own end is
//! written; the others are acknowledged).

use serde_json::json;

use hookline_core::session_end;
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
        let result = match system.name {
            SystemToolName::EndCall => json!({"ended": true}),
            _ => json!({"acknowledged": true}),
        };
        let answer = self.settle(call, None, Outcome::completed(result), 0).await;
        if system.name == SystemToolName::EndCall && !defer_end {
            // This call's own end is still queued: `sessionEnded` is written after it.
            session_end::end(&self.pool, call.session.org_id, call.session.id).await?;
        }
        Ok(answer)
    }
}
