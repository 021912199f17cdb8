//! Session tokens and sessions through HTTP.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::harness::{error_fields, Org, TestApp};
use crate::tools::webhook;

/// Creates a tool and a persona that uses it; returns (persona id, tool id).
async fn persona(app: &TestApp, org: &Org) -> (String, String) {
    let mut tool = webhook("check_order");
    tool["queryParameters"] =
        json!({"type": "object", "properties": {"verbose": {"type": "boolean"}}});
    let (status, tool) = org.post(app, "/v1/tools", &tool).await;
    assert_eq!(status, StatusCode::CREATED, "{tool}");
    let tool_id = tool["id"].as_str().unwrap().to_owned();
    let (_, persona) = org
        .post(
            app,
            "/v1/personas",
            &json!({"name": "Support", "systemPrompt": "Help", "toolIds": [tool_id]}),
        )
        .await;
    (persona["id"].as_str().unwrap().to_owned(), tool_id)
}

async fn token(app: &TestApp, org: &Org, body: &Value) -> String {
    let (status, body) = org.post(app, "/v1/auth/session-token", body).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["expiresAt"].is_string());
    body["sessionToken"].as_str().unwrap().to_owned()
}

async fn start(app: &TestApp, token: &str) -> (StatusCode, Value) {
    app.call(Method::POST, "/v1/engine/session", Some(token), None)
        .await
}

#[tokio::test]
async fn a_stored_persona_starts_a_session_that_shows_no_secrets() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let (persona_id, _) = persona(&app, &org).await;
    let token = token(
        &app,
        &org,
        &json!({"clientLabel": "web", "personaConfig": {"personaId": persona_id}}),
    )
    .await;
    assert!(token.starts_with("hst_") && token.len() >= 47, "{token}");
    let (status, started) = start(&app, &token).await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    let text = started.to_string();
    assert!(
        !text.contains("api.example.com")
            && !text.contains("Authorization")
            && !text.contains("••••"),
        "{text}"
    );
    let tool = &started["tools"][0];
    assert_eq!(tool["name"], "check_order");
    assert_eq!(tool["type"], "server");
    assert_eq!(tool["subtype"], "webhook");
    assert!(tool["parameters"]["properties"]["verbose"].is_object());

    let id = started["sessionId"].as_str().unwrap();
    let secret = started["clientSecret"].as_str().unwrap();
    for credential in [org.key.as_str(), secret] {
        let (status, session) = app
            .call(
                Method::GET,
                &format!("/v1/sessions/{id}"),
                Some(credential),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(session["status"], "active");
        assert_eq!(session["personaId"], persona_id.as_str());
        assert_eq!(session["clientLabel"], "web");
        assert_eq!(session["tools"], started["tools"]);
    }
    // A token is a secret: only its hash is stored.
    let dump = crate::harness::dump_database(&app.pool).await;
    assert!(!dump.contains(&token[4..]) && !dump.contains(&secret[4..]));
}

#[tokio::test]
async fn tokens_are_single_use_expiring_and_unforgeable() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let (persona_id, _) = persona(&app, &org).await;
    let config = json!({"personaConfig": {"personaId": persona_id}});

    let used = token(&app, &org, &config).await;
    assert_eq!(start(&app, &used).await.0, StatusCode::CREATED);
    let (status, body) = start(&app, &used).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body["detail"].as_str().unwrap().contains("used already"));

    let expired = token(&app, &org, &config).await;
    sqlx::query("UPDATE session_tokens SET expires_at = now() - interval '1 second' WHERE consumed_at IS NULL")
        .execute(&app.pool)
        .await
        .unwrap();
    let (status, body) = start(&app, &expired).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        body["detail"].as_str().unwrap().contains("expired"),
        "{body}"
    );

    let fresh = token(&app, &org, &config).await;
    let mut tampered = fresh.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    for bad in [
        tampered.as_str(),
        "hst_garbage",
        "garbage",
        org.key.as_str(),
    ] {
        let (status, body) = start(&app, bad).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{bad}");
        assert_eq!(body["status"], 401);
    }
    assert_eq!(
        app.call(Method::POST, "/v1/engine/session", None, None)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    // The tampering did not burn the real token.
    assert_eq!(start(&app, &fresh).await.0, StatusCode::CREATED);
}

