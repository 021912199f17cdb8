//! How big a schema really is once its `$ref`s are followed.
//!
//! A validator follows every reference each time it meets it, so a few hundred bytes whose
//! definitions reference each other twice per level expand to millions of schema nodes (and an
//! argument check that runs for seconds). [`measure`] walks the schema the way a validator does,
//! following every local reference again each time, and stops as soon as the walk goes past
//! [`MAX_NODES`] or [`MAX_DEPTH`]; a recursive reference is followed like any other, so recursion
//! always ends the walk at the budget instead of looping.
//!
//! References resolve against the root document only: a nested `$id` (which would start a new
//! base for `#...` references) is refused by [`measure`], so what is counted is what is validated.

use std::collections::HashMap;

use percent_encoding::percent_decode_str;
use serde_json::Value;

use crate::violations::join;

/// Most schema nodes (objects and arrays) one schema may expand to.
pub const MAX_NODES: usize = 20_000;
/// Deepest one schema may nest once expanded (each followed reference is one level more).
pub const MAX_DEPTH: usize = 64;

/// Why a schema is refused: too big once expanded, or built so that what the walk measures might
/// not be what a validator runs (then with the path, under the schema, of the culprit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Nodes,
    Depth,
    /// A `$id` below the root, at this path.
    NestedId(String),
    /// An anchor name defined a second time, at this path (which one a reference means would
    /// depend on the validator).
    DuplicateAnchor(String),
}

impl Refusal {
    pub fn message(&self) -> String {
        match self {
            Self::Nodes => format!(
                "expands to more than {MAX_NODES} schema nodes once its $refs are followed \
                 (each reference counts every time it is used, recursion included); \
                 simplify it or inline fewer shared definitions"
            ),
            Self::Depth => format!(
                "nests deeper than {MAX_DEPTH} levels once its $refs are followed \
                 (each reference is one level more, so recursive references never fit)"
            ),
            Self::NestedId(_) => "is only allowed at the root of the schema".into(),
            Self::DuplicateAnchor(_) => "names an anchor already defined in this schema".into(),
        }
    }
}

/// Keywords whose values are data, not schemas: never walked into, never counted twice.
const DATA_KEYWORDS: [&str; 4] = ["enum", "const", "default", "examples"];
const REF_KEYWORDS: [&str; 3] = ["$ref", "$dynamicRef", "$recursiveRef"];

/// Counts the nodes of `schema` with every local reference expanded. `Ok` holds the count.
pub fn measure(schema: &Value) -> Result<usize, Refusal> {
    measure_within(schema, MAX_NODES)
}

/// [`measure`] with another node budget (a merged schema holds two schemas' worth).
pub fn measure_within(schema: &Value, max_nodes: usize) -> Result<usize, Refusal> {
    let mut anchors = HashMap::new();
    collect_anchors(schema, "", true, &mut anchors)?;
    let mut walk = Walk {
        root: schema,
        anchors,
        nodes: 0,
        max_nodes,
    };
    walk.visit(schema, 0)?;
    Ok(walk.nodes)
}

/// Finds every `$anchor` / `$dynamicAnchor`, and refuses a `$id` (or draft-04 `id`) below the root.
fn collect_anchors<'a>(
    value: &'a Value,
    path: &str,
    is_root: bool,
    anchors: &mut HashMap<&'a str, &'a Value>,
) -> Result<(), Refusal> {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let child_path = join(path, key);
                if DATA_KEYWORDS.contains(&key.as_str()) {
                    continue;
                }
                match (key.as_str(), child) {
                    ("$id" | "id", Value::String(_)) if !is_root => {
                        return Err(Refusal::NestedId(child_path))
                    }
                    ("$anchor" | "$dynamicAnchor", Value::String(name)) => {
                        if anchors
                            .insert(name.as_str(), value)
                            .is_some_and(|o| o != value)
                        {
                            return Err(Refusal::DuplicateAnchor(child_path));
                        }
                    }
                    _ => collect_anchors(child, &child_path, false, anchors)?,
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                collect_anchors(child, &format!("{path}[{i}]"), false, anchors)?;
            }
        }
        _ => {}
    }
    Ok(())
}

struct Walk<'a> {
    root: &'a Value,
    anchors: HashMap<&'a str, &'a Value>,
    nodes: usize,
    max_nodes: usize,
}

