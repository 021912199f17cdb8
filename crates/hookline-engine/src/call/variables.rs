//! Dynamic variables at call time: which `{{name}}`s a webhook's request needs, their values
//! (built-ins, those a tool's `response.assign` stored for the session, the session token's), and
//! the url, header values and argument defaults with them filled in — twice: once to send, once
//! with every value masked for the call log. A variable that has no value fails the call before
//! anything is built.

use std::collections::HashMap;

use chrono::{SecondsFormat, Utc};
use indexmap::IndexMap;
use percent_encoding::utf8_percent_encode;
use serde_json::{Map, Value};
use uuid::Uuid;

use hookline_core::repo::session_variables;
use hookline_core::secrets::{variable_context, SecretString};
use hookline_core::snapshot::SessionConfig;
use hookline_schema::variables::{may_refer, references, string_defaults, substitute, tool_refers};
use hookline_schema::WebhookTool;

use super::prepare_error::PrepareError;
use super::Engine;
use crate::outgoing::{walks_the_path, PATH_SEGMENT};

/// What a masked variable shows in the call log and the tool test.
pub(crate) const MASK: &str = "••••";

/// Where a call's variables come from.
#[derive(Clone, Copy)]
pub(crate) enum Scope<'a> {
    /// A session's call: its token's variables, those its tools assigned, the built-ins.
    Session {
        session_id: Uuid,
        config: &'a SessionConfig,
    },
    /// A tool test: the values the test was given (built-ins included, `now` always there).
    Test(&'a IndexMap<String, String>),
}

/// The parts of a webhook's request that may refer to variables, filled.
pub(crate) struct Filled {
    /// The tool's url.
    pub url: String,
    pub headers: Vec<(String, SecretString)>,
    pub arguments: Map<String, Value>,
}

/// The variables a request of `tool` with these headers uses, each once, in order of use.
pub(crate) fn used(tool: &WebhookTool, headers: &[(String, SecretString)]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let header_refer = headers.iter().any(|(_, v)| may_refer(v.expose()));
    if !header_refer && !tool_refers(tool) {
        return names;
    }
    let texts = std::iter::once(tool.url.as_str())
        .chain(headers.iter().map(|(_, v)| v.expose()))
        .chain(string_defaults(tool.parameters.as_ref()).map(|(_, d)| d))
        .chain(string_defaults(tool.query_parameters.as_ref()).map(|(_, d)| d));
    for text in texts.filter(|t| may_refer(t)) {
        for r in references(text).unwrap_or_default() {
            if !names.contains(&r.name) {
                names.push(r.name);
            }
        }
    }
    names
}

/// Fills a tool's url, header values and the defaults of arguments the LLM left out with
/// `value(name)` (every name is one of [`used`]). In the url a value is percent-encoded as a
/// path segment's character would be (which is safe in the query too); one that would walk
/// the path (`..`, empty) is refused.
pub(crate) fn fill(
    tool: &WebhookTool,
    headers: &[(String, SecretString)],
    arguments: &Map<String, Value>,
    value: impl Fn(&str) -> String,
) -> Result<Filled, PrepareError> {
    let mut url = tool.url.clone();
    if may_refer(&tool.url) {
        let refs = references(&tool.url).unwrap_or_default();
        let query_at = tool.url.find('?').unwrap_or(tool.url.len());
        for r in refs.iter().filter(|r| r.start < query_at) {
            if walks_the_path(&value(&r.name)) {
                return Err(PrepareError::Variable(
                    r.name.clone(),
                    "fills a path segment of the tool's url and must not be empty, \".\" or \"..\"",
                ));
            }
        }
        url = substitute(&tool.url, &refs, |name| {
            utf8_percent_encode(&value(name), PATH_SEGMENT).to_string()
        });
    }
    let headers = headers
        .iter()
        .map(|(name, v)| {
            let text = v.expose();
            if !may_refer(text) {
                return (name.clone(), v.clone());
            }
            let refs = references(text).unwrap_or_default();
            let out = substitute(text, &refs, &value);
            (name.clone(), SecretString::new(out))
        })
        .collect();
    let mut arguments = arguments.clone();
    for schema in [tool.parameters.as_ref(), tool.query_parameters.as_ref()] {
        for (name, default) in string_defaults(schema) {
            if !arguments.contains_key(name) {
                let refs = references(default).unwrap_or_default();
                let text = substitute(default, &refs, &value);
                arguments.insert(name.to_owned(), Value::String(text));
            }
        }
    }
    Ok(Filled {
        url,
        headers,
        arguments,
    })
}

