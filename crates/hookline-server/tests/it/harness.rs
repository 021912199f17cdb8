//! Starts the real app against a fresh database and talks HTTP to it.

use std::net::SocketAddr;

use base64::Engine as _;
use hookline_core::repo::{api_keys, organizations};
pub use hookline_core::settings::RawSettings;

pub use crate::receiver::{Receiver, Recorded, Reply};
pub use crate::sse::{SseEvent, SseStream};
use hookline_core::settings::Settings;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use sha2::Digest as _;
use sqlx::{Connection as _, PgPool};
use uuid::Uuid;

/// The Postgres server tests run against (a database of its own per test is created there).
pub fn server_url() -> String {
    std::env::var("HOOKLINE_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

/// A new database name on the test server (created by whoever connects first), recorded so
/// that [`Cleanup`] drops it when the test ends.
pub fn fresh_database_url() -> String {
    fresh_database_url_ending("")
}

/// [`fresh_database_url`] with `suffix` at the end of the name (characters to quote, say).
pub fn fresh_database_url_ending(suffix: &str) -> String {
    let name = format!("hookline_test_{}{suffix}", Uuid::new_v4().simple());
    CREATED.lock().unwrap().push(name.clone());
    format!("{}/{name}", server_url())
}

/// The databases this test process named; only these are ever dropped.
static CREATED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// Drops this process's test databases when the last holder goes away: at the end of the test,
/// passed or failed (a panic unwinds through it too). Every [`TestApp`] and [`Server`] holds one;
/// a test that only runs the binary takes one with [`cleanup_guard`].
pub struct Cleanup(());

pub fn cleanup_guard() -> std::sync::Arc<Cleanup> {
    static CURRENT: std::sync::Mutex<std::sync::Weak<Cleanup>> =
        std::sync::Mutex::new(std::sync::Weak::new());
    let mut current = CURRENT.lock().unwrap();
    current.upgrade().unwrap_or_else(|| {
        let fresh = std::sync::Arc::new(Cleanup(()));
        *current = std::sync::Arc::downgrade(&fresh);
        fresh
    })
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let names: Vec<String> =
            std::mem::take(&mut *CREATED.lock().unwrap_or_else(|p| p.into_inner()));
        if names.is_empty() {
            return;
        }
        // A thread of its own with its own runtime: this may run inside the test's runtime,
        // which cannot be blocked on. FORCE ends the connections the app still holds.
        let dropping = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let Ok(pool) = PgPool::connect(&format!("{}/postgres", server_url())).await else {
                    return;
                };
                for name in names {
                    let _ = sqlx::query(&format!(
                        "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                        quoted(&name)
                    ))
                    .execute(&pool)
                    .await;
                }
                pool.close().await;
            });
        });
        let _ = dropping.join();
    }
}

/// A database name as an SQL identifier.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Creates the database `url` names, unless it exists, as a copy of the migrated template
/// ([`template`]): copying a database is cheaper than running every migration for each test.
/// The app's own `migrate` at start then finds nothing to do.
async fn copy_template(url: &str) {
    let name = url.rsplit('/').next().unwrap();
    let template = template().await;
    let mut admin = sqlx::PgConnection::connect(&format!("{}/postgres", server_url()))
        .await
        .unwrap();
    let made = sqlx::query(&format!(
        "CREATE DATABASE {} TEMPLATE {}",
        quoted(name),
        quoted(template)
    ))
    .execute(&mut admin)
    .await;
    match made {
        // 42P04: it exists (a second instance on the same database).
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P04") => {}
        other => {
            other.expect("the test database is copied from the template");
        }
    }
    admin.close().await.unwrap();
}

/// The name of a database with every migration applied, made once for a given set of
/// migrations (named by their checksums) and kept on the test server for the next runs. Test
/// processes run side by side: the one that makes it holds an advisory lock, so the others wait
/// and then find it; it is made under another name and renamed once migrated, so a process that
/// dies midway never leaves a half-migrated template behind the name.
async fn template() -> &'static str {
    static NAME: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    NAME.get_or_init(|| async {
        let mut digest = sha2::Sha256::new();
        for migration in hookline_core::db::MIGRATOR.iter() {
            digest.update(migration.version.to_le_bytes());
            digest.update(&*migration.checksum);
        }
        let sum: String = digest.finalize()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let name = format!("hookline_template_{sum}");
        let mut admin = sqlx::PgConnection::connect(&format!("{}/postgres", server_url()))
            .await
            .unwrap();
        sqlx::query("SELECT pg_advisory_lock(hashtext($1))")
            .bind(&name)
            .execute(&mut admin)
            .await
            .unwrap();
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
                .bind(&name)
                .fetch_one(&mut admin)
                .await
                .unwrap();
        if !exists {
            let building = format!("{name}_building");
            for statement in [
                format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quoted(&building)),
                format!("CREATE DATABASE {}", quoted(&building)),
            ] {
                sqlx::query(&statement).execute(&mut admin).await.unwrap();
            }
            let pool = PgPool::connect(&format!("{}/{building}", server_url()))
                .await
                .unwrap();
            hookline_core::db::MIGRATOR.run(&pool).await.unwrap();
            pool.close().await;
            sqlx::query(&format!(
                "ALTER DATABASE {} RENAME TO {}",
                quoted(&building),
                quoted(&name)
            ))
            .execute(&mut admin)
            .await
            .unwrap();
        }
        // Closing the connection releases the lock.
        admin.close().await.unwrap();
        name
    })
    .await
}

