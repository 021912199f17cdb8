//! The load generator: `c` connections, each sending its next request as soon as the last one
//! answered (closed loop, for the most a scenario can do), or at a fixed offered rate (each
//! connection on its own schedule, latency counted from when the request was due, so a late
//! answer also delays the requests behind it in the count), for a fixed time after a short
//! warm-up. CPU of the server, its Postgres backends and nginx is sampled around the window.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::setup::{Environment, TURNS_PER_CONVERSATION};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    Direct,
    Nginx,
    ToolCall,
    PowerCall,
    McpCall,
    FireAndForget,
    SessionStart,
    ReadTool,
    Turn,
    Search,
    HybridSearch,
}

impl Scenario {
    pub fn label(self) -> &'static str {
        match self {
            Self::Direct => "1 direct to target",
            Self::Nginx => "1b via nginx",
            Self::ToolCall => "2 tool call (await)",
            Self::PowerCall => "2p the same with tool power",
            Self::McpCall => "2m the same over MCP",
            Self::FireAndForget => "3 fire-and-forget accept",
            Self::SessionStart => "4 session token + start",
            Self::ReadTool => "5 GET /v1/tools/{id}",
            Self::Turn => "6 conversation turn",
            Self::Search => "8 knowledge search",
            Self::HybridSearch => "8h hybrid search",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Measured {
    pub scenario: Scenario,
    pub concurrency: usize,
    /// The offered rate of a paced run; `None` for a closed loop.
    pub offered: Option<f64>,
    pub rate: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub errors: usize,
    /// CPU per operation (µs) over the measured window.
    pub cpu: crate::cpu::Used,
    /// Fire-and-forget calls delivered at the target per second during the window.
    pub delivered_rate: f64,
}

/// How requests are sent.
#[derive(Debug, Clone, Copy)]
pub enum Pace {
    /// Each connection sends its next request as soon as the last one answered.
    Closed,
    /// This many requests per second over all connections, each connection on its own schedule.
    Rate(f64),
}

const WARM_UP: Duration = Duration::from_millis(500);

pub async fn measure(
    env: &Environment,
    scenario: Scenario,
    concurrency: usize,
    duration: Duration,
    pace: Pace,
) -> Measured {
    let client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(concurrency)
        .tcp_nodelay(true)
        .build()
        .expect("a client");
    let env = Arc::new(env.clone());
    let begun = Instant::now();
    let start = begun + WARM_UP;
    let end = start + duration;
    // The time between two requests of one connection, when paced.
    let interval = match pace {
        Pace::Closed => None,
        Pace::Rate(rate) => Some(Duration::from_secs_f64(
            concurrency as f64 / rate.max(0.001),
        )),
    };
    let sampler = {
        let env = env.clone();
        tokio::spawn(async move {
            tokio::time::sleep_until(start.into()).await;
            let (before, delivered) = (env.probe.sample(), env.delivered.load(Ordering::Relaxed));
            tokio::time::sleep_until(end.into()).await;
            let used = before.until(&env.probe.sample());
            (used, env.delivered.load(Ordering::Relaxed) - delivered)
        })
    };
    let workers = (0..concurrency).map(|worker| {
        let (client, env) = (client.clone(), env.clone());
        tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0;
            // Connections start their schedules spread over one interval.
            let mut due = interval.map(|i| begun + i.mul_f64(worker as f64 / concurrency as f64));
            loop {
                let sent = match due {
                    Some(at) => {
                        tokio::time::sleep_until(at.into()).await;
                        at
                    }
                    None => Instant::now(),
                };
                if sent >= end {
                    break;
                }
                let (ok, setup) = once(&client, &env, scenario, worker).await;
                if sent >= start {
                    // A new conversation started before a turn is not part of the turn's time.
                    latencies.push(sent.elapsed().saturating_sub(setup));
                    if !ok {
                        errors += 1;
                    }
                }
                due = due.zip(interval).map(|(at, i)| at + i);
            }
            (latencies, errors)
        })
    });
    let mut all = Vec::new();
    let mut errors = 0;
    for (latencies, e) in futures::future::join_all(workers)
        .await
        .into_iter()
        .flatten()
    {
        all.extend(latencies);
        errors += e;
    }
    all.sort();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    let (used, delivered) = sampler.await.unwrap_or_default();
    Measured {
        scenario,
        concurrency,
        offered: match pace {
            Pace::Closed => None,
            Pace::Rate(r) => Some(r),
        },
        cpu: used.per_op(all.len()),
        delivered_rate: delivered as f64 / duration.as_secs_f64(),
        rate: all.len() as f64 / duration.as_secs_f64(),
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        errors,
    }
}

/// One request (two for a session start); true when it got the answer a user expects, and the
/// time spent setting it up apart from what is measured (a new conversation before a turn).
async fn once(
    client: &reqwest::Client,
    env: &Environment,
    scenario: Scenario,
    worker: usize,
) -> (bool, Duration) {
    if scenario == Scenario::Turn {
        return turn(client, env, worker).await;
    }
    (request(client, env, scenario, worker).await, Duration::ZERO)
}

