//! Everything a run needs, started fresh: the webhook target, nginx (if installed), the real
//! `hookline` binary on a new database, an organization, tools, a persona and sessions.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use sqlx::Connection;

use crate::api::{self, Api};

/// The bench's database, dropped and made again at each run: `HOOKLINE_BENCH_DATABASE`, so that
/// two people's runs on one Postgres server keep apart, else `hookline_bench`.
pub fn database() -> String {
    std::env::var("HOOKLINE_BENCH_DATABASE").unwrap_or_else(|_| "hookline_bench".to_owned())
}
/// Sessions made for each kind of call: enough for one per connection.
pub const SESSIONS: usize = 64;
/// Turns of one conversation in the turn scenario before its connection starts another: a
/// conversation of realistic length (`messageHistoryUpdated` carries the whole conversation, so
/// a session talked to for the whole run would measure an ever longer history instead).
pub const TURNS_PER_CONVERSATION: usize = 20;

#[derive(Clone)]
pub struct Nginx {
    pub addr: SocketAddr,
    child: Arc<Mutex<Process>>,
}

/// A process the benchmark started: stopped (SIGTERM first, see [`terminate`]) when the last
/// handle goes, so an error or a panic midway leaves nothing running either.
pub struct Process(Child);

impl Process {
    fn id(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        terminate(&mut self.0);
    }
}

#[derive(Clone)]
pub struct Environment {
    pub hookline: SocketAddr,
    pub target: SocketAddr,
    pub nginx: Option<Nginx>,
    pub key: String,
    pub tool: String,
    pub persona: String,
    /// One session per connection, as in real use (a session is one conversation).
    pub await_sessions: Vec<String>,
    /// Sessions of the tool-power persona (scenario 2p), one per connection.
    pub power_sessions: Vec<String>,
    /// MCP sessions of the same persona (`Mcp-Session-Id`), one per connection.
    pub mcp_sessions: Vec<String>,
    pub forget_sessions: Vec<String>,
    /// Sessions of a persona that talks through the instant fake LLM.
    pub talk_sessions: Vec<String>,
    /// The persona that talks, and per connection its current conversation and its turns so far.
    pub talker: String,
    pub conversations: Arc<Vec<tokio::sync::Mutex<(String, usize)>>>,
    /// Completed tool call in the LLM's stream → webhook request, per conversation turn.
    pub gaps: crate::instant_llm::Gaps,
    /// Message posted → the persona's first words on the session's event stream, per turn.
    pub first_deltas: crate::first_delta::FirstDeltas,
    /// Fire-and-forget calls accepted (202) and delivered (counted at the target).
    pub accepted: Arc<AtomicU64>,
    pub delivered: Arc<AtomicU64>,
    /// CPU of the server, its Postgres backends and nginx.
    pub probe: crate::cpu::Probe,
    /// The machine, as [`crate::cpu::machine`] names it.
    pub machine: String,
    /// The benchmark's database.
    pub database_url: String,
    /// Scenario 8's folder, once its corpus is processed.
    pub knowledge_folder: Arc<std::sync::OnceLock<String>>,
    /// Scenario 8h's organization (it has an embedding model, so its searches are hybrid; the
    /// bench organization's stay lexical): its API key, and its folder once embedded.
    pub hybrid_key: String,
    pub hybrid_folder: Arc<std::sync::OnceLock<String>>,
    server: Arc<Mutex<Process>>,
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// The `hookline` binary to measure: `HOOKLINE_BENCH_BINARY` if set (e.g. a copy of an older
/// build, to compare), else the release binary beside this one, built first only if it is
/// missing or older than a source file of the workspace.
pub fn hookline_binary() -> anyhow::Result<PathBuf> {
    if let Some(given) = std::env::var_os("HOOKLINE_BENCH_BINARY") {
        return Ok(PathBuf::from(given));
    }
    let here = std::env::current_exe()?;
    let path = here.with_file_name("hookline");
    let built = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let stale = match built {
        None => true,
        Some(at) => newer_source(&workspace, at),
    };
    if stale {
        eprintln!("building the hookline binary (release)...");
        let status = Command::new(env!("CARGO"))
            .args(["build", "--release", "--bin", "hookline"])
            .current_dir(&workspace)
            .status()?;
        if !status.success() {
            bail!("cargo build --release --bin hookline failed");
        }
    }
    Ok(path)
}

/// Whether a file the server is built from (sources, migrations, manifests) changed after `at`.
fn newer_source(workspace: &std::path::Path, at: std::time::SystemTime) -> bool {
    let mut dirs = vec![workspace.join("crates"), workspace.join("migrations")];
    let mut files = vec![workspace.join("Cargo.toml"), workspace.join("Cargo.lock")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.file_name()
                .is_some_and(|n| n == "target" || n == "tests" || n == "hookline-bench")
            {
                continue;
            }
            if p.is_dir() {
                dirs.push(p);
            } else {
                files.push(p);
            }
        }
    }
    files.iter().any(|f| {
        std::fs::metadata(f)
            .and_then(|m| m.modified())
            .is_ok_and(|m| m > at)
    })
}

