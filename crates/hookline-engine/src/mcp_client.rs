//! The MCP client behind `mcp` tool sources: MCP's Streamable HTTP transport spoken to a remote
//! server through the engine's SSRF-safe client (vetted addresses, no redirects, no proxies),
//! each message within the time left of its operation and its answer read up to 1 MiB.
//!
//! An operation opens its own MCP session (`initialize`, `notifications/initialized`), does
//! its one request (`tools/list` or `tools/call`) and ends the session with `DELETE`; nothing is
//! kept between operations but the listing, which the engine caches per Hookline session. A
//! server may answer a request with JSON or with an event stream holding the answer; both are read.

use std::time::Duration;

use reqwest::header::{HeaderName, HeaderValue, ACCEPT, CONTENT_TYPE, USER_AGENT};
use serde_json::{json, Value};
use tokio::time::Instant;

use hookline_core::ErrorKind;
use hookline_schema::definition::MAX_DESCRIPTION_CHARS;
use hookline_schema::json_schema::MAX_SCHEMA_BYTES;

use crate::outbound::{self, Answer, SendError};

/// The revision asked for at `initialize`; servers of 2025-06-18 answer with theirs, which the
/// transport here speaks the same way.
pub const PROTOCOL_VERSION: &str = "2025-11-25";
const SESSION_HEADER: &str = "mcp-session-id";
const VERSION_HEADER: &str = "mcp-protocol-version";

/// One tool a remote server lists.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteTool {
    pub name: String,
    pub description: String,
    pub input_schema: Value,
}

impl RemoteTool {
    /// About how many bytes it holds (its weight in the engine's cache of listings).
    pub fn weight(&self) -> usize {
        self.name.len() + self.description.len() + self.input_schema.to_string().len()
    }
}

/// Why an exchange with the server failed: an error kind and words the LLM (and the events)
/// may see, or the server's own non-2xx answer.
#[derive(Debug)]
pub enum McpFailure {
    Send(SendError),
    Status(Box<Answer>),
    /// Anything else, with its kind: a JSON-RPC error or an answer that is not one
    /// (`tool_error`), a destination the mode refuses, a header that cannot be opened.
    Failed(ErrorKind, String),
}

impl McpFailure {
    fn protocol(message: impl Into<String>) -> Self {
        Self::Failed(ErrorKind::ToolError, message.into())
    }
}

impl McpFailure {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Send(SendError::Blocked(_)) => ErrorKind::BlockedDestination,
            Self::Send(SendError::Timeout(_)) => ErrorKind::Timeout,
            Self::Send(SendError::Connection(_)) => ErrorKind::Connection,
            Self::Send(SendError::TooLarge { .. }) => ErrorKind::ResponseTooLarge,
            Self::Status(_) => ErrorKind::HttpStatus,
            Self::Failed(kind, _) => *kind,
        }
    }
}

impl std::fmt::Display for McpFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Send(e) => write!(f, "{e}"),
            Self::Status(a) => write!(f, "the MCP server answered HTTP {}", a.status),
            Self::Failed(_, m) => write!(f, "{m}"),
        }
    }
}

/// A connection to one server for one operation.
pub struct McpClient<'a> {
    pub http: &'a reqwest::Client,
    pub url: url::Url,
    /// The source's headers, opened.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub deadline: Instant,
    session: Option<HeaderValue>,
    next_id: i64,
}

impl<'a> McpClient<'a> {
    pub fn new(
        http: &'a reqwest::Client,
        url: url::Url,
        headers: Vec<(HeaderName, HeaderValue)>,
        within: Duration,
    ) -> Self {
        Self {
            http,
            url,
            headers,
            deadline: Instant::now() + within,
            session: None,
            next_id: 1,
        }
    }

