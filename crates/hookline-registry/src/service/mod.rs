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

use hookline_core::http::problem::ProblemType;
use hookline_core::http::{ApiError, CoreState};
use hookline_core::StoreError;
use uuid::Uuid;

/// A store error, with a violation of the unique-name `constraint` answered as a 409 naming the
/// field (`a_noun` is "a tool", `noun` "tool").
fn name_taken(e: StoreError, constraint: &str, a_noun: &str, noun: &str, name: &str) -> ApiError {
    match e {
        StoreError::Conflict { constraint: c } if c == constraint => {
            ApiError::conflict(format!("{a_noun} named {name:?} exists already"))
                .typed(ProblemType::NameTaken)
                .with_field(
                    "name",
                    &format!("is taken by another {noun} of your organization"),
                )
        }
        other => other.into(),
    }
}

/// The 409 of deleting something personas still use: the problem lists them as `personas`.
fn in_use(what: &str, users: &[(Uuid, String)], instead: &str) -> ApiError {
    ApiError::in_use(what, users, "persona", "personas", instead)
}

/// Tells every instance that these personas' tools changed (MCP clients holding a stream of one
/// are told to list its tools again). Made after the change committed; a failure to announce
/// loses only that word, never the change, so it is logged, not answered.
async fn announce_tools_changed(state: &CoreState, persona_ids: impl IntoIterator<Item = Uuid>) {
    let notes: Vec<String> = persona_ids
        .into_iter()
        .map(hookline_core::hub::tools_changed)
        .collect();
    if let Err(e) = hookline_core::repo::events::notify(&state.pool, &notes).await {
        tracing::warn!(error = %e, "could not announce that personas' tools changed");
    }
}
