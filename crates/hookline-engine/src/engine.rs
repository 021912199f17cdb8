//! The engine: runs one tool call from start to finish. A library first — `Engine::call` is what
//! the HTTP route calls, and what an internal service can call without HTTP.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::{json, Map, Value};
use sqlx::postgres::PgConnectOptions;
use sqlx::PgPool;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use uuid::Uuid;

use hookline_core::http::CoreState;
use hookline_core::hub::{self, EventHub};
use hookline_core::repo::events;
use hookline_core::repo::tool_calls::{self, CallRecord, CallToStart, Finish, Started};
use hookline_core::sealed_tool::SealedTool;
use hookline_core::session_end;
use hookline_core::snapshot::SnapshotTool;
use hookline_core::{Settings, StoreError};
use hookline_schema::definition::{ClientTool, SystemTool, SystemToolName};
use hookline_schema::endpoint;
use hookline_schema::{ToolDefinition, Violations};

use crate::cache::{CachedSession, Caches};
use crate::call_log::{CallLog, Entry};
use crate::outbound::{self, ssrf};
use crate::outcome::{error_value, ErrorKind, Outcome};
use crate::request::{self, Signing};
use crate::starter::Starter;
use crate::validation::Checker;
use crate::views::{CallAnswerView, ToolCallEventData};

/// Longest a `toolCallId` may be.
pub const MAX_TOOL_CALL_ID_CHARS: usize = 128;
/// How often a waiting client-tool call looks at its row although no announcement came (a safety
/// net under NOTIFY, which wakes it as soon as an answer is stored on any instance).
const CLIENT_RECHECK: Duration = Duration::from_secs(2);

/// A call as the conversation runtime asks for it.
#[derive(Debug, Clone)]
pub struct CallRequest {
    pub tool_call_id: Option<String>,
    pub tool_name: String,
    pub arguments: Value,
    /// `end_call` leaves the session to the caller to end: the conversation runtime ends it
    /// once the persona's reply is complete, so `sessionEnded` comes after the reply.
    pub defer_end: bool,
}

/// Why a call could not even start.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("session not found")]
    NoSession,
    #[error("the session has ended")]
    SessionEnded,
    #[error("the session has expired")]
    SessionExpired,
    #[error("the request is invalid: {0}")]
    Invalid(Violations),
    /// This instance already waits for as many browser answers as it may.
    #[error("too many client-tool calls are waiting for an answer on this instance")]
    Busy,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The answer to a call: 200 with its outcome, or 202 when it goes on without the caller.
#[derive(Debug, Clone)]
pub struct CallAnswer {
    pub accepted: bool,
    pub body: CallAnswerView,
}

pub struct Engine {
    pub(crate) pool: PgPool,
    pub(crate) settings: Arc<Settings>,
    pub(crate) client: reqwest::Client,
    pub(crate) caches: Arc<Caches>,
    /// Runs argument checks off the runtime, bounded.
    pub(crate) checker: Checker,
    pub(crate) log: CallLog,
    fast_starter: Starter,
    durable_starter: Starter,
    /// Wakes the delivery workers when a fire-and-forget call is accepted.
    pub(crate) wake: Notify,
    /// Word of stored events: a client-tool call's answer, posted to any instance, wakes it.
    hub: EventHub,
    /// Permits for client-tool calls waiting for the browser's answer.
    client_waits: Arc<Semaphore>,
}

