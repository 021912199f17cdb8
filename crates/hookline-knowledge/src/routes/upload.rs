//! Reading an upload's files: a `multipart/form-data` form with one or more `file` fields, or
//! the file itself as the body with its name in `?filename=`. Each file is read up to 50 MiB,
//! a chunk at a time, and refused (413 naming it) as soon as it is larger.

use std::sync::Arc;

use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{header, StatusCode};
use hookline_core::http::deadline::is_body_timeout;
use hookline_core::http::{ApiError, QueryMap};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::service::documents::{clean_filename, UploadedFile, MAX_FILE_BYTES};
use crate::service::KnowledgeError;

/// Files one form may carry.
pub const MAX_FILES: usize = 20;
/// The largest upload request: two files of the largest size, plus the form's own bytes. A form
/// of more, smaller files fits as long as they add up to this.
pub const MAX_REQUEST_BYTES: usize = 2 * MAX_FILE_BYTES + 1024 * 1024;

/// The uploads this process may read at once (`HOOKLINE_KNOWLEDGE_UPLOADS`). An upload holds its
/// files in memory until they are stored, so without a bound a few hundred slow uploads could
/// take the process's memory; one past the bound is answered 503 at once, before its body is read.
#[derive(Clone)]
pub struct UploadSlots(Arc<Semaphore>);

impl UploadSlots {
    pub fn new(slots: usize) -> Self {
        Self(Arc::new(Semaphore::new(slots)))
    }

    /// A slot for one upload, held until its answer is made.
    pub fn take(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        self.0.clone().try_acquire_owned().map_err(|_| {
            ApiError::busy(
                "this instance is reading as many uploads as it may at once \
                 (HOOKLINE_KNOWLEDGE_UPLOADS); try again after Retry-After seconds",
            )
        })
    }
}

fn late() -> ApiError {
    ApiError::new(
        StatusCode::REQUEST_TIMEOUT,
        "the request body did not arrive in time (HOOKLINE_BODY_READ_TIMEOUT_SECONDS)",
    )
}

pub async fn files(request: Request, query: &QueryMap) -> Result<Vec<UploadedFile>, ApiError> {
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        });
    if is_form {
        form(request).await
    } else {
        raw(request, query).await.map(|file| vec![file])
    }
}

async fn form(request: Request) -> Result<Vec<UploadedFile>, ApiError> {
    let mut form = Multipart::from_request(request, &()).await.map_err(|e| {
        ApiError::bad_request(format!("the form cannot be read: {}", e.body_text()))
    })?;
    let broken = |e: axum::extract::multipart::MultipartError| {
        if is_body_timeout(&e) {
            late()
        } else if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "the upload is larger than {} MiB; send fewer files at once",
                    MAX_REQUEST_BYTES / (1024 * 1024)
                ),
            )
        } else {
            ApiError::bad_request(format!("the form cannot be read: {}", e.body_text()))
        }
    };
    let mut files = Vec::new();
    while let Some(mut field) = form.next_field().await.map_err(broken)? {
        let at = format!("file[{}]", files.len());
        match field.name() {
            Some("file") => {}
            other => {
                return Err(ApiError::field(
                    other.unwrap_or("(unnamed)"),
                    "is not a field of an upload: send each file as a field named `file`",
                ))
            }
        }
        if files.len() == MAX_FILES {
            return Err(ApiError::field(
                at,
                format!("is one file too many: at most {MAX_FILES} a request"),
            ));
        }
        let filename = clean_filename(field.file_name().unwrap_or_default(), &at)?;
        let mut content = Vec::new();
        while let Some(piece) = field.chunk().await.map_err(broken)? {
            if content.len() + piece.len() > MAX_FILE_BYTES {
                return Err(KnowledgeError::FileTooLarge(filename).into());
            }
            content.extend_from_slice(&piece);
        }
        files.push(UploadedFile { filename, content });
    }
    if files.is_empty() {
        return Err(ApiError::field(
            "file",
            "is required: send at least one file",
        ));
    }
    Ok(files)
}

async fn raw(request: Request, query: &QueryMap) -> Result<UploadedFile, ApiError> {
    let filename = query.get("filename").ok_or_else(|| {
        ApiError::field(
            "filename",
            "is required with a raw body (?filename=guide.md), or send a multipart/form-data form",
        )
    })?;
    let filename = clean_filename(filename, "filename")?;
    let content = axum::body::to_bytes(request.into_body(), MAX_FILE_BYTES)
        .await
        .map_err(|e| {
            if is_body_timeout(&e) {
                late()
            } else {
                KnowledgeError::FileTooLarge(filename.clone()).into()
            }
        })?;
    Ok(UploadedFile {
        filename,
        content: content.to_vec(),
    })
}
