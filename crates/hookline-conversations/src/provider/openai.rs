//! OpenAI Chat Completions (`POST {baseUrl}/chat/completions`, `stream: true`), which OpenAI and
//! the compatible servers (vLLM, Ollama, llama.cpp's server, LM Studio, gateways) speak.
//!
//! A streamed answer is a series of `chat.completion.chunk` objects, then `data: [DONE]`. Tool
//! calls arrive as `delta.tool_calls` entries keyed by `index`: the first fragment of a call
//! carries its `id` and `function.name`, later ones pieces of `function.arguments`. Calls are
//! streamed one after the other, so a call is complete when a higher index starts, or when
//! `finish_reason` comes.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{AskedCall, Delta, Msg, RequestParts, StreamError, StreamParser};

pub fn body(parts: &RequestParts) -> Value {
    let mut messages = Vec::new();
    if let Some(system) = parts.system {
        messages.push(json!({"role": "system", "content": system}));
    }
    for m in parts.messages {
        messages.push(match m {
            Msg::User(text) => json!({"role": "user", "content": text}),
            Msg::Persona { text, calls } if calls.is_empty() => {
                json!({"role": "assistant", "content": text})
            }
            Msg::Persona { text, calls } => json!({
                "role": "assistant",
                "content": if text.is_empty() { Value::Null } else { json!(text) },
                "tool_calls": calls.iter().map(|c| json!({
                    "id": c.id, "type": "function",
                    "function": {"name": c.name, "arguments": c.arguments},
                })).collect::<Vec<_>>(),
            }),
            Msg::Tool {
                call_id, content, ..
            } => json!({"role": "tool", "tool_call_id": call_id, "content": content}),
        });
    }
    let mut body = json!({"model": parts.model, "messages": messages, "stream": true});
    let map = body.as_object_mut().expect("an object");
    if !parts.tools.is_empty() {
        map.insert("tools".into(), json!(parts.tools));
    }
    if let Some(t) = parts.temperature {
        map.insert("temperature".into(), json!(t));
    }
    if let Some(n) = parts.max_tokens {
        map.insert("max_tokens".into(), json!(n));
    }
    body
}

#[derive(Default)]
pub struct Parser {
    /// Calls being streamed, by index.
    open: BTreeMap<u64, AskedCall>,
    done: bool,
}

impl Parser {
    /// Every open call below `index` is complete (its successor has started).
    fn close_below(&mut self, index: u64, out: &mut Vec<Delta>) {
        let still_open = self.open.split_off(&index);
        let closed = std::mem::replace(&mut self.open, still_open);
        out.extend(closed.into_values().map(Delta::Call));
    }
}

impl StreamParser for Parser {
    fn feed(&mut self, _event: &str, data: &str) -> Result<Vec<Delta>, StreamError> {
        let mut out = Vec::new();
        if data.trim() == "[DONE]" {
            out.extend(self.finish());
            return Ok(out);
        }
        let chunk: Value = serde_json::from_str(data)
            .map_err(|_| StreamError("the LLM streamed a chunk that is not JSON".into()))?;
        if let Some(message) = chunk["error"]["message"].as_str() {
            return Err(StreamError(message.to_owned()));
        }
        // A usage-only chunk has no choices; only the first choice is asked for.
        let Some(choice) = chunk["choices"].get(0) else {
            return Ok(out);
        };
        let delta = &choice["delta"];
        if let Some(text) = delta["content"].as_str().filter(|t| !t.is_empty()) {
            out.push(Delta::Text(text.to_owned()));
        }
        for call in delta["tool_calls"].as_array().into_iter().flatten() {
            let index = call["index"].as_u64().unwrap_or(0);
            self.close_below(index, &mut out);
            let entry = self.open.entry(index).or_insert_with(|| AskedCall {
                id: String::new(),
                name: String::new(),
                arguments: String::new(),
            });
            if let Some(id) = call["id"].as_str() {
                entry.id = id.to_owned();
            }
            if let Some(name) = call["function"]["name"].as_str() {
                entry.name.push_str(name);
            }
            if let Some(fragment) = call["function"]["arguments"].as_str() {
                entry.arguments.push_str(fragment);
            }
        }
        if let Some(reason) = choice["finish_reason"].as_str() {
            self.close_below(u64::MAX, &mut out);
            self.done = true;
            out.push(Delta::Done(Some(reason.to_owned())));
        }
        Ok(out)
    }

    fn finish(&mut self) -> Vec<Delta> {
        let mut out = Vec::new();
        self.close_below(u64::MAX, &mut out);
        if !self.done {
            self.done = true;
            out.push(Delta::Done(None));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(delta: Value, finish: Option<&str>) -> String {
        json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m",
               "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
        .to_string()
    }

    #[test]
    fn calls_complete_when_the_next_one_starts() {
        let mut p = Parser::default();
        let mut all = Vec::new();
        for data in [
            chunk(json!({"role": "assistant", "content": ""}), None),
            chunk(json!({"content": "Let me look"}), None),
            chunk(
                json!({"tool_calls": [{"index": 0, "id": "call_a", "type": "function",
                          "function": {"name": "check_order_status", "arguments": ""}}]}),
                None,
            ),
            chunk(
                json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"orderId\":"}}]}),
                None,
            ),
            chunk(
                json!({"tool_calls": [{"index": 0, "function": {"arguments": "\"ORD-1\"}"}}]}),
                None,
            ),
            chunk(
                json!({"tool_calls": [{"index": 1, "id": "call_b", "type": "function",
                          "function": {"name": "end_call", "arguments": "{}"}}]}),
                None,
            ),
        ] {
            all.extend(p.feed("", &data).unwrap());
        }
        // The first call is out before the answer ends.
        assert_eq!(
            all,
            [
                Delta::Text("Let me look".into()),
                Delta::Call(AskedCall {
                    id: "call_a".into(),
                    name: "check_order_status".into(),
                    arguments: "{\"orderId\":\"ORD-1\"}".into()
                })
            ]
        );
        let end = p.feed("", &chunk(json!({}), Some("tool_calls"))).unwrap();
        assert_eq!(end.len(), 2);
        assert!(matches!(&end[0], Delta::Call(c) if c.id == "call_b"));
        assert_eq!(end[1], Delta::Done(Some("tool_calls".into())));
        assert_eq!(p.feed("", "[DONE]").unwrap(), []);
    }

    #[test]
    fn history_uses_the_api_roles() {
        let parts = RequestParts {
            model: "m",
            system: Some("Be brief"),
            messages: &[
                Msg::User("hi".into()),
                Msg::Persona {
                    text: String::new(),
                    calls: vec![AskedCall {
                        id: "c1".into(),
                        name: "t".into(),
                        arguments: "{}".into(),
                    }],
                },
                Msg::Tool {
                    call_id: "c1".into(),
                    content: "{\"ok\":true}".into(),
                    is_error: false,
                },
            ],
            tools: vec![],
            temperature: None,
            max_tokens: Some(10),
        };
        let b = body(&parts);
        assert_eq!(
            b["messages"][0],
            json!({"role": "system", "content": "Be brief"})
        );
        assert_eq!(b["messages"][2]["content"], Value::Null);
        assert_eq!(
            b["messages"][2]["tool_calls"][0]["function"]["arguments"],
            "{}"
        );
        assert_eq!(
            b["messages"][3],
            json!({"role": "tool", "tool_call_id": "c1", "content": "{\"ok\":true}"})
        );
        assert_eq!(b["max_tokens"], 10);
        assert!(b.get("tools").is_none());
    }
}
