//! What `POST /v1/tools/import` reads and answers: one type per wire shape.

use hookline_schema::{FieldError, ToolDefinition};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::views::ToolView;

/// An OpenAPI document to turn into webhook tools.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportInput {
    /// The OpenAPI 3.0 or 3.1 document: its JSON or YAML text (or the JSON object itself).
    /// Only local `$ref`s are read; nothing is fetched.
    #[schema(value_type = String)]
    pub openapi: serde_json::Value,
    /// The operationIds to import (all when absent).
    pub operations: Option<Vec<String>>,
    /// Headers every draft gets (sealed like any tool's), e.g. an API key.
    #[schema(value_type = Option<Object>)]
    pub headers: Option<serde_json::Value>,
    /// Names of `headers` that are not secrets (shown in full).
    pub plain_headers: Option<Vec<String>>,
    /// A connection every draft authenticates with (`connectionId` of each tool).
    pub connection_id: Option<Uuid>,
    /// Used instead of the document's `servers[0].url` (needed when that one is relative).
    pub base_url: Option<String>,
}

/// What became of one operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImportStatus {
    /// Stored as a tool (`tool`).
    Created,
    /// A dry run's valid draft (`draft`): importing would create it.
    Valid,
    /// Not imported; `errors` say why.
    Refused,
}

/// One operation of the document and its draft.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportedOperation {
    pub operation_id: Option<String>,
    /// GET, POST...
    pub method: String,
    pub path: String,
    /// The tool name the draft has.
    pub name: Option<String>,
    pub status: ImportStatus,
    /// The stored tool (`created`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool: Option<ToolView>,
    /// The draft as it would be created (`valid`; header values masked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub draft: Option<ToolDefinition>,
    /// Why it was refused, each problem by its field in the draft (or in the document).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// What of the operation a tool cannot carry (header or cookie parameters, a body on GET).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// The report of an import: every operation read, in the document's order.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportView {
    pub dry_run: bool,
    /// Tools stored (0 in a dry run).
    pub created: usize,
    /// Valid drafts (in a dry run: what importing would create).
    pub valid: usize,
    pub refused: usize,
    pub operations: Vec<ImportedOperation>,
}
