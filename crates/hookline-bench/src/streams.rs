//! The event streams at scale: `n` sessions, one `GET /v1/sessions/{id}/events` stream each, all
//! held open on loopback while awaited tool calls run at a fixed rate spread over the sessions.
//! Reports the server's memory above idle (RSS before the streams opened), memory per stream,
//! and the fan-out latency: from the moment a call's answer reached the caller to the moment its
//! `toolCallCompleted` reached its session's stream.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::{json, Value};

use crate::setup::Environment;

/// What a streams run measured.
#[derive(Debug, Clone)]
pub struct StreamsMeasured {
    pub streams: usize,
    /// Streams that were open when the calls stopped.
    pub held: usize,
    pub offered: f64,
    pub calls: usize,
    pub call_errors: usize,
    pub idle_rss_mib: f64,
    /// RSS with every stream open, before the calls.
    pub open_rss_mib: f64,
    /// Highest RSS seen while the calls ran.
    pub loaded_rss_mib: f64,
    /// Calls whose `toolCallCompleted` arrived on their stream.
    pub fanned_out: usize,
    pub fanout_p50_ms: f64,
    pub fanout_p99_ms: f64,
    pub fanout_max_ms: f64,
    pub call_p50_ms: f64,
    pub call_p99_ms: f64,
    pub cpu: crate::cpu::Used,
    /// CPU seconds per second of the calls' window (cores busy), by whom: the calls' latency and
    /// fan-out depend on whether the machine had any left.
    pub cores: crate::cpu::Used,
}

impl StreamsMeasured {
    pub fn above_idle_mib(&self) -> f64 {
        self.loaded_rss_mib.max(self.open_rss_mib) - self.idle_rss_mib
    }

    pub fn per_stream_kib(&self) -> f64 {
        (self.open_rss_mib - self.idle_rss_mib) * 1024.0 / self.streams.max(1) as f64
    }
}

/// When each call was answered and when its end reached its stream, by `toolCallId`.
#[derive(Default)]
struct Times {
    answered: HashMap<String, Instant>,
    arrived: HashMap<String, Instant>,
}

/// Raises this process's open-file limit to its hard limit (the server started after inherits
/// it): `n` streams need `n` sockets here and `n` in the server.
pub fn raise_fd_limit(needed: u64) -> anyhow::Result<u64> {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let limit = getrlimit(Resource::Nofile);
    let hard = limit.maximum;
    let want = hard
        .unwrap_or(u64::MAX)
        .min(needed.max(limit.current.unwrap_or(0)));
    if limit.current.is_some_and(|c| c < want) {
        setrlimit(
            Resource::Nofile,
            Rlimit {
                current: Some(want),
                maximum: hard,
            },
        )
        .context("cannot raise the open-file limit")?;
    }
    Ok(getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX))
}

/// Makes `n` more sessions of the bench persona, 64 at a time.
async fn sessions(env: &Environment, n: usize) -> anyhow::Result<Vec<String>> {
    let client = reqwest::Client::builder().no_proxy().build()?;
    let next = Arc::new(AtomicUsize::new(0));
    let made = Arc::new(Mutex::new(Vec::with_capacity(n)));
    let workers = (0..64).map(|_| {
        let (client, next, made, env) = (client.clone(), next.clone(), made.clone(), env.clone());
        async move {
            while next.fetch_add(1, Ordering::Relaxed) < n {
                let token: Value = client
                    .post(format!("http://{}/v1/auth/session-token", env.hookline))
                    .bearer_auth(&env.key)
                    .json(&json!({"personaConfig": {"personaId": env.persona}, "expiresInSeconds": 86400}))
                    .send()
                    .await?
                    .error_for_status()?
                    .json()
                    .await?;
                let started: Value = client
                    .post(format!("http://{}/v1/engine/session", env.hookline))
                    .bearer_auth(token["sessionToken"].as_str().unwrap_or_default())
                    .send()
                    .await?
                    .error_for_status()?
                    .json()
                    .await?;
                let id = started["sessionId"].as_str().unwrap_or_default().to_owned();
                made.lock().expect("sessions").push(id);
            }
            anyhow::Ok(())
        }
    });
    for done in futures::future::join_all(workers).await {
        done?;
    }
    let made = std::mem::take(&mut *made.lock().expect("sessions"));
    Ok(made)
}

