//! The registry's errors as HTTP problems: the one place a [`RegistryError`] gets a status.

use hookline_core::http::problem::ProblemType;
use hookline_core::http::ApiError;

use crate::service::RegistryError;

impl From<RegistryError> for ApiError {
    fn from(e: RegistryError) -> Self {
        match e {
            RegistryError::NotFound(what) => ApiError::not_found(what),
            RegistryError::Invalid(violations) => ApiError::invalid(violations),
            RegistryError::NameTaken { detail, field } => {
                let taken = ApiError::conflict(detail).typed(ProblemType::NameTaken);
                match field {
                    Some((field, message)) => taken.with_field(field, &message),
                    None => taken,
                }
            }
            RegistryError::InUse(u) => {
                ApiError::in_use(&u.what, &u.users, u.noun, u.key, &u.instead)
            }
            RegistryError::Store(e) => e.into(),
            RegistryError::Internal(cause) => ApiError::internal(cause),
        }
    }
}
