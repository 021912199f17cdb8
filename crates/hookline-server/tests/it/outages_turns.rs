//! Conversations during a database outage (see `outages` for how one is made): a reply spoken
//! while the database is away is stored once it is back, a turn that cannot begin answers 503 or
//! is told failed later, and a turn given back during a blip frees its session.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use sqlx::PgPool;

use crate::conversations::say;
use crate::fake_llm::FakeLlm;
use crate::harness::{Org, Receiver, TestApp};
use crate::interruptions::refund_under_way;
use crate::outages::{app_behind_gate, ready_within, stored_messages, timed, DbGate, Outage};

/// A turn whose words arrive while the database is away stores its reply, whole and once, when
/// the database is back (the turn's writer used to fail at the first refused write and end the
/// turn with its reply unstored).
#[tokio::test]
async fn a_turn_speaking_during_an_outage_stores_its_reply_once_the_database_is_back() {
    use crate::conversations::{post_message, talkative, LONG};
    use crate::fake_llm::{Answer, Say};

    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let fake = FakeLlm::start().await;
    fake.then(Answer::openai(vec![Say::Text(LONG)]).paced(Duration::from_millis(100)));
    let (session_id, _) = talkative(&app, &org, &fake, "openai", &[]).await;
    let outage = Outage::of(&app).await;
    post_message(&app, &org, &session_id, "Tell me about shipping").await;
    // The LLM is asked, then the database goes away while its words stream out (~2.5 s), and
    // comes back after the reply is done.
    for _ in 0..500 {
        if !fake.requests().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(fake.requests().len(), 1);
    outage.begin().await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    outage.end().await;

    let pool = outage.pool().await;
    let mut stored = Vec::new();
    for _ in 0..150 {
        stored = sqlx::query_as::<_, (String, String, bool)>(
            "SELECT role, content, interrupted FROM conversation_messages
             WHERE session_id = $1::uuid ORDER BY seq",
        )
        .bind(&session_id)
        .fetch_all(&pool)
        .await
        .unwrap();
        if stored.len() == 2 && stored[1].1 == LONG {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        stored,
        [
            (
                "user".to_owned(),
                "Tell me about shipping".to_owned(),
                false
            ),
            ("persona".to_owned(), LONG.to_owned(), false)
        ]
    );
}

/// What the two refund tests share: an app whose database can be cut off (a gate), a session
/// whose first turn runs a refund that cannot be interrupted, answered in 3 s (so a message posted
/// meanwhile waits for the session's turn), and a pool of the test's own past the gate.
struct RefundBehindAGate {
    app: TestApp,
    gate: DbGate,
    org: Org,
    session_id: String,
    direct: PgPool,
    // Held so the refund's store and the LLM go on answering.
    _store: Receiver,
    _fake: FakeLlm,
}

impl RefundBehindAGate {
    async fn start() -> Self {
        let (app, gate) = app_behind_gate().await;
        let org = app.org("acme").await;
        let (session_id, _store, _fake) = refund_under_way(
            &app,
            &org,
            Duration::from_secs(3),
            "Your refund is issued.",
            "You're welcome.",
        )
        .await;
        let direct = Outage::of(&app).await.pool().await;
        Self {
            app,
            gate,
            org,
            session_id,
            direct,
            _store,
            _fake,
        }
    }

    /// Waits until the conversation as stored holds `message`, for `within` at most.
    async fn wait_until_stored(&self, message: (&str, &str), within: Duration) {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            let stored = stored_messages(&self.direct, &self.session_id).await;
            if stored
                .iter()
                .any(|(r, c)| (r.as_str(), c.as_str()) == message)
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// The database back after the refund was answered (the first turn ends, its reply stored).
    async fn back_after_the_refund(&self, away: Duration) {
        tokio::time::sleep(away).await;
        self.gate.open().await;
        ready_within(&self.app, Duration::from_secs(2)).await;
    }
}

/// The session's next turn answers `reply` at once: it does not wait for the lease (30 s) of a
/// turn the outage ended to run out.
async fn the_next_turn_starts_at_once(
    app: &TestApp,
    org: &Org,
    session_id: &str,
    text: &str,
    reply: &str,
) {
    let started = Instant::now();
    let next = say(app, org, session_id, text).await;
    assert_eq!(next["reply"]["content"], reply, "{next}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the next turn waited {:?} (the lease is 30 s)",
        started.elapsed()
    );
}

/// A turn whose caller waits (`?wait=true`) and which cannot begin because the database went
/// away answers 503 with `Retry-After`, as every request that needs the database does, and says
/// that its message was stored (before: 200 with `error.kind = "internal"`, as if the turn had
/// failed). Nothing is lost: the running turn's reply is stored once the database is back, the
/// message is in the conversation once, and the session's next turn is not held up.
#[tokio::test]
async fn a_waited_turn_that_cannot_begin_during_an_outage_answers_503() {
    let refund = RefundBehindAGate::start().await;
    let (app, org, session_id) = (&refund.app, &refund.org, refund.session_id.as_str());
    let path = format!("/v1/sessions/{session_id}/messages?wait=true");
    let waiting = timed(
        app,
        org,
        Method::POST,
        &path,
        Some(json!({"content": "thanks"})),
    );
    let fault = async {
        refund
            .wait_until_stored(("user", "thanks"), Duration::from_secs(5))
            .await;
        refund.gate.close().await;
        Instant::now()
    };
    let ((status, retry_after, problem, _), closed) = tokio::join!(waiting, fault);
    let answered_after = closed.elapsed();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{problem}");
    assert_eq!(retry_after, "1");
    assert_eq!(problem["type"], "urn:hookline:problem:unavailable");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("the message was stored"),
        "{problem}"
    );
    assert!(problem["id"].is_string() && problem["turnId"].is_string());
    assert!(
        answered_after < Duration::from_secs(2),
        "answered {answered_after:?} after the database went away"
    );

    refund.back_after_the_refund(Duration::from_secs(3)).await;
    // The first turn's reply, held while the database was away, is stored once it is back.
    refund
        .wait_until_stored(
            ("persona", "Your refund is issued."),
            Duration::from_secs(10),
        )
        .await;
    the_next_turn_starts_at_once(app, org, session_id, "are you there?", "You're welcome.").await;
    let said: Vec<(String, String)> = stored_messages(&refund.direct, session_id)
        .await
        .into_iter()
        .filter(|(role, _)| role != "tool")
        .collect();
    let expected: Vec<(String, String)> = [
        ("user", "Refund ORD-9"),
        ("persona", ""),
        ("user", "thanks"),
        ("persona", "Your refund is issued."),
        ("user", "are you there?"),
        ("persona", "You're welcome."),
    ]
    .iter()
    .map(|(role, content)| ((*role).to_owned(), (*content).to_owned()))
    .collect();
    // Each once, in order: the refund's reply stored after the outage, the message whose turn
    // could not begin kept (and answered by the next turn), nothing twice.
    assert_eq!(said, expected);
}

/// A message posted without `?wait=true` whose turn cannot begin because the database went away
/// answers `202` at once (never a hang or a `500`), and its client hears the turn's end on the
/// stream once the database is back: a `turnFailed` naming the turn. Before, that event's write
/// failed with the outage and was dropped, so the client heard nothing at all.
#[tokio::test]
async fn a_turn_posted_without_waiting_that_cannot_begin_during_an_outage_is_told_failed_once_it_is_back(
) {
    let refund = RefundBehindAGate::start().await;
    let (app, org, session_id) = (&refund.app, &refund.org, refund.session_id.as_str());
    let path = format!("/v1/sessions/{session_id}/messages");
    let (status, _, posted, took) = timed(
        app,
        org,
        Method::POST,
        &path,
        Some(json!({"content": "thanks"})),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{posted}");
    assert!(took < Duration::from_secs(2), "answered after {took:?}");
    let turn_id = posted["turnId"].as_str().unwrap().to_owned();
    refund.gate.close().await;
    // The refund is answered meanwhile; the posted message's turn finds the database away.
    refund.back_after_the_refund(Duration::from_secs(4)).await;
    let mut failed = Vec::new();
    for _ in 0..100 {
        failed = sqlx::query_scalar::<_, Value>(
            "SELECT data::jsonb FROM session_events \
             WHERE session_id = $1::uuid AND event = 'turnFailed'",
        )
        .bind(session_id)
        .fetch_all(&refund.direct)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e["turnId"] == turn_id.as_str())
        .collect();
        if !failed.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(failed.len(), 1, "the turn's turnFailed, once: {failed:?}");
    assert!(
        failed[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("the database was not available"),
        "{failed:?}"
    );
    // The message is kept, once: the session's next turn answers it.
    let thanks = stored_messages(&refund.direct, session_id)
        .await
        .into_iter()
        .filter(|(_, content)| content == "thanks")
        .count();
    assert_eq!(thanks, 1);
}

/// A session's turn given back while the database is away (a turn the outage ended gives its
/// lease back as it ends) is given back once the database is there again (`durable_write` tries
/// it again), so the session's next turn starts at once instead of waiting for the lease to run
/// out (30 s). Before the give-back was tried again, a fault run found turns posted just after a
/// restart of Postgres waiting past their callers' timeouts.
#[tokio::test]
async fn a_turn_given_back_during_a_database_blip_frees_the_session_once_it_is_back() {
    use crate::conversations::talkative;
    use crate::fake_llm::{Answer, Say};
    use hookline_conversations::turn_lease::{Leases, TurnLease};

    let (app, gate) = app_behind_gate().await;
    let org = app.org("acme").await;
    let fake = FakeLlm::start().await;
    fake.then(Answer::openai(vec![Say::Text("Anything else?")]));
    let (session_id, _) = talkative(&app, &org, &fake, "openai", &[]).await;
    let session = uuid::Uuid::parse_str(&session_id).unwrap();
    // The session's turn, taken on the app's pool as a running turn takes it.
    let leases = Leases::default();
    let (_latest_tx, latest) = tokio::sync::watch::channel(0);
    let lease = TurnLease::take(&app.pool, &leases, session, 0, latest, None)
        .await
        .unwrap()
        .expect("the session's turn is free");
    gate.close().await;
    // Fails (the database is away) and is tried again in the background.
    lease.give_back().await;
    let direct = Outage::of(&app).await.pool().await;
    let held: Option<uuid::Uuid> = sqlx::query_scalar(
        "SELECT holder FROM session_turns WHERE session_id = $1 AND lease_until > now()",
    )
    .bind(session)
    .fetch_optional(&direct)
    .await
    .unwrap();
    assert!(held.is_some(), "given back while the database was away?");
    tokio::time::sleep(Duration::from_secs(1)).await;
    gate.open().await;
    ready_within(&app, Duration::from_secs(2)).await;
    the_next_turn_starts_at_once(&app, &org, &session_id, "Hello", "Anything else?").await;
}
