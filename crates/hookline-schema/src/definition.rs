//! Tool definitions: webhook (server), client and system tools, in the seed's JSON shape.
//!
//! [`ToolDefinition::parse`] is the one way in for untrusted input and checks every rule; the serde
//! derives are for data Hookline wrote itself (the database, session snapshots).

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use utoipa::ToSchema;

use crate::destination::DestinationPolicy;
use crate::fields::{object_at, Fields};
use crate::json_schema::check_parameter_schema;
use crate::name::ToolName;
use crate::tool_type::ToolType;
use crate::violations::{join, Violations};

pub const MAX_DESCRIPTION_CHARS: usize = 1024;
pub const MAX_HEADERS: usize = 50;
pub const MAX_HEADER_VALUE_BYTES: usize = 8 * 1024;
pub const MAX_TIMEOUT_SECONDS: u32 = 60;
pub const DEFAULT_RESULT_TIMEOUT_SECONDS: u32 = 10;
pub const MAX_RESULT_TIMEOUT_SECONDS: u32 = 600;

/// Headers Hookline sets itself, or that would let a tool break the HTTP framing.
pub const FORBIDDEN_HEADERS: [&str; 7] = [
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl HttpMethod {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_uppercase().as_str() {
            "GET" => Self::Get,
            "POST" => Self::Post,
            "PUT" => Self::Put,
            "PATCH" => Self::Patch,
            "DELETE" => Self::Delete,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
        }
    }

    /// GET and DELETE carry their arguments in the query string; the others in a JSON body.
    pub fn has_body(self) -> bool {
        !matches!(self, Self::Get | Self::Delete)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ServerSubtype {
    Webhook,
    /// An MCP server whose tools the persona offers as `<name>__<tool>`: only `url`, `headers`
    /// and `allowedTools` apply (the tools' own schemas come from the server's `tools/list`).
    Mcp,
    /// A search of the organization's knowledge folders: only `documentFolderIds` and `limit`
    /// apply; the LLM sends a `query` (see [`crate::knowledge_tool`]).
    Knowledge,
}

/// The longest name of a tool an MCP server offers that Hookline passes on.
pub const MAX_MCP_TOOL_NAME_CHARS: usize = 128;
/// At most this many names in an MCP tool source's `allowedTools`.
pub const MAX_ALLOWED_TOOLS: usize = 100;

// Fields with a default are `nullable` in the schema: the checkers read `null` as "not sent",
// so `"awaitResponse": null` means the default, as leaving it out does.
/// A tool that calls an HTTP endpoint from the server side (`type: server, subtype: webhook`).
/// The same shape holds an MCP server (`subtype: mcp`: `url`, `headers`, `allowedTools`) and a
/// knowledge tool (`subtype: knowledge`: only `name`, `description`, `documentFolderIds`, `limit`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookTool {
    pub subtype: ServerSubtype,
    pub name: ToolName,
    #[schema(max_length = 1024)]
    pub description: String,
    /// Absent for a knowledge tool only.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub url: String,
    #[serde(default = "default_method")]
    #[schema(nullable)]
    pub method: HttpMethod,
    /// Header values: plain text right after parsing; masked previews wherever the definition is
    /// shown or stored (the real values are sealed beside it).
    #[serde(default)]
    #[schema(nullable)]
    pub headers: IndexMap<String, String>,
    /// Headers of `headers` whose values are not secrets (`Content-Type`, `Accept`, an API
    /// version): shown in full wherever the tool and its requests are shown. Every other header
    /// value is a secret, masked everywhere. Absent or empty: all of them are secrets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(nullable, max_items = 50)]
    pub plain_headers: Vec<String>,
    /// JSON Schema of the arguments (root `"type": "object"`).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub parameters: Option<Value>,
    /// JSON Schema of arguments that always go to the query string.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub query_parameters: Option<Value>,
    #[serde(default = "yes")]
    #[schema(nullable)]
    pub await_response: bool,
    /// 1–60 seconds.
    #[serde(default = "default_timeout")]
    #[schema(nullable, minimum = 1, maximum = 60)]
    pub timeout_seconds: u32,
    #[serde(default)]
    #[schema(nullable)]
    pub disable_interruptions: bool,
    /// `subtype: mcp` only: the MCP server's tools the persona may use (all when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_items = 100)]
    pub allowed_tools: Option<Vec<String>>,
    /// What of the answer the LLM is given, and which values later tools may use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<crate::response::ResponseShaping>,
    /// How many calls may be in flight, or start per second, across all instances.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<crate::limits::ToolLimits>,
    /// A connection of the organization whose access token is sent as `Authorization: Bearer`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_id: Option<uuid::Uuid>,
    /// `subtype: knowledge` only: the organization's knowledge folders it searches (1–20).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(max_items = 20)]
    pub document_folder_ids: Vec<uuid::Uuid>,
    /// `subtype: knowledge` only: the chunks one call returns at most (1–20, default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 20)]
    pub limit: Option<u32>,
}

impl WebhookTool {
    /// Whether this is an MCP tool source rather than one webhook.
    pub fn is_mcp(&self) -> bool {
        self.subtype == ServerSubtype::Mcp
    }

    /// Whether this is a knowledge tool rather than a webhook.
    pub fn is_knowledge(&self) -> bool {
        self.subtype == ServerSubtype::Knowledge
    }
}

fn default_method() -> HttpMethod {
    HttpMethod::Post
}

fn yes() -> bool {
    true
}

fn default_timeout() -> u32 {
    MAX_TIMEOUT_SECONDS
}

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

pub(crate) fn parse_name(f: &mut Fields) -> Option<ToolName> {
    let name = f.required_string("name")?;
    match ToolName::parse(name) {
        Ok(n) => Some(n),
        Err(message) => {
            let path = f.path("name");
            f.v.rule(path, message);
            None
        }
    }
}

pub(crate) fn parse_description(f: &mut Fields, required: bool) -> Option<String> {
    let text = if required {
        f.required_string("description")?
    } else {
        f.string("description")?
    };
    let path = f.path("description");
    if text.trim().is_empty() {
        f.v.rule(path, "must not be empty or blank");
        None
    } else if text.chars().count() > MAX_DESCRIPTION_CHARS {
        f.v.rule(
            path,
            format!("must be at most {MAX_DESCRIPTION_CHARS} characters"),
        );
        None
    } else {
        Some(text.to_owned())
    }
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
    for clash in property_names(query_parameters.as_ref()) {
        if body_props.contains(&clash) {
            let path = join(&f.path("queryParameters.properties"), clash);
            f.v.rule(
                path,
                "is also a property of parameters; names must not collide",
            );
        }
    }
    for defs in DEFINITION_KEYWORDS {
        for (name, query_def) in definitions(query_parameters.as_ref(), defs) {
            let body_def = definitions(parameters.as_ref(), defs).find(|(n, _)| *n == name);
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
    let url = f.required_string("url").and_then(|raw| {
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
    });
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

pub(crate) fn parse_headers(f: &mut Fields) -> Option<IndexMap<String, String>> {
    let Some(map) = f.object("headers") else {
        // Absent is an empty set; a wrong type was recorded by `object`.
        return f.get("headers").is_none().then(IndexMap::new);
    };
    let prefix = f.path("headers");
    let before = f.v.len();
    if map.len() > MAX_HEADERS {
        f.v.rule(&prefix, format!("must hold at most {MAX_HEADERS} headers"));
    }
    let mut out: IndexMap<String, String> = IndexMap::new();
    for (name, value) in map {
        let path = join(&prefix, name);
        let Some(value) = value.as_str() else {
            f.v.wrong_type(path, "a string");
            continue;
        };
        if name.is_empty() || !name.bytes().all(is_token_byte) {
            f.v.rule(&path, "is not a valid HTTP header name");
            continue;
        }
        let lower = name.to_ascii_lowercase();
        if FORBIDDEN_HEADERS.contains(&lower.as_str()) {
            f.v.rule(&path, "is set by Hookline itself and cannot be configured");
            continue;
        }
        if out.keys().any(|k| k.eq_ignore_ascii_case(name)) {
            f.v.rule(&path, "appears twice (header names are case-insensitive)");
            continue;
        }
        if value.chars().any(|c| c.is_control() && c != '\t') {
            f.v.rule(
                &path,
                "must not contain line breaks or other control characters",
            );
            continue;
        }
        if !value.is_ascii() {
            // Also catches a masked preview ("••••1234") sent back for a header that has no
            // stored value to stand for.
            f.v.rule(
                &path,
                "must be printable ASCII (encode other text, e.g. as base64)",
            );
            continue;
        }
        if value.len() > MAX_HEADER_VALUE_BYTES {
            f.v.rule(&path, "must be at most 8 KiB");
            continue;
        }
        out.insert(name.clone(), value.to_owned());
    }
    (f.v.len() == before).then_some(out)
}

/// `plainHeaders`: names of `headers` (spelled as there, whatever the case sent), each once.
pub(crate) fn parse_plain_headers(
    f: &mut Fields,
    headers: Option<&IndexMap<String, String>>,
) -> Option<Vec<String>> {
    let Some(value) = f.get("plainHeaders") else {
        return Some(Vec::new());
    };
    let prefix = f.path("plainHeaders");
    let Some(items) = value.as_array() else {
        f.v.wrong_type(prefix, "an array of header names");
        return None;
    };
    let before = f.v.len();
    let mut out: Vec<String> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let path = format!("{prefix}[{i}]");
        let Some(name) = item.as_str() else {
            f.v.wrong_type(path, "a header name");
            continue;
        };
        // Headers that did not parse were reported there; nothing more to say about them here.
        let Some(headers) = headers else { continue };
        match headers.keys().find(|k| k.eq_ignore_ascii_case(name)) {
            None => f.v.rule(path, format!("\"{name}\" is not one of headers")),
            Some(known) if out.contains(known) => f.v.rule(path, "appears twice"),
            Some(known) => out.push(known.clone()),
        }
    }
    (f.v.len() == before).then_some(out)
}

/// RFC 9110 `tchar`: what an HTTP header name may be made of.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
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