impl Engine {
    /// Builds the engine and starts its call-log writer.
    pub async fn start(core: &CoreState) -> Result<Arc<Self>, StoreError> {
        let options = core
            .pool
            .connect_options()
            .as_ref()
            .clone()
            .options([("synchronous_commit", "off")]);
        let fast_pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(5))
            .connect_lazy_with(PgConnectOptions::clone(&options));
        let log = CallLog::start(fast_pool.clone());
        // `fast_pool` commits without waiting for the disk: it writes the call log of answered
        // calls, whose loss in a crash costs a log line, never a promise. Fire-and-forget calls
        // are started on the durable pool.
        Ok(Arc::new(Self {
            fast_starter: Starter::start(fast_pool),
            durable_starter: Starter::start(core.pool.clone()),
            pool: core.pool.clone(),
            client: outbound::client(Arc::new(core.settings.destinations.clone())),
            settings: core.settings.clone(),
            caches: Arc::default(),
            checker: Checker::default(),
            log,
            wake: Notify::new(),
            hub: core.hub.clone(),
            client_waits: Arc::new(Semaphore::new(core.settings.limits.client_waits)),
        }))
    }

    /// The SSRF-safe outbound client (vetting resolver, no redirects, no proxies), for other
    /// outbound requests under the same rules, such as the conversation runtime's LLM requests.
    pub fn outbound_client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Whether the mode rules allow a request to `url` (scheme, and a literal address, which the
    /// vetting resolver never sees); names are vetted after resolution by the client.
    pub fn outbound_allowed(&self, url: &url::Url) -> bool {
        self.destination_allowed(url)
    }

    /// Writes what the call log still holds (for a graceful shutdown).
    pub async fn flush(&self) {
        self.log.flush().await;
    }

    /// Writes everything the call log holds before the process ends.
    pub async fn shutdown(&self) {
        self.flush().await;
    }

    /// Runs a call of the organization's session.
    #[tracing::instrument(skip_all, fields(session_id = %session_id, tool = %request.tool_name))]
    pub async fn call(
        &self,
        org_id: Uuid,
        session_id: Uuid,
        request: CallRequest,
    ) -> Result<CallAnswer, CallError> {
        let session = self
            .caches
            .session(&self.pool, org_id, session_id)
            .await?
            .ok_or(CallError::NoSession)?;
        let mut problems = Violations::new();
        if let Some(id) = &request.tool_call_id {
            if id.is_empty() || id.chars().count() > MAX_TOOL_CALL_ID_CHARS {
                problems.rule("toolCallId", "must be 1 to 128 characters");
            }
        }
        let tool = session.config.tool(&request.tool_name);
        if tool.is_none() {
            let names: Vec<&str> = session
                .config
                .tools
                .iter()
                .map(|t| t.tool.definition.name())
                .collect();
            problems.rule(
                "toolName",
                format!(
                    "the session has no tool of that name (it has: {})",
                    names.join(", ")
                ),
            );
        }
        let (Some(tool), true) = (tool, problems.is_empty()) else {
            return Err(CallError::Invalid(problems));
        };
        // Taken before the call is stored, so a refused call leaves nothing behind.
        let wait_permit = match &tool.tool.definition {
            ToolDefinition::Client(c) if c.await_result => Some(
                self.client_waits
                    .clone()
                    .try_acquire_owned()
                    .map_err(|_| CallError::Busy)?,
            ),
            _ => None,
        };
        let id = Uuid::now_v7();
        let tool_call_id = request
            .tool_call_id
            .clone()
            .unwrap_or_else(|| id.to_string());
        let definition = &tool.tool.definition;
        // Checked before the call is stored: an invalid fire-and-forget call must never be
        // queued for delivery, not even for a moment.
        let invalid = self
            .check_arguments(&session, &request.tool_name, &request.arguments)
            .await;
        let fire_and_forget = invalid.is_empty()
            && matches!(definition, ToolDefinition::Server(w) if !w.await_response);
        let call = StartedCall {
            id,
            tool_call_id,
            session: session.clone(),
            tool,
            arguments: request.arguments,
            started: Instant::now(),
        };
        let new = CallToStart {
            id,
            org_id,
            session_id,
            tool_call_id: call.tool_call_id.clone(),
            tool_name: definition.name().to_owned(),
            tool_type: definition.tool_type().to_owned(),
            status: if fire_and_forget {
                "pending"
            } else {
                "running"
            }
            .to_owned(),
            await_response: !fire_and_forget,
            arguments: call.arguments.clone(),
            next_attempt_at: fire_and_forget.then(Utc::now),
        };
        // A fire-and-forget call is a promise: it is committed durably before the 202.
        let starter = if fire_and_forget {
            &self.durable_starter
        } else {
            &self.fast_starter
        };
        match starter.begin(new).await? {
            Started::Started => {}
            Started::Repeated => {
                let record =
                    tool_calls::by_tool_call_id(&self.pool, session_id, &call.tool_call_id)
                        .await?
                        .ok_or(CallError::NoSession)?;
                return self.repeated(record).await;
            }
            Started::NoSession => return Err(CallError::NoSession),
            Started::SessionEnded => return Err(CallError::SessionEnded),
            Started::SessionExpired => return Err(CallError::SessionExpired),
        }
        self.log
            .event(
                session_id,
                events::TOOL_CALL_STARTED,
                call.event_data().to_value(),
            )
            .await;

        if !invalid.is_empty() {
            let mut outcome = Outcome::failed(
                ErrorKind::InvalidArguments,
                format!("the arguments do not match the tool's parameters: {invalid}"),
            );
            if let Some(Value::Object(error)) = &mut outcome.error {
                error.insert("errors".into(), json!(invalid.errors()));
            }
            return Ok(self.settle(&call, None, outcome, 0).await);
        }

        match definition {
            ToolDefinition::Server(_) if fire_and_forget => {
                self.wake.notify_one();
                Ok(CallAnswer {
                    accepted: true,
                    body: CallAnswerView::pending(id, &call.tool_call_id),
                })
            }
            ToolDefinition::Server(_) => {
                let (request, outcome) = self
                    .attempt(org_id, &tool.tool, &call.arguments, &id.to_string())
                    .await;
                Ok(self.settle(&call, request, outcome, 1).await)
            }
            ToolDefinition::Client(client) => self.client_call(&call, client, wait_permit).await,
            ToolDefinition::System(system) => {
                self.system_call(&call, system, request.defer_end).await
            }
        }
    }

    /// Every problem with a call's arguments: the tool's schema (checked here when the check is
    /// bounded small work, otherwise off the runtime, see [`Checker`]) and, for webhooks, the
    /// values its URL's path templates would take.
    async fn check_arguments(
        &self,
        session: &Arc<CachedSession>,
        tool_name: &str,
        arguments: &Value,
    ) -> Violations {
        // The usual check (a compiled validator, a few arguments) costs microseconds: run it
        // here. Compiling, and checks whose size is not bounded small, go off the runtime.
        let compiled = session
            .config
            .tool(tool_name)
            .and_then(|tool| self.caches.compiled_validator(session.id, tool))
            .filter(|v| v.is_cheap_for(arguments));
        if let Some(validator) = compiled {
            let found = validator.validate(arguments);
            return path_problems(session, tool_name, arguments, found);
        }
        let (caches, shared, name, args) = (
            self.caches.clone(),
            session.clone(),
            tool_name.to_owned(),
            arguments.clone(),
        );
        let found = self
            .checker
            .run(move || {
                let tool = shared
                    .config
                    .tool(&name)
                    .expect("the tool was found before");
                caches
                    .validator(shared.id, tool)
                    .map(|v| v.validate(&args))
                    .unwrap_or_else(|e| Violations::single("arguments", e))
            })
            .await;
        path_problems(session, tool_name, arguments, found)
    }

    /// The stored call for a repeated `toolCallId`. If it looks unfinished, its end may still sit
    /// in this instance's call-log queue: write that out and look again.
    async fn repeated(&self, record: CallRecord) -> Result<CallAnswer, CallError> {
        if record.status == "completed" || record.status == "failed" {
            return Ok(answer_for_record(&record));
        }
        self.log.flush().await;
        let fresh = tool_calls::get(&self.pool, record.org_id, record.id).await?;
        Ok(answer_for_record(fresh.as_ref().unwrap_or(&record)))
    }

    /// Builds, signs and sends one request of a webhook tool. Returns the request as sent
    /// (masked) and what came of it.
    pub(crate) async fn attempt(
        &self,
        org_id: Uuid,
        tool: &SealedTool,
        arguments: &Value,
        call_id: &str,
    ) -> (Option<Value>, Outcome) {
        let ToolDefinition::Server(webhook) = &tool.definition else {
            return (
                None,
                Outcome::failed(ErrorKind::Connection, "not a webhook tool"),
            );
        };
        let built = match self.build(org_id, tool, arguments, call_id).await {
            Ok(built) => built,
            Err(e) => return (None, prepare_failed(org_id, tool, &e)),
        };
        let view = built.masked_view();
        if !self.destination_allowed(&built.url) {
            return (
                Some(view),
                Outcome::failed(ErrorKind::BlockedDestination, ssrf::NOT_ALLOWED),
            );
        }
        let request = match built.to_reqwest(&self.client) {
            Ok(r) => r,
            Err(e) => {
                let cause = PrepareError::Other(e.to_string());
                return (Some(view), prepare_failed(org_id, tool, &cause));
            }
        };
        let timeout = Duration::from_secs(u64::from(webhook.timeout_seconds.min(60)));
        let sent = outbound::send(&self.client, request, timeout).await;
        (Some(view), Outcome::from_send(sent))
    }

    pub(crate) async fn build(
        &self,
        org_id: Uuid,
        tool: &SealedTool,
        arguments: &Value,
        call_id: &str,
    ) -> Result<request::BuiltRequest, PrepareError> {
        let ToolDefinition::Server(webhook) = &tool.definition else {
            return Err(PrepareError::Other("not a webhook tool".into()));
        };
        let secrets = self
            .caches
            .signing_secrets(&self.pool, &self.settings.secrets, org_id)
            .await
            .map_err(|e| match e {
                hookline_core::StoreError::Secret(s) => PrepareError::secret("signing secret", s),
                other => PrepareError::Other(other.to_string()),
            })?;
        let empty = Map::new();
        let arguments = arguments.as_object().unwrap_or(&empty);
        let headers = tool
            .open_headers(org_id, &self.settings.secrets)
            .map_err(|e| PrepareError::secret("header value", e))?;
        request::build(
            webhook,
            &headers,
            arguments,
            &Signing {
                call_id,
                timestamp: Utc::now().timestamp(),
                secrets: &secrets,
            },
        )
        .map_err(|e| PrepareError::Other(e.to_string()))
    }

    /// What the mode rules allow, checked again when a call is made (a tool defined by a server
    /// in development mode may be run by one in production mode): the scheme, and a literal IP
    /// address, which skips name resolution and so the vetting resolver. Details go to the log.
    fn destination_allowed(&self, url: &url::Url) -> bool {
        let policy = &self.settings.destinations;
        if !endpoint::scheme_allowed(url, policy) {
            tracing::warn!(
                scheme = url.scheme(),
                host = url.host_str().unwrap_or_default(),
                "a call over a scheme this mode refuses was not made"
            );
            return false;
        }
        match endpoint::literal_ip(url).map(|ip| ssrf::check(policy, &ip.to_string(), ip)) {
            Some(Err(blocked)) => {
                blocked.log();
                false
            }
            _ => true,
        }
    }

    /// Records how a call ended, emits its last event, counts it, and answers the caller.
    async fn settle(
        &self,
        call: &StartedCall<'_>,
        request: Option<Value>,
        outcome: Outcome,
        attempts: i32,
    ) -> CallAnswer {
        let elapsed = call.started.elapsed();
        let ms = elapsed.as_millis() as i64;
        let status = if outcome.completed {
            "completed"
        } else {
            "failed"
        };
        crate::metrics::record_call(call.tool.tool.definition.tool_type(), &outcome, elapsed);
        let now = Utc::now();
        // The answer and the event copy what they need; the call log then takes the rest whole.
        let body = CallAnswerView::ended(call.id, &call.tool_call_id, status, &outcome, ms);
        let (event, data) = call.end_event(&outcome, ms);
        let attempt = (attempts > 0).then(|| attempt_entry(now, &outcome, ms));
        self.log
            .push(Entry::Finish {
                session_id: call.session.id,
                event,
                data,
                finish: Box::new(Finish {
                    id: call.id,
                    status: status.into(),
                    request,
                    response: outcome.response,
                    result: Some(outcome.result),
                    error: outcome.error,
                    http_status: outcome.http_status.map(i32::from),
                    truncated: outcome.truncated,
                    execution_time_ms: ms,
                    attempts,
                    attempt,
                    next_attempt_at: None,
                    completed_at: Some(now),
                }),
            })
            .await;
        CallAnswer {
            accepted: false,
            body,
        }
    }

    async fn system_call(
        &self,
        call: &StartedCall<'_>,
        system: &SystemTool,
        defer_end: bool,
    ) -> Result<CallAnswer, CallError> {
        let result = match system.name {
            SystemToolName::EndCall => json!({"ended": true}),
            _ => json!({"acknowledged": true}),
        };
        let outcome = Outcome {
            completed: true,
            result,
            error: None,
            http_status: None,
            truncated: false,
            response: None,
            retryable: false,
            retry_after: None,
        };
        let answer = self.settle(call, None, outcome, 0).await;
        if system.name == SystemToolName::EndCall && !defer_end {
            // This call's own end is still queued: `sessionEnded` is written after it.
            session_end::end(&self.pool, call.session.org_id, call.session.id).await?;
        }
        Ok(answer)
    }

    async fn client_call(
        &self,
        call: &StartedCall<'_>,
        client: &ClientTool,
        permit: Option<OwnedSemaphorePermit>,
    ) -> Result<CallAnswer, CallError> {
        let pending = CallAnswer {
            accepted: true,
            body: CallAnswerView::pending(call.id, &call.tool_call_id),
        };
        // The started event must be stored before the browser can answer it.
        self.log.flush().await;
        let Some(_permit) = permit else {
            return Ok(pending);
        };
        let deadline = tokio::time::Instant::now()
            + Duration::from_secs(u64::from(client.result_timeout_seconds));
        // Subscribed before the first look, so an answer stored in between still wakes us. The
        // answer may be posted to any instance; its event's announcement reaches every one.
        let mut notes = self.hub.subscribe();
        let org_id = call.session.org_id;
        let record = loop {
            if let Some(r) = tool_calls::get(&self.pool, org_id, call.id).await? {
                if r.status == "completed" || r.status == "failed" {
                    break Some(r);
                }
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                break None;
            }
            if !hub::wait_for_session(&mut notes, call.session.id, CLIENT_RECHECK.min(left)).await {
                // The hub has stopped (the process is closing): fall back to looking now and then.
                tokio::time::sleep(CLIENT_RECHECK.min(left)).await;
            }
        };
        if let Some(record) = record {
            return Ok(answer_for_record(&record));
        }
        let message = format!(
            "the browser did not answer within {} seconds",
            client.result_timeout_seconds
        );
        let error = error_value(ErrorKind::ClientTimeout, &message);
        match tool_calls::settle_client_call(
            &self.pool,
            call.session.id,
            &call.tool_call_id,
            "failed",
            None,
            Some(&error),
        )
        .await?
        {
            Some(record) => {
                let ms = record.execution_time_ms.unwrap_or_default();
                let outcome = Outcome::failed(ErrorKind::ClientTimeout, message);
                crate::metrics::record_call("client", &outcome, call.started.elapsed());
                let (event, data) = call.end_event(&outcome, ms);
                self.log.event(call.session.id, event, data).await;
                Ok(answer_for_record(&record))
            }
            // The answer came in at the last moment.
            None => Ok(tool_calls::get(&self.pool, org_id, call.id)
                .await?
                .map_or(pending, |r| answer_for_record(&r))),
        }
    }
}