    /// `initialize` and `notifications/initialized`.
    pub async fn open(&mut self) -> Result<(), McpFailure> {
        let params = json!({
            "protocolVersion": PROTOCOL_VERSION,
            "capabilities": {},
            "clientInfo": {"name": "hookline", "version": env!("CARGO_PKG_VERSION")},
        });
        let (answer, _) = self.request("initialize", params).await?;
        self.session = answer.headers.get(SESSION_HEADER).cloned();
        self.post(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await?;
        Ok(())
    }

    /// `tools/list`, every page (at most 10, 1 MiB each). A tool's description is cut to 1024
    /// characters and a tool whose input schema is over 64 KiB is left out, as a definition of
    /// ours would be refused: what is kept goes to the LLM at every round.
    pub async fn list_tools(&mut self) -> Result<Vec<RemoteTool>, McpFailure> {
        let mut tools = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..10 {
            let params = match &cursor {
                Some(c) => json!({"cursor": c}),
                None => json!({}),
            };
            let (_, result) = self.request("tools/list", params).await?;
            for tool in result["tools"].as_array().into_iter().flatten() {
                let Some(name) = tool["name"].as_str() else {
                    continue;
                };
                let input_schema = tool
                    .get("inputSchema")
                    .filter(|s| s.is_object())
                    .cloned()
                    .unwrap_or_else(|| json!({"type": "object", "properties": {}}));
                if input_schema.to_string().len() > MAX_SCHEMA_BYTES {
                    continue;
                }
                let description = tool["description"].as_str().unwrap_or_default();
                tools.push(RemoteTool {
                    name: name.to_owned(),
                    description: description.chars().take(MAX_DESCRIPTION_CHARS).collect(),
                    input_schema,
                });
            }
            cursor = result["nextCursor"].as_str().map(str::to_owned);
            if cursor.is_none() {
                break;
            }
        }
        Ok(tools)
    }

    /// `tools/call`: the server's result (`content`, `isError`, `structuredContent`?).
    pub async fn call_tool(&mut self, name: &str, arguments: &Value) -> Result<Value, McpFailure> {
        let (_, result) = self
            .request("tools/call", json!({"name": name, "arguments": arguments}))
            .await?;
        Ok(result)
    }

    /// Ends the session on the server, if it gave one (best effort: an answer is not awaited
    /// past the deadline, and a failure changes nothing for the call).
    pub async fn close(&mut self) {
        let Some(session) = self.session.take() else {
            return;
        };
        let mut request = self.http.delete(self.url.clone());
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        if let Ok(request) = request.header(SESSION_HEADER, session).build() {
            let _ = outbound::send(self.http, request, self.left()).await;
        }
    }

    fn left(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    async fn request(
        &mut self,
        method: &str,
        params: Value,
    ) -> Result<(Answer, Value), McpFailure> {
        let id = self.next_id;
        self.next_id += 1;
        let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let answer = self.post(&body).await?;
        let message = read_message(&answer, id).ok_or_else(|| {
            McpFailure::protocol(format!("the MCP server sent no answer to {method}"))
        })?;
        if let Some(error) = message.get("error") {
            let text = error["message"].as_str().unwrap_or("no message");
            return Err(McpFailure::protocol(format!(
                "the MCP server refused {method}: {text}"
            )));
        }
        let result = message.get("result").cloned().unwrap_or(Value::Null);
        Ok((answer, result))
    }

    async fn post(&self, body: &Value) -> Result<Answer, McpFailure> {
        let mut request = self
            .http
            .post(self.url.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json, text/event-stream")
            .header(USER_AGENT, crate::outgoing::USER_AGENT);
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        if let Some(session) = &self.session {
            request = request
                .header(SESSION_HEADER, session)
                .header(VERSION_HEADER, PROTOCOL_VERSION);
        }
        let request = request
            .body(body.to_string())
            .build()
            .map_err(|e| McpFailure::protocol(format!("the request could not be built: {e}")))?;
        let answer = outbound::send(self.http, request, self.left())
            .await
            .map_err(McpFailure::Send)?;
        if !(200..300).contains(&answer.status) {
            return Err(McpFailure::Status(Box::new(answer)));
        }
        Ok(answer)
    }
}

/// The JSON-RPC answer with `id` in a JSON body or an event stream's `data` lines.
fn read_message(answer: &Answer, id: i64) -> Option<Value> {
    let text = String::from_utf8_lossy(&answer.body);
    let is_stream = answer
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    if !is_stream {
        return serde_json::from_str::<Value>(&text)
            .ok()
            .filter(|m| m["id"] == id);
    }
    // Events are separated by a blank line; an event's data is its `data:` lines joined.
    text.replace("\r\n", "\n")
        .split("\n\n")
        .filter_map(|event| {
            let data: Vec<&str> = event
                .lines()
                .filter_map(|l| l.strip_prefix("data:"))
                .map(|d| d.strip_prefix(' ').unwrap_or(d))
                .collect();
            serde_json::from_str::<Value>(&data.join("\n")).ok()
        })
        .find(|m| m["id"] == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(content_type: &str, body: &str) -> Answer {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(CONTENT_TYPE, content_type.parse().unwrap());
        Answer {
            status: 200,
            headers,
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn the_answer_is_read_from_json_or_from_an_event_stream() {
        let json = answer(
            "application/json",
            r#"{"jsonrpc":"2.0","id":3,"result":{"a":1}}"#,
        );
        assert_eq!(read_message(&json, 3).unwrap()["result"]["a"], 1);
        assert_eq!(read_message(&json, 4), None);
        let stream = answer(
            "text/event-stream",
            "event: message\r\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\"}\r\n\r\n\
             event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":2,\ndata: \"result\":{\"ok\":true}}\n\n",
        );
        assert_eq!(read_message(&stream, 2).unwrap()["result"]["ok"], true);
    }
}