#[tokio::test]
async fn of_concurrent_starts_with_one_token_exactly_one_wins() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let (persona_id, _) = persona(&app, &org).await;
    let token = token(
        &app,
        &org,
        &json!({"personaConfig": {"personaId": persona_id}}),
    )
    .await;
    let attempts = (0..12).map(|_| start(&app, &token));
    let statuses: Vec<StatusCode> = futures::future::join_all(attempts)
        .await
        .into_iter()
        .map(|r| r.0)
        .collect();
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CREATED)
            .count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::UNAUTHORIZED)
            .count(),
        11
    );
    let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM sessions")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(n, 1);
}

#[tokio::test]
async fn lifetimes_personas_and_inline_tools_are_checked() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let rival = app.org("rival").await;
    let (persona_id, tool_id) = persona(&app, &org).await;
    for bad in [0, 86_401] {
        let (status, body) = org
            .post(
                &app,
                "/v1/auth/session-token",
                &json!({"expiresInSeconds": bad, "personaConfig": {"personaId": persona_id}}),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(error_fields(&body), ["expiresInSeconds"]);
    }
    let (status, _) = org
        .post(
            &app,
            "/v1/auth/session-token",
            &json!({"expiresInSeconds": 86_400, "personaConfig": {"personaId": persona_id}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = org.post(&app, "/v1/auth/session-token", &json!({})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_fields(&body), ["personaConfig"]);
    // Another organization's persona or tool is named, not revealed.
    let (status, body) = rival
        .post(
            &app,
            "/v1/auth/session-token",
            &json!({"personaConfig": {"personaId": persona_id}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_fields(&body), ["personaConfig.personaId"]);
    let (status, body) = rival
        .post(
            &app,
            "/v1/auth/session-token",
            &json!({"personaConfig": {"name": "E", "toolIds": [tool_id]}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_fields(&body), ["personaConfig.toolIds[0]"]);
    // Inline tools obey every rule, named under their place.
    let (status, body) = org
        .post(&app, "/v1/auth/session-token", &json!({"personaConfig": {"systemPrompt": "Hi", "tools": [
            webhook("good_one"),
            {"type": "server", "subtype": "webhook", "name": "Bad", "description": "d", "url": "http://x.com"},
        ]}}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        error_fields(&body),
        ["personaConfig.tools[1].name", "personaConfig.tools[1].url"]
    );
    // Same name twice on one persona.
    let (status, _) = org
        .post(
            &app,
            "/v1/auth/session-token",
            &json!({"personaConfig": {"toolIds": [tool_id], "tools": [webhook("check_order")]}}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn an_ephemeral_persona_runs_on_its_snapshot() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let (_, tool_id) = persona(&app, &org).await;
    let token = token(&app, &org, &json!({"personaConfig": {
        "name": "Pop-up", "systemPrompt": "Be brief", "toolIds": [tool_id],
        "tools": [{"type": "client", "name": "show_product", "description": "Show a product", "parameters": {"type": "object", "properties": {"sku": {"type": "string"}}}},
                  {"type": "system", "name": "end_call"}]
    }})).await;
    // The stored tool changes after the token was issued; the session does not.
    let (status, _) = org
        .patch(
            &app,
            &format!("/v1/tools/{tool_id}"),
            &json!({"description": "Changed later", "name": "renamed"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, started) = start(&app, &token).await;
    assert_eq!(status, StatusCode::CREATED);
    let names: Vec<&str> = started["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["check_order", "show_product", "end_call"]);
    assert_eq!(started["tools"][0]["description"], "Check an order");
    let id = started["sessionId"].as_str().unwrap();
    let (_, session) = org.get(&app, &format!("/v1/sessions/{id}")).await;
    assert_eq!(session["personaId"], Value::Null);
    assert_eq!(session["tools"][0]["description"], "Check an order");
}

#[tokio::test]
async fn the_client_secret_reaches_its_own_session_only() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let rival = app.org("rival").await;
    let (persona_id, _) = persona(&app, &org).await;
    let config = json!({"personaConfig": {"personaId": persona_id}});
    let (_, first) = start(&app, &token(&app, &org, &config).await).await;
    let (_, second) = start(&app, &token(&app, &org, &config).await).await;
    let secret = first["clientSecret"].as_str().unwrap();
    let other = second["sessionId"].as_str().unwrap();

    let (status, _) = app
        .call(
            Method::GET,
            &format!("/v1/sessions/{other}"),
            Some(secret),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for path in ["/v1/tools", "/v1/personas", "/v1/api-keys"] {
        let (status, _) = app.call(Method::GET, path, Some(secret), None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
    }
    let (status, _) = app
        .call(
            Method::POST,
            "/v1/auth/session-token",
            Some(secret),
            Some(&config),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app
        .call(
            Method::GET,
            &format!("/v1/sessions/{other}"),
            Some("hcs_unknown"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Another organization's API key sees no such session.
    let (status, _) = rival.get(&app, &format!("/v1/sessions/{other}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn tools_export_in_three_formats_with_merged_parameters() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let (persona_id, _) = persona(&app, &org).await;
    let (_, started) = start(
        &app,
        &token(
            &app,
            &org,
            &json!({"personaConfig": {"personaId": persona_id}}),
        )
        .await,
    )
    .await;
    let id = started["sessionId"].as_str().unwrap();
    let merged = json!({"type": "object", "properties": {"orderId": {"type": "string"}, "verbose": {"type": "boolean"}}, "required": ["orderId"]});

    let (status, openai) = org.get(&app, &format!("/v1/sessions/{id}/tools")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(openai["format"], "openai");
    assert_eq!(
        openai["tools"][0],
        json!({"type": "function", "function": {"name": "check_order", "description": "Check an order", "parameters": merged}})
    );
    let (_, anthropic) = org
        .get(&app, &format!("/v1/sessions/{id}/tools?format=anthropic"))
        .await;
    assert_eq!(
        anthropic["tools"][0],
        json!({"name": "check_order", "description": "Check an order", "input_schema": merged})
    );
    let (_, responses) = org
        .get(
            &app,
            &format!("/v1/sessions/{id}/tools?format=openai-responses"),
        )
        .await;
    assert_eq!(responses["format"], "openai-responses");
    assert_eq!(
        responses["tools"][0],
        json!({"type": "function", "name": "check_order", "description": "Check an order", "parameters": merged})
    );
    let (_, mcp) = org
        .get(&app, &format!("/v1/sessions/{id}/tools?format=mcp"))
        .await;
    assert_eq!(
        mcp["tools"][0],
        json!({"name": "check_order", "description": "Check an order", "inputSchema": merged})
    );
    let (status, body) = org
        .get(&app, &format!("/v1/sessions/{id}/tools?format=gemini"))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_fields(&body), ["format"]);
}

#[tokio::test]
async fn ending_is_idempotent_and_expiry_shows() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let (persona_id, _) = persona(&app, &org).await;
    let config = json!({"personaConfig": {"personaId": persona_id}});
    let (_, started) = start(&app, &token(&app, &org, &config).await).await;
    let id = started["sessionId"].as_str().unwrap();
    let (status, ended) = org
        .post(&app, &format!("/v1/sessions/{id}/end"), &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ended["status"], "ended");
    let (status, again) = app
        .call(
            Method::POST,
            &format!("/v1/sessions/{id}/end"),
            Some(started["clientSecret"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["endedAt"], ended["endedAt"]);
    let (n,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM session_events WHERE event = 'sessionEnded'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(n, 1);

    let (_, other) = start(&app, &token(&app, &org, &config).await).await;
    let other_id = other["sessionId"].as_str().unwrap();
    sqlx::query("UPDATE sessions SET expires_at = now() - interval '1 second' WHERE id = $1::uuid")
        .bind(other_id)
        .execute(&app.pool)
        .await
        .unwrap();
    let (_, expired) = org.get(&app, &format!("/v1/sessions/{other_id}")).await;
    assert_eq!(expired["status"], "expired");
}

#[tokio::test]
async fn the_janitor_removes_what_ran_out() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let (persona_id, _) = persona(&app, &org).await;
    let config = json!({"personaConfig": {"personaId": persona_id}});
    let _ = token(&app, &org, &config).await;
    let (_, started) = start(&app, &token(&app, &org, &config).await).await;
    let _live = token(&app, &org, &config).await;
    sqlx::query("UPDATE session_tokens SET expires_at = now() - interval '2 hours' WHERE consumed_at IS NOT NULL OR created_at = (SELECT min(created_at) FROM session_tokens)")
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE sessions SET expires_at = now() - interval '8 days', created_at = now() - interval '9 days'")
        .execute(&app.pool)
        .await
        .unwrap();
    let swept = hookline_sessions::janitor::sweep(
        &app.pool,
        Some(std::time::Duration::from_secs(7 * 86_400)),
        hookline_sessions::janitor::BATCH,
    )
    .await
    .unwrap();
    assert_eq!((swept.tokens, swept.sessions), (2, 1));
    let (status, _) = org
        .get(
            &app,
            &format!("/v1/sessions/{}", started["sessionId"].as_str().unwrap()),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (left,): (i64,) = sqlx::query_as("SELECT count(*) FROM session_tokens")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(left, 1);
}

#[tokio::test]
async fn browser_routes_answer_cors_for_configured_origins() {
    let app = TestApp::spawn_with(crate::harness::RawSettings {
        cors_origins: "https://app.example.com".into(),
        ..crate::harness::raw_settings()
    })
    .await;
    let id = uuid::Uuid::now_v7();
    let preflight = |origin: &'static str| {
        app.client
            .request(Method::OPTIONS, app.url(&format!("/v1/sessions/{id}")))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .send()
    };
    let allowed = preflight("https://app.example.com").await.unwrap();
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    let refused = preflight("https://evil.example.net").await.unwrap();
    assert!(refused
        .headers()
        .get("access-control-allow-origin")
        .is_none());
}

#[tokio::test]
async fn development_mode_opens_browser_routes_to_loopback_pages_and_files() {
    let preflight = |app: &TestApp, origin: &'static str| {
        let id = uuid::Uuid::now_v7();
        let request = app
            .client
            .request(
                Method::OPTIONS,
                app.url(&format!("/v1/sessions/{id}/events")),
            )
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "last-event-id")
            .send();
        async move {
            request
                .await
                .unwrap()
                .headers()
                .get("access-control-allow-origin")
                .map(|v| v.to_str().unwrap().to_owned())
        }
    };
    let dev = TestApp::spawn_with(crate::harness::RawSettings {
        env: hookline_core::Mode::Development,
        cors_origins: "http://localhost:5500".into(),
        ..crate::harness::raw_settings()
    })
    .await;
    for origin in [
        "http://localhost:5500",
        "http://127.0.0.1:5500",
        "http://localhost:8000",
        "http://[::1]:3000",
        "null",
    ] {
        assert_eq!(
            preflight(&dev, origin).await.as_deref(),
            Some(origin),
            "{origin}"
        );
    }
    assert_eq!(preflight(&dev, "https://evil.example.net").await, None);
    // Production keeps to the list.
    let prod = TestApp::spawn_with(crate::harness::RawSettings {
        cors_origins: "http://localhost:5500".into(),
        ..crate::harness::raw_settings()
    })
    .await;
    assert_eq!(preflight(&prod, "http://127.0.0.1:5500").await, None);
    assert_eq!(preflight(&prod, "null").await, None);
}

/// The ids of a list page's sessions, in order.
fn ids(page: &Value) -> Vec<&str> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn sessions_list_newest_first_in_pages_filtered_and_isolated() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let rival = app.org("rival").await;
    let (support, _) = persona(&app, &org).await;
    let (_, sales) = org
        .post(
            &app,
            "/v1/personas",
            &json!({"name": "Sales", "systemPrompt": "Sell"}),
        )
        .await;
    let sales = sales["id"].as_str().unwrap().to_owned();
    let (rival_persona, _) = persona(&app, &rival).await;
    // Five sessions: three of Support, two of Sales, started in this order.
    let mut started = Vec::new();
    for persona_id in [&support, &sales, &support, &sales, &support] {
        let config = json!({"personaConfig": {"personaId": persona_id}});
        let (_, s) = start(&app, &token(&app, &org, &config).await).await;
        started.push(s["sessionId"].as_str().unwrap().to_owned());
    }
    let rival_config = json!({"personaConfig": {"personaId": rival_persona}});
    let (_, theirs) = start(&app, &token(&app, &rival, &rival_config).await).await;
    let theirs = theirs["sessionId"].as_str().unwrap();
    let newest_first: Vec<&str> = started.iter().rev().map(String::as_str).collect();

    // Pages of two, newest first, each item as GET /v1/sessions/{id} shows it.
    let (status, first) = org.get(&app, "/v1/sessions?perPage=2").await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(ids(&first), newest_first[..2]);
    assert_eq!(
        first["meta"],
        json!({"total": 5, "lastPage": 3, "currentPage": 1, "perPage": 2, "prev": null, "next": 2})
    );
    let (_, one) = org.get(&app, &format!("/v1/sessions/{}", started[4])).await;
    assert_eq!(first["data"][0], one);
    let (_, last) = org.get(&app, "/v1/sessions?perPage=2&page=3").await;
    assert_eq!(ids(&last), newest_first[4..]);
    assert_eq!(last["meta"]["next"], Value::Null);

    // By persona: the others' sessions, and another organization's, never show.
    let (_, of_sales) = org
        .get(&app, &format!("/v1/sessions?personaId={sales}"))
        .await;
    assert_eq!(ids(&of_sales), [started[3].as_str(), started[1].as_str()]);
    assert_eq!(of_sales["meta"]["total"], 2);
    let (_, all) = org.get(&app, "/v1/sessions?perPage=100").await;
    assert_eq!(ids(&all), newest_first);
    let (_, rivals) = rival.get(&app, "/v1/sessions").await;
    assert_eq!(ids(&rivals), [theirs]);
    // Another organization's persona, or none at all: an empty page, not an error.
    for unknown in [
        rival_persona.as_str(),
        "00000000-0000-7000-8000-000000000000",
    ] {
        let (status, none) = org
            .get(&app, &format!("/v1/sessions?personaId={unknown}"))
            .await;
        assert_eq!(status, StatusCode::OK, "{none}");
        assert_eq!(none["data"], json!([]));
        assert_eq!(none["meta"]["total"], 0);
    }
    // A client secret is one session's credential, not the organization's.
    let config = json!({"personaConfig": {"personaId": support}});
    let (_, own) = start(&app, &token(&app, &org, &config).await).await;
    let (status, _) = app
        .call(
            Method::GET,
            "/v1/sessions",
            own["clientSecret"].as_str(),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn sessions_list_by_status_agrees_with_each_session() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let (persona_id, _) = persona(&app, &org).await;
    let config = json!({"personaConfig": {"personaId": persona_id}});
    let mut ids_started = Vec::new();
    for _ in 0..3 {
        let (_, s) = start(&app, &token(&app, &org, &config).await).await;
        ids_started.push(s["sessionId"].as_str().unwrap().to_owned());
    }
    let [active, ended, expired] = [&ids_started[0], &ids_started[1], &ids_started[2]];
    let (status, _) = org
        .post(&app, &format!("/v1/sessions/{ended}/end"), &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    // Past its expiry and never ended: expired. Ended and then past its expiry: still ended.
    sqlx::query(
        "UPDATE sessions SET expires_at = now() - interval '1 second' WHERE id = ANY($1::uuid[])",
    )
    .bind(vec![expired.clone(), ended.clone()])
    .execute(&app.pool)
    .await
    .unwrap();
    for (name, id) in [("active", active), ("ended", ended), ("expired", expired)] {
        let (status, page) = org.get(&app, &format!("/v1/sessions?status={name}")).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(ids(&page), [id.as_str()], "{name}");
        assert_eq!(page["data"][0]["status"], name);
        let (_, one) = org.get(&app, &format!("/v1/sessions/{id}")).await;
        assert_eq!(one["status"], name, "GET /v1/sessions/{{id}} agrees");
    }
    let (_, both) = org
        .get(
            &app,
            &format!("/v1/sessions?status=expired&personaId={persona_id}"),
        )
        .await;
    assert_eq!(ids(&both), [expired.as_str()]);
}

#[tokio::test]
async fn sessions_list_names_each_bad_parameter() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    for (query, fields) in [
        ("status=done", vec!["status"]),
        ("status=Active", vec!["status"]),
        ("personaId=not-a-uuid", vec!["personaId"]),
        ("page=0&perPage=101", vec!["page", "perPage"]),
        (
            "perPage=0&personaId=1&status=",
            vec!["perPage", "personaId", "status"],
        ),
    ] {
        let (status, body) = org.get(&app, &format!("/v1/sessions?{query}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {body}");
        assert_eq!(error_fields(&body), fields, "{query}");
    }
}
