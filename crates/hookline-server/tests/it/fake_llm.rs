//! Scripted fake LLM servers on 127.0.0.1:0, one per API, streaming exactly as the real APIs do
//! (OpenAI: `chat.completion.chunk`s with `tool_calls` deltas by index and arguments in
//! fragments, `finish_reason`, `[DONE]`; Anthropic: `message_start`, `content_block_start` /
//! `content_block_delta` (`text_delta`, `input_json_delta`) / `content_block_stop`,
//! `message_delta`, `message_stop`). Each request gets the next scripted answer and is recorded.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

/// One part of a scripted answer.
#[derive(Debug, Clone)]
pub enum Say {
    Text(&'static str),
    /// A tool call: its id, name, and its arguments' JSON in the fragments it is streamed in.
    Call(&'static str, &'static str, Vec<&'static str>),
}

pub fn call(id: &'static str, name: &'static str, args: &'static str) -> Say {
    // Split the arguments into fragments, as the APIs stream them.
    let mid = args.len() / 2;
    let mid = (mid..args.len())
        .find(|i| args.is_char_boundary(*i))
        .unwrap_or(args.len());
    Say::Call(id, name, vec![&args[..mid], &args[mid..]])
}

/// A scripted answer: an HTTP status, headers, and the SSE events streamed (each after `pace`).
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub events: Vec<(Option<String>, String)>,
    pub pace: Duration,
    /// Keep the connection open without a word after the events (a hung LLM).
    pub hang: bool,
    pub body: Option<String>,
    /// Raw bytes instead of events: `head`, then `piece` `times` times, then `tail` (a stream
    /// as large as a test needs, made as it is sent).
    pub raw: Option<Raw>,
}

#[derive(Debug, Clone)]
pub struct Raw {
    pub head: String,
    pub piece: String,
    pub times: usize,
    pub tail: String,
}

impl Answer {
    fn stream(events: Vec<(Option<String>, String)>) -> Self {
        Self {
            status: 200,
            headers: vec![("content-type".into(), "text/event-stream".into())],
            events,
            pace: Duration::ZERO,
            hang: false,
            body: None,
            raw: None,
        }
    }

    /// An answer of `content_type` whose body is `head`, `piece` repeated `times`, then `tail`.
    pub fn repeated(
        content_type: &str,
        head: String,
        piece: String,
        times: usize,
        tail: String,
    ) -> Self {
        Self {
            status: 200,
            headers: vec![("content-type".into(), content_type.into())],
            events: vec![],
            pace: Duration::ZERO,
            hang: false,
            body: None,
            raw: Some(Raw {
                head,
                piece,
                times,
                tail,
            }),
        }
    }

    /// A whole body of `content_type`, sent at once.
    pub fn whole(status: u16, content_type: &str, body: String) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), content_type.into())],
            events: vec![],
            pace: Duration::ZERO,
            hang: false,
            body: Some(body),
            raw: None,
        }
    }

    /// An error answer with a JSON body in the APIs' shape.
    pub fn error(status: u16, message: &str) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            events: vec![],
            pace: Duration::ZERO,
            hang: false,
            body: Some(json!({"error": {"type": "error", "message": message}}).to_string()),
            raw: None,
        }
    }

    pub fn paced(mut self, pace: Duration) -> Self {
        self.pace = pace;
        self
    }

    /// Streams all but the answer's end (finish chunk and `[DONE]`, or `message_delta` and
    /// `message_stop`), then keeps the connection open without a word.
    pub fn hanging(mut self) -> Self {
        let keep = self.events.len().saturating_sub(2);
        self.events.truncate(keep);
        self.hang = true;
        self
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// As OpenAI's Chat Completions streams it.
    pub fn openai(parts: Vec<Say>) -> Self {
        let chunk = |delta: Value, finish: Value| {
            json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1,
                   "model": "gpt-4o-mini", "system_fingerprint": "fp",
                   "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]})
            .to_string()
        };
        let mut events = vec![chunk(
            json!({"role": "assistant", "content": "", "refusal": null}),
            Value::Null,
        )];
        let mut index = 0;
        let mut called = false;
        for part in &parts {
            match part {
                Say::Text(t) => {
                    // Text streams in small pieces.
                    for piece in t.split_inclusive(' ') {
                        events.push(chunk(json!({"content": piece}), Value::Null));
                    }
                }
                Say::Call(id, name, fragments) => {
                    called = true;
                    events.push(chunk(
                        json!({"tool_calls": [{"index": index, "id": id, "type": "function",
                                "function": {"name": name, "arguments": ""}}]}),
                        Value::Null,
                    ));
                    for f in fragments {
                        events.push(chunk(
                            json!({"tool_calls": [{"index": index, "function": {"arguments": f}}]}),
                            Value::Null,
                        ));
                    }
                    index += 1;
                }
            }
        }
        let finish = if called { "tool_calls" } else { "stop" };
        events.push(chunk(json!({}), json!(finish)));
        events.push("[DONE]".into());
        Self::stream(events.into_iter().map(|d| (None, d)).collect())
    }

    /// As Anthropic's Messages API streams it.
    pub fn anthropic(parts: Vec<Say>) -> Self {
        let mut events: Vec<(Option<String>, String)> = Vec::new();
        let mut push = |name: &str, data: Value| events.push((Some(name.into()), data.to_string()));
        push(
            "message_start",
            json!({"type": "message_start", "message": {"id": "msg_1", "type": "message",
                   "role": "assistant", "content": [], "model": "claude-sonnet-4-5",
                   "stop_reason": null, "stop_sequence": null,
                   "usage": {"input_tokens": 25, "output_tokens": 1}}}),
        );
        let mut called = false;
        for (index, part) in parts.iter().enumerate() {
            match part {
                Say::Text(t) => {
                    push(
                        "content_block_start",
                        json!({"type": "content_block_start", "index": index,
                          "content_block": {"type": "text", "text": ""}}),
                    );
                    push("ping", json!({"type": "ping"}));
                    for piece in t.split_inclusive(' ') {
                        push(
                            "content_block_delta",
                            json!({"type": "content_block_delta", "index": index,
                              "delta": {"type": "text_delta", "text": piece}}),
                        );
                    }
                }
                Say::Call(id, name, fragments) => {
                    called = true;
                    push(
                        "content_block_start",
                        json!({"type": "content_block_start", "index": index,
                          "content_block": {"type": "tool_use", "id": id, "name": name, "input": {}}}),
                    );
                    push(
                        "content_block_delta",
                        json!({"type": "content_block_delta", "index": index,
                          "delta": {"type": "input_json_delta", "partial_json": ""}}),
                    );
                    for f in fragments {
                        push(
                            "content_block_delta",
                            json!({"type": "content_block_delta", "index": index,
                              "delta": {"type": "input_json_delta", "partial_json": f}}),
                        );
                    }
                }
            }
            push(
                "content_block_stop",
                json!({"type": "content_block_stop", "index": index}),
            );
        }
        let stop = if called { "tool_use" } else { "end_turn" };
        push(
            "message_delta",
            json!({"type": "message_delta",
              "delta": {"stop_reason": stop, "stop_sequence": null}, "usage": {"output_tokens": 15}}),
        );
        push("message_stop", json!({"type": "message_stop"}));
        Self::stream(events)
    }
}

