//! The composed application: every service's routes, operational endpoints, shared layers.

use std::future::Future;
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, Request, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{middleware, Json, Router};
use serde_json::json;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

use hookline_core::db::{self, DbError};
use hookline_core::http::problem::{method_not_allowed_fallback, not_found_fallback};
use hookline_core::http::{ApiError, CoreState, MAX_BODY_BYTES};
use hookline_core::Settings;

use crate::telemetry::{metrics_handle, track_http};

/// A built application: its router and the state behind it.
pub struct App {
    pub router: Router,
    pub state: CoreState,
}

/// Connects to the database (creating it if missing), applies migrations and builds the router.
pub async fn build(settings: Settings) -> Result<App, DbError> {
    let pool = db::connect(&settings.database_url, 32).await?;
    db::migrate(&pool, &settings.database_url).await?;
    let state = CoreState::new(pool, Arc::new(settings));
    Ok(App {
        router: router(state.clone()),
        state,
    })
}

pub fn router(state: CoreState) -> Router {
    // Install the recorder before the first request so that request is counted too.
    metrics_handle();
    let ops = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi_json))
        .route("/docs", get(reference_page))
        .with_state(state.clone());
    Router::new()
        .merge(ops)
        .merge(hookline_registry::router(state.clone()))
        .merge(hookline_sessions::router(state.clone()))
        .merge(hookline_engine::router(state))
        .fallback(not_found_fallback)
        .method_not_allowed_fallback(method_not_allowed_fallback)
        .layer(middleware::from_fn(track_http))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(
            // Only the path is logged: query strings may carry a client secret.
            TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
                tracing::info_span!("http", method = %request.method(), path = %request.uri().path())
            }),
        )
}

/// Serves until `shutdown` completes, then lets in-flight requests finish.
pub async fn serve(
    app: App,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app.router)
        .with_graceful_shutdown(shutdown)
        .await
}

#[utoipa::path(get, path = "/healthz", tag = "operations", summary = "The process is up",
    responses((status = 200, description = "Up")))]
pub(crate) async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

#[utoipa::path(get, path = "/readyz", tag = "operations", summary = "The database answers",
    responses((status = 200, description = "Ready"), (status = 503, description = "The database does not answer")))]
pub(crate) async fn readyz(
    State(state): State<CoreState>,
) -> Result<Json<serde_json::Value>, ApiError> {
    sqlx::query("SELECT 1")
        .execute(&state.pool)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "readiness check failed");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the database is not reachable",
            )
        })?;
    Ok(Json(json!({"status": "ready"})))
}

#[utoipa::path(get, path = "/metrics", tag = "operations", summary = "Prometheus metrics",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
pub(crate) async fn metrics() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        metrics_handle().render(),
    )
}

async fn openapi_json() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        crate::openapi::document_json(),
    )
}

async fn reference_page() -> impl IntoResponse {
    axum::response::Html(crate::openapi::REFERENCE_PAGE)
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: no new requests, finishing those in flight");
}
