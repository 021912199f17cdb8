//! What a session runs on: the persona and its tools as they were when the session token was
//! issued. Later edits to stored tools do not reach a session; header values stay sealed in it.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::sealed_tool::SealedTool;

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PersonaSnapshot {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub system_prompt: Option<String>,
    #[serde(default)]
    pub llm_id: Option<String>,
    #[serde(default)]
    pub language_code: Option<String>,
    #[serde(default)]
    pub avatar_id: Option<String>,
    #[serde(default)]
    pub voice_id: Option<String>,
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
    pub fn public_view(&self) -> Value {
        let d = &self.tool.definition;
        json!({
            "name": d.name(),
            "type": d.tool_type(),
            "subtype": d.subtype(),
            "description": d.description(),
            "parameters": d.llm_parameters(),
        })
    }
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
}

impl SessionConfig {
    pub fn tool(&self, name: &str) -> Option<&SnapshotTool> {
        self.tools.iter().find(|t| t.tool.definition.name() == name)
    }
}
