//! `/v1/connections` and webhook tools that authenticate with one: a real token endpoint and a
//! real webhook on loopback, counting what each of them got.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::engine::{call, session_with};
use crate::harness::{dump_database, error_fields, two_instances, Org, Receiver, Reply, TestApp};

const SECRET: &str = "cs_live_0123456789abcdef";

/// How the token endpoint answers.
#[derive(Clone)]
enum Answer {
    /// `tok-N` (N counting from 1), valid for `expires_in` seconds, after `delay`.
    Grant { expires_in: u64, delay: Duration },
    /// 401 `invalid_client`.
    Refuse,
    /// 200 with a page that is no token.
    NotAToken,
}

/// An OAuth2 token endpoint on 127.0.0.1:0 that counts its requests and keeps them.
struct TokenServer {
    addr: std::net::SocketAddr,
    count: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<(String, String, String)>>>,
    answer: Arc<Mutex<Answer>>,
}

impl TokenServer {
    async fn start(answer: Answer) -> Self {
        let count = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let answer = Arc::new(Mutex::new(answer));
        let (c, r, a) = (count.clone(), requests.clone(), answer.clone());
        let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
            let (c, r, a) = (c.clone(), r.clone(), a.clone());
            async move {
                let n = c.fetch_add(1, Ordering::SeqCst) + 1;
                let (parts, body) = request.into_parts();
                let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
                let header = |name: &str| {
                    parts
                        .headers
                        .get(name)
                        .map(|v| v.to_str().unwrap().to_owned())
                        .unwrap_or_default()
                };
                r.lock().unwrap().push((
                    header("authorization"),
                    header("content-type"),
                    String::from_utf8_lossy(&body).into_owned(),
                ));
                let answer = a.lock().unwrap().clone();
                let (status, body) = match answer {
                    Answer::Grant { expires_in, delay } => {
                        tokio::time::sleep(delay).await;
                        (
                            200,
                            json!({"access_token": format!("tok-{n}"), "token_type": "Bearer",
                                   "expires_in": expires_in})
                            .to_string(),
                        )
                    }
                    Answer::Refuse => (401, json!({"error": "invalid_client"}).to_string()),
                    Answer::NotAToken => (200, "<html>Sign in</html>".to_owned()),
                };
                axum::response::Response::builder()
                    .status(status)
                    .header("content-type", "application/json")
                    .body(axum::body::Body::from(body))
                    .unwrap()
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            addr,
            count,
            requests,
            answer,
        }
    }

    fn url(&self) -> String {
        format!("http://{}/oauth/token", self.addr)
    }

    fn count(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }

    fn answer(&self, answer: Answer) {
        *self.answer.lock().unwrap() = answer;
    }
}

fn grant(expires_in: u64) -> Answer {
    Answer::Grant {
        expires_in,
        delay: Duration::ZERO,
    }
}

fn connection(name: &str, token_url: &str) -> Value {
    json!({"name": name, "type": "oauth2_client_credentials", "tokenUrl": token_url,
           "clientId": "hookline-test", "clientSecret": SECRET, "scope": "orders:read",
           "audience": "https://api.example.com"})
}

