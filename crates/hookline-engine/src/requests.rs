//! The bodies the engine's routes take, for the OpenAPI document. The handlers read bodies with
//! `hookline-schema`'s checkers; these types state the same rules for clients and contract tests
//! (a client's result is read into its own type, which the service takes).

use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use hookline_schema::fields::{object_at, Fields};
use hookline_schema::Violations;

/// A tool call the conversation runtime asks for. Unknown fields are refused.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ToolCallRequest {
    /// The LLM's id for the call; a repeated one returns the stored call. Made up when absent.
    pub tool_call_id: Option<String>,
    /// A tool of the session.
    pub tool_name: String,
    /// Default `{}`.
    pub arguments: Option<ToolCallArguments>,
}

/// A call's arguments: an object, or (as OpenAI hands them over) a string holding a JSON object.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum ToolCallArguments {
    Object(serde_json::Map<String, Value>),
    /// A JSON object, as text (anything else in the string is a 400 naming `arguments`).
    Text(String),
}

/// The browser's answer to a client tool call: a result, or an error message. Unknown fields
/// are refused.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientResultRequest {
    /// Any JSON, handed to the LLM.
    pub result: Option<Value>,
    /// The call failed, with this message.
    pub error: Option<String>,
}

impl ClientResultRequest {
    /// Reads the browser's answer, reporting every problem.
    pub fn parse(body: &Value) -> Result<Self, Violations> {
        let map = object_at(body, "")?;
        let mut v = Violations::new();
        let mut f = Fields::new(map, "", &mut v);
        let result = f.get("result").cloned();
        let error = f.string("error").map(str::to_owned);
        f.finish("a client tool result");
        v.into_result(Self { result, error })
    }
}

/// The arguments to test a webhook tool with. Unknown fields are refused.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ToolTestRequest {
    /// Checked against the tool's parameters (default `{}`).
    #[schema(value_type = Option<Object>)]
    pub arguments: Option<serde_json::Map<String, Value>>,
    /// Values for the tool's `{{name}}` references, as a session token would bring them
    /// (`session.id` and `persona.id` may be given too; `now` is always set).
    #[schema(value_type = Option<std::collections::HashMap<String, String>>)]
    pub variables: Option<std::collections::HashMap<String, String>>,
}
