//! Tool definitions: webhook (server), client and system tools, in the seed's JSON shape.
//!
//! [`ToolDefinition::parse`] is the one way in for untrusted input and checks every rule; the serde
//! derives are for data Hookline wrote itself (the database, session snapshots).

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use utoipa::ToSchema;

use crate::destination::DestinationPolicy;
use crate::fields::{object_at, Fields};
use crate::json_schema::check_parameter_schema;
use crate::name::ToolName;
use crate::tool_type::ToolType;
use crate::violations::{join, Violations};

use crate::server_tool::{parse_description, parse_headers, parse_name, parse_plain_headers};
pub use crate::server_tool::{
    HttpMethod, ServerSubtype, WebhookTool, FORBIDDEN_HEADERS, MAX_ALLOWED_TOOLS,
    MAX_DESCRIPTION_CHARS, MAX_HEADERS, MAX_HEADER_VALUE_BYTES, MAX_MCP_TOOL_NAME_CHARS,
    MAX_TIMEOUT_SECONDS,
};

pub const DEFAULT_RESULT_TIMEOUT_SECONDS: u32 = 10;
pub const MAX_RESULT_TIMEOUT_SECONDS: u32 = 600;

// Fields with a default are `nullable` in the schema: the checkers read `null` as "not sent",
// so `"awaitResponse": null` means the default, as leaving it out does.

fn default_result_timeout() -> u32 {
    DEFAULT_RESULT_TIMEOUT_SECONDS
}

/// A tool the browser carries out (show a product, open a page) and may answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClientTool {
    pub name: ToolName,
    #[schema(max_length = 1024)]
    pub description: String,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub parameters: Option<Value>,
    #[serde(default)]
    #[schema(nullable)]
    pub await_result: bool,
    /// 1–600 seconds.
    #[serde(default = "default_result_timeout")]
    #[schema(nullable, minimum = 1, maximum = 600)]
    pub result_timeout_seconds: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SystemToolName {
    EndCall,
    SkipTurn,
    ChangeLanguage,
    Interrupt,
    /// A turn of the persona's own, later (the split pattern: start a job, check back).
    ScheduleFollowup,
}

/// The shortest and longest wait a follow-up may ask for, in seconds.
pub const FOLLOWUP_SECONDS: (u32, u32) = (5, 3600);
/// The longest note a follow-up carries.
pub const FOLLOWUP_NOTE_CHARS: u32 = 1000;

impl SystemToolName {
    pub const ALL: [Self; 5] = [
        Self::EndCall,
        Self::SkipTurn,
        Self::ChangeLanguage,
        Self::Interrupt,
        Self::ScheduleFollowup,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::EndCall => "end_call",
            Self::SkipTurn => "skip_turn",
            Self::ChangeLanguage => "change_language",
            Self::Interrupt => "interrupt",
            Self::ScheduleFollowup => "schedule_followup",
        }
    }

    fn default_description(self) -> &'static str {
        match self {
            Self::EndCall => "End the conversation when the user says goodbye or asks to stop.",
            Self::SkipTurn => "Stay silent for this turn when no answer is needed.",
            Self::ChangeLanguage => "Switch the conversation to the language the user asks for.",
            Self::Interrupt => "Stop speaking at once.",
            Self::ScheduleFollowup => "Check back by yourself later: after afterSeconds you get a turn of your own with the note, without the user speaking (e.g. to check a job you started).",
        }
    }

    fn parameters(self) -> Value {
        match self {
            Self::ChangeLanguage => json!({
                "type": "object",
                "properties": {"languageCode": {"type": "string", "description": "BCP 47 code of the new language, e.g. fr or pt-BR"}},
                "required": ["languageCode"]
            }),
            Self::ScheduleFollowup => json!({
                "type": "object",
                "properties": {
                    "afterSeconds": {"type": "integer", "minimum": FOLLOWUP_SECONDS.0, "maximum": FOLLOWUP_SECONDS.1, "description": "Seconds from now"},
                    "note": {"type": "string", "minLength": 1, "maxLength": FOLLOWUP_NOTE_CHARS, "description": "What to do then, for yourself, e.g. check report job_123"}
                },
                "required": ["afterSeconds", "note"]
            }),
            _ => json!({"type": "object", "properties": {}}),
        }
    }
}

