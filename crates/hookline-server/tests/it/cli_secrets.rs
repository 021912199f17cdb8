//! `hookline secrets rotate` and values sealed with a key the server lacks, through the real
//! binary beside a running app.

use base64::Engine as _;

use hookline_core::settings::RawSettings;
use reqwest::{Method, StatusCode};
use serde_json::json;
use uuid::Uuid;

use crate::cli::{hookline_beside_an_app, text};
use crate::harness::{raw_settings, session, test_key_b64, Org, Receiver, Reply, TestApp};

#[tokio::test]
async fn secrets_rotate_moves_everything_to_the_new_key() {
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
    let out = hookline_beside_an_app(
        &["secrets", "rotate"],
        &[
            ("DATABASE_URL", db.as_str()),
            ("HOOKLINE_ENCRYPTION_KEY", new_key.as_str()),
            ("HOOKLINE_ENCRYPTION_OLD_KEYS", old_key.as_str()),
        ],
    )
    .await;
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

#[tokio::test]
async fn a_value_sealed_with_a_missing_key_is_named_and_rotation_reports_it() {
    let receiver = Receiver::start(Reply::json(200, json!({"ok": true}))).await;
    let tool = json!({"type": "server", "subtype": "webhook", "name": "secret_call", "description": "d",
        "url": receiver.url("/x"), "headers": {"Authorization": "Bearer keep-me-123"}});
    // acme's secrets are sealed with a key that will be lost; globex's with one that is kept.
    let lost = TestApp::spawn().await;
    let db = lost.settings.database_url.clone();
    let acme = lost.org("acme").await;
    let (status, body) = acme.post(&lost, "/v1/tools", &tool).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (acme_session, _) = session(&lost, &acme, json!({"toolIds": [body["id"]]})).await;
    let lost_key_id = lost.settings.secrets.current_key_id().to_owned();

    let kept_key = base64::engine::general_purpose::STANDARD.encode([9u8; 32]);
    let kept = TestApp::spawn_with(RawSettings {
        database_url: db.clone(),
        encryption_key: Some(kept_key.clone()),
        ..raw_settings()
    })
    .await;
    let globex = kept.org("globex").await;
    let (status, body) = globex.post(&kept, "/v1/tools", &tool).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (globex_id,): (Uuid,) =
        sqlx::query_as("SELECT id FROM organizations WHERE name = 'globex'")
            .fetch_one(&kept.pool)
            .await
            .unwrap();
    let (acme_id,): (Uuid,) = sqlx::query_as("SELECT id FROM organizations WHERE name = 'acme'")
        .fetch_one(&kept.pool)
        .await
        .unwrap();

    acme_is_told_which_key_is_missing(&kept, &acme, &acme_session, &lost_key_id, &receiver).await;
    let new_key = base64::engine::general_purpose::STANDARD.encode([10u8; 32]);
    rotation_reports_acme_value_by_value(
        &db,
        &kept_key,
        &new_key,
        acme_id,
        globex_id,
        &lost_key_id,
    )
    .await;
    let new = TestApp::spawn_with(RawSettings {
        database_url: db.clone(),
        encryption_key: Some(new_key),
        ..raw_settings()
    })
    .await;
    let (status, secrets) = globex.get(&new, "/v1/signing-secrets").await;
    assert_eq!(status, StatusCode::OK, "{secrets}");
}

/// A server with only the kept key: acme's call and secrets name the missing key, and nothing is
/// sent.
async fn acme_is_told_which_key_is_missing(
    kept: &TestApp,
    acme: &Org,
    acme_session: &str,
    lost_key_id: &str,
    receiver: &Receiver,
) {
    let (status, problem) = acme.get(kept, "/v1/signing-secrets").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(problem["kind"], "encryption_key_missing", "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains(&format!("key {lost_key_id}")),
        "{problem}"
    );
    let (_, answer) = kept
        .call(
            Method::POST,
            &format!("/v1/sessions/{acme_session}/tool-calls"),
            Some(&acme.key),
            Some(&json!({"toolName": "secret_call"})),
        )
        .await;
    assert_eq!(answer["status"], "failed", "{answer}");
    assert_eq!(
        answer["error"]["kind"], "encryption_key_missing",
        "{answer}"
    );
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains(lost_key_id),
        "{answer}"
    );
    assert!(receiver.requests().is_empty());
}

/// Rotating to a new key (the kept one as old): globex moves, acme is reported value by value,
/// each line naming the key that is lost.
async fn rotation_reports_acme_value_by_value(
    db: &str,
    kept_key: &str,
    new_key: &str,
    acme_id: Uuid,
    globex_id: Uuid,
    lost_key_id: &str,
) {
    let out = hookline_beside_an_app(
        &["secrets", "rotate"],
        &[
            ("DATABASE_URL", db),
            ("HOOKLINE_ENCRYPTION_KEY", new_key),
            ("HOOKLINE_ENCRYPTION_OLD_KEYS", kept_key),
        ],
    )
    .await;
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    let acme_lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains(&acme_id.to_string()))
        .collect();
    assert!(
        acme_lines.iter().any(|l| l.contains("signing secret")),
        "{stderr}"
    );
    assert!(
        acme_lines
            .iter()
            .any(|l| l.contains("header Authorization of tool")),
        "{stderr}"
    );
    assert!(
        acme_lines.iter().any(|l| l.contains("in session")),
        "{stderr}"
    );
    assert!(
        acme_lines.iter().all(|l| l.contains(lost_key_id)),
        "{stderr}"
    );
    assert!(!stderr.contains(&globex_id.to_string()), "{stderr}");
    assert!(
        text(&out.stdout).contains("re-encrypted 2 secrets"),
        "{}",
        text(&out.stdout)
    );
}
