//! A tool as each LLM API expects it to be declared.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::definition::ToolDefinition;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    #[default]
    Openai,
    Anthropic,
    Mcp,
}

impl ExportFormat {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "openai" => Some(Self::Openai),
            "anthropic" => Some(Self::Anthropic),
            "mcp" => Some(Self::Mcp),
            _ => None,
        }
    }
}

/// The declaration of `tool` in `format`, with path, query and body parameters merged into one
/// schema.
pub fn export(tool: &ToolDefinition, format: ExportFormat) -> Value {
    let name = tool.name();
    let description = tool.description();
    let parameters = tool.llm_parameters();
    match format {
        ExportFormat::Openai => json!({
            "type": "function",
            "function": {"name": name, "description": description, "parameters": parameters}
        }),
        ExportFormat::Anthropic => {
            json!({"name": name, "description": description, "input_schema": parameters})
        }
        ExportFormat::Mcp => {
            json!({"name": name, "description": description, "inputSchema": parameters})
        }
    }
}
