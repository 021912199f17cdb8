//! The engine's HTTP routes.

pub mod calls;
pub mod client_results;
pub mod signing_secrets;
pub mod tool_calls;
pub mod tool_test;

use std::sync::Arc;

use axum::extract::FromRef;
use hookline_core::http::{ApiKeyAuth, CoreState};

use crate::engine::Engine;

#[derive(Clone)]
pub struct EngineState {
    pub core: CoreState,
    pub engine: Arc<Engine>,
}

impl FromRef<EngineState> for CoreState {
    fn from_ref(s: &EngineState) -> Self {
        s.core.clone()
    }
}

impl FromRef<EngineState> for ApiKeyAuth {
    fn from_ref(s: &EngineState) -> Self {
        s.core.auth.clone()
    }
}
