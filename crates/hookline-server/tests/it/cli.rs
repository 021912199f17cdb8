//! The real `hookline` binary.

use std::process::{Command, Output};

use crate::harness::{fresh_database_url, test_key_b64};

fn hookline(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hookline"));
    cmd.args(args)
        .env_remove("HOOKLINE_ENV")
        .env_remove("HOOKLINE_ENCRYPTION_KEY")
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
        .env("RUST_LOG", "warn")
        .spawn()
        .unwrap();
    let url = format!("http://{listen}/readyz");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let ready = loop {
        if let Ok(r) = reqwest::blocking_get(&url) {
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

mod reqwest {
    /// A tiny blocking GET over a fresh runtime, returning the status code.
    pub fn blocking_get(url: &str) -> Result<u16, ::reqwest::Error> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async { Ok(::reqwest::get(url).await?.status().as_u16()) })
    }
}
