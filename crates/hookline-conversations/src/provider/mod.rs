//! The two wire APIs an LLM may speak, behind one shape: a request built from the system prompt,
//! the conversation and the tools, and a stream of [`Delta`]s parsed from the answer's
//! Server-Sent Events. The adapters are thin on purpose: they know the JSON of each API and
//! nothing of sessions, the database or the engine.

pub mod anthropic;
pub mod openai;

use serde_json::Value;

use hookline_schema::Provider;

/// One message of the conversation as the LLM is shown it.
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    User(String),
    /// The persona's words and the tool calls it asked for in the same response.
    Persona {
        text: String,
        calls: Vec<AskedCall>,
    },
    /// A tool's result (JSON text), answering the call `call_id`.
    Tool {
        call_id: String,
        content: String,
        is_error: bool,
    },
}

/// A tool call as the LLM asked for it; `arguments` is its JSON text, exactly as streamed.
#[derive(Debug, Clone, PartialEq)]
pub struct AskedCall {
    pub id: String,
    pub name: String,
    pub arguments: String,
}

/// What an answer's stream says, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Delta {
    Text(String),
    /// A call whose arguments are complete: it may start now, before the answer ends.
    Call(AskedCall),
    /// The answer is over (`finish_reason` / `stop_reason` as the API named it).
    Done(Option<String>),
}

/// What a request needs besides the conversation.
pub struct RequestParts<'a> {
    pub model: &'a str,
    pub system: Option<&'a str>,
    pub messages: &'a [Msg],
    /// Each tool declared in the provider's own format.
    pub tools: Vec<Value>,
    pub temperature: Option<f64>,
    pub max_tokens: Option<i32>,
}

/// A stream that said something the API never says.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct StreamError(pub String);

/// Turns the events of one answer into deltas.
pub trait StreamParser: Send {
    /// `event` is the SSE event name (empty when the stream names none).
    fn feed(&mut self, event: &str, data: &str) -> Result<Vec<Delta>, StreamError>;
    /// The stream ended: calls still open are complete now.
    fn finish(&mut self) -> Vec<Delta>;
}

/// The endpoint path appended to `baseUrl`.
pub fn endpoint(provider: Provider, base_url: &str) -> String {
    match provider {
        Provider::OpenAi => format!("{base_url}/chat/completions"),
        Provider::Anthropic => format!("{base_url}/v1/messages"),
    }
}

/// The request body for `provider`.
pub fn body(provider: Provider, parts: &RequestParts) -> Value {
    match provider {
        Provider::OpenAi => openai::body(parts),
        Provider::Anthropic => anthropic::body(parts),
    }
}

/// The headers that carry the key (and the API version) for `provider`.
pub fn auth_headers(provider: Provider, api_key: Option<&str>) -> Vec<(&'static str, String)> {
    match provider {
        Provider::OpenAi => api_key
            .map(|k| vec![("authorization", format!("Bearer {k}"))])
            .unwrap_or_default(),
        Provider::Anthropic => {
            let mut headers = vec![("anthropic-version", anthropic::API_VERSION.to_owned())];
            if let Some(k) = api_key {
                headers.push(("x-api-key", k.to_owned()));
            }
            headers
        }
    }
}

pub fn parser(provider: Provider) -> Box<dyn StreamParser> {
    match provider {
        Provider::OpenAi => Box::<openai::Parser>::default(),
        Provider::Anthropic => Box::<anthropic::Parser>::default(),
    }
}

/// The message an error answer carries (`{"error": {"message"}}` in both APIs), else its text.
pub fn error_message(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| text.chars().take(500).collect())
}
