//! API-key authentication, with a short per-instance cache so the hot path does not ask the
//! database on every request. A revoked key stops working at once on the instance that revoked
//! it (its entry is dropped) and within `CACHE_TTL` everywhere else.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use sqlx::PgPool;
use uuid::Uuid;

use super::problem::ApiError;
use crate::repo::api_keys;

/// How long a looked-up key is trusted without asking the database again.
pub const CACHE_TTL: Duration = Duration::from_secs(1);
const CACHE_LIMIT: usize = 10_000;

/// The organization an API key speaks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    pub org_id: Uuid,
    pub key_id: Uuid,
}

type Cache = HashMap<Vec<u8>, (Option<Caller>, Instant)>;

#[derive(Clone)]
pub struct ApiKeyAuth {
    pool: PgPool,
    cache: Arc<RwLock<Cache>>,
}

impl ApiKeyAuth {
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            cache: Arc::default(),
        }
    }

    /// The caller behind `key`, or `None` for an unknown or revoked key.
    pub async fn check(&self, key: &str) -> Result<Option<Caller>, ApiError> {
        let hash = api_keys::hash(key);
        if let Some((caller, at)) = self.cache.read().expect("cache lock").get(&hash) {
            if at.elapsed() < CACHE_TTL {
                return Ok(*caller);
            }
        }
        let caller = api_keys::find_active(&self.pool, &hash)
            .await?
            .map(|(key_id, org_id)| Caller { org_id, key_id });
        let mut cache = self.cache.write().expect("cache lock");
        if cache.len() >= CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(hash, (caller, Instant::now()));
        Ok(caller)
    }

    /// Forgets a revoked key at once on this instance.
    pub fn forget(&self, key_id: Uuid) {
        self.cache
            .write()
            .expect("cache lock")
            .retain(|_, (caller, _)| caller.is_none_or(|c| c.key_id != key_id));
    }
}

/// The bearer credential of a request, if any.
pub fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

impl<S> FromRequestParts<S> for Caller
where
    S: Send + Sync,
    ApiKeyAuth: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Some(key) = bearer(parts) else {
            return Err(ApiError::unauthorized(
                "send an API key as `Authorization: Bearer hk_...`",
            ));
        };
        if !key.starts_with(api_keys::KEY_PREFIX) {
            return Err(ApiError::unauthorized(
                "this route needs an organization API key (hk_...)",
            ));
        }
        ApiKeyAuth::from_ref(state)
            .check(key)
            .await?
            .ok_or_else(|| ApiError::unauthorized("the API key is unknown or revoked"))
    }
}
