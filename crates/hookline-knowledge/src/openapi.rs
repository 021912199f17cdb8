//! The knowledge API's part of the OpenAPI document.

use hookline_core::http::{ListMeta, ListPage, ProblemDocument};
use hookline_core::repo::knowledge::documents::DocumentStatus;
use utoipa::OpenApi;

use crate::requests::{FolderInput, FolderPatch, SearchRequest, UploadFile, UploadForm};
use crate::views::{
    ChunkSource, DocumentView, FolderView, Ranking, SearchResult, SearchResults, UploadedView,
};

#[derive(OpenApi)]
#[openapi(
    paths(
        crate::routes::folders::create, crate::routes::folders::list, crate::routes::folders::read,
        crate::routes::folders::update, crate::routes::folders::delete,
        crate::routes::documents::upload, crate::routes::documents::list,
        crate::routes::documents::read, crate::routes::documents::delete,
        crate::routes::search::search,
    ),
    components(schemas(
        FolderInput, FolderPatch, FolderView, ListPage<FolderView>, DocumentView, DocumentStatus,
        ListPage<DocumentView>, UploadedView, SearchRequest, SearchResults, SearchResult,
        Ranking, ChunkSource, ListMeta, ProblemDocument, UploadForm, UploadFile,
    )),
    tags((name = "knowledge", description = "Folders of documents knowledge tools search")),
)]
pub struct KnowledgeApi;
