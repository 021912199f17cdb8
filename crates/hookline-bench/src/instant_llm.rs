//! An instant fake LLM for the conversation scenario: an OpenAI-compatible streaming endpoint that
//! answers a user message with one tool call (`lookup_order`, its arguments carrying a number) and
//! a tool result with one sentence, at once. Beside it, the webhook that tool calls: it measures
//! how long after the LLM wrote the call's last chunk the webhook request arrived — Hookline's
//! own time from a completed tool call in the stream to the webhook request.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

/// When each numbered call's last chunk left the fake LLM, and the gaps measured so far.
#[derive(Clone, Default)]
pub struct Gaps {
    next: Arc<AtomicU64>,
    sent: Arc<Mutex<HashMap<u64, Instant>>>,
    gaps: Arc<Mutex<Vec<Duration>>>,
}

impl Gaps {
    /// The gaps measured since the last call, sorted.
    pub fn take(&self) -> Vec<Duration> {
        let mut all = std::mem::take(&mut *self.gaps.lock().expect("not poisoned"));
        all.sort();
        all
    }
}

fn chunk(delta: Value, finish: Option<&str>) -> String {
    let c = json!({"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 0,
                   "model": "instant", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]});
    format!("data: {c}\n\n")
}

/// Starts the fake LLM and the webhook on loopback; returns their addresses.
pub async fn start(gaps: Gaps) -> anyhow::Result<(SocketAddr, SocketAddr)> {
    let llm_gaps = gaps.clone();
    let llm = Router::new().route(
        "/v1/chat/completions",
        post(move |Json(body): Json<Value>| {
            let gaps = llm_gaps.clone();
            async move {
                let messages = body["messages"].as_array().cloned().unwrap_or_default();
                let after_tool = messages.last().is_some_and(|m| m["role"] == "tool");
                let mut out = chunk(json!({"role": "assistant", "content": ""}), None);
                let n = if after_tool {
                    out.push_str(&chunk(json!({"content": "Your order has shipped."}), None));
                    out.push_str(&chunk(json!({}), Some("stop")));
                    None
                } else {
                    let n = gaps.next.fetch_add(1, Ordering::Relaxed);
                    let args = json!({"orderId": n.to_string()}).to_string();
                    out.push_str(&chunk(
                        json!({"tool_calls": [{"index": 0, "id": format!("call_{n}"), "type": "function",
                                "function": {"name": "lookup_order", "arguments": args}}]}),
                        None,
                    ));
                    out.push_str(&chunk(json!({}), Some("tool_calls")));
                    Some(n)
                };
                out.push_str("data: [DONE]\n\n");
                if let Some(n) = n {
                    // The whole answer goes out in one write: the call is complete from here on.
                    gaps.sent
                        .lock()
                        .expect("not poisoned")
                        .insert(n, Instant::now());
                }
                ([("content-type", "text/event-stream")], out)
            }
        }),
    );
    let hook_gaps = gaps.clone();
    let hook = Router::new().route(
        "/conv-hook",
        post(move |Json(body): Json<Value>| {
            let gaps = hook_gaps.clone();
            async move {
                let arrived = Instant::now();
                let n: Option<u64> = body["orderId"].as_str().and_then(|s| s.parse().ok());
                let sent = n.and_then(|n| gaps.sent.lock().expect("not poisoned").remove(&n));
                if let Some(sent) = sent {
                    gaps.gaps
                        .lock()
                        .expect("not poisoned")
                        .push(arrived.saturating_duration_since(sent));
                }
                Json(json!({"status": "shipped", "trackingNumber": "1Z999AA10123456784"}))
            }
        }),
    );
    let serve = |router: Router| async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move { axum::serve(listener, router).await });
        anyhow::Ok(addr)
    };
    Ok((serve(llm).await?, serve(hook).await?))
}
