use reqwest::{Method, StatusCode};

use crate::harness::TestApp;

#[tokio::test]
async fn health_readiness_and_metrics() {
    let app = TestApp::spawn().await;
    let (status, body) = app.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
    let (status, body) = app.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ready");
    // Metrics are served apart from the API (HOOKLINE_METRICS_LISTEN), not on its port.
    let text = app.metrics_text().await;
    assert!(text.contains("hookline_http_requests_total"), "{text}");
    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn unknown_routes_and_methods_are_problem_documents() {
    let app = TestApp::spawn().await;
    let response = app.client.get(app.url("/nope")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], 404);
    assert_eq!(body["title"], "Not Found");

    let response = app.client.delete(app.url("/healthz")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
}

#[tokio::test]
async fn the_committed_openapi_document_matches_the_code() {
    let app = TestApp::spawn().await;
    let served = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(served.status(), StatusCode::OK);
    let served = served.text().await.unwrap();
    let committed = include_str!("../../../../docs/openapi.json");
    assert!(
        served == committed,
        "docs/openapi.json is stale: run `cargo run --bin hookline -- openapi > docs/openapi.json`"
    );
    let doc: serde_json::Value = serde_json::from_str(&served).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    for path in [
        "/v1/tools",
        "/v1/tools/{id}",
        "/v1/personas",
        "/v1/api-keys",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is not documented");
    }
}

#[tokio::test]
async fn the_reference_page_works_offline() {
    let app = TestApp::spawn().await;
    let page = app.client.get(app.url("/docs")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = page.text().await.unwrap();
    assert!(html.contains("fetch(\"/openapi.json\")"));
    // Descriptions are rendered as Markdown, and responses show their fields like request bodies.
    assert!(html.contains("const markdown = "));
    assert!(html.contains("const fields = schema ? schemaHtml(schema)"));
    // Nothing is loaded from anywhere else.
    for needle in ["src=\"http", "href=\"http", "@import", "cdn"] {
        assert!(!html.contains(needle), "{needle}");
    }
}

#[tokio::test]
async fn an_empty_body_is_called_empty() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    for body in ["", "  \n"] {
        let response = app
            .client
            .post(app.url("/v1/tools"))
            .bearer_auth(&org.key)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let problem: serde_json::Value = response.json().await.unwrap();
        assert_eq!(problem["detail"], "the request body is empty", "{problem}");
    }
}

#[tokio::test]
async fn the_start_up_line_names_the_docs_and_logs_carry_no_colour_codes() {
    let db = crate::harness::fresh_database_url();
    let log = std::env::temp_dir().join(format!("hookline-log-{}", uuid::Uuid::new_v4()));
    let mut server =
        crate::harness::Server::start_logging_to(&db, &[("RUST_LOG", "info")], Some(&log)).await;
    server.terminate().await;
    let text = std::fs::read_to_string(&log).unwrap();
    std::fs::remove_file(&log).unwrap();
    let line = text
        .lines()
        .find(|l| l.contains("hookline is listening"))
        .unwrap_or_else(|| panic!("no start-up line in {text}"));
    assert!(
        line.contains(&format!("http://{}/docs", server.addr)),
        "{line}"
    );
    assert!(
        !text.contains('\u{1b}'),
        "colour codes in a log file: {text:?}"
    );
}
