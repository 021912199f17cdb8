//! The real `hookline` binary.

use std::process::{Command, Output};

use base64::Engine as _;

use crate::harness::{fresh_database_url, test_key_b64};

fn hookline(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hookline"));
    cmd.args(args)
        .env_remove("HOOKLINE_ENV")
        .env_remove("HOOKLINE_ENCRYPTION_KEY")
        .env("HOOKLINE_METRICS_LISTEN", "127.0.0.1:0")
        .env("RUST_LOG", "warn");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn orgs_and_api_keys_are_created_and_only_a_hash_is_stored() {
    let db = fresh_database_url();
    let key = test_key_b64();
    let env = [
        ("DATABASE_URL", db.as_str()),
        ("HOOKLINE_ENCRYPTION_KEY", key.as_str()),
    ];

    let out = hookline(&["orgs", "create", "acme"], &env);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let org_id = text(&out.stdout).trim().to_owned();
    assert!(uuid::Uuid::parse_str(&org_id).is_ok(), "{org_id}");

    let out = hookline(&["orgs", "create", "acme"], &env);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("exists already"),
        "{}",
        text(&out.stderr)
    );

    let out = hookline(
        &["api-keys", "create", "--org", "acme", "--name", "ci"],
        &env,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let api_key = stdout.lines().last().unwrap().to_owned();
    assert!(
        api_key.starts_with("hk_") && api_key.len() >= 46,
        "{api_key}"
    );

    let out = hookline(&["api-keys", "create", "--org", &org_id, "--json"], &env);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(json["key"].as_str().unwrap().starts_with("hk_"));
    assert_eq!(json["orgId"], org_id.as_str());

    // The database holds hashes, never the keys.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let pool = sqlx::PgPool::connect(&db).await.unwrap();
        let dump: Vec<(String,)> = sqlx::query_as("SELECT row_to_json(k)::text FROM api_keys k")
            .fetch_all(&pool)
            .await
            .unwrap();
        assert_eq!(dump.len(), 2);
        for (row,) in dump {
            assert!(!row.contains(&api_key[3..]), "{row}");
        }
    });
}

#[test]
fn api_key_for_an_unknown_org_fails_and_creates_nothing() {
    let db = fresh_database_url();
    let key = test_key_b64();
    let env = [
        ("DATABASE_URL", db.as_str()),
        ("HOOKLINE_ENCRYPTION_KEY", key.as_str()),
    ];
    let out = hookline(&["api-keys", "create", "--org", "nobody"], &env);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("no organization named or with id \"nobody\""),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let pool = sqlx::PgPool::connect(&db).await.unwrap();
        let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM api_keys")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(n, 0);
    });
}

#[test]
fn production_without_a_key_names_the_variable() {
    let out = hookline(
        &["serve"],
        &[("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/unused")],
    );
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("HOOKLINE_ENCRYPTION_KEY is required in production"),
        "{stderr}"
    );
    assert!(stderr.contains("openssl rand -base64 32"), "{stderr}");
    assert!(!stderr.contains("panicked"));

    let out = hookline(&["serve"], &[("HOOKLINE_ENCRYPTION_KEY", "dG9vIHNob3J0")]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("HOOKLINE_ENCRYPTION_KEY must be base64 of exactly 32 random bytes"),
        "{stderr}"
    );
}

#[test]
fn a_lease_shorter_than_the_longest_timeout_is_refused_at_start() {
    let key = test_key_b64();
    let out = hookline(
        &["serve"],
        &[
            ("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/unused"),
            ("HOOKLINE_ENCRYPTION_KEY", key.as_str()),
            ("HOOKLINE_DELIVERY_LEASE_SECONDS", "30"),
        ],
    );
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("HOOKLINE_DELIVERY_LEASE_SECONDS must be at least 75"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"));
}

#[test]
fn an_unreachable_database_is_named_without_its_password() {
    let key = test_key_b64();
    let out = hookline(
        &["migrate"],
        &[
            (
                "DATABASE_URL",
                "postgres://hook:s3cret@127.0.0.1:1/hookline",
            ),
            ("HOOKLINE_ENCRYPTION_KEY", key.as_str()),
        ],
    );
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("cannot reach the database at postgres://hook:***@127.0.0.1:1/hookline"),
        "{stderr}"
    );
    assert!(!stderr.contains("s3cret"));
}

