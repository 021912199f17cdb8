//! `/v1/llms` through HTTP, and `llmId` on stored and ephemeral personas.

use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::harness::{dump_database, error_fields, Org, TestApp};

const KEY: &str = "sk-test-0123456789abcdef";

pub fn openai_llm(name: &str, base_url: &str) -> Value {
    json!({"name": name, "provider": "openai", "baseUrl": base_url, "model": "gpt-4o-mini",
           "apiKey": KEY, "temperature": 0.3, "maxTokens": 1024})
}

/// The stored key of an LLM, opened with the app's key.
async fn stored_key(app: &TestApp, id: &str) -> Option<String> {
    let llm = hookline_core::repo::llms::get(&app.pool, org_of(app, id).await, uuid(id))
        .await
        .unwrap()
        .unwrap();
    llm.open_key(&app.settings.secrets)
        .unwrap()
        .map(|k| k.expose().to_owned())
}

async fn org_of(app: &TestApp, id: &str) -> Uuid {
    let (org,): (Uuid,) = sqlx::query_as("SELECT org_id FROM llms WHERE id = $1")
        .bind(uuid(id))
        .fetch_one(&app.pool)
        .await
        .unwrap();
    org
}

fn uuid(id: &str) -> Uuid {
    Uuid::parse_str(id).unwrap()
}

async fn create(app: &TestApp, org: &Org, body: &Value) -> Value {
    let (status, llm) = org.post(app, "/v1/llms", body).await;
    assert_eq!(status, StatusCode::CREATED, "{llm}");
    llm
}

