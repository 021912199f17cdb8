//! The engine's HTTP routes.

pub mod calls;
pub mod client_results;
pub mod mcp_probe;
pub mod signing_secrets;
pub mod tool_calls;
pub mod tool_trial;

use std::sync::Arc;

use axum::extract::FromRef;
use hookline_core::http::CoreState;

use crate::call::Engine;

/// What the engine's routes hold. Extractors take the parts they need from it (`FromRef`: the
/// API-key check reads the core state).
#[derive(Clone, FromRef)]
pub struct EngineState {
    pub core: CoreState,
    pub engine: Arc<Engine>,
}
