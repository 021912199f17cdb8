//! The registry's errors as HTTP problems: the one place a [`RegistryError`] gets a status.

use hookline_core::http::ApiError;

use crate::service::RegistryError;

impl From<RegistryError> for ApiError {
    fn from(e: RegistryError) -> Self {
        match e {
            RegistryError::NotFound(what) => ApiError::not_found(what),
            RegistryError::Invalid(violations) => ApiError::invalid(violations),
            RegistryError::NameTaken(taken) => taken.into(),
            RegistryError::InUse(in_use) => in_use.into(),
            RegistryError::Store(e) => e.into(),
            RegistryError::Internal(cause) => ApiError::internal(cause),
        }
    }
}
