//! The Lab in a real browser (headless Chromium over WebDriver) against the real app on a fresh
//! database: the journeys a person makes, with real clicks and typing, and screenshots of each
//! main page at 1280×800 and 390×844 (see `lab_support`).

use std::time::Duration;

use serde_json::json;

use crate::harness::{Receiver, Reply, TestApp};
use crate::lab_support::{choose, seed, sign_in, snap, snap_at, Lab};
use crate::webdriver::{keys, Browser};

#[tokio::test]
async fn the_seed_tool_is_created_in_the_form_attached_dry_run_and_called_from_the_lab() {
    let lab = Lab::start().await;
    let receiver = Receiver::start(Reply::json(
        200,
        json!({"status": "shipped", "eta": "tomorrow"}),
    ))
    .await;
    lab.goto("/lab").await;
    lab.browser.wait_path("/lab/sign-in").await;
    snap(&lab.browser, "sign-in").await;
    lab.sign_in().await;

    getting_started_offers_the_templates(&lab).await;
    let url = receiver.url("/orders/status");
    let tool_id = create_the_tool_in_the_form(&lab, &url).await;
    the_tools_page_marks_the_first_step_done(&lab).await;
    let persona_id = attach_the_tool_to_a_persona_by_keyboard(&lab, &tool_id).await;
    dry_run_then_send_for_real(&lab, &receiver, &tool_id, &url).await;
    run_the_call_in_the_playground(&lab, &receiver, &persona_id).await;
    let backend = end_a_session_a_backend_started(&lab, &persona_id).await;
    find_and_open_the_backend_session(&lab, &backend).await;
    open_the_playground_session_and_its_card(&lab, &backend).await;
    copy_the_signing_secret_in_settings(&lab).await;
    a_page_that_cannot_load_offers_a_way_on(&lab).await;
    let running = start_end_and_leave_playground_sessions(&lab, &persona_id).await;
    end_the_running_session_from_its_page(&lab, &running).await;
}

/// The empty Tools page shows the steps to a first conversation, a tool next, and offers the
/// templates; one opens the form filled in.
async fn getting_started_offers_the_templates(lab: &Lab) {
    let browser = &lab.browser;
    let next = browser.wait_text("#getting-started li.next", "tool").await;
    assert!(next.contains("Create a tool"), "{next}");
    let offered = browser
        .wait_text(".templates-offered", "check_order_status")
        .await;
    assert_eq!(offered.lines().count(), 5, "{offered}");
    browser
        .click(".templates-offered a[href='/lab/tools/new?template=3']")
        .await;
    browser.wait_text("#flash", "template get_weather").await;
    let name = "return document.querySelector('.tool-form [data-field=name] input').value";
    assert_eq!(browser.eval(name, json!([])).await, "get_weather");
    browser.click("a[href='/lab/tools']").await;
}

/// The seed's check_order_status, typed into the form, first with a name that is not
/// snake_case; the id of the tool made.
async fn create_the_tool_in_the_form(lab: &Lab, url: &str) -> String {
    let browser = &lab.browser;
    let seed = seed("check_order_status");
    browser.click("#create-tool").await;
    browser.wait_path("/lab/tools/new").await;
    type_the_seed_tool(browser, &seed, url).await;
    browser.click(".tool-form button[type=submit]").await;
    the_name_is_refused_then_fixed(browser).await;
    browser.click(".tool-form button[type=submit]").await;
    browser
        .wait_text("#flash", "Created check_order_status")
        .await;
    let tool_id = lab.id_in_path().await;
    let (_, stored) = lab.org.get(&lab.app, &format!("/v1/tools/{tool_id}")).await;
    for field in [
        "type",
        "subtype",
        "name",
        "description",
        "method",
        "parameters",
        "awaitResponse",
    ] {
        assert_eq!(stored[field], seed[field], "{field}");
    }
    assert_eq!(stored["url"], url);
    assert_eq!(stored["headers"], json!({"Authorization": "••••_KEY"}));
    // The header's masked preview is what the form shows now (once the saved tool's page has
    // loaded it: the flash comes first, the page's GET after).
    browser
        .wait_for(
            "the saved header's masked preview in the form",
            "const i = document.querySelector('.header-row input[aria-label^=Value]'); return !!i && i.value === arguments[0]",
            json!(["••••_KEY"]),
        )
        .await;
    snap(browser, "tool-edit").await;
    tool_id
}

