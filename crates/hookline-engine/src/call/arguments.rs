//! Checking a call's arguments before it is stored: the tool's JSON Schema (compiled once per
//! tool version, checked in place when that is bounded small work, otherwise off the runtime)
//! and, for webhooks, the values its URL's path templates would take.

use std::sync::Arc;

use serde_json::Value;

use hookline_schema::{ToolDefinition, Violations};

use super::Engine;
use crate::cache::CachedSession;
use crate::outgoing;

impl Engine {
    /// Every problem with a call's arguments: the tool's schema (checked here when the check is
    /// bounded small work, otherwise off the runtime, see [`crate::validation::Checker`]) and, for webhooks, the
    /// values its URL's path templates would take.
    pub(crate) async fn check_arguments(
        &self,
        session: &Arc<CachedSession>,
        tool_name: &str,
        arguments: &Value,
    ) -> Violations {
        // The usual check (a compiled validator, a few arguments) costs microseconds: run it
        // here. Compiling, and checks whose size is not bounded small, go off the runtime.
        let compiled = session
            .config
            .tool(tool_name)
            .and_then(|tool| self.caches.compiled_validator(session.id, tool))
            .filter(|v| v.is_cheap_for(arguments));
        if let Some(validator) = compiled {
            let found = validator.validate(arguments);
            return path_problems(session, tool_name, arguments, found);
        }
        let (caches, shared, name, args) = (
            self.caches.clone(),
            session.clone(),
            tool_name.to_owned(),
            arguments.clone(),
        );
        let found = self
            .checker
            .run(move || {
                let tool = shared
                    .config
                    .tool(&name)
                    .expect("the tool was found before");
                caches
                    .validator(shared.id, tool)
                    .map(|v| v.validate(&args))
                    .unwrap_or_else(|e| Violations::single("arguments", e))
            })
            .await;
        path_problems(session, tool_name, arguments, found)
    }
}

/// The schema's problems, or when there are none, those of the values a webhook's path
/// templates would take.
fn path_problems(
    session: &CachedSession,
    tool_name: &str,
    arguments: &Value,
    found: Violations,
) -> Violations {
    if found.is_empty() {
        if let Some(ToolDefinition::Server(webhook)) =
            session.config.tool(tool_name).map(|t| &t.tool.definition)
        {
            return outgoing::path_value_problems(webhook, arguments);
        }
    }
    found
}
