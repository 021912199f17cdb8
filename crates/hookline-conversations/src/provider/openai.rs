//! OpenAI Chat Completions (`POST {baseUrl}/chat/completions`, `stream: true`), which OpenAI and
//! the compatible servers (vLLM, Ollama, llama.cpp's server, LM Studio, gateways) speak.
//!
//! A streamed answer is a series of `chat.completion.chunk` objects, then `data: [DONE]`. Tool
//! calls arrive as `delta.tool_calls` entries keyed by `index`: the first piece of a call
//! carries its `id` and `function.name`, later ones pieces of `function.arguments`. Most servers
//! stream calls one after the other, so a call whose arguments are whole JSON when the next
//! index starts may run at once; some gateways interleave the pieces of parallel calls, which
//! are then complete at `finish_reason` (or when the stream ends). A server that ignores
//! `stream: true` answers one `chat.completion` object, read as one chunk.

use serde_json::{json, Value};

use super::{AnswerBounds, Api, Calls, Delta, Msg, RequestParts, StreamError, StreamParser};

/// The OpenAI Chat Completions API.
pub struct OpenAi;

impl Api for OpenAi {
    fn endpoint(&self, base_url: &str) -> String {
        format!("{base_url}/chat/completions")
    }

    fn body(&self, parts: &RequestParts) -> Value {
        body(parts)
    }

    fn auth_headers(&self, api_key: Option<&str>) -> Vec<(&'static str, String)> {
        api_key
            .map(|k| vec![("authorization", format!("Bearer {k}"))])
            .unwrap_or_default()
    }