/// Fills the new tool's form as the seed describes it, but named "Check Order Status".
async fn type_the_seed_tool(browser: &Browser, seed: &serde_json::Value, url: &str) {
    let form = ".tool-form";
    browser
        .type_into(
            &format!("{form} [data-field=name] input"),
            "Check Order Status",
        )
        .await;
    browser
        .type_into(
            &format!("{form} [data-field=description] textarea"),
            seed["description"].as_str().unwrap(),
        )
        .await;
    // The description's length is counted against its limit while it is typed.
    let count = browser
        .text(&format!("{form} [data-field=description] .counter"))
        .await;
    let typed = seed["description"].as_str().unwrap().chars().count();
    assert_eq!(count, format!("{typed} / 1,024 characters"));
    browser
        .type_into(&format!("{form} [data-field=url] input"), url)
        .await;
    browser.click(".headers > button").await;
    browser
        .type_into(
            ".header-row input[aria-label='Header name']",
            "Authorization",
        )
        .await;
    browser
        .type_into(".header-row input[type=password]", "Bearer YOUR_API_KEY")
        .await;
    for (i, (name, description)) in [
        ("orderId", "Order ID or order number"),
        ("email", "Customer email for verification"),
    ]
    .into_iter()
    .enumerate()
    {
        browser.click("[data-field=parameters] .add-property").await;
        let row = format!(
            "[data-field=parameters] table.properties tbody tr:nth-child({})",
            i + 1
        );
        browser
            .type_into(&format!("{row} input[aria-label='Property name']"), name)
            .await;
        browser
            .type_into(
                &format!("{row} input[aria-label='Description']"),
                description,
            )
            .await;
        if name == "orderId" {
            browser
                .click(&format!("{row} input[aria-label='Required']"))
                .await;
        }
    }
}

/// The refusal is shown at the field and in a summary that links to it; editing the field
/// clears it at once.
async fn the_name_is_refused_then_fixed(browser: &Browser) {
    let form = ".tool-form";
    let error = browser
        .wait_text(
            &format!("{form} [data-field=name] .field-error"),
            "snake_case",
        )
        .await;
    assert!(error.contains("must be snake_case"), "{error}");
    assert_eq!(
        browser.path().await,
        "/lab/tools/new",
        "nothing was created"
    );
    snap_at(browser, "tool-form-error", Some(".form-errors")).await;
    let summary = browser.text(&format!("{form} .form-errors")).await;
    assert!(summary.contains("name: must be snake_case"), "{summary}");
    browser
        .click(&format!("{form} .form-errors a.to-field"))
        .await;
    assert!(
        browser
            .focused(&format!("{form} [data-field=name] input"))
            .await,
        "the link leads to the field"
    );
    browser
        .clear(&format!("{form} [data-field=name] input"))
        .await;
    browser
        .type_into(
            &format!("{form} [data-field=name] input"),
            "check_order_status",
        )
        .await;
    let shown = browser
        .eval(
            "const f = document.querySelector(arguments[0]);
             return [f.querySelector('[data-field=name] .field-error').hidden, f.querySelector('.form-errors').hidden,
                     f.querySelectorAll('.invalid').length]",
            json!([form]),
        )
        .await;
    assert_eq!(
        shown,
        json!([true, true, 0]),
        "the fixed field's error is gone"
    );
}

async fn the_tools_page_marks_the_first_step_done(lab: &Lab) {
    let browser = &lab.browser;
    browser.click("a[href='/lab/tools']").await;
    browser.wait_text("#main table", "check_order_status").await;
    let done = browser
        .wait_text("#getting-started li.done", "Create a tool")
        .await;
    assert!(done.contains("done"), "{done}");
    browser
        .wait_text("#getting-started li.next", "Connect an LLM")
        .await;
    snap(browser, "tools").await;
}

