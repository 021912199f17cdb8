//! Anthropic Messages (`POST {baseUrl}/v1/messages`, `stream: true`).
//!
//! A streamed answer is a series of named events: `message_start`, then for each content block
//! `content_block_start` (a `text` block, or a `tool_use` block with its `id` and `name`),
//! `content_block_delta`s (`text_delta`, or `input_json_delta` with a piece of the input's JSON)
//! and `content_block_stop` (a tool call is complete there), then `message_delta` (with the
//! `stop_reason`) and `message_stop`. `ping` may come anywhere; `error` ends the stream.
//! Tool results go back as `tool_result` blocks of a user message.

use serde_json::{json, Value};

use super::{AnswerBounds, Api, Calls, Delta, Msg, RequestParts, StreamError, StreamParser};

pub const API_VERSION: &str = "2023-06-01";
/// The Messages API requires `max_tokens`; used when the LLM sets none.
pub const DEFAULT_MAX_TOKENS: i32 = 1024;

pub fn body(parts: &RequestParts) -> Value {
    // Consecutive messages of one role are merged: tool results (and a user message after them)
    // travel together in one user message.
    let mut messages: Vec<(String, Vec<Value>)> = Vec::new();
    let mut push = |role: &str, blocks: Vec<Value>| match messages.last_mut() {
        Some((last, content)) if last == role => content.extend(blocks),
        _ => messages.push((role.to_owned(), blocks)),
    };
    for m in parts.messages {
        match m {
            Msg::User(text) => push("user", vec![json!({"type": "text", "text": text})]),
            Msg::Persona { text, calls } => {
                let mut blocks = Vec::new();
                if !text.is_empty() {
                    blocks.push(json!({"type": "text", "text": text}));
                }
                for c in calls {
                    // Input the LLM wrote as broken JSON is shown as an empty object; its result
                    // tells the LLM what was wrong.
                    let input: Value = serde_json::from_str(&c.arguments)
                        .ok()
                        .filter(Value::is_object)
                        .unwrap_or_else(|| json!({}));
                    blocks.push(
                        json!({"type": "tool_use", "id": c.id, "name": c.name, "input": input}),
                    );
                }
                if !blocks.is_empty() {
                    push("assistant", blocks);
                }
            }
            Msg::Tool {
                call_id,
                content,
                is_error,
            } => {
                let mut block =
                    json!({"type": "tool_result", "tool_use_id": call_id, "content": content});
                if *is_error {
                    block["is_error"] = json!(true);
                }
                push("user", vec![block]);
            }
        }
    }
    // The Messages API has no system role among its messages, and a conversation that ends with
    // the assistant would be continued, not answered: the note comes as the user's side.
    if let Some(note) = parts.follow_up {
        push(
            "user",
            vec![json!({"type": "text", "text": super::follow_up_text(note)})],
        );
    }
    let messages: Vec<Value> = messages
        .into_iter()
        .map(|(role, content)| json!({"role": role, "content": content}))
        .collect();
    let mut body = json!({
        "model": parts.model,
        "max_tokens": parts.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS),
        "messages": messages,
        "stream": true,
    });
    let map = body.as_object_mut().expect("an object");
    if let Some(system) = parts.system {
        map.insert("system".into(), json!(system));
    }
    if !parts.tools.is_empty() {
        map.insert("tools".into(), json!(parts.tools));
    }
    if let Some(t) = parts.temperature {
        map.insert("temperature".into(), json!(t));
    }
    body
}

/// The Anthropic Messages API.
pub struct Anthropic;

impl Api for Anthropic {
    fn endpoint(&self, base_url: &str) -> String {
        format!("{base_url}/v1/messages")
    }

    fn body(&self, parts: &RequestParts) -> Value {
        body(parts)
    }

    fn auth_headers(&self, api_key: Option<&str>) -> Vec<(&'static str, String)> {
        let mut headers = vec![("anthropic-version", API_VERSION.to_owned())];
        if let Some(k) = api_key {
            headers.push(("x-api-key", k.to_owned()));
        }
        headers
    }

    fn parser(&self, bounds: AnswerBounds) -> Box<dyn StreamParser> {
        Box::new(Parser::new(bounds))
    }
}

pub struct Parser {
    /// `tool_use` blocks being streamed, by block index.
    calls: Calls,
    stop_reason: Option<String>,
    done: bool,
}

impl Parser {
    pub fn new(bounds: AnswerBounds) -> Self {
        Self {
            calls: Calls::new(bounds),
            stop_reason: None,
            done: false,
        }
    }
}

