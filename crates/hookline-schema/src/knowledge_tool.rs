//! A knowledge tool (`type: server, subtype: knowledge`): the LLM asks a `query`, Hookline
//! searches the organization's knowledge folders the tool names and answers with the best chunks.
//!
//! It is stored as a [`WebhookTool`] whose subtype is `knowledge`, as an MCP source is: only
//! `name`, `description`, `documentFolderIds` and `limit` are accepted, and it is shown with those
//! alone (see [`serialize_server`]). Whether the folders are the organization's is checked where
//! the database is at hand (a tool's create and update, a session's start), not here.

use serde::{Serialize, Serializer};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::fields::Fields;
use crate::name::ToolName;
use crate::server_tool::{
    parse_description, parse_name, HttpMethod, ServerSubtype, WebhookTool, MAX_TIMEOUT_SECONDS,
};

/// Folders one knowledge tool may search.
pub const MAX_FOLDERS: usize = 20;
/// The most chunks one call may return, and how many when the tool does not say.
pub const MAX_LIMIT: u32 = 20;
pub const DEFAULT_LIMIT: u32 = 5;
/// The longest query the LLM may send (the search's own bound).
pub const MAX_QUERY_CHARS: u32 = 1000;

/// The one parameter the LLM fills.
pub fn parameters() -> Value {
    json!({
        "type": "object",
        "properties": {
            "query": {
                "type": "string",
                "minLength": 1,
                "maxLength": MAX_QUERY_CHARS,
                "description": "What to look for in the documents: a question or its key words"
            }
        },
        "required": ["query"]
    })
}

/// The chunks a call of `tool` returns.
pub fn limit(tool: &WebhookTool) -> u32 {
    tool.limit.unwrap_or(DEFAULT_LIMIT)
}

pub(crate) fn parse(f: &mut Fields) -> Option<WebhookTool> {
    let name = parse_name(f);
    let description = parse_description(f, true);
    let folders = parse_folders(f);
    let limit = f
        .integer_in("limit", 1..=i64::from(MAX_LIMIT))
        .map(|n| n as u32);
    Some(WebhookTool {
        subtype: ServerSubtype::Knowledge,
        name: name?,
        description: description?,
        url: String::new(),
        method: HttpMethod::Post,
        headers: Default::default(),
        plain_headers: Vec::new(),
        parameters: None,
        query_parameters: None,
        await_response: true,
        timeout_seconds: MAX_TIMEOUT_SECONDS,
        disable_interruptions: false,
        allowed_tools: None,
        response: None,
        limits: None,
        connection_id: None,
        document_folder_ids: folders?,
        limit,
    })
}

/// `documentFolderIds`: 1 to 20 distinct folder ids.
fn parse_folders(f: &mut Fields) -> Option<Vec<Uuid>> {
    let value = f.required("documentFolderIds")?;
    let path = f.path("documentFolderIds");
    let Some(items) = value.as_array() else {
        f.v.wrong_type(path, "an array of knowledge folder ids");
        return None;
    };
    let before = f.v.len();
    if items.is_empty() || items.len() > MAX_FOLDERS {
        f.v.rule(&path, format!("must list 1 to {MAX_FOLDERS} folder ids"));
    }
    let mut ids: Vec<Uuid> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let at = format!("{path}[{i}]");
        match item.as_str().map(Uuid::parse_str) {
            None => f.v.wrong_type(at, "a folder id (a UUID string)"),
            Some(Err(_)) => f.v.rule(at, "is not a folder of your organization"),
            Some(Ok(id)) if ids.contains(&id) => f.v.rule(at, "is listed twice"),
            Some(Ok(id)) => ids.push(id),
        }
    }
    (f.v.len() == before).then_some(ids)
}

/// The fields a knowledge tool is shown (and stored) with.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Shown<'a> {
    subtype: ServerSubtype,
    name: &'a ToolName,
    description: &'a str,
    document_folder_ids: &'a [Uuid],
    #[serde(skip_serializing_if = "Option::is_none")]
    limit: Option<u32>,
}

/// A server tool as JSON: a knowledge tool with its own fields only (none of a webhook's, which
/// would mean nothing for it); the others as they are.
pub(crate) fn serialize_server<S: Serializer>(tool: &WebhookTool, s: S) -> Result<S::Ok, S::Error> {
    if tool.subtype != ServerSubtype::Knowledge {
        return tool.serialize(s);
    }
    Shown {
        subtype: tool.subtype,
        name: &tool.name,
        description: &tool.description,
        document_folder_ids: &tool.document_folder_ids,
        limit: tool.limit,
    }
    .serialize(s)
}
