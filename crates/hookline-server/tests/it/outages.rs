//! The database going away and coming back, as the app sees it when Postgres restarts: every
//! connection ended ("terminating connection due to administrator command") and new ones refused
//! for a while. Nothing answered may be lost, and requests meanwhile answer 503 with
//! `Retry-After`, never 500.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;
use sqlx::PgPool;

use crate::engine::{call, session_with};
use crate::harness::{server_url, Receiver, Reply, TestApp};

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
