//! The steady mixed load of the fault and soak runs, and what it saw: awaited calls and
//! fire-and-forget calls paced over many sessions, conversations with the instant LLM, and an
//! event stream held on every session (resumed with `Last-Event-ID` whenever it drops). Requests
//! alternate between the instances, as a load balancer's would; an instance that is down
//! refuses its share.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

/// The client's timeout: a request that takes longer is a hang.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub enum Kind {
    Awaited,
    Forget,
    Turn,
}

/// How a request ended, as its caller saw it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub enum Outcome {
    /// 200 (a turn: with its reply) or 202.
    Ok,
    /// 503 with `Retry-After`.
    Unavailable,
    /// 503 without `Retry-After`.
    UnavailableBare,
    /// Any other status (500, 502, 504…).
    Status(u16),
    /// No connection: the instance was down.
    Refused,
    /// The client's timeout ran out.
    Hang,
    /// The connection broke mid-request (the instance was killed).
    Cut,
    /// 200, but the call failed (`"status": "failed"`: the target refused, timed out…), or a
    /// turn answered with an error.
    Failed,
}

impl Outcome {
    fn of(result: Result<reqwest::Response, reqwest::Error>) -> (Self, Option<reqwest::Response>) {
        match result {
            Ok(r) if r.status().is_success() => (Self::Ok, Some(r)),
            Ok(r) if r.status() == StatusCode::SERVICE_UNAVAILABLE => {
                if r.headers().contains_key("retry-after") {
                    (Self::Unavailable, None)
                } else {
                    (Self::UnavailableBare, None)
                }
            }
            Ok(r) => (Self::Status(r.status().as_u16()), None),
            Err(e) if e.is_timeout() => (Self::Hang, None),
            Err(e) if e.is_connect() => (Self::Refused, None),
            Err(_) => (Self::Cut, None),
        }
    }

