//! The HTTP conventions every service shares: RFC 7807 problem documents, the JSON body and
//! query readers that turn bad input into them, API-key authentication, and list pagination.

pub mod auth;
pub mod body;
pub mod cors;
pub mod pagination;
pub mod problem;
pub mod session_auth;

use std::sync::Arc;

use sqlx::PgPool;

use crate::settings::Settings;

pub use auth::{ApiKeyAuth, Caller};
pub use body::{parse_id, JsonBody, QueryMap, MAX_BODY_BYTES};
pub use pagination::{ListMeta, ListPage, Pagination};
pub use problem::{ApiError, ProblemDocument};

/// What every service's routes need: the pool, the settings and the API-key checker.
#[derive(Clone)]
pub struct CoreState {
    pub pool: PgPool,
    pub settings: Arc<Settings>,
    pub auth: ApiKeyAuth,
}

impl CoreState {
    pub fn new(pool: PgPool, settings: Arc<Settings>) -> Self {
        Self {
            auth: ApiKeyAuth::new(pool.clone()),
            pool,
            settings,
        }
    }
}

impl axum::extract::FromRef<CoreState> for ApiKeyAuth {
    fn from_ref(state: &CoreState) -> Self {
        state.auth.clone()
    }
}