#[tokio::test]
async fn llms_are_created_read_listed_with_the_key_masked() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let llm = create(&app, &org, &openai_llm("gpt", "https://api.openai.com/v1/")).await;
    assert_eq!(llm["apiKey"], "••••cdef");
    assert_eq!(llm["baseUrl"], "https://api.openai.com/v1");
    assert_eq!(llm["provider"], "openai");
    assert_eq!(llm["temperature"], 0.3);
    assert_eq!(llm["maxTokens"], 1024);
    assert_eq!(llm["timeoutSeconds"], 30);
    assert_eq!(llm["usageCount"], 0);
    let id = llm["id"].as_str().unwrap();
    assert_eq!(stored_key(&app, id).await.as_deref(), Some(KEY));
    assert!(!dump_database(&app.pool).await.contains(KEY));

    // Defaults follow the provider; no key is fine (local servers need none).
    let claude = create(
        &app,
        &org,
        &json!({"name": "claude", "provider": "anthropic", "model": "claude-sonnet-4-5"}),
    )
    .await;
    assert_eq!(claude["baseUrl"], "https://api.anthropic.com");
    assert_eq!(claude["apiKey"], Value::Null);

    let (status, read) = org.get(&app, &format!("/v1/llms/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read, llm);
    let (status, page) = org.get(&app, "/v1/llms?search=claude").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["meta"]["total"], 1);
    assert_eq!(page["data"][0]["name"], "claude");
    for body in [&llm, &claude, &page] {
        assert!(!body.to_string().contains(KEY));
    }

    // Names are unique in the organization; another organization sees none of it.
    let (status, taken) = org
        .post(
            &app,
            "/v1/llms",
            &openai_llm("gpt", "https://x.example.com"),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error_fields(&taken), ["name"]);
    let other = app.org("globex").await;
    let (status, _) = other.get(&app, &format!("/v1/llms/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = other.get(&app, "/v1/llms/not-a-uuid").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn every_invalid_field_is_named() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let (status, body) = org
        .post(
            &app,
            "/v1/llms",
            &json!({"name": "", "provider": "gemini", "model": "m", "apiKey": "a key",
                    "temperature": 3, "maxTokens": 100_001, "timeoutSeconds": 0,
                    "baseUrl": "ftp://x.example.com", "temprature": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        error_fields(&body),
        [
            "name",
            "provider",
            "apiKey",
            "temperature",
            "maxTokens",
            "timeoutSeconds",
            "temprature",
            "baseUrl"
        ]
    );
    let (status, body) = org
        .post(
            &app,
            "/v1/llms",
            &json!({"name": 1, "provider": "openai", "model": "m"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_fields(&body), ["name"]);
}

#[tokio::test]
async fn base_url_follows_the_outbound_rules_of_the_mode() {
    let app = TestApp::spawn().await; // production mode, 127.0.0.0/8 allowed
    let org = app.org("acme").await;
    create(
        &app,
        &org,
        &openai_llm("local", "http://127.0.0.1:11434/v1"),
    )
    .await;
    for url in [
        "http://api.example.com/v1",
        "https://10.0.0.7/v1",
        "https://169.254.169.254/v1",
        "https://user:pw@api.example.com/v1",
    ] {
        let (status, body) = org.post(&app, "/v1/llms", &openai_llm("x", url)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {body}");
        assert_eq!(error_fields(&body), ["baseUrl"], "{url}");
    }
    // Without allowed networks, loopback is refused too.
    let strict = TestApp::spawn_with(crate::harness::RawSettings {
        allowed_networks: String::new(),
        ..crate::harness::raw_settings()
    })
    .await;
    let org = strict.org("acme").await;
    let (status, body) = org
        .post(
            &strict,
            "/v1/llms",
            &openai_llm("local", "https://127.0.0.1:11434/v1"),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(error_fields(&body), ["baseUrl"]);
}

#[tokio::test]
async fn updates_keep_the_key_on_its_origin_only() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let llm = create(&app, &org, &openai_llm("gpt", "https://api.openai.com/v1")).await;
    let id = llm["id"].as_str().unwrap();
    let path = format!("/v1/llms/{id}");

    // Not sent, or sent back as its preview: the stored key stays.
    let (status, patched) = org
        .patch(
            &app,
            &path,
            &json!({"model": "gpt-4o", "temperature": null}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["model"], "gpt-4o");
    assert_eq!(patched["temperature"], Value::Null);
    assert_eq!(patched["maxTokens"], 1024);
    assert_eq!(patched["apiKey"], "••••cdef");
    let (status, _) = org
        .put(
            &app,
            &path,
            &json!({"apiKey": "••••cdef", "baseUrl": "https://api.openai.com/v2"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(stored_key(&app, id).await.as_deref(), Some(KEY));

    // Another origin: the stored key does not follow, whether omitted or sent as its preview.
    for body in [
        json!({"baseUrl": "https://evil.example.com/v1"}),
        json!({"baseUrl": "https://evil.example.com/v1", "apiKey": "••••cdef"}),
        json!({"baseUrl": "https://api.openai.com:8443/v1"}),
    ] {
        let (status, refused) = org.patch(&app, &path, &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(error_fields(&refused), ["apiKey"]);
    }
    let (_, unchanged) = org.get(&app, &path).await;
    assert_eq!(unchanged["baseUrl"], "https://api.openai.com/v2");

    // Sent in full (or cleared), it may move.
    let (status, moved) = org
        .patch(
            &app,
            &path,
            &json!({"baseUrl": "https://gateway.example.com/v1", "apiKey": "sk-new-key-for-gateway"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(moved["apiKey"], "••••eway");
    assert_eq!(
        stored_key(&app, id).await.as_deref(),
        Some("sk-new-key-for-gateway")
    );
    let (status, cleared) = org
        .patch(
            &app,
            &path,
            &json!({"baseUrl": "https://other.example.com/v1", "apiKey": null}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{cleared}");
    assert_eq!(cleared["apiKey"], Value::Null);
    assert_eq!(stored_key(&app, id).await, None);

    let (status, _) = org.patch(&app, "/v1/llms/not-a-uuid", &json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn personas_name_an_llm_of_their_organization() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let other = app.org("globex").await;
    let llm = create(&app, &org, &openai_llm("gpt", "https://api.openai.com/v1")).await;
    let foreign = create(
        &app,
        &other,
        &openai_llm("gpt", "https://api.openai.com/v1"),
    )
    .await;

    for bad in [
        json!("gpt-4o"),
        foreign["id"].clone(),
        json!(Uuid::now_v7()),
    ] {
        let (status, body) = org
            .post(&app, "/v1/personas", &json!({"name": "p", "llmId": bad}))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
        assert_eq!(error_fields(&body), ["llmId"]);
        let (status, body) = org
            .post(
                &app,
                "/v1/auth/session-token",
                &json!({"personaConfig": {"name": "eph", "llmId": bad}}),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
        assert_eq!(error_fields(&body), ["personaConfig.llmId"]);
    }
    let (status, persona) = org
        .post(
            &app,
            "/v1/personas",
            &json!({"name": "Support", "llmId": llm["id"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{persona}");
    assert_eq!(persona["llmId"], llm["id"]);
    let (status, _) = org
        .post(
            &app,
            "/v1/auth/session-token",
            &json!({"personaConfig": {"name": "eph", "llmId": llm["id"]}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, shown) = org
        .get(&app, &format!("/v1/llms/{}", llm["id"].as_str().unwrap()))
        .await;
    assert_eq!(shown["usageCount"], 1);

    // In use: 409 naming the personas, unless forced (which clears their llmId).
    let path = format!("/v1/llms/{}", llm["id"].as_str().unwrap());
    let (status, refused) = org.delete(&app, &path).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        refused["personas"],
        json!([{"id": persona["id"], "name": "Support"}])
    );
    let (status, _) = org.delete(&app, &format!("{path}?force=true")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, after) = org
        .get(
            &app,
            &format!("/v1/personas/{}", persona["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(after["llmId"], Value::Null);
    let (status, _) = org.get(&app, &path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = org.delete(&app, &path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn key_rotation_reseals_llm_keys() {
    use hookline_core::secrets::SecretBox;
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let llm = create(&app, &org, &openai_llm("gpt", "https://api.openai.com/v1")).await;
    let id = llm["id"].as_str().unwrap();
    let rotated = SecretBox::new([7; 32], vec![crate::harness::TEST_KEY]);
    let mut conn = app.pool.acquire().await.unwrap();
    let done = hookline_core::repo::reseal_all(&mut conn, &rotated)
        .await
        .unwrap();
    assert!(done.unopened.is_empty());
    // Only the new key is needed now.
    let stored = hookline_core::repo::llms::get(&app.pool, org_of(&app, id).await, uuid(id))
        .await
        .unwrap()
        .unwrap();
    let new_only = SecretBox::new([7; 32], vec![]);
    assert_eq!(stored.open_key(&new_only).unwrap().unwrap().expose(), KEY);
}
