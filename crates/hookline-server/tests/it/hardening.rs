//! The holes a security review found (issue "Hardening"): each test failed before its fix.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::harness::{
    error_fields, raw_settings, session, two_instances, RawSettings, Receiver, Reply, SseStream,
    TestApp,
};

/// Re-pointing a tool at another origin must not carry its stored secrets there: otherwise
/// `/test` against an endpoint of one's choosing reads them back in full.
#[tokio::test]
async fn a_new_origin_needs_the_header_values_again() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let home = Receiver::start(Reply::json(200, json!({}))).await;
    let elsewhere = Receiver::start(Reply::json(200, json!({}))).await;
    let (_, tool) = org
        .post(
            &app,
            "/v1/tools",
            &json!({"type": "server", "subtype": "webhook", "name": "lookup",
                    "description": "Look up", "url": home.url("/v1/lookup"),
                    "headers": {"Authorization": "Bearer sk_live_secret_0001", "X-Team": "blue-team-42"}}),
        )
        .await;
    let path = format!("/v1/tools/{}", tool["id"].as_str().unwrap());

    // Only the URL: every stored header must be sent again.
    let (status, body) = org
        .patch(&app, &path, &json!({"url": elsewhere.url("/collect")}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        error_fields(&body),
        ["headers.Authorization", "headers.X-Team"]
    );
    // Previews sent back count as not sent; a value sent in full is fine.
    let (status, body) = org
        .patch(
            &app,
            &path,
            &json!({"url": elsewhere.url("/collect"),
                    "headers": {"Authorization": "••••0001", "X-Team": "another-value-7"}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(error_fields(&body), ["headers.Authorization"]);
    // Nothing changed, so a test run still goes home with the old values.
    let (status, _) = org
        .post(&app, &format!("{path}/test"), &json!({"arguments": {}}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(elsewhere.requests().len(), 0);
    assert_eq!(
        home.requests()[0].header("authorization"),
        "Bearer sk_live_secret_0001"
    );

    // Another port is another origin too; the same origin with a new path keeps the values.
    let (status, body) = org
        .patch(&app, &path, &json!({"url": home.url("/v2/lookup")}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = org
        .patch(
            &app,
            &path,
            &json!({"url": elsewhere.url("/collect"),
                    "headers": {"Authorization": "Bearer new-for-elsewhere"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    org.post(&app, &format!("{path}/test"), &json!({"arguments": {}}))
        .await;
    let sent = elsewhere.requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].header("authorization"), "Bearer new-for-elsewhere");
    assert_eq!(sent[0].header("x-team"), "");
}

/// Every event the session has, in order, read from the table.
async fn stored_events(app: &TestApp, session_id: &str) -> Vec<(i64, String)> {
    sqlx::query_as("SELECT seq, event FROM session_events WHERE session_id = $1::uuid ORDER BY seq")
        .bind(session_id)
        .fetch_all(&app.pool)
        .await
        .unwrap()
}

fn lookup_tool(receiver: &Receiver) -> serde_json::Value {
    json!({"type": "server", "subtype": "webhook", "name": "lookup", "description": "Look up",
           "url": receiver.url("/lookup")})
}

/// A runtime that gets a call's answer and then ends the session must find the call's events
/// before `sessionEnded`: streams stop there, so anything after it is never seen.
#[tokio::test]
async fn events_of_answered_calls_come_before_session_ended() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let receiver = Receiver::start(Reply::json(200, json!({"ok": true}))).await;
    for round in 0..40 {
        let (session_id, _) = session(
            &app,
            &org,
            json!({"name": "Race", "tools": [lookup_tool(&receiver)]}),
        )
        .await;
        let calls = if round % 2 == 0 { 1 } else { 3 };
        let path = format!("/v1/sessions/{session_id}/tool-calls");
        let body = json!({"toolName": "lookup", "arguments": {}});
        let runs = (0..calls).map(|_| org.post(&app, &path, &body));
        for (status, body) in futures::future::join_all(runs).await {
            assert_eq!(status, StatusCode::OK, "{body}");
        }
        let (status, _) = org
            .post(&app, &format!("/v1/sessions/{session_id}/end"), &json!({}))
            .await;
        assert_eq!(status, StatusCode::OK);
        // A replay from the start gets every event, then the stream closes by itself.
        let mut stream = SseStream::open(
            &app.url(&format!("/v1/sessions/{session_id}/events")),
            Some(&org.key),
            Some("0"),
        )
        .await;
        let got = stream.take(100, Duration::from_secs(10)).await;
        let names: Vec<&str> = got.iter().map(|e| e.event.as_str()).collect();
        assert_eq!(names.len(), 2 * calls + 1, "round {round}: {names:?}");
        assert_eq!(
            names.last(),
            Some(&"sessionEnded"),
            "round {round}: {names:?}"
        );
        let completed = names.iter().filter(|n| **n == "toolCallCompleted").count();
        assert_eq!(completed, calls, "round {round}: {names:?}");
        let ids: Vec<i64> = got
            .iter()
            .map(|e| e.id.as_deref().unwrap().parse().unwrap())
            .collect();
        assert_eq!(ids, (1..=ids.len() as i64).collect::<Vec<_>>());
    }
}

/// A session ended while an awaited call runs gets `sessionEnded` after that call's end: the
/// call log's batch holding the end finds the session ended without it and writes it after the
/// call's event, in the same transaction.
#[tokio::test]
async fn a_call_running_at_the_end_comes_before_session_ended() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let receiver =
        Receiver::start(Reply::json(200, json!({"ok": true})).delayed(Duration::from_millis(300)))
            .await;
    let (session_id, _) = session(
        &app,
        &org,
        json!({"name": "Slow", "tools": [lookup_tool(&receiver)]}),
    )
    .await;
    let path = format!("/v1/sessions/{session_id}/tool-calls");
    let body = json!({"toolName": "lookup", "arguments": {}});
    let end = async {
        while receiver.requests().is_empty() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        org.post(&app, &format!("/v1/sessions/{session_id}/end"), &json!({}))
            .await
    };
    let ((status, answer), (ended, _)) = tokio::join!(org.post(&app, &path, &body), end);
    assert_eq!(
        (status, ended),
        (StatusCode::OK, StatusCode::OK),
        "{answer}"
    );
    assert_eq!(answer["status"], "completed", "{answer}");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let events = loop {
        let events = stored_events(&app, &session_id).await;
        if events.iter().any(|e| e.1 == "sessionEnded") {
            break events;
        }
        assert!(std::time::Instant::now() < deadline, "{events:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let expected = [
        (1, "toolCallStarted"),
        (2, "toolCallCompleted"),
        (3, "sessionEnded"),
    ];
    assert_eq!(
        events,
        expected.map(|(n, e)| (n, e.to_owned())),
        "{events:?}"
    );
}

/// Two instances ending one session at the same moment write one `sessionEnded`.
#[tokio::test]
async fn concurrent_ends_on_two_instances_end_once() {
    let (first, second) = two_instances(raw_settings).await;
    let org = first.org("acme").await;
    let receiver = Receiver::start(Reply::json(200, json!({}))).await;
    for round in 0..20 {
        let (session_id, _) = session(
            &first,
            &org,
            json!({"name": "Race", "tools": [lookup_tool(&receiver)]}),
        )
        .await;
        let path = format!("/v1/sessions/{session_id}/end");
        let empty = json!({});
        let (a, b) = tokio::join!(
            org.post(&first, &path, &empty),
            org.post(&second, &path, &empty)
        );
        assert_eq!((a.0, b.0), (StatusCode::OK, StatusCode::OK));
        let events = stored_events(&first, &session_id).await;
        let ended = events.iter().filter(|e| e.1 == "sessionEnded").count();
        assert_eq!(ended, 1, "round {round}: {events:?}");
    }
}

/// A stream opened for a session that has ended replays what it asks for and closes; with
/// nothing left it answers 204, so a browser's EventSource stops reconnecting.
#[tokio::test]
async fn streams_of_ended_sessions_replay_and_close() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let receiver = Receiver::start(Reply::json(200, json!({}))).await;
    let (session_id, secret) = session(
        &app,
        &org,
        json!({"name": "Done", "tools": [lookup_tool(&receiver)]}),
    )
    .await;
    org.post(
        &app,
        &format!("/v1/sessions/{session_id}/tool-calls"),
        &json!({"toolName": "lookup", "arguments": {}}),
    )
    .await;
    org.post(&app, &format!("/v1/sessions/{session_id}/end"), &json!({}))
        .await;
    let url = app.url(&format!("/v1/sessions/{session_id}/events"));
    let mut replay = SseStream::open(&url, Some(&secret), Some("1")).await;
    let got = replay.take(100, Duration::from_secs(10)).await;
    let names: Vec<&str> = got.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(names, ["toolCallCompleted", "sessionEnded"]);
    for last in [None, Some("3")] {
        let mut request = app.client.get(&url).bearer_auth(&secret);
        if let Some(id) = last {
            request = request.header("last-event-id", id);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT, "after {last:?}");
    }
}

/// Open streams are capped per session and per instance; a closed stream frees its place.
#[tokio::test]
async fn event_streams_are_capped() {
    let app = TestApp::spawn_with(RawSettings {
        streams_per_session: 2,
        streams_per_instance: 3,
        ..raw_settings()
    })
    .await;
    let org = app.org("acme").await;
    let (one, secret) = session(&app, &org, json!({"name": "One"})).await;
    let url = app.url(&format!("/v1/sessions/{one}/events"));
    let first = SseStream::open(&url, Some(&secret), None).await;
    let _second = SseStream::open(&url, Some(&secret), None).await;
    let refused = app
        .client
        .get(&url)
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("HOOKLINE_STREAMS_PER_SESSION"),
        "{body}"
    );

    let (two, secret_two) = session(&app, &org, json!({"name": "Two"})).await;
    let url_two = app.url(&format!("/v1/sessions/{two}/events"));
    let _third = SseStream::open(&url_two, Some(&secret_two), None).await;
    let refused = app
        .client
        .get(&url_two)
        .bearer_auth(&secret_two)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);

    // The client goes away: its place is given back.
    drop(first);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let again = app
            .client
            .get(&url)
            .bearer_auth(&secret)
            .send()
            .await
            .unwrap();
        if again.status() == StatusCode::OK {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the place was never freed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Reads from a raw connection until it is closed; false if it is still open after `within`.
async fn closed_within(stream: &mut tokio::net::TcpStream, within: Duration) -> bool {
    use tokio::io::AsyncReadExt;
    let mut buffer = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

/// A client that sends its headers a line at a time, or nothing at all, is cut off; so is one
/// that trickles its body.
#[tokio::test]
async fn slow_clients_are_cut_off() {
    use tokio::io::AsyncWriteExt;
    let app = TestApp::spawn_with(RawSettings {
        header_read_timeout_seconds: 1,
        body_read_timeout_seconds: 1,
        ..raw_settings()
    })
    .await;

    let mut silent = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    assert!(closed_within(&mut silent, Duration::from_secs(5)).await);

    let mut slow = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\n").await.unwrap();
    let started = std::time::Instant::now();
    let mut cut = false;
    for n in 0..20 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let line = format!("x-slow-{n}: 1\r\n");
        if slow.write_all(line.as_bytes()).await.is_err() {
            cut = true;
            break;
        }
        if closed_within(&mut slow, Duration::from_millis(10)).await {
            cut = true;
            break;
        }
    }
    assert!(cut, "a slow-header client kept its connection");
    assert!(started.elapsed() < Duration::from_secs(5));

    let org = app.org("acme").await;
    let mut trickle = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST /v1/tools HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {}\r\ncontent-length: 100\r\n\r\n{{\"na",
        org.key
    );
    trickle.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), async {
        use tokio::io::AsyncReadExt;
        let mut buffer = [0u8; 4096];
        loop {
            match trickle.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    answer.extend_from_slice(&buffer[..n]);
                    if answer.windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
            }
        }
    })
    .await;
    assert!(read.is_ok(), "no answer to a trickled body");
    let head = String::from_utf8_lossy(&answer);
    assert!(head.starts_with("HTTP/1.1 408"), "{head}");
}

/// The timeouts are for reading requests: answers that take long (an awaited call, an event
/// stream) are not cut.
#[tokio::test]
async fn long_answers_are_not_cut_by_the_read_timeouts() {
    let app = TestApp::spawn_with(RawSettings {
        header_read_timeout_seconds: 1,
        body_read_timeout_seconds: 1,
        ..raw_settings()
    })
    .await;
    let org = app.org("acme").await;
    let receiver = Receiver::start(
        Reply::json(200, json!({"slow": true})).delayed(Duration::from_millis(2500)),
    )
    .await;
    let (session_id, secret) = session(
        &app,
        &org,
        json!({"name": "Slow", "tools": [lookup_tool(&receiver)]}),
    )
    .await;
    let mut events = SseStream::open(
        &app.url(&format!("/v1/sessions/{session_id}/events")),
        Some(&secret),
        None,
    )
    .await;
    let (status, body) = org
        .post(
            &app,
            &format!("/v1/sessions/{session_id}/tool-calls"),
            &json!({"toolName": "lookup", "arguments": {}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "completed", "{body}");
    let got = events.take(2, Duration::from_secs(10)).await;
    assert_eq!(got[1].event, "toolCallCompleted");
}

/// Beyond the connection cap, a client waits until a connection closes.
#[tokio::test]
async fn connections_are_capped() {
    let app = TestApp::spawn_with(RawSettings {
        max_connections: 2,
        ..raw_settings()
    })
    .await;
    let held = [
        tokio::net::TcpStream::connect(app.addr).await.unwrap(),
        tokio::net::TcpStream::connect(app.addr).await.unwrap(),
    ];
    tokio::time::sleep(Duration::from_millis(200)).await;
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    assert!(client.get(app.url("/healthz")).send().await.is_err());
    drop(held);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(r) = client.get(app.url("/healthz")).send().await {
            assert_eq!(r.status(), StatusCode::OK);
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never served again");
    }
}

/// A waiting client-tool call is woken by its answer posted to another instance; waits are
/// capped per instance, and a refused call leaves nothing behind.
#[tokio::test]
async fn client_waits_are_woken_across_instances_and_capped() {
    let (app, other) = two_instances(|| RawSettings {
        client_waits: 1,
        ..raw_settings()
    })
    .await;
    let org = app.org("acme").await;
    let tools = json!([
        {"type": "client", "name": "pick_size", "description": "Ask the page",
         "awaitResult": true, "resultTimeoutSeconds": 30},
        {"type": "client", "name": "pick_fast", "description": "Ask the page",
         "awaitResult": true, "resultTimeoutSeconds": 1}
    ]);
    let (session_id, secret) = session(&app, &org, json!({"tools": tools})).await;
    let calls = format!("/v1/sessions/{session_id}/tool-calls");
    let mut events = SseStream::open(
        &other.url(&format!("/v1/sessions/{session_id}/events")),
        Some(&secret),
        None,
    )
    .await;
    let first_call = json!({"toolCallId": "c1", "toolName": "pick_size", "arguments": {}});
    let waiting = org.post(&app, &calls, &first_call);
    let browser = async {
        let started = events.take(1, Duration::from_secs(10)).await;
        assert_eq!(started[0].data["toolCallId"], "c1");
        // While the first call waits, a second has no place on this instance.
        let (status, body) = org
            .post(
                &app,
                &calls,
                &json!({"toolCallId": "c2", "toolName": "pick_fast", "arguments": {}}),
            )
            .await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert!(
            body["detail"].as_str().unwrap().contains("waiting"),
            "{body}"
        );
        let (status, _) = other
            .call(
                reqwest::Method::POST,
                &format!("{calls}/c1/result"),
                Some(&secret),
                Some(&json!({"result": {"size": "M"}})),
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        std::time::Instant::now()
    };
    let ((status, answer), answered_at) = tokio::join!(waiting, browser);
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["result"], json!({"size": "M"}));
    assert!(answered_at.elapsed() < Duration::from_secs(10));
    // The refused call was never stored.
    let (_, log) = org.get(&app, &calls).await;
    let ids: Vec<&str> = log["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["toolCallId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["c1"]);
    // With the first wait over, the place is free again (nobody answers this one).
    let (status, body) = org
        .post(
            &app,
            &calls,
            &json!({"toolCallId": "c3", "toolName": "pick_fast", "arguments": {}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["error"]["kind"], "client_timeout");
}

/// Where a text a client writes goes in: (method, path, body) with `{}` standing for the text,
/// and the field a refusal must name.
fn text_fields(
    tool_id: &str,
    session_id: &str,
) -> Vec<(reqwest::Method, String, String, &'static str)> {
    use reqwest::Method;
    let tool = r#"{"type": "server", "subtype": "webhook", "name": "t", "description": "d", "url": "https://api.example.com/x"}"#;
    let mut cases = vec![
        (Method::POST, "/v1/tools".into(), r#"{"type": "server", "subtype": "webhook", "name": {}, "description": "d", "url": "https://api.example.com/x"}"#.into(), "name"),
        (Method::POST, "/v1/tools".into(), r#"{"type": "server", "subtype": "webhook", "name": "n", "description": {}, "url": "https://api.example.com/x"}"#.into(), "description"),
        (Method::POST, "/v1/tools".into(), r#"{"type": "client", "name": "n", "description": "d", "parameters": {"type": "object", "properties": {"a": {"type": "string", "description": {}}}}}"#.into(), "parameters.properties.a.description"),
        (Method::PATCH, format!("/v1/tools/{tool_id}"), r#"{"description": {}}"#.into(), "description"),
        (Method::POST, "/v1/personas".into(), r#"{"name": {}}"#.into(), "name"),
        (Method::POST, "/v1/personas".into(), r#"{"name": "p", "systemPrompt": {}}"#.into(), "systemPrompt"),
        (Method::POST, "/v1/personas".into(), r#"{"name": "p", "description": {}}"#.into(), "description"),
        (Method::POST, "/v1/personas".into(), r#"{"name": "p", "llmId": {}, "languageCode": "en"}"#.into(), "llmId"),
        (Method::POST, "/v1/api-keys".into(), r#"{"name": {}}"#.into(), "name"),
        (Method::POST, "/v1/auth/session-token".into(), r#"{"clientLabel": {}, "personaConfig": {"name": "e"}}"#.into(), "clientLabel"),
        (Method::POST, "/v1/auth/session-token".into(), format!(r#"{{"personaConfig": {{"name": "e", "tools": [{tool}], "systemPrompt": {{}}}}}}"#), "personaConfig.systemPrompt"),
        (Method::POST, format!("/v1/sessions/{session_id}/tool-calls"), r#"{"toolCallId": {}, "toolName": "end_call", "arguments": {}}"#.into(), "toolCallId"),
        (Method::POST, format!("/v1/sessions/{session_id}/tool-calls"), r#"{"toolName": {}, "arguments": {}}"#.into(), "toolName"),
        (Method::POST, format!("/v1/sessions/{session_id}/tool-calls/c1/result"), r#"{"error": {}}"#.into(), "error"),
    ];
    for list in ["/v1/tools", "/v1/personas", "/v1/api-keys"] {
        cases.push((
            Method::GET,
            format!("{list}?search={{}}"),
            String::new(),
            "search",
        ));
    }
    cases
}

/// U+0000 is valid JSON but not Postgres text: in any text field or query it is refused with the
/// field named, never a 5xx.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nul_characters_are_refused_by_name_everywhere() {
    use proptest::prelude::*;
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let (_, tool) = org
        .post(&app, "/v1/tools", &crate::tools::webhook("existing"))
        .await;
    let tools = json!([{"type": "client", "name": "pick", "description": "d"}, {"type": "system", "name": "end_call"}]);
    let (session_id, _) = session(&app, &org, json!({"name": "N", "tools": tools})).await;
    let cases = text_fields(tool["id"].as_str().unwrap(), &session_id);
    let handle = tokio::runtime::Handle::current();
    // Texts with the NUL character somewhere among other characters, emoji included.
    let texts = ("[a-z \u{e9}\u{1f600}]{0,12}", "[a-z \u{e9}\u{1f600}]{0,12}")
        .prop_map(|(before, after)| format!("{before}\0{after}"));
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 24,
        ..ProptestConfig::default()
    });
    tokio::task::block_in_place(|| {
        runner
            .run(&texts, |text| {
                for (method, path, body, field) in &cases {
                    let (status, answer) = handle.block_on(async {
                        let mut request = if body.is_empty() {
                            let encoded: String =
                                url::form_urlencoded::byte_serialize(text.as_bytes()).collect();
                            app.client
                                .request(method.clone(), app.url(&path.replace("{}", &encoded)))
                        } else {
                            let quoted = serde_json::to_string(&text).unwrap();
                            app.client
                                .request(method.clone(), app.url(path))
                                .body(body.replacen("{}", &quoted, 1))
                        };
                        request = request.bearer_auth(&org.key);
                        let response = request.send().await.unwrap();
                        let status = response.status();
                        (
                            status,
                            response
                                .json::<serde_json::Value>()
                                .await
                                .unwrap_or_default(),
                        )
                    });
                    prop_assert!(
                        status == StatusCode::BAD_REQUEST
                            || status == StatusCode::UNPROCESSABLE_ENTITY,
                        "{method} {path} with {text:?}: {status} {answer}"
                    );
                    prop_assert_eq!(
                        error_fields(&answer),
                        vec![field.to_string()],
                        "{} {}",
                        method,
                        path
                    );
                }
                Ok(())
            })
            .unwrap();
    });
}

/// An event stream's connection is served apart from hyper (one request, then closed): the stream
/// and a refusal both say `Connection: close`, and the refusal keeps its problem document.
#[tokio::test]
async fn event_stream_connections_answer_once_and_close() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let (session_id, secret) = session(&app, &org, json!({"name": "Once"})).await;
    let url = app.url(&format!("/v1/sessions/{session_id}/events"));
    let fresh = || reqwest::Client::builder().no_proxy().build().unwrap();
    let refused = fresh().get(&url).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(refused.headers()["connection"], "close");
    assert!(refused.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/problem+json"));
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["status"], 401, "{body}");
    let streamed = fresh()
        .get(format!("{url}?clientSecret={secret}"))
        .send()
        .await
        .unwrap();
    assert_eq!(streamed.status(), StatusCode::OK);
    assert_eq!(streamed.headers()["connection"], "close");
    assert!(streamed.headers().get("content-length").is_none());
}
