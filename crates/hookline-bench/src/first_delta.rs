//! Message in → first text delta out, as a client sees it: each talking session has one event
//! stream open for the whole run, and a turn's time is from just before its message is posted to
//! when the persona's first words (a `messageStreamEvent` of the persona with text) arrive on
//! that stream. This is the turn overhead issue 13 names; the `?wait=true` answer that the turn
//! scenario also times comes later (after the turn's last writes are committed).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::mpsc;

/// Per session, the instants its stream delivered a turn's first words; and the times measured.
/// Clones share both. Streams are opened only for the turn scenario, so that no other scenario
/// pays for them.
#[derive(Clone, Default)]
pub struct FirstDeltas {
    arrivals: Arc<Mutex<HashMap<String, Arrivals>>>,
    measured: Arc<Mutex<Vec<Duration>>>,
}

/// A followed stream: when it delivered first words, and the task reading it.
#[derive(Clone)]
struct Arrivals {
    instants: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Instant>>>,
    reader: Arc<tokio::task::AbortHandle>,
}

impl FirstDeltas {
    /// Opens one event stream per session (API key auth) not yet followed; each is read until
    /// the run ends.
    pub async fn open(
        &self,
        hookline: SocketAddr,
        key: &str,
        sessions: &[String],
    ) -> anyhow::Result<()> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .tcp_nodelay(true)
            .build()?;
        for session in sessions {
            if self
                .arrivals
                .lock()
                .expect("not poisoned")
                .contains_key(session)
            {
                continue;
            }
            let response = client
                .get(format!("http://{hookline}/v1/sessions/{session}/events"))
                .bearer_auth(key)
                .send()
                .await?
                .error_for_status()?;
            let (tx, rx) = mpsc::unbounded_channel();
            let reader = tokio::spawn(read(response, tx)).abort_handle();
            self.arrivals.lock().expect("not poisoned").insert(
                session.clone(),
                Arrivals {
                    instants: Arc::new(tokio::sync::Mutex::new(rx)),
                    reader: Arc::new(reader),
                },
            );
        }
        Ok(())
    }

    /// Stops following a session's stream (its conversation is over): the stream is closed.
    pub fn close(&self, session: &str) {
        if let Some(followed) = self.arrivals.lock().expect("not poisoned").remove(session) {
            followed.reader.abort();
        }
    }

    /// Stops following every stream (the turn scenario is over): all are closed.
    pub fn close_all(&self) {
        for (_, followed) in self.arrivals.lock().expect("not poisoned").drain() {
            followed.reader.abort();
        }
    }

    /// Runs `post` (one turn of `session`) and notes how long after its start the session's
    /// stream delivered the persona's first words (waiting up to two seconds for them).
    pub async fn time<F: std::future::Future<Output = bool>>(
        &self,
        session: &str,
        post: F,
    ) -> bool {
        let found = self
            .arrivals
            .lock()
            .expect("not poisoned")
            .get(session)
            .cloned();
        let Some(arrivals) = found else {
            return post.await;
        };
        let mut arrivals = arrivals.instants.lock().await;
        // Words of an earlier turn that came after its timing gave up.
        while arrivals.try_recv().is_ok() {}
        let sent = Instant::now();
        let ok = post.await;
        if ok {
            if let Ok(Some(at)) =
                tokio::time::timeout(Duration::from_secs(2), arrivals.recv()).await
            {
                self.measured
                    .lock()
                    .expect("not poisoned")
                    .push(at.saturating_duration_since(sent));
            }
        }
        ok
    }

    /// The times measured since the last call, sorted.
    pub fn take(&self) -> Vec<Duration> {
        let mut all = std::mem::take(&mut *self.measured.lock().expect("not poisoned"));
        all.sort();
        all
    }
}

/// Reads a stream's events; sends the instant of each persona `messageStreamEvent` with text.
async fn read(mut response: reqwest::Response, tx: mpsc::UnboundedSender<Instant>) {
    let mut buffer = String::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let at = Instant::now();
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            if first_words(&block) && tx.send(at).is_err() {
                return;
            }
        }
    }
}

/// Whether an SSE block is a persona's `messageStreamEvent` carrying text.
fn first_words(block: &str) -> bool {
    let mut event = "";
    let mut data = String::new();
    for line in block.lines() {
        if let Some(v) = line.strip_prefix("event:") {
            event = v.trim();
        } else if let Some(v) = line.strip_prefix("data:") {
            data.push_str(v.trim_start());
        }
    }
    event == "messageStreamEvent"
        && serde_json::from_str::<Value>(&data).is_ok_and(|d| {
            d["role"] == "persona" && d["content"].as_str().is_some_and(|c| !c.is_empty())
        })
}
