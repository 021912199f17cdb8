//! Dynamic variables: the `{{name}}` references a webhook tool may hold in its `url` (path and
//! query), its header values and its parameters' string `default`s, and the values a session
//! token brings for them (`personaConfig.variables`).
//!
//! A variable's name is snake_case; three built-ins are always there (`{{session.id}}`,
//! `{{persona.id}}`, `{{now}}`). Which value a name takes is the engine's business, at call time.

use indexmap::IndexMap;
use serde_json::Value;
use url::Url;

use crate::destination::DestinationPolicy;
use crate::endpoint;
use crate::fields::Fields;
use crate::violations::{join, Violations};
use crate::WebhookTool;

/// At most this many variables in a session token.
pub const MAX_VARIABLES: usize = 50;
/// The longest value a variable may hold, in bytes.
pub const MAX_VARIABLE_VALUE_BYTES: usize = 4 * 1024;
/// The longest name a variable may have.
pub const MAX_VARIABLE_NAME_CHARS: usize = 64;
/// The names Hookline fills itself.
pub const BUILT_INS: [&str; 3] = ["session.id", "persona.id", "now"];

/// Stands for a reference while a URL is checked: letters only, so it is valid in any part of
/// a URL, and unlike anything a real URL holds.
const URL_PROBE: &str = "hooklinevariable";

/// A name a session token may give a value: snake_case (`customer_id`), at most 64 characters.
pub fn is_variable_name(name: &str) -> bool {
    name.len() <= MAX_VARIABLE_NAME_CHARS
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// One `{{name}}` in a text, with its byte range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub name: String,
    pub start: usize,
    pub end: usize,
}

/// The `{{name}}` references of a text. Errors on an unclosed `{{` or a name that is neither
/// snake_case nor a built-in.
pub fn references(text: &str) -> Result<Vec<Reference>, String> {
    let mut found = Vec::new();
    let mut rest = 0;
    while let Some(open) = text[rest..].find("{{").map(|i| i + rest) {
        let Some(close) = text[open + 2..].find("}}").map(|i| i + open + 2) else {
            return Err("has a '{{' without its closing '}}'".into());
        };
        let name = &text[open + 2..close];
        if !is_variable_name(name) && !BUILT_INS.contains(&name) {
            return Err(format!(
                "has a variable {{{{{name}}}}} whose name is neither snake_case nor one of \
                 session.id, persona.id, now"
            ));
        }
        found.push(Reference {
            name: name.to_owned(),
            start: open,
            end: close + 2,
        });
        rest = close + 2;
    }
    Ok(found)
}

/// Whether a text may hold references (the cheap test before [`references`]).
pub fn may_refer(text: &str) -> bool {
    text.contains("{{")
}

/// Replaces every reference by `fill(name)`.
pub fn substitute(text: &str, refs: &[Reference], mut fill: impl FnMut(&str) -> String) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for r in refs {
        out.push_str(&text[at..r.start]);
        out.push_str(&fill(&r.name));
        at = r.end;
    }
    out.push_str(&text[at..]);
    out
}

/// Checks a webhook URL that may hold `{{variables}}` in its path and query (never in its host):
/// the references, then the URL with each one standing for a plain word, by the rules of
/// [`endpoint::check_url`]. Returns the URL's `{path}` templates.
pub fn check_url(raw: &str, policy: &DestinationPolicy) -> Result<Vec<String>, String> {
    if !may_refer(raw) {
        return endpoint::check_url(raw, policy);
    }
    let refs = references(raw)?;
    let probe = substitute(raw, &refs, |_| URL_PROBE.into());
    let found = endpoint::check_url(&probe, policy)?;
    let host = Url::parse(&probe)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned));
    if host.is_some_and(|h| h.contains(URL_PROBE)) {
        return Err("may hold {{variables}} only in its path and query, not in its host".into());
    }
    Ok(found)
}

/// Reports a text's malformed references at `path`.
pub fn check_text(text: &str, path: &str, v: &mut Violations) {
    if may_refer(text) {
        if let Err(message) = references(text) {
            v.rule(path, message);
        }
    }
}

/// Checks the string `default`s of a schema's properties, which may refer to variables.
pub fn check_defaults(schema: Option<&Value>, path: &str, v: &mut Violations) {
    for (name, default) in string_defaults(schema) {
        let field = join(&join(&join(path, "properties"), name), "default");
        check_text(default, &field, v);
    }
}

