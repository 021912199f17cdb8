//! OpenAPI import: an OpenAPI 3.0 or 3.1 document (JSON or YAML text) turned into one draft
//! webhook tool per operation, each checked by the same rules as a tool sent to `POST /v1/tools`
//! and created in its own transaction, so one bad operation never stops the others. Every
//! operation is reported: created (or, in a dry run, valid) with its tool, or refused with why.
//!
//! What an operation becomes: `name` its operationId in snake_case, `description` its summary,
//! `url` the server URL and the path (path parameters as `{templates}`), `method` its method,
//! `parameters` its path parameters and the properties of its JSON request body,
//! `queryParameters` its query parameters. Header and cookie parameters are not carried (noted).

mod drafts;
mod refs;
mod yaml;

use crate::service::RegistryError;
use hookline_core::http::CoreState;
use hookline_core::sealed_tool::SealedTool;
use hookline_schema::fields::{object_at, Fields};
use hookline_schema::{FieldError, ToolDefinition, Violations};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::import_wire::{ImportStatus, ImportView, ImportedOperation};

/// An import request, read and checked: the document parsed, and the fields every draft gets.
pub struct ImportRequest {
    document: Value,
    operations: Option<Vec<String>>,
    /// `headers`, `plainHeaders`, `connectionId` as sent: each draft carries them, and the
    /// tool rules check them there.
    shared: Map<String, Value>,
    base_url: Option<String>,
}