/// A tool run by Hookline itself on the conversation (`end_call` ends the session).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SystemTool {
    pub name: SystemToolName,
    #[schema(max_length = 1024)]
    pub description: String,
}

/// Any tool, tagged by `type` exactly as the API shows it.
// Most tools are server tools, so boxing the largest variant would add an allocation to the
// common case to save bytes in the rare one.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum ToolDefinition {
    #[serde(serialize_with = "crate::knowledge_tool::serialize_server")]
    Server(WebhookTool),
    Client(ClientTool),
    System(SystemTool),
}

impl ToolDefinition {
    pub fn name(&self) -> &str {
        match self {
            Self::Server(t) => t.name.as_str(),
            Self::Client(t) => t.name.as_str(),
            Self::System(t) => t.name.as_str(),
        }
    }

    pub fn tool_type(&self) -> ToolType {
        match self {
            Self::Server(_) => ToolType::Server,
            Self::Client(_) => ToolType::Client,
            Self::System(_) => ToolType::System,
        }
    }

    pub fn subtype(&self) -> Option<&'static str> {
        match self {
            Self::Server(t) if t.is_mcp() => Some("mcp"),
            Self::Server(t) if t.is_knowledge() => Some("knowledge"),
            Self::Server(_) => Some("webhook"),
            _ => None,
        }
    }

    pub fn description(&self) -> &str {
        match self {
            Self::Server(t) => &t.description,
            Self::Client(t) => &t.description,
            Self::System(t) => &t.description,
        }
    }

    /// The one schema the LLM fills: for webhooks, `parameters` and `queryParameters` merged.
    pub fn llm_parameters(&self) -> Value {
        match self {
            Self::Server(t) if t.is_knowledge() => crate::knowledge_tool::parameters(),
            Self::Server(t) => merge_schemas(t.parameters.as_ref(), t.query_parameters.as_ref()),
            Self::Client(t) => merge_schemas(t.parameters.as_ref(), None),
            Self::System(t) => t.name.parameters(),
        }
    }

    /// The tool as its API JSON.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).expect("a tool definition always serializes")
    }

    /// Parses an untrusted definition, checking every rule and reporting every problem, each
    /// named by its field path under `prefix` (e.g. `personaConfig.tools[2]`).
    pub fn parse(
        value: &Value,
        prefix: &str,
        policy: &DestinationPolicy,
    ) -> Result<ToolDefinition, Violations> {
        let map = object_at(value, prefix)?;
        let mut v = Violations::new();
        let mut f = Fields::new(map, prefix, &mut v);
        let (tool, what) = match f.required_string("type") {
            Some("server") => (
                parse_webhook(&mut f, policy).map(ToolDefinition::Server),
                "a webhook tool",
            ),
            Some("client") => (
                parse_client(&mut f).map(ToolDefinition::Client),
                "a client tool",
            ),
            Some("system") => (
                parse_system(&mut f).map(ToolDefinition::System),
                "a system tool",
            ),
            Some(other) => {
                let path = f.path("type");
                f.v.rule(
                    path,
                    format!("must be \"server\", \"client\" or \"system\" (not \"{other}\")"),
                );
                return Err(v);
            }
            None => return Err(v),
        };
        f.finish(what);
        match tool {
            Some(tool) if v.is_empty() => Ok(tool),
            _ => Err(v),
        }
    }
}

/// Masks a header value for display: `••••` and the last 4 characters for values of 12
/// characters or more, `••••` alone for shorter ones.
pub fn mask_header_value(value: &str) -> String {
    let count = value.chars().count();
    if count >= 12 {
        let tail: String = value.chars().skip(count - 4).collect();
        format!("••••{tail}")
    } else {
        "••••".to_owned()
    }
}

