//! The bodies the engine's routes take. Each reads itself from the JSON body ([`Check`], every
//! problem reported at once) and is the route's `request_body` in the OpenAPI document, so the
//! rules are stated once. serde's attributes here name the wire shape for the document (field
//! names, unknown fields refused); the reading is `check`.

use indexmap::IndexMap;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use hookline_core::http::Check;
use hookline_core::Settings;
use hookline_schema::fields::{object_at, Fields};
use hookline_schema::Violations;

/// A tool call the conversation runtime asks for. Unknown fields are refused.
#[derive(Debug, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ToolCallRequest {
    /// The LLM's id for the call; a repeated one returns the stored call. Made up when absent.
    pub tool_call_id: Option<String>,
    /// A tool of the session.
    pub tool_name: String,
    /// Default `{}`.
    #[schema(value_type = Option<ToolCallArguments>)]
    pub arguments: Map<String, Value>,
}

impl Check for ToolCallRequest {
    fn check(body: &Value, _: &Settings) -> Result<Self, Violations> {
        let map = object_at(body, "")?;
        let mut v = Violations::new();
        let mut f = Fields::new(map, "", &mut v);
        let tool_call_id = f.string("toolCallId").map(str::to_owned);
        let tool_name = f.required_string("toolName").map(str::to_owned);
        let arguments = f.get("arguments").cloned();
        f.finish("a tool call");
        let arguments = match arguments {
            None => Map::new(),
            Some(Value::Object(map)) => map,
            // OpenAI hands a tool call's arguments over as a JSON text: taken as it comes.
            Some(Value::String(text)) => match serde_json::from_str::<Value>(&text) {
                Ok(Value::Object(map)) => map,
                _ => {
                    v.wrong_type("arguments", ToolCallArguments::EXPECTED);
                    Map::new()
                }
            },
            Some(_) => {
                v.wrong_type("arguments", ToolCallArguments::EXPECTED);
                Map::new()
            }
        };
        match tool_name {
            Some(tool_name) if v.is_empty() => Ok(Self {
                tool_call_id,
                tool_name,
                arguments,
            }),
            _ => Err(v),
        }
    }
}

impl From<ToolCallRequest> for crate::call::CallRequest {
    fn from(r: ToolCallRequest) -> Self {
        Self {
            tool_call_id: r.tool_call_id,
            tool_name: r.tool_name,
            arguments: Value::Object(r.arguments),
            defer_end: false,
            recorder: None,
        }
    }
}

/// A call's arguments: an object, or (as OpenAI hands them over) a string holding a JSON object.
// Only named in the document: `ToolCallRequest::check` turns the text into its object.
#[derive(Debug, ToSchema)]
#[serde(untagged)]
pub enum ToolCallArguments {
    Object(serde_json::Map<String, Value>),
    /// A JSON object, as text (anything else in the string is a 400 naming `arguments`).
    Text(String),
}

impl ToolCallArguments {
    const EXPECTED: &'static str = "an object, or a string holding a JSON object";
}

/// The browser's answer to a client tool call: a result, or an error message. Unknown fields
/// are refused.
#[derive(Debug, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientResultRequest {
    /// Any JSON, handed to the LLM.
    pub result: Option<Value>,
    /// The call failed, with this message.
    pub error: Option<String>,
}

impl Check for ClientResultRequest {
    fn check(body: &Value, _: &Settings) -> Result<Self, Violations> {
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
#[derive(Debug, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ToolTestRequest {
    /// Checked against the tool's parameters (default `{}`).
    #[schema(value_type = Option<Object>)]
    pub arguments: Map<String, Value>,
    /// Values for the tool's `{{name}}` references, as a session token would bring them
    /// (`session.id` and `persona.id` may be given too; `now` is always set).
    #[schema(value_type = Option<std::collections::HashMap<String, String>>)]
    pub variables: IndexMap<String, String>,
}

impl Check for ToolTestRequest {
    fn check(body: &Value, _: &Settings) -> Result<Self, Violations> {
        let map = object_at(body, "")?;
        let mut v = Violations::new();
        let mut f = Fields::new(map, "", &mut v);
        let arguments = f.object("arguments").cloned().unwrap_or_default();
        let variables = match f.get("variables") {
            Some(given) => test_variables(given, f.v).unwrap_or_default(),
            None => IndexMap::new(),
        };
        f.finish("a tool test");
        v.into_result(Self {
            arguments,
            variables,
        })
    }
}

/// A test's `variables`: the values the session token would bring, built-ins included
/// (`session.id`, `persona.id`; `now` is always there).
fn test_variables(value: &Value, v: &mut Violations) -> Option<IndexMap<String, String>> {
    let Some(map) = value.as_object() else {
        v.wrong_type("variables", "an object of variable names and string values");
        return None;
    };
    let mut plain = Map::new();
    let mut builtins = IndexMap::new();
    for (name, value) in map {
        match (
            hookline_schema::variables::BUILT_INS.contains(&name.as_str()),
            value.as_str(),
        ) {
            (true, Some(text)) => {
                builtins.insert(name.clone(), text.to_owned());
            }
            (true, None) => v.wrong_type(format!("variables.{name}"), "a string"),
            (false, _) => {
                plain.insert(name.clone(), value.clone());
            }
        }
    }
    let mut out =
        hookline_schema::variables::parse_variables(&Value::Object(plain), "variables", v)?;
    out.extend(builtins);
    Some(out)
}
