//! The Lab's conversation pages in a real browser: LLM connections made, tested and picked in
//! the Lab, a persona talked to in the Playground through a scripted fake LLM (fake_llm.rs) with
//! its tool cards, a client tool's result asked of the person and an interruption, and the main
//! flow done with the keyboard alone (W3C key actions: Tab, Enter, arrows and typing).

use std::time::Duration;

use serde_json::json;

use crate::engine::{create_tool, seed_at};
use crate::fake_llm::{call, Answer, FakeLlm, Say};
use crate::harness::{Receiver, Reply, TestApp};
use crate::lab_support::{assert_labelled, llm_at, sign_in, snap_at, Lab};
use crate::webdriver::{keys, Browser};

const ORDER: &str = r#"{"orderId": "ORD-12345"}"#;

/// The conversation as the person sees it, one line per bubble or card, in order.
async fn transcript(browser: &Browser) -> Vec<String> {
    let lines = browser
        .eval(
            "return [...document.querySelectorAll('#conversation > li:not(.empty)')].map((li) => {
               if (li.classList.contains('tool-card')) return `card ${li.querySelector('.tool-name').innerText} ${li.dataset.status}`;
               const who = li.classList.contains('user') ? 'you' : li.classList.contains('persona') ? 'persona'
                 : li.classList.contains('follow-up') ? 'follow-up' : 'failed';
               const cut = li.classList.contains('interrupted') ? ' [interrupted]' : '';
               return `${who}: ${li.querySelector('.text').innerText.trim()}${cut}`;
             })",
            json!([]),
        )
        .await;
    serde_json::from_value(lines).unwrap()
}

