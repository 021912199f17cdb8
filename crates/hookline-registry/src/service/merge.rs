//! Partial updates with JSON Merge Patch meaning (RFC 7396) at the top level: each field sent
//! replaces the stored one whole (a schema or header set is never merged key by key), `null`
//! removes an optional field, fields not sent stay.

use hookline_schema::fields::nearest;
use hookline_schema::Violations;
use serde::Serialize;
use serde_json::{Map, Value};

use super::error::RegistryError;

/// Every field a tool definition of any type has: `null` may clear any of them.
pub const TOOL_FIELDS: [&str; 20] = [
    "type",
    "subtype",
    "name",
    "description",
    "url",
    "method",
    "headers",
    "plainHeaders",
    "parameters",
    "queryParameters",
    "awaitResponse",
    "timeoutSeconds",
    "disableInterruptions",
    "awaitResult",
    "resultTimeoutSeconds",
    "connectionId",
    "documentFolderIds",
    "limit",
    "response",
    "limits",
];

/// The keys of `patch` sent as `null` that are no field of `what` at all. A `null` removes a
/// field before the merged whole is checked, so without this an unknown field would pass
/// unnoticed when it is `null` and be refused when it is anything else.
pub fn unknown_cleared(patch: &Map<String, Value>, known: &[&str], what: &str) -> Violations {
    let mut v = Violations::new();
    for (key, value) in patch {
        if value.is_null() && !known.contains(&key.as_str()) {
            let mut message = format!("is not a field of {what}");
            if let Some(near) = nearest(key, known) {
                message.push_str(&format!(" (did you mean \"{near}\"?)"));
            }
            v.rule(key.clone(), message);
        }
    }
    v
}

pub fn merge_top_level(current: &mut Map<String, Value>, patch: Map<String, Value>) {
    for (key, value) in patch {
        if value.is_null() {
            current.shift_remove(&key);
        } else {
            current.insert(key, value);
        }
    }
}

/// Whether a patch keeps a stored secret (an LLM's API key, a connection's client secret): it does
/// not send `field`, or sends back the secret's masked `preview` (`None`: no secret is stored).
pub fn keeps_secret(patch: &Map<String, Value>, field: &str, preview: Option<&str>) -> bool {
    preview.is_some_and(|preview| match patch.get(field) {
        None => true,
        Some(Value::String(sent)) => sent == preview,
        Some(_) => false,
    })
}

/// The body a patched resource is checked as, whole: the `stored` resource as the API shows it
/// (its view), without its read-only fields, its `null`s and its secret `secret_field` (a view
/// shows only its preview), with `patch` merged over it, and the stored secret put back when the
/// patch keeps it (`kept`).
pub fn patched_body(
    stored: &impl Serialize,
    secret_field: &str,
    patch: Map<String, Value>,
    kept: Option<&str>,
) -> Result<Value, RegistryError> {
    let Value::Object(mut merged) =
        serde_json::to_value(stored).map_err(RegistryError::internal)?
    else {
        return Err(RegistryError::internal(
            "a stored resource's view is not an object",
        ));
    };
    merged.retain(|k, v| {
        !v.is_null()
            && k != secret_field
            && !matches!(k.as_str(), "id" | "createdAt" | "updatedAt" | "usageCount")
    });
    merge_top_level(&mut merged, patch);
    if let Some(secret) = kept {
        merged.insert(secret_field.into(), Value::String(secret.to_owned()));
    }
    Ok(Value::Object(merged))
}

/// Whether a URL moved to another origin (scheme, host or port): stored secrets (header values, an
/// LLM's API key) belong to the origin they were written for and never follow the URL there.
/// A URL that does not parse counts as moved.
pub fn origin_moved(old: &str, new: &str) -> bool {
    match (url::Url::parse(old), url::Url::parse(new)) {
        (Ok(old), Ok(new)) => old.origin() != new.origin(),
        _ => true,
    }
}