/// Holds one session's stream, noting when each `toolCallCompleted` arrives.
async fn hold(
    client: reqwest::Client,
    url: String,
    key: String,
    times: Arc<Mutex<Times>>,
    open: Arc<AtomicUsize>,
) {
    let Ok(mut response) = client.get(url).bearer_auth(key).send().await else {
        return;
    };
    if !response.status().is_success() {
        return;
    }
    open.fetch_add(1, Ordering::Relaxed);
    let mut buffer = Vec::new();
    let mut event = String::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let now = Instant::now();
        buffer.extend_from_slice(&chunk);
        while let Some(end) = buffer.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buffer.drain(..=end).collect();
            let line = String::from_utf8_lossy(&line);
            let line = line.trim_end();
            if let Some(name) = line.strip_prefix("event:") {
                event = name.trim().to_owned();
            } else if let Some(data) = line.strip_prefix("data:") {
                if event == "toolCallCompleted" {
                    let id = serde_json::from_str::<Value>(data.trim())
                        .ok()
                        .and_then(|v| v["toolCallId"].as_str().map(str::to_owned));
                    if let Some(id) = id {
                        times.lock().expect("times").arrived.insert(id, now);
                    }
                }
            }
        }
    }
    open.fetch_sub(1, Ordering::Relaxed);
}

/// Opens `n` streams, waits until they are held, then runs awaited calls at `rate` per second
/// (spread round-robin over the sessions) for `duration`.
pub async fn measure(
    env: &Environment,
    n: usize,
    rate: f64,
    duration: Duration,
) -> anyhow::Result<StreamsMeasured> {
    let sessions = sessions(env, n).await?;
    // Idle: the sessions exist, nothing is streamed; settled for a moment.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle_rss_mib = env.hookline_rss_mib().unwrap_or(0.0);
    let times = Arc::new(Mutex::new(Times::default()));
    let open = Arc::new(AtomicUsize::new(0));
    let holders = open_streams(env, &sessions, &times, &open).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let open_rss_mib = env.hookline_rss_mib().unwrap_or(0.0);

    // The calls, paced: `connections` callers, each on its own schedule.
    let connections = 64usize;
    let call_client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(connections)
        .tcp_nodelay(true)
        .build()?;
    let begun = Instant::now();
    let pace = Pace {
        begun,
        end: begun + duration,
        interval: Duration::from_secs_f64(connections as f64 / rate.max(0.001)),
        connections,
    };
    let sessions = Arc::new(sessions);
    let before = env.probe.sample();
    let peak = Arc::new(Mutex::new(open_rss_mib));
    let sampler = sample_peak_rss(env.clone(), peak.clone(), pace.end);
    let callers = (0..connections).map(|worker| {
        tokio::spawn(paced_calls(
            call_client.clone(),
            env.clone(),
            sessions.clone(),
            times.clone(),
            pace,
            worker,
        ))
    });
    let mut calls = Vec::new();
    let mut call_errors = 0;
    for (latencies, errors) in futures::future::join_all(callers)
        .await
        .into_iter()
        .flatten()
    {
        calls.extend(latencies);
        call_errors += errors;
    }
    let window = begun.elapsed().as_secs_f64();
    let cores = before.until(&env.probe.sample());
    let _ = sampler.await;
    // The last ends' events: give them a moment to arrive.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let used = before.until(&env.probe.sample());
    let held = open.load(Ordering::Relaxed);
    for h in holders {
        h.abort();
    }
    let mut fanout = fanout_times(&std::mem::take(&mut *times.lock().expect("times")));
    fanout.sort();
    calls.sort();
    let pct = |all: &[Duration], p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    let loaded_rss_mib = *peak.lock().expect("peak");
    Ok(StreamsMeasured {
        streams: n,
        held,
        offered: rate,
        calls: calls.len(),
        call_errors,
        idle_rss_mib,
        open_rss_mib,
        loaded_rss_mib,
        fanned_out: fanout.len(),
        fanout_p50_ms: pct(&fanout, 0.50),
        fanout_p99_ms: pct(&fanout, 0.99),
        fanout_max_ms: fanout.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0),
        call_p50_ms: pct(&calls, 0.50),
        call_p99_ms: pct(&calls, 0.99),
        cpu: used.per_op(calls.len()),
        cores: cores.per_second(window),
    })
}