/// On the build page, by keyboard: Add Tool, pick it, Add, save; the persona's id.
async fn attach_the_tool_to_a_persona_by_keyboard(lab: &Lab, tool_id: &str) -> String {
    let browser = &lab.browser;
    browser.click("#nav a[href='/lab/personas']").await;
    browser.type_into("#main form input", "Support").await;
    browser.press(keys::ENTER).await;
    let build = browser.wait_path("/lab/build/").await;
    let persona_id = build.rsplit('/').next().unwrap().to_owned();
    browser
        .type_into(
            "[data-field=systemPrompt] textarea",
            "You help customers with their orders.",
        )
        .await;
    browser
        .eval("document.getElementById('add-tool').focus()", json!([]))
        .await;
    browser.press(keys::ENTER).await;
    browser.find(".add-tool select").await;
    browser.press("check").await;
    browser.press(keys::TAB).await;
    browser.press(keys::ENTER).await;
    browser
        .wait_text("#attached-tools", "check_order_status")
        .await;
    browser.click("#save-persona").await;
    browser.wait_text("#flash", "Saved Support").await;
    let (_, persona) = lab
        .org
        .get(&lab.app, &format!("/v1/personas/{persona_id}"))
        .await;
    assert_eq!(persona["toolIds"], json!([tool_id]), "{persona}");
    assert_eq!(
        persona["systemPrompt"],
        "You help customers with their orders."
    );
    snap(browser, "build").await;
    browser.click("#nav a[href='/lab/personas']").await;
    browser.wait_text("#main table", "Support").await;
    snap(browser, "personas").await;
    persona_id
}

/// The dry run shows the request as it would go and sends nothing; then for real: status, body
/// and time.
async fn dry_run_then_send_for_real(lab: &Lab, receiver: &Receiver, tool_id: &str, url: &str) {
    let browser = &lab.browser;
    lab.goto(&format!("/lab/tools/{tool_id}/test")).await;
    // Without its required argument, the refusal is at that argument's field, not only above.
    browser.click("#dry-run").await;
    let missing = browser
        .wait_text("[data-field='arguments.orderId'] .field-error", "orderId")
        .await;
    assert!(missing.contains("required"), "{missing}");
    browser.type_into("input[name=orderId]", "A-1001").await;
    browser.click("#dry-run").await;
    let line = browser.wait_text("#request-line", "POST").await;
    assert_eq!(line, format!("POST {url}"));
    let result = browser.text(".result").await;
    for expected in [
        "webhook-signature",
        "webhook-id",
        "Authorization",
        "••••_KEY",
        "\"orderId\": \"A-1001\"",
    ] {
        assert!(result.contains(expected), "{expected} in {result}");
    }
    assert!(!result.contains("YOUR_API_KEY"), "{result}");
    assert!(receiver.requests().is_empty(), "a dry run sends nothing");
    snap_at(browser, "tool-test", Some("#test-result")).await;
    browser.click("#send-real").await;
    let response = browser.wait_text("#response-line", "HTTP 200").await;
    assert!(response.contains(" ms"), "{response}");
    browser.wait_text("#response-body", "shipped").await;
    let got = receiver.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(got[0].json(), json!({"orderId": "A-1001"}));
    assert_eq!(got[0].header("authorization"), "Bearer YOUR_API_KEY");
}

/// A session, the call run by hand, its card completed from the event stream.
async fn run_the_call_in_the_playground(lab: &Lab, receiver: &Receiver, persona_id: &str) {
    let browser = &lab.browser;
    lab.goto(&format!("/lab/playground/{persona_id}")).await;
    browser.click("#start-session").await;
    browser.wait_text(".playground", "Live").await;
    browser.type_into("input[name=orderId]", "B-2002").await;
    browser.click("#run-call").await;
    let card = browser.wait_text("#tool-cards", "completed").await;
    assert!(
        card.contains("check_order_status") && card.contains("tomorrow"),
        "{card}"
    );
    receiver.wait_for(2, Duration::from_secs(10)).await;
    snap_at(browser, "playground", Some("#tool-cards")).await;
}

