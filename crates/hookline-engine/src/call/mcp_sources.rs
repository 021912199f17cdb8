//! MCP servers as tool sources (`type: server, subtype: mcp`). A session's sources are listed
//! the first time its LLM needs its tools (within `HOOKLINE_MCP_LIST_SECONDS`), the listing kept for the
//! session; each listed tool the source allows is offered to the LLM as `<source>__<tool>`.
//! A call of one runs like any call (stored, `toolCallStarted`, settled with its last event in
//! the call log) and goes to the server through the SSRF-safe client.
//!
//! A server that cannot be listed offers no tools for a while (`HOOKLINE_MCP_RETRY_LISTING_SECONDS`) and
//! puts a `toolCallFailed` event on the session's stream naming the source; a call that finds
//! it down fails as a call does (`connection`, `timeout`, `http_status`...). The session goes on.

use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::sync::Cache;
use reqwest::header::{HeaderName, HeaderValue};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use hookline_core::repo::tool_calls::CallToStart;
use hookline_core::sealed_tool::SealedTool;
use hookline_core::settings::McpSettings;
use hookline_core::snapshot::{SessionConfig, SnapshotTool};
use hookline_core::{CallStatus, ErrorKind, EventName};
use hookline_schema::definition::WebhookTool;
use hookline_schema::export::declare;
use hookline_schema::mcp_source::{self, llm_name};
use hookline_schema::{export, ExportFormat, ToolDefinition, Violations};

use super::{CallAnswer, CallError, CallRequest, Engine, StartedCall, MAX_TOOL_CALL_ID_CHARS};
use crate::cache::CachedSession;
use crate::mcp_client::{McpClient, McpFailure, RemoteTool};
use crate::outcome::{readable_body, Outcome};
use crate::views::ToolCallEventData;

/// How long a listing is kept (a session's longest life).
const KEEP_LISTING: Duration = Duration::from_secs(86_400);

type ListingKey = (Uuid, String);

/// Each session's listings, and the sources that recently could not be listed.
pub(crate) struct Listings {
    listed: Cache<ListingKey, Arc<Vec<RemoteTool>>>,
    failed: Cache<ListingKey, ()>,
}

impl Listings {
    /// Within the settings' bounds: the listings' bytes together (the least used go first
    /// beyond them; a session whose listing went is listed again when its LLM next needs its
    /// tools), and the sources remembered as failed, each for the time before a retry.
    pub(crate) fn new(settings: &McpSettings) -> Self {
        Self {
            listed: Cache::builder()
                .max_capacity(settings.listings_bytes)
                .weigher(|_, tools: &Arc<Vec<RemoteTool>>| {
                    let bytes: usize = tools.iter().map(RemoteTool::weight).sum();
                    u32::try_from(bytes).unwrap_or(u32::MAX)
                })
                .time_to_live(KEEP_LISTING)
                .build(),
            failed: Cache::builder()
                .max_capacity(settings.failed_listings)
                .time_to_live(settings.retry_listing_after)
                .build(),
        }
    }
}

/// Whether a snapshot's tool is an MCP tool source.
pub(crate) fn is_source(tool: &SnapshotTool) -> bool {
    matches!(&tool.tool.definition, ToolDefinition::Server(w) if w.is_mcp())
}

impl Engine {
    /// The session's tools as the LLM is given them in `format`: each tool declared as
    /// `export` declares it, and each MCP source replaced by the tools it lists and allows.
    pub async fn llm_tools(
        &self,
        org_id: Uuid,
        session_id: Uuid,
        config: &SessionConfig,
        format: ExportFormat,
    ) -> Vec<Value> {
        let mut out = Vec::new();
        for tool in &config.tools {
            let ToolDefinition::Server(source) = &tool.tool.definition else {
                out.push(export(&tool.tool.definition, format));
                continue;
            };
            if !source.is_mcp() {
                out.push(export(&tool.tool.definition, format));
                continue;
            }
            let Some(listed) = self.listing(org_id, session_id, tool).await else {
                continue;
            };
            let name = source.name.as_str();
            for remote in listed
                .iter()
                .filter(|r| mcp_source::allowed(source, &r.name))
            {
                if let Some(full) = llm_name(name, &remote.name) {
                    let schema = remote.input_schema.clone();
                    out.push(declare(&full, &remote.description, schema, format));
                }
            }
        }
        out
    }

    /// A source's listing for the session: kept, or asked for now. `None` while it cannot be
    /// listed (the failure, when new, is an event on the session's stream).
    async fn listing(
        &self,
        org_id: Uuid,
        session_id: Uuid,
        tool: &SnapshotTool,
    ) -> Option<Arc<Vec<RemoteTool>>> {
        let name = tool.tool.definition.name().to_owned();
        let key = (session_id, name.clone());
        if let Some(listed) = self.mcp_listings.listed.get(&key) {
            return Some(listed);
        }
        if self.mcp_listings.failed.contains_key(&key) {
            return None;
        }
        let started = Instant::now();
        match self.list_source(org_id, &tool.tool).await {
            Ok(mut tools) => {
                tools.truncate(self.settings.mcp.source_tools);
                let tools = Arc::new(tools);
                self.mcp_listings.listed.insert(key, tools.clone());
                Some(tools)
            }
            Err(failure) => {
                tracing::warn!(source = %name, error = %failure, "an MCP tool source could not be listed");
                self.mcp_listings.failed.insert(key, ());
                let message = format!("the MCP server {name} could not be listed: {failure}");
                let data = listing_failed(session_id, tool, started.elapsed(), message);
                self.log
                    .event(session_id, EventName::ToolCallFailed, data.to_value())
                    .await;
                None
            }
        }
    }

