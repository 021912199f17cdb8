//! Tool calls put together from an answer's stream, by index, whatever order their pieces come
//! in, holding no more than the bounds allow. An LLM's output is a tenant's choice and so
//! attacker input: a call's arguments are kept up to [`AnswerBounds::argument_bytes`] (past it
//! they are dropped at once and the call is refused), and only the first
//! [`AnswerBounds::calls`] calls of an answer are kept whole; as many again are kept by id and
//! name only, to be refused, and any beyond those are ignored.

use std::collections::{BTreeMap, BTreeSet};

use super::{AskedCall, Delta};
use crate::views::RefusalKind;

/// An id or a name longer than this is cut here (tool names are at most 64 characters).
const MAX_NAME_BYTES: usize = 256;

/// What one answer of the LLM may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnswerBounds {
    /// A call's arguments (JSON text), in bytes.
    pub argument_bytes: usize,
    /// Calls in one answer.
    pub calls: usize,
}

/// Why a call the LLM asked for is not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Its arguments passed `limit` bytes.
    ArgumentsTooLarge { limit: usize },
    /// It came after `limit` calls in the same answer.
    TooManyInAnswer { limit: usize },
    /// It came after `limit` calls in the same turn.
    TooManyInTurn { limit: usize },
}

impl Refusal {
    /// The `error.kind` the LLM, the events and the turn's result name.
    pub fn kind(self) -> RefusalKind {
        match self {
            Self::ArgumentsTooLarge { .. } => RefusalKind::InvalidArguments,
            Self::TooManyInAnswer { .. } | Self::TooManyInTurn { .. } => RefusalKind::TooManyCalls,
        }
    }

    pub fn message(self) -> String {
        match self {
            Self::ArgumentsTooLarge { limit } => format!(
                "the arguments are larger than {limit} bytes; the call was not run (send smaller arguments)"
            ),
            Self::TooManyInAnswer { limit } => format!(
                "at most {limit} tool calls are run per response; this one was not run (ask for it again in the next response)"
            ),
            Self::TooManyInTurn { limit } => format!(
                "at most {limit} tool calls are run per turn; this one was not run (answer the user with what you have)"
            ),
        }
    }
}

struct Building {
    call: AskedCall,
    refusal: Option<Refusal>,
    /// Arguments were added since the last look for whole JSON.
    changed: bool,
}

/// The calls of one answer being streamed.
pub struct Calls {
    bounds: AnswerBounds,
    open: BTreeMap<u64, Building>,
    /// Indices of calls already handed out: later pieces of them are ignored.
    closed: BTreeSet<u64>,
    /// Calls started so far (open, closed and refused).
    started: usize,
    /// Calls ignored past twice the bound (nothing of them is kept).
    ignored: usize,
}

impl Calls {
    pub fn new(bounds: AnswerBounds) -> Self {
        Self {
            bounds,
            open: BTreeMap::new(),
            closed: BTreeSet::new(),
            started: 0,
            ignored: 0,
        }
    }

    /// Whether pieces for `index` have been seen before (an open call, or one handed out).
    pub fn knows(&self, index: u64) -> bool {
        self.open.contains_key(&index) || self.closed.contains(&index)
    }

    /// Whether a piece for `index` starts a call that will be kept (not known yet, and room
    /// for it): only then can calls before it be complete.
    pub fn starts(&self, index: u64) -> bool {
        !self.knows(index) && self.started < self.bounds.calls.saturating_mul(2)
    }

    /// Adds pieces of the call `index` (started by its first piece).
    pub fn add(
        &mut self,
        index: u64,
        id: Option<&str>,
        name: Option<&str>,
        arguments: Option<&str>,
    ) {
        if self.closed.contains(&index) {
            tracing::debug!(index, "the LLM streamed a piece of a call already complete");
            return;
        }
        if !self.open.contains_key(&index) {
            // Twice the bound: the second half is kept by id and name only, to be refused.
            if self.started >= self.bounds.calls.saturating_mul(2) {
                self.ignored += 1;
                return;
            }
            let refusal = (self.started >= self.bounds.calls).then_some(Refusal::TooManyInAnswer {
                limit: self.bounds.calls,
            });
            self.started += 1;
            self.open.insert(
                index,
                Building {
                    call: AskedCall {
                        id: String::new(),
                        name: String::new(),
                        arguments: String::new(),
                    },
                    refusal,
                    changed: false,
                },
            );
        }
        let limit = self.bounds.argument_bytes;
        let building = self.open.get_mut(&index).expect("inserted above");
        if let Some(id) = id {
            push_bounded(&mut building.call.id, id);
        }
        if let Some(name) = name {
            push_bounded(&mut building.call.name, name);
        }
        let Some(piece) = arguments else { return };
        if building.refusal.is_some() {
            return;
        }
        if building.call.arguments.len() + piece.len() > limit {
            // Dropped now, not when the call ends: its memory is given back at once.
            building.call.arguments = String::new();
            building.refusal = Some(Refusal::ArgumentsTooLarge { limit });
        } else {
            building.call.arguments.push_str(piece);
            building.changed = true;
        }
    }

    /// The call `index` is complete.
    pub fn close(&mut self, index: u64) -> Option<Delta> {
        let building = self.open.remove(&index)?;
        self.closed.insert(index);
        Some(handed_out(building))
    }

