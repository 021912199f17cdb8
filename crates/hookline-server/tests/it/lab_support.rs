//! What the Lab's browser journeys share: what a journey starts from (`Lab`: the app, an
//! organization, a browser), signing in, choosing in a select, an LLM connection to the fake LLM,
//! and the checks and screenshots taken of every main page (in `$HOOKLINE_LAB_SCREENSHOTS`, else
//! the test target's temporary directory; docs/lab/ holds those of the last green run).

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{json, Value};

use crate::fake_llm::FakeLlm;
use crate::harness::{Org, TestApp};
use crate::webdriver::{keys, Browser};

pub(crate) fn screenshots() -> PathBuf {
    std::env::var_os("HOOKLINE_LAB_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("lab-screenshots"))
}

/// Screenshots of the page from its top, at a desktop and at a phone's size.
pub(crate) async fn snap(browser: &Browser, name: &str) {
    snap_at(browser, name, None).await;
}

/// Every control on the page has a label (a person with a screen reader can use it).
pub(crate) async fn assert_labelled(browser: &Browser, name: &str) {
    let unlabelled = browser
        .eval(
            "return [...document.querySelectorAll('input, select, textarea')]
                .filter((e) => e.type !== 'hidden' && !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
                .map((e) => e.outerHTML.slice(0, 120))",
            json!([]),
        )
        .await;
    assert_eq!(unlabelled, json!([]), "controls without a label on {name}");
}

/// Screenshots with `focus` (a selector) scrolled into view, else the top of the page; and
/// first, every control on the page has a label and the console holds no error or warning.
pub(crate) async fn snap_at(browser: &Browser, name: &str, focus: Option<&str>) {
    assert_labelled(browser, name).await;
    assert_eq!(
        browser.console_problems().await,
        Vec::<String>::new(),
        "the console on {name}"
    );
    let scroll = "const e = arguments[0] && document.querySelector(arguments[0]); if (e) e.scrollIntoView(); else window.scrollTo(0, 0);";
    browser.eval(scroll, json!([focus])).await;
    let dir = screenshots();
    browser.screenshot(&dir, &format!("{name}-1280x800")).await;
    browser.viewport(390, 844, true).await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    browser.eval(scroll, json!([focus])).await;
    browser.screenshot(&dir, &format!("{name}-390x844")).await;
    browser.viewport(1280, 800, false).await;
    tokio::time::sleep(Duration::from_millis(150)).await;
}

/// Opens the Lab and signs in by pasting `key` and pressing Enter.
pub(crate) async fn sign_in(browser: &Browser, app: &TestApp, key: &str) {
    browser.goto(&app.url("/lab")).await;
    assert_eq!(browser.wait_path("/lab/sign-in").await, "/lab/sign-in");
    browser.type_into("#main input[type=password]", key).await;
    browser.press(keys::ENTER).await;
    browser.wait_path("/lab/tools").await;
    browser.wait_text("#flash", "Signed in").await;
}

/// A seed tool of examples/tools, as JSON.
pub(crate) fn seed(name: &str) -> Value {
    let path = format!(
        "{}/../../examples/tools/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Picks the option with `value` in the select `css`, as a change a person makes.
pub(crate) async fn choose(browser: &Browser, css: &str, value: &str) {
    browser.find(css).await;
    browser
        .eval(
            "const s = document.querySelector(arguments[0]); s.value = arguments[1]; s.dispatchEvent(new Event('change', {bubbles: true}))",
            json!([css, value]),
        )
        .await;
}

/// What every journey starts from: the app on a fresh database, the organization "acme" and a
/// browser (not yet signed in: some journeys prepare data through the API first).
pub(crate) struct Lab {
    pub app: TestApp,
    pub org: Org,
    pub browser: Browser,
}

impl Lab {
    pub(crate) async fn start() -> Self {
        let app = TestApp::spawn().await;
        let org = app.org("acme").await;
        let browser = Browser::start().await;
        Self { app, org, browser }
    }

    pub(crate) async fn sign_in(&self) {
        sign_in(&self.browser, &self.app, &self.org.key).await;
    }

    /// Opens a Lab page by its path, as typing its address would.
    pub(crate) async fn goto(&self, path: &str) {
        self.browser.goto(&self.app.url(path)).await;
    }

    /// The last segment of the current path: the id of what the page shows.
    pub(crate) async fn id_in_path(&self) -> String {
        self.browser
            .path()
            .await
            .rsplit('/')
            .next()
            .unwrap()
            .to_owned()
    }
}

/// An LLM connection to `fake` made through the API; its id.
pub(crate) async fn llm_at(app: &TestApp, org: &Org, fake: &FakeLlm) -> String {
    let (status, llm) = org
        .post(
            app,
            "/v1/llms",
            &json!({"name": "fake", "provider": "openai", "model": "test-model",
                    "baseUrl": fake.base_url(true), "apiKey": "sk-fake-0001", "timeoutSeconds": 10}),
        )
        .await;
    assert_eq!(status, 201, "{llm}");
    llm["id"].as_str().unwrap().to_owned()
}
