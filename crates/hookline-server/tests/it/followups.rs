//! Follow-ups: the product description's long-running pattern built in. The persona starts a job,
//! schedules a follow-up with `schedule_followup`, and checks back by itself when it is due, with
//! no user message; the session's end cancels what is still to run.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::conversations::{all_events, say, statuses};
use crate::engine::create_tool;
use crate::fake_llm::{call, Answer, FakeLlm, Say};
use crate::harness::{raw_settings, session, Org, Receiver, Reply, TestApp};

const START: &str = include_str!("../../../../examples/tools/start_report_generation.json");
const STATUS: &str = include_str!("../../../../examples/tools/check_report_status.json");
const PERSONA: &str = include_str!("../../../../examples/personas/report_assistant.json");

/// The example's tool `text`, pointed at `receiver`.
fn example_tool(text: &str, receiver: &Receiver) -> Value {
    let mut tool: Value = serde_json::from_str(text).unwrap();
    let url = url::Url::parse(tool["url"].as_str().unwrap()).unwrap();
    tool["url"] = json!(receiver.url(url.path()));
    tool
}

/// The example's persona with the report tools, `schedule_followup` and an LLM at `base_url`
/// (OpenAI's API); a session of it.
async fn report_session(app: &TestApp, org: &Org, base_url: &str, backend: &Receiver) -> String {
    let (_, llm) = org
        .post(
            app,
            "/v1/llms",
            &json!({"name": "fake", "provider": "openai", "model": "m",
                    "baseUrl": base_url, "timeoutSeconds": 5}),
        )
        .await;
    let mut ids = Vec::new();
    for tool in [
        example_tool(START, backend),
        example_tool(STATUS, backend),
        json!({"type": "system", "name": "schedule_followup"}),
    ] {
        ids.push(create_tool(app, org, &tool).await);
    }
    let mut persona: Value = serde_json::from_str(PERSONA).unwrap();
    persona["llmId"] = llm["id"].clone();
    persona["toolIds"] = json!(ids);
    let (status, persona) = org.post(app, "/v1/personas", &persona).await;
    assert_eq!(status, StatusCode::CREATED, "{persona}");
    session(app, org, json!({"personaId": persona["id"]}))
        .await
        .0
}

/// A backend answering as examples/receiver.py does: the job started, then its status, done.
async fn report_backend() -> Receiver {
    let started = json!({"jobId": "job_123", "estimatedTime": "30 seconds"});
    let backend = Receiver::start(Reply::json(200, started.clone())).await;
    backend.then(Reply::json(200, started));
    backend.then(Reply::json(
        200,
        json!({"jobId": "job_123", "status": "COMPLETE", "url": "https://reports.example.com/job_123.pdf"}),
    ));
    backend
}

async fn follow_ups(app: &TestApp, org: &Org, session_id: &str) -> Vec<Value> {
    let (status, list) = org
        .get(app, &format!("/v1/sessions/{session_id}/followups"))
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list["data"].as_array().unwrap().clone()
}

