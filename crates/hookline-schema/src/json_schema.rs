//! JSON Schema handling: checking the schemas customers write, and validating the arguments an
//! LLM fills against them.
//!
//! Nothing is ever fetched to compile a schema (remote `$ref`s are refused up front and the
//! retriever refuses everything), and patterns run on the linear-time `regex` engine so an
//! argument cannot make a `pattern` backtrack for seconds.

use jsonschema::{PatternOptions, Retrieve, Uri, Validator};
use serde_json::Value;

use crate::expansion::{self, Refusal};
use crate::violations::{join, Violations};

/// Largest accepted schema, measured as compact JSON.
pub const MAX_SCHEMA_BYTES: usize = 64 * 1024;

struct RefuseRetriever;

impl Retrieve for RefuseRetriever {
    fn retrieve(
        &self,
        uri: &Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        Err(format!("remote references are not fetched ({})", uri.as_str()).into())
    }
}

/// Compiles a schema into a validator without touching the network.
pub fn compile(schema: &Value) -> Result<Validator, String> {
    jsonschema::options()
        .with_retriever(RefuseRetriever)
        .with_pattern_options(PatternOptions::regex())
        .build(schema)
        .map_err(|e| e.to_string())
}

/// Checks a parameter schema (`parameters`, `queryParameters`), pushing every problem under
/// `field`. Returns true when the schema is usable.
pub fn check_parameter_schema(field: &str, schema: &Value, v: &mut Violations) -> bool {
    let Some(object) = schema.as_object() else {
        v.wrong_type(field, "a JSON Schema object");
        return false;
    };
    let before = v.len();
    let size = serde_json::to_vec(schema).map_or(usize::MAX, |b| b.len());
    if size > MAX_SCHEMA_BYTES {
        v.rule(
            field,
            format!("must be at most 64 KiB as compact JSON (it is {size} bytes)"),
        );
        return false;
    }
    if object.get("type") != Some(&Value::String("object".into())) {
        v.rule(
            join(field, "type"),
            "the root of the schema must be \"type\": \"object\"",
        );
    }
    find_remote_refs(field, schema, v);
    if v.len() > before {
        return false;
    }
    // Before anything compiles or validates it: a schema that fans out is refused unexpanded.
    if let Err(refusal) = expansion::measure(schema) {
        let at = match &refusal {
            Refusal::NestedId(path) | Refusal::DuplicateAnchor(path) => join(field, path),
            _ => field.to_owned(),
        };
        v.rule(at, refusal.message());
        return false;
    }
    match jsonschema::meta::try_validate(schema) {
        Err(e) => {
            v.rule(join(field, "$schema"), format!("unknown meta-schema: {e}"));
            return false;
        }
        Ok(Err(e)) => {
            let pointer = e.instance_path.to_string();
            let message = crate::schema_words::plain_words(&pointer, &e.instance)
                .unwrap_or_else(|| format!("is not a valid JSON Schema: {e}"));
            v.rule(join(field, &pointer_to_path(&pointer)), message);
            return false;
        }
        Ok(Ok(())) => {}
    }
    if let Err(e) = compile(schema) {
        v.rule(field, format!("cannot be compiled: {e}"));
        return false;
    }
    true
}

fn find_remote_refs(path: &str, value: &Value, v: &mut Violations) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let child_path = join(path, key);
                let is_ref = matches!(key.as_str(), "$ref" | "$dynamicRef" | "$recursiveRef");
                match child {
                    Value::String(target) if is_ref && !target.starts_with('#') => {
                        v.rule(
                            child_path,
                            "only local references (starting with '#') are allowed; nothing is fetched",
                        );
                    }
                    _ => find_remote_refs(&child_path, child, v),
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                find_remote_refs(&format!("{path}[{i}]"), child, v);
            }
        }
        _ => {}
    }
}

/// Turns a JSON pointer (`/items/0/name`) into the field path style of our errors (`items[0].name`).
pub fn pointer_to_path(pointer: &str) -> String {
    let mut out = String::new();
    for segment in pointer.split('/').skip(1) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(&format!("[{segment}]"));
        } else {
            out = join(&out, &segment);
        }
    }
    out
}

/// The work below which a check is cheap enough to run on an async worker thread: the schema's
/// expanded nodes times the arguments' weight (see [`ArgumentValidator::is_cheap_for`]). At this
/// size a check takes a few microseconds, less than handing it to another thread would.
pub const INLINE_WORK: usize = 4_096;

