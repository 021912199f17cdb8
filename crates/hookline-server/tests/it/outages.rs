//! The database going away and coming back, as the app sees it when Postgres restarts: every
//! connection ended ("terminating connection due to administrator command") and new ones refused
//! for a while. Nothing answered may be lost, and requests meanwhile answer 503 with
//! `Retry-After`, never 500.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::engine::{call, session_with};
use crate::harness::{fresh_database_url, raw_settings, server_url, Org, Receiver, Reply, TestApp};

/// The test's database, as seen from the server's `postgres` database.
pub struct Outage {
    admin: PgPool,
    database: String,
}

impl Outage {
    pub async fn of(app: &TestApp) -> Self {
        let database = app
            .settings
            .database_url
            .rsplit('/')
            .next()
            .unwrap()
            .to_owned();
        let admin = PgPool::connect(&format!("{}/postgres", server_url()))
            .await
            .unwrap();
        Self { admin, database }
    }

    /// Ends every connection to the database (the app's pools' included).
    pub async fn terminate(&self) {
        sqlx::query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = $1 AND pid <> pg_backend_pid()",
        )
        .bind(&self.database)
        .execute(&self.admin)
        .await
        .unwrap();
        // pg_terminate_backend only signals; wait until they are gone.
        for _ in 0..200 {
            let (left,): (i64,) =
                sqlx::query_as("SELECT count(*) FROM pg_stat_activity WHERE datname = $1")
                    .bind(&self.database)
                    .fetch_one(&self.admin)
                    .await
                    .unwrap();
            if left == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Refuses new connections (as a superuser's too: a connection limit would not stop the
    /// tests' `postgres` user) and ends the open ones.
    pub async fn begin(&self) {
        self.allow(false).await;
        self.terminate().await;
    }

    pub async fn end(&self) {
        self.allow(true).await;
    }

    async fn allow(&self, allow: bool) {
        sqlx::query(&format!(
            "ALTER DATABASE \"{}\" ALLOW_CONNECTIONS {allow}",
            self.database
        ))
        .execute(&self.admin)
        .await
        .unwrap();
    }

    /// A pool of the test's own on the database, once it is back.
    pub async fn pool(&self) -> PgPool {
        PgPool::connect(&format!("{}/{}", server_url(), self.database))
            .await
            .unwrap()
    }
}

/// A call answered while the database was away is in the call log, finished, with its events,
/// once the database is back (the call log's writer used to try twice and drop it).
#[tokio::test]
async fn a_call_answered_during_an_outage_is_logged_once_the_database_is_back() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let receiver =
        Receiver::start(Reply::json(200, json!({"ok": true})).delayed(Duration::from_millis(500)))
            .await;
    let tool = json!({"type": "server", "subtype": "webhook", "name": "slow", "description": "d", "url": receiver.url("/slow")});
    let (session_id, _) = session_with(&app, &org, &[tool]).await;
    let outage = Outage::of(&app).await;
    let calling = call(
        &app,
        &org,
        &session_id,
        json!({"toolCallId": "during", "toolName": "slow"}),
    );
    let fault = async {
        // The call is stored and sent: the database goes away while the endpoint works, and
        // stays away well after the answer.
        receiver.wait_for(1, Duration::from_secs(10)).await;
        outage.begin().await;
        tokio::time::sleep(Duration::from_secs(3)).await;
        outage.end().await;
    };
    let ((status, answer), ()) = tokio::join!(calling, fault);
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["status"], "completed", "{answer}");

    let pool = outage.pool().await;
    let mut logged = (String::new(), Vec::new());
    for _ in 0..150 {
        let (status,): (String,) = sqlx::query_as(
            "SELECT status FROM tool_calls WHERE session_id = $1::uuid AND tool_call_id = 'during'",
        )
        .bind(&session_id)
        .fetch_one(&pool)
        .await
        .unwrap();
        let events: Vec<(i64, String)> = sqlx::query_as(
            "SELECT seq, event FROM session_events WHERE session_id = $1::uuid ORDER BY seq",
        )
        .bind(&session_id)
        .fetch_all(&pool)
        .await
        .unwrap();
        logged = (status, events.into_iter().map(|(_, e)| e).collect());
        if logged.0 == "completed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        logged,
        (
            "completed".to_owned(),
            vec!["toolCallStarted".to_owned(), "toolCallCompleted".to_owned()]
        )
    );
}

