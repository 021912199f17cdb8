//! Fire-and-forget calls: accepted means delivered, across retries, crashes and instances.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use hookline_core::repo::tool_calls;

use crate::harness::{
    raw_settings, session, two_instances, Org, RawSettings, Receiver, Reply, Server, SseStream,
    TestApp,
};

/// Quick retries for tests: 100 ms, then 200 ms, ...
fn quick() -> RawSettings {
    RawSettings {
        delivery_backoff_base_ms: 100,
        delivery_backoff_max_ms: 2_000,
        ..raw_settings()
    }
}

fn notify_tool(receiver: &Receiver) -> Value {
    json!({"type": "server", "subtype": "webhook", "name": "log_event", "description": "Log it",
           "url": receiver.url("/log"), "awaitResponse": false, "timeoutSeconds": 10})
}

async fn setup(app: &TestApp, org: &Org, receiver: &Receiver) -> (String, String) {
    let (status, tool) = org.post(app, "/v1/tools", &notify_tool(receiver)).await;
    assert_eq!(status, StatusCode::CREATED, "{tool}");
    session(app, org, json!({"toolIds": [tool["id"]]})).await
}

async fn accept(app: &TestApp, org: &Org, session_id: &str, n: usize) -> Value {
    let (status, body) = org
        .post(
            app,
            &format!("/v1/sessions/{session_id}/tool-calls"),
            &json!({"toolCallId": format!("e{n}"), "toolName": "log_event", "arguments": {"n": n}}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["status"], "pending");
    body
}

/// Polls the call log until the call is settled.
async fn settled(app: &TestApp, org: &Org, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, call) = org.get(app, &format!("/v1/tool-calls/{id}")).await;
        if call["status"] == "completed" || call["status"] == "failed" {
            return call;
        }
        assert!(Instant::now() < deadline, "never settled: {call}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn accepted_fast_while_the_endpoint_is_slow() {
    let app = TestApp::spawn_with(quick()).await;
    let org = app.org("acme").await;
    let receiver =
        Receiver::start(Reply::json(200, json!({})).delayed(Duration::from_secs(2))).await;
    let (session_id, _) = setup(&app, &org, &receiver).await;
    let started = Instant::now();
    let body = accept(&app, &org, &session_id, 1).await;
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
    let call = settled(&app, &org, body["id"].as_str().unwrap()).await;
    assert_eq!(call["status"], "completed");
    assert_eq!(receiver.requests()[0].json(), json!({"n": 1}));
}

#[tokio::test]
async fn server_errors_are_retried_with_one_webhook_id() {
    let app = TestApp::spawn_with(quick()).await;
    let org = app.org("acme").await;
    let receiver = Receiver::start(Reply::json(200, json!({"logged": true}))).await;
    receiver
        .then(Reply::json(500, json!({})))
        .then(Reply::json(500, json!({})));
    let (session_id, secret) = setup(&app, &org, &receiver).await;
    let mut events = SseStream::open(
        &app.url(&format!("/v1/sessions/{session_id}/events")),
        Some(&secret),
        None,
    )
    .await;
    let body = accept(&app, &org, &session_id, 1).await;
    let call = settled(&app, &org, body["id"].as_str().unwrap()).await;
    assert_eq!(call["status"], "completed", "{call}");
    assert_eq!(call["attempts"], 3);
    let log: Vec<&str> = call["attemptLog"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(log, ["http_status", "http_status", "completed"]);
    let got = receiver.requests();
    assert_eq!(got.len(), 3);
    let ids: HashSet<&str> = got.iter().map(|r| r.header("webhook-id")).collect();
    assert_eq!(ids, HashSet::from([body["id"].as_str().unwrap()]));
    let seen = events.take(2, Duration::from_secs(5)).await;
    assert_eq!(seen[0].event, "toolCallStarted");
    assert_eq!(seen[1].event, "toolCallCompleted");
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let app = TestApp::spawn_with(quick()).await;
    let org = app.org("acme").await;
    let receiver = Receiver::start(Reply::json(200, json!({}))).await;
    receiver.then(Reply::json(429, json!({"error": "slow down"})).with_header("retry-after", "1"));
    let (session_id, _) = setup(&app, &org, &receiver).await;
    let body = accept(&app, &org, &session_id, 1).await;
    let call = settled(&app, &org, body["id"].as_str().unwrap()).await;
    assert_eq!(call["status"], "completed");
    let got = receiver.requests();
    assert_eq!(got.len(), 2);
    let gap = got[1].at - got[0].at;
    assert!(
        gap >= Duration::from_secs(1),
        "the retry came after {gap:?}"
    );
}

#[tokio::test]
async fn metrics_show_a_call_waiting_for_its_retry() {
    // A minute's backoff: after its first failure the call waits in the queue for the test's span.
    let app = TestApp::spawn_with(RawSettings {
        delivery_backoff_base_ms: 60_000,
        delivery_backoff_max_ms: 120_000,
        ..raw_settings()
    })
    .await;
    let org = app.org("acme").await;
    let receiver = Receiver::start(Reply::json(503, json!({"error": "down"}))).await;
    let (session_id, _) = setup(&app, &org, &receiver).await;
    accept(&app, &org, &session_id, 1).await;
    receiver.wait_for(1, Duration::from_secs(10)).await;
    // The gauges are refreshed every few seconds by the delivery loop.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = app.metrics_text().await;
        let depth = text
            .lines()
            .find(|l| l.starts_with("hookline_delivery_queue_depth "));
        if depth == Some("hookline_delivery_queue_depth 1") {
            assert!(
                text.lines()
                    .any(|l| l.starts_with("hookline_delivery_oldest_due_seconds ")),
                "{text}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "no queue depth of 1 in:\n{text}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(receiver.requests().len(), 1, "the retry waits a minute");
}

#[tokio::test]
async fn client_errors_are_final() {
    let app = TestApp::spawn_with(quick()).await;
    let org = app.org("acme").await;
    let receiver = Receiver::start(Reply::json(400, json!({"error": "bad field"}))).await;
    let (session_id, secret) = setup(&app, &org, &receiver).await;
    let mut events = SseStream::open(
        &app.url(&format!("/v1/sessions/{session_id}/events")),
        Some(&secret),
        None,
    )
    .await;
    let body = accept(&app, &org, &session_id, 1).await;
    let call = settled(&app, &org, body["id"].as_str().unwrap()).await;
    assert_eq!(call["status"], "failed");
    assert_eq!(call["attempts"], 1);
    assert_eq!(call["error"]["kind"], "http_status");
    assert_eq!(
        call["result"],
        json!({"status": 400, "body": {"error": "bad field"}})
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.requests().len(), 1);
    let seen = events.take(2, Duration::from_secs(5)).await;
    assert_eq!(seen[1].event, "toolCallFailed");
}

#[tokio::test]
async fn attempts_run_out() {
    let app = TestApp::spawn_with(RawSettings {
        delivery_max_attempts: 3,
        ..quick()
    })
    .await;
    let org = app.org("acme").await;
    let receiver = Receiver::start(Reply::json(503, json!({}))).await;
    let (session_id, _) = setup(&app, &org, &receiver).await;
    let body = accept(&app, &org, &session_id, 1).await;
    let call = settled(&app, &org, body["id"].as_str().unwrap()).await;
    assert_eq!(call["status"], "failed");
    assert_eq!(call["attempts"], 3);
    assert_eq!(receiver.requests().len(), 3);
}

#[tokio::test]
async fn two_instances_deliver_each_call_once() {
    let (first, second) = two_instances(quick).await;
    let org = first.org("acme").await;
    let receiver =
        Receiver::start(Reply::json(200, json!({})).delayed(Duration::from_millis(20))).await;
    let (session_id, _) = setup(&first, &org, &receiver).await;
    for n in 0..60 {
        let app = if n % 2 == 0 { &first } else { &second };
        accept(app, &org, &session_id, n).await;
    }
    let got = receiver.wait_for(60, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got_after = receiver.requests();
    assert_eq!(got_after.len(), 60, "some calls were delivered twice");
    let ids: HashSet<&str> = got.iter().map(|r| r.header("webhook-id")).collect();
    assert_eq!(ids.len(), 60);
}

#[tokio::test]
async fn one_slow_organization_cannot_hold_every_worker() {
    // Two instances on one database, 8 workers each: the cap is for both together.
    let (app, _other) = two_instances(|| RawSettings {
        delivery_workers: 8,
        delivery_org_concurrency: Some(2),
        ..quick()
    })
    .await;
    // Organization A's endpoint never answers within the tool's timeout.
    let slow = Receiver::start(Reply::json(200, json!({})).delayed(Duration::from_secs(30))).await;
    let a = app.org("slow-co").await;
    let mut tool = notify_tool(&slow);
    tool["timeoutSeconds"] = json!(2);
    let (status, created) = a.post(&app, "/v1/tools", &tool).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (slow_session, _) = session(&app, &a, json!({"toolIds": [created["id"]]})).await;
    for n in 0..80 {
        accept(&app, &a, &slow_session, n).await;
    }
    // While nobody else waits, A may use idle workers beyond its cap of 2, but each instance
    // keeps 2 of its 8 free: 12 of the 16 at most, until the first attempts time out.
    slow.wait_for(12, Duration::from_secs(10)).await;
    let fast = Receiver::start(Reply::json(200, json!({}))).await;
    let b = app.org("fast-co").await;
    let (fast_session, _) = setup(&app, &b, &fast).await;
    let accepted = Instant::now();
    accept(&app, &b, &fast_session, 1).await;
    fast.wait_for(1, Duration::from_secs(5)).await;
    let waited = accepted.elapsed();
    let got = slow.requests();
    let first_wave: Vec<_> = got
        .iter()
        .filter(|r| r.at < got[0].at + Duration::from_millis(1500))
        .collect();
    assert_eq!(
        first_wave.len(),
        12,
        "organization A had {} calls in flight at once",
        first_wave.len()
    );
    // B's call went out on a reserved worker while all of A's were still held by its slow
    // endpoint, not after one of them timed out.
    let b_at = fast.requests()[0].at;
    assert!(
        b_at < got[0].at + Duration::from_secs(2),
        "organization B's call waited for organization A's timeouts"
    );
    println!("organization B's call was delivered {waited:?} after it was accepted");
}

/// Makes every lease run out now, as if its holder had stalled past it.
async fn expire_leases(app: &TestApp) {
    sqlx::query(
        "UPDATE tool_calls SET lease_until = now() - interval '1 second' WHERE lease_owner IS NOT NULL",
    )
    .execute(&app.pool)
    .await
    .unwrap();
}

async fn count_events(app: &TestApp, event: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM session_events WHERE event = $1")
        .bind(event)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    n
}

#[tokio::test]
async fn an_attempt_that_outlived_its_lease_is_not_recorded() {
    let app = TestApp::spawn_with(quick()).await;
    let org = app.org("acme").await;
    let receiver = Receiver::start(Reply::json(200, json!({"second": true}))).await;
    receiver.then(Reply::json(200, json!({"first": true})).delayed(Duration::from_secs(3)));
    let (session_id, _) = setup(&app, &org, &receiver).await;
    let body = accept(&app, &org, &session_id, 1).await;
    let first = receiver.wait_for(1, Duration::from_secs(5)).await[0].clone();
    // The first attempt is still waiting for its answer when its lease runs out; the call is
    // claimed again and delivered.
    expire_leases(&app).await;
    receiver.wait_for(2, Duration::from_secs(5)).await;
    // Let the first attempt get its (late) answer and try to record it.
    tokio::time::sleep(
        (first.at + Duration::from_secs(5)).saturating_duration_since(Instant::now()),
    )
    .await;
    let (_, call) = org
        .get(
            &app,
            &format!("/v1/tool-calls/{}", body["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(call["status"], "completed", "{call}");
    assert_eq!(call["result"], json!({"second": true}), "{call}");
    assert_eq!(call["attempts"], 1, "{call}");
    assert_eq!(call["attemptLog"].as_array().unwrap().len(), 1, "{call}");
    assert_eq!(count_events(&app, "toolCallCompleted").await, 1);
    let got = receiver.requests();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].header("webhook-id"), got[1].header("webhook-id"));
}

#[tokio::test]
async fn attempts_match_the_attempt_log_when_leases_run_out_repeatedly() {
    let (first, second) = two_instances(quick).await;
    let org = first.org("acme").await;
    // Every answer is slow and a failure, so each call is retried while leases keep running out.
    let receiver =
        Receiver::start(Reply::json(503, json!({})).delayed(Duration::from_millis(700))).await;
    let (session_id, _) = setup(&first, &org, &receiver).await;
    let mut ids = Vec::new();
    for n in 0..6 {
        let app = if n % 2 == 0 { &first } else { &second };
        ids.push(
            accept(app, &org, &session_id, n).await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let until = Instant::now() + Duration::from_secs(4);
    while Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(300)).await;
        expire_leases(&first).await;
    }
    // Let every attempt in flight finish and record (or drop) its outcome.
    tokio::time::sleep(Duration::from_secs(2)).await;
    for id in &ids {
        let (_, call) = org.get(&first, &format!("/v1/tool-calls/{id}")).await;
        let log = call["attemptLog"].as_array().unwrap().len();
        assert_eq!(call["attempts"], log, "{call}");
    }
}

#[tokio::test]
async fn sigterm_waits_for_an_attempt_as_long_as_its_timeout_allows() {
    // Longer than the old fixed 20 s drain, shorter than the tool's timeout.
    let receiver =
        Receiver::start(Reply::json(200, json!({})).delayed(Duration::from_secs(24))).await;
    let db = crate::harness::fresh_database_url();
    let mut server = Server::start(&db, &[]).await;
    let app = TestApp::attach(server.addr, &db).await;
    let org = app.org("acme").await;
    let mut tool = notify_tool(&receiver);
    tool["timeoutSeconds"] = json!(40);
    let (status, created) = org.post(&app, "/v1/tools", &tool).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (session_id, _) = session(&app, &org, json!({"toolIds": [created["id"]]})).await;
    let body = accept(&app, &org, &session_id, 1).await;
    receiver.wait_for(1, Duration::from_secs(5)).await;
    let status = server.terminate().await;
    assert!(status.success(), "{status}");
    let (state, attempts): (String, i32) =
        sqlx::query_as("SELECT status, attempts FROM tool_calls WHERE id = $1")
            .bind(uuid::Uuid::parse_str(body["id"].as_str().unwrap()).unwrap())
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((state.as_str(), attempts), ("completed", 1));
    assert_eq!(receiver.requests().len(), 1);
}

/// Calls on a real server: accepted, then the process is killed or stopped.
async fn accepted_on_binary(
    env: &[(&str, &str)],
    n: usize,
    receiver: &Receiver,
) -> (Server, TestApp, Org, Vec<String>) {
    let db = crate::harness::fresh_database_url();
    let server = Server::start(&db, env).await;
    let app = TestApp::attach(server.addr, &db).await;
    let org = app.org("acme").await;
    let (session_id, _) = setup(&app, &org, receiver).await;
    let mut ids = Vec::new();
    for i in 0..n {
        ids.push(
            accept(&app, &org, &session_id, i).await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    (server, app, org, ids)
}

#[tokio::test]
async fn nothing_accepted_is_lost_when_the_server_is_killed() {
    let receiver =
        Receiver::start(Reply::json(200, json!({})).delayed(Duration::from_millis(1500))).await;
    let env = [
        ("HOOKLINE_DELIVERY_WORKERS", "8"),
        ("HOOKLINE_DELIVERY_ORG_CONCURRENCY", "8"),
    ];
    let (mut server, app, _, ids) = accepted_on_binary(&env, 40, &receiver).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.kill();
    assert!(
        receiver.requests().len() < 40,
        "everything was delivered before the kill"
    );
    // The dead process's leases run out (fast-forwarded: a lease lasts at least 75 s).
    expire_leases(&app).await;
    let db = app.settings.database_url.clone();
    let _again = Server::start(&db, &env).await;
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let delivered: HashSet<String> = receiver
            .requests()
            .iter()
            .map(|r| r.header("webhook-id").to_owned())
            .collect();
        if ids.iter().all(|id| delivered.contains(id)) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} of 40 delivered",
            delivered.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn sigterm_finishes_what_is_in_flight_and_keeps_the_rest() {
    let receiver =
        Receiver::start(Reply::json(200, json!({})).delayed(Duration::from_millis(1500))).await;
    let env = [
        ("HOOKLINE_DELIVERY_WORKERS", "4"),
        ("HOOKLINE_DELIVERY_ORG_CONCURRENCY", "4"),
    ];
    let (mut server, app, org, ids) = accepted_on_binary(&env, 10, &receiver).await;
    receiver.wait_for(1, Duration::from_secs(5)).await;
    let status = server.terminate().await;
    assert!(status.success(), "{status}");
    // What was in flight was finished before the exit, and recorded.
    let in_flight = receiver.requests().len();
    assert!(in_flight > 0 && in_flight < 10, "{in_flight}");
    let (done,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM tool_calls WHERE status = 'completed'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(done as usize, in_flight);
    let (held,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM tool_calls WHERE lease_owner IS NOT NULL")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(held, 0, "a stopped process kept calls");
    let again = Server::start(&app.settings.database_url, &env).await;
    let app = TestApp::attach(again.addr, &app.settings.database_url).await;
    for id in &ids {
        assert_eq!(settled(&app, &org, id).await["status"], "completed");
    }
    let got = receiver.requests();
    assert_eq!(got.len(), 10, "a call was delivered twice");
}

#[tokio::test]
async fn header_values_never_reach_the_log() {
    let receiver = Receiver::start(Reply::json(200, json!({}))).await;
    let log = std::env::temp_dir().join(format!("hookline-log-{}.txt", uuid::Uuid::new_v4()));
    let db = crate::harness::fresh_database_url();
    let mut server = Server::start_logging_to(
        &db,
        &[("RUST_LOG", "debug"), ("HOOKLINE_LOG_FORMAT", "json")],
        Some(&log),
    )
    .await;
    let app = TestApp::attach(server.addr, &db).await;
    let org = app.org("acme").await;
    let secret = "Bearer sk_live_never_log_me_42";
    let tool = json!({"type": "server", "subtype": "webhook", "name": "careful", "description": "d",
        "url": receiver.url("/c"), "headers": {"Authorization": secret},
        "parameters": {"type": "object", "properties": {"n": {"type": "integer"}}}});
    let (status, created) = org.post(&app, "/v1/tools", &tool).await;
    assert_eq!(status, StatusCode::CREATED);
    let (session_id, client_secret) =
        session(&app, &org, json!({"toolIds": [created["id"]]})).await;
    let (_, answer) = org
        .post(
            &app,
            &format!("/v1/sessions/{session_id}/tool-calls"),
            &json!({"toolName": "careful", "arguments": {"n": 1}}),
        )
        .await;
    assert_eq!(answer["status"], "completed");
    assert_eq!(receiver.requests()[0].header("authorization"), secret);
    // A browser's EventSource puts its client secret in the query string.
    let _events = SseStream::open(
        &app.url(&format!(
            "/v1/sessions/{session_id}/events?clientSecret={client_secret}"
        )),
        None,
        None,
    )
    .await;
    server.terminate().await;
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("tool created"),
        "the log is empty or not at debug level"
    );
    assert!(
        !text.contains("sk_live_never_log_me_42"),
        "a header value was logged"
    );
    assert!(
        !text.contains(&client_secret[4..]),
        "a client secret was logged"
    );
    assert!(!text.contains(&org.key[3..]), "an API key was logged");
    let _ = std::fs::remove_file(log);
}

#[tokio::test]
async fn invalid_arguments_are_never_queued() {
    let app = TestApp::spawn_with(quick()).await;
    let org = app.org("acme").await;
    let receiver = Receiver::start(Reply::json(200, json!({}))).await;
    let mut tool = notify_tool(&receiver);
    tool["parameters"] =
        json!({"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]});
    let (_, created) = org.post(&app, "/v1/tools", &tool).await;
    let (session_id, _) = session(&app, &org, json!({"toolIds": [created["id"]]})).await;
    let (status, answer) = org
        .post(
            &app,
            &format!("/v1/sessions/{session_id}/tool-calls"),
            &json!({"toolName": "log_event", "arguments": {"n": "x"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["status"], "failed");
    assert_eq!(answer["error"]["kind"], "invalid_arguments");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(
        receiver.requests().is_empty(),
        "an invalid call was delivered"
    );
    let call = settled(&app, &org, answer["id"].as_str().unwrap()).await;
    assert_eq!(call["attempts"], 0);
}

/// A finished delivery claims the next due call at once: a backlog drains at the workers' pace,
/// not one claim per idle poll.
#[tokio::test]
async fn a_backlog_drains_as_fast_as_deliveries_finish() {
    let app = TestApp::spawn_with(RawSettings {
        delivery_workers: 2,
        ..quick()
    })
    .await;
    let org = app.org("acme").await;
    let receiver = Receiver::start(Reply::json(200, json!({}))).await;
    // The first deliveries are slow, so the rest pile up behind them.
    receiver.then(Reply::json(200, json!({})).delayed(Duration::from_secs(1)));
    receiver.then(Reply::json(200, json!({})).delayed(Duration::from_secs(1)));
    let (session_id, _) = setup(&app, &org, &receiver).await;
    for n in 0..60 {
        accept(&app, &org, &session_id, n).await;
    }
    // 58 quick deliveries after the slow ones: one per 250 ms poll would need about 15 s.
    let got = receiver.wait_for(60, Duration::from_secs(8)).await;
    assert_eq!(got.len(), 60);
}

/// The Postgres backends' sequential scans of `tool_calls` so far, this connection's included
/// (its pending statistics are flushed first; a pool of one connection keeps it the same one).
async fn seq_scans_of_the_call_log(one: &sqlx::PgPool) -> i64 {
    sqlx::query("SELECT pg_stat_force_next_flush()")
        .execute(one)
        .await
        .unwrap();
    let (n,): (i64,) =
        sqlx::query_as("SELECT seq_scan FROM pg_stat_user_tables WHERE relname = 'tool_calls'")
            .fetch_one(one)
            .await
            .unwrap();
    n
}

/// Claiming reads the delivery indexes, never the whole call log, even when Postgres has no
/// statistics on it (never analyzed: autovacuum off, or not run yet). Planned on guesses, the
/// claim counted live leases with a sequential scan of every call ever logged, and slowed down
/// as the log grew: 39 ms a claim with 50,000 calls logged (performance-history.md, stop 19).
#[tokio::test]
async fn claiming_never_scans_the_call_log() {
    let app = TestApp::spawn_with(quick()).await;
    let org = app.org("acme").await;
    let receiver = Receiver::start(Reply::json(200, json!({}))).await;
    let (session_id, _) = setup(&app, &org, &receiver).await;
    // A call log of answered calls, none of them due.
    sqlx::query(
        "INSERT INTO tool_calls (id, org_id, session_id, tool_call_id, tool_name, tool_type,
             status, await_response, arguments)
         SELECT gen_random_uuid(), s.org_id, s.id, 'answered-' || g, 'log_event', 'server',
                'completed', true, '{}'
         FROM sessions s, generate_series(1, 2000) g WHERE s.id = $1::uuid",
    )
    .bind(&session_id)
    .execute(&app.pool)
    .await
    .unwrap();
    let one = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect_with((*app.pool.connect_options()).clone())
        .await
        .unwrap();
    let before = seq_scans_of_the_call_log(&one).await;
    let claim = tool_calls::Claim {
        owner: uuid::Uuid::now_v7(),
        lease_seconds: 90.0,
        limit: 16,
        per_org: 4,
        reserve: 4,
    };
    assert!(tool_calls::claim(&one, claim).await.unwrap().is_empty());
    assert_eq!(tool_calls::queue_stats(&one).await.unwrap().0, 0);
    assert_eq!(seq_scans_of_the_call_log(&one).await, before);
}
