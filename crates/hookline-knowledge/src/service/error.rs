//! What a knowledge operation can fail with, in the service's own words. The routes say each
//! one as an HTTP problem (`routes/problems.rs`).

use hookline_core::refusals::{InUse, NameTaken};
use hookline_core::StoreError;
use hookline_schema::Violations;

use crate::file_type::SUPPORTED;

#[derive(Debug, thiserror::Error)]
pub enum KnowledgeError {
    /// No such folder or document in the organization.
    #[error("no such {0}")]
    NotFound(&'static str),
    /// Fields that break a rule, every one listed by its path.
    #[error("{0}")]
    Invalid(Violations),
    /// A file over the most a document may be.
    #[error("{0:?} is larger than 50 MiB, the most a document may be")]
    FileTooLarge(String),
    /// A file of a type no document may be, or not holding what its extension says.
    #[error("{filename:?} {why}; supported: {SUPPORTED}")]
    Unsupported { filename: String, why: &'static str },
    /// The upload would take the organization past its storage quota.
    #[error(
        "your organization's documents would take {would_use} bytes, more than its {quota} \
         (HOOKLINE_KNOWLEDGE_STORAGE_BYTES); delete documents first"
    )]
    OverQuota { would_use: u64, quota: u64 },
    #[error(transparent)]
    NameTaken(#[from] NameTaken),
    #[error(transparent)]
    InUse(#[from] InUse),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl KnowledgeError {
    /// One field that breaks a rule.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid(Violations::single(field, message))
    }
}

impl From<sqlx::Error> for KnowledgeError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(e.into())
    }
}