/// While the database refuses connections, every route that needs it answers 503 with
/// `Retry-After` (an unavailable database is not the server's bug); the instance serves again
/// once it is back, without a restart. A connection ended under a waiting pool
/// ("terminating connection due to administrator command", SQLSTATE 57P01) is the same 503.
#[tokio::test]
async fn requests_during_an_outage_answer_503_with_retry_after_never_500() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let receiver = Receiver::start(Reply::json(200, json!({"ok": true}))).await;
    let tool = json!({"type": "server", "subtype": "webhook", "name": "quick", "description": "d", "url": receiver.url("/quick")});
    let (session_id, _) = session_with(&app, &org, &[tool]).await;
    let outage = Outage::of(&app).await;
    let requests = |n: usize| {
        let (app, org, session_id) = (&app, &org, &session_id);
        async move {
            vec![
                (
                    "GET /v1/tools",
                    app.client
                        .get(app.url("/v1/tools"))
                        .bearer_auth(&org.key)
                        .send()
                        .await
                        .unwrap(),
                ),
                (
                    "GET /v1/sessions/{id}",
                    app.client
                        .get(app.url(&format!("/v1/sessions/{session_id}")))
                        .bearer_auth(&org.key)
                        .send()
                        .await
                        .unwrap(),
                ),
                (
                    "POST /v1/sessions/{id}/tool-calls",
                    app.client
                        .request(
                            Method::POST,
                            app.url(&format!("/v1/sessions/{session_id}/tool-calls")),
                        )
                        .bearer_auth(&org.key)
                        .json(&json!({"toolCallId": format!("c{n}"), "toolName": "quick"}))
                        .send()
                        .await
                        .unwrap(),
                ),
            ]
        }
    };

    // Every pooled connection ended under the app: what a fast shutdown of Postgres does.
    outage.terminate().await;
    for (route, answer) in requests(1).await {
        let status = answer.status();
        assert!(
            status.is_success() || status == StatusCode::SERVICE_UNAVAILABLE,
            "{route}: {status} {}",
            answer.text().await.unwrap()
        );
        if status == StatusCode::SERVICE_UNAVAILABLE {
            assert_eq!(answer.headers()["retry-after"], "1", "{route}");
        }
    }

    outage.begin().await;
    // Past the API key cache's second, so authentication needs the database too.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    for (route, answer) in requests(2).await {
        assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE, "{route}");
        assert_eq!(answer.headers()["retry-after"], "1", "{route}");
        assert_eq!(
            answer.headers()["content-type"],
            "application/problem+json",
            "{route}"
        );
    }
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(ready.headers()["retry-after"], "1");

    outage.end().await;
    // Back within a few tries: the pool connects again by itself.
    let mut statuses = Vec::new();
    for n in 3..40 {
        statuses = Vec::new();
        for (_, answer) in requests(n).await {
            statuses.push(answer.status());
        }
        if statuses.iter().all(StatusCode::is_success) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(statuses.iter().all(StatusCode::is_success), "{statuses:?}");
}

/// A TCP gate between an app and the test's Postgres server, for outages as a stopped Postgres
/// makes them: closed, nothing listens on its port (a new connection is refused, which sqlx
/// retries until its acquire timeout) and every connection through it is cut; open again, on
/// the same port, it passes bytes both ways.
pub struct DbGate {
    port: u16,
    upstream: String,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl DbGate {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        // The server's host and port: what follows the user in its URL.
        let server = server_url();
        let after_scheme = server.split_once("://").unwrap().1;
        let upstream = after_scheme
            .rsplit_once('@')
            .map_or(after_scheme, |(_, host)| host)
            .trim_end_matches('/')
            .to_owned();
        let gate = Self {
            port,
            upstream,
            tasks: Arc::default(),
        };
        gate.serve(listener);
        gate
    }

    /// The URL of a fresh test database, reached through the gate.
    pub fn fresh_database_url(&self) -> String {
        let direct = fresh_database_url();
        let name = direct.rsplit('/').next().unwrap();
        let user = server_url()
            .split_once("://")
            .unwrap()
            .1
            .rsplit_once('@')
            .map(|(user, _)| format!("{user}@"))
            .unwrap_or_default();
        format!("postgres://{user}127.0.0.1:{}/{name}", self.port)
    }