/// One turn of the connection's conversation; every [`TURNS_PER_CONVERSATION`] turns the
/// connection first starts a new conversation (a new session, its event stream followed).
async fn turn(client: &reqwest::Client, env: &Environment, worker: usize) -> (bool, Duration) {
    let slots = &env.conversations;
    let mut slot = slots[worker % slots.len()].lock().await;
    let began = Instant::now();
    if slot.1 >= TURNS_PER_CONVERSATION {
        match new_conversation(client, env).await {
            Ok(session) => {
                env.first_deltas.close(&slot.0);
                *slot = (session, 0);
            }
            Err(e) => {
                eprintln!("could not start a conversation: {e}");
                return (false, began.elapsed());
            }
        }
    }
    slot.1 += 1;
    let setup = began.elapsed();
    let talking = slot.0.clone();
    drop(slot);
    let post = async {
        let (s, body) = status(
            client
                .post(format!(
                    "http://{}/v1/sessions/{talking}/messages?wait=true",
                    env.hookline,
                ))
                .bearer_auth(&env.key)
                .json(&json!({"content": "Where is my order?"}))
                .send()
                .await,
        )
        .await;
        // The reply is there and the turn did not fail.
        s == StatusCode::OK
            && body.is_some_and(|b| {
                b.windows(7).any(|w| w == b"shipped") && !b.windows(7).any(|w| w == b"\"error\"")
            })
    };
    (env.first_deltas.time(&talking, post).await, setup)
}