fn merge_schemas(body: Option<&Value>, query: Option<&Value>) -> Value {
    let mut properties = Map::new();
    let mut required: Vec<Value> = Vec::new();
    let mut extra = Map::new();
    for schema in [body, query].into_iter().flatten() {
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            properties.extend(props.clone());
        }
        if let Some(req) = schema.get("required").and_then(Value::as_array) {
            required.extend(req.iter().cloned());
        }
        // Keep what a body schema says besides its properties (additionalProperties...), and the
        // definitions of both: their names never collide (refused at definition), so every
        // `#/$defs/...` reference of either schema resolves in the merged one.
        if let Some(obj) = schema.as_object() {
            for (k, val) in obj {
                match (k.as_str(), val, extra.get_mut(k)) {
                    ("type" | "properties" | "required", ..) => {}
                    ("$defs" | "definitions", Value::Object(defs), Some(Value::Object(merged))) => {
                        for (name, def) in defs {
                            merged.entry(name.clone()).or_insert_with(|| def.clone());
                        }
                    }
                    _ => {
                        extra.entry(k.clone()).or_insert_with(|| val.clone());
                    }
                }
            }
        }
    }
    let mut out = Map::new();
    out.insert("type".into(), "object".into());
    out.insert("properties".into(), Value::Object(properties));
    if !required.is_empty() {
        out.insert("required".into(), Value::Array(required));
    }
    out.extend(extra);
    Value::Object(out)
}

fn parse_schema(f: &mut Fields, key: &'static str) -> Option<Value> {
    let value = f.get(key)?;
    let path = f.path(key);
    check_parameter_schema(&path, value, f.v).then(|| value.clone())
}

fn property_names(schema: Option<&Value>) -> Vec<&str> {
    schema
        .and_then(|s| s.get("properties"))
        .and_then(Value::as_object)
        .map(|p| p.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

/// Where a schema keeps its shared definitions (`definitions` before draft 2019-09).
const DEFINITION_KEYWORDS: [&str; 2] = ["$defs", "definitions"];

fn definitions<'a>(
    schema: Option<&'a Value>,
    keyword: &str,
) -> impl Iterator<Item = (&'a str, &'a Value)> {
    schema
        .and_then(|s| s.get(keyword))
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|defs| defs.iter().map(|(k, v)| (k.as_str(), v)))
}

fn parse_webhook(f: &mut Fields, policy: &DestinationPolicy) -> Option<WebhookTool> {
    let subtype = match f.required_string("subtype") {
        Some("webhook") => Some(ServerSubtype::Webhook),
        Some("mcp") => return crate::mcp_source::parse(f, policy),
        Some("knowledge") => return crate::knowledge_tool::parse(f),
        Some(other) => {
            let path = f.path("subtype");
            f.v.rule(
                path,
                format!("must be \"webhook\", \"mcp\" or \"knowledge\" (not \"{other}\")"),
            );
            None
        }
        None => None,
    };
    let name = parse_name(f);
    let description = parse_description(f, true);
    let parameters = parse_schema(f, "parameters");
    let query_parameters = parse_schema(f, "queryParameters");
    let body_props = property_names(parameters.as_ref());
    check_collisions(
        f,
        parameters.as_ref(),
        query_parameters.as_ref(),
        &body_props,
    );
    let url = parse_url(f, policy, parameters.as_ref(), &body_props);
    let method = match f.string("method") {
        None => Some(HttpMethod::Post),
        Some(m) => HttpMethod::parse(m).or_else(|| {
            let path = f.path("method");
            f.v.rule(path, "must be GET, POST, PUT, PATCH or DELETE");
            None
        }),
    };
    let headers = parse_headers(f);
    let plain_headers = parse_plain_headers(f, headers.as_ref());
    let await_response = f.bool("awaitResponse").unwrap_or(true);
    let timeout_seconds = f
        .integer_in("timeoutSeconds", 1..=i64::from(MAX_TIMEOUT_SECONDS))
        .map_or(MAX_TIMEOUT_SECONDS, |n| n as u32);
    let disable_interruptions = f.bool("disableInterruptions").unwrap_or(false);
    let (response, limits) = (crate::response::parse(f), crate::limits::parse(f));
    crate::variables::check_tool_texts(f, parameters.as_ref(), query_parameters.as_ref());
    let connection_id = crate::connection::parse_connection_id(f, headers.as_ref());
    Some(WebhookTool {
        subtype: subtype?,
        name: name?,
        description: description?,
        url: url?,
        method: method?,
        headers: headers?,
        plain_headers: plain_headers?,
        parameters,
        query_parameters,
        await_response,
        timeout_seconds,
        disable_interruptions,
        allowed_tools: None,
        response: response?,
        limits: limits?,
        connection_id: connection_id?,
        document_folder_ids: Vec::new(),
        limit: None,
    })
}

