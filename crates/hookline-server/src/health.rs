//! The operational endpoints a load balancer or an orchestrator asks: `/healthz` (the process
//! is up) and `/readyz` (the database answers).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use hookline_core::http::{ApiError, CoreState};

/// The answer of `/healthz` and `/readyz`.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct HealthView {
    /// `ok` (the process is up) or `ready` (the database answers).
    #[schema(pattern = "^(ok|ready)$")]
    pub status: &'static str,
}

#[utoipa::path(get, path = "/healthz", tag = "operations", summary = "The process is up",
    operation_id = "healthz",
    responses((status = 200, description = "Up", body = HealthView)))]
pub(crate) async fn healthz() -> Json<HealthView> {
    Json(HealthView { status: "ok" })
}

#[utoipa::path(get, path = "/readyz", tag = "operations", summary = "The database answers",
    operation_id = "readyz",
    responses((status = 200, description = "Ready", body = HealthView), (status = 503, description = "The database does not answer", body = hookline_core::http::ProblemDocument, content_type = "application/problem+json", headers(("Retry-After" = u32, description = "Seconds to wait before trying again")))))]
pub(crate) async fn readyz(State(state): State<CoreState>) -> Result<Json<HealthView>, ApiError> {
    let unreachable = || {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the database is not reachable",
        )
    };
    // Known away: answered at once, as the API's routes are (a probe with a short timeout of
    // its own would otherwise time out rather than read the 503).
    if state.away.is_away() {
        return Err(unreachable());
    }
    hookline_core::db::ping(&state.pool).await.map_err(|e| {
        tracing::warn!(error = %e, "readiness check failed");
        if hookline_core::error::is_outage(&e) {
            state.away.noticed();
        }
        unreachable()
    })?;
    Ok(Json(HealthView { status: "ready" }))
}
