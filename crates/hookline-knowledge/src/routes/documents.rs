//! `/v1/knowledge/folders/{id}/documents` and `/v1/knowledge/documents/{id}`.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::Extension;
use axum::Json;
use hookline_core::http::problem::responses::{
    BadRequest, ByIdErrors, Invalid, ListInErrors, NotFound, Unauthorized, Unavailable,
};
use hookline_core::http::{
    ApiError, Caller, CoreState, InPath, ListPage, PageQuery, Pagination, ProblemDocument, QueryMap,
};
use hookline_core::ids::{DocumentId, FolderId};

use super::upload;
use crate::requests::{UploadFile, UploadForm};
use crate::service::{documents, folders};
use crate::views::{DocumentView, UploadedView};

/// Uploads files into a folder; they are processed after the answer (`status: processing`).
#[utoipa::path(
    post, path = "/v1/knowledge/folders/{id}/documents", tag = "knowledge",
    summary = "Upload documents (a multipart form of `file` fields, or the file as the body)",
    operation_id = "uploadKnowledgeDocuments",
    security(("apiKey" = [])),
    params(
        ("id" = Uuid, Path),
        ("filename" = Option<String>, Query, description = "The file's name, for a raw body (required then)")
    ),
    request_body(
        description = "A `multipart/form-data` form with one or more `file` fields, or the file \
                       itself (any content type) with `?filename=`",
        content(
            (UploadForm = "multipart/form-data"),
            (UploadFile = "application/octet-stream")
        )
    ),
    responses(
        (status = 202, description = "Stored, processing: one document, or a list for a form with several files", body = UploadedView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 408, description = "The body did not arrive in time", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 413, description = "A file over 50 MiB (named in `filename`), or the organization's storage quota exceeded", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 415, description = "A file of an unsupported type (named in `filename`)", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, response = Invalid),
        (status = 503, response = Unavailable)
    )
)]
pub async fn upload(
    State(state): State<CoreState>,
    caller: Caller,
    InPath(folder): InPath<FolderId>,
    query: QueryMap,
    Extension(slots): Extension<upload::UploadSlots>,
    request: Request,
) -> Result<(StatusCode, Json<UploadedView>), ApiError> {
    // A folder that is not there is answered before its files are read.
    folders::get(&state, caller.org_id, folder).await?;
    let _slot = slots.take()?;
    let files = upload::files(request, &query).await?;
    let several = files.len() > 1;
    let mut stored = documents::upload(&state, caller.org_id, folder, files).await?;
    let view = match stored.pop() {
        Some(one) if !several => UploadedView::One(one),
        last => {
            stored.extend(last);
            UploadedView::Several(stored)
        }
    };
    Ok((StatusCode::ACCEPTED, Json(view)))
}

#[utoipa::path(
    get, path = "/v1/knowledge/folders/{id}/documents", tag = "knowledge",
    summary = "List a folder's documents",
    operation_id = "listKnowledgeDocuments",
    security(("apiKey" = [])),
    params(("id" = Uuid, Path), PageQuery),
    responses(
        (status = 200, body = ListPage<DocumentView>),
        ListInErrors
    )
)]
pub async fn list(
    State(state): State<CoreState>,
    caller: Caller,
    InPath(folder): InPath<FolderId>,
    query: QueryMap,
) -> Result<Json<ListPage<DocumentView>>, ApiError> {
    let page = Pagination::from_query(&query)?;
    Ok(Json(
        documents::list(&state, caller.org_id, folder, page).await?,
    ))
}

#[utoipa::path(
    get, path = "/v1/knowledge/documents/{id}", tag = "knowledge", summary = "Read a document",
    operation_id = "getKnowledgeDocument",
    security(("apiKey" = [])),
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = DocumentView),
        ByIdErrors
    )
)]
pub async fn read(
    State(state): State<CoreState>,
    caller: Caller,
    InPath(id): InPath<DocumentId>,
) -> Result<Json<DocumentView>, ApiError> {
    Ok(Json(documents::get(&state, caller.org_id, id).await?))
}

#[utoipa::path(
    delete, path = "/v1/knowledge/documents/{id}", tag = "knowledge",
    summary = "Delete a document with its chunks",
    operation_id = "deleteKnowledgeDocument",
    security(("apiKey" = [])),
    params(("id" = Uuid, Path)),
    responses(
        (status = 204),
        ByIdErrors
    )
)]
pub async fn delete(
    State(state): State<CoreState>,
    caller: Caller,
    InPath(id): InPath<DocumentId>,
) -> Result<StatusCode, ApiError> {
    documents::delete(&state, caller.org_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