/// Waits until the conversation ends with these lines, and returns all of it.
async fn wait_last(browser: &Browser, tail: &[&str]) -> Vec<String> {
    for _ in 0..300 {
        let lines = transcript(browser).await;
        if lines.ends_with(&tail.iter().map(|l| l.to_string()).collect::<Vec<_>>()) {
            return lines;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "the conversation never ended with {tail:?}: {:?}",
        transcript(browser).await
    );
}

/// Waits until no turn is running (the status line is empty).
async fn wait_turn_over(browser: &Browser) {
    browser
        .wait_for(
            "the end of the turn",
            "return document.getElementById('turn-status').textContent === ''",
            json!([]),
        )
        .await;
}

/// Waits until the newest message or card of the conversation is in the window, above the
/// message box (which stays at the bottom of the window and must not cover it).
async fn newest_in_view(browser: &Browser) {
    browser
        .wait_for(
            "the newest message in view, above the message box",
            "const items = document.querySelectorAll('#conversation > li');
             const last = items[items.length - 1].getBoundingClientRect();
             const box = document.querySelector('.chat-form').getBoundingClientRect();
             return last.bottom > 0 && last.bottom <= box.top + 1 && box.bottom <= window.innerHeight + 1",
            json!([]),
        )
        .await;
}

/// Sends `text` from the Playground's message box with Enter, as a person does.
async fn say(browser: &Browser, text: &str) {
    browser.type_into("#message", text).await;
    browser.press(keys::ENTER).await;
}

#[tokio::test]
async fn a_persona_talks_in_the_playground_with_live_tool_cards_a_client_result_and_an_interruption(
) {
    let lab = Lab::start().await;
    let store = Receiver::start(Reply::json(
        200,
        json!({"orderId": "ORD-12345", "status": "shipped", "trackingNumber": "1Z999AA10123456784"}),
    ))
    .await;
    let fake = FakeLlm::start().await;
    let persona_id = a_support_persona_with_two_tools(&lab, &store, &fake).await;
    lab.sign_in().await;
    lab.goto(&format!("/lab/playground/{persona_id}")).await;
    let browser = &lab.browser;
    browser.click("#start-session").await;
    browser.wait_text(".playground", "Live").await;
    assert!(
        browser.focused("#message").await,
        "the message box takes the focus"
    );

    ask_about_the_order(browser, &store).await;
    answer_for_the_client_tool(browser, &fake).await;
    let session = interrupt_a_long_answer(&lab, &fake).await;
    the_sessions_page_tells_the_same_conversation(browser, &session).await;
}

/// The fake LLM's script for the whole conversation, the order tool at `store`, a client tool
/// showing a map, and the persona that has both; its id.
async fn a_support_persona_with_two_tools(lab: &Lab, store: &Receiver, fake: &FakeLlm) -> String {
    let (app, org) = (&lab.app, &lab.org);
    let story = "Once upon a time there was a small shop that sold every kind of lamp, and \
                 every evening its owner counted the lamps one by one before closing the door.";
    fake.then(Answer::openai(vec![
        Say::Text("Let me check that. "),
        call("call_abc123", "check_order_status", ORDER),
    ]))
    .then(Answer::openai(vec![Say::Text(
        "Your order ORD-12345 has shipped; the tracking number is 1Z999AA10123456784.",
    )]))
    .then(Answer::openai(vec![call(
        "call_map1",
        "show_map",
        r#"{"city": "Paris"}"#,
    )]))
    .then(Answer::openai(vec![Say::Text(
        "The map of Paris is on your screen. <img src=x onerror=alert(1)>",
    )]))
    .then(Answer::openai(vec![Say::Text(story)]).paced(Duration::from_millis(150)))
    .then(Answer::openai(vec![Say::Text("Sure. Anything else?")]));
    let llm_id = llm_at(app, org, fake).await;
    let order_tool = create_tool(app, org, &seed_at("check_order_status", store)).await;
    let map_tool = create_tool(
        app,
        org,
        &json!({"type": "client", "name": "show_map", "description": "Shows a map of a city on the customer's screen",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
                "awaitResult": true, "resultTimeoutSeconds": 120}),
    )
    .await;
    let (status, persona) = org
        .post(
            app,
            "/v1/personas",
            &json!({"name": "Support", "systemPrompt": "You help customers with their orders.",
                    "llmId": llm_id, "toolIds": [order_tool, map_tool]}),
        )
        .await;
    assert_eq!(status, 201, "{persona}");
    persona["id"].as_str().unwrap().to_owned()
}

/// A question: the persona says it will check, the tool card completes, the answer follows.
async fn ask_about_the_order(browser: &Browser, store: &Receiver) {
    say(browser, "What is the status of my order ORD-12345?").await;
    let first = [
        "you: What is the status of my order ORD-12345?",
        "persona: Let me check that.",
        "card check_order_status completed",
        "persona: Your order ORD-12345 has shipped; the tracking number is 1Z999AA10123456784.",
    ];
    assert_eq!(wait_last(browser, &first).await, first);
    wait_turn_over(browser).await;
    let card = browser.text("#conversation .tool-card").await;
    for shown in ["\"orderId\": \"ORD-12345\"", "1Z999AA10123456784", " ms"] {
        assert!(card.contains(shown), "{shown} in {card}");
    }
    assert_eq!(store.requests()[0].json(), json!({"orderId": "ORD-12345"}));
    snap_at(browser, "playground-chat", Some(".chat-form")).await;
}

/// A client tool: its card asks the person, whose answer goes back to the LLM; the LLM's markup
/// in the reply stays text.
async fn answer_for_the_client_tool(browser: &Browser, fake: &FakeLlm) {
    say(browser, "Show me the store on a map").await;
    browser
        .find("#conversation .tool-card .client-result textarea")
        .await;
    let card = browser.text("#conversation .tool-card:last-child").await;
    assert!(
        card.contains("show_map") && card.contains("Paris") && card.contains("running"),
        "{card}"
    );
    snap_at(browser, "playground-client-tool", Some(".client-result")).await;
    browser
        .type_into(
            "#conversation .client-result textarea",
            r#"{"shown": true}"#,
        )
        .await;
    browser
        .click("#conversation .client-result button.primary")
        .await;
    let markup = "persona: The map of Paris is on your screen. <img src=x onerror=alert(1)>";
    let lines = wait_last(
        browser,
        &[
            "you: Show me the store on a map",
            "card show_map completed",
            markup,
        ],
    )
    .await;
    assert_eq!(lines.len(), 7, "{lines:?}");
    newest_in_view(browser).await;
    let sent = fake.requests()[3].body["messages"].to_string();
    assert!(
        sent.contains("shown"),
        "the person's result reached the LLM: {sent}"
    );
    // What the LLM wrote is text: no element was made of it, no script ran.
    let images = browser
        .eval("return document.querySelectorAll('img').length", json!([]))
        .await;
    assert_eq!(images, 0);
    assert_eq!(browser.dialog().await, None);
}

/// Sending while the persona answers interrupts it: the story is cut off, the new turn answers.
/// The session's id.
async fn interrupt_a_long_answer(lab: &Lab, fake: &FakeLlm) -> String {
    let browser = &lab.browser;
    say(browser, "Tell me a long story").await;
    browser
        .wait_text("#conversation li.persona.streaming", "Once upon")
        .await;
    browser
        .wait_text("#turn-status", "sending now interrupts")
        .await;
    // Scrolled up to read, the person stays where they are while the reply goes on.
    browser.eval("window.scrollTo(0, 0)", json!([])).await;
    browser
        .wait_text("#conversation li.persona.streaming", "every kind of lamp")
        .await;
    let top = browser.eval("return window.scrollY", json!([])).await;
    assert_eq!(top, 0, "the page did not move under the reader");
    say(browser, "Stop, thanks").await;
    let answered = ["you: Stop, thanks", "persona: Sure. Anything else?"];
    wait_last(browser, &answered).await;
    wait_turn_over(browser).await;
    newest_in_view(browser).await;
    let lines = wait_last(browser, &answered).await;
    let told = &lines[lines.len() - 3];
    let session = browser
        .eval(
            "return document.querySelector('.session-head .mono').textContent.split(' ')[1]",
            json!([]),
        )
        .await;
    let session = session.as_str().unwrap().to_owned();
    let (_, stored) = lab
        .org
        .get(
            &lab.app,
            &format!("/v1/sessions/{session}/messages?perPage=100"),
        )
        .await;
    assert!(
        told.starts_with("persona: Once upon") && told.ends_with(" [interrupted]"),
        "{lines:?} {stored:#}"
    );
    assert!(!told.contains("closing the door"), "{told}");
    assert_eq!(fake.requests().len(), 6);
    snap_at(browser, "playground-interrupted", Some(".chat-form")).await;
    session
}

/// The Sessions page tells the same conversation from its events (a reply's pieces are one line
/// with the reply's whole text), and lays it out with the cards where their calls were asked for.
async fn the_sessions_page_tells_the_same_conversation(browser: &Browser, session: &str) {
    browser.click("#nav a[href='/lab/sessions']").await;
    browser.click("#confirm-yes").await;
    browser
        .click(&format!("#sessions-list a[data-session='{session}']"))
        .await;
    let events = browser
        .wait_text("#session-events", "persona: Sure. Anything else?")
        .await;
    assert!(
        events.contains("user: Stop, thanks") && events.contains("messageHistoryUpdated"),
        "{events}"
    );
    let told = browser
        .eval(
            "return [...document.querySelectorAll('#session-transcript > li')].map((li) =>
               li.classList.contains('tool-card') ? `card ${li.querySelector('.tool-name').textContent}` : li.querySelector('.text').textContent.trim())",
            json!([]),
        )
        .await;
    let told: Vec<String> = serde_json::from_value(told).unwrap();
    assert_eq!(
        told[..4],
        [
            "What is the status of my order ORD-12345?",
            "Let me check that.",
            "card check_order_status",
            "Your order ORD-12345 has shipped; the tracking number is 1Z999AA10123456784."
        ],
        "{told:?}"
    );
}

