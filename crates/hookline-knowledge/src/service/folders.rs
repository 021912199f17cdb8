//! Knowledge folders: create, list, read, rename, delete (refused while knowledge tools use the
//! folder, unless forced).

use hookline_core::http::{CoreState, ListPage, ListParams};
use hookline_core::ids::FolderId;
use hookline_core::refusals::{InUse, NameTaken};
use hookline_core::repo::knowledge::folders::{self, NAME_CONSTRAINT};
use hookline_core::StoreError;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::KnowledgeError;
use crate::requests::FolderInput;
use crate::views::FolderView;

fn store_error(e: StoreError, name: &str) -> KnowledgeError {
    match e {
        StoreError::Conflict { constraint } if constraint == NAME_CONSTRAINT => {
            NameTaken::in_organization("a knowledge folder", "folder", name).into()
        }
        other => other.into(),
    }
}

pub async fn create(
    state: &CoreState,
    org_id: Uuid,
    input: FolderInput,
) -> Result<FolderView, KnowledgeError> {
    let id = Uuid::now_v7();
    let stored = folders::insert(
        &state.pool,
        org_id,
        id,
        &input.name,
        input.description.as_deref(),
    )
    .await
    .map_err(|e| store_error(e, &input.name))?;
    tracing::info!(folder_id = %id, "knowledge folder created");
    Ok(FolderView::from(&stored))
}

/// One page of the organization's folders, oldest first.
pub async fn list(
    state: &CoreState,
    org_id: Uuid,
    params: &ListParams,
) -> Result<ListPage<FolderView>, KnowledgeError> {
    let mut conn = state.pool.acquire().await?;
    let (found, total) =
        folders::list(&mut conn, org_id, params.search.as_deref(), params.page).await?;
    let data = found.iter().map(FolderView::from).collect();
    Ok(ListPage::new(data, total, params.page))
}

pub async fn get(
    state: &CoreState,
    org_id: Uuid,
    id: FolderId,
) -> Result<FolderView, KnowledgeError> {
    let folder = folders::get(&state.pool, org_id, id.0)
        .await?
        .ok_or_else(|| KnowledgeError::NotFound("knowledge folder"))?;
    Ok(FolderView::from(&folder))
}

/// A partial update (JSON Merge Patch meaning, as everywhere).
pub async fn update(
    state: &CoreState,
    org_id: Uuid,
    id: FolderId,
    patch: Map<String, Value>,
) -> Result<FolderView, KnowledgeError> {
    let mut tx = state.pool.begin().await?;
    if !folders::lock(&mut tx, org_id, id.0).await? {
        return Err(KnowledgeError::NotFound("knowledge folder"));
    }
    let current = folders::get(&mut *tx, org_id, id.0)
        .await?
        .ok_or_else(|| KnowledgeError::NotFound("knowledge folder"))?;
    let input = FolderInput {
        name: current.name,
        description: current.description,
    }
    .merged(patch)
    .map_err(KnowledgeError::Invalid)?;
    let stored = folders::update(
        &mut *tx,
        org_id,
        id.0,
        &input.name,
        input.description.as_deref(),
    )
    .await
    .map_err(|e| store_error(e, &input.name))?;
    tx.commit().await?;
    Ok(FolderView::from(&stored))
}

/// Deletes a folder with its documents and their chunks. One that knowledge tools search is a
/// 409 listing them as `tools`, unless `force` (the tools then find nothing in it).
pub async fn delete(
    state: &CoreState,
    org_id: Uuid,
    id: FolderId,
    force: bool,
) -> Result<(), KnowledgeError> {
    let mut tx = state.pool.begin().await?;
    if !folders::lock(&mut tx, org_id, id.0).await? {
        return Err(KnowledgeError::NotFound("knowledge folder"));
    }
    let users = folders::tools_using(&mut *tx, org_id, id.0).await?;
    if !users.is_empty() && !force {
        return Err(InUse {
            what: "the folder",
            users,
            noun: "knowledge tool",
            key: "tools",
            instead: "change their documentFolderIds first",
        }
        .into());
    }
    folders::delete(&mut *tx, org_id, id.0).await?;
    tx.commit().await?;
    tracing::info!(folder_id = %id, tools = users.len(), "knowledge folder deleted");
    Ok(())
}