    fn serve(&self, listener: TcpListener) {
        let (upstream, tasks) = (self.upstream.clone(), self.tasks.clone());
        let accepting = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let upstream = upstream.clone();
                let pipe = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                tasks.lock().unwrap().push(pipe);
            }
        });
        self.tasks.lock().unwrap().push(accepting);
    }

    /// Stops listening and cuts every connection through the gate.
    pub async fn close(&self) {
        let tasks: Vec<_> = self.tasks.lock().unwrap().drain(..).collect();
        for task in tasks {
            task.abort();
            let _ = task.await;
        }
    }

    /// Listens again on the same port.
    pub async fn open(&self) {
        for _ in 0..100 {
            if let Ok(listener) = TcpListener::bind(("127.0.0.1", self.port)).await {
                return self.serve(listener);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("could not listen on port {} again", self.port);
    }
}

/// An app whose database is behind a gate the test can close.
pub(crate) async fn app_behind_gate() -> (TestApp, DbGate) {
    let gate = DbGate::start().await;
    let app = TestApp::spawn_with(crate::harness::RawSettings {
        database_url: gate.fresh_database_url(),
        ..raw_settings()
    })
    .await;
    (app, gate)
}

/// A request's status, `Retry-After`, problem type and how long it took.
pub(crate) async fn timed(
    app: &TestApp,
    org: &Org,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, String, Value, Duration) {
    let started = Instant::now();
    let mut request = app
        .client
        .request(method, app.url(path))
        .bearer_auth(&org.key)
        .timeout(Duration::from_secs(30));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let answer = request.send().await.unwrap();
    let status = answer.status();
    let retry_after = answer
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = answer.json::<Value>().await.unwrap_or(Value::Null);
    (status, retry_after, body, started.elapsed())
}

/// While Postgres is down (its port refuses connections, as when it is stopped), a request
/// answers its 503 within about a second: the first requests of the outage wait out the pool's
/// acquire timeout (1 s), and the requests after them fail at once since the database is known
/// to be away. Once it is back, requests are served again within 2 s. (Before: every statement
/// waited the 5 s acquire timeout, and a request up to ~10 s.)
#[tokio::test]
async fn a_request_during_an_outage_answers_503_within_a_second() {
    let (app, gate) = app_behind_gate().await;
    let org = app.org("acme").await;
    let receiver = Receiver::start(Reply::json(200, json!({"ok": true}))).await;
    let tool = json!({"type": "server", "subtype": "webhook", "name": "quick", "description": "d", "url": receiver.url("/quick")});
    let (session_id, _) = session_with(&app, &org, &[tool]).await;
    let routes = |n: usize| {
        vec![
            (Method::GET, "/v1/tools".to_owned(), None),
            (Method::GET, format!("/v1/sessions/{session_id}"), None),
            (
                Method::POST,
                format!("/v1/sessions/{session_id}/tool-calls"),
                Some(json!({"toolCallId": format!("c{n}"), "toolName": "quick"})),
            ),
        ]
    };
    let (status, ..) = timed(&app, &org, Method::GET, "/v1/tools", None).await;
    assert_eq!(status, StatusCode::OK);

    gate.close().await;
    // Past the API key cache's second, so authentication needs the database too.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // The outage's first requests, all at once: none knows yet that the database is away.
    let first = futures::future::join_all((0..3).flat_map(|round| {
        routes(round)
            .into_iter()
            .map(|(method, path, body)| {
                let (app, org) = (&app, &org);
                async move { (path.clone(), timed(app, org, method, &path, body).await) }
            })
            .collect::<Vec<_>>()
    }))
    .await;
    let slowest = first.iter().map(|(_, (.., took))| *took).max().unwrap();
    eprintln!("the outage's first requests: the slowest 503 took {slowest:?}");
    for (path, (status, retry_after, body, took)) in &first {
        assert_eq!(*status, StatusCode::SERVICE_UNAVAILABLE, "{path}: {body}");
        assert_eq!(retry_after, "1", "{path}");
        assert_eq!(body["type"], "urn:hookline:problem:unavailable", "{path}");
        assert!(took < &Duration::from_millis(2_000), "{path} took {took:?}");
    }
    // Then the database is known to be away: at once.
    for (method, path, body) in routes(10) {
        let (status, retry_after, problem, took) = timed(&app, &org, method, &path, body).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{path}: {problem}");
        assert_eq!(retry_after, "1", "{path}");
        assert_eq!(
            problem["type"], "urn:hookline:problem:unavailable",
            "{path}"
        );
        eprintln!("{path} once the database is known away: {took:?}");
        assert!(took < Duration::from_millis(500), "{path} took {took:?}");
    }
    let started = Instant::now();
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(ready.headers()["retry-after"], "1");
    assert!(started.elapsed() < Duration::from_millis(500));

    gate.open().await;
    let back = Instant::now();
    let mut n = 20;
    loop {
        let statuses: Vec<StatusCode> =
            futures::future::join_all(routes(n).into_iter().map(|(method, path, body)| {
                let (app, org) = (&app, &org);
                async move { timed(app, org, method, &path, body).await }
            }))
            .await
            .into_iter()
            .map(|(status, ..)| status)
            .collect();
        if statuses.iter().all(StatusCode::is_success) {
            eprintln!(
                "served again {:?} after the database was back",
                back.elapsed()
            );
            break;
        }
        assert!(
            back.elapsed() < Duration::from_secs(2),
            "not served again 2 s after the database was back: {statuses:?}"
        );
        n += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The pools' idle connections from before an outage are dead once Postgres is back (they are not
/// tested before use), and no request used them while the database was known to be away: they
/// are tested before the instance says it is back, so no request fails on one afterwards
/// (before: a 503 for each, after the database was back).
#[tokio::test]
async fn once_the_database_is_back_no_request_fails_on_a_connection_the_outage_broke() {
    let (app, gate) = app_behind_gate().await;
    let org = app.org("acme").await;
    let (session_id, _) = session_with(&app, &org, &[]).await;
    let many = || {
        futures::future::join_all((0..30).map(|n| {
            let (app, org) = (&app, &org);
            let path = if n % 2 == 0 {
                "/v1/tools".to_owned()
            } else {
                format!("/v1/sessions/{session_id}")
            };
            async move {
                let (status, _, problem, _) = timed(app, org, Method::GET, &path, None).await;
                (path, status, problem)
            }
        }))
    };
    // Many requests at once: the pool holds many idle connections when the outage cuts them.
    for (path, status, problem) in many().await {
        assert_eq!(status, StatusCode::OK, "{path}: {problem}");
    }
    gate.close().await;
    let (status, ..) = timed(&app, &org, Method::GET, "/v1/tools", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    // Past the API key cache's second, so authentication needs the database too.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, ..) = timed(&app, &org, Method::GET, "/v1/tools", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    gate.open().await;
    // The instance finds it back within ~25 ms (nothing asked meanwhile), then every request
    // is served, the first ones included.
    tokio::time::sleep(Duration::from_secs(1)).await;
    for (path, status, problem) in many().await {
        assert_eq!(status, StatusCode::OK, "{path}: {problem}");
    }
}

/// Waits for `/readyz` to answer 200 (the instance has found the database back), at most `within`.
pub(crate) async fn ready_within(app: &TestApp, within: Duration) {
    let started = Instant::now();
    loop {
        let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
        if ready.status() == StatusCode::OK {
            return;
        }
        assert!(
            started.elapsed() < within,
            "not ready {within:?} after the database was back"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The conversation as stored, (role, content) in order, read straight from the database.
pub(crate) async fn stored_messages(pool: &PgPool, session_id: &str) -> Vec<(String, String)> {
    sqlx::query_as(
        "SELECT role, content FROM conversation_messages WHERE session_id = $1::uuid ORDER BY seq",
    )
    .bind(session_id)
    .fetch_all(pool)
    .await
    .unwrap()
}

/// The delivery workers wait out an outage: once a claim of due calls fails for it they look
/// whether the database is away (`db::away`) and claim nothing while it is, then deliver again
/// as soon as it is back (a worker left believing it away would never deliver again).
#[tokio::test]
async fn delivery_waits_out_an_outage_and_delivers_once_the_database_is_back() {
    let (app, gate) = app_behind_gate().await;
    let org = app.org("acme").await;
    let receiver = Receiver::start(Reply::json(200, json!({"ok": true}))).await;
    let tool = json!({"type": "server", "subtype": "webhook", "name": "log_event",
        "description": "Log it", "url": receiver.url("/log"), "awaitResponse": false,
        "timeoutSeconds": 10});
    let (status, tool) = org.post(&app, "/v1/tools", &tool).await;
    assert_eq!(status, StatusCode::CREATED, "{tool}");
    let (session_id, _) =
        crate::harness::session(&app, &org, json!({"toolIds": [tool["id"]]})).await;
    gate.close().await;
    // The workers claim every 250 ms when idle: their claims fail, and the database is found
    // away, with no request asking for it.
    tokio::time::sleep(Duration::from_secs(3)).await;
    gate.open().await;
    ready_within(&app, Duration::from_secs(2)).await;
    let (status, body) = org
        .post(
            &app,
            &format!("/v1/sessions/{session_id}/tool-calls"),
            &json!({"toolCallId": "after", "toolName": "log_event", "arguments": {"n": 1}}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    for _ in 0..100 {
        if !receiver.requests().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        receiver.requests().len(),
        1,
        "delivered once the database was back"
    );
}
