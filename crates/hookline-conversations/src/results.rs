//! What the LLM is given as a tool's result, per tool kind, as the contract says: an awaited
//! webhook's `result` (or `{"error", "result"?}`), `{"status": "accepted"}` for fire-and-forget,
//! the browser's answer or `{"status": "sent"}` for client tools, `{"status": "ok"}` for system
//! tools. A call the engine refused (unknown tool, bad id) or whose arguments were not JSON gets
//! an error the LLM can correct in its next round.

use serde_json::{json, Value};
use uuid::Uuid;

use hookline_core::{CallStatus, ErrorKind};
use hookline_engine::{CallAnswer, CallError};
use hookline_schema::definition::SystemToolName;
use hookline_schema::ToolDefinition;

use crate::provider::Refusal;
use crate::views::TurnError;

/// A call's end as the turn reports it and the LLM sees it.
#[derive(Debug, Clone)]
pub struct CallEnd {
    /// Hookline's id of the call (none when the engine never stored it).
    pub id: Option<Uuid>,
    /// `completed`, `failed`, `pending` (sent on, not awaited) or `refused`.
    pub status: String,
    /// The result given to the LLM.
    pub for_llm: Value,
}

impl CallEnd {
    /// Why the call was not run, when it was refused.
    pub fn refusal(&self) -> Option<TurnError> {
        if self.status != "refused" {
            return None;
        }
        let error = &self.for_llm["error"];
        Some(TurnError::new(
            error["kind"].as_str().unwrap_or("refused"),
            error["message"].as_str().unwrap_or_default(),
        ))
    }
}

pub fn error(kind: &str, message: impl Into<String>) -> Value {
    json!({"error": {"kind": kind, "message": message.into()}})
}

/// The arguments were not a JSON object: nothing was run.
pub fn unparsable(reason: &str) -> CallEnd {
    CallEnd {
        id: None,
        status: "refused".into(),
        for_llm: error(
            ErrorKind::InvalidArguments.as_str(),
            format!("the arguments are not a JSON object ({reason}); send them again as one"),
        ),
    }
}

/// A call the runtime did not run: a bound of the turn refused it.
pub fn refused_by(refusal: Refusal) -> CallEnd {
    CallEnd {
        id: None,
        status: "refused".into(),
        for_llm: error(refusal.kind(), refusal.message()),
    }
}

pub fn from_engine(
    tool: Option<&ToolDefinition>,
    answer: Result<CallAnswer, CallError>,
) -> CallEnd {
    let answer = match answer {
        Ok(answer) => answer,
        Err(e) => return refused(e),
    };
    // The answer as `/tool-calls` shows it: the LLM is given parts of that same JSON.
    let body = serde_json::to_value(&answer.body).unwrap_or_default();
    let status = answer.body.status;
    let id = Some(answer.body.id);
    let for_llm = match (tool, status) {
        // A follow-up's id and time are the LLM's to mention.
        (Some(ToolDefinition::System(s)), CallStatus::Completed)
            if s.name == SystemToolName::ScheduleFollowup =>
        {
            body["result"].clone()
        }
        (Some(ToolDefinition::System(_)), CallStatus::Completed) => json!({"status": "ok"}),
        (Some(ToolDefinition::Server(_)), CallStatus::Pending) => json!({"status": "accepted"}),
        (Some(ToolDefinition::Client(_)), CallStatus::Pending) => json!({"status": "sent"}),
        (_, CallStatus::Completed) => body["result"].clone(),
        _ => {
            let mut failed = json!({"error": body.get("error").cloned().unwrap_or_else(
                || json!({"kind": "failed", "message": "the call failed"}),
            )});
            if let Some(result) = body.get("result").filter(|r| !r.is_null()) {
                failed["result"] = result.clone();
            }
            if body.get("truncated") == Some(&json!(true)) {
                failed["truncated"] = json!(true);
            }
            failed
        }
    };
    let mut for_llm = for_llm;
    if status == CallStatus::Completed && body.get("truncated") == Some(&json!(true)) {
        for_llm = json!({"result": for_llm, "truncated": true});
    }
    CallEnd {
        id,
        status: status.as_str().to_owned(),
        for_llm,
    }
}

fn refused(e: CallError) -> CallEnd {
    let for_llm = match e {
        CallError::Invalid(v) => {
            let unknown_tool = v.errors().iter().any(|e| e.field == "toolName");
            let kind = if unknown_tool {
                "unknown_tool"
            } else {
                ErrorKind::InvalidArguments.as_str()
            };
            let mut value = error(kind, v.to_string());
            value["error"]["errors"] = json!(v.errors());
            value
        }
        CallError::SessionEnded => error("session_ended", "the session has ended"),
        CallError::SessionExpired => error("session_expired", "the session has expired"),
        CallError::NoSession => error("session_ended", "the session is gone"),
        CallError::Busy => error(
            "busy",
            "too many client-tool calls are waiting; try again later",
        ),
        CallError::Store(e) => {
            tracing::error!(error = %e, "a conversation's tool call could not be stored");
            error("internal", "the call could not be run on our side")
        }
    };
    CallEnd {
        id: None,
        status: "refused".into(),
        for_llm,
    }
}