/// Why a call could not be prepared.
pub(crate) enum PrepareError {
    /// A stored secret (`what`) was sealed with key `key_id`, which is not configured: the
    /// operator must add that key, so it gets its own kind and says which key.
    MissingKey {
        what: &'static str,
        key_id: String,
    },
    Other(String),
}

impl PrepareError {
    fn secret(what: &'static str, e: hookline_core::secrets::SecretError) -> Self {
        match e {
            hookline_core::secrets::SecretError::UnknownKey(key_id) => {
                Self::MissingKey { what, key_id }
            }
            other => Self::Other(format!("a stored {what} does not open: {other}")),
        }
    }

    /// The answer of a route that prepares a request without running it (the dry run).
    pub(crate) fn into_api_error(self) -> hookline_core::http::ApiError {
        match self {
            Self::MissingKey { .. } => hookline_core::http::ApiError::new(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                format!("{self}; the operator must add that key to HOOKLINE_ENCRYPTION_OLD_KEYS"),
            )
            .with("kind", json!(ErrorKind::EncryptionKeyMissing.as_str())),
            Self::Other(e) => hookline_core::http::ApiError::internal(e),
        }
    }
}

impl std::fmt::Display for PrepareError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::MissingKey { what, key_id } => write!(
                f,
                "a stored {what} was encrypted with key {key_id}, which this server is not configured with"
            ),
            Self::Other(e) => f.write_str(e),
        }
    }
}

