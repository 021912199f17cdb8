//! Response shaping: what of a webhook's answer the LLM is given (`response.select`, JSON
//! Pointers kept, the rest dropped; `response.maxBytes`, a cap on what is left), and which of
//! its values are kept as session variables for later tools (`response.assign`).
//!
//! The call log keeps the whole answer; only the result the LLM reads is shaped. A pointer that
//! is not in an answer leaves its value out and is named in the call log; it never fails a call.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::fields::Fields;
use crate::variables::{is_variable_name, MAX_VARIABLE_VALUE_BYTES};
use crate::violations::join;

/// At most this many pointers in `select`.
pub const MAX_SELECT: usize = 50;
/// At most this many variables in `assign`.
pub const MAX_ASSIGN: usize = 20;
/// The longest JSON Pointer.
pub const MAX_POINTER_CHARS: usize = 256;
/// The largest `maxBytes`.
pub const MAX_SHAPED_BYTES: u32 = 65_536;

/// A webhook tool's `response`: how its answer is shaped for the LLM.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResponseShaping {
    /// JSON Pointers (RFC 6901) of the parts of the answer's body the LLM is given, e.g.
    /// `/order/status`; everything else is dropped. Absent: the whole body.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(max_items = 50)]
    pub select: Vec<String>,
    /// The most bytes of JSON the LLM is given (1–65536); a longer result becomes its first
    /// `maxBytes` bytes as text, marked `truncated`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 65536)]
    pub max_bytes: Option<u32>,
    /// Session variable name → JSON Pointer into the answer's body: the value is stored for
    /// later tools of the same session (as text: a string as it is, anything else as JSON).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    #[schema(value_type = Object)]
    pub assign: IndexMap<String, String>,
}

/// What shaping made of an answer's body.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Shaped {
    /// What the LLM is given.
    pub result: Value,
    /// Whether `maxBytes` cut it.
    pub truncated: bool,
    /// Pointers of `select` and `assign` not found in the body.
    pub missing: Vec<String>,
    /// Variables to store: name → value as text.
    pub assigned: Vec<(String, String)>,
}

impl ResponseShaping {
    /// Shapes a completed call's body (`assign` taken from the whole body, not the selection).
    pub fn shape(&self, body: &Value) -> Shaped {
        let mut out = Shaped::default();
        out.result = if self.select.is_empty() {
            body.clone()
        } else {
            let paths: Vec<Vec<String>> = self.select.iter().map(|p| tokens(p)).collect();
            let refs: Vec<&[String]> = paths.iter().map(Vec::as_slice).collect();
            for (pointer, path) in self.select.iter().zip(&paths) {
                if find(body, path).is_none() {
                    out.missing.push(pointer.clone());
                }
            }
            pick(body, &refs).unwrap_or(Value::Null)
        };
        for (name, pointer) in &self.assign {
            match find(body, &tokens(pointer)) {
                Some(value) => {
                    let text = match value {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    if text.len() <= MAX_VARIABLE_VALUE_BYTES {
                        out.assigned.push((name.clone(), text));
                    } else {
                        out.missing.push(pointer.clone());
                    }
                }
                None => out.missing.push(pointer.clone()),
            }
        }
        if let Some(max) = self.max_bytes {
            let text = out.result.to_string();
            if text.len() > max as usize {
                out.result = Value::String(crate_cut(&text, max as usize).to_owned());
                out.truncated = true;
            }
        }
        out
    }
}

/// The longest prefix of `text` of at most `max` bytes that ends at a character's edge.
fn crate_cut(text: &str, max: usize) -> &str {
    let mut end = max.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// A pointer's reference tokens, unescaped (`~1` → `/`, `~0` → `~`).
fn tokens(pointer: &str) -> Vec<String> {
    pointer
        .split('/')
        .skip(1)
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect()
}

fn child<'a>(value: &'a Value, token: &str) -> Option<&'a Value> {
    match value {
        Value::Object(map) => map.get(token),
        Value::Array(items) => index(token).and_then(|i| items.get(i)),
        _ => None,
    }
}

