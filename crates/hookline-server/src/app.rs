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
use hookline_engine::Engine;
use tokio::sync::watch;

use crate::telemetry::{metrics_handle, track_http};

/// A built application: its router, the state behind it, and the engine with its delivery
/// workers (running until the app is served to its end).
pub struct App {
    pub router: Router,
    pub state: CoreState,
    pub engine: Arc<Engine>,
    stop: watch::Sender<bool>,
    delivery: tokio::task::JoinHandle<()>,
}

/// Connects to the database (creating it if missing), applies migrations, starts the engine and
/// its delivery workers, and builds the router.
pub async fn build(settings: Settings) -> Result<App, DbError> {
    let pool = db::connect(&settings.database_url, 32).await?;
    db::migrate(&pool, &settings.database_url).await?;
    let state = CoreState::new(pool, Arc::new(settings));
    let engine = Engine::start(&state)
        .await
        .map_err(|e| DbError::Unreachable {
            url: hookline_core::settings::redact_url(&state.settings.database_url),
            reason: e.to_string(),
        })?;
    let (stop, stopped) = watch::channel(false);
    let delivery = hookline_engine::delivery::spawn(engine.clone(), stopped);
    Ok(App {
        router: router(state.clone(), engine.clone()),
        state,
        engine,
        stop,
        delivery,
    })
}

pub fn router(state: CoreState, engine: Arc<Engine>) -> Router {
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
        .merge(hookline_engine::router(state, engine))
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

/// Serves until `shutdown` completes; then lets in-flight requests finish, stops the delivery
/// workers (finishing or giving back the calls they hold) and writes what the call log holds.
pub async fn serve(
    app: App,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let state = app.state.clone();
    let served = axum::serve(listener, app.router)
        .with_graceful_shutdown(async move {
            shutdown.await;
            state.close();
        })
        .await;
    let _ = app.stop.send(true);
    let _ = app.delivery.await;
    app.engine.shutdown().await;
    served
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