/// The follow-up as it started, and the persona's message that answered it, waited for together
/// (20 seconds at most).
async fn wait_for_the_follow_ups_answer(
    app: &TestApp,
    org: &Org,
    session_id: &str,
) -> (Value, Value) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let started = loop {
        let list = follow_ups(app, org, session_id).await;
        if list[0]["status"] == "started" {
            break list[0].clone();
        }
        assert!(
            Instant::now() < deadline,
            "the follow-up never started: {list:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let answered = loop {
        let (_, messages) = org
            .get(app, &format!("/v1/sessions/{session_id}/messages"))
            .await;
        let last = messages["data"]
            .as_array()
            .unwrap()
            .last()
            .cloned()
            .unwrap();
        if last["role"] == "persona" && last["content"].as_str().unwrap().contains("job_123.pdf") {
            break last;
        }
        assert!(
            Instant::now() < deadline,
            "no answer of the follow-up: {messages}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    (started, answered)
}

/// The follow-up's turn told the LLM the note where that turn begins: last in its first request,
/// before its own call and result in the next.
fn the_note_begins_the_follow_ups_turn(fake: &FakeLlm) {
    let first = fake.requests()[3].body["messages"].clone();
    let note = first.as_array().unwrap().last().unwrap().clone();
    assert_eq!(note["role"], "system");
    assert!(note["content"]
        .as_str()
        .unwrap()
        .contains("check report job_123"));
    let next = fake.requests()[4].body["messages"].clone();
    let roles: Vec<&str> = next
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .take(3)
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["tool", "assistant", "system"]);
}

#[tokio::test]
async fn the_persona_checks_back_on_a_report_by_itself() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let backend = report_backend().await;
    let fake = FakeLlm::start().await;
    fake.then(Answer::openai(vec![call(
        "call_start",
        "start_report_generation",
        r#"{"reportType": "sales"}"#,
    )]))
    .then(Answer::openai(vec![call(
        "call_later",
        "schedule_followup",
        r#"{"afterSeconds": 5, "note": "check report job_123"}"#,
    )]))
    .then(Answer::openai(vec![Say::Text(
        "I've started your sales report; I'll let you know when it is ready.",
    )]))
    // The follow-up's own turn.
    .then(Answer::openai(vec![call(
        "call_status",
        "check_report_status",
        r#"{"jobId": "job_123"}"#,
    )]))
    .then(Answer::openai(vec![Say::Text(
        "Your sales report is ready: https://reports.example.com/job_123.pdf",
    )]));
    let session_id = report_session(&app, &org, &fake.base_url(true), &backend).await;

    let turn = say(&app, &org, &session_id, "Can I get the sales report?").await;
    assert_eq!(
        turn["toolCalls"][1]["toolName"], "schedule_followup",
        "{turn}"
    );
    assert_eq!(turn["toolCalls"][1]["status"], "completed");
    // The LLM was told the follow-up's id and time.
    let told = &fake.requests()[2].body["messages"];
    let result: Value = serde_json::from_str(
        told.as_array().unwrap().last().unwrap()["content"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(result["status"], "scheduled", "{result}");
    let pending = follow_ups(&app, &org, &session_id).await;
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0]["status"], "pending");
    assert_eq!(pending[0]["note"], "check report job_123");
    assert_eq!(pending[0]["id"], result["followUpId"]);

    // Nobody says anything more: the persona checks back by itself when it is due.
    let (started, answered) = wait_for_the_follow_ups_answer(&app, &org, &session_id).await;
    let due: chrono::DateTime<chrono::Utc> = serde_json::from_value(started["at"].clone()).unwrap();
    assert_eq!(answered["turnId"], started["turnId"]);
    let statuses: Vec<Value> = backend.requests().iter().map(|r| r.json()).collect();
    assert_eq!(statuses.last().unwrap()["jobId"], "job_123");
    the_note_begins_the_follow_ups_turn(&fake);
    // It started once, not before it was due, and the stream told both steps.
    let events = all_events(&app, &org, &session_id).await;
    let scheduled = events
        .iter()
        .filter(|e| e.event == "followUpScheduled")
        .count();
    let began: Vec<_> = events
        .iter()
        .filter(|e| e.event == "followUpStarted")
        .collect();
    assert_eq!((scheduled, began.len()), (1, 1));
    assert_eq!(began[0].data["turnId"], started["turnId"]);
    let began_at: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(began[0].data["timestamp"].clone()).unwrap();
    assert!(began_at >= due, "started at {began_at}, due at {due}");
    assert_eq!(fake.requests().len(), 5);
}

