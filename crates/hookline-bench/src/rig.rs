//! What the fault and soak runs stand on: a private Postgres cluster of their own (so they can
//! restart and stop it without touching anybody else's), any number of real `hookline serve`
//! instances on it, and a webhook target behind a little TCP gate that can be made slow, refuse
//! connections or answer 429, and that counts what it was sent. All on loopback.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::api::{self, Api};
use crate::cluster::{wait_for_port, Cluster};
use crate::pooler::Pooler;

const KEY: &str = "aG9va2xpbmUtYmVuY2gta2V5LTMyLWJ5dGVzLWxvbmc=";

/// Ports: `--port-base N` takes N, N+1… (a run started by hand on a shared machine keeps to its
/// range); otherwise any free port.
#[derive(Clone)]
pub struct Ports(Arc<Mutex<Option<u16>>>);

impl Ports {
    pub fn new(base: Option<u16>) -> Self {
        Self(Arc::new(Mutex::new(base)))
    }

    pub fn next(&self) -> anyhow::Result<u16> {
        let mut base = self.0.lock().expect("ports");
        if let Some(b) = base.as_mut() {
            *b += 1;
            return Ok(*b - 1);
        }
        Ok(std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port())
    }
}

/// What the target does with a request.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub enum Mode {
    Normal = 0,
    /// Answers after [`SLOW`] (under the tools' timeout).
    Slow = 1,
    /// 429 with `Retry-After`.
    TooMany = 2,
}

pub const SLOW: Duration = Duration::from_secs(2);
/// The tools' `timeoutSeconds`.
pub const TOOL_TIMEOUT_SECONDS: u64 = 5;

/// The webhook target: `/hook` (awaited calls) and `/delivered` (fire-and-forget) answer and count
/// each request by its `orderId`, behind a gate that can refuse connections.
#[derive(Clone)]
pub struct Target {
    pub addr: SocketAddr,
    mode: Arc<AtomicU8>,
    /// Requests answered 2xx, by `orderId`.
    pub seen: Arc<Mutex<HashMap<String, u32>>>,
    gate: Arc<Mutex<Gate>>,
    backend: SocketAddr,
}

struct Gate {
    accept: Option<tokio::task::JoinHandle<()>>,
    connections: Arc<Mutex<tokio::task::JoinSet<()>>>,
}

impl Target {
    pub async fn start(port: u16) -> anyhow::Result<Self> {
        let mode = Arc::new(AtomicU8::new(Mode::Normal as u8));
        let seen = Arc::new(Mutex::new(HashMap::new()));
        let app = Router::new()
            .route("/hook", post(answer))
            .route("/delivered", post(answer))
            .with_state((mode.clone(), seen.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let backend = listener.local_addr()?;
        tokio::spawn(async move { axum::serve(listener, app).await });
        let target = Self {
            addr: format!("127.0.0.1:{port}").parse()?,
            mode,
            seen,
            gate: Arc::new(Mutex::new(Gate {
                accept: None,
                connections: Arc::default(),
            })),
            backend,
        };
        target.open().await?;
        Ok(target)
    }

    pub fn set(&self, mode: Mode) {
        self.mode.store(mode as u8, Ordering::Relaxed);
    }

    /// Accepts connections again (on the same port).
    pub async fn open(&self) -> anyhow::Result<()> {
        let listener = tokio::net::TcpListener::bind(self.addr).await?;
        let connections = self.gate.lock().expect("gate").connections.clone();
        let backend = self.backend;
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                connections.lock().expect("connections").spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(backend).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        self.gate.lock().expect("gate").accept = Some(accept);
        Ok(())
    }

    /// Refuses connections: the port is closed and every open connection cut.
    pub fn refuse(&self) {
        let mut gate = self.gate.lock().expect("gate");
        if let Some(accept) = gate.accept.take() {
            accept.abort();
        }
        gate.connections.lock().expect("connections").abort_all();
    }

    pub fn count(&self, order: &str) -> u32 {
        self.seen
            .lock()
            .expect("seen")
            .get(order)
            .copied()
            .unwrap_or(0)
    }
}

type TargetState = (Arc<AtomicU8>, Arc<Mutex<HashMap<String, u32>>>);

async fn answer(State((mode, seen)): State<TargetState>, Json(body): Json<Value>) -> Response {
    let mode = mode.load(Ordering::Relaxed);
    if mode == Mode::TooMany as u8 {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", "3")],
            "slow down",
        )
            .into_response();
    }
    if mode == Mode::Slow as u8 {
        tokio::time::sleep(SLOW).await;
    }
    if let Some(order) = body["orderId"].as_str() {
        *seen
            .lock()
            .expect("seen")
            .entry(order.to_owned())
            .or_default() += 1;
    }
    Json(json!({"status": "shipped", "trackingNumber": "1Z999AA10123456784"})).into_response()
}

/// One `hookline serve` process, which can be killed and started again on the same port.
pub struct Instance {
    pub addr: SocketAddr,
    binary: PathBuf,
    env: Vec<(String, String)>,
    log: PathBuf,
    child: Option<Child>,
}

impl Instance {
    pub fn start(
        binary: &Path,
        env: &[(String, String)],
        port: u16,
        log: PathBuf,
    ) -> anyhow::Result<Self> {
        let mut i = Self {
            addr: format!("127.0.0.1:{port}").parse()?,
            binary: binary.to_owned(),
            env: env.to_vec(),
            log,
            child: None,
        };
        i.spawn()?;
        Ok(i)
    }

