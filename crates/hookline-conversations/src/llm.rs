//! Sending one request to an LLM through the engine's SSRF-safe client, with the retry rules of
//! the contract: connection errors, timeouts, 429 and 5xx are retried twice with backoff
//! (honouring `Retry-After` up to the LLM's timeout); a 4xx is an `llm_error` at once. Messages
//! never carry the key, nor reqwest's text (which may name addresses).
//!
//! The answer is read under bounds ([`ReadBounds`]): a line of its event stream, a whole JSON
//! answer (a server that ignored `stream: true`), an error answer's body (read up to 1 MiB, its
//! first KiB kept for the message), and what the parser keeps of tool calls.

use std::collections::VecDeque;
use std::time::Duration;

use futures::{Stream, StreamExt};
use serde_json::Value;
use tokio::time::Instant;

use hookline_core::repo::llms::StoredLlm;
use hookline_core::secrets::SecretString;
use hookline_core::settings::TurnLimits;
use hookline_engine::outbound::MAX_RESPONSE_BYTES;
use hookline_engine::retry::{self, Backoff};
use hookline_engine::Engine;

use crate::provider::{self, AnswerBounds, Api, Delta, StreamParser};
use crate::sse::SseReader;
use crate::views::TurnErrorKind;

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
    pub fn kind(&self) -> TurnErrorKind {
        match self {
            Self::Unavailable(_) => TurnErrorKind::LlmUnavailable,
            Self::Timeout(_) => TurnErrorKind::LlmTimeout,
            Self::Error(_) => TurnErrorKind::LlmError,
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

    pub fn api(&self) -> &'static dyn Api {
        provider::api(self.llm.provider())
    }
}

/// How much of an answer is read.
#[derive(Debug, Clone, Copy)]
pub struct ReadBounds {
    /// A line of the event stream, and a whole JSON answer, in bytes.
    pub line_bytes: usize,
    pub answer: AnswerBounds,
}

impl From<&TurnLimits> for ReadBounds {
    fn from(limits: &TurnLimits) -> Self {
        Self {
            line_bytes: limits.line_bytes,
            answer: AnswerBounds {
                argument_bytes: limits.argument_bytes,
                calls: limits.calls_per_response,
            },
        }
    }
}

/// A stream of deltas from one answer.
pub type Deltas = std::pin::Pin<Box<dyn Stream<Item = Result<Delta, LlmFailure>> + Send>>;

