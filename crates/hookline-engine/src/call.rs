//! The engine: runs one tool call from start to finish. A library first — `Engine::call` is what
//! the HTTP route calls, and what an internal service can call without HTTP.
//!
//! This module holds the engine itself and `Engine::call`, which checks a call, stores it and
//! hands it to the part that runs its kind of tool; each job has its module below.

mod answers;
mod arguments;
mod client_tools;
mod connections;
mod knowledge;
mod limits;
mod mcp_sources;
mod prepare_error;
mod settle;
mod shaping;
mod system_tools;
pub(crate) mod variables;
mod webhook;

use std::sync::Arc;
use std::time::Instant;

use serde_json::Value;
use sqlx::PgPool;
use tokio::sync::{Notify, Semaphore};
use uuid::Uuid;

use hookline_core::http::CoreState;
use hookline_core::hub::EventHub;
use hookline_core::repo::tool_calls::{self, Started};
use hookline_core::snapshot::SnapshotTool;
use hookline_core::{ErrorKind, EventName, Settings, StoreError};
use hookline_schema::{ToolDefinition, Violations, WebhookTool};

use crate::cache::{CachedSession, Caches};
use crate::call_log::{CallLog, CallRecorder};
use crate::outbound;
use crate::outcome::Outcome;
use crate::starter::Starter;
use crate::validation::Checker;
use crate::views::CallAnswerView;

pub(crate) use settle::{attempt_entry, call_event_data, end_event, StartedCall};

/// Longest a `toolCallId` may be.
pub const MAX_TOOL_CALL_ID_CHARS: usize = 128;

/// A call as the conversation runtime asks for it.
#[derive(Clone)]
pub struct CallRequest {
    pub tool_call_id: Option<String>,
    pub tool_name: String,
    pub arguments: Value,
    /// `end_call` leaves the session to the caller to end: the conversation runtime ends it
    /// once the persona's reply is complete, so `sessionEnded` comes after the reply.
    pub defer_end: bool,
    /// The caller's own writer for the session's events, used for a call settled before its
    /// answer (see [`CallAnswer::recorded`]); `None`: the engine's call log.
    pub recorder: Option<Arc<dyn CallRecorder>>,
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
    /// The call's events went to the caller's [`CallRecorder`]. When false, a caller that
    /// numbers events of its own after them waits for [`Engine::written`] first.
    pub recorded: bool,
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
    pub(crate) hub: EventHub,
    /// Permits for client-tool calls waiting for the browser's answer.
    client_waits: Arc<Semaphore>,
    /// What each session's MCP tool sources listed (see [`mcp_sources`]).
    pub(crate) mcp_listings: mcp_sources::Listings,
    /// Pauses endpoints of tools without limits asked for (see [`limits`]).
    pub(crate) paused: limits::Paused,
    /// Access tokens of connections (see [`connections`]).
    pub(crate) tokens: connections::Tokens,
    /// What the knowledge crate's search takes (a knowledge tool's call runs it).
    pub(crate) core: CoreState,
    /// Sends embedding requests (a hybrid search's query) through `client`.
    embedder: hookline_knowledge::Embedder,
}