#[tokio::test]
async fn the_main_flow_works_with_the_keyboard_alone() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let store = Receiver::start(Reply::json(200, json!({"status": "shipped"}))).await;
    let fake = FakeLlm::start().await;
    fake.then(Answer::openai(vec![Say::Text("pong")]))
        .then(Answer::openai(vec![
            Say::Text("Let me look. "),
            call("call_k1", "check_order_status", r#"{"orderId": "K-7"}"#),
        ]))
        .then(Answer::openai(vec![Say::Text("Order K-7 has shipped.")]));
    let tool_id = create_tool(&app, &org, &seed_at("check_order_status", &store)).await;
    let browser = Browser::start().await;

    // Sign in: the key box has the focus; type the key and press Enter.
    browser.goto(&app.url("/lab")).await;
    browser.wait_path("/lab/sign-in").await;
    assert_labelled(&browser, "sign-in").await;
    browser.find("#main input[type=password]").await;
    assert!(browser.focused("#main input[type=password]").await);
    browser.keys(&format!("{}{}", org.key, keys::ENTER)).await;
    browser.wait_path("/lab/tools").await;

    make_and_test_an_llm_by_keyboard(&browser, &fake).await;
    let persona_id = build_a_persona_by_keyboard(&browser).await;
    let (_, persona) = org.get(&app, &format!("/v1/personas/{persona_id}")).await;
    assert_eq!(persona["toolIds"], json!([tool_id]));
    assert!(persona["llmId"].is_string(), "{persona}");

    // The Playground: a session started, a question typed, the card and the answer appear.
    browser
        .tab_to("#main .crumbs a[href^='/lab/playground/']")
        .await;
    browser.keys(keys::ENTER).await;
    browser.tab_to("#start-session").await;
    browser.keys(keys::ENTER).await;
    browser.find("#message").await;
    assert!(browser.focused("#message").await);
    browser
        .keys(&format!("Where is order K-7?{}", keys::ENTER))
        .await;
    let talk = [
        "you: Where is order K-7?",
        "persona: Let me look.",
        "card check_order_status completed",
        "persona: Order K-7 has shipped.",
    ];
    assert_eq!(wait_last(&browser, &talk).await, talk);
    assert_labelled(&browser, "the Playground").await;
    assert_eq!(store.requests()[0].json(), json!({"orderId": "K-7"}));
}