/// One stream per session, each on its own connection (a stream holds its connection for as
/// long as it runs), opened in waves; waits (a minute at most) until they are all open.
async fn open_streams(
    env: &Environment,
    sessions: &[String],
    times: &Arc<Mutex<Times>>,
    open: &Arc<AtomicUsize>,
) -> anyhow::Result<Vec<tokio::task::JoinHandle<()>>> {
    let n = sessions.len();
    let stream_client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(0)
        .build()?;
    let opened = Instant::now();
    let mut holders = Vec::with_capacity(n);
    for (i, session) in sessions.iter().enumerate() {
        holders.push(tokio::spawn(hold(
            stream_client.clone(),
            format!("http://{}/v1/sessions/{session}/events", env.hookline),
            env.key.clone(),
            times.clone(),
            open.clone(),
        )));
        // Opened in waves, so the listen queue is not flooded.
        if i % 256 == 255 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    while open.load(Ordering::Relaxed) < n && opened.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!(
        "{:<28} {} of {n} streams open in {:.1} s",
        "",
        open.load(Ordering::Relaxed),
        opened.elapsed().as_secs_f64()
    );
    Ok(holders)
}

/// The calls' schedule: `connections` callers, each calling every `interval` from its own offset
/// after `begun`, until `end`.
#[derive(Clone, Copy)]
struct Pace {
    begun: Instant,
    end: Instant,
    interval: Duration,
    connections: usize,
}

/// The highest RSS of the server, sampled every 200 ms until `end`, kept in `peak`.
fn sample_peak_rss(
    env: Environment,
    peak: Arc<Mutex<f64>>,
    end: Instant,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        while Instant::now() < end {
            if let Some(rss) = env.hookline_rss_mib() {
                let mut p = peak.lock().expect("peak");
                *p = p.max(rss);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
}

/// One caller's awaited calls on its schedule, round-robin over the sessions: each call's
/// latency (from when it was due, so a late start counts), and how many failed.
async fn paced_calls(
    client: reqwest::Client,
    env: Environment,
    sessions: Arc<Vec<String>>,
    times: Arc<Mutex<Times>>,
    pace: Pace,
    worker: usize,
) -> (Vec<Duration>, usize) {
    let mut latencies = Vec::new();
    let mut errors = 0;
    let mut due = pace.begun
        + pace
            .interval
            .mul_f64(worker as f64 / pace.connections as f64);
    let mut k = 0usize;
    while due < pace.end {
        tokio::time::sleep_until(due.into()).await;
        let index = worker + k * pace.connections;
        let session = &sessions[index % sessions.len()];
        let id = format!("fanout-{index}");
        let answer = client
            .post(format!(
                "http://{}/v1/sessions/{session}/tool-calls",
                env.hookline
            ))
            .bearer_auth(&env.key)
            .json(&json!({"toolName": "check_order_status", "toolCallId": id,
                          "arguments": {"orderId": "ORD-1"}}))
            .send()
            .await;
        let ok = match answer {
            Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
            _ => false,
        };
        let answered = Instant::now();
        latencies.push(answered - due);
        if ok {
            times.lock().expect("times").answered.insert(id, answered);
        } else {
            errors += 1;
        }
        k += 1;
        due += pace.interval;
    }
    (latencies, errors)
}

/// From each call's answer to its `toolCallCompleted` on the stream, for the calls that have both.
fn fanout_times(times: &Times) -> Vec<Duration> {
    times
        .answered
        .iter()
        .filter_map(|(id, answered)| {
            let arrived = times.arrived.get(id)?;
            Some(arrived.saturating_duration_since(*answered))
        })
        .collect()
}
