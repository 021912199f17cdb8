//! `POST /v1/tools/mcp/list` and `POST /v1/tools/mcp/call`: an MCP server's tools listed, or one
//! of them called, before (or without) saving it as a tool source — the Lab's MCP tool form asks
//! them while the person fills it in. The URL and headers are checked by the rules of a saved
//! source's (the outbound rules included: SSRF, no redirects, timeouts, size caps) and nothing is
//! stored. A saved source's header can be sent back as its masked preview with `toolId`, as an
//! update would send it, to use the stored value (only towards the origin it was stored for).

use std::time::Instant;

use axum::extract::State;
use axum::Json;
use serde_json::{json, Map, Value};
use utoipa::ToSchema;
use uuid::Uuid;

use hookline_core::http::problem::responses::{BadRequest, TooLarge, Unauthorized, Unavailable};
use hookline_core::http::{ApiError, Caller, CoreState, JsonBody};
use hookline_core::repo::tools;
use hookline_core::sealed_tool::SealedTool;
use hookline_schema::fields::{object_at, Fields};
use hookline_schema::mcp_source::valid_remote_name;
use hookline_schema::{mask_header_value, ToolDefinition, Violations};

use super::EngineState;
use crate::views::ToolTestView;

/// An MCP server to list, or a tool of it to call. Unknown fields are refused.
// Read by [`read`], every problem reported; `call` says which route reads it. The `url` is kept
// as sent: the source it stands for is checked whole by a saved source's rules.
#[derive(Debug, ToSchema)]
#[schema(as = McpProbeRequest)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct Probe {
    /// The server's URL, by the rules of a tool source's `url`.
    #[schema(value_type = String)]
    url: Value,
    /// Headers to send, by the rules of a tool source's `headers`. A value that is the masked
    /// preview of the `toolId` source's header of that name stands for its stored value.
    #[schema(value_type = Option<Object>)]
    headers: Option<Map<String, Value>>,
    /// A saved MCP tool source whose stored header values previews stand for.
    tool_id: Option<Uuid>,
    /// `/call` only (required there): the name of the server's tool to call.
    tool: Option<String>,
    /// `/call` only: the arguments (default `{}`), sent as they are.
    #[schema(value_type = Option<Object>)]
    arguments: Value,
}

fn read(body: &Value, call: bool) -> Result<Probe, Violations> {
    let map = object_at(body, "")?;
    let mut v = Violations::new();
    let mut f = Fields::new(map, "", &mut v);
    let url = f.required("url").cloned().unwrap_or(Value::Null);
    let headers = f.object("headers").cloned();
    let tool_id = f
        .string("toolId")
        .map(|t| Uuid::parse_str(t).map_err(|_| t));
    let (tool, arguments) = if call {
        let tool = f.required_string("tool").map(str::to_owned);
        let arguments = f.object("arguments").cloned().unwrap_or_default();
        (tool, Value::Object(arguments))
    } else {
        (None, Value::Null)
    };
    f.finish(if call {
        "an MCP tool call"
    } else {
        "an MCP listing"
    });
    let tool_id = match tool_id {
        Some(Ok(id)) => Some(id),
        Some(Err(_)) => {
            v.rule("toolId", "must be the id of a saved MCP tool (a UUID)");
            None
        }
        None => None,
    };
    if let Some(name) = tool.as_deref().filter(|t| !valid_remote_name(t)) {
        v.rule("tool", format!("{name:?} is not the name of an MCP tool"));
    }
    v.into_result(Probe {
        url,
        headers,
        tool_id,
        tool,
        arguments,
    })
}