#[tokio::test]
async fn a_sessions_end_cancels_its_follow_ups_and_a_session_has_a_bound() {
    let app = TestApp::spawn_with(crate::harness::RawSettings {
        followups_per_session: 1,
        ..raw_settings()
    })
    .await;
    let org = app.org("acme").await;
    let backend = Receiver::start(Reply::json(200, json!({"jobId": "job_1"}))).await;
    let fake = FakeLlm::start().await;
    fake.then(Answer::openai(vec![
        call(
            "call_a",
            "schedule_followup",
            r#"{"afterSeconds": 600, "note": "first"}"#,
        ),
        call(
            "call_b",
            "schedule_followup",
            r#"{"afterSeconds": 600, "note": "second"}"#,
        ),
    ]))
    .then(Answer::openai(vec![Say::Text("Noted.")]));
    let session_id = report_session(&app, &org, &fake.base_url(true), &backend).await;

    let turn = say(&app, &org, &session_id, "Remind me twice").await;
    // The two calls run at once: whichever is counted second is the one refused.
    let mut statuses = statuses(&turn);
    statuses.sort_unstable();
    assert_eq!(statuses, ["completed", "failed"], "{turn}");
    let second = &fake.requests()[1].body["messages"];
    assert!(
        second.to_string().contains("follow-ups waiting"),
        "{second}"
    );
    assert_eq!(follow_ups(&app, &org, &session_id).await.len(), 1);

    let (status, _) = org
        .post(&app, &format!("/v1/sessions/{session_id}/end"), &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let list = follow_ups(&app, &org, &session_id).await;
    assert_eq!(list[0]["status"], "cancelled");
    assert!(list[0].get("turnId").is_none());
    // Another organization cannot read them.
    let other = app.org("globex").await;
    let (status, _) = other
        .get(&app, &format!("/v1/sessions/{session_id}/followups"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn due_follow_ups_start_once_whichever_instance_claims_them() {
    let (app, _other) = crate::harness::two_instances(raw_settings).await;
    let org = app.org("acme").await;
    let backend = Receiver::start(Reply::json(200, json!({"jobId": "job_1"}))).await;
    let fake = FakeLlm::start().await;
    // Three follow-ups due at once, and an answer for each of their turns.
    fake.then(Answer::openai(
        (0..3)
            .map(|i| {
                let id: &'static str = Box::leak(format!("call_{i}").into_boxed_str());
                let args: &'static str = Box::leak(
                    format!(r#"{{"afterSeconds": 5, "note": "look again {i}"}}"#).into_boxed_str(),
                );
                call(id, "schedule_followup", args)
            })
            .collect(),
    ))
    .then(Answer::openai(vec![Say::Text("I'll look again soon.")]));
    for _ in 0..3 {
        fake.then(Answer::openai(vec![Say::Text("Looked again.")]));
    }
    let session_id = report_session(&app, &org, &fake.base_url(true), &backend).await;
    say(&app, &org, &session_id, "Keep an eye on it").await;

    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let list = follow_ups(&app, &org, &session_id).await;
        if list.iter().all(|f| f["status"] == "started") {
            break;
        }
        assert!(Instant::now() < deadline, "not all started: {list:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Give a second start, if any, time to happen, then count: one turn per follow-up.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let started = all_events(&app, &org, &session_id)
        .await
        .iter()
        .filter(|e| e.event == "followUpStarted")
        .count();
    assert_eq!(started, 3);
    assert_eq!(fake.requests().len(), 2 + 3);
}

/// The example as a person runs it: the stand-in LLM of examples/ (its report script), the
/// example persona and tools, and a backend answering as examples/receiver.py does.
#[tokio::test]
async fn the_examples_stand_in_runs_the_report_flow_with_its_follow_up() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let backend = report_backend().await;
    let port = crate::harness::free_port();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/standin_llm.py");
    let mut standin = StandIn(
        std::process::Command::new("python3")
            .args([script, &port.to_string(), "--delay", "0"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("python3 runs"),
    );
    let base_url = format!("http://127.0.0.1:{port}/v1");
    let ready = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < ready, "the stand-in did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let session_id = report_session(&app, &org, &base_url, &backend).await;

    let turn = say(&app, &org, &session_id, "Can I get the sales report?").await;
    let reply = turn["reply"]["content"].as_str().unwrap();
    assert!(reply.contains("check back"), "{turn}");
    let list = follow_ups(&app, &org, &session_id).await;
    assert_eq!(list[0]["note"], "check report job_123");

    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, messages) = org
            .get(&app, &format!("/v1/sessions/{session_id}/messages"))
            .await;
        let last = messages["data"]
            .as_array()
            .unwrap()
            .last()
            .cloned()
            .unwrap();
        let text = last["content"].as_str().unwrap_or_default();
        if last["role"] == "persona" && text.contains("COMPLETE") {
            assert!(text.contains("job_123.pdf"), "{text}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no answer of the follow-up: {messages}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let asked: Vec<Value> = backend.requests().iter().map(|r| r.json()).collect();
    assert_eq!(asked.last().unwrap()["jobId"], "job_123", "{asked:?}");
    standin.0.kill().ok();
}

/// The stand-in's process, ended when the test ends.
struct StandIn(std::process::Child);

impl Drop for StandIn {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