/// A new session of the talking persona, with its event stream followed.
async fn new_conversation(client: &reqwest::Client, env: &Environment) -> anyhow::Result<String> {
    let token: serde_json::Value = client
        .post(format!("http://{}/v1/auth/session-token", env.hookline))
        .bearer_auth(&env.key)
        .json(&json!({"personaConfig": {"personaId": env.talker}, "expiresInSeconds": 86400}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let started: serde_json::Value = client
        .post(format!("http://{}/v1/engine/session", env.hookline))
        .bearer_auth(token["sessionToken"].as_str().unwrap_or_default())
        .json(&json!({}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let session = started["sessionId"].as_str().unwrap_or_default().to_owned();
    env.first_deltas
        .open(env.hookline, &env.key, std::slice::from_ref(&session))
        .await?;
    Ok(session)
}

async fn status(r: Result<reqwest::Response, reqwest::Error>) -> (StatusCode, Option<Vec<u8>>) {
    match r {
        Ok(r) => {
            let s = r.status();
            let body = r.bytes().await.ok().map(|b| b.to_vec());
            (s, body)
        }
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, None),
    }
}

/// One request of the other scenarios.
async fn request(
    client: &reqwest::Client,
    env: &Environment,
    scenario: Scenario,
    worker: usize,
) -> bool {
    let session = |all: &[String]| all[worker % all.len()].clone();
    match scenario {
        Scenario::Search => search(client, env, false).await,
        Scenario::HybridSearch => search(client, env, true).await,
        Scenario::Direct => hook(client, env.target).await,
        Scenario::Nginx => hook(client, env.nginx.as_ref().expect("nginx runs").addr).await,
        Scenario::ToolCall => {
            let (s, body) = status(
                client
                    .post(format!("http://{}/v1/sessions/{}/tool-calls", env.hookline, session(&env.await_sessions)))
                    .bearer_auth(&env.key)
                    .json(&json!({"toolName": "check_order_status", "arguments": {"orderId": "ORD-1"}}))
                    .send()
                    .await,
            )
            .await;
            s == StatusCode::OK
                && body.is_some_and(|b| b.windows(11).any(|w| w == b"\"completed\""))
        }
        Scenario::PowerCall => {
            let (s, body) = status(
                client
                    .post(format!(
                        "http://{}/v1/sessions/{}/tool-calls",
                        env.hookline,
                        session(&env.power_sessions)
                    ))
                    .bearer_auth(&env.key)
                    .json(
                        &json!({"toolName": crate::power::TOOL, "arguments": {"orderId": "ORD-1"}}),
                    )
                    .send()
                    .await,
            )
            .await;
            s == StatusCode::OK && body.is_some_and(|b| crate::power::shaped(&b))
        }
        Scenario::McpCall => {
            let (s, body) = status(
                client
                    .post(format!("http://{}/v1/mcp/personas/{}", env.hookline, env.persona))
                    .bearer_auth(&env.key)
                    .header("mcp-session-id", session(&env.mcp_sessions))
                    .header("mcp-protocol-version", "2025-06-18")
                    .json(&json!({"jsonrpc": "2.0", "id": worker, "method": "tools/call",
                                  "params": {"name": "check_order_status", "arguments": {"orderId": "ORD-1"}}}))
                    .send()
                    .await,
            )
            .await;
            s == StatusCode::OK
                && body.is_some_and(|b| b.windows(15).any(|w| w == b"\"isError\":false"))
        }
        Scenario::FireAndForget => {
            let (s, _) = status(
                client
                    .post(format!(
                        "http://{}/v1/sessions/{}/tool-calls",
                        env.hookline,
                        session(&env.forget_sessions)
                    ))
                    .bearer_auth(&env.key)
                    .json(&json!({"toolName": "log_event", "arguments": {"orderId": "ORD-1"}}))
                    .send()
                    .await,
            )
            .await;
            if s == StatusCode::ACCEPTED {
                env.accepted.fetch_add(1, Ordering::Relaxed);
            }
            s == StatusCode::ACCEPTED
        }
        Scenario::SessionStart => start_session(client, env).await,
        Scenario::Turn => unreachable!("turns go through `turn`"),
        Scenario::ReadTool => {
            let (s, _) = status(
                client
                    .get(format!("http://{}/v1/tools/{}", env.hookline, env.tool))
                    .bearer_auth(&env.key)
                    .send()
                    .await,
            )
            .await;
            s == StatusCode::OK
        }
    }
}

/// A knowledge search of the words-only corpus, or (`hybrid`) of the embedded one.
async fn search(client: &reqwest::Client, env: &Environment, hybrid: bool) -> bool {
    let (folder, key) = if hybrid {
        let folder = env.hybrid_folder.get().expect("the corpus is embedded");
        (folder, &env.hybrid_key)
    } else {
        let folder = env.knowledge_folder.get().expect("the corpus is processed");
        (folder, &env.key)
    };
    let (s, body) = status(
        client
            .post(format!("http://{}/v1/knowledge/search", env.hookline))
            .bearer_auth(key)
            .json(&json!({"query": crate::knowledge::next_query(), "folderIds": [folder]}))
            .send()
            .await,
    )
    .await;
    if hybrid {
        // Ranked by both ways, never by words alone for want of the query's vector.
        s == StatusCode::OK
            && body.is_some_and(|b| {
                b.windows(18).any(|w| w == b"\"ranking\":\"hybrid\"")
                    && !b.windows(8).any(|w| w == b"\"notice\"")
            })
    } else {
        // Two words of 20,000 are each in ~600 of 100,000 chunks: five results.
        s == StatusCode::OK && body.is_some_and(|b| b.windows(9).any(|w| w == b"\"content\""))
    }
}

/// The webhook's request sent straight to `addr` (the target, or nginx before it): the floor
/// Hookline's own overhead is measured against.
async fn hook(client: &reqwest::Client, addr: std::net::SocketAddr) -> bool {
    let (s, _) = status(
        client
            .post(format!("http://{addr}/hook"))
            .body("{\"orderId\":\"ORD-1\"}")
            .send()
            .await,
    )
    .await;
    s == StatusCode::OK
}

/// A session token asked for, then the session started with it.
async fn start_session(client: &reqwest::Client, env: &Environment) -> bool {
    let (s, body) = status(
        client
            .post(format!("http://{}/v1/auth/session-token", env.hookline))
            .bearer_auth(&env.key)
            .json(&json!({"personaConfig": {"personaId": env.persona}}))
            .send()
            .await,
    )
    .await;
    let token = body
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v["sessionToken"].as_str().map(str::to_owned));
    let Some(token) = token.filter(|_| s == StatusCode::OK) else {
        return false;
    };
    let (s, _) = status(
        client
            .post(format!("http://{}/v1/engine/session", env.hookline))
            .bearer_auth(token)
            .send()
            .await,
    )
    .await;
    s == StatusCode::CREATED
}

/// How a backlog of fire-and-forget calls drained once the load stopped.
#[derive(Debug, Clone)]
pub struct Drain {
    /// What made the backlog.
    pub label: &'static str,
    pub concurrency: usize,
    /// Delivered per second while the load ran (set by the caller).
    pub during: f64,
    /// Accepted and not yet delivered when the load stopped.
    pub backlog: u64,
    pub seconds: f64,
    /// Whether every accepted call arrived within the time allowed.
    pub complete: bool,
    /// CPU per delivered call (µs) while draining.
    pub cpu: crate::cpu::Used,
}

/// Waits until every accepted fire-and-forget call has reached the target (at most `limit`).
pub async fn drain(env: &Environment, concurrency: usize, limit: Duration) -> Drain {
    let began = Instant::now();
    let before = env.probe.sample();
    let delivered = env.delivered.load(Ordering::Relaxed);
    let backlog = env
        .accepted
        .load(Ordering::Relaxed)
        .saturating_sub(delivered);
    let mut last = began;
    let mut seen = delivered;
    loop {
        let now = env.delivered.load(Ordering::Relaxed);
        if now != seen {
            (seen, last) = (now, Instant::now());
        }
        if now >= env.accepted.load(Ordering::Relaxed) || began.elapsed() >= limit {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let used = before.until(&env.probe.sample());
    Drain {
        label: "3 after the accepts",
        concurrency,
        during: 0.0,
        backlog,
        seconds: last.duration_since(began).as_secs_f64(),
        complete: seen >= env.accepted.load(Ordering::Relaxed),
        cpu: used.per_op((seen - delivered) as usize),
    }
}
