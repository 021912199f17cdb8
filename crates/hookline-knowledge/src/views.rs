//! What the knowledge routes answer: one type per shape, serialized as it goes on the wire and
//! described in the OpenAPI document by the same derive. The engine hands a knowledge tool's
//! LLM the same [`SearchResults`].

use chrono::{DateTime, Utc};
use hookline_core::repo::knowledge::chunks::Found;
use hookline_core::repo::knowledge::documents::{DocumentStatus, StoredDocument};
use hookline_core::repo::knowledge::folders::StoredFolder;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// A knowledge folder.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FolderView {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    /// How many documents it holds, in any status.
    #[schema(minimum = 0)]
    pub document_count: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&StoredFolder> for FolderView {
    fn from(f: &StoredFolder) -> Self {
        Self {
            id: f.id,
            name: f.name.clone(),
            description: f.description.clone(),
            document_count: f.document_count,
            created_at: f.created_at,
            updated_at: f.updated_at,
        }
    }
}

/// A document: `processing` until it is `ready` (with `chunkCount`) or `failed` (with `error`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DocumentView {
    pub id: Uuid,
    pub folder_id: Uuid,
    pub filename: String,
    pub content_type: String,
    /// Bytes.
    #[schema(minimum = 0)]
    pub size: i64,
    pub status: DocumentStatus,
    /// How many chunks a ready document was cut into.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0)]
    pub chunk_count: Option<i32>,
    /// What could not be read, for a failed document.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Why its chunks could not be embedded the last time it was tried (it is tried again
    /// later; the document stays `ready` and searchable by words meanwhile).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embedding_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&StoredDocument> for DocumentView {
    fn from(d: &StoredDocument) -> Self {
        Self {
            id: d.id,
            folder_id: d.folder_id,
            filename: d.filename.clone(),
            content_type: d.content_type.clone(),
            size: d.size,
            status: d.status,
            chunk_count: d.chunk_count,
            error: d.error.clone(),
            embedding_error: d.embedding_error.clone(),
            created_at: d.created_at,
            updated_at: d.updated_at,
        }
    }
}

/// The documents an upload stored: one for a raw body or a form with one file, every one (in
/// the form's order) for a form with several.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum UploadedView {
    One(DocumentView),
    Several(Vec<DocumentView>),
}

/// Where in its document a chunk came from; only what applies to the document's type is set.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChunkSource {
    /// The page, from 1 (PDF).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<i32>,
    /// The heading path above the chunk, `Setup > Ports` (Markdown, DOCX).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heading: Option<String>,
    /// The data row, from 1 (CSV).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<i32>,
    /// The line, from 1 (log).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<i32>,
}

/// A chunk a search found.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchResult {
    pub document_id: Uuid,
    pub filename: String,
    pub folder_id: Uuid,
    pub content: String,
    /// Relevance; higher is better, comparable within one search only. A lexical ranking's
    /// score is Postgres' `ts_rank` (of all the words plus of any of them); a hybrid ranking's is
    /// the reciprocal rank fusion of the two rankings, the sum of 1 / (60 + rank) over the
    /// rankings that found the chunk (at most 2/61, about 0.0328).
    pub score: f32,
    pub source: ChunkSource,
}

impl From<Found> for SearchResult {
    fn from(f: Found) -> Self {
        Self {
            document_id: f.document_id,
            filename: f.filename,
            folder_id: f.folder_id,
            content: f.content,
            score: f.score,
            source: ChunkSource {
                page: f.page,
                heading: f.heading,
                row: f.row,
                line: f.line,
            },
        }
    }
}

/// How a search ranked its results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Ranking {
    /// Postgres full-text search alone: the organization has no embedding model, no vectors
    /// yet, or its model could not embed the query (then `notice` says why).
    Lexical,
    /// The full-text ranking and the embedding model's (cosine similarity) fused.
    Hybrid,
}

/// A search's results, best first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SearchResults {
    pub results: Vec<SearchResult>,
    pub ranking: Ranking,
    /// Why a search that would have been hybrid ranked lexically (the embedding model failed),
    /// or that its semantic ranking compared only part of the folders' vectors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
}
