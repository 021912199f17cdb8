//! Starts the real app against a fresh database and talks HTTP to it.

use std::net::SocketAddr;

use base64::Engine as _;
use hookline_core::repo::{api_keys, organizations};
pub use hookline_core::settings::RawSettings;
use hookline_core::settings::Settings;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

/// The Postgres server tests run against (a database of its own per test is created there).
pub fn server_url() -> String {
    std::env::var("HOOKLINE_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

pub fn fresh_database_url() -> String {
    format!("{}/hookline_test_{}", server_url(), Uuid::new_v4().simple())
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
        ..RawSettings::default()
    }
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub pool: PgPool,
    pub client: reqwest::Client,
    pub settings: std::sync::Arc<Settings>,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(raw_settings()).await
    }

    pub async fn spawn_with(raw: RawSettings) -> Self {
        let settings = Settings::check(raw, false).expect("test settings are valid");
        let app = hookline_server::app::build(settings)
            .await
            .expect("app builds");
        let pool = app.state.pool.clone();
        let settings = app.state.settings.clone();
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
        }
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
