//! The two wire APIs an LLM may speak, behind one shape: a request built from the system prompt,
//! the conversation and the tools, and a stream of [`Delta`]s parsed from the answer's
//! Server-Sent Events. The adapters are thin on purpose: they know the JSON of each API and
//! nothing of sessions, the database or the engine.

pub mod anthropic;
mod calls;
pub mod openai;

use serde_json::Value;

use hookline_core::StoredCall;
use hookline_schema::Provider;

pub use calls::{AnswerBounds, Calls, Refusal};

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
    /// A follow-up the persona scheduled is due: its note, where its turn begins (no user
    /// message began that turn).
    FollowUp(String),
}

/// A tool call as the LLM asked for it; `arguments` is its JSON text, exactly as streamed.
#[derive(Debug, Clone, PartialEq)]
pub struct AskedCall {
    pub id: String,
    pub name: String,
    pub arguments: String,
}

/// A call as a persona message stores it.
impl From<&AskedCall> for StoredCall {
    fn from(c: &AskedCall) -> Self {
        Self {
            tool_call_id: c.id.clone(),
            tool_name: c.name.clone(),
            arguments: c.arguments.clone(),
        }
    }
}

/// A stored call, asked for again in the conversation the LLM is shown.
impl From<&StoredCall> for AskedCall {
    fn from(c: &StoredCall) -> Self {
        Self {
            id: c.tool_call_id.clone(),
            name: c.tool_name.clone(),
            arguments: c.arguments.clone(),
        }
    }
}

/// What an answer's stream says, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Delta {
    Text(String),
    /// A call whose arguments are complete: it may start now, before the answer ends.
    Call(AskedCall),
    /// A call that is not run (its arguments, if any, were dropped): the LLM is told why.
    Refused(AskedCall, Refusal),
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

/// How a due follow-up's note is put to the LLM.
pub fn follow_up_text(note: &str) -> String {
    format!(
        "A follow-up you scheduled is due now (the user has not said anything new). Your note: {note}"
    )
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
    /// A whole answer (a server that answered a streaming request with one JSON object), read
    /// under the same bounds as a stream, then finished.
    fn whole(&mut self, answer: &Value) -> Result<Vec<Delta>, StreamError>;
}

/// One wire API an LLM speaks: where requests go, what they hold, how the key travels and how
/// the answer reads. Chosen once per request by [`api`].
pub trait Api: Send + Sync {
    /// The endpoint path appended to `baseUrl`.
    fn endpoint(&self, base_url: &str) -> String;
    fn body(&self, parts: &RequestParts) -> Value;
    /// The headers that carry the key (and the API version).
    fn auth_headers(&self, api_key: Option<&str>) -> Vec<(&'static str, String)>;
    fn parser(&self, bounds: AnswerBounds) -> Box<dyn StreamParser>;
}

pub fn api(provider: Provider) -> &'static dyn Api {
    match provider {
        Provider::OpenAi => &openai::OpenAi,
        Provider::Anthropic => &anthropic::Anthropic,
    }
}

/// How much of an error answer's text becomes its message.
const ERROR_MESSAGE_BYTES: usize = 1024;

/// The message an error answer carries (`{"error": {"message"}}` in both APIs), else its text;
/// at most its first KiB.
pub fn error_message(body: &[u8]) -> String {
    let message = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| {
            let head = &body[..body.len().min(ERROR_MESSAGE_BYTES)];
            String::from_utf8_lossy(head).into_owned()
        });
    hookline_core::text::cut(&message, ERROR_MESSAGE_BYTES).to_owned()
}