/// An LLM connection, made and tested, with Tab, typing and Enter.
async fn make_and_test_an_llm_by_keyboard(browser: &Browser, fake: &FakeLlm) {
    browser.tab_to("#nav a[href='/lab/llms']").await;
    browser.keys(keys::ENTER).await;
    browser.wait_text("#main", "No LLM connections yet").await;
    browser.tab_to("#create-llm").await;
    browser.keys(keys::ENTER).await;
    browser.wait_path("/lab/llms/new").await;
    for (field, text) in [
        ("name", "local"),
        ("baseUrl", fake.base_url(true).as_str()),
        ("model", "test-model"),
        ("apiKey", "sk-keyboard-0001"),
    ] {
        browser
            .tab_to(&format!(".llm-form [data-field={field}] input"))
            .await;
        browser.keys(text).await;
    }
    assert_labelled(browser, "the LLM form").await;
    browser.keys(keys::ENTER).await;
    browser.wait_text("#flash", "Created local").await;
    browser.tab_to("#test-llm").await;
    browser.keys(keys::ENTER).await;
    browser.wait_text("#llm-test-result", "pong").await;
}

/// A persona: named, its LLM picked, the tool added, saved; its id.
async fn build_a_persona_by_keyboard(browser: &Browser) -> String {
    browser.tab_to("#nav a[href='/lab/personas']").await;
    browser.keys(keys::ENTER).await;
    browser.wait_path("/lab/personas").await;
    browser.tab_to("#main form input").await;
    browser.keys(&format!("Helper{}", keys::ENTER)).await;
    let build = browser.wait_path("/lab/build/").await;
    let persona_id = build.rsplit('/').next().unwrap().to_owned();
    browser.tab_to("[data-field=llmId] select").await;
    browser.keys(keys::ARROW_DOWN).await;
    browser.tab_to("#add-tool").await;
    browser.keys(keys::ENTER).await;
    browser.find(".add-tool select").await;
    assert!(
        browser.focused(".add-tool select").await,
        "the picker takes the focus"
    );
    browser.keys(keys::ARROW_DOWN).await;
    browser.keys(keys::TAB).await;
    browser.keys(keys::ENTER).await;
    browser
        .wait_text("#attached-tools", "check_order_status")
        .await;
    assert!(
        browser.focused("#add-tool").await,
        "the focus comes back to Add Tool"
    );
    assert_labelled(browser, "the build page").await;
    browser.tab_to("#save-persona").await;
    browser.keys(keys::ENTER).await;
    browser.wait_text("#flash", "Saved Helper").await;
    persona_id
}

