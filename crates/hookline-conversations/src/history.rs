//! What the LLM is shown of the conversation: the stored messages in the order both APIs want,
//! and no more of them than the bounds allow.

use std::collections::HashMap;

use hookline_core::repo::messages::Message;
use hookline_core::Role;

use crate::provider::{AskedCall, Msg};
use crate::results;

/// How many of the most recent messages the LLM is sent.
pub const HISTORY_WINDOW: i64 = 100;

/// Drops the oldest messages until what the LLM is sent fits in `max_bytes`: a long
/// conversation is sent by size as well as by count. Messages from `keep` on (the current turn's,
/// or the newest one) are never dropped, and tool results whose call was dropped go with it.
pub(crate) fn trim_to_bytes(history: &mut Vec<Message>, max_bytes: usize, keep: usize) {
    let size = |m: &Message| {
        m.content.len()
            + m.tool_calls.as_ref().map_or(0, |calls| {
                calls
                    .0
                    .iter()
                    .map(|c| c.tool_call_id.len() + c.tool_name.len() + c.arguments.len())
                    .sum()
            })
    };
    let keep = keep.min(history.len().saturating_sub(1));
    let mut total: usize = history.iter().map(size).sum();
    let mut drop = 0;
    while drop < keep && (total > max_bytes || history[drop].role == Role::Tool) {
        total -= size(&history[drop]);
        drop += 1;
    }
    history.drain(..drop);
}

/// The stored conversation as the LLM is shown it. Each tool result follows the persona message
/// that asked for it (a user message may have been stored while the calls ran, and both APIs
/// want the results right after the calls); a call whose result is not in the window gets a
/// stand-in, and results whose call is not in the window are left out.
pub fn to_msgs(history: &[Message]) -> Vec<Msg> {
    let mut results: HashMap<&str, Msg> = HashMap::new();
    for m in history.iter().filter(|m| m.role == Role::Tool) {
        let call_id = m.tool_call_id.as_deref().unwrap_or_default();
        results.insert(
            call_id,
            Msg::Tool {
                call_id: call_id.to_owned(),
                content: m.content.clone(),
                is_error: m.is_error,
            },
        );
    }
    let mut out = Vec::new();
    for m in history {
        match m.role {
            Role::User => out.push(Msg::User(m.content.clone())),
            Role::Persona => {
                let calls: Vec<AskedCall> = m
                    .tool_calls
                    .iter()
                    .flat_map(|calls| calls.0.iter().map(AskedCall::from))
                    .collect();
                let answers: Vec<Msg> = calls
                    .iter()
                    .map(|c| {
                        results.remove(c.id.as_str()).unwrap_or_else(|| Msg::Tool {
                            call_id: c.id.clone(),
                            content: results::error(
                                "no_result",
                                "the result of this call was not recorded",
                            )
                            .to_string(),
                            is_error: true,
                        })
                    })
                    .collect();
                out.push(Msg::Persona {
                    text: m.content.clone(),
                    calls,
                });
                out.extend(answers);
            }
            // Placed after the call that asked for it, above.
            Role::Tool => {}
        }
    }
    out
}
