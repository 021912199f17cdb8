//! A new message interrupts the running turn (on any instance), unless the running tool call
//! disables interruptions; the interrupted reply is kept and marked.

use std::time::Duration;

use serde_json::json;

use crate::conversations::{conversation, post_message, say, talkative, wait_until, LONG};
use crate::engine::seed_at;
use crate::fake_llm::{call, Answer, FakeLlm, Say};
use crate::harness::{Org, Receiver, Reply, SseStream, TestApp};

/// Posts a first message whose answer streams slowly, waits for its first words, then a second
/// message to `second_app`: the first reply is cut and kept as interrupted.
async fn interrupt_from(app: &TestApp, second_app: &TestApp) {
    let org = app.org("acme").await;
    let fake = FakeLlm::start().await;
    fake.then(Answer::openai(vec![Say::Text(LONG)]).paced(Duration::from_millis(100)))
        .then(Answer::openai(vec![Say::Text(
            "Sure, here is the short answer.",
        )]));
    let (session_id, _) = talkative(app, &org, &fake, "openai", &[]).await;
    let first = post_message(app, &org, &session_id, "Tell me about shipping").await;
    // Let a few words stream out.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let second = say(
        second_app,
        &org,
        &session_id,
        "Just the short answer please",
    )
    .await;
    assert_eq!(
        second["reply"]["content"], "Sure, here is the short answer.",
        "{second}"
    );
    let messages = conversation(app, &org, &session_id).await;
    let roles: Vec<&str> = messages
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(
        roles,
        ["user", "persona", "user", "persona"],
        "{messages:?}"
    );
    assert_eq!(messages[1]["turnId"], first["turnId"]);
    assert_eq!(messages[1]["interrupted"], true);
    let partial = messages[1]["content"].as_str().unwrap();
    assert!(
        !partial.is_empty() && LONG.starts_with(partial) && partial != LONG,
        "{partial}"
    );
    assert_eq!(messages[3]["interrupted"], false);
    // The next request saw the partial reply before the new message.
    let sent = &fake.requests()[1].body["messages"];
    assert_eq!(sent[2], json!({"role": "assistant", "content": partial}));
    assert_eq!(sent[3]["content"], "Just the short answer please");
    // The interrupted reply's last event says so.
    let mut stream = SseStream::open(
        &app.url(&format!("/v1/sessions/{session_id}/events")),
        Some(&org.key),
        Some("0"),
    )
    .await;
    loop {
        let e = stream.take(1, Duration::from_secs(10)).await.remove(0);
        if e.event == "messageStreamEvent"
            && e.data["turnId"] == first["turnId"]
            && e.data["role"] == "persona"
        {
            if e.data["interrupted"] == true {
                assert_eq!(e.data["endOfSpeech"], false);
                break;
            }
            assert_eq!(
                e.data["endOfSpeech"], false,
                "the cut reply never ended normally"
            );
        }
    }
}

#[tokio::test]
async fn a_new_message_interrupts_the_running_turn() {
    let app = TestApp::spawn().await;
    interrupt_from(&app, &app).await;
}

#[tokio::test]
async fn a_message_on_another_instance_interrupts_the_turn() {
    let a = TestApp::spawn().await;
    let b = TestApp::spawn_with(crate::harness::RawSettings {
        database_url: a.settings.database_url.clone(),
        ..crate::harness::raw_settings()
    })
    .await;
    interrupt_from(&a, &b).await;
}

/// A session whose persona's one tool, `issue_refund`, disables interruptions and is answered
/// after `delay`. The LLM calls it, then says `after_refund`, then `next` (to a later message).
/// Returns once "Refund ORD-9" was posted and the refund's request has reached the webhook,
/// with the session, the webhook and the LLM (keep them: dropping one stops it).
pub(crate) async fn refund_under_way(
    app: &TestApp,
    org: &Org,
    delay: Duration,
    after_refund: &'static str,
    next: &'static str,
) -> (String, Receiver, FakeLlm) {
    let store = Receiver::start(Reply::json(200, json!({"refund": "issued"})).delayed(delay)).await;
    let mut refund = seed_at("check_order_status", &store);
    refund["name"] = json!("issue_refund");
    refund["disableInterruptions"] = json!(true);
    let fake = FakeLlm::start().await;
    fake.then(Answer::openai(vec![call(
        "call_r",
        "issue_refund",
        r#"{"orderId":"ORD-9"}"#,
    )]))
    .then(Answer::openai(vec![Say::Text(after_refund)]))
    .then(Answer::openai(vec![Say::Text(next)]));
    let (session_id, _) = talkative(app, org, &fake, "openai", &[refund]).await;
    post_message(app, org, &session_id, "Refund ORD-9").await;
    wait_until("the refund call", || !store.requests().is_empty()).await;
    (session_id, store, fake)
}

#[tokio::test]
async fn a_tool_that_disables_interruptions_lets_its_turn_finish() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let (session_id, _store, fake) = refund_under_way(
        &app,
        &org,
        Duration::from_millis(800),
        "Your refund is issued.",
        "You're welcome.",
    )
    .await;
    let second = say(&app, &org, &session_id, "thanks").await;
    assert_eq!(second["reply"]["content"], "You're welcome.");
    let messages = conversation(&app, &org, &session_id).await;
    let persona: Vec<(&str, bool)> = messages
        .iter()
        .filter(|m| m["role"] == "persona")
        .map(|m| (m["content"].as_str().unwrap(), m["interrupted"] == true))
        .collect();
    assert_eq!(
        persona,
        [
            ("", false),
            ("Your refund is issued.", false),
            ("You're welcome.", false)
        ]
    );
    // The refund's result was given right after its call, before the later message.
    let sent = &fake.requests()[1].body["messages"];
    assert_eq!(sent[2]["tool_calls"][0]["id"], "call_r");
    assert_eq!(sent[3]["role"], "tool");
}