/// A follow-up the persona schedules shows in the Playground with its countdown, says when it
/// started, its turn's answer follows by itself, and the session's page lists it.
#[tokio::test]
async fn a_follow_up_counts_down_in_the_playground_and_is_listed_on_the_session_page() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let fake = FakeLlm::start().await;
    fake.then(Answer::openai(vec![call(
        "call_later",
        "schedule_followup",
        r#"{"afterSeconds": 5, "note": "check report job_123"}"#,
    )]))
    .then(Answer::openai(vec![Say::Text(
        "I'll check on your report in a moment.",
    )]))
    .then(Answer::openai(vec![Say::Text("Your report is ready.")]));
    let llm_id = llm_at(&app, &org, &fake).await;
    let later = create_tool(
        &app,
        &org,
        &json!({"type": "system", "name": "schedule_followup"}),
    )
    .await;
    let (status, persona) = org
        .post(
            &app,
            "/v1/personas",
            &json!({"name": "Reports", "llmId": llm_id, "toolIds": [later]}),
        )
        .await;
    assert_eq!(status, 201, "{persona}");
    let browser = Browser::start().await;
    sign_in(&browser, &app, &org.key).await;
    browser
        .goto(&app.url(&format!(
            "/lab/playground/{}",
            persona["id"].as_str().unwrap()
        )))
        .await;
    browser.click("#start-session").await;
    browser.wait_text(".playground", "Live").await;
    say(&browser, "Can I get the sales report?").await;
    let line = "document.querySelector('.msg.follow-up .countdown')?.textContent";
    let counting = browser
        .wait_for(
            "the follow-up's countdown",
            &format!("return {line}?.startsWith('due in') && {line}"),
            json!([]),
        )
        .await;
    assert!(counting.as_str().unwrap().contains(" s (at "), "{counting}");
    browser
        .wait_text(".msg.follow-up .text", "check report job_123")
        .await;
    snap_at(&browser, "playground-follow-up", Some(".msg.follow-up")).await;
    browser
        .wait_for(
            "the follow-up started",
            &format!("return {line}?.startsWith('started')"),
            json!([]),
        )
        .await;
    // The follow-up's line stands where its turn begins, before that turn's answer.
    wait_last(
        &browser,
        &[
            "persona: I'll check on your report in a moment.",
            "follow-up: check report job_123",
            "persona: Your report is ready.",
        ],
    )
    .await;

    let (_, sessions) = org.get(&app, "/v1/sessions").await;
    let session_id = sessions["data"][0]["id"].as_str().unwrap().to_owned();
    browser
        .goto(&app.url(&format!("/lab/sessions/{session_id}")))
        .await;
    let listed = browser
        .wait_text("#session-follow-ups", "check report job_123")
        .await;
    assert!(listed.contains("started"), "{listed}");
    snap_at(&browser, "session-follow-ups", Some("#session-follow-ups")).await;
}
