//! A small WebDriver client (plain HTTP and JSON to Debian's `chromedriver`) driving a headless
//! Chromium, for the Lab's browser journeys. Chromium is started with the flags that keep it
//! off the network (no background networking, updates, sync or QUIC) and a fresh profile.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::harness::free_port;

/// The key W3C WebDriver names an element reference with.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
/// How long a lookup waits for the page to catch up.
const PATIENCE: Duration = Duration::from_secs(15);

pub mod keys {
    pub const ENTER: &str = "\u{E007}";
    pub const TAB: &str = "\u{E004}";
    pub const ARROW_DOWN: &str = "\u{E015}";
}

pub struct Browser {
    http: reqwest::Client,
    session: String,
    driver: Child,
    profile: std::path::PathBuf,
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

impl Browser {
    /// Starts chromedriver on a free loopback port and a browser session with a 1280×800 viewport.
    pub async fn start() -> Self {
        assert!(
            on_path("chromedriver") && on_path("chromium"),
            "the Lab's browser tests need Chromium: apt-get install -y chromium chromium-driver (.ci/run does it)"
        );
        let port = free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + PATIENCE;
        loop {
            let ready = http.get(format!("{base}/status")).send().await;
            if let Ok(r) = ready {
                let status: Value = r.json().await.unwrap_or_default();
                if status["value"]["ready"] == true {
                    break;
                }
            }
            assert!(Instant::now() < deadline, "chromedriver never became ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = std::env::temp_dir().join(format!("hookline-lab-{}", uuid::Uuid::new_v4()));
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1280,1000",
            &format!("--user-data-dir={}", profile.display()),
        ];
        let created: Value = http
            .post(format!("{base}/session"))
            .json(&json!({"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {"args": args},
                "goog:loggingPrefs": {"browser": "ALL"},
            }}}))
            .send()
            .await
            .expect("a session request")
            .json()
            .await
            .unwrap();
        let session = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no browser session: {created}"))
            .to_owned();
        let browser = Self {
            http,
            session: format!("{base}/session/{session}"),
            driver,
            profile,
        };
        browser.viewport(1280, 800, false).await;
        browser
    }