/// A compiled argument validator for one tool.
pub struct ArgumentValidator {
    validator: Option<Validator>,
    /// The schema's size with every reference expanded (1 when there is none).
    nodes: usize,
}

impl std::fmt::Debug for ArgumentValidator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArgumentValidator").finish_non_exhaustive()
    }
}

impl ArgumentValidator {
    /// Compiles the tool's merged schema; `None` accepts any object. The merged schema is
    /// measured again first (two schemas' worth of budget): a tool stored before the budget
    /// existed, or written by any other path, still never reaches the validator oversized.
    pub fn new(schema: Option<&Value>) -> Result<Self, String> {
        let nodes = match schema.map(|s| expansion::measure_within(s, 2 * expansion::MAX_NODES)) {
            Some(Err(refusal)) => {
                return Err(format!("the tool's parameter schema {}", refusal.message()))
            }
            Some(Ok(nodes)) => nodes.max(1),
            None => 1,
        };
        Ok(Self {
            validator: schema.map(compile).transpose()?,
            nodes,
        })
    }

    /// Whether checking `arguments` is bounded small work: the schema's nodes times the
    /// arguments' weight (one per value, plus one per 64 bytes of text, which patterns and
    /// formats scan) stays under [`INLINE_WORK`]. Stops weighing as soon as it is not.
    pub fn is_cheap_for(&self, arguments: &Value) -> bool {
        let mut left = INLINE_WORK / self.nodes;
        let mut pending = vec![arguments];
        while let Some(value) = pending.pop() {
            let weight = match value {
                Value::String(s) => 1 + s.len() / 64,
                _ => 1,
            };
            let Some(rest) = left.checked_sub(weight) else {
                return false;
            };
            left = rest;
            match value {
                Value::Array(items) => pending.extend(items),
                Value::Object(map) => {
                    for (key, item) in map {
                        let Some(rest) = left.checked_sub(1 + key.len() / 64) else {
                            return false;
                        };
                        left = rest;
                        pending.push(item);
                    }
                }
                _ => {}
            }
        }
        true
    }

    /// Every problem with `arguments`, each under `arguments.<path>`.
    pub fn validate(&self, arguments: &Value) -> Violations {
        let mut v = Violations::new();
        if !arguments.is_object() {
            v.wrong_type("arguments", "an object");
            return v;
        }
        if let Some(validator) = &self.validator {
            for e in validator.iter_errors(arguments) {
                let at = pointer_to_path(&e.instance_path.to_string());
                v.rule(join("arguments", &at), e.to_string());
            }
        }
        v
    }
}

#[cfg(test)]
mod cheap_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn small_checks_are_cheap_and_large_ones_are_not() {
        let schema = json!({"type": "object", "properties": {"orderId": {"type": "string"}}});
        let v = ArgumentValidator::new(Some(&schema)).unwrap();
        assert!(v.is_cheap_for(&json!({"orderId": "ORD-12345"})));
        // Many values, or one long text, are work for a blocking thread.
        let many: Vec<u32> = (0..5_000).collect();
        assert!(!v.is_cheap_for(&json!({"orderId": many})));
        assert!(!v.is_cheap_for(&json!({"orderId": "x".repeat(1 << 20)})));
        // A large schema makes even small arguments work.
        let wide = crate::expansion::wide_fan_out_schema(3, 13);
        let big = ArgumentValidator::new(Some(&wide)).unwrap();
        assert!(!big.is_cheap_for(&json!({"a": 1})));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn problems(schema: Value) -> Vec<String> {
        let mut v = Violations::new();
        check_parameter_schema("parameters", &schema, &mut v);
        v.errors().iter().map(|e| e.field.clone()).collect()
    }

    #[test]
    fn a_typo_is_answered_in_the_writers_words() {
        let mut v = Violations::new();
        let schema = json!({"type": "object", "properties": {"orderId": {"type": "strng"}}});
        check_parameter_schema("parameters", &schema, &mut v);
        let e = &v.errors()[0];
        assert_eq!(e.field, "parameters.properties.orderId.type");
        assert!(
            e.message
                .starts_with("\"strng\" is not a JSON Schema type (did you mean \"string\"?)"),
            "{}",
            e.message
        );
        assert!(!e.message.contains("anyOf"), "{}", e.message);
    }

    #[test]
    fn accepts_a_plain_object_schema() {
        assert!(
            problems(json!({"type": "object", "properties": {"a": {"type": "string"}}})).is_empty()
        );
    }

