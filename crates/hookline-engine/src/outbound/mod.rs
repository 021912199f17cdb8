//! Outbound HTTP: one pooled client behind the SSRF guard, no redirects, no proxies from the
//! environment, connect and total timeouts, and a cap on how much of an answer is read.

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
    #[error("could not connect: {0}")]
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

fn classify(e: reqwest::Error) -> SendError {
    if let Some(blocked) = ssrf::find_blocked(&e) {
        return SendError::Blocked(blocked);
    }
    if e.is_timeout() {
        return SendError::Timeout(format!(
            "could not connect within {} seconds",
            CONNECT_TIMEOUT.as_secs()
        ));
    }
    let mut message = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        message = format!("{message}: {cause}");
        source = cause.source();
    }
    SendError::Connection(message)
}