    /// Open calls below `index` whose arguments are already a whole JSON value: nothing can
    /// follow in them, so they may run before the answer ends. Calls streamed one after the
    /// other complete here as soon as the next one starts; calls whose pieces are interleaved
    /// stay open until the answer ends.
    pub fn close_complete_below(&mut self, index: u64) -> Vec<Delta> {
        let complete: Vec<u64> = self
            .open
            .range(..index)
            .filter(|(_, b)| {
                // Looked at once per append: a call unchanged since its last look is still not
                // whole (each look parses its arguments, up to the bound).
                b.refusal.is_some() || (b.changed && is_whole_json(&b.call.arguments))
            })
            .map(|(i, _)| *i)
            .collect();
        for building in self.open.range_mut(..index) {
            building.1.changed = false;
        }
        complete.into_iter().filter_map(|i| self.close(i)).collect()
    }

    /// The answer ended: every open call is complete, in index order.
    pub fn close_all(&mut self) -> Vec<Delta> {
        if self.ignored > 0 {
            tracing::warn!(
                ignored = self.ignored,
                "the LLM asked for more calls in one answer than are kept; the rest were ignored"
            );
            self.ignored = 0;
        }
        let open = std::mem::take(&mut self.open);
        self.closed.extend(open.keys());
        open.into_values().map(handed_out).collect()
    }
}

fn handed_out(mut building: Building) -> Delta {
    // A tool without parameters may stream no arguments at all.
    if building.call.arguments.trim().is_empty() {
        building.call.arguments = "{}".into();
    }
    match building.refusal {
        None => Delta::Call(building.call),
        Some(refusal) => Delta::Refused(building.call, refusal),
    }
}

fn is_whole_json(text: &str) -> bool {
    !text.trim().is_empty() && serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()
}

/// Appends `piece` to an id or a name, up to [`MAX_NAME_BYTES`] (cut at a character's edge).
fn push_bounded(into: &mut String, piece: &str) {
    let room = MAX_NAME_BYTES.saturating_sub(into.len());
    into.push_str(hookline_core::text::cut(piece, room));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bounds(argument_bytes: usize, calls: usize) -> AnswerBounds {
        AnswerBounds {
            argument_bytes,
            calls,
        }
    }

    #[test]
    fn arguments_past_the_bound_are_dropped_at_once_and_the_call_refused() {
        let mut calls = Calls::new(bounds(16, 4));
        calls.add(0, Some("c1"), Some("big"), Some("{\"a\":\""));
        for _ in 0..1000 {
            calls.add(0, None, None, Some("xxxxxxxx"));
            // Never more than the bound held, whatever keeps coming.
            assert!(calls.open[&0].call.arguments.len() <= 16);
        }
        let out = calls.close_all();
        assert_eq!(
            out,
            [Delta::Refused(
                AskedCall {
                    id: "c1".into(),
                    name: "big".into(),
                    arguments: "{}".into()
                },
                Refusal::ArgumentsTooLarge { limit: 16 }
            )]
        );
    }

    #[test]
    fn calls_past_the_bound_are_refused_then_ignored() {
        let mut calls = Calls::new(bounds(64, 2));
        for i in 0..10 {
            calls.add(i, Some(&format!("c{i}")), Some("t"), Some("{}"));
        }
        let out = calls.close_all();
        assert_eq!(out.len(), 4, "two run, two refused, the rest ignored");
        assert!(matches!(&out[0], Delta::Call(c) if c.id == "c0"));
        assert!(matches!(&out[1], Delta::Call(c) if c.id == "c1"));
        assert!(matches!(
            &out[2],
            Delta::Refused(c, Refusal::TooManyInAnswer { limit: 2 }) if c.id == "c2" && c.arguments == "{}"
        ));
        assert!(matches!(&out[3], Delta::Refused(c, _) if c.id == "c3"));
    }

    #[test]
    fn interleaved_pieces_stay_open_until_whole() {
        let mut calls = Calls::new(bounds(1024, 16));
        calls.add(0, Some("a"), Some("one"), Some(""));
        calls.add(1, Some("b"), Some("two"), Some(""));
        assert!(calls.close_complete_below(1).is_empty());
        calls.add(0, None, None, Some("{\"x\":"));
        calls.add(1, None, None, Some("{\"y\":"));
        calls.add(0, None, None, Some("1}"));
        calls.add(1, None, None, Some("2}"));
        let out = calls.close_all();
        assert_eq!(
            out,
            [
                Delta::Call(AskedCall {
                    id: "a".into(),
                    name: "one".into(),
                    arguments: "{\"x\":1}".into()
                }),
                Delta::Call(AskedCall {
                    id: "b".into(),
                    name: "two".into(),
                    arguments: "{\"y\":2}".into()
                }),
            ]
        );
    }

    #[test]
    fn long_ids_and_names_are_cut() {
        let mut calls = Calls::new(bounds(1024, 16));
        let long = "é".repeat(10_000);
        calls.add(0, Some(&long), Some(&long), None);
        calls.add(0, Some(&long), Some(&long), None);
        let Delta::Call(call) = &calls.close_all()[0] else {
            panic!("a call")
        };
        assert!(call.id.len() <= MAX_NAME_BYTES && call.name.len() <= MAX_NAME_BYTES);
    }
}
