//! The sessions service's errors as HTTP problems: the one place a [`SessionsError`] gets a
//! status.

use hookline_core::http::problem::ProblemType;
use hookline_core::http::ApiError;

use crate::service::SessionsError;

impl From<SessionsError> for ApiError {
    fn from(e: SessionsError) -> Self {
        match e {
            SessionsError::TokenRefused(_) => ApiError::unauthorized(e.to_string()),
            SessionsError::NotFound(what) => ApiError::not_found(what),
            SessionsError::Invalid(violations) => ApiError::invalid(violations),
            SessionsError::RepeatedToolName(_) => {
                ApiError::conflict(e.to_string()).typed(ProblemType::NameTaken)
            }
            SessionsError::Store(e) => e.into(),
        }
    }
}
