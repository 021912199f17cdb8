//! The registry as a library: plain async functions an internal service links and calls without
//! HTTP (`hookline_registry::tools::create`, `personas::update`, `llms::delete`...). Each takes
//! the shared [`CoreState`](hookline_core::http::CoreState), the organization it acts for and
//! input already read from its wire form (a checked definition, a JSON Merge Patch object), and
//! returns the view the API shows. Everything a write decides — merging a patch with masked
//! secrets restored, refusing to move a secret to another origin, the checks against the
//! organization's other rows — happens here, inside one transaction.

pub mod api_keys;
pub mod connections;
pub mod import;
pub mod llms;
mod merge;
pub mod personas;
pub mod tools;

use hookline_core::http::ApiError;
use hookline_core::StoreError;
use serde_json::{json, Value};
use uuid::Uuid;

/// A store error, with a violation of the unique-name `constraint` answered as a 409 naming the
/// field (`a_noun` is "a tool", `noun` "tool").
fn name_taken(e: StoreError, constraint: &str, a_noun: &str, noun: &str, name: &str) -> ApiError {
    match e {
        StoreError::Conflict { constraint: c } if c == constraint => {
            ApiError::conflict(format!("{a_noun} named {name:?} exists already")).with_field(
                "name",
                &format!("is taken by another {noun} of your organization"),
            )
        }
        other => other.into(),
    }
}

/// The 409 of deleting something personas still use: the problem lists them as `personas`.
fn in_use(what: &str, users: &[(Uuid, String)], instead: &str) -> ApiError {
    let personas: Vec<Value> = users
        .iter()
        .map(|(id, name)| json!({"id": id, "name": name}))
        .collect();
    ApiError::conflict(format!(
        "{what} is used by {} persona(s); {instead} or delete with ?force=true",
        users.len()
    ))
    .with("personas", Value::Array(personas))
}