/// The webhook target: `/hook` answers at once; `/delivered` too, counting fire-and-forget
/// deliveries.
async fn start_target(delivered: Arc<AtomicU64>) -> anyhow::Result<SocketAddr> {
    let app = Router::new()
        .route(
            "/hook",
            post(|| async { Json(json!({"status": "shipped", "carrier": "UPS", "trackingNumber": "1Z999AA10123456784"})) }),
        )
        .route(
            "/delivered",
            post(move || {
                delivered.fetch_add(1, Ordering::Relaxed);
                async { Json(json!({"ok": true})) }
            }),
        )
        .merge(crate::power::target_routes());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(addr)
}

/// One nginx worker proxying to the target over keepalive connections: the cost of one bare hop.
fn start_nginx(target: SocketAddr) -> anyhow::Result<Option<Nginx>> {
    let Ok(found) = Command::new("sh").args(["-c", "command -v nginx"]).output() else {
        return Ok(None);
    };
    let binary = String::from_utf8_lossy(&found.stdout).trim().to_owned();
    if binary.is_empty() {
        return Ok(None);
    }
    let dir = std::env::temp_dir().join(format!("hookline-bench-nginx-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let port = free_port()?;
    let d = dir.display();
    let conf = format!(
        "worker_processes 1;\ndaemon off;\nerror_log {d}/error.log warn;\npid {d}/nginx.pid;\n\
         events {{ worker_connections 4096; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n\
           fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
           upstream target {{ server {target}; keepalive 256; }}\n\
           server {{\n    listen 127.0.0.1:{port};\n    location / {{\n      proxy_pass http://target;\n\
               proxy_http_version 1.1;\n      proxy_set_header Connection \"\";\n    }}\n  }}\n}}\n"
    );
    std::fs::write(dir.join("nginx.conf"), conf)?;
    let child = Command::new(binary)
        .args(["-p", &d.to_string(), "-c", &format!("{d}/nginx.conf")])
        .stdout(Stdio::null())
        .spawn()?;
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse()?;
    wait_for_port(addr)?;
    Ok(Some(Nginx {
        addr,
        child: Arc::new(Mutex::new(Process(child))),
    }))
}

fn wait_for_port(addr: SocketAddr) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(addr).is_err() {
        if Instant::now() > deadline {
            bail!("nothing answers on {addr}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// The personas the scenarios use, made through the API: `persona` calls the webhook tool (`tool`,
/// awaited) and a fire-and-forget one; `talker` talks through the instant LLM.
struct Made {
    tool: Value,
    persona: Value,
    talker: Value,
}

async fn make_personas(
    api: &Api,
    key: &str,
    target: SocketAddr,
    llm: SocketAddr,
    hook: SocketAddr,
) -> anyhow::Result<Made> {
    let tool = api
        .post(
            "/v1/tools",
            webhook_tool(target, "check_order_status", true),
            key,
        )
        .await?;
    let mut forget = webhook_tool(target, "log_event", false);
    forget["url"] = json!(format!("http://{target}/delivered"));
    let forget = api.post("/v1/tools", forget, key).await?;
    let persona = api
        .post(
            "/v1/personas",
            json!({"name": "Bench", "toolIds": [tool["id"], forget["id"]]}),
            key,
        )
        .await?;
    // A persona that talks: the instant LLM, and a tool whose webhook measures the gap.
    let lookup = webhook_tool(target, "lookup_order", true);
    let talker = api.make_talker(key, llm, hook, lookup).await?;
    Ok(Made {
        tool,
        persona,
        talker,
    })
}

/// `SESSIONS` sessions of `persona` for awaited calls, as many for fire-and-forget ones, then
/// as many of `talker`, in that order.
async fn start_sessions(api: &Api, key: &str, made: &Made) -> anyhow::Result<Vec<String>> {
    let mut sessions = Vec::new();
    for i in 0..3 * SESSIONS {
        let persona = if i < 2 * SESSIONS {
            &made.persona
        } else {
            &made.talker
        };
        let token = api
            .post(
                "/v1/auth/session-token",
                json!({"personaConfig": {"personaId": persona["id"]}, "expiresInSeconds": 86400}),
                key,
            )
            .await?;
        let started = api
            .post(
                "/v1/engine/session",
                json!({}),
                token["sessionToken"].as_str().unwrap_or_default(),
            )
            .await?;
        sessions.push(started["sessionId"].as_str().unwrap_or_default().to_owned());
    }
    Ok(sessions)
}

/// MCP clients of `persona`: the same tool over `tools/call` (scenario 2m); their session ids.
async fn open_mcp_sessions(api: &Api, key: &str, persona: &str) -> anyhow::Result<Vec<String>> {
    let mut mcp_sessions = Vec::new();
    for _ in 0..SESSIONS {
        let response = api
            .client
            .post(format!("{}/v1/mcp/personas/{persona}", api.base))
            .bearer_auth(key)
            .json(
                &json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                "protocolVersion": "2025-06-18", "capabilities": {},
                "clientInfo": {"name": "hookline-bench", "version": "1"}}}),
            )
            .send()
            .await?;
        let id = response
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let Some(id) = id else {
            bail!(
                "MCP initialize answered {} without a session id",
                response.status()
            );
        };
        mcp_sessions.push(id);
    }
    Ok(mcp_sessions)
}

/// A webhook tool `name` to the target's `/hook`, with an argument and a secret header.
fn webhook_tool(target: SocketAddr, name: &str, await_response: bool) -> Value {
    json!({"type": "server", "subtype": "webhook", "name": name, "description": "Check an order",
           "url": format!("http://{target}/hook"), "method": "POST",
           "headers": {"Authorization": "Bearer bench-secret-token"},
           "parameters": {"type": "object", "properties": {"orderId": {"type": "string"}}, "required": ["orderId"]},
           "awaitResponse": await_response})
}

/// The bench's database dropped (it is made again by `hookline migrate`); the machine's name,
/// with the Postgres version.
async fn drop_the_database(server_url: &str, database: &str) -> anyhow::Result<String> {
    let mut admin = sqlx::PgConnection::connect(&format!("{server_url}/postgres"))
        .await
        .context("cannot reach Postgres (set HOOKLINE_BENCH_POSTGRES)")?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
        .execute(&mut admin)
        .await?;
    let (version,): (String,) = sqlx::query_as("SELECT version()")
        .fetch_one(&mut admin)
        .await?;
    Ok(crate::cpu::machine(
        version.split(" on ").next().unwrap_or(&version),
    ))
}

/// The database migrated and two organizations made with the binary's CLI; their API keys
/// (`bench`, then `bench-hybrid`).
fn provision(binary: &std::path::Path, env: &[(&str, &str)]) -> anyhow::Result<(String, String)> {
    api::cli(binary, env, &["migrate"])?;
    Ok((
        api::org_with_key(binary, env, "bench")?,
        api::org_with_key(binary, env, "bench-hybrid")?,
    ))
}

impl Environment {
    /// Starts `binary` (see [`hookline_binary`]) with everything it is measured against.
    pub async fn start(binary: &std::path::Path) -> anyhow::Result<Self> {
        let delivered = Arc::new(AtomicU64::new(0));
        let target = start_target(delivered.clone()).await?;
        let gaps = crate::instant_llm::Gaps::default();
        let (llm, hook) = crate::instant_llm::start(gaps.clone()).await?;
        let nginx = start_nginx(target)?;
        let server_url = std::env::var("HOOKLINE_BENCH_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
        let database = database();
        let machine = drop_the_database(&server_url, &database).await?;
        let database_url = format!("{server_url}/{database}");
        let hookline: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse()?;
        let key = "aG9va2xpbmUtYmVuY2gta2V5LTMyLWJ5dGVzLWxvbmc=";
        let env = [
            ("DATABASE_URL", database_url.as_str()),
            ("HOOKLINE_ENCRYPTION_KEY", key),
            ("HOOKLINE_ALLOWED_NETWORKS", "127.0.0.0/8"),
            // The bench's conversations post turn after turn in one session on purpose.
            ("HOOKLINE_SESSION_MESSAGES_PER_SECOND", "1000000"),
            ("HOOKLINE_SESSION_MESSAGE_BURST", "1000000"),
            ("RUST_LOG", "warn"),
        ];
        let (api_key, hybrid_key) = provision(binary, &env)?;
        let server = Command::new(binary)
            .arg("serve")
            .envs(env)
            .env("HOOKLINE_LISTEN", hookline.to_string())
            .env("HOOKLINE_METRICS_LISTEN", "127.0.0.1:0")
            .spawn()?;
        let probe = crate::cpu::Probe::new(
            server.id(),
            nginx
                .as_ref()
                .and_then(|n| n.child.lock().ok().map(|c| c.id())),
            &database,
        );
        let server = Arc::new(Mutex::new(Process(server)));
        wait_for_port(hookline)?;

        let api = Api::new(reqwest::Client::builder().no_proxy().build()?, hookline);
        let made = make_personas(&api, &api_key, target, llm, hook).await?;
        let mut sessions = start_sessions(&api, &api_key, &made).await?;
        let talk_sessions = sessions.split_off(2 * SESSIONS);
        let persona = made.persona["id"].as_str().unwrap_or_default().to_owned();
        let mcp_sessions = open_mcp_sessions(&api, &api_key, &persona).await?;
        let power_sessions = crate::power::sessions(&api, target, &api_key, SESSIONS).await?;
        Ok(Self {
            hookline,
            target,
            nginx,
            key: api_key,
            tool: made.tool["id"].as_str().unwrap_or_default().to_owned(),
            persona,
            forget_sessions: sessions.split_off(SESSIONS),
            conversations: Arc::new(
                talk_sessions
                    .iter()
                    .map(|s| tokio::sync::Mutex::new((s.clone(), 0)))
                    .collect(),
            ),
            talk_sessions,
            talker: made.talker["id"].as_str().unwrap_or_default().to_owned(),
            gaps,
            first_deltas: Default::default(),
            accepted: Arc::default(),
            delivered,
            probe,
            machine,
            database_url,
            knowledge_folder: Arc::default(),
            hybrid_key,
            hybrid_folder: Arc::default(),
            await_sessions: sessions,
            mcp_sessions,
            power_sessions,
            server,
        })
    }

    /// The server's peak resident memory (VmHWM), in MiB.
    pub fn hookline_peak_rss_mib(&self) -> Option<f64> {
        self.hookline_memory("VmHWM:")
    }

    /// The server's resident memory now (VmRSS), in MiB.
    pub fn hookline_rss_mib(&self) -> Option<f64> {
        self.hookline_memory("VmRSS:")
    }

    fn hookline_memory(&self, field: &str) -> Option<f64> {
        let pid = self.server.lock().ok()?.id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let line = status.lines().find(|l| l.starts_with(field))?;
        let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib / 1024.0)
    }

    /// Stores `n` fire-and-forget calls, due now, over the fire-and-forget sessions in one
    /// statement (one commit): a backlog that appears at once, as if accepted while no worker ran,
    /// so its drain is measured apart from the accepts. Counted as accepted.
    pub async fn store_backlog(&self, n: usize) -> anyhow::Result<()> {
        let mut db = sqlx::PgConnection::connect(&self.database_url).await?;
        let sessions: Vec<uuid::Uuid> = self
            .forget_sessions
            .iter()
            .map(|s| s.parse())
            .collect::<Result<_, _>>()?;
        let stored = sqlx::query(
            "INSERT INTO tool_calls (id, org_id, session_id, tool_call_id, tool_name, tool_type,
                 status, await_response, arguments, next_attempt_at)
             SELECT gen_random_uuid(), s.org_id, s.id, 'backlog-' || gen_random_uuid(),
                    'log_event', 'server', 'pending', false, '{\"orderId\": \"ORD-1\"}', now()
             FROM generate_series(0, $1 - 1) g
             JOIN sessions s ON s.id = ($2::uuid[])[1 + g % cardinality($2::uuid[])]",
        )
        .bind(n as i64)
        .bind(&sessions)
        .execute(&mut db)
        .await?
        .rows_affected();
        self.accepted.fetch_add(stored, Ordering::Relaxed);
        Ok(())
    }

    /// Stops the server and nginx (master and worker) now.
    pub fn stop(&self) {
        if let Ok(mut s) = self.server.lock() {
            terminate(&mut s.0);
        }
        if let Some(n) = &self.nginx {
            if let Ok(mut c) = n.child.lock() {
                terminate(&mut c.0);
            }
        }
    }
}

/// SIGTERM, then waits (up to 15 s) for the process to exit; SIGKILL only if it does not. nginx's
/// master stops its worker on SIGTERM, whereas SIGKILL would leave the worker running.
fn terminate(child: &mut std::process::Child) {
    if matches!(child.try_wait(), Ok(Some(_))) {
        return;
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}