    async fn command(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.session));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer: Value = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
            .json()
            .await
            .unwrap();
        answer["value"].clone()
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let value = self
            .command(reqwest::Method::POST, path, Some(body.clone()))
            .await;
        if let Some(error) = value.get("error") {
            panic!("WebDriver {path} {body}: {error} {}", value["message"]);
        }
        value
    }

    /// What the page's scripts wrote to the console at warning level or worse since the last look
    /// (an uncaught error, a refused script or style, a warning of ours). Chrome's own line for
    /// every answer of status 4xx/5xx (source "network") is left out: the Lab is a client of an
    /// API that answers mistakes with them, and shows them in the page.
    pub async fn console_problems(&self) -> Vec<String> {
        let entries = self.post("/se/log", json!({"type": "browser"})).await;
        entries
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| matches!(e["level"].as_str(), Some("SEVERE" | "WARNING")))
            .filter(|e| e["source"] != "network")
            .map(|e| format!("{} {}", e["source"], e["message"]))
            .collect()
    }

    /// Sets the viewport exactly (the window's size would include the browser's own chrome).
    pub async fn viewport(&self, width: u32, height: u32, mobile: bool) {
        self.post(
            "/goog/cdp/execute",
            json!({"cmd": "Emulation.setDeviceMetricsOverride",
                   "params": {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}}),
        )
        .await;
    }

    pub async fn goto(&self, url: &str) {
        self.post("/url", json!({"url": url})).await;
    }

    /// Runs a script in the page; `arguments` are its arguments.
    pub async fn eval(&self, script: &str, arguments: Value) -> Value {
        self.post(
            "/execute/sync",
            json!({"script": script, "args": arguments}),
        )
        .await
    }

    pub async fn path(&self) -> String {
        self.eval("return location.pathname", json!([]))
            .await
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Waits until `script` (a function body) returns something truthy, and returns it.
    pub async fn wait_for(&self, what: &str, script: &str, arguments: Value) -> Value {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let value = self.eval(script, arguments.clone()).await;
            if !(value.is_null() || value == false || value == "") {
                return value;
            }
            assert!(
                Instant::now() < deadline,
                "waited in vain for {what} (page {}: {})",
                self.path().await,
                self.text("main").await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn wait_path(&self, prefix: &str) -> String {
        self.wait_for(
            &format!("the page {prefix}"),
            "return location.pathname.startsWith(arguments[0]) && location.pathname",
            json!([prefix]),
        )
        .await
        .as_str()
        .unwrap()
        .to_owned()
    }

    /// The element `css` matches, once it exists and is shown.
    pub async fn find(&self, css: &str) -> String {
        self.wait_for(
            &format!("an element {css}"),
            "const e = document.querySelector(arguments[0]); return e && e.getClientRects().length > 0 && e",
            json!([css]),
        )
        .await[ELEMENT]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Clicks the element `css` names. A page that re-renders between finding and clicking
    /// (a form replaced once its save lands) leaves a stale element: it is looked up again, as
    /// a person's second look at the page would. A click another element would take (the page
    /// still laying itself out, on a loaded machine) is tried again the same way, for up to 2 s.
    pub async fn click(&self, css: &str) {
        for _ in 0..20 {
            let element = self.find(css).await;
            let path = format!("/element/{element}/click");
            let value = self
                .command(reqwest::Method::POST, &path, Some(json!({})))
                .await;
            match value.get("error").and_then(Value::as_str) {
                None => return,
                Some("stale element reference" | "element click intercepted") => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Some(error) => panic!("WebDriver {path}: {error} {}", value["message"]),
            }
        }
        panic!("{css} went stale, or was covered, at every click for 2 s");
    }

    /// Types into the element as a person would (key by key).
    pub async fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css).await;
        self.post(&format!("/element/{element}/value"), json!({"text": text}))
            .await;
    }

    pub async fn clear(&self, css: &str) {
        let element = self.find(css).await;
        self.post(&format!("/element/{element}/clear"), json!({}))
            .await;
    }

    /// Presses keys on whatever has the focus.
    pub async fn press(&self, keys: &str) {
        let active = self
            .command(reqwest::Method::GET, "/element/active", None)
            .await;
        let element = active[ELEMENT].as_str().expect("something has the focus");
        self.post(&format!("/element/{element}/value"), json!({"text": keys}))
            .await;
    }

    /// Types on the keyboard, as a person does: W3C key actions, each character (or one of
    /// [`keys`]) pressed and released, going to whatever has the focus.
    pub async fn keys(&self, text: &str) {
        let actions: Vec<Value> = text
            .chars()
            .flat_map(|c| {
                let key = c.to_string();
                [
                    json!({"type": "keyDown", "value": key}),
                    json!({"type": "keyUp", "value": key}),
                ]
            })
            .collect();
        self.post(
            "/actions",
            json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]}),
        )
        .await;
    }

    /// Whether the element with the focus matches `css`.
    pub async fn focused(&self, css: &str) -> bool {
        self.eval(
            "const e = document.activeElement; return !!e && e.matches(arguments[0])",
            json!([css]),
        )
        .await
            == true
    }

    /// Presses Tab until the focus is on an element `css` matches (waiting for it to exist
    /// first), as a keyboard user moves through a page.
    pub async fn tab_to(&self, css: &str) {
        self.find(css).await;
        for _ in 0..80 {
            if self.focused(css).await {
                return;
            }
            self.keys(keys::TAB).await;
        }
        let at = self
            .eval(
                "const e = document.activeElement; return e ? e.outerHTML.slice(0, 160) : null",
                json!([]),
            )
            .await;
        panic!("80 presses of Tab never reached {css} (the focus is on {at})");
    }

    /// The text of the first element `css` matches (empty if none).
    pub async fn text(&self, css: &str) -> String {
        self.eval(
            "const e = document.querySelector(arguments[0]); return e ? e.innerText : ''",
            json!([css]),
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    /// Waits until the text of `css` contains `needle`, and returns it.
    pub async fn wait_text(&self, css: &str, needle: &str) -> String {
        self.wait_for(
            &format!("{needle:?} in {css}"),
            "const e = document.querySelector(arguments[0]); return e && e.innerText.includes(arguments[1]) && e.innerText",
            json!([css, needle]),
        )
        .await
        .as_str()
        .unwrap()
        .to_owned()
    }

    /// The text of an open `alert`/`confirm`, if one is open.
    pub async fn dialog(&self) -> Option<String> {
        let value = self
            .command(reqwest::Method::GET, "/alert/text", None)
            .await;
        value.as_str().map(str::to_owned)
    }

    pub async fn accept_dialog(&self) {
        self.post("/alert/accept", json!({})).await;
    }

    /// Saves a PNG of the viewport as `dir/name.png`.
    pub async fn screenshot(&self, dir: &std::path::Path, name: &str) {
        use base64::Engine as _;
        let data = self
            .command(reqwest::Method::GET, "/screenshot", None)
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(data.as_str().expect("a screenshot"))
            .unwrap();
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Closing the session quits Chromium (killing chromedriver alone would leave it running);
        // then chromedriver goes. A thread and a runtime of its own, since this may run inside the
        // test's runtime, which cannot be blocked on; and a client of its own, since a client's
        // pooled connections belong to the runtime that made them.
        let session = self.session.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let http = reqwest::Client::builder().no_proxy().build().unwrap();
            rt.block_on(async {
                let _ = tokio::time::timeout(Duration::from_secs(10), http.delete(&session).send())
                    .await;
            });
        })
        .join();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
