//! What the LLM is given as a tool's result, per tool kind, as the contract says: an awaited
//! webhook's `result` (or `{"error", "result"?}`), `{"status": "accepted"}` for fire-and-forget,
//! the browser's answer or `{"status": "sent"}` for client tools, `{"status": "ok"}` for system
//! tools. A call the engine refused (unknown tool, bad id) or whose arguments were not JSON gets
//! an error the LLM can correct in its next round.

use serde_json::{json, Value};
use uuid::Uuid;

use hookline_core::CallStatus;
use hookline_engine::{CallAnswer, CallError};
use hookline_schema::definition::SystemToolName;
use hookline_schema::ToolDefinition;

use crate::provider::Refusal;
use crate::views::{CallRefusal, RefusalKind, TurnCallStatus};

/// A call's end as the turn reports it and the LLM sees it.
#[derive(Debug, Clone)]
pub struct CallEnd {
    /// Hookline's id of the call (none when the engine never stored it).
    pub id: Option<Uuid>,
    pub status: TurnCallStatus,
    /// The result given to the LLM.
    pub for_llm: Value,
    /// Why the call was not run, when it was refused.
    pub refusal: Option<CallRefusal>,
}

/// A call that was not run: the LLM is told why, with `extra` fields beside `kind` and
/// `message` in its `error`.
fn refusal(kind: RefusalKind, message: String, extra: Option<(&str, Value)>) -> CallEnd {
    let mut for_llm = error(kind.as_str(), message.clone());
    if let Some((key, value)) = extra {
        for_llm["error"][key] = value;
    }
    CallEnd {
        id: None,
        status: TurnCallStatus::Refused,
        for_llm,
        refusal: Some(CallRefusal { kind, message }),
    }
}

pub fn error(kind: &str, message: impl Into<String>) -> Value {
    json!({"error": {"kind": kind, "message": message.into()}})
}

/// The arguments were not a JSON object: nothing was run.
pub fn unparsable(reason: &str) -> CallEnd {
    refusal(
        RefusalKind::InvalidArguments,
        format!("the arguments are not a JSON object ({reason}); send them again as one"),
        None,
    )
}

/// A call the runtime did not run: a bound of the turn refused it.
pub fn refused_by(r: Refusal) -> CallEnd {
    refusal(r.kind(), r.message(), None)
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
    let status = match status {
        CallStatus::Completed => TurnCallStatus::Completed,
        CallStatus::Failed => TurnCallStatus::Failed,
        // Sent on without waiting (fire-and-forget, a client tool); `running` is never an
        // answer's status.
        CallStatus::Pending | CallStatus::Running => TurnCallStatus::Pending,
    };
    CallEnd {
        id,
        status,
        for_llm,
        refusal: None,
    }
}

fn refused(e: CallError) -> CallEnd {
    match e {
        CallError::Invalid(v) => {
            let kind = if v.errors().iter().any(|e| e.field == "toolName") {
                RefusalKind::UnknownTool
            } else {
                RefusalKind::InvalidArguments
            };
            refusal(kind, v.to_string(), Some(("errors", json!(v.errors()))))
        }
        CallError::SessionEnded => refusal(
            RefusalKind::SessionEnded,
            "the session has ended".into(),
            None,
        ),
        CallError::SessionExpired => refusal(
            RefusalKind::SessionExpired,
            "the session has expired".into(),
            None,
        ),
        CallError::NoSession => refusal(
            RefusalKind::SessionEnded,
            "the session is gone".into(),
            None,
        ),
        CallError::Busy => refusal(
            RefusalKind::Busy,
            "too many client-tool calls are waiting; try again later".into(),
            None,
        ),
        CallError::Store(e) => {
            tracing::error!(error = %e, "a conversation's tool call could not be stored");
            refusal(
                RefusalKind::Internal,
                "the call could not be run on our side".into(),
                None,
            )
        }
    }
}