impl Engine {
    /// Builds the engine and starts its call-log writer.
    pub async fn start(core: &CoreState) -> Result<Arc<Self>, StoreError> {
        let fast_pool =
            hookline_core::db::fast_pool(&core.pool, core.settings.database.fast_pool_size);
        core.away.watch(&fast_pool);
        let log = CallLog::start(fast_pool.clone());
        // `fast_pool` commits without waiting for the disk: it writes the call log of answered
        // calls, whose loss in a crash costs a log line, never a promise. Fire-and-forget calls
        // are started on the durable pool.
        let client = outbound::client(Arc::new(core.settings.destinations.clone()));
        let policy = Arc::new(core.settings.destinations.clone());
        let embedder = hookline_knowledge::Embedder::new(
            client.clone(),
            Arc::new(move |url: &url::Url| webhook::destination_allowed(&policy, url)),
        );
        Ok(Arc::new(Self {
            embedder,
            fast_starter: Starter::start(fast_pool, core.away.clone()),
            durable_starter: Starter::start(core.pool.clone(), core.away.clone()),
            pool: core.pool.clone(),
            client,
            settings: core.settings.clone(),
            caches: Arc::new(Caches::start(&core.hub)),
            checker: Checker::default(),
            log,
            wake: Notify::new(),
            hub: core.hub.clone(),
            client_waits: Arc::new(Semaphore::new(core.settings.limits.client_waits)),
            mcp_listings: mcp_sources::Listings::new(&core.settings.mcp),
            paused: limits::Paused::default(),
            tokens: connections::Tokens::default(),
            core: core.clone(),
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

    /// What the knowledge crate sends embedding requests with: this client, under the same
    /// destination rules as every outbound call.
    pub fn embedder(&self) -> &hookline_knowledge::Embedder {
        &self.embedder
    }

    /// Writes everything the call log holds: the last step of a graceful shutdown.
    pub async fn flush(&self) {
        self.log.flush().await;
    }

    /// Waits until the events of this session's calls answered so far are written and
    /// numbered, so whatever the caller writes next for the session is numbered after them
    /// (the conversation runtime's next round after a tool's `toolCallCompleted`).
    pub async fn written(&self, session_id: Uuid) {
        self.log.flush_session(session_id).await;
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
        self.call_in(session, request).await
    }

    /// Runs a call of a session whose snapshot its caller keeps: an MCP session, whose tools
    /// follow its persona's, so its snapshot may change and is kept (and dropped when it changes)
    /// by the MCP server rather than by this engine's cache of snapshots that never change. That
    /// the session is still active is checked when the call is stored, as for any call.
    #[tracing::instrument(skip_all, fields(session_id = %session.id, tool = %request.tool_name))]
    pub async fn call_in_session(
        &self,
        session: Arc<CachedSession>,
        request: CallRequest,
    ) -> Result<CallAnswer, CallError> {
        self.call_in(session, request).await
    }

    async fn call_in(
        &self,
        session: Arc<CachedSession>,
        request: CallRequest,
    ) -> Result<CallAnswer, CallError> {
        let (org_id, session_id) = (session.org_id, session.id);
        if session.config.tool(&request.tool_name).is_none() {
            if let Some((source, remote)) = self.mcp_source_of(&session, &request.tool_name) {
                return self
                    .source_call(session.clone(), source, remote, request)
                    .await;
            }
        }
        let tool = named_tool(&session, &request)?;
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
        let plan = Plan::of(definition, invalid.is_empty());
        let recorder = request.recorder;
        let call = StartedCall {
            id,
            tool_call_id,
            session: session.clone(),
            tool,
            llm_name: None,
            arguments: request.arguments,
            started: Instant::now(),
            recorder: recorder.clone().filter(|_| plan.settles_here),
        };
        let new = call.to_start(plan.fire_and_forget);
        // A fire-and-forget call is a promise: it is committed durably before the 202.
        let starter = if plan.fire_and_forget {
            &self.durable_starter
        } else {
            &self.fast_starter
        };
        let prepare = async {
            if plan.awaited_webhook {
                let call_id = id.to_string();
                let scope = variables::Scope::Session {
                    session_id,
                    config: &session.config,
                };
                Some(
                    self.prepare(org_id, &tool.tool, &call.arguments, &call_id, scope)
                        .await,
                )
            } else {
                None
            }
        };
        let (started, prepared) = tokio::join!(starter.begin(new), prepare);
        if let Some(refused) = self
            .not_begun(
                started?,
                session_id,
                &call.tool_call_id,
                recorder.as_deref(),
            )
            .await
        {
            return refused;
        }
        self.record_event(
            &call,
            EventName::ToolCallStarted,
            call.event_data().to_value(),
        )
        .await;

        if !invalid.is_empty() {
            return Ok(self
                .settle(&call, None, invalid_arguments(&invalid), 0)
                .await);
        }

        let defer_end = request.defer_end;
        self.run_started(&call, definition, plan, prepared, wait_permit, defer_end)
            .await
    }

    /// A valid call once its row is in, run the way its tool runs.
    async fn run_started(
        &self,
        call: &StartedCall<'_>,
        definition: &ToolDefinition,
        plan: Plan,
        prepared: Option<webhook::Prepared>,
        wait_permit: Option<tokio::sync::OwnedSemaphorePermit>,
        defer_end: bool,
    ) -> Result<CallAnswer, CallError> {
        match definition {
            ToolDefinition::Server(w) if w.is_knowledge() => self.knowledge_call(call, w).await,
            ToolDefinition::Server(_) if plan.fire_and_forget => {
                self.wake.notify_one();
                Ok(CallAnswer {
                    accepted: true,
                    body: CallAnswerView::pending(call.id, &call.tool_call_id),
                    recorded: false,
                })
            }
            ToolDefinition::Server(hook) => Ok(self.awaited_webhook(call, hook, prepared).await),
            ToolDefinition::Client(client) => self.client_call(call, client, wait_permit).await,
            ToolDefinition::System(system) => self.system_call(call, system, defer_end).await,
        }
    }

    /// An awaited webhook call once its row is in: waits for its endpoint's turn (per-endpoint
    /// limits), sends the request prepared beside the row's write (or builds it now), and
    /// settles with the shaped outcome.
    async fn awaited_webhook(
        &self,
        call: &StartedCall<'_>,
        hook: &WebhookTool,
        prepared: Option<webhook::Prepared>,
    ) -> CallAnswer {
        let (org_id, session_id) = (call.session.org_id, call.session.id);
        let timeout = std::time::Duration::from_secs(u64::from(hook.timeout_seconds));
        // A request that could not be built (a variable without a value...) ends without
        // waiting for a turn.
        let turn = if matches!(prepared, Some(webhook::Prepared::Ended(..))) {
            Ok(None)
        } else {
            self.wait_turn(org_id, hook, call.id, call.started + timeout)
                .await
        };
        let held = match turn {
            Ok(held) => held,
            Err(refused) => {
                let view = prepared.and_then(webhook::Prepared::into_view);
                return self.settle(call, view, refused, 0).await;
            }
        };
        let (request, outcome) = match prepared {
            Some(prepared) => self.send_prepared(prepared).await,
            None => {
                let scope = variables::Scope::Session {
                    session_id,
                    config: &call.session.config,
                };
                let call_id = call.id.to_string();
                self.attempt(org_id, &call.tool.tool, &call.arguments, &call_id, scope)
                    .await
            }
        };
        self.end_turn(org_id, hook, held, &outcome).await;
        let outcome = self
            .shape(
                org_id,
                Some(session_id),
                &call.tool.tool.definition,
                outcome,
            )
            .await;
        self.settle(call, request, outcome, 1).await
    }

    /// The answer to a start that began no new call: the stored call of a repeated
    /// `toolCallId`, or why the session refused it. `None` when the call began.
    async fn not_begun(
        &self,
        started: Started,
        session_id: Uuid,
        tool_call_id: &str,
        recorder: Option<&dyn CallRecorder>,
    ) -> Option<Result<CallAnswer, CallError>> {
        match started {
            Started::Started => None,
            Started::Repeated => Some(
                match tool_calls::by_tool_call_id(&self.pool, session_id, tool_call_id).await {
                    Ok(Some(record)) => self.repeated(record, recorder).await,
                    Ok(None) => Err(CallError::NoSession),
                    Err(e) => Err(e.into()),
                },
            ),
            Started::NoSession => Some(Err(CallError::NoSession)),
            Started::SessionEnded => Some(Err(CallError::SessionEnded)),
            Started::SessionExpired => Some(Err(CallError::SessionExpired)),
        }
    }
}

/// How a call goes, known before it is stored.
#[derive(Clone, Copy)]
struct Plan {
    /// Valid, to a webhook whose response is not awaited: stored durably, answered 202 and
    /// delivered by the workers.
    fire_and_forget: bool,
    /// Settled before its answer (an awaited webhook, a system tool, refused arguments), so it
    /// may record through the caller's writer. The others are ended by paths that only know the
    /// call log (a delivery, a browser's answer, a client call's timeout), which must find the
    /// call's start there.
    settles_here: bool,
    /// Valid, to a webhook whose response is awaited: its request is built and signed while the
    /// call's row is written (CPU work overlapping the round trip), and sent only once the row is
    /// in, so that the `toolCallId` is new and the session active is known before anything leaves.
    awaited_webhook: bool,
}

impl Plan {
    fn of(definition: &ToolDefinition, valid: bool) -> Self {
        let fire_and_forget =
            valid && matches!(definition, ToolDefinition::Server(w) if !w.await_response);
        Self {
            fire_and_forget,
            settles_here: !fire_and_forget
                && (!valid || !matches!(definition, ToolDefinition::Client(_))),
            awaited_webhook: valid
                && !fire_and_forget
                && matches!(definition, ToolDefinition::Server(w) if !w.is_knowledge()),
        }
    }
}

/// The session's tool a call names, checked with its `toolCallId`: every problem at once. An MCP
/// source is not a tool of its own (its tools are, as `<source>__<tool>`).
fn named_tool<'s>(
    session: &'s CachedSession,
    request: &CallRequest,
) -> Result<&'s SnapshotTool, CallError> {
    let mut problems = Violations::new();
    if let Some(id) = &request.tool_call_id {
        if id.is_empty() || id.chars().count() > MAX_TOOL_CALL_ID_CHARS {
            problems.rule("toolCallId", "must be 1 to 128 characters");
        }
    }
    let tool = session.config.tool(&request.tool_name);
    if let Some(source) = tool.filter(|t| mcp_sources::is_source(t)) {
        return Err(CallError::Invalid(Violations::single(
            "toolName",
            format!(
                "{} is an MCP server: call one of its tools, as {}__<tool>",
                request.tool_name,
                source.tool.definition.name()
            ),
        )));
    }
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
    match (tool, problems.is_empty()) {
        (Some(tool), true) => Ok(tool),
        _ => Err(CallError::Invalid(problems)),
    }
}

/// How a call whose arguments do not fit its tool's parameters ends: every problem listed.
fn invalid_arguments(invalid: &Violations) -> Outcome {
    let mut outcome = Outcome::failed(
        ErrorKind::InvalidArguments,
        format!("the arguments do not match the tool's parameters: {invalid}"),
    );
    if let Some(error) = &mut outcome.error {
        error.errors = invalid.errors().to_vec();
    }
    outcome
}