impl Engine {
    /// The values of `names`, or every name that has none (a failed call names them all).
    pub(crate) async fn variable_values(
        &self,
        org_id: Uuid,
        scope: Scope<'_>,
        names: &[String],
    ) -> Result<HashMap<String, String>, PrepareError> {
        let mut values = HashMap::with_capacity(names.len());
        let mut missing = Vec::new();
        match scope {
            Scope::Test(given) => {
                for name in names {
                    match (given.get(name), name.as_str()) {
                        (Some(v), _) => {
                            values.insert(name.clone(), v.clone());
                        }
                        (None, "now") => {
                            values.insert(name.clone(), now());
                        }
                        (None, _) => missing.push(name.clone()),
                    }
                }
            }
            Scope::Session { session_id, config } => {
                // Only a name some tool of the session assigns can have a stored value: the
                // other calls never ask the database.
                let assignable: Vec<String> = names
                    .iter()
                    .filter(|n| assigned_by_a_tool(config, n))
                    .cloned()
                    .collect();
                let stored = if assignable.is_empty() {
                    Vec::new()
                } else {
                    session_variables::get_many(&self.pool, session_id, &assignable)
                        .await
                        .map_err(|e| PrepareError::Other(e.to_string()))?
                };
                for name in names {
                    let sealed = stored
                        .iter()
                        .find(|(n, _)| n == name)
                        .map(|(_, s)| s)
                        .or_else(|| config.variables.get(name));
                    let value = match (name.as_str(), sealed) {
                        ("session.id", _) => Some(session_id.to_string()),
                        ("persona.id", _) => config.persona_id.map(|id| id.to_string()),
                        ("now", _) => Some(now()),
                        (_, Some(sealed)) => Some(
                            self.settings
                                .secrets
                                .open(sealed, &variable_context(org_id, name))
                                .map_err(|e| PrepareError::secret("variable value", e))?
                                .expose()
                                .to_owned(),
                        ),
                        (_, None) => None,
                    };
                    match value {
                        Some(v) => {
                            values.insert(name.clone(), v);
                        }
                        None => missing.push(name.clone()),
                    }
                }
            }
        }
        if missing.is_empty() {
            Ok(values)
        } else {
            Err(PrepareError::MissingVariables(missing))
        }
    }

    /// Stores values a tool's `response.assign` took from an answer, sealed, for the
    /// session's later calls. A failure is logged: the call itself has succeeded.
    pub(crate) async fn assign(&self, org_id: Uuid, session_id: Uuid, values: &[(String, String)]) {
        let sealed: Vec<(String, String)> = values
            .iter()
            .map(|(name, value)| {
                let context = variable_context(org_id, name);
                (name.clone(), self.settings.secrets.seal(value, &context))
            })
            .collect();
        if let Err(e) = session_variables::put_many(&self.pool, session_id, &sealed).await {
            tracing::error!(%session_id, error = %e, "assigned session variables could not be stored");
        }
    }
}

fn assigned_by_a_tool(config: &SessionConfig, name: &str) -> bool {
    config.tools.iter().any(|t| match &t.tool.definition {
        hookline_schema::ToolDefinition::Server(w) => w
            .response
            .as_ref()
            .is_some_and(|r| r.assign.contains_key(name)),
        _ => false,
    })
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)
}