/// A session started by a backend (not from this tab) and ended there; its id.
async fn end_a_session_a_backend_started(lab: &Lab, persona_id: &str) -> String {
    let (app, org) = (&lab.app, &lab.org);
    let (_, token) = org
        .post(
            app,
            "/v1/auth/session-token",
            &json!({"clientLabel": "backend", "personaConfig": {"personaId": persona_id}}),
        )
        .await;
    let (_, backend) = app
        .call(
            reqwest::Method::POST,
            "/v1/engine/session",
            token["sessionToken"].as_str(),
            None,
        )
        .await;
    let backend = backend["sessionId"].as_str().unwrap().to_owned();
    let (status, _) = org
        .post(app, &format!("/v1/sessions/{backend}/end"), &json!({}))
        .await;
    assert_eq!(status, reqwest::StatusCode::OK);
    backend
}

/// Sessions: the organization's, from the API, newest first; the backend's is there too, found
/// by its status, opened as a page of its own, its events replayed.
async fn find_and_open_the_backend_session(lab: &Lab, backend: &str) {
    let browser = &lab.browser;
    // Leaving the Playground's running session asks first; it is left running.
    browser.click("#nav a[href='/lab/sessions']").await;
    browser
        .wait_text("#flash [role=alertdialog]", "still running")
        .await;
    browser.click("#confirm-yes").await;
    let list = browser.wait_text("#sessions-list", backend).await;
    assert!(
        list.contains("backend") && list.contains("Support") && list.contains("2 in all"),
        "{list}"
    );
    choose(browser, "#main select[name=status]", "ended").await;
    browser.wait_text("#sessions-list", "1 in all").await;
    browser
        .click(&format!("#sessions-list a[data-session='{backend}']"))
        .await;
    assert_eq!(
        browser.wait_path("/lab/sessions/").await,
        format!("/lab/sessions/{backend}")
    );
    let detail = browser.wait_text("#session-detail", backend).await;
    assert!(
        detail.contains("status ended") && detail.contains("No messages and no tool calls"),
        "{detail}"
    );
    // Its events are replayed from the first, named for people with the raw name beside; an
    // ended session's stream then closes.
    browser
        .wait_text("#session-detail", "All events shown")
        .await;
    let events = browser.wait_text("#session-events", "sessionEnded").await;
    assert!(
        events.contains("#1") && events.contains("Session ended"),
        "{events}"
    );
}

/// The Playground's session, found among the active ones with its counts: the call is a card in
/// the transcript, its events are live, and a refresh keeps the page.
async fn open_the_playground_session_and_its_card(lab: &Lab, backend: &str) {
    let browser = &lab.browser;
    browser.click("a[href='/lab/sessions']").await;
    choose(browser, "#main select[name=status]", "active").await;
    // The unfiltered list may show first: wait for the filtered one.
    browser
        .wait_for(
            "the active sessions alone",
            "const t = document.getElementById('sessions-list').innerText; return t.includes('1 in all') && !t.includes(arguments[0])",
            json!([backend]),
        )
        .await;
    // The list counts the Playground's session's turns, tool calls and errors.
    let counts = "const r = document.querySelector('#sessions-list tbody tr');
                  return ['Turns', 'Tool calls', 'Errors'].map((l) => r.querySelector(`td[data-label='${l}']`).textContent)";
    browser
        .wait_for(
            "the row's counts",
            &format!("{counts}.join(',') === '0,1,0'"),
            json!([]),
        )
        .await;
    browser.click("#sessions-list a[data-session]").await;
    the_transcript_lays_out_the_call(browser).await;
    // The Playground's session is live: its call's events are listed and the stream stays open.
    let events = browser
        .wait_text("#session-events", "toolCallCompleted")
        .await;
    assert!(
        events.contains("Tool call started")
            && events.contains("toolCallStarted")
            && events.contains("check_order_status"),
        "{events}"
    );
    browser
        .wait_text("#session-detail", "Live: new events")
        .await;
    let page = browser.path().await;
    lab.goto(&page).await;
    browser
        .wait_text("#session-transcript", "check_order_status")
        .await;
    snap_at(browser, "session", Some("#session-transcript")).await;
    browser.click("a[href='/lab/sessions']").await;
    browser.wait_text("#sessions-list", "2 in all").await;
    browser
        .wait_for(
            "every row's counts",
            "return [...document.querySelectorAll('#sessions-list td[data-label=Turns]')].every((td) => td.textContent !== '')",
            json!([]),
        )
        .await;
    snap(browser, "sessions").await;
}

