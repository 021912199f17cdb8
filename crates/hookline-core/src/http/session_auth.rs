//! The two credentials of a session's routes: the organization's API key (everything for its
//! organization's sessions) and a session's client secret (its own session only, from a browser).

use axum::extract::{FromRef, FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use uuid::Uuid;

use super::auth::bearer;
use super::{ApiError, Caller, CoreState};
use crate::credential::hash;
use crate::repo::api_keys::KEY_PREFIX;
use crate::repo::sessions::{self, Session};

pub const SESSION_TOKEN_PREFIX: &str = "hst_";
pub const CLIENT_SECRET_PREFIX: &str = "hcs_";

/// Who is asking about a session.
#[derive(Debug, Clone)]
pub enum SessionCredential {
    ApiKey(Caller),
    ClientSecret(String),
}

impl<S> FromRequestParts<S> for SessionCredential
where
    S: Send + Sync,
    CoreState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let state = &CoreState::from_ref(state);
        match bearer(parts) {
            Some(secret) if secret.starts_with(CLIENT_SECRET_PREFIX) => {
                Ok(Self::ClientSecret(secret.to_owned()))
            }
            Some(key) if key.starts_with(KEY_PREFIX) => {
                <Caller as FromRequestParts<CoreState>>::from_request_parts(parts, state)
                    .await
                    .map(Self::ApiKey)
            }
            _ => Err(ApiError::unauthorized(
                "send an API key (hk_...) or the session's client secret (hcs_...) as a bearer credential",
            )),
        }
    }
}

impl<S> OptionalFromRequestParts<S> for SessionCredential
where
    S: Send + Sync,
    CoreState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Option<Self>, ApiError> {
        if bearer(parts).is_none() {
            return Ok(None);
        }
        <Self as FromRequestParts<S>>::from_request_parts(parts, state)
            .await
            .map(Some)
    }
}

impl SessionCredential {
    /// The session `id`, if this credential may see it; 404 otherwise (another organization's
    /// session, or another session than the client secret's, looks like no session at all).
    pub async fn session(&self, state: &CoreState, id: Uuid) -> Result<Session, ApiError> {
        let found = match self {
            Self::ApiKey(caller) => sessions::get(&state.pool, caller.org_id, id).await?,
            Self::ClientSecret(secret) => {
                let own = sessions::get_by_secret(&state.pool, &hash(secret))
                    .await?
                    .ok_or_else(|| ApiError::unauthorized("the client secret is unknown"))?;
                Some(own).filter(|s| s.id == id)
            }
        };
        found.ok_or_else(|| ApiError::not_found("session"))
    }
}
