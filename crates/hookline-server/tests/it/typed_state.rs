//! Typed state: a call's status, tool type and error, and event names, are read back from the
//! database as the enums and struct that wrote them, and the database refuses any other value
//! (the CHECK constraints of migration 0005), so a stray string can never be stored.

use reqwest::StatusCode;
use serde_json::json;
use sqlx::types::Json;
use uuid::Uuid;

use hookline_core::{CallFailure, CallStatus, ErrorKind, EventName, Role};
use hookline_schema::ToolType;

use crate::harness::{session, Org, TestApp};

/// The name of the constraint a statement broke, or a panic when it was not refused.
fn broken_constraint(result: Result<sqlx::postgres::PgQueryResult, sqlx::Error>) -> String {
    match result {
        Err(sqlx::Error::Database(e)) => e.constraint().unwrap_or_default().to_owned(),
        other => panic!("expected a refused statement, got {other:?}"),
    }
}

#[tokio::test]
async fn states_round_trip_and_the_database_refuses_unknown_ones() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let card = json!({
        "type": "client", "name": "show_card", "description": "Shows a card",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    });
    let (status, tool) = org.post(&app, "/v1/tools", &card).await;
    assert_eq!(status, StatusCode::CREATED, "{tool}");
    let tool_id: Uuid = tool["id"].as_str().unwrap().parse().unwrap();
    let (session_id, _) = session(
        &app,
        &org,
        json!({"tools": [card, {"type": "system", "name": "skip_turn"}]}),
    )
    .await;
    let path = format!("/v1/sessions/{session_id}/tool-calls");
    let session_id: Uuid = session_id.parse().unwrap();

    let failed_id = a_failed_call_reads_back_its_error(&app, &org, &path).await;
    a_completed_call_and_its_events_read_back(&app, &org, &path, session_id).await;
    unknown_states_are_refused(&app, failed_id, tool_id, session_id).await;
    messages_refuse_unknown_roles_and_misplaced_errors(&app, session_id).await;
    // The states written by the enums themselves are accepted.
    for s in CallStatus::ALL {
        sqlx::query("UPDATE tool_calls SET status = $2 WHERE id = $1")
            .bind(failed_id)
            .bind(s)
            .execute(&app.pool)
            .await
            .unwrap();
    }
}

/// A failed call: its error is read back as the struct it was written from, and the log shows
/// the same error as the answer gave. The call's id.
async fn a_failed_call_reads_back_its_error(app: &TestApp, org: &Org, path: &str) -> Uuid {
    let (status, failed) = org
        .post(
            app,
            path,
            &json!({"toolName": "show_card", "arguments": {}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{failed}");
    assert_eq!(failed["status"], "failed");
    let failed_id: Uuid = failed["id"].as_str().unwrap().parse().unwrap();
    // The call log's writer is asynchronous: wait for the end to be stored.
    let mut row: Option<(CallStatus, ToolType, Option<Json<CallFailure>>)> = None;
    for _ in 0..100 {
        let found: (CallStatus, ToolType, Option<Json<CallFailure>>) =
            sqlx::query_as("SELECT status, tool_type, error FROM tool_calls WHERE id = $1")
                .bind(failed_id)
                .fetch_one(&app.pool)
                .await
                .unwrap();
        if found.0.is_settled() {
            row = Some(found);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let (status, tool_type, error) = row.expect("the call's end is stored");
    assert_eq!((status, tool_type), (CallStatus::Failed, ToolType::Client));
    let error = error.unwrap().0;
    assert_eq!(error.kind, ErrorKind::InvalidArguments);
    assert_eq!(error.errors[0].field, "arguments");
    assert_eq!(serde_json::to_value(&error).unwrap(), failed["error"]);
    let (status, shown) = org.get(app, &format!("/v1/tool-calls/{failed_id}")).await;
    assert_eq!(status, StatusCode::OK, "{shown}");
    assert_eq!(shown["error"], failed["error"]);
    assert_eq!(shown["toolType"], "client");
    failed_id
}

/// A completed call, and the events, are read back as enums too.
async fn a_completed_call_and_its_events_read_back(
    app: &TestApp,
    org: &Org,
    path: &str,
    session_id: Uuid,
) {
    let (status, done) = org.post(app, path, &json!({"toolName": "skip_turn"})).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["status"], "completed");
    let mut names: Vec<EventName> = Vec::new();
    for _ in 0..100 {
        names = sqlx::query_scalar(
            "SELECT event FROM session_events WHERE session_id = $1 ORDER BY seq",
        )
        .bind(session_id)
        .fetch_all(&app.pool)
        .await
        .unwrap();
        if names.len() == 4 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        names,
        [
            EventName::ToolCallStarted,
            EventName::ToolCallFailed,
            EventName::ToolCallStarted,
            EventName::ToolCallCompleted
        ]
    );
}

/// Anything outside the sets is refused by the database itself.
async fn unknown_states_are_refused(
    app: &TestApp,
    failed_id: Uuid,
    tool_id: Uuid,
    session_id: Uuid,
) {
    let update = |sql: &'static str| sqlx::query(sql).bind(failed_id).execute(&app.pool);
    assert_eq!(
        broken_constraint(update("UPDATE tool_calls SET status = 'done' WHERE id = $1").await),
        "tool_calls_status_check"
    );
    assert_eq!(
        broken_constraint(
            update("UPDATE tool_calls SET tool_type = 'webhook' WHERE id = $1").await
        ),
        "tool_calls_tool_type_check"
    );
    assert_eq!(
        broken_constraint(
            update(
                r#"UPDATE tool_calls SET error = '{"kind": "oops", "message": "x"}' WHERE id = $1"#
            )
            .await
        ),
        "tool_calls_error_check"
    );
    assert_eq!(
        broken_constraint(
            update(r#"UPDATE tool_calls SET error = '{"kind": "timeout"}' WHERE id = $1"#).await
        ),
        "tool_calls_error_check"
    );
    assert_eq!(
        broken_constraint(
            sqlx::query("UPDATE tools SET tool_type = 'webhook' WHERE id = $1")
                .bind(tool_id)
                .execute(&app.pool)
                .await
        ),
        "tools_tool_type_check"
    );
    assert_eq!(
        broken_constraint(
            sqlx::query(
                "INSERT INTO session_events (session_id, seq, event, data)
                 VALUES ($1, 1000, 'toolCallExploded', '{}')"
            )
            .bind(session_id)
            .execute(&app.pool)
            .await
        ),
        "session_events_event_check"
    );
}

/// A conversation's message: who said it, and an error only on a tool's result.
async fn messages_refuse_unknown_roles_and_misplaced_errors(app: &TestApp, session_id: Uuid) {
    let message = |role: &'static str, is_error: bool| {
        sqlx::query(
            "INSERT INTO conversation_messages (id, session_id, turn_id, role, content, is_error)
             VALUES ($1, $2, $1, $3, 'x', $4)",
        )
        .bind(Uuid::now_v7())
        .bind(session_id)
        .bind(role)
        .bind(is_error)
        .execute(&app.pool)
    };
    assert_eq!(
        broken_constraint(message("assistant", false).await),
        "conversation_messages_role_check"
    );
    assert_eq!(
        broken_constraint(message("persona", true).await),
        "conversation_messages_is_error_check"
    );
    for role in [Role::User, Role::Persona, Role::Tool] {
        message(role.as_str(), role == Role::Tool).await.unwrap();
    }
}
