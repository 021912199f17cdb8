//! LLM connections in the Lab, in a real browser: presets, a test of the connection, picking one
//! for a persona, deleting one in use.

use serde_json::{json, Value};

use crate::fake_llm::{Answer, FakeLlm, Say};
use crate::lab_support::{choose, snap, snap_at, Lab};

const FORM: &str = ".llm-form";

#[tokio::test]
async fn llm_connections_are_made_tested_picked_and_deleted_in_the_lab() {
    let lab = Lab::start().await;
    let fake = FakeLlm::start().await;
    lab.sign_in().await;
    lab.browser.click("#nav a[href='/lab/llms']").await;
    lab.browser
        .wait_text("#main", "No LLM connections yet")
        .await;

    presets_fill_the_form(&lab).await;
    let llm_id = create_the_llm_in_the_form(&lab, &fake).await;
    test_it_from_its_page(&lab, &fake).await;
    a_refused_key_fails_the_test(&lab, &fake, &llm_id).await;
    test_it_from_the_list(&lab, &fake).await;
    let persona_id = pick_it_for_a_persona(&lab, &llm_id).await;
    delete_it_while_the_persona_uses_it(&lab, &llm_id, &persona_id).await;
}

/// Presets fill the provider, base URL and model (and Anthropic's required max tokens).
async fn presets_fill_the_form(lab: &Lab) {
    let browser = &lab.browser;
    browser.click("#create-llm").await;
    browser.wait_path("/lab/llms/new").await;
    let values = "return ['name', 'provider', 'baseUrl', 'model', 'maxTokens'].map((f) =>
                    document.querySelector(`.llm-form [data-field=${f}] input, .llm-form [data-field=${f}] select`).value)";
    choose(browser, "#llm-preset", "1").await;
    assert_eq!(
        browser.eval(values, json!([])).await,
        json!(["anthropic", "anthropic", "", "claude-sonnet-4-5", "1024"])
    );
    choose(browser, "#llm-preset", "4").await;
    assert_eq!(
        browser.eval(values, json!([])).await,
        json!([
            "anthropic",
            "openai",
            "http://localhost:4000/v1",
            "standin",
            "1024"
        ])
    );
    // The provider's select shows its whole choice: its text, its padding and the arrow (about
    // 20 px) fit (a fixed 330 px cut the last characters with DejaVu Sans).
    let cut = "const s = document.querySelector('.llm-form [data-field=provider] select');
               const st = getComputedStyle(s);
               const c = document.createElement('canvas').getContext('2d'); c.font = st.font;
               const room = s.clientWidth - parseFloat(st.paddingLeft) - parseFloat(st.paddingRight) - 20;
               return c.measureText(s.selectedOptions[0].text).width > room";
    assert_eq!(
        browser.eval(cut, json!([])).await,
        false,
        "the provider is cut"
    );
}

/// Every field of the contract, first with a temperature out of range: the error at its field.
/// The LLM's id.
async fn create_the_llm_in_the_form(lab: &Lab, fake: &FakeLlm) -> String {
    let browser = &lab.browser;
    lab.goto("/lab/llms/new").await;
    for (field, text) in [
        ("name", "local"),
        ("baseUrl", fake.base_url(true).as_str()),
        ("model", "test-model"),
        ("apiKey", "sk-lab-secret-0001"),
        ("temperature", "3"),
        ("maxTokens", "256"),
    ] {
        browser
            .type_into(&format!("{FORM} [data-field={field}] input"), text)
            .await;
    }
    browser
        .clear(&format!("{FORM} [data-field=timeoutSeconds] input"))
        .await;
    browser
        .type_into(&format!("{FORM} [data-field=timeoutSeconds] input"), "5")
        .await;
    browser.click("#save-llm").await;
    let error = browser
        .wait_text(
            &format!("{FORM} [data-field=temperature] .field-error"),
            "must be between 0 and 2",
        )
        .await;
    assert_eq!(error, "must be between 0 and 2");
    assert_eq!(browser.path().await, "/lab/llms/new", "nothing was created");
    browser
        .clear(&format!("{FORM} [data-field=temperature] input"))
        .await;
    browser
        .type_into(&format!("{FORM} [data-field=temperature] input"), "0.2")
        .await;
    browser.click("#save-llm").await;
    browser.wait_text("#flash", "Created local").await;
    let llm_id = browser
        .wait_for(
            "the LLM's page",
            "const m = location.pathname.match(/^\\/lab\\/llms\\/([^/]+)$/); return m && m[1] !== 'new' && m[1]",
            json!([]),
        )
        .await
        .as_str()
        .unwrap()
        .to_owned();
    let (_, stored) = lab.org.get(&lab.app, &format!("/v1/llms/{llm_id}")).await;
    assert_eq!(
        (
            &stored["provider"],
            &stored["baseUrl"],
            &stored["model"],
            &stored["apiKey"]
        ),
        (
            &json!("openai"),
            &json!(fake.base_url(true)),
            &json!("test-model"),
            &json!("••••0001")
        )
    );
    assert_eq!(
        (
            &stored["temperature"],
            &stored["maxTokens"],
            &stored["timeoutSeconds"]
        ),
        (&json!(0.2), &json!(256), &json!(5))
    );
    // The key is shown masked, as header values are.
    let shown = browser
        .eval(
            "return document.querySelector('.llm-form [data-field=apiKey] input').value",
            json!([]),
        )
        .await;
    assert_eq!(shown, "••••0001");
    llm_id
}

