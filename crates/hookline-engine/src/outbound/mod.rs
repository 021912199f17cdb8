//! Outbound HTTP: one pooled client behind the SSRF guard, no redirects, no proxies from the
//! environment, connect and total timeouts, and a cap on how much of an answer is read.

pub mod oauth2;
pub mod ssrf;

use std::sync::Arc;
use std::time::Duration;

use hookline_schema::DestinationPolicy;
use reqwest::header::HeaderMap;

pub use ssrf::Blocked;

/// Answers are read up to this size; a larger one fails as `response_too_large`.
pub const MAX_RESPONSE_BYTES: usize = 1024 * 1024;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

pub fn client(policy: Arc<DestinationPolicy>) -> reqwest::Client {
    reqwest::Client::builder()
        .dns_resolver(Arc::new(ssrf::VettingResolver { policy }))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .connect_timeout(CONNECT_TIMEOUT)
        .pool_idle_timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(256)
        .tcp_nodelay(true)
        .build()
        .expect("the HTTP client's settings are valid")
}

/// What came back.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("{0}")]
    Blocked(Blocked),
    #[error("{0}")]
    Timeout(String),
    /// A message chosen by the kind of failure (see [`classify`]).
    #[error("{0}")]
    Connection(String),
    #[error("the answer is larger than 1 MiB")]
    TooLarge { status: u16 },
}

/// Sends a request and reads at most [`MAX_RESPONSE_BYTES`] of the answer, all within `timeout`.
pub async fn send(
    client: &reqwest::Client,
    request: reqwest::Request,
    timeout: Duration,
) -> Result<Answer, SendError> {
    let seconds = timeout.as_secs();
    let exchange = async {
        let mut response = client.execute(request).await.map_err(classify)?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        if response
            .content_length()
            .is_some_and(|n| n > MAX_RESPONSE_BYTES as u64)
        {
            return Err(SendError::TooLarge { status });
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(classify)? {
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(SendError::TooLarge { status });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Answer {
            status,
            headers,
            body,
        })
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .unwrap_or_else(|_| {
            Err(SendError::Timeout(format!(
                "no answer within {seconds} seconds"
            )))
        })
}

/// Turns a reqwest error into what the LLM, the call log and the events may see: a message chosen
/// by the kind of failure, never reqwest's text (it holds the URL with its query string, and the
/// addresses a name resolved to). The details go to the server log, without the URL.
fn classify(e: reqwest::Error) -> SendError {
    if let Some(blocked) = ssrf::find_blocked(&e) {
        return SendError::Blocked(blocked);
    }
    let host = e
        .url()
        .and_then(|u| u.host_str())
        .unwrap_or_default()
        .to_owned();
    let e = e.without_url();
    tracing::warn!(%host, error = %chain(&e), "an outbound request failed");
    if e.is_timeout() {
        return SendError::Timeout(format!(
            "could not connect within {} seconds",
            CONNECT_TIMEOUT.as_secs()
        ));
    }
    SendError::Connection(connection_message(&e).to_owned())
}

/// The error and its causes on one line, for the server log.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        message = format!("{message}: {cause}");
        source = cause.source();
    }
    message
}

fn connection_message(e: &reqwest::Error) -> &'static str {
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => {
                    return "could not connect: the endpoint refused the connection"
                }
                std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionAborted => {
                    return "the endpoint closed the connection"
                }
                _ => {}
            }
        }
        source = cause.source();
    }
    if e.is_connect() {
        "could not connect to the endpoint (its name did not resolve, or it was unreachable)"
    } else {
        "the connection to the endpoint failed before its answer was complete"
    }
}
