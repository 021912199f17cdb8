//! What the registry's routes answer and take: one type per shape, serialized as it goes on the
//! wire and described in the OpenAPI document by the same derive.

use chrono::{DateTime, Utc};
use hookline_core::repo::api_keys::ApiKey;
use hookline_core::repo::llms::StoredLlm;
use hookline_core::repo::personas::{Persona, PersonaTool};
use hookline_core::repo::tools::StoredTool;
use hookline_schema::{PersonaDetails, ToolDefinition};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// A stored tool: id first, every definition field (header values masked), then its
/// timestamps and how many personas use it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ToolView {
    pub id: Uuid,
    #[serde(flatten)]
    pub definition: ToolDefinition,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// How many personas use the tool.
    #[schema(minimum = 0)]
    pub usage_count: i64,
}

impl From<&StoredTool> for ToolView {
    fn from(tool: &StoredTool) -> Self {
        Self {
            id: tool.id,
            definition: tool.tool.definition.clone(),
            created_at: tool.created_at,
            updated_at: tool.updated_at,
            usage_count: tool.usage_count,
        }
    }
}

/// A persona with its tools, in the order it lists them.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PersonaView {
    pub id: Uuid,
    pub name: String,
    #[serde(flatten)]
    #[schema(inline)]
    pub details: PersonaDetails,
    pub tool_ids: Vec<Uuid>,
    pub tools: Vec<PersonaToolView>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl PersonaView {
    /// The persona `p`, with those of `tools` that belong to it.
    pub fn new(p: &Persona, tools: &[PersonaTool]) -> Self {
        let mine: Vec<&PersonaTool> = tools.iter().filter(|t| t.persona_id == p.id).collect();
        Self {
            id: p.id,
            name: p.name.clone(),
            details: p.details(),
            tool_ids: mine.iter().map(|t| t.id).collect(),
            tools: mine
                .iter()
                .map(|t| PersonaToolView {
                    id: t.id,
                    name: t.name.clone(),
                    tool_type: t.tool_type.clone(),
                    subtype: t.subtype.clone(),
                })
                .collect(),
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

/// A tool as a persona lists it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PersonaToolView {
    pub id: Uuid,
    pub name: String,
    #[serde(rename = "type")]
    #[schema(pattern = "^(server|client|system)$")]
    pub tool_type: String,
    pub subtype: Option<String>,
}

/// An API key, without the key itself.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyView {
    pub id: Uuid,
    pub name: String,
    /// The first characters of the key, to tell keys apart.
    pub key_prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

impl From<&ApiKey> for ApiKeyView {
    fn from(k: &ApiKey) -> Self {
        Self {
            id: k.id,
            name: k.name.clone(),
            key_prefix: k.key_prefix.clone(),
            created_at: k.created_at,
            last_used_at: k.last_used_at,
        }
    }
}

/// A key just created: the only answer that holds the key itself.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewApiKeyView {
    pub id: Uuid,
    pub name: String,
    /// `hk_…`: send it as `Authorization: Bearer <key>`. Shown this once.
    pub key: String,
    pub key_prefix: String,
    pub created_at: DateTime<Utc>,
}

/// An LLM connection as the API shows it: the key as its masked preview (or null), never in full.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LlmView {
    pub id: Uuid,
    pub name: String,
    /// `chat` (what personas talk through) or `embedding` (what knowledge search embeds with).
    pub kind: String,
    pub provider: String,
    pub base_url: String,
    pub model: String,
    /// `"••••"` and the last 4 characters (keys of 12 characters or more), or null for none.
    pub api_key: Option<String>,
    pub temperature: Option<f64>,
    pub max_tokens: Option<i64>,
    pub timeout_seconds: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// How many personas use it.
    pub usage_count: i64,
}

impl LlmView {
    /// The stored LLM `llm`, its key shown as `key_preview`.
    pub fn new(llm: &StoredLlm, key_preview: Option<String>) -> Self {
        Self {
            id: llm.id,
            name: llm.name.clone(),
            kind: llm.kind.clone(),
            provider: llm.provider.clone(),
            base_url: llm.base_url.clone(),
            model: llm.model.clone(),
            api_key: key_preview,
            temperature: llm.temperature,
            max_tokens: llm.max_tokens.map(i64::from),
            timeout_seconds: i64::from(llm.timeout_seconds),
            created_at: llm.created_at,
            updated_at: llm.updated_at,
            usage_count: llm.usage_count,
        }
    }
}
