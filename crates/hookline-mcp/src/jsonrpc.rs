//! JSON-RPC 2.0 as MCP uses it: one message per HTTP request (MCP 2025-06-18 dropped batches),
//! read from untrusted JSON into [`Message`], answered with [`Reply`].

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// The standard codes MCP answers with.
pub mod code {
    pub const INVALID_REQUEST: i32 = -32600;
    pub const METHOD_NOT_FOUND: i32 = -32601;
    pub const INVALID_PARAMS: i32 = -32602;
    pub const INTERNAL_ERROR: i32 = -32603;
}

/// What a client sent.
#[derive(Debug, PartialEq)]
pub enum Message {
    /// A request, which gets an answer with the same `id`.
    Request {
        id: Value,
        method: String,
        params: Map<String, Value>,
    },
    /// A notification (no `id`): acknowledged with 202 and nothing else.
    Notification,
    /// The client's answer to a request of ours. Hookline sends none, so it is only acknowledged.
    Response,
}

/// Why a body is not one JSON-RPC message; said in the 400's detail.
#[derive(Debug, PartialEq, Eq)]
pub struct NotAMessage(pub String);

/// One JSON-RPC 2.0 message as a client sends it: a request (`id`, `method`, `params`?), a
/// notification (`method`, `params`?, no `id`) or a response (`id`, `result` or `error`).
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct McpMessage {
    /// `"2.0"`.
    #[schema(pattern = "^2\\.0$")]
    jsonrpc: String,
    /// A string or an integer, never `null`; absent in a notification.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    id: Option<Value>,
    /// e.g. `initialize`, `tools/list`, `tools/call`, `notifications/initialized`.
    method: Option<String>,
    #[schema(value_type = Option<Object>)]
    params: Option<Map<String, Value>>,
    #[schema(value_type = Option<Object>)]
    result: Option<Value>,
    #[schema(value_type = Option<Object>)]
    error: Option<Value>,
}

/// A member that is there, `null` included: an `id` of `null` is refused, not taken for none.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

impl Message {
    /// Reads one message, taking its parts out of `value` rather than copying them. A request's
    /// `id` must be a string or an integer (MCP forbids `null`).
    pub fn parse(value: Value) -> Result<Self, NotAMessage> {
        let bad = |why: &str| Err(NotAMessage(why.to_owned()));
        if value.is_array() {
            return bad(
                "a batch (an array) is not accepted: send one JSON-RPC message per request",
            );
        }
        let message = McpMessage::deserialize(value)
            .map_err(|e| NotAMessage(format!("the body is not a JSON-RPC 2.0 message: {e}")))?;
        if message.jsonrpc != "2.0" {
            return bad("`jsonrpc` must be \"2.0\"");
        }
        let Some(method) = message.method else {
            return if message.id.is_some() && (message.result.is_some() || message.error.is_some())
            {
                Ok(Self::Response)
            } else {
                bad("a message needs `method` (a request or notification) or `result`/`error` (a response)")
            };
        };
        let params = message.params.unwrap_or_default();
        match message.id {
            None => Ok(Self::Notification),
            Some(id) if id.is_string() || id.is_i64() || id.is_u64() => {
                Ok(Self::Request { id, method, params })
            }
            Some(_) => bad("`id` must be a string or an integer"),
        }
    }
}

/// A JSON-RPC error object.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct RpcError {
    pub code: i32,
    pub message: String,
}

impl RpcError {
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    pub fn invalid_params(message: impl Into<String>) -> Self {
        Self::new(code::INVALID_PARAMS, message)
    }
}

/// The answer to a request: `result` or `error`, never both.
#[derive(Debug, Serialize, ToSchema)]
pub struct Reply {
    /// Always `"2.0"`.
    pub jsonrpc: &'static str,
    /// The request's own `id`.
    #[schema(value_type = Object)]
    pub id: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub result: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<RpcError>,
}

impl Reply {
    pub fn new(id: Value, outcome: Result<Value, RpcError>) -> Self {
        let (result, error) = match outcome {
            Ok(result) => (Some(result), None),
            Err(error) => (None, Some(error)),
        };
        Self {
            jsonrpc: "2.0",
            id,
            result,
            error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn requests_notifications_and_responses_are_told_apart() {
        let request = Message::parse(json!({"jsonrpc": "2.0", "id": 7, "method": "tools/list"}));
        assert_eq!(
            request,
            Ok(Message::Request {
                id: json!(7),
                method: "tools/list".into(),
                params: Map::new()
            })
        );
        let note = Message::parse(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        assert_eq!(note, Ok(Message::Notification));
        let response = Message::parse(json!({"jsonrpc": "2.0", "id": "a", "result": {}}));
        assert_eq!(response, Ok(Message::Response));
    }

    #[test]
    fn malformed_messages_say_why() {
        for (body, why) in [
            (
                json!([{"jsonrpc": "2.0", "id": 1, "method": "ping"}]),
                "batch",
            ),
            (json!({"id": 1, "method": "ping"}), "jsonrpc"),
            (
                json!({"jsonrpc": "2.0", "id": null, "method": "ping"}),
                "`id`",
            ),
            (
                json!({"jsonrpc": "2.0", "id": 1.5, "method": "ping"}),
                "`id`",
            ),
            (
                json!({"jsonrpc": "2.0", "id": 1, "method": 3}),
                "invalid type",
            ),
            (
                json!({"jsonrpc": "2.0", "id": 1, "method": "ping", "params": [1]}),
                "invalid type",
            ),
            (json!({"jsonrpc": "2.0", "id": 1}), "`method`"),
            (json!("ping"), "not a JSON-RPC 2.0 message"),
        ] {
            let Err(NotAMessage(message)) = Message::parse(body.clone()) else {
                panic!("{body} was read as a message");
            };
            assert!(message.contains(why), "{body}: {message}");
        }
    }
}