    pub fn spawn(&mut self) -> anyhow::Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)?;
        let child = Command::new(&self.binary)
            .arg("serve")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .env("HOOKLINE_LISTEN", self.addr.to_string())
            .env("HOOKLINE_METRICS_LISTEN", "")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()?;
        self.child = Some(child);
        wait_for_port(self.addr)
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// SIGKILL: nothing the process holds in memory survives.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM, and up to 30 s to stop.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline && matches!(c.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// A field of `/proc/<pid>/status` in MiB (`VmRSS:`).
    pub fn memory_mib(&self, field: &str) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()?)).ok()?;
        let line = status.lines().find(|l| l.starts_with(field))?;
        Some(line.split_whitespace().nth(1)?.parse::<f64>().ok()? / 1024.0)
    }

    pub fn open_files(&self) -> Option<usize> {
        Some(
            std::fs::read_dir(format!("/proc/{}/fd", self.pid()?))
                .ok()?
                .count(),
        )
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Everything a run made: the cluster, instances, the target, the fake LLM, the API key, the
/// sessions.
pub struct Rig {
    /// Dropped (stopped) first, while their database is still there.
    pub instances: Vec<Instance>,
    pub pooler: Option<Pooler>,
    pub cluster: Cluster,
    pub target: Target,
    pub key: String,
    pub talker: String,
    /// Sessions of the persona with the awaited and fire-and-forget tools.
    pub sessions: Vec<String>,
    pub client: reqwest::Client,
    pub dir: PathBuf,
}

/// Environment variables for the `hookline` binary.
type Env = Vec<(String, String)>;

/// The instances' environment, and the one that makes the database: straight to the server (a
/// pooler only reaches databases that exist); everything after goes the instances' way.
fn instance_env(cluster: &Cluster, pooler: Option<&Pooler>) -> (Env, Env) {
    let mut env: Env = [
        ("DATABASE_URL", cluster.url()),
        ("HOOKLINE_ENCRYPTION_KEY", KEY.to_owned()),
        ("HOOKLINE_ALLOWED_NETWORKS", "127.0.0.0/8".to_owned()),
        ("HOOKLINE_SESSION_MESSAGES_PER_SECOND", "1000000".to_owned()),
        ("HOOKLINE_SESSION_MESSAGE_BURST", "1000000".to_owned()),
        ("RUST_LOG", "warn".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let direct = env.clone();
    if let Some(p) = pooler {
        for (k, v) in [
            ("DATABASE_URL", p.url()),
            ("HOOKLINE_DATABASE_DIRECT_URL", cluster.url()),
        ] {
            env.retain(|(have, _)| have != k);
            env.push((k.to_owned(), v));
        }
    }
    (direct, env)
}

/// The database migrated (straight, `direct`) and the organization "faults" made; its API key.
fn provision(
    binary: &Path,
    direct: &[(String, String)],
    env: &[(String, String)],
) -> anyhow::Result<String> {
    api::cli(binary, direct, &["migrate"])?;
    api::org_with_key(binary, env, "faults")
}

impl Rig {
    /// With `pool_mode`, the instances reach Postgres through a PgBouncer in that mode, and
    /// straight for `LISTEN` and migrations (`HOOKLINE_DATABASE_DIRECT_URL`).
    pub async fn start(
        ports: &Ports,
        instances: usize,
        sessions: usize,
        pool_mode: Option<&str>,
    ) -> anyhow::Result<Self> {
        let binary = crate::setup::hookline_binary()?;
        let cluster = Cluster::create(ports.next()?).context("a private Postgres cluster")?;
        let pooler = match pool_mode {
            Some(mode) => Some(Pooler::start(&cluster, ports.next()?, mode)?),
            None => None,
        };
        let dir = cluster.dir.clone();
        let target = Target::start(ports.next()?).await?;
        let (llm, hook) = crate::instant_llm::start(Default::default()).await?;
        let (direct, env) = instance_env(&cluster, pooler.as_ref());
        let key = provision(&binary, &direct, &env)?;
        let mut started = Vec::new();
        for i in 0..instances {
            started.push(Instance::start(
                &binary,
                &env,
                ports.next()?,
                dir.join(format!("hookline-{i}.log")),
            )?);
        }
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .build()?;
        let api = Api::new(client.clone(), started[0].addr);
        let webhook = |name: &str, path: &str, await_response: bool| {
            json!({"type": "server", "subtype": "webhook", "name": name, "description": "Check an order",
                   "url": format!("http://{}/{path}", target.addr), "method": "POST",
                   "timeoutSeconds": TOOL_TIMEOUT_SECONDS,
                   "parameters": {"type": "object", "properties": {"orderId": {"type": "string"}}, "required": ["orderId"]},
                   "awaitResponse": await_response})
        };
        let awaited = api
            .post("/v1/tools", webhook("check_order", "hook", true), &key)
            .await?;
        let forget = api
            .post("/v1/tools", webhook("log_event", "delivered", false), &key)
            .await?;
        let persona = api
            .post(
                "/v1/personas",
                json!({"name": "Caller", "toolIds": [awaited["id"], forget["id"]]}),
                &key,
            )
            .await?;
        let lookup = webhook("lookup_order", "conv-hook", true);
        let talker = api.make_talker(&key, llm, hook, lookup).await?;
        let mut rig = Self {
            pooler,
            cluster,
            instances: started,
            target,
            key,
            talker: talker["id"].as_str().unwrap_or_default().to_owned(),
            sessions: Vec::new(),
            client,
            dir,
        };
        let persona = persona["id"].as_str().unwrap_or_default().to_owned();
        rig.sessions = rig.new_sessions(&persona, sessions).await?;
        Ok(rig)
    }

    /// Starts `n` sessions of `persona`, 32 at a time; retried while the database is away.
    pub async fn new_sessions(&self, persona: &str, n: usize) -> anyhow::Result<Vec<String>> {
        let next = Arc::new(AtomicU64::new(0));
        let made = Arc::new(Mutex::new(Vec::with_capacity(n)));
        let workers = (0..32).map(|w| {
            let (next, made) = (next.clone(), made.clone());
            async move {
                while next.fetch_add(1, Ordering::Relaxed) < n as u64 {
                    let instance = &self.instances[w % self.instances.len()];
                    let id = self.new_session(instance.addr, persona).await?;
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

    pub async fn new_session(&self, at: SocketAddr, persona: &str) -> anyhow::Result<String> {
        let token: Value = self
            .client
            .post(format!("http://{at}/v1/auth/session-token"))
            .bearer_auth(&self.key)
            .json(&json!({"personaConfig": {"personaId": persona}, "expiresInSeconds": 86400}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let started: Value = self
            .client
            .post(format!("http://{at}/v1/engine/session"))
            .bearer_auth(token["sessionToken"].as_str().unwrap_or_default())
            .json(&json!({}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        Ok(started["sessionId"].as_str().unwrap_or_default().to_owned())
    }

    pub async fn db(&self) -> anyhow::Result<sqlx::PgConnection> {
        use sqlx::Connection;
        Ok(sqlx::PgConnection::connect(&self.cluster.url()).await?)
    }

    /// The instances' CPU and the cluster's (every process under the postmaster), in seconds.
    pub fn cpu_seconds(&self) -> (f64, f64) {
        let hookline = self
            .instances
            .iter()
            .filter_map(Instance::pid)
            .filter_map(process_cpu)
            .sum();
        let postgres = self.cluster.postmaster().map_or(0.0, |pm| {
            std::iter::once(pm)
                .chain(child_pids(pm))
                .filter_map(process_cpu)
                .sum()
        });
        (hookline, postgres)
    }
}

fn process_cpu(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: f64 = fields.next()?.parse().ok()?;
    let stime: f64 = fields.next()?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

fn child_pids(parent: u32) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| {
                    let rest = s[s.rfind(')')? + 2..].to_owned();
                    rest.split_whitespace().nth(1)?.parse::<u32>().ok()
                })
                == Some(parent)
        })
        .collect()
}