impl<'a> Walk<'a> {
    fn visit(&mut self, value: &'a Value, depth: usize) -> Result<(), Refusal> {
        let children: Box<dyn Iterator<Item = (&str, &'a Value)>> = match value {
            Value::Object(map) => Box::new(map.iter().map(|(k, v)| (k.as_str(), v))),
            Value::Array(items) => Box::new(items.iter().map(|v| ("", v))),
            _ => return Ok(()),
        };
        if depth > MAX_DEPTH {
            return Err(Refusal::Depth);
        }
        self.nodes += 1;
        if self.nodes > self.max_nodes {
            return Err(Refusal::Nodes);
        }
        for (key, child) in children {
            if DATA_KEYWORDS.contains(&key) {
                // Counted once as a whole: they are compared, not expanded.
                self.nodes += usize::from(child.is_object() || child.is_array());
                continue;
            }
            match (REF_KEYWORDS.contains(&key), child) {
                (true, Value::String(target)) => {
                    if let Some(found) = self.resolve(target) {
                        self.visit(found, depth + 1)?;
                    }
                }
                _ => self.visit(child, depth + 1)?,
            }
        }
        Ok(())
    }

    /// The part of the document a local reference names; `None` for what the compiler will
    /// refuse anyway (remote references never get this far).
    fn resolve(&self, target: &str) -> Option<&'a Value> {
        let fragment = target.strip_prefix('#')?;
        let fragment = percent_decode_str(fragment).decode_utf8().ok()?;
        if fragment.is_empty() {
            Some(self.root)
        } else if fragment.starts_with('/') {
            self.root.pointer(&fragment)
        } else {
            self.anchors.get(fragment.as_ref()).copied()
        }
    }
}

/// A `parameters` schema whose definitions reference each other twice per level, `levels` deep
/// (the shape of the issue that introduced the budget): it expands to about 2^levels nodes.
pub fn fan_out_schema(levels: usize) -> Value {
    wide_fan_out_schema(levels, 2)
}

/// Like [`fan_out_schema`] with `branches` references per level: about branches^levels nodes.
pub fn wide_fan_out_schema(levels: usize, branches: usize) -> Value {
    let mut defs = serde_json::Map::new();
    for i in 0..levels {
        let next = format!("#/$defs/d{}", i + 1);
        let refs = vec![serde_json::json!({ "$ref": next }); branches];
        defs.insert(format!("d{i}"), serde_json::json!({ "allOf": refs }));
    }
    defs.insert(
        format!("d{levels}"),
        serde_json::json!({"type": "object", "properties": {"q": {"type": "string"}}}),
    );
    serde_json::json!({
        "type": "object",
        "$defs": defs,
        "properties": {"q": {"type": "string"}},
        "allOf": [{"$ref": "#/$defs/d0"}]
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn counts_each_reference_every_time_it_is_followed() {
        let plain = json!({"type": "object", "properties": {"a": {"type": "string"}}});
        assert_eq!(measure(&plain), Ok(3));
        let shared = json!({"type": "object", "$defs": {"s": {"type": "string"}},
            "properties": {"a": {"$ref": "#/$defs/s"}, "b": {"$ref": "#/$defs/s"}}});
        // root, $defs, s, properties, a, s again, b, s again.
        assert_eq!(measure(&shared), Ok(8));
    }

    #[test]
    fn fan_out_and_recursion_stop_at_the_budget() {
        // Depth-first, the walk reaches the depth limit first at 30 levels.
        assert_eq!(measure(&fan_out_schema(30)), Err(Refusal::Depth));
        assert_eq!(measure(&fan_out_schema(13)), Err(Refusal::Nodes));
        assert!(measure(&fan_out_schema(8)).is_ok());
        let recursive = json!({"type": "object", "properties": {"next": {"$ref": "#"}}});
        assert_eq!(measure(&recursive), Err(Refusal::Depth));
        let by_anchor = json!({"type": "object", "$defs": {"n": {"$anchor": "node",
            "properties": {"kids": {"items": {"$ref": "#node"}}}}}, "$ref": "#node"});
        assert_eq!(measure(&by_anchor), Err(Refusal::Depth));
        let escaped = json!({"type": "object", "$defs": {"a b": {"allOf": [{"$ref": "#/$defs/a%20b"}]}},
            "$ref": "#/$defs/a%20b"});
        assert_eq!(measure(&escaped), Err(Refusal::Depth));
    }

    #[test]
    fn a_nested_id_is_refused_but_data_may_hold_one() {
        let nested = json!({"type": "object", "$defs": {"r": {"$id": "urn:x", "type": "string"}}});
        assert_eq!(
            measure(&nested),
            Err(Refusal::NestedId("$defs.r.$id".into()))
        );
        let data = json!({"$id": "urn:root", "type": "object", "default": {"id": "x"},
            "properties": {"id": {"type": "string"}}});
        assert!(measure(&data).is_ok());
        let twice = json!({"type": "object", "$defs": {"a": {"$anchor": "x", "type": "string"},
            "b": {"$anchor": "x", "type": "integer"}}});
        assert_eq!(
            measure(&twice),
            Err(Refusal::DuplicateAnchor("$defs.b.$anchor".into()))
        );
    }
}
