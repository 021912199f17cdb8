use std::process::ExitCode;

/// mimalloc instead of the system allocator: the hot path allocates many small, short-lived
/// JSON values, and glibc's malloc spent about a third of the server's CPU on them (profiled
/// with perf under the benchmark; see docs/performance.md). The `system-allocator` feature
/// leaves it out, so a heap profiler that replaces malloc sees every allocation.
#[cfg(not(feature = "system-allocator"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    hookline_server::cli::main().await
}
