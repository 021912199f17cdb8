//! The server tools' shared shape: [`WebhookTool`], the one struct a webhook, an MCP tool
//! source and a knowledge tool are stored in (told apart by [`ServerSubtype`]), the bounds they
//! share, and the parsers of the fields every subtype has (name, description, headers). Its own
//! module so that the subtypes' parsers (`mcp_source.rs`, `knowledge_tool.rs`) and the
//! definition that dispatches to them (`definition.rs`) import it, not each other.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::fields::Fields;
use crate::name::ToolName;
use crate::violations::join;

pub const MAX_DESCRIPTION_CHARS: usize = 1024;

pub const MAX_HEADERS: usize = 50;

pub const MAX_HEADER_VALUE_BYTES: usize = 8 * 1024;

pub const MAX_TIMEOUT_SECONDS: u32 = 60;

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