/// A loopback port nobody listens on right now (for a process the test starts).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

pub const TEST_KEY: [u8; 32] = [42; 32];

pub fn test_key_b64() -> String {
    base64::engine::general_purpose::STANDARD.encode(TEST_KEY)
}

/// Production-mode settings on a fresh database, with loopback opened for webhook targets.
pub fn raw_settings() -> RawSettings {
    RawSettings {
        database_url: fresh_database_url(),
        listen: "127.0.0.1:0".into(),
        encryption_key: Some(test_key_b64()),
        allowed_networks: "127.0.0.0/8,::1/128".into(),
        metrics_listen: "127.0.0.1:0".into(),
        ..RawSettings::default()
    }
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub pool: PgPool,
    pub client: reqwest::Client,
    pub settings: std::sync::Arc<Settings>,
    /// Where the app serves `/metrics` (apart from the API).
    pub metrics_addr: Option<SocketAddr>,
    _cleanup: std::sync::Arc<Cleanup>,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(raw_settings()).await
    }

    pub async fn spawn_with(raw: RawSettings) -> Self {
        let cleanup = cleanup_guard();
        if CREATED
            .lock()
            .unwrap()
            .iter()
            .any(|name| raw.database_url.ends_with(&format!("/{name}")))
        {
            copy_template(&raw.database_url).await;
        }
        let settings = Settings::check(raw, false).expect("test settings are valid");
        let app = hookline_server::app::build(settings)
            .await
            .expect("app builds");
        let pool = app.state.pool.clone();
        let settings = app.state.settings.clone();
        let metrics_addr = app.metrics_addr;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(hookline_server::app::serve(
            app,
            listener,
            std::future::pending(),
        ));
        Self {
            addr,
            pool,
            client: reqwest::Client::builder().no_proxy().build().unwrap(),
            settings,
            metrics_addr,
            _cleanup: cleanup,
        }
    }

    /// What the app's metrics listener shows.
    pub async fn metrics_text(&self) -> String {
        let addr = self.metrics_addr.expect("metrics are served");
        self.client
            .get(format!("http://{addr}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Creates an organization and an API key for it.
    pub async fn org(&self, name: &str) -> Org {
        let mut conn = self.pool.acquire().await.unwrap();
        let org = organizations::create(&mut conn, &self.settings.secrets, name)
            .await
            .unwrap();
        let key = api_keys::create(&mut *conn, org.id, "test").await.unwrap();
        Org {
            key: key.key.expose().to_owned(),
        }
    }

    /// Sends a request with an optional bearer credential and JSON body; returns status and
    /// parsed body (`Value::Null` when empty, a string when not JSON).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.client.request(method, self.url(path));
        if let Some(b) = bearer {
            request = request.bearer_auth(b);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status();
        let text = response.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, body)
    }
}

pub struct Org {
    pub key: String,
}

impl Org {
    pub async fn get(&self, app: &TestApp, path: &str) -> (StatusCode, Value) {
        app.call(Method::GET, path, Some(&self.key), None).await
    }
    pub async fn post(&self, app: &TestApp, path: &str, body: &Value) -> (StatusCode, Value) {
        app.call(Method::POST, path, Some(&self.key), Some(body))
            .await
    }
    pub async fn put(&self, app: &TestApp, path: &str, body: &Value) -> (StatusCode, Value) {
        app.call(Method::PUT, path, Some(&self.key), Some(body))
            .await
    }
    pub async fn patch(&self, app: &TestApp, path: &str, body: &Value) -> (StatusCode, Value) {
        app.call(Method::PATCH, path, Some(&self.key), Some(body))
            .await
    }
    pub async fn delete(&self, app: &TestApp, path: &str) -> (StatusCode, Value) {
        app.call(Method::DELETE, path, Some(&self.key), None).await
    }
}

/// The fields a problem document names, in order.
pub fn error_fields(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| e["field"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Every row of every table, as text, to look for what must not be there.
pub async fn dump_database(pool: &PgPool) -> String {
    let tables: Vec<(String,)> =
        sqlx::query_as("SELECT tablename::text FROM pg_tables WHERE schemaname = 'public'")
            .fetch_all(pool)
            .await
            .unwrap();
    let mut out = String::new();
    for (table,) in tables {
        let rows: Vec<(String,)> =
            sqlx::query_as(&format!("SELECT row_to_json(t)::text FROM \"{table}\" t"))
                .fetch_all(pool)
                .await
                .unwrap();
        for (row,) in rows {
            out.push_str(&row);
            out.push('\n');
        }
    }
    out
}

/// A stored tool's real header values, opened with the app's key.
pub async fn open_headers(app: &TestApp, tool_id: &str) -> Vec<(String, String)> {
    let (org_id, sealed): (Uuid, sqlx::types::Json<hookline_core::sealed_tool::SealedTool>) =
        sqlx::query_as(
            "SELECT org_id, json_build_object('definition', definition, 'sealedHeaders', sealed_headers) FROM tools WHERE id = $1",
        )
        .bind(Uuid::parse_str(tool_id).unwrap())
        .fetch_one(&app.pool)
        .await
        .unwrap();
    sealed
        .0
        .open_headers(org_id, &app.settings.secrets)
        .unwrap()
        .into_iter()
        .map(|(k, v)| (k, v.expose().to_owned()))
        .collect()
}

/// Issues a session token for `persona` (a personaConfig) and starts the session; returns
/// (session id, client secret).
pub async fn session(app: &TestApp, org: &Org, persona_config: Value) -> (String, String) {
    let (status, token) = org
        .post(
            app,
            "/v1/auth/session-token",
            &serde_json::json!({"personaConfig": persona_config}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{token}");
    let (status, started) = app
        .call(
            Method::POST,
            "/v1/engine/session",
            token["sessionToken"].as_str(),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    (
        started["sessionId"].as_str().unwrap().to_owned(),
        started["clientSecret"].as_str().unwrap().to_owned(),
    )
}

/// Two instances on one database, each with `settings`.
pub async fn two_instances(settings: impl Fn() -> RawSettings) -> (TestApp, TestApp) {
    let first = TestApp::spawn_with(settings()).await;
    let second = TestApp::spawn_with(RawSettings {
        database_url: first.settings.database_url.clone(),
        ..settings()
    })
    .await;
    (first, second)
}

impl TestApp {
    /// A handle on a server that runs elsewhere (the real binary) against `database_url`.
    pub async fn attach(addr: SocketAddr, database_url: &str) -> Self {
        let raw = RawSettings {
            database_url: database_url.to_owned(),
            ..raw_settings()
        };
        let settings = std::sync::Arc::new(Settings::check(raw, false).unwrap());
        Self {
            addr,
            pool: PgPool::connect(database_url).await.unwrap(),
            client: reqwest::Client::builder().no_proxy().build().unwrap(),
            settings,
            metrics_addr: None,
            _cleanup: cleanup_guard(),
        }
    }
}

/// The real `hookline serve` in a child process.
pub struct Server {
    child: std::process::Child,
    pub addr: SocketAddr,
    _cleanup: std::sync::Arc<Cleanup>,
}

impl Server {
    pub async fn start(database_url: &str, env: &[(&str, &str)]) -> Self {
        Self::start_logging_to(database_url, env, None).await
    }

    /// Starts the server with its log (stderr) written to `log`.
    pub async fn start_logging_to(
        database_url: &str,
        env: &[(&str, &str)],
        log: Option<&std::path::Path>,
    ) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_hookline"));
        cmd.arg("serve")
            .env("DATABASE_URL", database_url)
            .env("HOOKLINE_ENCRYPTION_KEY", test_key_b64())
            .env("HOOKLINE_LISTEN", addr.to_string())
            .env("HOOKLINE_ALLOWED_NETWORKS", "127.0.0.0/8")
            .env("HOOKLINE_METRICS_LISTEN", "127.0.0.1:0")
            .env("RUST_LOG", "warn");
        for (k, v) in env {
            cmd.env(k, v);
        }
        if let Some(path) = log {
            cmd.stderr(std::fs::File::create(path).unwrap());
        }
        let child = cmd.spawn().unwrap();
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            if let Ok(r) = client.get(format!("http://{addr}/readyz")).send().await {
                if r.status() == StatusCode::OK {
                    break;
                }
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the server never became ready"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        Self {
            child,
            addr,
            _cleanup: cleanup_guard(),
        }
    }

    /// `kill -9`: no chance to finish anything.
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM, then waits for the process to exit, without blocking the test's runtime (the
    /// receivers the server is still calling run on it).
    pub async fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        assert!(std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The venv of the Python tools some tests run (fakellm, the MCP SDK; pinned in
/// scripts/test-requirements.txt): `HOOKLINE_TEST_VENV` (set by scripts/test), else made now by
/// scripts/test-venv (once, under a lock, so tests may ask at once).
pub fn test_venv() -> std::path::PathBuf {
    if let Some(path) = std::env::var_os("HOOKLINE_TEST_VENV") {
        return std::path::PathBuf::from(path);
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/test-venv");
    let out = std::process::Command::new(script)
        .stderr(std::process::Stdio::inherit())
        .output()
        .expect("scripts/test-venv runs");
    assert!(out.status.success(), "scripts/test-venv failed");
    std::path::PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}
