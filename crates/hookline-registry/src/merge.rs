//! Partial updates with JSON Merge Patch meaning (RFC 7396) at the top level: each field sent
//! replaces the stored one whole (a schema or header set is never merged key by key), `null`
//! removes an optional field, fields not sent stay.

use serde_json::{Map, Value};

pub fn merge_top_level(current: &mut Map<String, Value>, patch: Map<String, Value>) {
    for (key, value) in patch {
        if value.is_null() {
            current.shift_remove(&key);
        } else {
            current.insert(key, value);
        }
    }
}
