//! What a registry operation can fail with, in the registry's own words. The routes say each one
//! as an HTTP problem (`routes/problems.rs`); a service linking the library matches on them.

use hookline_core::refusals::{InUse, NameTaken};
use hookline_core::StoreError;
use hookline_schema::{FieldError, Violations};

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// No such resource in the organization (`"tool"`, `"persona"`, `"LLM"`...).
    #[error("no such {0}")]
    NotFound(&'static str),
    /// Fields that break a rule, every one listed by its path.
    #[error("{0}")]
    Invalid(Violations),
    #[error(transparent)]
    NameTaken(#[from] NameTaken),
    #[error(transparent)]
    InUse(#[from] InUse),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A fault of ours: a stored value that cannot be read back as written.
    #[error("{0}")]
    Internal(String),
}

impl RegistryError {
    /// One field that breaks a rule.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid(Violations::single(field, message))
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self::Internal(cause.to_string())
    }

    /// Not the input's fault: the database is away, or something of ours failed. (An import
    /// stops at such an error instead of listing it as one operation's refusal.)
    pub fn is_fault(&self) -> bool {
        match self {
            Self::Internal(_) => true,
            Self::Store(e) => e.is_fault(),
            _ => false,
        }
    }

    /// The error as field errors, for a report that lists several operations' refusals (the
    /// OpenAPI import's dry run); an error of no field is listed under the empty path.
    pub fn field_errors(self) -> Vec<FieldError> {
        match self {
            Self::Invalid(violations) => violations.into_errors(),
            Self::NameTaken(NameTaken {
                field: Some((field, message)),
                ..
            }) => vec![FieldError::new(field, message)],
            other => vec![FieldError::new("", other.to_string())],
        }
    }
}

impl From<sqlx::Error> for RegistryError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(e.into())
    }
}