/// The schema's problems, or when there are none, those of the values a webhook's path
/// templates would take.
fn path_problems(
    session: &CachedSession,
    tool_name: &str,
    arguments: &Value,
    found: Violations,
) -> Violations {
    if found.is_empty() {
        if let Some(ToolDefinition::Server(webhook)) =
            session.config.tool(tool_name).map(|t| &t.tool.definition)
        {
            return request::path_value_problems(webhook, arguments);
        }
    }
    found
}

/// A call that could not be prepared (its secrets did not open, say): the cause goes to the log
/// with the organization and tool it concerns; the LLM hears that it failed on our side.
fn prepare_failed(org_id: Uuid, tool: &SealedTool, cause: &PrepareError) -> Outcome {
    let tool_name = tool.definition.name();
    match cause {
        PrepareError::MissingKey { what, key_id } => {
            tracing::error!(%org_id, tool = %tool_name, %key_id, secret = %what,
                "a call could not be prepared: a stored secret was encrypted with a key this server is not configured with (add it to HOOKLINE_ENCRYPTION_OLD_KEYS)");
            Outcome::failed(
                ErrorKind::EncryptionKeyMissing,
                format!("the call could not be prepared on our side: {cause}"),
            )
        }
        PrepareError::Other(e) => {
            tracing::error!(%org_id, tool = %tool_name, error = %e, "a call could not be prepared");
            Outcome::failed(
                ErrorKind::Connection,
                "the call could not be prepared on our side",
            )
        }
    }
}