/// The source the probe stands for, sealed as a saved one would be (never stored).
async fn source(core: &CoreState, org_id: Uuid, probe: &mut Probe) -> Result<SealedTool, ApiError> {
    let secrets = &core.settings.secrets;
    if let (Some(id), Some(sent)) = (probe.tool_id, probe.headers.as_mut()) {
        let stored = tools::get(&core.pool, org_id, id)
            .await?
            .ok_or_else(|| ApiError::field("toolId", "is not a tool of your organization"))?;
        let ToolDefinition::Server(saved) = &stored.tool.definition else {
            return Err(ApiError::field("toolId", "is not an MCP tool"));
        };
        if !saved.is_mcp() {
            return Err(ApiError::field("toolId", "is not an MCP tool"));
        }
        let moved = probe.url.as_str().is_none_or(|new| {
            match (url::Url::parse(&saved.url), url::Url::parse(new)) {
                (Ok(old), Ok(new)) => old.origin() != new.origin(),
                _ => true,
            }
        });
        let plain = stored
            .tool
            .open_headers(org_id, secrets)
            .map_err(ApiError::internal)?;
        let mut resend = Violations::new();
        for (name, value) in sent.iter_mut() {
            let stored_value = plain
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.expose());
            if let (Some(text), Some(real)) = (value.as_str(), stored_value) {
                if text == mask_header_value(real) {
                    if moved {
                        resend.rule(
                            format!("headers.{name}"),
                            "the URL points at another origin than the saved tool's: type this header's value again",
                        );
                    }
                    *value = Value::String(real.to_owned());
                }
            }
        }
        if !resend.is_empty() {
            return Err(ApiError::invalid(resend));
        }
    }
    let mut definition = json!({
        "type": "server", "subtype": "mcp", "name": "mcp_probe",
        "description": "An MCP server tried before it is saved",
        "url": probe.url,
    });
    if let Some(headers) = probe.headers.take() {
        definition["headers"] = Value::Object(headers);
    }
    let parsed = ToolDefinition::parse(&definition, "", &core.settings.destinations)
        .map_err(ApiError::invalid)?;
    Ok(SealedTool::seal(parsed, org_id, secrets))
}

#[utoipa::path(
    post, path = "/v1/tools/mcp/list", tag = "tools",
    summary = "List an MCP server's tools before saving it as a tool source",
    description = "Body `{url, headers?, toolId?}`: the server at `url` is listed (`initialize`, \
        `tools/list`, `DELETE`) under the outbound rules of a saved MCP tool source, within its \
        listing time, and nothing is stored. Answers as a tool test does: `response.body.tools` \
        holds `{name, description, inputSchema, allowed}` each, or `error` says why the server could \
        not be listed. With `toolId` (a saved MCP tool), a header sent as its masked preview stands \
        for the stored value, unless `url` points at another origin (then 422 naming the header).",
    operation_id = "listMcpServerTools",
    security(("apiKey" = [])),
    request_body = Probe,
    responses(
        (status = 200, description = "What was sent and what came back", body = ToolTestView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 413, response = TooLarge),
        (status = 422, description = "A URL or header a tool source may not have, an unknown field, or a `toolId` that is not a saved MCP tool", body = hookline_core::http::ProblemDocument, content_type = "application/problem+json"),
        (status = 503, response = Unavailable)
    )
)]
pub async fn list(
    State(state): State<EngineState>,
    caller: Caller,
    body: JsonBody,
) -> Result<Json<ToolTestView>, ApiError> {
    let mut probe = read(&body.0, false).map_err(ApiError::invalid)?;
    let sealed = source(&state.core, caller.org_id, &mut probe).await?;
    let started = Instant::now();
    let (request, outcome) = state.engine.test_source(caller.org_id, &sealed).await;
    Ok(Json(ToolTestView::attempt(
        request, outcome, started, false,
    )))
}

#[utoipa::path(
    post, path = "/v1/tools/mcp/call", tag = "tools",
    summary = "Call one tool of an MCP server, outside any session (the Lab's Test button)",
    description = "Body `{url, headers?, toolId?, tool, arguments?}`: the server at `url` is asked to \
        run `tool` with `arguments` (`initialize`, `tools/call`, `DELETE`) under the outbound rules \
        of a saved MCP tool source, within 60 seconds; nothing is stored. Answers as a tool test \
        does: `response.body` is the server's `tools/call` result, and `error` says why the call \
        failed (`tool_error` when the server's result has `isError`). `headers` and `toolId` as for \
        `POST /v1/tools/mcp/list`.",
    operation_id = "callMcpServerTool",
    security(("apiKey" = [])),
    request_body = Probe,
    responses(
        (status = 200, description = "What was sent and what came back", body = ToolTestView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 413, response = TooLarge),
        (status = 422, description = "A URL or header a tool source may not have, no `tool`, an unknown field, or a `toolId` that is not a saved MCP tool", body = hookline_core::http::ProblemDocument, content_type = "application/problem+json"),
        (status = 503, response = Unavailable)
    )
)]
pub async fn call(
    State(state): State<EngineState>,
    caller: Caller,
    body: JsonBody,
) -> Result<Json<ToolTestView>, ApiError> {
    let mut probe = read(&body.0, true).map_err(ApiError::invalid)?;
    let sealed = source(&state.core, caller.org_id, &mut probe).await?;
    let tool = probe.tool.as_deref().unwrap_or_default();
    let started = Instant::now();
    let (request, outcome) = state
        .engine
        .call_remote(caller.org_id, &sealed, tool, &probe.arguments)
        .await;
    Ok(Json(ToolTestView::attempt(
        request, outcome, started, false,
    )))
}
