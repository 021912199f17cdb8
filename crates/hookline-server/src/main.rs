use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    hookline_server::cli::main().await
}