/// A request the fake LLM got.
#[derive(Debug, Clone)]
pub struct LlmRequest {
    pub path: String,
    pub headers: axum::http::HeaderMap,
    pub body: Value,
}

impl LlmRequest {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or_default()
    }
}

#[derive(Clone)]
pub struct FakeLlm {
    pub addr: SocketAddr,
    script: Arc<Mutex<VecDeque<Answer>>>,
    recorded: Arc<Mutex<Vec<LlmRequest>>>,
}

impl FakeLlm {
    pub async fn start() -> Self {
        let script: Arc<Mutex<VecDeque<Answer>>> = Arc::default();
        let recorded: Arc<Mutex<Vec<LlmRequest>>> = Arc::default();
        let (scr, rec) = (script.clone(), recorded.clone());
        let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
            let (scr, rec) = (scr.clone(), rec.clone());
            async move {
                let (parts, body) = request.into_parts();
                let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
                rec.lock().unwrap().push(LlmRequest {
                    path: parts.uri.path().to_owned(),
                    headers: parts.headers.clone(),
                    body: serde_json::from_slice(&body).unwrap_or(Value::Null),
                });
                let answer = scr
                    .lock()
                    .unwrap()
                    .pop_front()
                    .unwrap_or_else(|| Answer::error(500, "the script has no more answers"));
                respond(answer)
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            addr,
            script,
            recorded,
        }
    }

    /// The `baseUrl` of an LLM pointing here (OpenAI's includes `/v1`).
    pub fn base_url(&self, openai: bool) -> String {
        if openai {
            format!("http://{}/v1", self.addr)
        } else {
            format!("http://{}", self.addr)
        }
    }

    pub fn then(&self, answer: Answer) -> &Self {
        self.script.lock().unwrap().push_back(answer);
        self
    }

    pub fn requests(&self) -> Vec<LlmRequest> {
        self.recorded.lock().unwrap().clone()
    }
}

fn respond(answer: Answer) -> axum::response::Response {
    let mut response = axum::response::Response::builder().status(answer.status);
    for (k, v) in &answer.headers {
        response = response.header(k, v);
    }
    if let Some(body) = answer.body {
        return response.body(axum::body::Body::from(body)).unwrap();
    }
    if let Some(raw) = answer.raw {
        let parts = std::iter::once(raw.head)
            .chain(std::iter::repeat_n(raw.piece, raw.times))
            .chain(std::iter::once(raw.tail))
            .map(Ok::<_, std::io::Error>);
        return response
            .body(axum::body::Body::from_stream(futures::stream::iter(parts)))
            .unwrap();
    }
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<String, std::io::Error>>(16);
    tokio::spawn(async move {
        for (name, data) in answer.events {
            tokio::time::sleep(answer.pace).await;
            let mut text = String::new();
            if let Some(name) = name {
                text.push_str(&format!("event: {name}\n"));
            }
            text.push_str(&format!("data: {data}\n\n"));
            if tx.send(Ok(text)).await.is_err() {
                return;
            }
        }
        if answer.hang {
            tokio::time::sleep(Duration::from_secs(600)).await;
        }
        drop(tx);
    });
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    response
        .body(axum::body::Body::from_stream(stream))
        .unwrap()
}
