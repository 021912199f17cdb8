//! The knowledge service's errors as HTTP problems: the one place a [`KnowledgeError`] gets a
//! status. A refused file is named in the problem's `filename` member.

use axum::http::StatusCode;
use hookline_core::http::ApiError;
use serde_json::Value;

use crate::service::KnowledgeError;

impl From<KnowledgeError> for ApiError {
    fn from(e: KnowledgeError) -> Self {
        let detail = e.to_string();
        match e {
            KnowledgeError::NotFound(what) => ApiError::not_found(what),
            KnowledgeError::Invalid(violations) => ApiError::invalid(violations),
            KnowledgeError::FileTooLarge(filename) => {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, detail)
                    .with("filename", Value::String(filename))
            }
            KnowledgeError::Unsupported { filename, .. } => {
                ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, detail)
                    .with("filename", Value::String(filename))
            }
            KnowledgeError::OverQuota { .. } => {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, detail)
            }
            KnowledgeError::NameTaken(taken) => taken.into(),
            KnowledgeError::InUse(in_use) => in_use.into(),
            KnowledgeError::Store(e) => e.into(),
        }
    }
}