/// An array index as RFC 6901 spells it: digits, no leading zero.
fn index(token: &str) -> Option<usize> {
    let canonical = token == "0" || !token.starts_with('0');
    (canonical && token.bytes().all(|b| b.is_ascii_digit()))
        .then(|| token.parse().ok())
        .flatten()
}

fn find<'a>(value: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(value, |v, t| child(v, t))
}

/// The parts of `value` the paths reach, in the shape they have there: objects keep the keys on
/// the way, arrays the selected elements in their order. `None` when no path reaches anything.
fn pick(value: &Value, paths: &[&[String]]) -> Option<Value> {
    if paths.iter().any(|p| p.is_empty()) {
        return Some(value.clone());
    }
    // The first tokens in the order first named, each with the rest of its paths.
    let mut groups: Vec<(&str, Vec<&[String]>)> = Vec::new();
    for p in paths {
        let (first, rest) = (p[0].as_str(), &p[1..]);
        match groups.iter_mut().find(|(t, _)| *t == first) {
            Some((_, rests)) => rests.push(rest),
            None => groups.push((first, vec![rest])),
        }
    }
    match value {
        Value::Object(map) => {
            let mut out = Map::new();
            for (token, rests) in groups {
                if let Some(picked) = map.get(token).and_then(|c| pick(c, &rests)) {
                    out.insert(token.to_owned(), picked);
                }
            }
            (!out.is_empty()).then_some(Value::Object(out))
        }
        Value::Array(items) => {
            let mut chosen: Vec<(usize, Vec<&[String]>)> = groups
                .into_iter()
                .filter_map(|(t, rests)| index(t).map(|i| (i, rests)))
                .collect();
            chosen.sort_by_key(|(i, _)| *i);
            let out: Vec<Value> = chosen
                .into_iter()
                .filter_map(|(i, rests)| items.get(i).and_then(|c| pick(c, &rests)))
                .collect();
            (!out.is_empty()).then_some(Value::Array(out))
        }
        _ => None,
    }
}

/// Whether a text is a JSON Pointer (RFC 6901): empty (the whole document) or `/`-separated
/// tokens in which `~` is only ever `~0` or `~1`.
fn is_pointer(text: &str) -> bool {
    (text.is_empty() || text.starts_with('/'))
        && text
            .split('~')
            .skip(1)
            .all(|after| after.starts_with('0') || after.starts_with('1'))
}

fn check_pointer(f: &mut Fields, path: String, value: &Value) -> Option<String> {
    let Some(text) = value.as_str() else {
        f.v.wrong_type(path, "a JSON Pointer string (e.g. \"/order/status\")");
        return None;
    };
    if text.chars().count() > MAX_POINTER_CHARS {
        f.v.rule(
            path,
            format!("must be at most {MAX_POINTER_CHARS} characters"),
        );
        return None;
    }
    if !is_pointer(text) {
        f.v.rule(
            path,
            "is not a JSON Pointer: it starts with '/' (e.g. \"/order/status\"), and '~' is \
             written only as ~0 or ~1",
        );
        return None;
    }
    Some(text.to_owned())
}