/// The call sits in the transcript as a card, its request and response laid out.
async fn the_transcript_lays_out_the_call(browser: &Browser) {
    let card = browser
        .wait_text("#session-transcript .tool-card", "check_order_status")
        .await;
    assert!(
        card.contains("completed") && card.contains("B-2002"),
        "{card}"
    );
    assert!(
        card.contains("1 attempt") && !card.contains("attempt(s)"),
        "{card}"
    );
    browser
        .click("#session-transcript .tool-card details summary")
        .await;
    let exchange = browser
        .wait_text("#session-transcript .exchange", "HTTP 200")
        .await;
    assert!(exchange.contains("POST http://127.0.0.1:"), "{exchange}");
}

async fn copy_the_signing_secret_in_settings(lab: &Lab) {
    let browser = &lab.browser;
    browser.click("#nav a[href='/lab/settings']").await;
    browser.wait_text("#main", "Signing secrets").await;
    browser.wait_text("#main table", "test").await;
    browser
        .click("button[aria-label='Copy the signing secret']")
        .await;
    // The button says what happened (Copied, or how to copy by hand).
    browser
        .wait_for(
            "the copy button's answer",
            "return document.querySelector(\"button[aria-label='Copy the signing secret']\").textContent !== 'Copy'",
            json!([]),
        )
        .await;
    snap(browser, "settings").await;
}

/// Again, or back to its list.
async fn a_page_that_cannot_load_offers_a_way_on(lab: &Lab) {
    let browser = &lab.browser;
    lab.goto("/lab/tools/0190a0a0-0000-7000-8000-000000000001")
        .await;
    browser.wait_text("#main", "Could not load").await;
    browser.find("#main button.retry").await;
    browser.click("#main a[href='/lab/tools']").await;
    browser.wait_text("#main table", "check_order_status").await;
}

/// A session's life in the Playground: "Start a session" gone while one runs; ended, it says
/// so once, keeps its cards, and offers a new one; left running, leaving says until when. The
/// id of the one left running.
async fn start_end_and_leave_playground_sessions(lab: &Lab, persona_id: &str) -> String {
    let browser = &lab.browser;
    lab.goto(&format!("/lab/playground/{persona_id}")).await;
    browser.click("#start-session").await;
    browser.wait_text(".playground .live-status", "Live").await;
    let hidden = "return document.getElementById('start-session').getClientRects().length === 0";
    assert_eq!(browser.eval(hidden, json!([])).await, true);
    let session_of =
        "return document.querySelector('.session-head .mono').textContent.split(' ')[1]";
    let ended = browser.eval(session_of, json!([])).await;
    browser.click("#end-session").await;
    browser
        .wait_text(".playground .live-status", "The session ended.")
        .await;
    let page = browser.text("#main").await;
    assert_eq!(page.matches("The session ended.").count(), 1, "{page}");
    browser.click("#new-session").await;
    browser.wait_text(".playground .live-status", "Live").await;
    let running = browser.eval(session_of, json!([])).await;
    assert_ne!(running, ended);
    let running = running.as_str().unwrap().to_owned();
    browser.find("#end-session").await;
    browser.click("#nav a[href='/lab/sessions']").await;
    let question = browser
        .wait_text("#flash [role=alertdialog]", "still running")
        .await;
    assert!(
        question.contains(&running) && question.contains("until it expires at"),
        "{question}"
    );
    browser.click("#confirm-yes").await;
    choose(browser, "#main select[name=status]", "active").await;
    browser.wait_text("#sessions-list", &running).await;
    browser.wait_text("#sessions-list", "when it expires").await;
    running
}

/// Sessions exist, so the Tools page no longer shows the steps; the running one is ended from
/// its page in Sessions.
async fn end_the_running_session_from_its_page(lab: &Lab, running: &str) {
    let browser = &lab.browser;
    browser.click("#nav a[href='/lab/tools']").await;
    browser.wait_text("#main table", "check_order_status").await;
    assert_eq!(
        browser
            .eval(
                "return !!document.getElementById('getting-started')",
                json!([])
            )
            .await,
        false
    );
    browser.click("#nav a[href='/lab/sessions']").await;
    choose(browser, "#main select[name=status]", "active").await;
    browser
        .click(&format!("#sessions-list a[data-session='{running}']"))
        .await;
    browser.click("#end-open-session").await;
    browser.wait_text("#session-detail", "status ended").await;
    browser.wait_text("#session-events", "sessionEnded").await;
}

