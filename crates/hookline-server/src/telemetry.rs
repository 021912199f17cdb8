//! Logs (text or JSON, to stderr so command output stays clean on stdout) and Prometheus metrics.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

use hookline_core::settings::LogFormat;

pub fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, never into files or log collectors.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// How often the histograms' recorded samples are folded into their buckets. The recorder keeps
/// every sample until then or until `/metrics` is read: without it, an instance nobody scraped
/// kept two samples of every call for good (its memory grew ~32 bytes a call, linearly, in a
/// soak). A second holds at most a second's samples.
pub const UPKEEP_EVERY: Duration = Duration::from_secs(1);

/// The process-wide Prometheus recorder (installed once, even when tests build many apps), with
/// a thread of its own for its upkeep (the recorder outlives any one runtime).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(&[
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                    30.0, 60.0,
                ])
                .expect("static buckets are valid")
                .build_recorder();
            let handle = recorder.handle();
            // Another recorder may exist in tests that embed the app; ours still renders.
            let _ = metrics::set_global_recorder(recorder);
            let upkeep = handle.clone();
            std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || loop {
                    std::thread::sleep(UPKEEP_EVERY);
                    upkeep.run_upkeep();
                })
                .expect("a thread can be started at start-up");
            handle
        })
        .clone()
}

/// Counts requests and their latency by route template and status.
pub async fn track_http(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    // Only the standard methods are labels of their own: anyone can send any other.
    let method = match request.method().as_str() {
        m @ ("GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS" | "HEAD") => m.to_owned(),
        _ => "other".to_owned(),
    };
    let started = Instant::now();
    let response = next.run(request).await;
    let labels = [
        ("method", method),
        ("route", route),
        ("status", response.status().as_u16().to_string()),
    ];
    metrics::counter!("hookline_http_requests_total", &labels).increment(1);
    metrics::histogram!("hookline_http_request_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The process's resident memory, in bytes (Linux).
    fn resident() -> u64 {
        let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
        let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
        pages * 4096
    }

    fn record(samples: usize) {
        let labels = [("method", "POST"), ("route", "/v1/x"), ("status", "200")];
        for n in 0..samples {
            metrics::histogram!("hookline_http_request_duration_seconds", &labels)
                .record(f64::from(u32::try_from(n % 1000).unwrap()) / 1e4);
        }
    }

    /// Three million samples (a few hours of calls at the soak's rate, two samples a call) with
    /// nobody reading `/metrics`: the process's memory stays where it was after the first round
    /// (each sample kept was 8 bytes: 24 MB).
    #[test]
    fn samples_nobody_scrapes_do_not_pile_up() {
        metrics_handle();
        record(1_000_000);
        std::thread::sleep(UPKEEP_EVERY * 3);
        let before = resident();
        for _ in 0..3 {
            record(1_000_000);
            std::thread::sleep(UPKEEP_EVERY * 3);
        }
        let grown = resident().saturating_sub(before);
        assert!(
            grown < 4 << 20,
            "the process grew by {} KiB over 3,000,000 samples",
            grown >> 10
        );
    }
}