    #[test]
    fn refuses_non_object_root_and_remote_refs() {
        assert_eq!(problems(json!({"type": "string"})), ["parameters.type"]);
        assert_eq!(
            problems(
                json!({"type": "object", "properties": {"a": {"$ref": "https://example.com/s.json"}}})
            ),
            ["parameters.properties.a.$ref"]
        );
        assert!(problems(json!({"type": "object", "$defs": {"x": {"type": "string"}}, "properties": {"a": {"$ref": "#/$defs/x"}}})).is_empty());
    }

    #[test]
    fn refuses_invalid_schemas_and_oversized_ones() {
        assert_eq!(
            problems(json!({"type": "object", "properties": {"a": {"type": "strng"}}})),
            ["parameters.properties.a.type"]
        );
        let big = "x".repeat(MAX_SCHEMA_BYTES);
        assert_eq!(
            problems(json!({"type": "object", "description": big})),
            ["parameters"]
        );
    }

    #[test]
    fn refuses_backtracking_patterns() {
        // Look-around needs a backtracking engine, which we do not run.
        assert_eq!(
            problems(
                json!({"type": "object", "properties": {"a": {"type": "string", "pattern": "(?=a)a"}}})
            ),
            ["parameters"]
        );
    }

    #[test]
    fn lists_every_argument_problem() {
        let schema = json!({"type": "object", "properties": {"n": {"type": "integer"}, "s": {"enum": ["a"]}}, "required": ["id"]});
        let v = ArgumentValidator::new(Some(&schema)).unwrap();
        let found = v.validate(&json!({"n": "x", "s": "b"}));
        let fields: Vec<_> = found.errors().iter().map(|e| e.field.as_str()).collect();
        assert_eq!(found.len(), 3, "{found}");
        assert!(fields.contains(&"arguments.n"));
        assert!(fields.contains(&"arguments.s"));
        assert!(fields.contains(&"arguments"));
    }

    #[test]
    fn a_fan_out_schema_is_refused_naming_the_field() {
        let mut v = Violations::new();
        assert!(!check_parameter_schema(
            "queryParameters",
            &crate::expansion::fan_out_schema(30),
            &mut v
        ));
        assert_eq!(v.errors()[0].field, "queryParameters");
        assert!(v.errors()[0].message.contains("$refs"), "{v}");
    }

    /// Benchmark-style: the fan-out that expands the most while the budget still lets it
    /// through validates in milliseconds (in a debug build; the bound is generous on purpose).
    #[test]
    fn the_largest_schema_the_budget_allows_validates_in_milliseconds() {
        use crate::expansion::{measure, wide_fan_out_schema, MAX_NODES};
        let mut largest = (0, 0, 0);
        for branches in 2..=32 {
            let accepted = (1..40)
                .take_while(|&k| problems(wide_fan_out_schema(k, branches)).is_empty())
                .last()
                .expect("a one-level fan-out is accepted");
            assert_eq!(
                problems(wide_fan_out_schema(accepted + 1, branches)),
                ["parameters"]
            );
            let nodes = measure(&wide_fan_out_schema(accepted, branches)).unwrap();
            if nodes > largest.0 {
                largest = (nodes, accepted, branches);
            }
        }
        let (nodes, levels, branches) = largest;
        assert!(nodes > MAX_NODES / 2, "{largest:?}");
        let schema = wide_fan_out_schema(levels, branches);
        let validator = ArgumentValidator::new(Some(&schema)).unwrap();
        let rounds = 10;
        let started = std::time::Instant::now();
        for _ in 0..rounds {
            assert!(validator.validate(&json!({"q": "x"})).is_empty());
            assert!(!validator.validate(&json!({"q": 5})).is_empty());
        }
        let each = started.elapsed() / (2 * rounds);
        eprintln!(
            "fan-out of {levels} levels x {branches} ({nodes} nodes): one validation takes {each:?}"
        );
        assert!(each < std::time::Duration::from_secs(1), "{each:?}");
    }

    #[test]
    fn a_fan_out_schema_stored_before_the_budget_never_compiles() {
        let started = std::time::Instant::now();
        let refused = ArgumentValidator::new(Some(&crate::expansion::fan_out_schema(30)));
        assert!(refused.unwrap_err().contains("$refs"));
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }

    #[test]
    fn pointer_paths_read_like_fields() {
        assert_eq!(pointer_to_path("/items/0/name"), "items[0].name");
        assert_eq!(pointer_to_path(""), "");
        assert_eq!(pointer_to_path("/a~1b"), "a/b");
    }
}