    pub fn name(self) -> String {
        match self {
            Self::Ok => "ok".into(),
            Self::Unavailable => "503+Retry-After".into(),
            Self::UnavailableBare => "503 without Retry-After".into(),
            Self::Status(s) => s.to_string(),
            Self::Refused => "refused (instance down)".into(),
            Self::Hang => "hang past the client's timeout".into(),
            Self::Cut => "connection cut".into(),
            Self::Failed => "200, call or turn failed".into(),
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Record {
    pub kind: Kind,
    pub at: Instant,
    pub took: Duration,
    pub outcome: Outcome,
}

/// How an awaited call ended, and which instance answered it when.
#[derive(Clone, Copy, Debug)]
pub struct Awaited {
    pub outcome: Outcome,
    /// Index into the rig's instances.
    pub instance: usize,
    /// When its answer (or failure) reached the caller.
    pub ended: Instant,
}

/// What one session's event stream saw.
#[derive(Default, Clone, Copy, Debug)]
pub struct Seen {
    /// The highest event id (the session's sequence number) received.
    pub last: i64,
    /// Ids skipped over (an id more than one past the last) and ids received again.
    pub skipped: u64,
    pub doubled: u64,
    pub connections: u64,
}

/// The load's settings.
#[derive(Clone, Copy, Debug)]
pub struct Rates {
    pub awaited_per_second: f64,
    pub forget_per_second: f64,
    /// Conversations talking at once, each posting its next turn as soon as one ends.
    pub conversations: usize,
    pub streams: bool,
}

pub struct Traffic {
    addrs: Vec<SocketAddr>,
    key: String,
    talker: String,
    sessions: Vec<String>,
    client: reqwest::Client,
    stream_client: reqwest::Client,
    pub records: Mutex<Vec<Record>>,
    /// Awaited calls by `orderId` and how each ended.
    pub awaited: Mutex<HashMap<String, Awaited>>,
    /// The instance the fault run SIGKILLed, and when.
    pub killed: Mutex<Option<(usize, Instant)>>,
    /// Fire-and-forget calls accepted (202), by `orderId`.
    pub accepted: Mutex<Vec<String>>,
    /// Turns answered 200, with the id of their stored reply.
    pub replies: Mutex<Vec<String>>,
    pub seen: Mutex<HashMap<String, Seen>>,
    /// Calls and turns answered 200 that failed, by kind and `error.kind`.
    pub failures: Mutex<std::collections::BTreeMap<String, usize>>,
    next: AtomicU64,
    stop: AtomicBool,
}

impl Traffic {
    pub fn new(rig: &crate::rig::Rig) -> anyhow::Result<Arc<Self>> {
        Ok(Arc::new(Self {
            addrs: rig.instances.iter().map(|i| i.addr).collect(),
            key: rig.key.clone(),
            talker: rig.talker.clone(),
            sessions: rig.sessions.clone(),
            client: reqwest::Client::builder()
                .no_proxy()
                .timeout(CLIENT_TIMEOUT)
                .pool_max_idle_per_host(64)
                .build()?,
            // A stream lasts as long as it lasts; only its connection is timed.
            stream_client: reqwest::Client::builder()
                .no_proxy()
                .connect_timeout(Duration::from_secs(2))
                .pool_max_idle_per_host(0)
                .build()?,
            records: Mutex::default(),
            awaited: Mutex::default(),
            killed: Mutex::default(),
            accepted: Mutex::default(),
            replies: Mutex::default(),
            seen: Mutex::default(),
            failures: Mutex::default(),
            next: AtomicU64::new(0),
            stop: AtomicBool::new(false),
        }))
    }

    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    pub fn take_records(&self) -> Vec<Record> {
        std::mem::take(&mut *self.records.lock().expect("records"))
    }

    fn failed(&self, kind: Kind, body: &Value) {
        let error = &body["error"];
        let why = format!(
            "{kind:?} {}: {}",
            error["kind"].as_str().unwrap_or("?"),
            error["message"]
                .as_str()
                .unwrap_or_default()
                .chars()
                .take(80)
                .collect::<String>()
        );
        *self
            .failures
            .lock()
            .expect("failures")
            .entry(why)
            .or_default() += 1;
    }

    fn record(&self, kind: Kind, at: Instant, outcome: Outcome) {
        self.records.lock().expect("records").push(Record {
            kind,
            at,
            took: at.elapsed(),
            outcome,
        });
    }

    /// Starts the load; it runs until [`Traffic::stop`].
    pub fn start(self: &Arc<Self>, rates: Rates) -> Vec<tokio::task::JoinHandle<()>> {
        let mut tasks = Vec::new();
        if rates.streams {
            for (i, session) in self.sessions.iter().enumerate() {
                let (me, session) = (self.clone(), session.clone());
                tasks.push(tokio::spawn(async move { me.follow(i, session).await }));
            }
        }
        let paced = |kind: Kind, per_second: f64, workers: usize| {
            (0..workers)
                .filter(move |_| per_second > 0.0)
                .map(move |w| {
                    let me = self.clone();
                    let every = Duration::from_secs_f64(workers as f64 / per_second);
                    tokio::spawn(async move {
                        let mut due = Instant::now() + every.mul_f64(w as f64 / workers as f64);
                        while !me.stop.load(Ordering::Relaxed) {
                            tokio::time::sleep_until(due.into()).await;
                            me.call(kind).await;
                            // A late worker catches up at most one call; it never bursts.
                            due = (due + every).max(Instant::now() - every);
                        }
                    })
                })
        };
        tasks.extend(paced(Kind::Awaited, rates.awaited_per_second, 32));
        tasks.extend(paced(Kind::Forget, rates.forget_per_second, 16));
        for w in 0..rates.conversations {
            let me = self.clone();
            tasks.push(tokio::spawn(async move { me.talk(w).await }));
        }
        tasks
    }

    pub async fn call(&self, kind: Kind) {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let instance = n as usize % self.addrs.len();
        let addr = self.addrs[instance];
        let session = &self.sessions[(n / 2) as usize % self.sessions.len()];
        let (tool, order) = match kind {
            Kind::Forget => ("log_event", format!("F-{n}")),
            _ => ("check_order", format!("A-{n}")),
        };
        let at = Instant::now();
        let sent = self
            .client
            .post(format!("http://{addr}/v1/sessions/{session}/tool-calls"))
            .bearer_auth(&self.key)
            .json(
                &json!({"toolName": tool, "toolCallId": order.to_lowercase(),
                          "arguments": {"orderId": order}}),
            )
            .send()
            .await;
        let (mut outcome, response) = Outcome::of(sent);
        if let Some(r) = response {
            // The answer must arrive whole, and an awaited call must have completed.
            match r.json::<Value>().await {
                Ok(body) if kind == Kind::Awaited && body["status"] != "completed" => {
                    outcome = Outcome::Failed;
                    self.failed(kind, &body);
                }
                Ok(_) => {}
                Err(e) if e.is_timeout() => outcome = Outcome::Hang,
                Err(_) => outcome = Outcome::Cut,
            }
        }
        self.record(kind, at, outcome);
        match kind {
            Kind::Forget if outcome == Outcome::Ok => {
                self.accepted.lock().expect("accepted").push(order)
            }
            Kind::Forget => {}
            _ => {
                let ended = Instant::now();
                let call = Awaited {
                    outcome,
                    instance,
                    ended,
                };
                self.awaited.lock().expect("awaited").insert(order, call);
            }
        }
    }

    /// One conversation after another (20 turns each), each turn posted with `?wait=true`.
    async fn talk(&self, w: usize) {
        let mut session: Option<String> = None;
        let mut turns = 0;
        while !self.stop.load(Ordering::Relaxed) {
            let addr = self.addrs[(w + turns) % self.addrs.len()];
            let Some(talking) = session.clone() else {
                match self.new_conversation(addr).await {
                    Ok(s) => session = Some(s),
                    Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
                }
                continue;
            };
            let at = Instant::now();
            let sent = self
                .client
                .post(format!(
                    "http://{addr}/v1/sessions/{talking}/messages?wait=true"
                ))
                .bearer_auth(&self.key)
                .json(&json!({"content": "Where is my order?"}))
                .send()
                .await;
            let (mut outcome, response) = Outcome::of(sent);
            if let Some(r) = response {
                match r.json::<Value>().await {
                    Ok(body) => match body["reply"]["id"].as_str() {
                        Some(id) if body.get("error").is_none() => {
                            self.replies.lock().expect("replies").push(id.to_owned())
                        }
                        _ => {
                            outcome = Outcome::Failed;
                            self.failed(Kind::Turn, &body);
                        }
                    },
                    Err(e) if e.is_timeout() => outcome = Outcome::Hang,
                    Err(_) => outcome = Outcome::Cut,
                }
            }
            self.record(Kind::Turn, at, outcome);
            turns += 1;
            if turns % 20 == 0 {
                session = None;
            }
            if outcome != Outcome::Ok {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }

    async fn new_conversation(&self, addr: SocketAddr) -> anyhow::Result<String> {
        let token: Value = self
            .client
            .post(format!("http://{addr}/v1/auth/session-token"))
            .bearer_auth(&self.key)
            .json(&json!({"personaConfig": {"personaId": self.talker}, "expiresInSeconds": 86400}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let started: Value = self
            .client
            .post(format!("http://{addr}/v1/engine/session"))
            .bearer_auth(token["sessionToken"].as_str().unwrap_or_default())
            .json(&json!({}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        Ok(started["sessionId"].as_str().unwrap_or_default().to_owned())
    }

    /// Holds one session's event stream; whenever it drops, opens it again (on the next
    /// instance) with `Last-Event-ID`, as a browser's `EventSource` does.
    /// Runs until its task is aborted: the streams keep reading after the calls stop, so the
    /// last events can be checked.
    async fn follow(&self, i: usize, session: String) {
        let mut seen = Seen::default();
        loop {
            let addr = self.addrs[(i + seen.connections as usize) % self.addrs.len()];
            seen.connections += 1;
            let opened = self
                .stream_client
                .get(format!("http://{addr}/v1/sessions/{session}/events"))
                .bearer_auth(&self.key)
                .header("Last-Event-ID", seen.last.to_string())
                .send()
                .await;
            if let Ok(mut response) = opened {
                if response.status().is_success() {
                    let mut buffer = Vec::new();
                    while let Ok(Some(chunk)) = response.chunk().await {
                        buffer.extend_from_slice(&chunk);
                        while let Some(end) = buffer.iter().position(|b| *b == b'\n') {
                            let line: Vec<u8> = buffer.drain(..=end).collect();
                            let line = String::from_utf8_lossy(&line);
                            let Some(id) = line.trim_end().strip_prefix("id:") else {
                                continue;
                            };
                            let Ok(id) = id.trim().parse::<i64>() else {
                                continue;
                            };
                            if id <= seen.last {
                                seen.doubled += 1;
                            } else {
                                seen.skipped += (id - seen.last - 1) as u64;
                                seen.last = id;
                            }
                            self.seen
                                .lock()
                                .expect("seen")
                                .insert(session.clone(), seen);
                        }
                    }
                }
            }
            self.seen
                .lock()
                .expect("seen")
                .insert(session.clone(), seen);
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// The p-th quantile of durations, in milliseconds.
pub fn quantile_ms(sorted: &[Duration], p: f64) -> f64 {
    sorted
        .get(((sorted.len() as f64 * p) as usize).min(sorted.len().saturating_sub(1)))
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}