/// Sends `body` and returns the answer's deltas once it started streaming. Each attempt, and the
/// stream it returns, is bounded by the LLM's `timeoutSeconds`.
pub async fn stream(
    engine: &Engine,
    target: &Target,
    body: &Value,
    bounds: ReadBounds,
) -> Result<Deltas, LlmFailure> {
    let backoff = Backoff {
        base: FIRST_BACKOFF,
        max: target.timeout(),
    };
    let mut attempt = 1;
    loop {
        let deadline = Instant::now() + target.timeout();
        match open(engine, target, body, deadline).await {
            Ok(response) => return Ok(deltas(target, response, deadline, bounds)),
            Err((failure, retry_after)) if failure.retryable() && attempt < ATTEMPTS => {
                let wait = backoff.wait(attempt, retry_after);
                tracing::info!(llm_id = %target.llm.id, attempt, kind = failure.kind().as_str(), "retrying the LLM request");
                tokio::time::sleep(wait).await;
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
    let api = target.api();
    let url = api.endpoint(&target.llm.base_url);
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
    for (name, value) in api.auth_headers(key) {
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
    let retry_after = retry::retry_after(response.headers());
    // Its first KiB becomes the message; what was read of it is enough, cut or not.
    let body = tokio::time::timeout_at(deadline, read_capped(response, MAX_RESPONSE_BYTES))
        .await
        .ok()
        .and_then(Result::ok)
        .map(|(body, _)| body)
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

/// At most `cap` bytes of an answer's body, and whether there was more (not read: the connection
/// is dropped with the response). An error when the body broke off.
async fn read_capped(
    mut response: reqwest::Response,
    cap: usize,
) -> Result<(Vec<u8>, bool), reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > cap {
            let room = cap - body.len();
            body.extend_from_slice(&chunk[..room]);
            return Ok((body, true));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body, false))
}

/// The answer's deltas, ending at the deadline with `llm_timeout`. An event stream is parsed as
/// it comes; a JSON answer (`Content-Type: application/json`, from a server or proxy that ignored
/// `stream: true`) is read whole, up to the line bound, and parsed as the whole response.
/// Dropping the stream drops the connection at once (an interrupted turn).
fn deltas(
    target: &Target,
    response: reqwest::Response,
    deadline: Instant,
    bounds: ReadBounds,
) -> Deltas {
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let parser = target.api().parser(bounds.answer);
    let seconds = target.llm.timeout_seconds;
    if content_type.starts_with("application/json") {
        return Box::pin(
            futures::stream::once(whole(
                response,
                parser,
                deadline,
                seconds,
                bounds.line_bytes,
            ))
            .flat_map(futures::stream::iter),
        );
    }
    let state = Reader {
        events: SseReader::new(Box::pin(response.bytes_stream()), bounds.line_bytes),
        parser,
        queue: VecDeque::new(),
        finished: false,
        events_seen: false,
        content_type,
        seconds,
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

/// A JSON answer read whole and parsed as one.
async fn whole(
    response: reqwest::Response,
    mut parser: Box<dyn StreamParser>,
    deadline: Instant,
    seconds: i32,
    cap: usize,
) -> Vec<Result<Delta, LlmFailure>> {
    let read = tokio::time::timeout_at(deadline, read_capped(response, cap));
    let body = match read.await {
        Err(_) => return vec![Err(late(seconds))],
        Ok(Err(_)) => return vec![Err(broken())],
        Ok(Ok((_, true))) => {
            return vec![Err(LlmFailure::Error(format!(
                "the LLM answered JSON larger than {cap} bytes"
            )))]
        }
        Ok(Ok((body, false))) => body,
    };
    let parsed = serde_json::from_slice::<Value>(&body)
        .map_err(|_| LlmFailure::Error("the LLM answered with JSON that does not parse".into()))
        .and_then(|v| parser.whole(&v).map_err(|e| LlmFailure::Error(e.0)));
    match parsed {
        Ok(deltas) => deltas.into_iter().map(Ok).collect(),
        Err(f) => vec![Err(f)],
    }
}

fn broken() -> LlmFailure {
    LlmFailure::Unavailable("the LLM's stream broke off".into())
}

fn late(seconds: i32) -> LlmFailure {
    LlmFailure::Timeout(format!(
        "the LLM did not finish its answer within {seconds} seconds"
    ))
}

type Bytes = std::pin::Pin<Box<dyn Stream<Item = Result<bytes::Bytes, reqwest::Error>> + Send>>;

struct Reader {
    events: SseReader<Bytes>,
    parser: Box<dyn StreamParser>,
    queue: VecDeque<Result<Delta, LlmFailure>>,
    finished: bool,
    /// Whether any event came: a stream that ends without one is no answer.
    events_seen: bool,
    content_type: String,
    seconds: i32,
    deadline: Instant,
}

impl Reader {
    /// Reads one event into the queue; marks the end (done, broken off, late or malformed).
    async fn read(&mut self) {
        let batch = match tokio::time::timeout_at(self.deadline, self.events.next()).await {
            Err(_) => Err(late(self.seconds)),
            Ok(None) if !self.events_seen => Err(LlmFailure::Error(format!(
                "the LLM's answer held no events (Content-Type: {:?})",
                self.content_type
            ))),
            Ok(None) => Ok(self.parser.finish()),
            Ok(Some(Err(crate::sse::SseError::Broken))) => Err(broken()),
            Ok(Some(Err(e))) => Err(LlmFailure::Error(e.to_string())),
            Ok(Some(Ok(event))) => {
                self.events_seen = true;
                self.parser
                    .feed(&event.event, &event.data)
                    .map_err(|e| LlmFailure::Error(e.0))
            }
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