/// Reads a webhook tool's `response`; `Some(None)` when it is absent, `None` when it is wrong
/// (each problem recorded with its field path).
pub fn parse(f: &mut Fields) -> Option<Option<ResponseShaping>> {
    let Some(value) = f.get("response") else {
        return Some(None);
    };
    let prefix = f.path("response");
    let Some(map) = value.as_object() else {
        f.v.wrong_type(prefix, "an object with select, maxBytes and assign");
        return None;
    };
    let before = f.v.len();
    let mut g = Fields::new(map, &prefix, f.v);
    let mut shaping = ResponseShaping::default();
    match g.get("select") {
        None => {}
        Some(Value::Array(items)) => {
            if items.len() > MAX_SELECT {
                let path = g.path("select");
                g.v.rule(path, format!("must hold at most {MAX_SELECT} pointers"));
            }
            for (i, item) in items.iter().enumerate() {
                let path = format!("{}[{i}]", g.path("select"));
                if let Some(p) = check_pointer(&mut g, path, item) {
                    shaping.select.push(p);
                }
            }
        }
        Some(_) => {
            let path = g.path("select");
            g.v.wrong_type(path, "an array of JSON Pointers");
        }
    }
    shaping.max_bytes = g
        .integer_in("maxBytes", 1..=i64::from(MAX_SHAPED_BYTES))
        .map(|n| n as u32);
    if let Some(assign) = g.object("assign") {
        let path = g.path("assign");
        if assign.len() > MAX_ASSIGN {
            g.v.rule(&path, format!("must hold at most {MAX_ASSIGN} variables"));
        }
        for (name, pointer) in assign {
            let field = join(&path, name);
            if !is_variable_name(name) {
                g.v.rule(
                    field,
                    "is not a variable name: snake_case (a-z, 0-9, _), starting with a letter",
                );
                continue;
            }
            if let Some(p) = check_pointer(&mut g, field, pointer) {
                shaping.assign.insert(name.clone(), p);
            }
        }
    }
    g.finish("a response (select, maxBytes, assign)");
    (f.v.len() == before).then_some(Some(shaping))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::violations::Violations;
    use serde_json::json;

    fn parsed(value: Value) -> Result<Option<ResponseShaping>, Violations> {
        let body = json!({ "response": value });
        let mut v = Violations::new();
        let mut f = Fields::new(body.as_object().unwrap(), "tool", &mut v);
        let out = parse(&mut f);
        f.finish("t");
        match out {
            Some(s) if v.is_empty() => Ok(s),
            _ => Err(v),
        }
    }

    #[test]
    fn select_keeps_the_shape_of_what_it_names() {
        let s = parsed(json!({"select": ["/order/status", "/order/eta", "/items/1/sku", "/gone"]}))
            .unwrap()
            .unwrap();
        let body = json!({"order": {"status": "shipped", "eta": "2d", "internal": 7},
            "items": [{"sku": "a", "cost": 1}, {"sku": "b", "cost": 2}], "debug": "x"});
        let shaped = s.shape(&body);
        assert_eq!(
            shaped.result,
            json!({"order": {"status": "shipped", "eta": "2d"}, "items": [{"sku": "b"}]})
        );
        assert_eq!(shaped.missing, ["/gone"]);
        assert!(!shaped.truncated);
    }

    #[test]
    fn max_bytes_cuts_and_assign_reads_the_whole_body() {
        let s = parsed(json!({"select": ["/a"], "maxBytes": 5,
            "assign": {"ticket_id": "/t/id", "n": "/t/n", "none": "/x"}}))
        .unwrap()
        .unwrap();
        let shaped = s.shape(&json!({"a": "abcdefgh", "t": {"id": "T-1", "n": 3}}));
        assert_eq!(shaped.result, json!("{\"a\":"));
        assert!(shaped.truncated);
        assert_eq!(
            shaped.assigned,
            [
                ("ticket_id".to_owned(), "T-1".to_owned()),
                ("n".to_owned(), "3".to_owned())
            ]
        );
        assert_eq!(shaped.missing, ["/x"]);
    }

    #[test]
    fn bad_shaping_is_named_by_field() {
        let v = parsed(json!({"select": ["order", 3, "/a~2"], "maxBytes": 0,
            "assign": {"Bad": "/x", "ok": "y"}, "other": 1}))
        .unwrap_err();
        let fields: Vec<_> = v.errors().iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "tool.response.select[0]",
                "tool.response.select[1]",
                "tool.response.select[2]",
                "tool.response.maxBytes",
                "tool.response.assign.Bad",
                "tool.response.assign.ok",
                "tool.response.other"
            ]
        );
        assert_eq!(parsed(Value::Null).unwrap(), None);
    }
}