#[tokio::test]
async fn markup_an_organization_wrote_is_shown_as_text_and_never_runs() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let markup = "<img src=x onerror=alert(1)>";
    let (status, tool) = org
        .post(
            &app,
            "/v1/tools",
            &json!({"type": "client", "name": "show_banner", "description": markup}),
        )
        .await;
    assert_eq!(status, 201, "{tool}");
    org.post(
        &app,
        "/v1/personas",
        &json!({"name": markup, "toolIds": [tool["id"]]}),
    )
    .await;
    let browser = Browser::start().await;
    sign_in(&browser, &app, &org.key).await;
    let shown = browser.wait_text("#main td.desc", "onerror").await;
    assert_eq!(shown, markup);
    browser.click("#main a.mono").await;
    browser.wait_text("#main h1", "show_banner").await;
    let description = browser
        .eval(
            "return document.querySelector('[data-field=description] textarea').value",
            json!([]),
        )
        .await;
    assert_eq!(description, markup);
    browser.click("#nav a[href='/lab/personas']").await;
    assert_eq!(browser.wait_text("#main td a", "<img").await, markup);
    let images = browser
        .eval("return document.querySelectorAll('img').length", json!([]))
        .await;
    assert_eq!(images, 0, "no element was made from the text");
    assert_eq!(browser.dialog().await, None, "no script ran");
    // Nothing reached the console; and the console check does see what a script writes there.
    assert_eq!(browser.console_problems().await, Vec::<String>::new());
    browser
        .eval("console.error('a probe of the console check')", json!([]))
        .await;
    let seen = browser.console_problems().await;
    assert!(
        seen.iter()
            .any(|l| l.contains("a probe of the console check")),
        "{seen:?}"
    );
}

#[tokio::test]
async fn a_revoked_key_signs_the_lab_out_with_a_message() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let browser = Browser::start().await;

    // Revoked elsewhere: the next page the Lab loads is refused, and it signs out. The Tools
    // page's own requests are done first (its checklist comes last), or one of them still on its
    // way would meet the revocation before the next page does.
    sign_in(&browser, &app, &org.key).await;
    browser.wait_text("#getting-started li.next", "tool").await;
    browser
        .wait_text(".templates-offered", "check_order_status")
        .await;
    let (_, keys_list) = org.get(&app, "/v1/api-keys").await;
    let (_, second) = org
        .post(&app, "/v1/api-keys", &json!({"name": "second"}))
        .await;
    let first = keys_list["data"][0]["id"].as_str().unwrap().to_owned();
    let (status, _) = org.delete(&app, &format!("/v1/api-keys/{first}")).await;
    assert_eq!(status, 204);
    browser.click("#nav a[href='/lab/personas']").await;
    browser.wait_path("/lab/sign-in").await;
    let message = browser.wait_text("#flash", "signed you out").await;
    assert!(message.contains("refused"), "{message}");
    let kept = browser
        .eval("return sessionStorage.length", json!([]))
        .await;
    assert_eq!(kept, 0, "the key is forgotten");
    snap(&browser, "signed-out").await;

    // Revoked from the Lab's own settings page, the key this tab uses.
    let key = second["key"].as_str().unwrap();
    sign_in(&browser, &app, key).await;
    browser.click("#nav a[href='/lab/settings']").await;
    browser.wait_text("#main table", "this tab").await;
    browser
        .click("#main button.danger[aria-label^='Revoke second']")
        .await;
    let question = browser.dialog().await.expect("a confirmation");
    assert!(question.contains("sign out"), "{question}");
    browser.accept_dialog().await;
    browser.wait_path("/lab/sign-in").await;
    browser.wait_text("#flash", "signed you out").await;
    let (status, _) = app
        .call(reqwest::Method::GET, "/v1/tools", Some(key), None)
        .await;
    assert_eq!(status, 401, "the key was revoked");
}