/// A content block's index: without it, two blocks' pieces cannot be told apart.
fn block_index(value: &Value) -> Result<u64, StreamError> {
    value["index"]
        .as_u64()
        .ok_or_else(|| StreamError("the LLM streamed a content block without its `index`".into()))
}

impl StreamParser for Parser {
    fn feed(&mut self, event: &str, data: &str) -> Result<Vec<Delta>, StreamError> {
        let value: Value = serde_json::from_str(data)
            .map_err(|_| StreamError("the LLM streamed an event that is not JSON".into()))?;
        // The event's name is repeated as `type` in its data; the data is what counts.
        let kind = value["type"].as_str().unwrap_or(event);
        let mut out = Vec::new();
        match kind {
            "content_block_start" => {
                let index = block_index(&value)?;
                let block = &value["content_block"];
                match block["type"].as_str() {
                    Some("tool_use") => {
                        self.calls.add(
                            index,
                            block["id"].as_str(),
                            block["name"].as_str(),
                            Some(""),
                        );
                    }
                    Some("text") => {
                        if let Some(text) = block["text"].as_str().filter(|t| !t.is_empty()) {
                            out.push(Delta::Text(text.to_owned()));
                        }
                    }
                    _ => {}
                }
            }
            "content_block_delta" => {
                let index = block_index(&value)?;
                let delta = &value["delta"];
                match delta["type"].as_str() {
                    Some("text_delta") => {
                        if let Some(text) = delta["text"].as_str().filter(|t| !t.is_empty()) {
                            out.push(Delta::Text(text.to_owned()));
                        }
                    }
                    // Only pieces of a tool_use block that started count.
                    Some("input_json_delta") if self.calls.knows(index) => {
                        self.calls
                            .add(index, None, None, delta["partial_json"].as_str());
                    }
                    _ => {}
                }
            }
            "content_block_stop" => {
                let index = block_index(&value)?;
                out.extend(self.calls.close(index));
            }
            "message_delta" => {
                if let Some(reason) = value["delta"]["stop_reason"].as_str() {
                    self.stop_reason = Some(reason.to_owned());
                }
            }
            "message_stop" => out.extend(self.finish()),
            "error" => {
                let message = value["error"]["message"]
                    .as_str()
                    .unwrap_or("the LLM reported an error in its stream");
                return Err(StreamError(message.to_owned()));
            }
            _ => {}
        }
        Ok(out)
    }

    fn finish(&mut self) -> Vec<Delta> {
        if self.done {
            return Vec::new();
        }
        self.done = true;
        let mut out = self.calls.close_all();
        out.push(Delta::Done(self.stop_reason.take()));
        out
    }