async fn create_connection(app: &TestApp, org: &Org, body: &Value) -> String {
    let (status, created) = org.post(app, "/v1/connections", body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["id"].as_str().unwrap().to_owned()
}

fn tool_with(name: &str, url: String, connection_id: &str) -> Value {
    json!({"type": "server", "subtype": "webhook", "name": name, "description": "Order status",
           "url": url, "connectionId": connection_id,
           "parameters": {"type": "object", "properties": {"orderId": {"type": "string"}}}})
}

async fn call_once(app: &TestApp, org: &Org, session_id: &str, tool: &str) -> Value {
    let (status, answer) = call(
        app,
        org,
        session_id,
        json!({"toolName": tool, "arguments": {"orderId": "1"}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer
}

#[tokio::test]
async fn connections_are_created_listed_and_changed_with_the_secret_masked() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let (status, created) = org
        .post(
            &app,
            "/v1/connections",
            &connection("crm", "https://auth.example.com/oauth/token"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["clientSecret"], "••••cdef");
    assert_eq!(created["type"], "oauth2_client_credentials");
    assert_eq!(created["scope"], "orders:read");
    assert_eq!(created["usageCount"], 0);
    let id = created["id"].as_str().unwrap();
    for n in 0..3 {
        create_connection(
            &app,
            &org,
            &connection(&format!("other{n}"), "https://auth.example.com/t"),
        )
        .await;
    }
    let (status, page) = org.get(&app, "/v1/connections?perPage=2&page=2").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["meta"]["total"], 4);
    assert_eq!(page["data"].as_array().unwrap().len(), 2);
    let (_, read) = org.get(&app, &format!("/v1/connections/{id}")).await;
    assert_eq!(read, created);

    // A name change keeps the secret; sending the preview back keeps it too.
    let (status, renamed) = org
        .patch(
            &app,
            &format!("/v1/connections/{id}"),
            &json!({"name": "crm2", "clientSecret": "••••cdef", "audience": null}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{renamed}");
    assert_eq!(renamed["audience"], Value::Null);
    assert_eq!(renamed["clientSecret"], "••••cdef");
    // Another origin needs the secret again; with it, the move is fine.
    let moved = json!({"tokenUrl": "https://evil.example.net/token"});
    let (status, refused) = org
        .patch(&app, &format!("/v1/connections/{id}"), &moved)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(error_fields(&refused), ["clientSecret"]);
    let (status, _) = org
        .patch(
            &app,
            &format!("/v1/connections/{id}"),
            &json!({"tokenUrl": "https://auth.example.com/v2/token"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "same origin, other path");

    // Every bad field at once.
    let (status, bad) = org
        .post(
            &app,
            "/v1/connections",
            &json!({"name": "", "type": "basic", "tokenUrl": "https://10.1.2.3/token",
                    "clientSecret": "x", "colour": "red"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        error_fields(&bad),
        ["name", "type", "tokenUrl", "clientId", "colour"]
    );
    let (status, taken) = org
        .post(
            &app,
            "/v1/connections",
            &connection("other0", "https://auth.example.com/t"),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{taken}");
    assert_eq!(taken["type"], "urn:hookline:problem:name-taken");

    let everything = format!("{created}{page}{renamed}{}", dump_database(&app.pool).await);
    assert!(!everything.contains(SECRET), "the secret shows somewhere");
}

#[tokio::test]
async fn tools_name_only_their_own_organizations_connections_and_deleting_one_in_use_needs_force() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let other = app.org("globex").await;
    let tokens = TokenServer::start(grant(3600)).await;
    let webhook = Receiver::start(Reply::json(200, json!({"status": "shipped"}))).await;
    let theirs = create_connection(&app, &other, &connection("theirs", &tokens.url())).await;
    let ours = create_connection(&app, &org, &connection("ours", &tokens.url())).await;

    let (status, refused) = org
        .post(
            &app,
            "/v1/tools",
            &tool_with("order_status", webhook.url("/orders"), &theirs),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(error_fields(&refused), ["connectionId"]);
    let mut both = tool_with("order_status", webhook.url("/orders"), &ours);
    both["headers"] = json!({"Authorization": "Bearer mine"});
    let (status, refused) = org.post(&app, "/v1/tools", &both).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(error_fields(&refused), ["headers.Authorization"]);

    let tool = tool_with("order_status", webhook.url("/orders"), &ours);
    let (session_id, _) = session_with(&app, &org, &[tool]).await;
    let (_, listed) = org.get(&app, "/v1/tools").await;
    let tool_id = listed["data"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(listed["data"][0]["connectionId"], ours.as_str());
    let (_, conn) = org.get(&app, &format!("/v1/connections/{ours}")).await;
    assert_eq!(conn["usageCount"], 1);
    // Another organization's tool cannot be patched onto our connection either.
    let (status, _) = other
        .post(
            &app,
            "/v1/tools",
            &tool_with("steal", webhook.url("/x"), &ours),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    let (status, in_use) = org.delete(&app, &format!("/v1/connections/{ours}")).await;
    assert_eq!(status, StatusCode::CONFLICT, "{in_use}");
    // Told apart from a taken name by its type, not its sentence.
    assert_eq!(in_use["type"], "urn:hookline:problem:in-use");
    assert_eq!(in_use["detail"], "the connection is used by 1 tool; change their connectionId first or delete with ?force=true");
    assert_eq!(in_use["tools"][0]["id"], tool_id.as_str());
    assert_eq!(in_use["tools"][0]["name"], "order_status");
    let (status, _) = org
        .delete(&app, &format!("/v1/connections/{ours}?force=true"))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // The tool stays; its calls fail explained until it names another connection.
    let answer = call_once(&app, &org, &session_id, "order_status").await;
    assert_eq!(answer["status"], "failed");
    assert_eq!(answer["error"]["kind"], "auth", "{answer}");
    assert!(webhook.requests().is_empty());
}

#[tokio::test]
async fn a_token_is_fetched_once_reused_by_every_call_and_never_shown() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let tokens = TokenServer::start(grant(3600)).await;
    let webhook = Receiver::start(Reply::json(200, json!({"status": "shipped"}))).await;
    let id = create_connection(&app, &org, &connection("crm", &tokens.url())).await;
    let (session_id, _) = session_with(
        &app,
        &org,
        &[tool_with("order_status", webhook.url("/orders"), &id)],
    )
    .await;
    let mut answers = Vec::new();
    for _ in 0..20 {
        let answer = call_once(&app, &org, &session_id, "order_status").await;
        assert_eq!(answer["status"], "completed", "{answer}");
        answers.push(answer);
    }
    assert_eq!(tokens.count(), 1, "one token request for twenty calls");
    let got = webhook.requests();
    assert_eq!(got.len(), 20);
    assert!(got
        .iter()
        .all(|r| r.header("authorization") == "Bearer tok-1"));

    // The token request: form-encoded client credentials, the client authenticated by Basic.
    let (authorization, content_type, body) = tokens.requests.lock().unwrap()[0].clone();
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("hookline-test:{SECRET}"));
    assert_eq!(authorization, format!("Basic {basic}"));
    assert_eq!(content_type, "application/x-www-form-urlencoded");
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    assert_eq!(
        form,
        [
            ("grant_type".into(), "client_credentials".into()),
            ("scope".into(), "orders:read".into()),
            ("audience".into(), "https://api.example.com".into()),
        ]
    );

    // The call log shows that a token was sent, masked.
    let call_id = answers[0]["id"].as_str().unwrap();
    let (_, logged) = org.get(&app, &format!("/v1/tool-calls/{call_id}")).await;
    let shown = logged.to_string();
    assert!(shown.contains("Bearer ••••"), "{logged}");
    let everything = format!("{shown}{answers:?}{}", dump_database(&app.pool).await);
    assert!(!everything.contains("tok-1"), "the token shows somewhere");
    assert!(!everything.contains(SECRET), "the secret shows somewhere");
}

#[tokio::test]
async fn a_token_is_fetched_again_shortly_before_it_expires() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    // Four seconds of life: too short for the 60 s margin, so it is used for half of it.
    let tokens = TokenServer::start(grant(4)).await;
    let webhook = Receiver::start(Reply::json(200, json!({}))).await;
    let id = create_connection(&app, &org, &connection("crm", &tokens.url())).await;
    let (session_id, _) = session_with(
        &app,
        &org,
        &[tool_with("order_status", webhook.url("/orders"), &id)],
    )
    .await;
    call_once(&app, &org, &session_id, "order_status").await;
    call_once(&app, &org, &session_id, "order_status").await;
    assert_eq!(tokens.count(), 1);
    tokio::time::sleep(Duration::from_millis(2300)).await;
    call_once(&app, &org, &session_id, "order_status").await;
    assert_eq!(
        tokens.count(),
        2,
        "fetched again before the first one expired"
    );
    let used: Vec<String> = webhook
        .requests()
        .iter()
        .map(|r| r.header("authorization").to_owned())
        .collect();
    assert_eq!(used, ["Bearer tok-1", "Bearer tok-1", "Bearer tok-2"]);
}

#[tokio::test]
async fn a_burst_of_calls_on_two_instances_makes_one_token_request() {
    let (a, b) = two_instances(crate::harness::raw_settings).await;
    let org = a.org("acme").await;
    let tokens = TokenServer::start(Answer::Grant {
        expires_in: 3600,
        delay: Duration::from_millis(300),
    })
    .await;
    let webhook = Receiver::start(Reply::json(200, json!({}))).await;
    let id = create_connection(&a, &org, &connection("crm", &tokens.url())).await;
    let (session_id, _) = session_with(
        &a,
        &org,
        &[tool_with("order_status", webhook.url("/orders"), &id)],
    )
    .await;
    let mut calls = Vec::new();
    for n in 0..30 {
        let app = if n % 2 == 0 { &a } else { &b };
        calls.push(call_once(app, &org, &session_id, "order_status"));
    }
    let answers = futures::future::join_all(calls).await;
    assert!(
        answers.iter().all(|a| a["status"] == "completed"),
        "{answers:?}"
    );
    assert_eq!(
        tokens.count(),
        1,
        "thirty calls on two instances, one token"
    );
    assert!(webhook
        .requests()
        .iter()
        .all(|r| r.header("authorization") == "Bearer tok-1"));
}

#[tokio::test]
async fn a_401_gets_one_new_token_and_one_more_try() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let tokens = TokenServer::start(grant(3600)).await;
    let webhook = Receiver::start(Reply::json(200, json!({"status": "shipped"}))).await;
    let id = create_connection(&app, &org, &connection("crm", &tokens.url())).await;
    let (session_id, _) = session_with(
        &app,
        &org,
        &[tool_with("order_status", webhook.url("/orders"), &id)],
    )
    .await;
    webhook.then(Reply::json(401, json!({"error": "token revoked"})));
    let answer = call_once(&app, &org, &session_id, "order_status").await;
    assert_eq!(answer["status"], "completed", "{answer}");
    assert_eq!(answer["result"], json!({"status": "shipped"}));
    let used: Vec<String> = webhook
        .requests()
        .iter()
        .map(|r| r.header("authorization").to_owned())
        .collect();
    assert_eq!(used, ["Bearer tok-1", "Bearer tok-2"]);
    assert_eq!(tokens.count(), 2);

    // An endpoint that keeps refusing gets one retry, not more.
    webhook.then(Reply::json(401, json!({})));
    webhook.then(Reply::json(401, json!({})));
    let answer = call_once(&app, &org, &session_id, "order_status").await;
    assert_eq!(answer["status"], "failed");
    assert_eq!(answer["error"]["kind"], "http_status");
    assert_eq!(answer["httpStatus"], 401);
    assert_eq!(webhook.requests().len(), 4);
    assert_eq!(tokens.count(), 3);
    // The next call uses the newest token, fetched by the retry.
    call_once(&app, &org, &session_id, "order_status").await;
    assert_eq!(
        webhook.requests()[4].header("authorization"),
        "Bearer tok-3"
    );
}

#[tokio::test]
async fn a_token_endpoint_down_or_refusing_fails_the_call_with_its_kind() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let webhook = Receiver::start(Reply::json(200, json!({}))).await;
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let down = create_connection(
        &app,
        &org,
        &connection("down", &format!("http://127.0.0.1:{closed}/token")),
    )
    .await;
    let tokens = TokenServer::start(Answer::Refuse).await;
    let refusing = create_connection(&app, &org, &connection("refusing", &tokens.url())).await;
    let (session_id, _) = session_with(
        &app,
        &org,
        &[
            tool_with("via_down", webhook.url("/a"), &down),
            tool_with("via_refusing", webhook.url("/b"), &refusing),
        ],
    )
    .await;

    let answer = call_once(&app, &org, &session_id, "via_down").await;
    assert_eq!(answer["status"], "failed");
    assert_eq!(answer["error"]["kind"], "connection", "{answer}");
    assert!(answer["error"]["message"]
        .as_str()
        .unwrap()
        .contains("token endpoint"));

    let answer = call_once(&app, &org, &session_id, "via_refusing").await;
    assert_eq!(answer["error"]["kind"], "auth", "{answer}");
    assert!(answer["error"]["message"]
        .as_str()
        .unwrap()
        .contains("invalid_client"));
    tokens.answer(Answer::NotAToken);
    let answer = call_once(&app, &org, &session_id, "via_refusing").await;
    assert_eq!(answer["error"]["kind"], "auth", "{answer}");
    assert!(answer["error"]["message"]
        .as_str()
        .unwrap()
        .contains("not a token"));
    // Once the endpoint gives tokens again, calls go through.
    tokens.answer(grant(3600));
    let answer = call_once(&app, &org, &session_id, "via_refusing").await;
    assert_eq!(answer["status"], "completed", "{answer}");
    assert_eq!(
        webhook.requests().len(),
        1,
        "nothing was sent without a token"
    );
    assert!(!answer.to_string().contains(SECRET));
}

#[tokio::test]
async fn a_dry_run_shows_the_connections_authorization_header_masked_and_sends_nothing() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let tokens = TokenServer::start(grant(3600)).await;
    let webhook = Receiver::start(Reply::json(200, json!({}))).await;
    let id = create_connection(&app, &org, &connection("crm", &tokens.url())).await;
    let (status, tool) = org
        .post(
            &app,
            "/v1/tools",
            &tool_with("order_status", webhook.url("/orders"), &id),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{tool}");
    let test_url = format!(
        "/v1/tools/{}/test?dryRun=true",
        tool["id"].as_str().unwrap()
    );
    let body = json!({"arguments": {"orderId": "1"}});

    let (status, dry) = org.post(&app, &test_url, &body).await;
    assert_eq!(status, StatusCode::OK, "{dry}");
    let shown = dry["request"]["headers"]["Authorization"].as_str().unwrap();
    assert!(shown.starts_with("Bearer ••••"), "{dry}");
    assert!(!dry.to_string().contains("tok-1"), "the token shows: {dry}");
    assert!(dry["response"].is_null(), "{dry}");
    assert_eq!(webhook.requests().len(), 0, "a dry run sent the request");
    assert_eq!(tokens.count(), 1);

    // A connection that cannot get a token fails the dry run as it would fail the call.
    let refusing = TokenServer::start(Answer::Refuse).await;
    let other = create_connection(&app, &org, &connection("erp", &refusing.url())).await;
    let (status, tool) = org
        .post(
            &app,
            "/v1/tools",
            &tool_with("invoice_status", webhook.url("/invoices"), &other),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{tool}");
    let test_url = format!(
        "/v1/tools/{}/test?dryRun=true",
        tool["id"].as_str().unwrap()
    );
    let (status, dry) = org.post(&app, &test_url, &body).await;
    assert_eq!(status, StatusCode::OK, "{dry}");
    assert_eq!(dry["error"]["kind"], "auth", "{dry}");
    assert!(
        dry["request"]["headers"].get("Authorization").is_none(),
        "{dry}"
    );
    assert_eq!(webhook.requests().len(), 0);
}

#[tokio::test]
async fn key_rotation_reseals_client_secrets_and_drops_cached_tokens() {
    use hookline_core::secrets::SecretBox;
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let tokens = TokenServer::start(grant(3600)).await;
    let webhook = Receiver::start(Reply::json(200, json!({}))).await;
    let id = create_connection(&app, &org, &connection("crm", &tokens.url())).await;
    let (session_id, _) = session_with(
        &app,
        &org,
        &[tool_with("order_status", webhook.url("/orders"), &id)],
    )
    .await;
    call_once(&app, &org, &session_id, "order_status").await;
    let rows = || async {
        let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM connection_tokens")
            .fetch_one(&app.pool)
            .await
            .unwrap();
        n
    };
    assert_eq!(rows().await, 1, "the token is shared through its row");
    let rotated = SecretBox::new([7; 32], vec![crate::harness::TEST_KEY]);
    let mut conn = app.pool.acquire().await.unwrap();
    let done = hookline_core::repo::reseal_all(&mut conn, &rotated)
        .await
        .unwrap();
    assert!(done.unopened.is_empty());
    assert_eq!(
        rows().await,
        0,
        "a token sealed with the old key is fetched again"
    );
    let id = uuid::Uuid::parse_str(&id).unwrap();
    let (org_id,): (uuid::Uuid,) = sqlx::query_as("SELECT org_id FROM connections WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let stored = hookline_core::repo::connections::get(&app.pool, org_id, id)
        .await
        .unwrap()
        .unwrap();
    let new_only = SecretBox::new([7; 32], vec![]);
    assert_eq!(stored.open_secret(&new_only).unwrap().expose(), SECRET);
}