    /// Asks a source's server for its tools, within `HOOKLINE_MCP_LIST_SECONDS`.
    pub(crate) async fn list_source(
        &self,
        org_id: Uuid,
        source: &SealedTool,
    ) -> Result<Vec<RemoteTool>, McpFailure> {
        let mut client = self.connect(org_id, source, self.settings.mcp.list_time)?;
        let listed = match client.open().await {
            Ok(()) => client.list_tools().await,
            Err(e) => Err(e),
        };
        client.close().await;
        listed
    }

    /// `POST /v1/tools/{id}/test` of a source: its listing, as a test shows an answer
    /// (`response.body.tools`), or why it could not be had.
    pub async fn test_source(&self, org_id: Uuid, source: &SealedTool) -> (Option<Value>, Outcome) {
        let ToolDefinition::Server(w) = &source.definition else {
            return (
                None,
                Outcome::failed(ErrorKind::ToolError, "not an MCP tool source"),
            );
        };
        let sent = request_view(w, json!({"method": "tools/list"}));
        match self.list_source(org_id, source).await {
            Ok(tools) => {
                let tools: Vec<Value> = tools
                    .iter()
                    .map(|t| {
                        json!({"name": t.name, "description": t.description,
                               "inputSchema": t.input_schema, "allowed": mcp_source::allowed(w, &t.name)})
                    })
                    .collect();
                let mut outcome = Outcome::completed(json!({"tools": tools}));
                outcome.response = Some(json!({"status": 200, "body": {"tools": tools}}));
                (Some(sent), outcome)
            }
            Err(e) => (Some(sent), failure_outcome(e)),
        }
    }

    /// The source and the tool a name the LLM called stands for, when it names an allowed tool
    /// of one of the session's MCP sources.
    pub(crate) fn mcp_source_of<'s>(
        &self,
        session: &'s CachedSession,
        name: &str,
    ) -> Option<(&'s SnapshotTool, String)> {
        let (source, remote) = mcp_source::split(name)?;
        let tool = session.config.tool(source).filter(|t| is_source(t))?;
        Some((tool, remote.to_owned()))
    }

    /// Runs a call of an MCP source's tool: stored, started, sent, settled.
    pub(crate) async fn source_call(
        &self,
        session: Arc<CachedSession>,
        tool: &SnapshotTool,
        remote: String,
        request: CallRequest,
    ) -> Result<CallAnswer, CallError> {
        let ToolDefinition::Server(source) = &tool.tool.definition else {
            return Err(CallError::NoSession);
        };
        let mut problems = Violations::new();
        if let Some(id) = &request.tool_call_id {
            if id.is_empty() || id.chars().count() > MAX_TOOL_CALL_ID_CHARS {
                problems.rule("toolCallId", "must be 1 to 128 characters");
            }
        }
        if !mcp_source::allowed(source, &remote) || !mcp_source::valid_remote_name(&remote) {
            problems.rule(
                "toolName",
                format!("{remote} is not a tool {} allows", source.name.as_str()),
            );
        }
        if !problems.is_empty() {
            return Err(CallError::Invalid(problems));
        }
        let id = Uuid::now_v7();
        let tool_call_id = request.tool_call_id.unwrap_or_else(|| id.to_string());
        let new = CallToStart {
            id,
            org_id: session.org_id,
            session_id: session.id,
            tool_call_id: tool_call_id.clone(),
            tool_name: request.tool_name.clone(),
            tool_type: tool.tool.definition.tool_type(),
            status: CallStatus::Running,
            await_response: true,
            arguments: request.arguments.clone(),
            next_attempt_at: None,
        };
        let started = self.fast_starter.begin(new).await?;
        let recorder = request.recorder;
        if let Some(refused) = self
            .not_begun(started, session.id, &tool_call_id, recorder.as_deref())
            .await
        {
            return refused;
        }
        let call = StartedCall {
            id,
            tool_call_id,
            session: session.clone(),
            tool,
            llm_name: Some(request.tool_name),
            arguments: request.arguments,
            started: Instant::now(),
            recorder,
        };
        let data = call.event_data().to_value();
        self.record_event(&call, EventName::ToolCallStarted, data)
            .await;
        let (sent, outcome) = self
            .call_remote(session.org_id, &tool.tool, &remote, &call.arguments)
            .await;
        Ok(self.settle(&call, sent, outcome, 1).await)
    }

    /// One `tools/call` in a session of its own on the server; the request as the call log
    /// shows it (header values masked) and what came of it. Also what `POST /v1/tools/mcp/call`
    /// runs (the Lab's Test button beside a listed tool), outside any session.
    pub async fn call_remote(
        &self,
        org_id: Uuid,
        tool: &SealedTool,
        remote: &str,
        arguments: &Value,
    ) -> (Option<Value>, Outcome) {
        let ToolDefinition::Server(source) = &tool.definition else {
            return (
                None,
                Outcome::failed(ErrorKind::Connection, "not an MCP tool source"),
            );
        };
        let sent = request_view(
            source,
            json!({"method": "tools/call", "params": {"name": remote, "arguments": arguments}}),
        );
        let within = Duration::from_secs(u64::from(source.timeout_seconds));
        let mut client = match self.connect(org_id, tool, within) {
            Ok(client) => client,
            Err(e) => return (Some(sent), failure_outcome(e)),
        };
        let result = match client.open().await {
            Ok(()) => client.call_tool(remote, arguments).await,
            Err(e) => Err(e),
        };
        client.close().await;
        match result {
            Ok(result) => (Some(sent), result_outcome(&result)),
            Err(e) => (Some(sent), failure_outcome(e)),
        }
    }

    /// A client for the source's server, its headers opened, its URL checked by the mode's rules.
    fn connect(
        &self,
        org_id: Uuid,
        tool: &SealedTool,
        within: Duration,
    ) -> Result<McpClient<'_>, McpFailure> {
        let ToolDefinition::Server(source) = &tool.definition else {
            return Err(McpFailure::Failed(
                ErrorKind::ToolError,
                "not an MCP tool source".into(),
            ));
        };
        let url = url::Url::parse(&source.url).map_err(|_| {
            McpFailure::Failed(
                ErrorKind::ToolError,
                "the MCP server's URL is not valid".into(),
            )
        })?;
        if !self.destination_allowed(&url) {
            return Err(McpFailure::Failed(
                ErrorKind::BlockedDestination,
                crate::outbound::ssrf::NOT_ALLOWED.into(),
            ));
        }
        let opened = tool
            .open_headers(org_id, &self.settings.secrets)
            .map_err(|e| {
                tracing::error!(error = %e, "an MCP tool source's header could not be opened");
                McpFailure::Failed(
                    ErrorKind::EncryptionKeyMissing,
                    "a header value was sealed with an encryption key this server lacks".into(),
                )
            })?;
        let headers = opened
            .iter()
            .filter_map(|(name, value)| {
                Some((
                    HeaderName::from_bytes(name.as_bytes()).ok()?,
                    HeaderValue::from_str(value.expose()).ok()?,
                ))
            })
            .collect();
        Ok(McpClient::new(&self.client, url, headers, within))
    }
}

