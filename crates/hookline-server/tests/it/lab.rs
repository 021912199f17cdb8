//! The Lab as HTTP sees it: one page for every /lab path, embedded assets, a strict
//! Content-Security-Policy, the seed templates, and development mode's one-click sign-in.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::Value;

use crate::harness::{cleanup_guard, free_port, fresh_database_url, test_key_b64, TestApp};

async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    app.client.get(app.url(path)).send().await.unwrap()
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap())
        .unwrap_or_default()
}

#[tokio::test]
async fn every_lab_path_answers_the_page_under_a_strict_content_security_policy() {
    let app = TestApp::spawn().await;
    let mut pages = Vec::new();
    for path in [
        "/lab",
        "/lab/",
        "/lab/tools",
        "/lab/build/0193abcd",
        "/lab/tools/x/test",
    ] {
        let response = get(&app, path).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(
            header(&response, "content-type"),
            "text/html; charset=utf-8"
        );
        let csp = header(&response, "content-security-policy").to_owned();
        for rule in [
            "default-src 'none'",
            "script-src 'self'",
            "connect-src 'self'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(rule), "{path}: {rule} in {csp}");
        }
        assert!(!csp.contains("unsafe"), "{csp}");
        pages.push(response.text().await.unwrap());
    }
    assert!(pages.windows(2).all(|w| w[0] == w[1]), "one page for all");
    let page = &pages[0];
    assert!(page.contains(r#"<script type="module" src="/lab/assets/app.js"></script>"#));
    assert_eq!(page.matches("<script").count(), 1, "no inline script");
    assert!(!page.contains("style="), "no inline style");
    assert!(
        page.contains(r#"content="production""#),
        "the mode is shown to the page"
    );
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "nothing from another origin"
    );

    let script = get(&app, "/lab/assets/app.js").await;
    assert_eq!(
        header(&script, "content-type"),
        "text/javascript; charset=utf-8"
    );
    assert_eq!(header(&script, "x-content-type-options"), "nosniff");
    assert!(!header(&script, "content-security-policy").is_empty());
    let css = get(&app, "/lab/assets/lab.css").await;
    assert_eq!(header(&css, "content-type"), "text/css; charset=utf-8");
    assert_eq!(get(&app, "/lab/assets/nope.js").await.status(), 404);
}

#[tokio::test]
async fn the_lab_scripts_never_write_html_or_keep_the_key_outside_session_storage() {
    let app = TestApp::spawn().await;
    // Every script of the Lab's directory, so a new one cannot be left out (nor left unserved).
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("lab");
    let mut scripts: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".js"))
        .collect();
    scripts.sort();
    assert!(scripts.len() >= 13, "{scripts:?}");
    for name in scripts {
        let response = get(&app, &format!("/lab/assets/{name}")).await;
        assert_eq!(response.status(), 200, "{name}");
        let text = response.text().await.unwrap();
        for banned in [
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "localStorage",
            "document.cookie",
            "eval(",
        ] {
            assert!(!text.contains(banned), "{name} uses {banned}");
        }
        // Scripts and requests come from this origin only (the CSP enforces it too).
        for other_origin in [
            "from 'http",
            "fetch('http",
            "fetch(`http",
            "EventSource('http",
            "EventSource(`http",
        ] {
            assert!(
                !text.contains(other_origin),
                "{name} reaches another origin"
            );
        }
    }
}

#[tokio::test]
async fn the_seed_tools_are_offered_as_templates_the_api_accepts() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let response = get(&app, "/lab/assets/templates.json").await;
    assert_eq!(response.status(), 200);
    let templates: Vec<Value> = response.json().await.unwrap();
    let names: Vec<&str> = templates
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "check_order_status",
            "check_product_availability",
            "create_support_ticket",
            "get_weather",
            "update_contact_info"
        ]
    );
    for template in &templates {
        let (status, body) = org.post(&app, "/v1/tools", template).await;
        assert_eq!(status, 201, "{body}");
    }
}

#[tokio::test]
async fn the_dev_sign_in_does_not_exist_in_production() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .post(app.url("/lab/dev/organization"))
        .header("x-hookline-lab", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM organizations")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(count, 0, "nothing was created");
}

/// The real binary with `serve --dev`: the start-up line names the Lab, and the Lab's one-click
/// sign-in gives a working key of one local organization (the same one on a second click).
#[tokio::test]
async fn serve_dev_names_the_lab_and_its_one_click_sign_in_gives_a_working_key() {
    let _cleanup = cleanup_guard();
    let port = free_port();
    let dir = std::env::temp_dir().join(format!("hookline-lab-dev-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_hookline"))
        .args(["serve", "--dev"])
        .env("DATABASE_URL", fresh_database_url())
        .env("HOOKLINE_ENCRYPTION_KEY", test_key_b64())
        .env("HOOKLINE_LISTEN", format!("127.0.0.1:{port}"))
        .env("HOOKLINE_METRICS_LISTEN", "127.0.0.1:0")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let lab = format!("http://127.0.0.1:{port}/lab");
    let deadline = Instant::now() + Duration::from_secs(30);
    let line = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if let Some(line) = text.lines().find(|l| l.contains("hookline is listening")) {
            break line.to_owned();
        }
        assert!(Instant::now() < deadline, "no start-up line: {text}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(line.contains(&lab), "{line}");

    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let page = client.get(&lab).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(r#"content="development""#));
    let dev = format!("http://127.0.0.1:{port}/lab/dev/organization");
    let refused = client.post(&dev).send().await.unwrap();
    assert_eq!(
        refused.status(),
        403,
        "a plain cross-site form post cannot mint keys"
    );
    // DNS rebinding: another site's name resolved to this machine sends its own name as Host;
    // a sandboxed frame sends `Origin: null`.
    for (name, value) in [("host", "evil.example:8080"), ("origin", "null")] {
        let rebound = client
            .post(&dev)
            .header("x-hookline-lab", "1")
            .header(name, value)
            .send()
            .await
            .unwrap();
        assert_eq!(rebound.status(), 403, "{name}: {value}");
    }
    let mut orgs = Vec::new();
    for _ in 0..2 {
        let created = client
            .post(&dev)
            .header("x-hookline-lab", "1")
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201);
        let body: Value = created.json().await.unwrap();
        let key = body["key"].as_str().unwrap();
        let tools = client
            .request(Method::GET, format!("http://127.0.0.1:{port}/v1/tools"))
            .bearer_auth(key)
            .send()
            .await
            .unwrap();
        assert_eq!(tools.status(), 200, "the key works");
        orgs.push(body["organization"]["id"].clone());
    }
    assert_eq!(orgs[0], orgs[1], "one local organization");
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(dir);
}
