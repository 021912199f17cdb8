//! What a session runs on: the persona and its tools as they were when the session token was
//! issued. Later edits to stored tools do not reach a session (but an MCP session's, retaken when
//! its client lists them again: `hookline_sessions::follow_persona`); header values stay sealed
//! in it.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use hookline_schema::{PersonaDetails, ToolType};

use crate::sealed_tool::SealedTool;

/// The persona a session runs as: an ephemeral one may have no name.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PersonaSnapshot {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(flatten)]
    pub details: PersonaDetails,
}

/// One tool of a session: a stored tool (with the id and version it was copied from) or an
/// inline one of an ephemeral persona.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotTool {
    #[serde(default)]
    pub tool_id: Option<Uuid>,
    #[serde(default)]
    pub version: Option<i32>,
    #[serde(flatten)]
    pub tool: SealedTool,
}

impl SnapshotTool {
    /// What a browser may see of the tool: never its URL or headers.
    pub fn public_view(&self) -> PublicToolView {
        let d = &self.tool.definition;
        PublicToolView {
            name: d.name().to_owned(),
            tool_type: d.tool_type(),
            subtype: d.subtype(),
            description: d.description().to_owned(),
            parameters: d.llm_parameters(),
        }
    }
}

/// A session's tool as its readers see it: no URL, no headers.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PublicToolView {
    pub name: String,
    #[serde(rename = "type")]
    pub tool_type: ToolType,
    #[schema(value_type = Option<String>)]
    pub subtype: Option<&'static str>,
    pub description: String,
    /// The JSON Schema the LLM fills (path, query and body parameters merged).
    #[schema(value_type = Object)]
    pub parameters: Value,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionConfig {
    #[serde(default)]
    pub persona_id: Option<Uuid>,
    #[serde(default)]
    pub persona: PersonaSnapshot,
    #[serde(default)]
    pub tools: Vec<SnapshotTool>,
    /// The session token's `personaConfig.variables`: name → value sealed by the secret box.
    #[serde(default, skip_serializing_if = "indexmap::IndexMap::is_empty")]
    pub variables: indexmap::IndexMap<String, String>,
}

impl SessionConfig {
    pub fn tool(&self, name: &str) -> Option<&SnapshotTool> {
        self.tools.iter().find(|t| t.tool.definition.name() == name)
    }
}