/// The body's and the query string's schemas are merged into one for the LLM: a property name
/// or a definition name (with other content) in both would collide.
fn check_collisions(
    f: &mut Fields,
    parameters: Option<&Value>,
    query_parameters: Option<&Value>,
    body_props: &[&str],
) {
    for clash in property_names(query_parameters) {
        if body_props.contains(&clash) {
            let path = join(&f.path("queryParameters.properties"), clash);
            f.v.rule(
                path,
                "is also a property of parameters; names must not collide",
            );
        }
    }
    for defs in DEFINITION_KEYWORDS {
        for (name, query_def) in definitions(query_parameters, defs) {
            let body_def = definitions(parameters, defs).find(|(n, _)| *n == name);
            if body_def.is_some_and(|(_, d)| d != query_def) {
                let path = join(&f.path(&format!("queryParameters.{defs}")), name);
                f.v.rule(
                    path,
                    format!(
                        "is also a definition of parameters.{defs} with other content; both \
                         schemas are merged into one, so definition names must not collide"
                    ),
                );
            }
        }
    }
}

/// The URL, checked against the destination policy; each `{template}` in it must name a
/// property of `parameters` (unless `parameters` itself is broken, already reported).
fn parse_url(
    f: &mut Fields,
    policy: &DestinationPolicy,
    parameters: Option<&Value>,
    body_props: &[&str],
) -> Option<String> {
    f.required_string("url").and_then(|raw| {
        let path = f.path("url");
        match crate::variables::check_url(raw, policy) {
            Ok(templates) => {
                let params_ok = f.get("parameters").is_none() || parameters.is_some();
                for t in templates {
                    if params_ok && !body_props.contains(&t.as_str()) {
                        f.v.rule(
                            path.clone(),
                            format!("template {{{t}}} must name a property of parameters"),
                        );
                    }
                }
                Some(raw.to_owned())
            }
            Err(message) => {
                f.v.rule(path, message);
                None
            }
        }
    })
}

fn parse_client(f: &mut Fields) -> Option<ClientTool> {
    let name = parse_name(f);
    let description = parse_description(f, true);
    let parameters = parse_schema(f, "parameters");
    let await_result = f.bool("awaitResult").unwrap_or(false);
    let result_timeout_seconds = f
        .integer_in(
            "resultTimeoutSeconds",
            1..=i64::from(MAX_RESULT_TIMEOUT_SECONDS),
        )
        .map_or(DEFAULT_RESULT_TIMEOUT_SECONDS, |n| n as u32);
    Some(ClientTool {
        name: name?,
        description: description?,
        parameters,
        await_result,
        result_timeout_seconds,
    })
}

fn parse_system(f: &mut Fields) -> Option<SystemTool> {
    let name = f.required_string("name").and_then(|n| {
        let found = SystemToolName::ALL.into_iter().find(|s| s.as_str() == n);
        if found.is_none() {
            let path = f.path("name");
            f.v.rule(
                path,
                "must be one of end_call, skip_turn, change_language, interrupt, schedule_followup",
            );
        }
        found
    });
    let description = parse_description(f, false);
    let name = name?;
    Some(SystemTool {
        name,
        description: description.unwrap_or_else(|| name.default_description().to_owned()),
    })
}