    fn parser(&self, bounds: AnswerBounds) -> Box<dyn StreamParser> {
        Box::new(Parser::new(bounds))
    }
}

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
    if let Some(note) = parts.follow_up {
        messages.push(json!({"role": "system", "content": super::follow_up_text(note)}));
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

pub struct Parser {
    calls: Calls,
    done: bool,
}

impl Parser {
    pub fn new(bounds: AnswerBounds) -> Self {
        Self {
            calls: Calls::new(bounds),
            done: false,
        }
    }

    fn choice(&mut self, choice: &Value, out: &mut Vec<Delta>) -> Result<(), StreamError> {
        // A streamed chunk says `delta`; a whole answer says `message`.
        let delta = choice.get("delta").unwrap_or(&choice["message"]);
        if let Some(text) = delta["content"].as_str().filter(|t| !t.is_empty()) {
            out.push(Delta::Text(text.to_owned()));
        }
        for call in delta["tool_calls"].as_array().into_iter().flatten() {
            let Some(index) = call["index"].as_u64() else {
                // Without it two calls' pieces cannot be told apart.
                return Err(StreamError(
                    "the LLM streamed a tool call without its `index`".into(),
                ));
            };
            if !self.calls.knows(index) {
                out.extend(self.calls.close_complete_below(index));
            }
            let function = &call["function"];
            self.calls.add(
                index,
                call["id"].as_str(),
                function["name"].as_str(),
                function["arguments"].as_str(),
            );
        }
        if let Some(reason) = choice["finish_reason"].as_str() {
            out.extend(self.calls.close_all());
            self.done = true;
            out.push(Delta::Done(Some(reason.to_owned())));
        }
        Ok(())
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
        if let Some(choice) = chunk["choices"].get(0) {
            self.choice(choice, &mut out)?;
        }
        Ok(out)
    }

    fn finish(&mut self) -> Vec<Delta> {
        let mut out = self.calls.close_all();
        if !self.done {
            self.done = true;
            out.push(Delta::Done(None));
        }
        out
    }

    fn whole(&mut self, answer: &Value) -> Result<Vec<Delta>, StreamError> {
        if let Some(message) = answer["error"]["message"].as_str() {
            return Err(StreamError(message.to_owned()));
        }
        let Some(choice) = answer["choices"].get(0) else {
            return Err(StreamError(
                "the LLM answered JSON without `choices`".into(),
            ));
        };
        // A whole message's calls carry no `index`: their place in the list is theirs.
        let mut choice = choice.clone();
        if let Some(calls) = choice["message"]["tool_calls"].as_array_mut() {
            for (i, call) in calls.iter_mut().enumerate() {
                if call.get("index").is_none() {
                    call["index"] = i.into();
                }
            }
        }
        let mut out = Vec::new();
        self.choice(&choice, &mut out)?;
        out.extend(self.finish());
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::{AskedCall, Refusal};

    const BOUNDS: AnswerBounds = AnswerBounds {
        argument_bytes: 1024,
        calls: 16,
    };

    fn call(id: &str, name: &str, arguments: &str) -> Delta {
        Delta::Call(AskedCall {
            id: id.into(),
            name: name.into(),
            arguments: arguments.into(),
        })
    }

    #[test]
    fn interleaved_parallel_calls_are_put_together_by_index() {
        let mut p = Parser::new(BOUNDS);
        let mut all = Vec::new();
        let header = |i: u64, id: &str, name: &str| {
            chunk(
                json!({"tool_calls": [{"index": i, "id": id, "type": "function",
                          "function": {"name": name, "arguments": ""}}]}),
                None,
            )
        };
        let piece = |i: u64, args: &str| {
            chunk(
                json!({"tool_calls": [{"index": i, "function": {"arguments": args}}]}),
                None,
            )
        };
        for data in [
            header(0, "call_a", "check_order_status"),
            header(1, "call_b", "get_weather"),
            piece(0, "{\"orderId\":"),
            piece(1, "{\"city\":"),
            piece(0, "\"ORD-1\"}"),
            piece(1, "\"Oslo\"}"),
            chunk(json!({}), Some("tool_calls")),
        ] {
            all.extend(p.feed("", &data).unwrap());
        }
        assert_eq!(
            all,
            [
                call("call_a", "check_order_status", "{\"orderId\":\"ORD-1\"}"),
                call("call_b", "get_weather", "{\"city\":\"Oslo\"}"),
                Delta::Done(Some("tool_calls".into())),
            ]
        );
    }

    #[test]
    fn a_call_without_an_index_is_refused() {
        let mut p = Parser::new(BOUNDS);
        let err = p
            .feed(
                "",
                &chunk(
                    json!({"tool_calls": [{"id": "c", "function": {"name": "t", "arguments": "{}"}}]}),
                    None,
                ),
            )
            .unwrap_err();
        assert!(err.0.contains("`index`"), "{err}");
    }

    #[test]
    fn a_whole_answer_reads_as_a_stream() {
        let mut p = Parser::new(AnswerBounds {
            argument_bytes: 8,
            calls: 16,
        });
        let answer = json!({"id": "chatcmpl-1", "object": "chat.completion", "choices": [{
        "index": 0, "finish_reason": "tool_calls",
        "message": {"role": "assistant", "content": "Looking",
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "a", "arguments": "{}"}},
                {"id": "c2", "type": "function", "function": {"name": "b", "arguments": "{\"x\":\"far too long\"}"}}
            ]}}]});
        assert_eq!(
            p.whole(&answer).unwrap(),
            [
                Delta::Text("Looking".into()),
                call("c1", "a", "{}"),
                Delta::Refused(
                    AskedCall {
                        id: "c2".into(),
                        name: "b".into(),
                        arguments: "{}".into()
                    },
                    Refusal::ArgumentsTooLarge { limit: 8 }
                ),
                Delta::Done(Some("tool_calls".into())),
            ]
        );
        assert!(Parser::new(BOUNDS).whole(&json!({"object": "x"})).is_err());
    }

    fn chunk(delta: Value, finish: Option<&str>) -> String {
        json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m",
               "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
        .to_string()
    }

    #[test]
    fn calls_complete_when_the_next_one_starts() {
        let mut p = Parser::new(BOUNDS);
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
            follow_up: None,
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