#[test]
fn serve_starts_answers_and_stops_on_sigterm() {
    let db = fresh_database_url();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let listen = format!("127.0.0.1:{port}");
    let key = test_key_b64();
    let mut child = Command::new(env!("CARGO_BIN_EXE_hookline"))
        .arg("serve")
        .env("DATABASE_URL", &db)
        .env("HOOKLINE_ENCRYPTION_KEY", &key)
        .env("HOOKLINE_LISTEN", &listen)
        .env("HOOKLINE_METRICS_LISTEN", "127.0.0.1:0")
        .env("RUST_LOG", "warn")
        .spawn()
        .unwrap();
    let url = format!("http://{listen}/readyz");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let ready = loop {
        if let Ok(r) = blocking::get(&url) {
            break r;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "server never answered"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert_eq!(ready, 200);
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
}

mod blocking {
    /// A tiny blocking GET over a fresh runtime, returning the status code.
    pub fn get(url: &str) -> Result<u16, ::reqwest::Error> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async { Ok(::reqwest::get(url).await?.status().as_u16()) })
    }
}

#[tokio::test]
async fn secrets_rotate_moves_everything_to_the_new_key() {
    use crate::harness::{raw_settings, session, Receiver, Reply, TestApp};
    use reqwest::Method;
    use serde_json::json;

    let old = TestApp::spawn().await;
    let db = old.settings.database_url.clone();
    let org = old.org("acme").await;
    let receiver = Receiver::start(Reply::json(200, json!({"ok": true}))).await;
    let tool = json!({"type": "server", "subtype": "webhook", "name": "secret_call", "description": "d",
        "url": receiver.url("/x"), "headers": {"Authorization": "Bearer rotate-me-please-123"}});
    let (status, tool) = org.post(&old, "/v1/tools", &tool).await;
    assert_eq!(status, reqwest::StatusCode::CREATED);
    // A running session and an unused token carry the sealed header in their snapshots.
    let (session_id, _) = session(&old, &org, json!({"toolIds": [tool["id"]]})).await;
    let (_, unused) = org
        .post(
            &old,
            "/v1/auth/session-token",
            &json!({"personaConfig": {"toolIds": [tool["id"]]}}),
        )
        .await;

    let new_key = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
    let old_key = test_key_b64();
    let out = hookline(
        &["secrets", "rotate"],
        &[
            ("DATABASE_URL", db.as_str()),
            ("HOOKLINE_ENCRYPTION_KEY", new_key.as_str()),
            ("HOOKLINE_ENCRYPTION_OLD_KEYS", old_key.as_str()),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("re-encrypted"),
        "{}",
        text(&out.stdout)
    );

    // A server that knows only the new key runs everything.
    let new = TestApp::spawn_with(hookline_core::settings::RawSettings {
        database_url: db.clone(),
        encryption_key: Some(new_key),
        ..raw_settings()
    })
    .await;
    let call = |session_id: String| {
        let new = &new;
        let key = org.key.clone();
        async move {
            new.call(
                Method::POST,
                &format!("/v1/sessions/{session_id}/tool-calls"),
                Some(&key),
                Some(&json!({"toolName": "secret_call"})),
            )
            .await
        }
    };
    let (_, answer) = call(session_id).await;
    assert_eq!(answer["status"], "completed", "{answer}");
    let (status, started) = new
        .call(
            Method::POST,
            "/v1/engine/session",
            unused["sessionToken"].as_str(),
            None,
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::CREATED);
    let (_, answer) = call(started["sessionId"].as_str().unwrap().to_owned()).await;
    assert_eq!(answer["status"], "completed", "{answer}");
    for r in receiver.requests() {
        assert_eq!(r.header("authorization"), "Bearer rotate-me-please-123");
    }
    assert_eq!(receiver.requests().len(), 2);
    let (status, secrets) = org.get(&new, "/v1/signing-secrets").await;
    assert_eq!(status, reqwest::StatusCode::OK, "{secrets}");
}
