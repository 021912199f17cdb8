//! The janitor's retention: what sessions over before it recorded is deleted, a batch at a time;
//! what newer or still active sessions recorded stays.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use crate::engine::{call, create_tool};
use crate::harness::{session, Receiver, Reply, TestApp};
use hookline_sessions::janitor::{sweep, Swept};

const DAY: Duration = Duration::from_secs(86_400);

/// (call-log rows, events, messages, session rows) of a session.
async fn held(pool: &PgPool, session_id: &str) -> (i64, i64, i64, i64) {
    sqlx::query_as(
        "SELECT (SELECT count(*) FROM tool_calls WHERE session_id = $1::uuid),
                (SELECT count(*) FROM session_events WHERE session_id = $1::uuid),
                (SELECT count(*) FROM conversation_messages WHERE session_id = $1::uuid),
                (SELECT count(*) FROM sessions WHERE id = $1::uuid)",
    )
    .bind(session_id)
    .fetch_one(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn retention_deletes_what_sessions_over_before_it_recorded_and_keeps_the_rest() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let receiver = Receiver::start(Reply::json(200, json!({"ok": true}))).await;
    let tool = json!({"type": "server", "subtype": "webhook", "name": "quick", "description": "d", "url": receiver.url("/quick")});
    let tool_id = create_tool(&app, &org, &tool).await;
    let mut sessions = Vec::new();
    for _ in 0..3 {
        let (id, _) = session(&app, &org, json!({"name": "Test", "toolIds": [tool_id]})).await;
        for n in 0..3 {
            let body = json!({"toolCallId": format!("c{n}"), "toolName": "quick"});
            let (status, answer) = call(&app, &org, &id, body).await;
            assert_eq!(status, StatusCode::OK, "{answer}");
        }
        for role in ["user", "persona"] {
            sqlx::query(
                "INSERT INTO conversation_messages (id, session_id, turn_id, role, content)
                 VALUES ($1, $2::uuid, $3, $4, 'hello')",
            )
            .bind(Uuid::now_v7())
            .bind(&id)
            .bind(Uuid::now_v7())
            .bind(role)
            .execute(&app.pool)
            .await
            .unwrap();
        }
        sessions.push(id);
    }
    let [old, recent, active] = [&sessions[0], &sessions[1], &sessions[2]];
    for ended in [old, recent] {
        let (status, _) = org
            .post(&app, &format!("/v1/sessions/{ended}/end"), &json!({}))
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    // Every call's end and event written: 3 calls, a start and an end each, and `sessionEnded`.
    for _ in 0..100 {
        if held(&app.pool, old).await.1 == 7 && held(&app.pool, recent).await.1 == 7 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let before = [
        held(&app.pool, old).await,
        held(&app.pool, recent).await,
        held(&app.pool, active).await,
    ];
    assert_eq!(before, [(3, 7, 2, 1), (3, 7, 2, 1), (3, 6, 2, 1)]);
    // Ended ten days ago, and two; the active session's rows are a month old.
    for (id, days) in [(old, 10), (recent, 2)] {
        sqlx::query("UPDATE sessions SET ended_at = now() - make_interval(days => $2), created_at = now() - interval '40 days' WHERE id = $1::uuid")
            .bind(id)
            .bind(days)
            .execute(&app.pool)
            .await
            .unwrap();
    }
    for table in ["tool_calls", "session_events", "conversation_messages"] {
        sqlx::query(&format!(
            "UPDATE {table} SET created_at = now() - interval '30 days'"
        ))
        .execute(&app.pool)
        .await
        .unwrap();
    }

    // Off: nothing goes.
    let swept = sweep(&app.pool, None, 2).await.unwrap();
    assert_eq!(swept, Swept::default());
    // A week, two rows a statement: the session ended ten days ago goes, whole.
    let swept = sweep(&app.pool, Some(7 * DAY), 2).await.unwrap();
    assert_eq!(
        swept,
        Swept {
            tokens: 0,
            calls: 3,
            events: 7,
            messages: 2,
            sessions: 1
        }
    );
    assert_eq!(held(&app.pool, old).await, (0, 0, 0, 0));
    assert_eq!(held(&app.pool, recent).await, before[1]);
    assert_eq!(held(&app.pool, active).await, before[2]);
    let (status, _) = org.get(&app, &format!("/v1/sessions/{old}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = org.get(&app, &format!("/v1/sessions/{recent}")).await;
    assert_eq!(status, StatusCode::OK);

    // A day: the session ended two days ago goes too; the active one stays.
    let swept = sweep(&app.pool, Some(DAY), 1_000).await.unwrap();
    assert_eq!((swept.calls, swept.events, swept.sessions), (3, 7, 1));
    assert_eq!(held(&app.pool, recent).await, (0, 0, 0, 0));
    assert_eq!(held(&app.pool, active).await, before[2]);
}

/// `HOOKLINE_SESSION_RETENTION_DAYS=0` keeps everything; the default is a week.
#[test]
fn retention_days_zero_is_off() {
    use hookline_core::settings::Settings;
    let check = |days| {
        Settings::check(
            crate::harness::RawSettings {
                session_retention_days: days,
                ..crate::harness::raw_settings()
            },
            false,
        )
        .unwrap()
        .session_retention
    };
    assert_eq!(check(0), None);
    assert_eq!(check(30), Some(30 * DAY));
    assert_eq!(
        crate::harness::RawSettings::default().session_retention_days,
        7
    );
}
