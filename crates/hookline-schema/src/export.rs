//! A tool as each LLM API expects it to be declared: `openai` for Chat Completions (the
//! function nested under `function`), `openai-responses` for the Responses API (flat), `anthropic`
//! for the Messages API, `mcp` for an MCP `tools/list` answer.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::definition::ToolDefinition;

/// The LLM API a session's tools are declared for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    #[default]
    Openai,
    #[serde(rename = "openai-responses")]
    OpenaiResponses,
    Anthropic,
    Mcp,
}

impl ExportFormat {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "openai" => Some(Self::Openai),
            "openai-responses" => Some(Self::OpenaiResponses),
            "anthropic" => Some(Self::Anthropic),
            "mcp" => Some(Self::Mcp),
            _ => None,
        }
    }
}

/// The declaration of `tool` in `format`, with path, query and body parameters merged into one
/// schema.
pub fn export(tool: &ToolDefinition, format: ExportFormat) -> Value {
    declare(
        tool.name(),
        tool.description(),
        tool.llm_parameters(),
        format,
    )
}

/// A tool declared in `format` from its parts (an MCP server's tools are not definitions of ours).
pub fn declare(name: &str, description: &str, parameters: Value, format: ExportFormat) -> Value {
    match format {
        ExportFormat::Openai => json!({
            "type": "function",
            "function": {"name": name, "description": description, "parameters": parameters}
        }),
        ExportFormat::OpenaiResponses => json!({
            "type": "function", "name": name, "description": description, "parameters": parameters
        }),
        ExportFormat::Anthropic => {
            json!({"name": name, "description": description, "input_schema": parameters})
        }
        ExportFormat::Mcp => {
            json!({"name": name, "description": description, "inputSchema": parameters})
        }
    }
}