/// One short request, its reply shown beside the button.
async fn test_it_from_its_page(lab: &Lab, fake: &FakeLlm) {
    let browser = &lab.browser;
    fake.then(Answer::openai(vec![Say::Text("pong")]));
    browser.click("#test-llm").await;
    let outcome = browser.wait_text("#llm-test-result", "pong").await;
    assert!(
        outcome.contains("OK") && outcome.contains(" ms"),
        "{outcome}"
    );
    // Beside the button, in the window: not below the fold.
    let seen = "const r = document.getElementById('llm-test-result').getBoundingClientRect();
                return !!document.querySelector('.llm-form #llm-test-result') && r.top >= 0 && r.bottom <= window.innerHeight + 1";
    assert_eq!(browser.eval(seen, json!([])).await, true);
    assert_eq!(
        fake.requests()[0].header("authorization"),
        "Bearer sk-lab-secret-0001"
    );
    snap_at(browser, "llm-edit", Some("#llm-test-result")).await;
}

/// A new key, saved (only its preview comes back), then refused by the LLM: the test says so.
async fn a_refused_key_fails_the_test(lab: &Lab, fake: &FakeLlm, llm_id: &str) {
    let browser = &lab.browser;
    browser
        .clear(&format!("{FORM} [data-field=apiKey] input"))
        .await;
    browser
        .type_into(
            &format!("{FORM} [data-field=apiKey] input"),
            "sk-wrong-key-0002",
        )
        .await;
    browser.click("#save-llm").await;
    browser.wait_text("#flash", "Saved local").await;
    let (_, stored) = lab.org.get(&lab.app, &format!("/v1/llms/{llm_id}")).await;
    assert_eq!(stored["apiKey"], "••••0002");
    assert_eq!(stored["temperature"], 0.2, "kept");
    fake.then(Answer::error(401, "Incorrect API key provided"));
    browser.click("#test-llm").await;
    let outcome = browser
        .wait_text("#llm-test-result", "Incorrect API key provided")
        .await;
    assert!(
        outcome.contains("Failed") && outcome.contains("llm_error"),
        "{outcome}"
    );
    assert_eq!(
        fake.requests()[1].header("authorization"),
        "Bearer sk-wrong-key-0002"
    );
}

async fn test_it_from_the_list(lab: &Lab, fake: &FakeLlm) {
    let browser = &lab.browser;
    browser.click("#nav a[href='/lab/llms']").await;
    browser.wait_text("#main table", "test-model").await;
    fake.then(Answer::openai(vec![Say::Text("pong again")]));
    browser.click("button[aria-label='Test local']").await;
    browser.wait_text("#llm-test-result", "pong again").await;
    // A base URL reads as one piece: it does not wrap mid-address.
    let wraps = browser
        .eval(
            "return getComputedStyle(document.querySelector('#main td.url')).whiteSpace",
            json!([]),
        )
        .await;
    assert_eq!(wraps, "nowrap");
    snap(browser, "llms").await;
}

/// Picked on a persona's build page from the dropdown; the persona's id.
async fn pick_it_for_a_persona(lab: &Lab, llm_id: &str) -> String {
    let (app, org, browser) = (&lab.app, &lab.org, &lab.browser);
    let (_, persona) = org
        .post(app, "/v1/personas", &json!({"name": "Helper"}))
        .await;
    let persona_id = persona["id"].as_str().unwrap().to_owned();
    lab.goto(&format!("/lab/build/{persona_id}")).await;
    browser.find("[data-field=llmId] select").await;
    let choices = browser
        .eval(
            "return [...document.querySelectorAll('[data-field=llmId] option')].map((o) => o.textContent)",
            json!([]),
        )
        .await;
    assert_eq!(
        choices,
        json!([
            "None: run tool calls by hand in the Playground",
            "local (OpenAI-compatible · test-model)"
        ])
    );
    choose(browser, "[data-field=llmId] select", llm_id).await;
    browser.click("#save-persona").await;
    browser.wait_text("#flash", "Saved Helper").await;
    let (_, persona) = org.get(app, &format!("/v1/personas/{persona_id}")).await;
    assert_eq!(persona["llmId"], json!(llm_id));
    persona_id
}

/// Asked once, in the page, naming the persona (not two native dialogs), then its LLM is cleared.
async fn delete_it_while_the_persona_uses_it(lab: &Lab, llm_id: &str, persona_id: &str) {
    let (app, org, browser) = (&lab.app, &lab.org, &lab.browser);
    lab.goto(&format!("/lab/llms/{llm_id}")).await;
    browser.wait_text("#main", "Used by 1 persona").await;
    browser.click(".llm-form button.danger").await;
    let question = browser
        .wait_text("#flash [role=alertdialog]", "Delete the LLM local?")
        .await;
    assert!(question.contains("It is used by Helper"), "{question}");
    assert_eq!(browser.dialog().await, None, "no native dialog");
    assert!(browser.focused("#confirm-no").await, "Cancel has the focus");
    browser.click("#confirm-yes").await;
    browser.wait_text("#flash", "Deleted local").await;
    let (status, _) = org.get(app, &format!("/v1/llms/{llm_id}")).await;
    assert_eq!(status, 404);
    let (_, persona) = org.get(app, &format!("/v1/personas/{persona_id}")).await;
    assert_eq!(persona["llmId"], Value::Null);
}