/// A request to the source as the call log and the tool test show it: header values masked
/// (a stored definition holds their masked previews; the values themselves are sealed beside it).
fn request_view(source: &WebhookTool, body: Value) -> Value {
    let masked: Map<String, Value> = source
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    json!({"method": "POST", "url": source.url, "headers": masked, "body": body})
}

/// What a `tools/call` result means for the LLM: its structured content or its text (parsed
/// as JSON when it is JSON, cut to 16 KiB), completed, or failed as `tool_error` when the server
/// says the tool failed (`isError`), with the server's words as the result.
fn result_outcome(result: &Value) -> Outcome {
    let text: Vec<String> = result["content"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| match c["text"].as_str() {
            Some(text) => text.to_owned(),
            None => format!("[{} content]", c["type"].as_str().unwrap_or("other")),
        })
        .collect();
    let (body, truncated) = match result.get("structuredContent").filter(|s| s.is_object()) {
        Some(structured) => readable_body(structured.to_string().as_bytes()),
        None => readable_body(text.join("\n").as_bytes()),
    };
    let mut outcome = if result["isError"] == true {
        let mut failed =
            Outcome::failed(ErrorKind::ToolError, "the MCP tool answered with an error");
        failed.result = body.clone();
        failed
    } else {
        Outcome::completed(body)
    };
    outcome.truncated = truncated;
    outcome.response = Some(json!({"status": 200, "body": result}));
    outcome
}

fn failure_outcome(failure: McpFailure) -> Outcome {
    match failure {
        McpFailure::Send(e) => Outcome::from_send(Err(e)),
        McpFailure::Status(answer) => Outcome::from_send(Ok(*answer)),
        McpFailure::Failed(kind, message) => Outcome::failed(kind, message),
    }
}

/// The `toolCallFailed` a source that could not be listed puts on the session's stream: named
/// by the source, with no call in the call log behind it.
fn listing_failed(
    session_id: Uuid,
    tool: &SnapshotTool,
    took: Duration,
    message: String,
) -> ToolCallEventData {
    let mut data = super::call_event_data(
        session_id,
        &format!("list-{}", Uuid::now_v7()),
        &tool.tool.definition,
        &json!({}),
    );
    data.execution_time = Some(took.as_millis() as i64);
    data.error_message = Some(message);
    data
}