/// Reads an import body: `openapi` (the document as text, or as a JSON object), `operations`,
/// `headers`, `plainHeaders`, `connectionId`, `baseUrl`. A document over the size bound, or that
/// is neither JSON nor YAML, is a 422 naming `openapi`.
pub fn parse(state: &CoreState, body: &Value) -> Result<ImportRequest, RegistryError> {
    let limits = &state.settings.import;
    let map = object_at(body, "").map_err(RegistryError::Invalid)?;
    let mut v = Violations::new();
    let mut f = Fields::new(map, "", &mut v);
    let document = match f.required("openapi") {
        Some(Value::String(text)) if text.len() > limits.max_bytes => {
            f.v.rule(
                "openapi",
                format!(
                    "is {} bytes; at most {} are read (HOOKLINE_IMPORT_MAX_BYTES)",
                    text.len(),
                    limits.max_bytes
                ),
            );
            None
        }
        Some(Value::String(text)) => match read_document(text) {
            Ok(document) => Some(document),
            Err(message) => {
                f.v.rule("openapi", message);
                None
            }
        },
        Some(object @ Value::Object(_)) => Some(object.clone()),
        Some(_) => {
            f.v.wrong_type("openapi", "the OpenAPI document as JSON or YAML text");
            None
        }
        None => None,
    };
    let operations = f.get("operations").and_then(|value| {
        let names = value.as_array().and_then(|items| {
            items
                .iter()
                .map(|i| i.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
        });
        if names.is_none() {
            f.v.wrong_type("operations", "an array of operationIds");
        }
        names
    });
    let mut shared = Map::new();
    for key in ["headers", "plainHeaders", "connectionId"] {
        if let Some(value) = f.get(key) {
            shared.insert(key.to_owned(), value.clone());
        }
    }
    let base_url = f.string("baseUrl").map(str::to_owned);
    f.finish("an import");
    if !v.is_empty() {
        return Err(RegistryError::Invalid(v));
    }
    Ok(ImportRequest {
        document: document.expect("checked above"),
        operations,
        shared,
        base_url,
    })
}

/// The document's text as JSON when it looks like JSON, else as YAML (which holds JSON too, but
/// reads it slower).
fn read_document(text: &str) -> Result<Value, String> {
    if text.trim_start().starts_with('{') {
        return serde_json::from_str(text).map_err(|e| format!("is not valid JSON: {e}"));
    }
    match yaml::from_str(text) {
        Ok(document @ Value::Object(_)) => Ok(document),
        Ok(_) => Err("is not an OpenAPI document (its top level is not a mapping)".into()),
        Err(e) => Err(format!("is neither valid JSON nor valid YAML: {e}")),
    }
}

/// Turns the document into drafts and, unless `dry_run`, creates the valid ones. A problem of the
/// whole document (not OpenAPI 3, no paths, too many operations, an unknown name in
/// `operations`) is a 422; a problem of one operation is reported beside it.
pub async fn import(
    state: &CoreState,
    org_id: Uuid,
    request: ImportRequest,
    dry_run: bool,
) -> Result<ImportView, RegistryError> {
    let drafts = drafts::drafts(
        &request.document,
        request.operations.as_deref(),
        request.base_url.as_deref(),
        &request.shared,
        &state.settings.import,
    )
    .map_err(RegistryError::Invalid)?;
    let mut report = ImportView {
        dry_run,
        created: 0,
        valid: 0,
        refused: 0,
        operations: Vec::with_capacity(drafts.len()),
    };
    let mut names: Vec<String> = Vec::new();
    for draft in drafts {
        let mut entry = ImportedOperation {
            operation_id: draft.operation_id,
            method: draft.method,
            path: draft.path,
            name: draft.name,
            status: ImportStatus::Refused,
            tool: None,
            draft: None,
            errors: Vec::new(),
            notes: draft.notes,
        };
        let checked = draft.body.and_then(|body| {
            ToolDefinition::parse(&body, "", &state.settings.destinations)
                .map_err(Violations::into_errors)
        });
        match checked {
            Err(errors) => entry.errors = errors,
            Ok(definition) if names.iter().any(|n| n == definition.name()) => {
                entry.errors = vec![FieldError::new(
                    "name",
                    "another operation of this document has the same name",
                )];
            }
            Ok(definition) => {
                names.push(definition.name().to_owned());
                let outcome = if dry_run {
                    check_only(state, org_id, definition).await
                } else {
                    super::tools::create(state, org_id, definition)
                        .await
                        .map(Stored::Tool)
                };
                match outcome {
                    Ok(Stored::Tool(view)) => {
                        entry.status = ImportStatus::Created;
                        entry.tool = Some(view);
                    }
                    Ok(Stored::Draft(definition)) => {
                        entry.status = ImportStatus::Valid;
                        entry.draft = Some(definition);
                    }
                    // The database failing is the whole import's problem, not one operation's.
                    Err(e) if e.is_fault() => return Err(e),
                    Err(e) => entry.errors = e.field_errors(),
                }
            }
        }
        match entry.status {
            ImportStatus::Created => report.created += 1,
            ImportStatus::Valid => report.valid += 1,
            ImportStatus::Refused => report.refused += 1,
        }
        report.operations.push(entry);
    }
    if !dry_run {
        report.valid = report.created;
        tracing::info!(
            created = report.created,
            refused = report.refused,
            "tools imported from OpenAPI"
        );
    }
    Ok(report)
}

enum Stored {
    Tool(crate::views::ToolView),
    Draft(ToolDefinition),
}

/// A dry run's draft: checked against the organization (its connection) and shown as it would
/// be stored, header values masked.
async fn check_only(
    state: &CoreState,
    org_id: Uuid,
    definition: ToolDefinition,
) -> Result<Stored, RegistryError> {
    let mut conn = state.pool.acquire().await?;
    super::connections::check_tool(&mut conn, org_id, &definition, "").await?;
    let masked = SealedTool::seal(definition, org_id, &state.settings.secrets).definition;
    Ok(Stored::Draft(masked))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_yaml_as_json_with_numbers_keys_and_anchors() {
        let doc = read_document(
            "openapi: 3.1.0\nmin: -9223372036854776000\nresponses:\n  200: {description: ok}\n\
             base: &b {type: string}\nuse: *b\n",
        )
        .unwrap();
        assert_eq!(doc["min"].as_f64(), Some(-9.223372036854776e18));
        assert_eq!(doc["responses"]["200"]["description"], "ok");
        assert_eq!(doc["use"]["type"], "string");
        assert!(read_document("- a\n- b\n").is_err());
        assert!(read_document("{\"openapi\": ").is_err());
    }
}
