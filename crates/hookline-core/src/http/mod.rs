//! The HTTP conventions every service shares: RFC 7807 problem documents, the JSON body and
//! query readers that turn bad input into them, API-key authentication, list pagination, and
//! the pass that keeps flattened types one object in the OpenAPI document.

pub mod auth;
pub mod away;
pub mod body;
pub mod checked;
pub mod cors;
pub mod deadline;
pub mod flattened;
pub mod pagination;
pub mod path;
pub mod problem;
pub mod session_auth;

use std::sync::Arc;

use sqlx::PgPool;

use crate::hub::EventHub;
use crate::settings::Settings;

pub use auth::{ApiKeyAuth, Caller};
pub use body::{JsonBody, QueryMap, MAX_BODY_BYTES};
pub use checked::{Check, Checked};
pub use pagination::{ListMeta, ListPage, ListParams, ListQuery, PageQuery, Pagination};
pub use path::InPath;
pub use problem::{ApiError, ProblemDocument};

/// What every service's routes need: the pool, the settings, the API-key checker, the event hub,
/// and word of the process closing (long-lived answers such as event streams end on it, so a
/// graceful shutdown does not wait for them forever).
#[derive(Clone)]
pub struct CoreState {
    pub pool: PgPool,
    pub settings: Arc<Settings>,
    pub auth: ApiKeyAuth,
    /// Word of every session's new events (one LISTEN connection per process).
    pub hub: EventHub,
    /// Whether the database is known to be away (requests then answer 503 at once).
    pub away: crate::db::away::Away,
    /// The knowledge folders' vectors kept in memory for hybrid search (crate::vectors).
    pub vectors: crate::vectors::VectorCache,
    /// Each organization's embedding model as last read (crate::vectors::EmbeddingModels).
    pub models: crate::vectors::EmbeddingModels,
    closing: Arc<tokio::sync::watch::Sender<bool>>,
}

impl CoreState {
    pub fn new(pool: PgPool, settings: Arc<Settings>) -> Self {
        Self {
            auth: ApiKeyAuth::new(pool.clone()),
            hub: EventHub::start(pool.clone(), settings.database_direct_url.as_deref()),
            away: crate::db::away::Away::new(&pool),
            vectors: crate::vectors::VectorCache::new(settings.knowledge.vector_cache_bytes),
            models: crate::vectors::EmbeddingModels::default(),
            pool,
            settings,
            closing: Arc::new(tokio::sync::watch::channel(false).0),
        }
    }

    /// Tells long-lived answers that the process is closing.
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// Completes once [`CoreState::close`] was called.
    pub fn closing(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut rx = self.closing.subscribe();
        async move {
            let _ = rx.wait_for(|closed| *closed).await;
        }
    }
}
