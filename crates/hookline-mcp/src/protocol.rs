//! The MCP methods Hookline answers as a server: `initialize`, `ping`, `tools/list` and
//! `tools/call`. Only a persona's server tools are offered: a client tool needs the browser of a
//! conversation and a system tool acts on one, and an MCP client has neither.
//!
//! A call runs through the engine exactly as `POST /v1/sessions/{id}/tool-calls` runs it. What the
//! tool answered, failures included, is a tool result the model reads (`isError: true` for a
//! failure); only a message the server cannot act on is a JSON-RPC error.

use std::sync::Arc;

use serde_json::{json, Map, Value};

use hookline_core::snapshot::SessionConfig;
use hookline_core::CallStatus;
use hookline_engine::cache::CachedSession;
use hookline_engine::{CallAnswer, CallError, CallRequest, Engine};
use hookline_schema::{export, ExportFormat, ToolDefinition};

use crate::jsonrpc::{code, RpcError};

/// The MCP revisions this server speaks, newest first. Both have the Streamable HTTP transport
/// with one message per POST; what 2025-11-25 added beside it (tasks, icons, URL elicitation)
/// is optional and unused here.
pub const SUPPORTED_VERSIONS: [&str; 2] = ["2025-11-25", "2025-06-18"];

/// The revision to answer `initialize` with: the client's own when supported, else our newest
/// (the client then decides whether it can go on).
pub fn negotiate(requested: Option<&str>) -> &'static str {
    SUPPORTED_VERSIONS
        .into_iter()
        .find(|v| Some(*v) == requested)
        .unwrap_or(SUPPORTED_VERSIONS[0])
}

/// The `initialize` result: the revision agreed, a tool list that can change (the session follows
/// its persona's tools, and a client holding the `GET` stream is told), and who is answering.
pub fn initialize(params: &Map<String, Value>, persona_name: &str) -> Value {
    let requested = params.get("protocolVersion").and_then(Value::as_str);
    json!({
        "protocolVersion": negotiate(requested),
        "capabilities": {"tools": {"listChanged": true}},
        "serverInfo": {
            "name": "hookline",
            "title": persona_name,
            "version": env!("CARGO_PKG_VERSION"),
        },
    })
}

/// Answers a request of an open session other than `tools/call` (which runs through the engine:
/// [`read_call`], [`call_tool`]).
pub fn answer(config: &SessionConfig, method: &str) -> Result<Value, RpcError> {
    match method {
        "ping" => Ok(json!({})),
        "tools/list" => Ok(list_tools(config)),
        "initialize" => Err(RpcError::new(
            code::INVALID_REQUEST,
            "this session is initialized already: send initialize without Mcp-Session-Id to open another",
        )),
        other => Err(RpcError::new(
            code::METHOD_NOT_FOUND,
            format!("method not found: {other} (this server offers tools only)"),
        )),
    }
}

/// The session's tools offered over MCP: its webhook and knowledge tools, in the persona's order. (An MCP
/// tool source's tools are the LLM's, in a conversation; an MCP client can reach the server
/// itself.)
pub fn offered(config: &SessionConfig) -> impl Iterator<Item = &ToolDefinition> {
    config
        .tools
        .iter()
        .map(|t| &t.tool.definition)
        .filter(|d| matches!(d, ToolDefinition::Server(w) if !w.is_mcp()))
}

/// Whether the session offers a tool of this name.
pub fn offers(config: &SessionConfig, name: &str) -> bool {
    offered(config).any(|d| d.name() == name)
}

/// `tools/list`: every offered tool at once (a persona's tools fit one page, so no cursor).
fn list_tools(config: &SessionConfig) -> Value {
    let tools: Vec<Value> = offered(config)
        .map(|d| export(d, ExportFormat::Mcp))
        .collect();
    json!({"tools": tools})
}

/// A `tools/call`'s params, read.
pub struct ToolCall {
    pub name: String,
    pub arguments: Value,
}

/// Reads a `tools/call`'s params (taking the arguments out, not copying them).
pub fn read_call(mut params: Map<String, Value>) -> Result<ToolCall, RpcError> {
    let Some(Value::String(name)) = params.remove("name") else {
        return Err(RpcError::invalid_params(
            "`name` must be the name of one of the tools tools/list answers (a string)",
        ));
    };
    let arguments = match params.remove("arguments") {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(object @ Value::Object(_)) => object,
        Some(_) => return Err(RpcError::invalid_params("`arguments` must be an object")),
    };
    Ok(ToolCall { name, arguments })
}

/// The protocol error for a tool the session does not offer.
pub fn unknown_tool(config: &SessionConfig, name: &str) -> RpcError {
    let names: Vec<&str> = offered(config).map(ToolDefinition::name).collect();
    RpcError::invalid_params(format!(
        "unknown tool: {name} (this persona offers: {})",
        names.join(", ")
    ))
}

/// The session turned out to have ended or expired when the call was to be stored.
#[derive(Debug)]
pub struct SessionGone;

/// Runs a call of a tool the session offers, through the engine exactly as `POST /tool-calls`
/// does.
pub async fn call_tool(
    engine: &Engine,
    session: Arc<CachedSession>,
    call: ToolCall,
) -> Result<Result<Value, RpcError>, SessionGone> {
    let request = CallRequest {
        tool_call_id: None,
        tool_name: call.name,
        arguments: call.arguments,
        defer_end: false,
        recorder: None,
    };
    Ok(match engine.call_in_session(session, request).await {
        Ok(answer) => Ok(tool_result(answer)),
        Err(CallError::Invalid(problems)) => Err(RpcError::invalid_params(problems.to_string())),
        Err(CallError::NoSession | CallError::SessionEnded | CallError::SessionExpired) => {
            return Err(SessionGone);
        }
        Err(e @ CallError::Busy) => Err(RpcError::new(code::INTERNAL_ERROR, e.to_string())),
        Err(CallError::Store(e)) => {
            tracing::error!(error = %e, "an MCP tool call could not be stored");
            Err(RpcError::new(
                code::INTERNAL_ERROR,
                "something went wrong on our side; it has been logged",
            ))
        }
    })
}

/// A `tools/call` result: the text the model reads, and whether it reports a failure. A
/// failure carries the engine's `{"error": {kind, message}, "result"?}` so the model can
/// explain it (or correct its arguments); a fire-and-forget call answers that it was accepted.
pub fn tool_result(answer: CallAnswer) -> Value {
    let body = answer.body;
    let (payload, is_error) = match body.status {
        CallStatus::Pending => (json!({"status": "accepted"}), false),
        CallStatus::Completed => (body.result.unwrap_or(Value::Null), false),
        _ => {
            let mut failed = json!({"error": body.error});
            if let Some(result) = body.result.filter(|r| !r.is_null()) {
                failed["result"] = result;
            }
            (failed, true)
        }
    };
    let text = match payload {
        Value::String(text) => text,
        other => other.to_string(),
    };
    let mut content = vec![json!({"type": "text", "text": text})];
    if body.truncated {
        content.push(json!({"type": "text", "text": "(cut to its first 16 KiB: the whole answer is in Hookline's call log)"}));
    }
    json!({"content": content, "isError": is_error})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_revision_is_kept_and_an_unknown_one_gets_the_newest() {
        assert_eq!(negotiate(Some("2025-06-18")), "2025-06-18");
        assert_eq!(negotiate(Some("2025-11-25")), "2025-11-25");
        assert_eq!(negotiate(Some("2024-11-05")), SUPPORTED_VERSIONS[0]);
        assert_eq!(negotiate(None), SUPPORTED_VERSIONS[0]);
    }
}