/// A call between its start and its end.
pub(crate) struct StartedCall<'a> {
    pub id: Uuid,
    pub tool_call_id: String,
    pub session: Arc<CachedSession>,
    pub tool: &'a SnapshotTool,
    pub arguments: Value,
    pub started: Instant,
}

impl StartedCall<'_> {
    /// The event data every tool-call event carries (the JS SDK's field names).
    fn event_data(&self) -> ToolCallEventData {
        call_event_data(
            self.session.id,
            &self.tool_call_id,
            &self.tool.tool.definition,
            &self.arguments,
        )
    }

    fn end_event(&self, outcome: &Outcome, ms: i64) -> (&'static str, Value) {
        end_event(outcome, ms, self.event_data())
    }
}

pub(crate) fn call_event_data(
    session_id: Uuid,
    tool_call_id: &str,
    definition: &ToolDefinition,
    arguments: &Value,
) -> ToolCallEventData {
    ToolCallEventData {
        event_uid: Uuid::now_v7(),
        session_id,
        tool_call_id: tool_call_id.to_owned(),
        tool_name: definition.name().to_owned(),
        tool_type: definition.tool_type(),
        tool_subtype: definition.subtype(),
        arguments: arguments.clone(),
        timestamp: Utc::now(),
        execution_time: None,
        result: None,
        error_message: None,
    }
}

/// `toolCallCompleted` with the result, or `toolCallFailed` with the error message.
pub(crate) fn end_event(
    outcome: &Outcome,
    ms: i64,
    mut data: ToolCallEventData,
) -> (&'static str, Value) {
    data.execution_time = Some(ms);
    let event = if outcome.completed {
        data.result = Some(outcome.result.clone());
        events::TOOL_CALL_COMPLETED
    } else {
        let message = outcome.error_message().unwrap_or("the call failed");
        data.error_message = Some(message.to_owned());
        events::TOOL_CALL_FAILED
    };
    (event, data.to_value())
}

pub(crate) fn attempt_entry(at: chrono::DateTime<Utc>, outcome: &Outcome, ms: i64) -> Value {
    json!({
        "at": at,
        "outcome": if outcome.completed { "completed" } else { outcome.error_kind().unwrap_or("failed") },
        "httpStatus": outcome.http_status,
        "executionTime": ms,
    })
}

/// The answer for a call already stored (a repeated `toolCallId`, or a client answer).
pub(crate) fn answer_for_record(r: &CallRecord) -> CallAnswer {
    let body = CallAnswerView::of_record(r);
    CallAnswer {
        accepted: body.result.is_none(),
        body,
    }
}
