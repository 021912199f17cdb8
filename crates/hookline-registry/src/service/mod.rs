//! The registry as a library: plain async functions an internal service links and calls without
//! HTTP (`hookline_registry::tools::create`, `personas::update`, `llms::delete`...). Each takes
//! the shared [`CoreState`](hookline_core::http::CoreState), the organization it acts for and
//! input already read from its wire form (a checked definition, a JSON Merge Patch object), and
//! returns the view the API shows or a [`RegistryError`] (the routes make it a problem).
//! Everything a write decides — merging a patch with masked secrets restored, refusing to move a
//! secret to another origin, the checks against the organization's other rows — happens here,
//! inside one transaction.

pub mod api_keys;
pub mod connections;
mod error;
pub mod import;
pub mod llms;
mod merge;
pub mod personas;
pub mod tools;

use hookline_core::http::CoreState;
use hookline_core::refusals::{InUse, NameTaken};
use hookline_core::StoreError;
use uuid::Uuid;

pub use error::RegistryError;

/// A store error, with a violation of the unique-name `constraint` said as the name taken
/// (`a_noun` is "a tool", `noun` "tool").
fn name_taken(
    e: StoreError,
    constraint: &str,
    a_noun: &str,
    noun: &str,
    name: &str,
) -> RegistryError {
    match e {
        StoreError::Conflict { constraint: c } if c == constraint => {
            NameTaken::in_organization(a_noun, noun, name).into()
        }
        other => other.into(),
    }
}

/// Deleting something personas still use: they are listed as `personas`.
fn in_use(what: &'static str, users: Vec<(Uuid, String)>, instead: &'static str) -> RegistryError {
    InUse {
        what,
        users,
        noun: "persona",
        key: "personas",
        instead,
    }
    .into()
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
