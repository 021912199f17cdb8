//! What is wrong with a parameter schema, said in the words of the person who wrote it.
//!
//! The meta-schema check names the rule a keyword broke (`"strng" is not valid under any of the
//! schemas listed in the 'anyOf' keyword`); for the keywords people write in tool parameters this
//! says what the keyword takes instead, with the nearest type name for a typo.

use serde_json::Value;

use crate::fields::nearest;

/// The JSON Schema type names.
const TYPES: [&str; 7] = [
    "string", "number", "integer", "boolean", "object", "array", "null",
];

/// Keywords whose value maps names to schemas: the key below them is a name, not a keyword.
const NAMED_SCHEMAS: [&str; 5] = [
    "properties",
    "patternProperties",
    "$defs",
    "definitions",
    "dependentSchemas",
];

/// The message for a meta-schema error at `pointer` (a JSON pointer into the schema) about
/// `found`, when the keyword there is one people commonly get wrong.
pub fn plain_words(pointer: &str, found: &Value) -> Option<String> {
    let mut segments = pointer.rsplit('/');
    let last = segments.next()?;
    let parent = segments.next().unwrap_or_default();
    if NAMED_SCHEMAS.contains(&parent) {
        return Some(
            "must be a schema: an object such as {\"type\": \"string\", \"description\": \"...\"}"
                .into(),
        );
    }
    let message = match last {
        "type" => type_words(found),
        "required" => "must be a list of property names, such as [\"orderId\"]".into(),
        "properties" | "patternProperties" | "$defs" | "definitions" => {
            "must be an object mapping each name to its schema".into()
        }
        "enum" => "must be a list of the allowed values, such as [\"metric\", \"imperial\"]".into(),
        "items" | "additionalProperties" | "not" => {
            "must be a schema (an object such as {\"type\": \"string\"}) or true or false".into()
        }
        "minLength" | "maxLength" | "minItems" | "maxItems" | "minProperties" | "maxProperties" => {
            "must be a whole number, 0 or more".into()
        }
        "minimum" | "maximum" | "exclusiveMinimum" | "exclusiveMaximum" | "multipleOf" => {
            "must be a number".into()
        }
        "description" | "title" | "pattern" | "format" => "must be a string".into(),
        _ => return None,
    };
    Some(message)
}

fn type_words(found: &Value) -> String {
    let names: Vec<&str> = match found {
        Value::String(name) => vec![name],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let list =
        "\"string\", \"number\", \"integer\", \"boolean\", \"object\", \"array\" or \"null\"";
    match names.into_iter().find(|n| !TYPES.contains(n)) {
        Some(name) => {
            let hint = nearest(name, &TYPES)
                .map(|near| format!(" (did you mean \"{near}\"?)"))
                .unwrap_or_default();
            format!("\"{name}\" is not a JSON Schema type{hint}; the types are {list}")
        }
        None => format!("must be a type name ({list}) or a list of them"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_misspelled_type_is_named_with_the_nearest_one() {
        assert_eq!(
            plain_words("/properties/orderId/type", &json!("strng")).unwrap(),
            "\"strng\" is not a JSON Schema type (did you mean \"string\"?); the types are \"string\", \"number\", \"integer\", \"boolean\", \"object\", \"array\" or \"null\""
        );
        assert!(plain_words("/type", &json!(["object", "nul"]))
            .unwrap()
            .contains("(did you mean \"null\"?)"));
        assert!(plain_words("/type", &json!(7))
            .unwrap()
            .starts_with("must be a type name"));
    }

    #[test]
    fn a_property_named_like_a_keyword_is_a_schema() {
        // `properties.type` is a property called "type", whose value must be a schema.
        assert!(plain_words("/properties/type", &json!("string"))
            .unwrap()
            .starts_with("must be a schema"));
        assert!(plain_words("/required", &json!("orderId"))
            .unwrap()
            .contains("[\"orderId\"]"));
        assert_eq!(plain_words("/x-custom", &json!(1)), None);
    }
}
