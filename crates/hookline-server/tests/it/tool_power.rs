//! Tool power: dynamic variables and response shaping, against real receivers on loopback.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::engine::{call, create_tool};
use crate::harness::{dump_database, error_fields, session, Org, Receiver, Reply, TestApp};

/// A call as the call log shows it, once its end is written (within a second of its answer).
async fn logged(app: &TestApp, org: &Org, answer: &Value) -> Value {
    let path = format!("/v1/tool-calls/{}", answer["id"].as_str().unwrap());
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let (status, body) = org.get(app, &path).await;
        if status == StatusCode::OK && body["status"] != "running" {
            return body;
        }
        assert!(std::time::Instant::now() < deadline, "{body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn webhook(name: &str, url: String) -> Value {
    json!({"type": "server", "subtype": "webhook", "name": name, "description": "d", "url": url})
}

#[tokio::test]
async fn variables_fill_url_headers_and_defaults_and_are_shown_nowhere() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let receiver = Receiver::start(Reply::json(200, json!({"ok": true}))).await;
    let mut tool = webhook(
        "order_status",
        receiver
            .url("/customers/{{customer_id}}/orders/{orderId}?tenant={{tenant}}&s={{session.id}}"),
    );
    tool["headers"] =
        json!({"Authorization": "Bearer {{api_token}}", "X-Customer": "c={{customer_id}}"});
    tool["plainHeaders"] = json!(["X-Customer"]);
    tool["parameters"] = json!({"type": "object", "properties": {
        "orderId": {"type": "string"},
        "note": {"type": "string", "default": "for {{customer_id}}"}}});
    let id = create_tool(&app, &org, &tool).await;
    let (session_id, _) = session(
        &app,
        &org,
        json!({"name": "Shop", "toolIds": [id], "variables": {
            "customer_id": "cu/42 x", "tenant": "acme-tenant", "api_token": "tok_supersecret_9876"}}),
    )
    .await;

    let (status, answer) = call(
        &app,
        &org,
        &session_id,
        json!({"toolName": "order_status", "arguments": {"orderId": "o1"}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["status"], "completed", "{answer}");

    let got = receiver.wait_for(1, Duration::from_secs(5)).await;
    let sent = &got[0];
    assert_eq!(sent.path, "/customers/cu%2F42%20x/orders/o1");
    assert_eq!(
        sent.query.as_deref(),
        Some(format!("tenant=acme-tenant&s={session_id}").as_str())
    );
    assert_eq!(sent.header("authorization"), "Bearer tok_supersecret_9876");
    assert_eq!(sent.header("x-customer"), "c=cu/42 x");
    assert_eq!(sent.json(), json!({"note": "for cu/42 x"}));

    // The call log shows the request with every variable masked, the signature as sent.
    let logged = logged(&app, &org, &answer).await;
    let request = &logged["request"];
    assert_eq!(
        request["url"].as_str().unwrap(),
        receiver.url("/customers/••••/orders/o1?tenant=••••&s=••••")
    );
    assert_eq!(request["headers"]["X-Customer"], "c=••••");
    assert_eq!(request["headers"]["Authorization"], "••••");
    assert_eq!(request["body"], json!({"note": "for ••••"}));
    assert_eq!(
        request["headers"]["webhook-signature"],
        sent.header("webhook-signature")
    );

    // Nowhere a browser looks, and nowhere in the database, is a value in the clear.
    for path in [
        format!("/v1/sessions/{session_id}"),
        format!("/v1/sessions/{session_id}/tools"),
        format!("/v1/sessions/{session_id}/tool-calls"),
    ] {
        let (status, body) = org.get(&app, &path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        let text = body.to_string();
        for secret in ["supersecret", "acme-tenant", "cu/42", "cu%2F42"] {
            assert!(!text.contains(secret), "{path} shows {secret}: {text}");
        }
    }
    let dump = dump_database(&app.pool).await;
    for secret in ["supersecret", "acme-tenant", "cu/42", "cu%2F42"] {
        assert!(
            !dump.contains(secret),
            "the database holds {secret} in the clear"
        );
    }
}

#[tokio::test]
async fn a_variable_without_a_value_fails_the_call_naming_it_and_sends_nothing() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let receiver = Receiver::start(Reply::json(200, json!({"ok": true}))).await;
    let id = create_tool(
        &app,
        &org,
        &webhook("lookup", receiver.url("/c/{{customer_id}}?t={{tenant}}")),
    )
    .await;
    let (session_id, _) = session(
        &app,
        &org,
        json!({"name": "Shop", "toolIds": [id], "variables": {"customer_id": "c1"}}),
    )
    .await;
    let (status, answer) = call(
        &app,
        &org,
        &session_id,
        json!({"toolName": "lookup", "arguments": {}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["status"], "failed");
    assert_eq!(answer["error"]["kind"], "invalid_arguments", "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("tenant"),
        "{answer}"
    );
    assert_eq!(error_fields(&answer["error"]), ["variables.tenant"]);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        receiver.requests().is_empty(),
        "nothing is sent half-filled"
    );
}

#[tokio::test]
async fn bad_variables_and_references_are_refused_by_field() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let (status, body) = org
        .post(
            &app,
            "/v1/auth/session-token",
            &json!({"personaConfig": {"name": "P", "variables": {
                "CustomerId": "x", "big": "x".repeat(4097), "ok": "fine"}}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        error_fields(&body),
        [
            "personaConfig.variables.CustomerId",
            "personaConfig.variables.big"
        ]
    );
    let mut tool = webhook("t", "https://api.example.com/{{Bad}}".into());
    tool["headers"] = json!({"X-A": "{{unclosed"});
    tool["response"] = json!({"select": ["status"], "maxBytes": 0, "assign": {"id": "id"}});
    tool["limits"] = json!({"maxConcurrent": 0, "perSecond": 20000});
    let (status, body) = org.post(&app, "/v1/tools", &tool).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        error_fields(&body),
        [
            "url",
            "response.select[0]",
            "response.maxBytes",
            "response.assign.id",
            "limits.maxConcurrent",
            "limits.perSecond",
            "headers.X-A"
        ]
    );
}

#[tokio::test]
async fn shaping_selects_and_caps_what_the_llm_gets_and_assigns_for_the_next_tool() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let receiver = Receiver::start(Reply::json(200, json!({"ok": true}))).await;
    let mut open = webhook("open_ticket", receiver.url("/tickets"));
    open["response"] = json!({"select": ["/ticket/status", "/ticket/eta"],
        "assign": {"ticket_id": "/ticket/id", "owner": "/nobody"}});
    let mut read = webhook("read_ticket", receiver.url("/tickets/{{ticket_id}}"));
    read["method"] = json!("GET");
    read["response"] = json!({"maxBytes": 12});
    let ids = [
        create_tool(&app, &org, &open).await,
        create_tool(&app, &org, &read).await,
    ];
    let (session_id, _) = session(&app, &org, json!({"name": "Desk", "toolIds": ids})).await;
    let full =
        json!({"ticket": {"id": "T-77", "status": "open", "internal": "x"}, "debug": [1, 2]});
    receiver.then(Reply::json(200, full.clone()));
    receiver.then(Reply::json(
        200,
        json!({"text": "a long answer about T-77"}),
    ));

    let (_, first) = call(
        &app,
        &org,
        &session_id,
        json!({"toolName": "open_ticket", "arguments": {}}),
    )
    .await;
    assert_eq!(first["status"], "completed", "{first}");
    assert_eq!(first["result"], json!({"ticket": {"status": "open"}}));
    let logged = logged(&app, &org, &first).await;
    assert_eq!(
        logged["response"]["body"], full,
        "the call log keeps it all"
    );
    assert_eq!(logged["result"], json!({"ticket": {"status": "open"}}));
    assert_eq!(
        logged["response"]["shaping"],
        json!({"missing": ["/ticket/eta", "/nobody"], "assigned": ["ticket_id"]})
    );

    let (_, second) = call(
        &app,
        &org,
        &session_id,
        json!({"toolName": "read_ticket", "arguments": {}}),
    )
    .await;
    assert_eq!(second["status"], "completed", "{second}");
    let got = receiver.wait_for(2, Duration::from_secs(5)).await;
    assert_eq!(got[1].path, "/tickets/T-77");
    assert_eq!(second["result"], json!("{\"text\":\"a l"));
    assert_eq!(second["truncated"], true);
    // The assigned value is sealed at rest like the token's.
    let stored: (String,) = sqlx::query_as("SELECT sealed_value FROM session_variables")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(!stored.0.contains("T-77"));
}

#[tokio::test]
async fn a_tool_test_shows_the_whole_answer_and_the_shaped_result_with_given_variables() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let receiver = Receiver::start(Reply::json(
        200,
        json!({"order": {"status": "shipped", "secret": "s"}}),
    ))
    .await;
    let mut tool = webhook("status", receiver.url("/o/{{customer_id}}"));
    tool["response"] = json!({"select": ["/order/status"]});
    let id = create_tool(&app, &org, &tool).await;

    let (status, missing) = org
        .post(
            &app,
            &format!("/v1/tools/{id}/test?dryRun=true"),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{missing}");
    assert_eq!(error_fields(&missing), ["variables.customer_id"]);

    let (status, tested) = org
        .post(
            &app,
            &format!("/v1/tools/{id}/test"),
            &json!({"variables": {"customer_id": "c9"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{tested}");
    assert_eq!(tested["response"]["body"]["order"]["secret"], "s");
    assert_eq!(tested["result"], json!({"order": {"status": "shipped"}}));
    assert_eq!(receiver.requests()[0].path, "/o/c9");
    assert_eq!(tested["request"]["url"], receiver.url("/o/••••"));
}

/// Posts a call from a task of its own (the harness's helpers borrow the app).
fn spawn_call(
    app: &TestApp,
    key: &str,
    session_id: &str,
    body: Value,
) -> tokio::task::JoinHandle<(std::time::Instant, Value)> {
    let (client, key) = (app.client.clone(), key.to_owned());
    let url = app.url(&format!("/v1/sessions/{session_id}/tool-calls"));
    tokio::spawn(async move {
        let answer: Value = client
            .post(url)
            .bearer_auth(key)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        (std::time::Instant::now(), answer)
    })
}

#[tokio::test]
async fn max_concurrent_holds_across_two_instances() {
    let (first, second) = crate::harness::two_instances(crate::harness::raw_settings).await;
    let org = first.org("acme").await;
    let receiver =
        Receiver::start(Reply::json(200, json!({"ok": true})).delayed(Duration::from_millis(700)))
            .await;
    let mut tool = webhook("slow", receiver.url("/slow"));
    tool["limits"] = json!({"maxConcurrent": 1});
    tool["timeoutSeconds"] = json!(10);
    let id = create_tool(&first, &org, &tool).await;
    let (session_id, _) = session(&first, &org, json!({"name": "P", "toolIds": [id]})).await;
    let body = json!({"toolName": "slow", "arguments": {}});
    let one = spawn_call(&first, &org.key, &session_id, body.clone());
    let two = spawn_call(&second, &org.key, &session_id, body.clone());
    let three = spawn_call(&second, &org.key, &session_id, body);
    for call in [one, two, three] {
        let (_, answer) = call.await.unwrap();
        assert_eq!(answer["status"], "completed", "{answer}");
    }
    let mut arrived: Vec<_> = receiver.requests().iter().map(|r| r.at).collect();
    arrived.sort();
    assert_eq!(arrived.len(), 3);
    for pair in arrived.windows(2) {
        assert!(
            pair[1] - pair[0] >= Duration::from_millis(650),
            "two calls were in flight at once: {:?} apart",
            pair[1] - pair[0]
        );
    }
}

#[tokio::test]
async fn an_awaited_call_over_the_limit_fails_rate_limited_after_its_timeout() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let receiver =
        Receiver::start(Reply::json(200, json!({"ok": true})).delayed(Duration::from_millis(3000)))
            .await;
    let mut tool = webhook("busy", receiver.url("/busy"));
    tool["limits"] = json!({"maxConcurrent": 1});
    tool["timeoutSeconds"] = json!(10);
    let id = create_tool(&app, &org, &tool).await;
    let (first_session, _) =
        session(&app, &org, json!({"name": "P", "toolIds": [id.clone()]})).await;
    let body = json!({"toolName": "busy", "arguments": {}});
    let long = spawn_call(&app, &org.key, &first_session, body.clone());
    receiver.wait_for(1, Duration::from_secs(5)).await;
    // The tool, edited while its call runs, now waits at most a second: a new session runs the
    // new version, under the same limit.
    let (status, patched) = org
        .patch(
            &app,
            &format!("/v1/tools/{id}"),
            &json!({"timeoutSeconds": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    let (second_session, _) = session(&app, &org, json!({"name": "P", "toolIds": [id]})).await;
    let started = std::time::Instant::now();
    let (_, refused) = call(&app, &org, &second_session, body).await;
    let waited = started.elapsed();
    assert_eq!(refused["status"], "failed", "{refused}");
    assert_eq!(refused["error"]["kind"], "rate_limited", "{refused}");
    assert!(
        waited >= Duration::from_millis(900),
        "gave up after {waited:?}"
    );
    assert_eq!(
        receiver.requests().len(),
        1,
        "nothing was sent for the refused call"
    );
    let (_, done) = long.await.unwrap();
    assert_eq!(done["status"], "completed", "{done}");

    // A bucket that cannot refill within the timeout refuses at once.
    let mut rated = webhook("rated", receiver.url("/rated"));
    rated["limits"] = json!({"perSecond": 0.1});
    rated["timeoutSeconds"] = json!(5);
    let rated_id = create_tool(&app, &org, &rated).await;
    let (third_session, _) = session(&app, &org, json!({"name": "P", "toolIds": [rated_id]})).await;
    receiver.then(Reply::json(200, json!({"ok": true})));
    let body = json!({"toolName": "rated", "arguments": {}});
    let (_, ok) = call(&app, &org, &third_session, body.clone()).await;
    assert_eq!(ok["status"], "completed", "{ok}");
    let started = std::time::Instant::now();
    let (_, refused) = call(&app, &org, &third_session, body).await;
    assert_eq!(refused["error"]["kind"], "rate_limited", "{refused}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn fire_and_forget_calls_over_the_limit_are_delivered_later_one_at_a_time() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let receiver =
        Receiver::start(Reply::json(200, json!({"ok": true})).delayed(Duration::from_millis(400)))
            .await;
    let mut tool = webhook("notify", receiver.url("/notify"));
    tool["limits"] = json!({"maxConcurrent": 1});
    tool["awaitResponse"] = json!(false);
    let id = create_tool(&app, &org, &tool).await;
    let (session_id, _) = session(&app, &org, json!({"name": "P", "toolIds": [id]})).await;
    for _ in 0..3 {
        let (status, answer) = call(
            &app,
            &org,
            &session_id,
            json!({"toolName": "notify", "arguments": {}}),
        )
        .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    }
    let got = receiver.wait_for(3, Duration::from_secs(10)).await;
    let mut arrived: Vec<_> = got.iter().map(|r| r.at).collect();
    arrived.sort();
    for pair in arrived.windows(2) {
        assert!(
            pair[1] - pair[0] >= Duration::from_millis(350),
            "{:?}",
            pair[1] - pair[0]
        );
    }
    // Each was delivered in one attempt: waiting for a turn is not an attempt.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let calls = loop {
        let (_, list) = org
            .get(&app, &format!("/v1/sessions/{session_id}/tool-calls"))
            .await;
        let calls = list["data"].as_array().unwrap().clone();
        if calls.iter().all(|c| c["status"] == "completed") {
            break calls;
        }
        assert!(std::time::Instant::now() < deadline, "{calls:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    for c in calls {
        assert_eq!(c["attempts"], 1, "{c}");
    }
}

#[tokio::test]
async fn an_endpoints_retry_after_slows_the_tools_later_calls() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let receiver = Receiver::start(Reply::json(200, json!({"ok": true}))).await;
    receiver.then(Reply::json(429, json!({"error": "slow down"})).with_header("retry-after", "1"));
    let mut tool = webhook("touchy", receiver.url("/touchy"));
    tool["timeoutSeconds"] = json!(5);
    let id = create_tool(&app, &org, &tool).await;
    let (session_id, _) = session(&app, &org, json!({"name": "P", "toolIds": [id]})).await;
    let body = json!({"toolName": "touchy", "arguments": {}});
    let (_, first) = call(&app, &org, &session_id, body.clone()).await;
    assert_eq!(first["httpStatus"], 429, "{first}");
    let (_, second) = call(&app, &org, &session_id, body).await;
    assert_eq!(second["status"], "completed", "{second}");
    let got = receiver.requests();
    assert!(
        got[1].at - got[0].at >= Duration::from_millis(900),
        "{:?}",
        got[1].at - got[0].at
    );
}

#[tokio::test]
async fn the_lab_sets_limits_shapes_a_test_answer_and_starts_a_session_with_variables() {
    use crate::lab_support::{sign_in, snap_at};
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let receiver = Receiver::start(Reply::json(
        200,
        json!({"order": {"status": "shipped", "secret": "internal-note"}}),
    ))
    .await;
    let id = create_tool(
        &app,
        &org,
        &webhook("order_status", receiver.url("/o/{{customer_id}}")),
    )
    .await;
    let (status, persona) = org
        .post(
            &app,
            "/v1/personas",
            &json!({"name": "Shop", "toolIds": [id]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{persona}");
    let browser = crate::webdriver::Browser::start().await;
    sign_in(&browser, &app, &org.key).await;

    // Limits in the tool form.
    browser.goto(&app.url(&format!("/lab/tools/{id}"))).await;
    browser.type_into("#limit-concurrent", "2").await;
    browser.type_into("#limit-per-second", "5").await;
    browser.click(".tool-form button[type=submit]").await;
    browser.wait_text("#flash", "Saved").await;
    let (_, saved) = org.get(&app, &format!("/v1/tools/{id}")).await;
    assert_eq!(
        saved["limits"],
        json!({"maxConcurrent": 2, "perSecond": 5.0})
    );

    // A real test call with a variable, then shaping edited against its answer.
    browser
        .goto(&app.url(&format!("/lab/tools/{id}/test")))
        .await;
    browser
        .type_into("#test-variables", r#"{"customer_id": "c9"}"#)
        .await;
    browser.click("#send-real").await;
    browser.wait_text("#response-body", "internal-note").await;
    assert_eq!(receiver.requests()[0].path, "/o/c9");
    assert!(browser.text("#request-line").await.contains("/o/••••"));
    browser
        .type_into("#shape-select", "/order/status\n/order/eta")
        .await;
    let preview = browser.wait_text("#shape-preview-result", "shipped").await;
    assert!(!preview.contains("internal-note"), "{preview}");
    let missing = browser.wait_text("#shape-missing", "/order/eta").await;
    assert!(missing.contains("left out"), "{missing}");
    let shown = browser.text("#shape-preview").await;
    assert!(!shown.contains("null"), "{shown}");
    snap_at(&browser, "tool-test-shaping", Some("#shape-preview")).await;
    browser.click("#save-shaping").await;
    browser
        .wait_text("#flash", "Saved the response shaping")
        .await;
    let (_, saved) = org.get(&app, &format!("/v1/tools/{id}")).await;
    assert_eq!(
        saved["response"],
        json!({"select": ["/order/status", "/order/eta"]})
    );
    assert_eq!(
        saved["limits"]["maxConcurrent"], 2,
        "shaping kept the limits"
    );
    // The next real run shows what the LLM gets, shaped by the server.
    browser.click("#send-real").await;
    let shaped = browser.wait_text("#shaped-result", "shipped").await;
    assert!(!shaped.contains("internal-note"), "{shaped}");

    // The Playground starts its session with variables, and a call uses them.
    let persona_id = persona["id"].as_str().unwrap();
    browser
        .goto(&app.url(&format!("/lab/playground/{persona_id}")))
        .await;
    browser
        .type_into("#session-variables", r#"{"customer_id": "cust-seven"}"#)
        .await;
    snap_at(&browser, "playground-variables", Some("#session-variables")).await;
    browser.click("#start-session").await;
    browser.find("#run-call").await;
    browser.click("#run-call").await;
    let got = receiver.wait_for(3, Duration::from_secs(10)).await;
    assert_eq!(got[2].path, "/o/cust-seven");
    let page = browser
        .eval("return document.body.innerText", json!([]))
        .await;
    assert!(
        !page.as_str().unwrap().contains("cust-seven"),
        "the browser never sees a variable"
    );
}
