//! The composed application: every service's routes, operational endpoints, shared layers.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, Request};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{middleware, Router};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower_http::trace::TraceLayer;

use hookline_conversations::Conversations;
use hookline_core::db::{self, DbError};
use hookline_core::http::away::database_gate;
use hookline_core::http::deadline::body_deadline;
use hookline_core::http::problem::{method_not_allowed_fallback, not_found_fallback};
use hookline_core::http::{CoreState, MAX_BODY_BYTES};
use hookline_core::Settings;
use hookline_engine::Engine;
use tokio::sync::watch;

use crate::event_conn;
use crate::health;
use crate::telemetry::{metrics_handle, track_http};

/// A built application: its router, the state behind it, and the engine with its delivery
/// workers (running until the app is served to its end).
pub struct App {
    pub router: Router,
    pub state: CoreState,
    pub engine: Arc<Engine>,
    /// The conversation runtime, told to give back its running turns when the app stops.
    pub conversations: Arc<Conversations>,
    /// Where `/metrics` is served, if it is.
    pub metrics_addr: Option<SocketAddr>,
    metrics: Option<TcpListener>,
    stop: watch::Sender<bool>,
    delivery: tokio::task::JoinHandle<()>,
    /// Claims due follow-ups and starts their turns; gives back its claims when stopped.
    follow_ups: tokio::task::JoinHandle<()>,
    /// The knowledge workers processing uploaded documents, stopped with the delivery workers.
    knowledge: tokio::task::JoinHandle<()>,
    /// The worker embedding ready documents' chunks, stopped with them.
    embedding: tokio::task::JoinHandle<()>,
}

/// Why the application could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("cannot listen on {addr} (HOOKLINE_METRICS_LISTEN): {reason}")]
    MetricsListen { addr: SocketAddr, reason: String },
}

/// Connects to the database (creating it if missing), applies migrations, starts the engine and
/// its delivery workers, binds the metrics address, and builds the router.
pub async fn build(settings: Settings) -> Result<App, StartError> {
    let metrics = match settings.metrics_listen {
        Some(addr) => {
            Some(
                TcpListener::bind(addr)
                    .await
                    .map_err(|e| StartError::MetricsListen {
                        addr,
                        reason: e.to_string(),
                    })?,
            )
        }
        None => None,
    };
    let metrics_addr = metrics.as_ref().and_then(|l| l.local_addr().ok());
    let pool = db::connect_or_create(
        &settings.database_url,
        settings.database.pool_size,
        settings.database.acquire_timeout,
    )
    .await?;
    db::migrate(
        &pool,
        &settings.database_url,
        settings.database_direct_url.as_deref(),
    )
    .await?;
    let state = CoreState::new(pool, Arc::new(settings));
    let engine = Engine::start(&state)
        .await
        .map_err(|e| DbError::Unreachable {
            url: hookline_core::settings::redact_url(&state.settings.database_url),
            reason: e.to_string(),
        })?;
    let (stop, stopped) = watch::channel(false);
    let delivery = hookline_engine::delivery::spawn(engine.clone(), stopped.clone());
    let knowledge = hookline_knowledge::processing::spawn(state.clone(), stopped.clone());
    let embedding = hookline_knowledge::embeddings::worker::spawn(
        state.clone(),
        engine.embedder().clone(),
        stopped.clone(),
    );
    let conversations = Conversations::new(state.clone(), engine.clone());
    let follow_ups = hookline_conversations::followups::spawn(conversations.clone(), stopped);
    Ok(App {
        router: router(state.clone(), engine.clone(), conversations.clone()),
        state,
        engine,
        conversations,
        metrics_addr,
        metrics,
        stop,
        delivery,
        follow_ups,
        knowledge,
        embedding,
    })
}

