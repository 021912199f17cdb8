//! Sending one request to an LLM through the engine's SSRF-safe client, with the retry rules of
//! the contract: connection errors, timeouts, 429 and 5xx are retried twice with backoff
//! (honouring `Retry-After` up to the LLM's timeout); a 4xx is an `llm_error` at once. Messages
//! never carry the key, nor reqwest's text (which may name addresses).

use std::collections::VecDeque;
use std::time::Duration;

use futures::{Stream, StreamExt};
use serde_json::Value;
use tokio::time::Instant;

use eventsource_stream::Eventsource;
use hookline_core::repo::llms::StoredLlm;
use hookline_core::secrets::SecretString;
use hookline_engine::Engine;

use crate::provider::{self, Delta, StreamParser};

/// Attempts per request: the first and two retries.
const ATTEMPTS: u32 = 3;
const FIRST_BACKOFF: Duration = Duration::from_millis(200);

/// Why a request to the LLM failed, as `error.kind` names it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LlmFailure {
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Timeout(String),
    #[error("{0}")]
    Error(String),
}

impl LlmFailure {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Unavailable(_) => "llm_unavailable",
            Self::Timeout(_) => "llm_timeout",
            Self::Error(_) => "llm_error",
        }
    }

    fn retryable(&self) -> bool {
        !matches!(self, Self::Error(_))
    }
}

/// Where requests go and how long each may take.
pub struct Target {
    pub llm: StoredLlm,
    pub api_key: Option<SecretString>,
}

impl Target {
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.llm.timeout_seconds.max(1) as u64)
    }
}

/// A stream of deltas from one answer.
pub type Deltas = std::pin::Pin<Box<dyn Stream<Item = Result<Delta, LlmFailure>> + Send>>;

/// Sends `body` and returns the answer's deltas once it started streaming. Each attempt, and the
/// stream it returns, is bounded by the LLM's `timeoutSeconds`.
pub async fn stream(engine: &Engine, target: &Target, body: &Value) -> Result<Deltas, LlmFailure> {
    let mut backoff = FIRST_BACKOFF;
    let mut attempt = 1;
    loop {
        let deadline = Instant::now() + target.timeout();
        match open(engine, target, body, deadline).await {
            Ok(response) => return Ok(deltas(target, response, deadline)),
            Err((failure, retry_after)) if failure.retryable() && attempt < ATTEMPTS => {
                let wait = retry_after.unwrap_or(backoff).min(target.timeout());
                tracing::info!(llm_id = %target.llm.id, attempt, kind = failure.kind(), "retrying the LLM request");
                tokio::time::sleep(wait).await;
                backoff *= 2;
                attempt += 1;
            }
            Err((failure, _)) => return Err(failure),
        }
    }
}

async fn open(
    engine: &Engine,
    target: &Target,
    body: &Value,
    deadline: Instant,
) -> Result<reqwest::Response, (LlmFailure, Option<Duration>)> {
    let provider = target.llm.provider();
    let url = provider::endpoint(provider, &target.llm.base_url);
    let refused = || {
        (
            LlmFailure::Unavailable("the LLM's address is not allowed".into()),
            None,
        )
    };
    let parsed = url::Url::parse(&url).map_err(|_| refused())?;
    if !engine.outbound_allowed(&parsed) {
        return Err(refused());
    }
    let mut request = engine
        .outbound_client()
        .post(parsed)
        .header("accept", "text/event-stream")
        .json(body);
    let key = target.api_key.as_ref().map(SecretString::expose);
    for (name, value) in provider::auth_headers(provider, key) {
        request = request.header(name, value);
    }
    let seconds = target.llm.timeout_seconds;
    let sent = tokio::time::timeout_at(deadline, request.send()).await;
    let response = match sent {
        Err(_) => {
            return Err((
                LlmFailure::Timeout(format!("the LLM did not answer within {seconds} seconds")),
                None,
            ))
        }
        Ok(Err(e)) => return Err((classify(&e), None)),
        Ok(Ok(r)) => r,
    };
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let body = tokio::time::timeout_at(deadline, response.bytes())
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    let message = format!(
        "the LLM answered {}: {}",
        status.as_u16(),
        provider::error_message(&body)
    );
    let failure = if status.as_u16() == 429 || status.is_server_error() {
        LlmFailure::Unavailable(message)
    } else {
        LlmFailure::Error(message)
    };
    Err((failure, retry_after))
}

fn classify(e: &reqwest::Error) -> LlmFailure {
    if hookline_engine::outbound::ssrf::find_blocked(e).is_some() {
        return LlmFailure::Unavailable("the LLM's address is not allowed".into());
    }
    tracing::warn!(error = %e.without_url_ref(), "the LLM request failed");
    if e.is_timeout() {
        LlmFailure::Timeout("could not connect to the LLM in time".into())
    } else {
        LlmFailure::Unavailable("could not connect to the LLM".into())
    }
}

trait WithoutUrl {
    fn without_url_ref(&self) -> String;
}

impl WithoutUrl for reqwest::Error {
    /// The error's causes, without the URL reqwest puts first.
    fn without_url_ref(&self) -> String {
        let mut out = String::new();
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&cause.to_string());
            source = cause.source();
        }
        out
    }
}

/// The answer's SSE events, parsed into deltas, ending at the deadline with `llm_timeout`.
/// Dropping the stream drops the connection at once (an interrupted turn).
fn deltas(target: &Target, response: reqwest::Response, deadline: Instant) -> Deltas {
    let state = Reader {
        events: Box::pin(response.bytes_stream().eventsource()),
        parser: provider::parser(target.llm.provider()),
        queue: VecDeque::new(),
        finished: false,
        seconds: target.llm.timeout_seconds,
        deadline,
    };
    Box::pin(futures::stream::unfold(state, |mut r| async move {
        loop {
            if let Some(item) = r.queue.pop_front() {
                return Some((item, r));
            }
            if r.finished {
                return None;
            }
            r.read().await;
        }
    }))
}

type Events = std::pin::Pin<
    Box<
        dyn Stream<
                Item = Result<
                    eventsource_stream::Event,
                    eventsource_stream::EventStreamError<reqwest::Error>,
                >,
            > + Send,
    >,
>;

struct Reader {
    events: Events,
    parser: Box<dyn StreamParser>,
    queue: VecDeque<Result<Delta, LlmFailure>>,
    finished: bool,
    seconds: i32,
    deadline: Instant,
}

impl Reader {
    /// Reads one event into the queue; marks the end (done, broken off, late or malformed).
    async fn read(&mut self) {
        let batch = match tokio::time::timeout_at(self.deadline, self.events.next()).await {
            Err(_) => Err(LlmFailure::Timeout(format!(
                "the LLM did not finish its answer within {} seconds",
                self.seconds
            ))),
            Ok(None) => Ok(self.parser.finish()),
            Ok(Some(Err(_))) => Err(LlmFailure::Unavailable("the LLM's stream broke off".into())),
            Ok(Some(Ok(event))) => self
                .parser
                .feed(&event.event, &event.data)
                .map_err(|e| LlmFailure::Error(e.0)),
        };
        match batch {
            Ok(deltas) => {
                self.finished = deltas.iter().any(|d| matches!(d, Delta::Done(_)));
                self.queue.extend(deltas.into_iter().map(Ok));
            }
            Err(e) => {
                self.finished = true;
                self.queue.push_back(Err(e));
            }
        }
    }
}
