//! Documents: uploads stored in `processing` (the work itself happens in
//! [`crate::processing`]), listed, read, deleted.

use hookline_core::http::{CoreState, ListPage, Pagination};
use hookline_core::ids::{DocumentId, FolderId};
use hookline_core::repo::knowledge::documents::{self, NewDocument};
use hookline_core::repo::knowledge::folders;
use uuid::Uuid;

use super::KnowledgeError;
use crate::file_type::FileType;
use crate::views::DocumentView;

/// The largest file a document may be (the contract's 50 MiB).
pub const MAX_FILE_BYTES: usize = 50 * 1024 * 1024;
/// The longest file name kept, in characters.
pub const MAX_FILENAME_CHARS: usize = 255;

/// A file as it arrived, before it is checked.
pub struct UploadedFile {
    pub filename: String,
    pub content: Vec<u8>,
}

fn unsupported(filename: &str, why: &'static str) -> KnowledgeError {
    KnowledgeError::Unsupported {
        filename: filename.to_owned(),
        why,
    }
}

/// The name a file is kept under: its last path part (browsers may send a whole path), checked
/// for length and control characters; `field` names it in a problem.
pub fn clean_filename(raw: &str, field: &str) -> Result<String, KnowledgeError> {
    let name = raw.rsplit(['/', '\\']).next().unwrap_or_default().trim();
    if name.is_empty() {
        return Err(KnowledgeError::field(
            field,
            "must name the file (e.g. guide.md)",
        ));
    }
    if name.chars().count() > MAX_FILENAME_CHARS {
        return Err(KnowledgeError::field(
            field,
            format!("must be at most {MAX_FILENAME_CHARS} characters"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(KnowledgeError::field(
            field,
            "must not contain control characters",
        ));
    }
    Ok(name.to_owned())
}

/// The type of a file, or the 415 naming it.
fn file_type(file: &UploadedFile) -> Result<FileType, KnowledgeError> {
    let kind = FileType::of_filename(&file.filename)
        .ok_or_else(|| unsupported(&file.filename, "is not a supported type of document"))?;
    if !kind.matches(&file.content) {
        return Err(unsupported(
            &file.filename,
            "does not hold what its extension says",
        ));
    }
    Ok(kind)
}

/// Stores the files as documents of the folder, all or none, each in `processing`, and wakes
/// this process's workers. Refused whole when any file is unsupported (415) or too large (413),
/// or when they would take the organization past its storage quota (413).
pub async fn upload(
    state: &CoreState,
    org_id: Uuid,
    folder_id: FolderId,
    files: Vec<UploadedFile>,
) -> Result<Vec<DocumentView>, KnowledgeError> {
    let mut kinds = Vec::with_capacity(files.len());
    let mut total: u64 = 0;
    for file in &files {
        if file.content.len() > MAX_FILE_BYTES {
            return Err(KnowledgeError::FileTooLarge(file.filename.clone()));
        }
        kinds.push(file_type(file)?);
        total += file.content.len() as u64;
    }
    let mut tx = state.pool.begin().await?;
    if !folders::lock(&mut tx, org_id, folder_id.0).await? {
        return Err(KnowledgeError::NotFound("knowledge folder"));
    }
    let used = documents::lock_storage_used(&mut tx, org_id).await?;
    let quota = state.settings.knowledge.storage_bytes;
    if u64::try_from(used).unwrap_or(0) + total > quota {
        return Err(KnowledgeError::OverQuota {
            would_use: u64::try_from(used).unwrap_or(0) + total,
            quota,
        });
    }
    let mut stored = Vec::with_capacity(files.len());
    for (file, kind) in files.iter().zip(kinds) {
        let doc = NewDocument {
            id: Uuid::now_v7(),
            folder_id: folder_id.0,
            filename: &file.filename,
            content_type: kind.content_type(),
            content: &file.content,
        };
        stored.push(DocumentView::from(
            &documents::insert(&mut tx, org_id, &doc).await?,
        ));
    }
    tx.commit().await?;
    tracing::info!(folder_id = %folder_id, files = stored.len(), bytes = total, "documents uploaded");
    crate::processing::wake();
    Ok(stored)
}

/// One page of a folder's documents, oldest first.
pub async fn list(
    state: &CoreState,
    org_id: Uuid,
    folder_id: FolderId,
    page: Pagination,
) -> Result<ListPage<DocumentView>, KnowledgeError> {
    let mut conn = state.pool.acquire().await?;
    if folders::get(&mut *conn, org_id, folder_id.0)
        .await?
        .is_none()
    {
        return Err(KnowledgeError::NotFound("knowledge folder"));
    }
    let (found, total) = documents::list(&mut conn, org_id, folder_id.0, page).await?;
    let data = found.iter().map(DocumentView::from).collect();
    Ok(ListPage::new(data, total, page))
}

pub async fn get(
    state: &CoreState,
    org_id: Uuid,
    id: DocumentId,
) -> Result<DocumentView, KnowledgeError> {
    let doc = documents::get(&state.pool, org_id, id.0)
        .await?
        .ok_or_else(|| KnowledgeError::NotFound("document"))?;
    Ok(DocumentView::from(&doc))
}

/// Deletes a document with its chunks; one still processing stops being worked on (its
/// worker's fenced finish finds no row).
pub async fn delete(state: &CoreState, org_id: Uuid, id: DocumentId) -> Result<(), KnowledgeError> {
    if !documents::delete(&state.pool, org_id, id.0).await? {
        return Err(KnowledgeError::NotFound("document"));
    }
    tracing::info!(document_id = %id, "document deleted");
    Ok(())
}
