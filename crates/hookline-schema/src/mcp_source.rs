//! An MCP server as a tool source (`type: server, subtype: mcp`): its definition's rules, and
//! how the tools it lists are named for the LLM (`<name>__<tool>`).
//!
//! It is stored as a [`WebhookTool`] whose subtype is `mcp`: it shares a webhook's `url` rules
//! and its sealed `headers` (masked, resealed, refused on a move to another origin, exactly as a
//! webhook's, `plainHeaders` included), and only `name`, `description`, `url`, `headers`,
//! `plainHeaders` and `allowedTools` are accepted.

use crate::destination::DestinationPolicy;
use crate::endpoint::check_url;
use crate::fields::Fields;
use crate::server_tool::{
    parse_description, parse_headers, parse_name, parse_plain_headers, HttpMethod, ServerSubtype,
    WebhookTool, MAX_ALLOWED_TOOLS, MAX_MCP_TOOL_NAME_CHARS, MAX_TIMEOUT_SECONDS,
};

/// Between a source's name and its tool's in the name the LLM sees. A Hookline tool name is
/// snake_case and never holds two underscores in a row, so the first `__` splits it back.
pub const SEPARATOR: &str = "__";
/// The longest function name the LLM APIs accept (OpenAI's limit, the tightest).
pub const MAX_LLM_NAME_CHARS: usize = 64;

/// The name the LLM calls a source's tool by, if it is one an LLM API accepts.
pub fn llm_name(source: &str, tool: &str) -> Option<String> {
    let name = format!("{source}{SEPARATOR}{tool}");
    (valid_remote_name(tool) && name.len() <= MAX_LLM_NAME_CHARS).then_some(name)
}

/// `(source, tool)` of a name the LLM called, when it names a source's tool.
pub fn split(name: &str) -> Option<(&str, &str)> {
    name.split_once(SEPARATOR)
        .filter(|(source, tool)| !source.is_empty() && !tool.is_empty())
}

/// What an MCP tool name may hold and an LLM API accepts in a function name.
pub fn valid_remote_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_MCP_TOOL_NAME_CHARS
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Whether the source lets the LLM use `tool`.
pub fn allowed(source: &WebhookTool, tool: &str) -> bool {
    source
        .allowed_tools
        .as_ref()
        .is_none_or(|names| names.iter().any(|n| n == tool))
}

pub(crate) fn parse(f: &mut Fields, policy: &DestinationPolicy) -> Option<WebhookTool> {
    let name = parse_name(f);
    let description = parse_description(f, true);
    let url = f.required_string("url").and_then(|raw| {
        let path = f.path("url");
        match check_url(raw, policy) {
            Ok(templates) if templates.is_empty() => Some(raw.to_owned()),
            Ok(_) => {
                f.v.rule(path, "an MCP server's URL holds no {templates}");
                None
            }
            Err(message) => {
                f.v.rule(path, message);
                None
            }
        }
    });
    let headers = parse_headers(f);
    let plain_headers = parse_plain_headers(f, headers.as_ref());
    let allowed_tools = parse_allowed(f);
    Some(WebhookTool {
        subtype: ServerSubtype::Mcp,
        name: name?,
        description: description?,
        url: url?,
        method: HttpMethod::Post,
        headers: headers?,
        plain_headers: plain_headers?,
        parameters: None,
        query_parameters: None,
        await_response: true,
        timeout_seconds: MAX_TIMEOUT_SECONDS,
        disable_interruptions: false,
        allowed_tools: allowed_tools?,
        response: None,
        limits: None,
        connection_id: None,
        document_folder_ids: Vec::new(),
        limit: None,
    })
}

/// `allowedTools`: absent (every tool), or 1 to 100 distinct tool names.
fn parse_allowed(f: &mut Fields) -> Option<Option<Vec<String>>> {
    let Some(value) = f.get("allowedTools") else {
        return Some(None);
    };
    let path = f.path("allowedTools");
    let Some(items) = value.as_array() else {
        f.v.wrong_type(path, "an array of tool names");
        return None;
    };
    let before = f.v.len();
    if items.is_empty() || items.len() > MAX_ALLOWED_TOOLS {
        f.v.rule(
            &path,
            format!("must list 1 to {MAX_ALLOWED_TOOLS} tool names (leave it out to allow all)"),
        );
    }
    let mut names: Vec<String> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let at = format!("{path}[{i}]");
        match item.as_str() {
            None => f.v.wrong_type(at, "a string"),
            Some(n) if !valid_remote_name(n) => f.v.rule(
                at,
                "must be 1 to 128 letters, digits, '_' or '-' (a name an LLM can call)",
            ),
            Some(n) if names.iter().any(|m| m == n) => f.v.rule(at, "is listed twice"),
            Some(n) => names.push(n.to_owned()),
        }
    }
    (f.v.len() == before).then_some(Some(names))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_tool_name_splits_back_into_source_and_tool() {
        let name = llm_name("orders", "look_up-v2").unwrap();
        assert_eq!(name, "orders__look_up-v2");
        assert_eq!(split(&name), Some(("orders", "look_up-v2")));
        assert_eq!(split("check_order"), None);
        assert_eq!(llm_name("orders", "has space"), None);
        assert_eq!(llm_name("orders", &"x".repeat(60)), None);
    }
}
