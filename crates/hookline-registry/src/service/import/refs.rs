//! `$ref`s of an OpenAPI document resolved into plain JSON Schema: local references only
//! (`#/components/...`), nothing fetched; a chain of references at most `max_depth` long; a
//! reference back into itself (a tree, a linked list) cut where it recurs; and the whole
//! expansion of one operation bounded, since shared schemas can multiply when inlined.

use serde_json::{json, Map, Value};

/// The most JSON nodes one operation's schemas may expand to: well past the 64 KiB a tool's
/// parameter schema may hold, so anything refused here would be refused there too.
const NODE_BUDGET: usize = 50_000;

pub struct Resolver<'a> {
    document: &'a Value,
    max_depth: usize,
    nodes: usize,
    /// The references being expanded, outermost first: one met again is a cycle.
    trail: Vec<String>,
}

impl<'a> Resolver<'a> {
    pub fn new(document: &'a Value, max_depth: usize) -> Self {
        Self {
            document,
            max_depth,
            nodes: 0,
            trail: Vec::new(),
        }
    }

    /// `value` with every `$ref` inside replaced by what it points at.
    pub fn resolve(&mut self, value: &Value) -> Result<Value, String> {
        self.nodes += 1;
        if self.nodes > NODE_BUDGET {
            return Err(format!(
                "its schemas expand to more than {NODE_BUDGET} JSON nodes once their $refs are \
                 resolved, more than a tool's parameters may hold"
            ));
        }
        match value {
            Value::Object(map) => match map.get("$ref") {
                Some(Value::String(reference)) => self.follow(reference, map),
                _ => {
                    let mut out = Map::with_capacity(map.len());
                    for (key, child) in map {
                        out.insert(key.clone(), self.resolve(child)?);
                    }
                    Ok(Value::Object(out))
                }
            },
            Value::Array(items) => items
                .iter()
                .map(|item| self.resolve(item))
                .collect::<Result<_, _>>()
                .map(Value::Array),
            other => Ok(other.clone()),
        }
    }

    fn follow(&mut self, reference: &str, beside: &Map<String, Value>) -> Result<Value, String> {
        if !reference.starts_with('#') {
            return Err(format!(
                "refers to {reference:?} outside the document; only local references (#/...) \
                 are read, nothing is fetched"
            ));
        }
        let mut resolved = if self.trail.iter().any(|r| r == reference) {
            let name = reference.rsplit('/').next().unwrap_or(reference);
            json!({"description": format!("a {name} (recursive, not expanded further)")})
        } else {
            if self.trail.len() >= self.max_depth {
                return Err(format!(
                    "has a chain of $refs deeper than {} (HOOKLINE_IMPORT_MAX_REF_DEPTH)",
                    self.max_depth
                ));
            }
            let target = pointer(self.document, reference).ok_or_else(|| {
                format!("refers to {reference}, which the document does not have")
            })?;
            self.trail.push(reference.to_owned());
            let resolved = self.resolve(target);
            self.trail.pop();
            resolved?
        };
        // OpenAPI 3.1 lets keywords sit beside a $ref (a description, say); they apply too.
        if let Value::Object(out) = &mut resolved {
            for (key, child) in beside {
                if key != "$ref" {
                    let child = self.resolve(child)?;
                    out.insert(key.clone(), child);
                }
            }
        }
        Ok(resolved)
    }
}

/// The node a `#/a/b~1c` reference names (JSON Pointer, with `~0`/`~1` and %-escapes).
fn pointer<'v>(document: &'v Value, reference: &str) -> Option<&'v Value> {
    let fragment = reference.strip_prefix('#')?;
    let decoded = percent_encoding::percent_decode_str(fragment)
        .decode_utf8()
        .ok()?;
    if decoded.is_empty() {
        return Some(document);
    }
    document.pointer(&decoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_chains_siblings_and_cycles() {
        let doc = json!({"components": {"schemas": {
            "Pet": {"type": "object", "properties": {"id": {"$ref": "#/components/schemas/Id"},
                    "parent": {"$ref": "#/components/schemas/Pet"}}},
            "Id": {"type": "integer"},
            "a~b": {"type": "string"}
        }}});
        let mut r = Resolver::new(&doc, 8);
        let pet = r
            .resolve(&json!({"$ref": "#/components/schemas/Pet", "description": "a pet"}))
            .unwrap();
        assert_eq!(pet["properties"]["id"], json!({"type": "integer"}));
        assert_eq!(pet["description"], "a pet");
        assert!(pet["properties"]["parent"]["description"]
            .as_str()
            .unwrap()
            .contains("recursive"));
        let escaped = r
            .resolve(&json!({"$ref": "#/components/schemas/a~0b"}))
            .unwrap();
        assert_eq!(escaped, json!({"type": "string"}));
        assert!(r.resolve(&json!({"$ref": "other.yaml#/X"})).is_err());
        assert!(r
            .resolve(&json!({"$ref": "#/components/schemas/Nope"}))
            .is_err());
    }

    #[test]
    fn bounds_depth_and_expansion() {
        let mut schemas = Map::new();
        for i in 0..10 {
            schemas.insert(
                format!("S{i}"),
                json!({"$ref": format!("#/components/schemas/S{}", i + 1)}),
            );
        }
        schemas.insert("S10".into(), json!({"type": "string"}));
        let doc = json!({"components": {"schemas": schemas}});
        assert!(Resolver::new(&doc, 5)
            .resolve(&json!({"$ref": "#/components/schemas/S0"}))
            .is_err());
        assert!(Resolver::new(&doc, 11)
            .resolve(&json!({"$ref": "#/components/schemas/S0"}))
            .is_ok());
        // Each level refers twice to the next: 2^20 leaves if inlined without a bound.
        let mut fan = Map::new();
        for i in 0..20 {
            let next = format!("#/components/schemas/F{}", i + 1);
            fan.insert(
                format!("F{i}"),
                json!({"type": "object", "properties": {"a": {"$ref": next}, "b": {"$ref": next}}}),
            );
        }
        fan.insert("F20".into(), json!({"type": "string"}));
        let doc = json!({"components": {"schemas": fan}});
        let err = Resolver::new(&doc, 32)
            .resolve(&json!({"$ref": "#/components/schemas/F0"}))
            .unwrap_err();
        assert!(err.contains("more than"), "{err}");
    }
}