pub fn router(state: CoreState, engine: Arc<Engine>, conversations: Arc<Conversations>) -> Router {
    // Install the recorder before the first request so that request is counted too.
    metrics_handle();
    let state_limits = state.settings.limits.clone();
    // One count of open streams: a session's event streams and MCP clients' streams share the
    // instance's cap.
    let streams = hookline_sessions::OpenStreams::new(&state.settings);
    let ops = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/openapi.json", get(openapi_json))
        .route("/docs", get(reference_page))
        .with_state(state.clone());
    let away = state.away.clone();
    let api = Router::new()
        .merge(hookline_registry::router(state.clone()))
        .merge(hookline_sessions::router(state.clone(), streams.clone()))
        .merge(hookline_conversations::router(state.clone(), conversations))
        .merge(hookline_mcp::router(state.clone(), engine.clone(), streams))
        .merge(hookline_knowledge::router(
            state.clone(),
            engine.embedder().clone(),
        ))
        .merge(hookline_engine::router(state.clone(), engine))
        // While the database is known to be away these answer 503 at once (db::away).
        .layer(middleware::from_fn_with_state(away, database_gate));
    Router::new()
        .merge(ops)
        .merge(crate::lab::router(state))
        .merge(api)
        .fallback(not_found_fallback)
        .method_not_allowed_fallback(method_not_allowed_fallback)
        .layer(middleware::from_fn(track_http))
        .layer(middleware::from_fn_with_state(
            state_limits.body_read_timeout,
            body_deadline,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(
            // Only the path is logged: query strings may carry a client secret.
            TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
                tracing::info_span!("http", method = %request.method(), path = %request.uri().path())
            }),
        )
}

/// Serves until `shutdown` completes; then lets in-flight requests finish, gives back the
/// sessions' turns still running, stops the delivery workers (finishing or giving back the calls
/// they hold) and writes what the call log holds.
///
/// Connections are served here rather than by `axum::serve` so that a client is held to a
/// header-read timeout and the number of open connections is capped: beyond the cap, clients
/// wait in the listen queue until a connection closes.
pub async fn serve(
    app: App,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let state = app.state.clone();
    let limits = state.settings.limits.clone();
    if let Some(metrics) = app.metrics {
        let closing = state.closing();
        let router = Router::new().route("/metrics", get(metrics_text));
        tokio::spawn(async move {
            let served = axum::serve(metrics, router)
                .with_graceful_shutdown(closing)
                .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "the metrics listener failed");
            }
        });
    }
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let router = app.router;
    let service = TowerToHyperService::new(router.clone());
    let connections = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = connections.clone().acquire_owned() => permit.expect("never closed"),
        };
        let (stream, _) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, say: wait instead of spinning.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let (http, service, router) = (http.clone(), service.clone(), router.clone());
        let watcher = graceful.watcher();
        let header_timeout = limits.header_read_timeout;
        let closing = state.closing();
        tokio::spawn(async move {
            // An event stream's connection is served without hyper's buffers (see
            // `event_conn`); it ends with its stream, which ends when the process closes.
            // The head's time is counted once, from the connection's start: the request line
            // and the rest of the head share one deadline.
            let deadline = tokio::time::Instant::now() + header_timeout;
            let first = tokio::select! {
                first = event_conn::first_request_is_stream(&stream, deadline) => first,
                () = closing => None,
            };
            match first {
                Some(true) => event_conn::serve(stream, router, deadline).await,
                Some(false) => {
                    let connection = http.serve_connection(TokioIo::new(stream), service);
                    // A client that leaves or times out ends its connection; nothing to report.
                    // Boxed, so a stream's task is not as large as hyper's connection.
                    let _ = Box::pin(watcher.watch(connection)).await;
                }
                None => {}
            }
            drop(permit);
        });
    }
    drop(listener);
    // Long-lived answers (event streams) end now, so the connections can finish.
    state.close();
    graceful.shutdown().await;
    app.conversations.give_back_turns().await;
    let _ = app.stop.send(true);
    let _ = app.delivery.await;
    let _ = app.follow_ups.await;
    let _ = app.knowledge.await;
    let _ = app.embedding.await;
    app.engine.flush().await;
    Ok(())
}

/// `/metrics` on its own listen address (`HOOKLINE_METRICS_LISTEN`), apart from the API.
async fn metrics_text() -> impl IntoResponse {
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