    fn whole(&mut self, answer: &Value) -> Result<Vec<Delta>, StreamError> {
        if answer["type"] == "error" || answer.get("error").is_some() {
            let message = answer["error"]["message"]
                .as_str()
                .unwrap_or("the LLM answered an error");
            return Err(StreamError(message.to_owned()));
        }
        let Some(blocks) = answer["content"].as_array() else {
            return Err(StreamError(
                "the LLM answered JSON without `content`".into(),
            ));
        };
        let mut out = Vec::new();
        for (index, block) in (0u64..).zip(blocks) {
            match block["type"].as_str() {
                Some("text") => {
                    if let Some(text) = block["text"].as_str().filter(|t| !t.is_empty()) {
                        out.push(Delta::Text(text.to_owned()));
                    }
                }
                Some("tool_use") => {
                    let input = block.get("input").map(Value::to_string);
                    self.calls.add(
                        index,
                        block["id"].as_str(),
                        block["name"].as_str(),
                        Some(input.as_deref().unwrap_or("")),
                    );
                    out.extend(self.calls.close(index));
                }
                _ => {}
            }
        }
        self.stop_reason = answer["stop_reason"].as_str().map(str::to_owned);
        out.extend(self.finish());
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::AskedCall;

    const BOUNDS: AnswerBounds = AnswerBounds {
        argument_bytes: 1024,
        calls: 16,
    };

    #[test]
    fn a_whole_message_reads_as_a_stream() {
        let mut p = Parser::new(BOUNDS);
        let answer = json!({"id": "msg_1", "type": "message", "role": "assistant",
        "stop_reason": "tool_use",
        "content": [
            {"type": "text", "text": "Checking"},
            {"type": "tool_use", "id": "toolu_1", "name": "check_order_status", "input": {"orderId": "ORD-1"}}
        ]});
        assert_eq!(
            p.whole(&answer).unwrap(),
            [
                Delta::Text("Checking".into()),
                Delta::Call(AskedCall {
                    id: "toolu_1".into(),
                    name: "check_order_status".into(),
                    arguments: "{\"orderId\":\"ORD-1\"}".into()
                }),
                Delta::Done(Some("tool_use".into())),
            ]
        );
    }

    #[test]
    fn a_follow_up_note_comes_as_the_users_side() {
        let parts = RequestParts {
            model: "claude",
            system: Some("Be brief"),
            messages: &[
                Msg::User("hi".into()),
                Msg::Persona {
                    text: "Hello".into(),
                    calls: vec![],
                },
            ],
            tools: vec![],
            temperature: None,
            max_tokens: None,
            follow_up: Some("check job_1"),
        };
        let b = body(&parts);
        let last = b["messages"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(last["role"], "user");
        assert!(last["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("check job_1"));
    }

    #[test]
    fn a_block_without_an_index_is_refused() {
        let mut p = Parser::new(BOUNDS);
        let err = p
            .feed(
                "content_block_delta",
                r#"{"type": "content_block_delta", "delta": {"type": "text_delta", "text": "x"}}"#,
            )
            .unwrap_err();
        assert!(err.0.contains("`index`"), "{err}");
    }

    #[test]
    fn tool_use_blocks_complete_at_their_stop() {
        let mut p = Parser::new(BOUNDS);
        let events = [
            (
                "message_start",
                json!({"type": "message_start", "message": {"id": "msg_1", "role": "assistant", "content": []}}),
            ),
            (
                "content_block_start",
                json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
            ),
            ("ping", json!({"type": "ping"})),
            (
                "content_block_delta",
                json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Checking"}}),
            ),
            (
                "content_block_stop",
                json!({"type": "content_block_stop", "index": 0}),
            ),
            (
                "content_block_start",
                json!({"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "toolu_1", "name": "check_order_status", "input": {}}}),
            ),
            (
                "content_block_delta",
                json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "{\"orderId\": "}}),
            ),
            (
                "content_block_delta",
                json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "\"ORD-1\"}"}}),
            ),
            (
                "content_block_stop",
                json!({"type": "content_block_stop", "index": 1}),
            ),
            (
                "message_delta",
                json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null}, "usage": {"output_tokens": 9}}),
            ),
            ("message_stop", json!({"type": "message_stop"})),
        ];
        let mut all = Vec::new();
        for (name, data) in events {
            all.extend(p.feed(name, &data.to_string()).unwrap());
        }
        assert_eq!(
            all,
            [
                Delta::Text("Checking".into()),
                Delta::Call(AskedCall {
                    id: "toolu_1".into(),
                    name: "check_order_status".into(),
                    arguments: "{\"orderId\": \"ORD-1\"}".into()
                }),
                Delta::Done(Some("tool_use".into())),
            ]
        );
        let err = p
            .feed("error", r#"{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}"#)
            .unwrap_err();
        assert_eq!(err.0, "Overloaded");
    }

    #[test]
    fn tool_results_travel_in_one_user_message() {
        let calls = vec![
            AskedCall {
                id: "t1".into(),
                name: "a".into(),
                arguments: "{\"x\":1}".into(),
            },
            AskedCall {
                id: "t2".into(),
                name: "b".into(),
                arguments: "not json".into(),
            },
        ];
        let parts = RequestParts {
            model: "claude",
            system: Some("Be brief"),
            messages: &[
                Msg::User("hi".into()),
                Msg::Persona {
                    text: "On it".into(),
                    calls,
                },
                Msg::Tool {
                    call_id: "t1".into(),
                    content: "{\"ok\":1}".into(),
                    is_error: false,
                },
                Msg::Tool {
                    call_id: "t2".into(),
                    content: "{\"error\":{}}".into(),
                    is_error: true,
                },
            ],
            tools: vec![
                json!({"name": "a", "description": "d", "input_schema": {"type": "object"}}),
            ],
            temperature: Some(0.5),
            max_tokens: None,
            follow_up: None,
        };
        let b = body(&parts);
        assert_eq!(b["system"], "Be brief");
        assert_eq!(b["max_tokens"], 1024);
        let messages = b["messages"].as_array().unwrap();
        assert_eq!(messages.len(), 3);
        assert_eq!(
            messages[1]["content"][1],
            json!({"type": "tool_use", "id": "t1", "name": "a", "input": {"x": 1}})
        );
        assert_eq!(messages[1]["content"][2]["input"], json!({}));
        assert_eq!(messages[2]["role"], "user");
        assert_eq!(
            messages[2]["content"][1],
            json!({"type": "tool_result", "tool_use_id": "t2", "content": "{\"error\":{}}", "is_error": true})
        );
    }
}