/// Reports malformed references in a webhook tool's header values and parameter defaults.
pub fn check_tool_texts(f: &mut Fields, parameters: Option<&Value>, query: Option<&Value>) {
    if let Some(Value::Object(headers)) = f.get("headers") {
        let prefix = f.path("headers");
        for (name, value) in headers {
            if let Some(text) = value.as_str() {
                check_text(text, &join(&prefix, name), f.v);
            }
        }
    }
    let path = f.path("parameters");
    check_defaults(parameters, &path, f.v);
    let path = f.path("queryParameters");
    check_defaults(query, &path, f.v);
}

/// The properties of a schema whose `default` is a string referring to a variable.
pub fn string_defaults(schema: Option<&Value>) -> impl Iterator<Item = (&str, &str)> {
    schema
        .and_then(|s| s.get("properties"))
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|p| p.iter())
        .filter_map(|(name, prop)| {
            let default = prop.get("default")?.as_str()?;
            may_refer(default).then_some((name.as_str(), default))
        })
}

/// Whether a webhook tool refers to any variable outside its header values (which are sealed
/// and looked at once opened).
pub fn tool_refers(tool: &WebhookTool) -> bool {
    may_refer(&tool.url)
        || string_defaults(tool.parameters.as_ref()).next().is_some()
        || string_defaults(tool.query_parameters.as_ref())
            .next()
            .is_some()
}

/// Reads `personaConfig.variables`: an object of at most 50 snake_case names, each a string of
/// at most 4 KiB. Every problem is reported under `path`.
pub fn parse_variables(
    value: &Value,
    path: &str,
    v: &mut Violations,
) -> Option<IndexMap<String, String>> {
    let Some(map) = value.as_object() else {
        v.wrong_type(path, "an object of variable names and string values");
        return None;
    };
    let before = v.len();
    if map.len() > MAX_VARIABLES {
        v.rule(path, format!("must hold at most {MAX_VARIABLES} variables"));
    }
    let mut out = IndexMap::with_capacity(map.len());
    for (name, value) in map {
        let field = join(path, name);
        if !is_variable_name(name) {
            v.rule(
                &field,
                "is not a variable name: snake_case (a-z, 0-9, _), starting with a letter, at \
                 most 64 characters",
            );
            continue;
        }
        let Some(text) = value.as_str() else {
            v.wrong_type(field, "a string");
            continue;
        };
        if text.len() > MAX_VARIABLE_VALUE_BYTES {
            v.rule(field, "must be at most 4 KiB");
            continue;
        }
        out.insert(name.clone(), text.to_owned());
    }
    (v.len() == before).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_references_and_refuses_bad_names() {
        let refs = references("a{{customer_id}}b{{session.id}}").unwrap();
        let names: Vec<_> = refs.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["customer_id", "session.id"]);
        assert_eq!(
            substitute("a{{x}}b", &references("a{{x}}b").unwrap(), |_| "1".into()),
            "a1b"
        );
        assert!(references("{{Customer}}").is_err());
        assert!(references("{{a").is_err());
        assert!(references("{{ a }}").is_err());
        assert!(references("{single}").unwrap().is_empty());
    }

    #[test]
    fn urls_take_variables_in_path_and_query_only() {
        let dev = DestinationPolicy::development();
        assert_eq!(
            check_url("https://x.com/c/{{customer_id}}/o/{id}?t={{tenant}}", &dev).unwrap(),
            ["id"]
        );
        assert!(check_url("https://{{host}}.x.com/", &dev).is_err());
        assert!(check_url("https://x.com/{{Bad}}", &dev).is_err());
    }

    #[test]
    fn variables_are_bounded_and_named() {
        let mut v = Violations::new();
        let parsed = parse_variables(
            &json!({"customer_id": "c1"}),
            "personaConfig.variables",
            &mut v,
        );
        assert_eq!(parsed.unwrap()["customer_id"], "c1");
        let mut v = Violations::new();
        let big = "x".repeat(MAX_VARIABLE_VALUE_BYTES + 1);
        assert!(parse_variables(
            &json!({"CustomerId": "c", "n": 1, "big": big}),
            "personaConfig.variables",
            &mut v
        )
        .is_none());
        let fields: Vec<_> = v.errors().iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "personaConfig.variables.CustomerId",
                "personaConfig.variables.n",
                "personaConfig.variables.big"
            ]
        );
        let many: serde_json::Map<String, Value> =
            (0..51).map(|i| (format!("v{i}"), json!("x"))).collect();
        let mut v = Violations::new();
        assert!(parse_variables(&Value::Object(many), "p", &mut v).is_none());
        assert_eq!(v.errors()[0].field, "p");
    }
}
