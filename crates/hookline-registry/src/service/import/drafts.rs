//! From an OpenAPI document to draft tool definitions (JSON, as a user would send them), one per
//! operation; the tool rules check them afterwards.

use hookline_core::settings::ImportSettings;
use hookline_schema::definition::MAX_DESCRIPTION_CHARS;
use hookline_schema::name::MAX_NAME_CHARS;
use hookline_schema::{FieldError, Violations};
use serde_json::{json, Map, Value};

use super::refs::Resolver;

/// One operation's draft, or why there is none.
pub struct Draft {
    pub operation_id: Option<String>,
    pub method: String,
    pub path: String,
    pub name: Option<String>,
    pub body: Result<Value, Vec<FieldError>>,
    pub notes: Vec<String>,
}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Every operation of the document (or those `wanted` names), in the document's order.
pub fn drafts(
    document: &Value,
    wanted: Option<&[String]>,
    base_url: Option<&str>,
    shared: &Map<String, Value>,
    limits: &ImportSettings,
) -> Result<Vec<Draft>, Violations> {
    let version = document.get("openapi").and_then(Value::as_str);
    let v30 = match version {
        Some(v) if v.starts_with("3.0") => true,
        Some(v) if v.starts_with("3.1") => false,
        _ if document.get("swagger").is_some() => {
            return Err(Violations::single(
                "openapi.swagger",
                "Swagger 2.0 documents are not read; convert the document to OpenAPI 3 first",
            ))
        }
        _ => {
            return Err(Violations::single(
                "openapi.openapi",
                "must say the OpenAPI version, 3.0.x or 3.1.x",
            ))
        }
    };
    let Some(paths) = document.get("paths").and_then(Value::as_object) else {
        return Err(Violations::single(
            "openapi.paths",
            "is required: the operations to import live there",
        ));
    };
    let mut found = Vec::new();
    for (path, item) in paths {
        let Some(item) = item.as_object() else {
            continue;
        };
        for method in METHODS {
            if let Some(Value::Object(operation)) = item.get(method) {
                found.push((path.as_str(), item, method, operation));
            }
        }
    }
    if let Some(wanted) = wanted {
        let mut v = Violations::new();
        for (i, id) in wanted.iter().enumerate() {
            let known = found
                .iter()
                .any(|(.., op)| op.get("operationId").and_then(Value::as_str) == Some(id));
            if !known {
                v.rule(
                    format!("operations[{i}]"),
                    format!("no operation of the document has the operationId {id:?}"),
                );
            }
        }
        v.into_result(())?;
        found.retain(|(.., op)| {
            op.get("operationId")
                .and_then(Value::as_str)
                .is_some_and(|id| wanted.iter().any(|w| w == id))
        });
    }
    if found.len() > limits.max_operations {
        return Err(Violations::single(
            "openapi",
            format!(
                "has {} operations; at most {} are imported at once (HOOKLINE_IMPORT_MAX_OPERATIONS): \
                 choose some with operations",
                found.len(),
                limits.max_operations
            ),
        ));
    }
    let context = Context {
        document,
        v30,
        base_url,
        shared,
        max_depth: limits.max_ref_depth,
    };
    Ok(found
        .into_iter()
        .map(|(path, item, method, operation)| context.draft(path, item, method, operation))
        .collect())
}

struct Context<'a> {
    document: &'a Value,
    v30: bool,
    base_url: Option<&'a str>,
    shared: &'a Map<String, Value>,
    max_depth: usize,
}

/// An operation's parameters, sorted by where they go.
#[derive(Default)]
struct Parameters {
    body: Map<String, Value>,
    body_required: Vec<Value>,
    query: Map<String, Value>,
    query_required: Vec<Value>,
}

impl Parameters {
    /// Adds the body's and the query string's schemas to a tool definition (none when empty).
    fn insert_into(self, tool: &mut Map<String, Value>) {
        for (key, properties, required) in [
            ("parameters", self.body, self.body_required),
            ("queryParameters", self.query, self.query_required),
        ] {
            if properties.is_empty() {
                continue;
            }
            let mut schema = json!({"type": "object", "properties": properties});
            if !required.is_empty() {
                schema["required"] = Value::Array(required);
            }
            tool.insert(key.into(), schema);
        }
    }
}

/// One refusal of an operation, as the import reports it.
fn refuse(field: String, message: String) -> Vec<FieldError> {
    vec![FieldError::new(field, message)]
}

impl Context<'_> {
    fn draft(
        &self,
        path: &str,
        item: &Map<String, Value>,
        method: &str,
        operation: &Map<String, Value>,
    ) -> Draft {
        let operation_id = operation
            .get("operationId")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let name = snake_case(
            operation_id
                .as_deref()
                .unwrap_or(&format!("{method} {path}")),
        );
        let mut notes = Vec::new();
        if operation_id.is_none() {
            notes.push(format!(
                "it has no operationId; named {name} after its method and path"
            ));
        }
        let body = self.body(path, item, method, operation, &name, &mut notes);
        Draft {
            operation_id,
            method: method.to_ascii_uppercase(),
            path: path.to_owned(),
            name: Some(name),
            body,
            notes,
        }
    }

    fn body(
        &self,
        path: &str,
        item: &Map<String, Value>,
        method: &str,
        operation: &Map<String, Value>,
        name: &str,
        notes: &mut Vec<String>,
    ) -> Result<Value, Vec<FieldError>> {
        let at = format!("paths.{path}.{method}");
        if !matches!(method, "get" | "post" | "put" | "patch" | "delete") {
            return Err(refuse(
                "method".into(),
                format!(
                    "{} is not a method webhook tools send (GET, POST, PUT, PATCH, DELETE)",
                    method.to_ascii_uppercase()
                ),
            ));
        }
        let server = self.server(item, operation)?;
        let mut resolver = Resolver::new(self.document, self.max_depth);
        let mut params = Parameters::default();
        let template_names =
            self.parameters(&at, item, operation, &mut resolver, &mut params, notes)?;
        if let Some(request_body) = operation.get("requestBody") {
            let request_body = resolver
                .resolve(request_body)
                .map_err(|m| refuse(format!("{at}.requestBody"), m))?;
            if matches!(method, "get" | "delete") {
                notes.push(format!(
                    "its request body is not carried: {} tools send their arguments in the query string",
                    method.to_ascii_uppercase()
                ));
            } else {
                self.body_properties(&request_body, &mut params)
                    .map_err(|m| refuse(format!("{at}.requestBody"), m))?;
            }
        }
        let url = format!(
            "{}{}",
            server.trim_end_matches('/'),
            renamed_templates(path, &template_names)
        );
        let description = operation
            .get("summary")
            .or_else(|| operation.get("description"))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map_or_else(
                || format!("{} {path}", method.to_ascii_uppercase()),
                |d| d.chars().take(MAX_DESCRIPTION_CHARS).collect(),
            );
        let mut tool = json!({
            "type": "server",
            "subtype": "webhook",
            "name": name,
            "description": description,
            "url": url,
            "method": method.to_ascii_uppercase(),
        });
        let out = tool.as_object_mut().expect("an object");
        params.insert_into(out);
        for (key, value) in self.shared {
            out.insert(key.clone(), value.clone());
        }
        Ok(tool)
    }

    /// The server the tool calls: `baseUrl` when given, else the operation's, the path's or the
    /// document's first server; it must be an absolute URL.
    fn server(
        &self,
        item: &Map<String, Value>,
        operation: &Map<String, Value>,
    ) -> Result<String, Vec<FieldError>> {
        let server = self
            .base_url
            .map(str::to_owned)
            .or_else(|| server_url(operation).or_else(|| server_url(item)))
            .or_else(|| self.document.as_object().and_then(server_url));
        let Some(server) = server else {
            return Err(refuse(
                "url".into(),
                "the document names no server (servers[0].url): give baseUrl".into(),
            ));
        };
        if url::Url::parse(&server).is_err() {
            return Err(refuse(
                "url".into(),
                format!("the document's server URL {server:?} is not absolute: give baseUrl"),
            ));
        }
        Ok(server)
    }

    /// Reads the path's and the operation's parameters into `params`: path parameters become
    /// body properties (the URL template names them, renamed as the answer lists), query
    /// parameters the query string's; others are noted as not carried.
    fn parameters(
        &self,
        at: &str,
        item: &Map<String, Value>,
        operation: &Map<String, Value>,
        resolver: &mut Resolver<'_>,
        params: &mut Parameters,
        notes: &mut Vec<String>,
    ) -> Result<Vec<(String, String)>, Vec<FieldError>> {
        let mut template_names = Vec::new();
        for (i, parameter) in merged_parameters(item, operation, resolver)
            .map_err(|m| refuse(format!("{at}.parameters"), m))?
            .into_iter()
            .enumerate()
        {
            let field = format!("{at}.parameters[{i}]");
            let Some(p) = parameter.as_object() else {
                continue;
            };
            let Some(pname) = p.get("name").and_then(Value::as_str) else {
                return Err(refuse(field, "has no name".into()));
            };
            let mut schema = parameter_schema(p);
            if self.v30 {
                openapi_30_to_json_schema(&mut schema);
            }
            let required = p.get("required").and_then(Value::as_bool).unwrap_or(false);
            match p.get("in").and_then(Value::as_str) {
                Some("path") => {
                    let property = identifier(pname);
                    template_names.push((pname.to_owned(), property.clone()));
                    params.body_required.push(Value::String(property.clone()));
                    params.body.insert(property, schema);
                }
                Some("query") => {
                    if required {
                        params.query_required.push(Value::String(pname.to_owned()));
                    }
                    params.query.insert(pname.to_owned(), schema);
                }
                Some(place) => notes.push(format!(
                    "its {place} parameter {pname:?} is not carried (add a header to the tool instead)"
                )),
                None => return Err(refuse(field, "has no \"in\"".into())),
            }
        }
        Ok(template_names)
    }

    /// The properties of a JSON request body, added to the body parameters. A body that is not
    /// a JSON object cannot be a tool's arguments.
    fn body_properties(&self, request_body: &Value, params: &mut Parameters) -> Result<(), String> {
        let content = request_body.get("content").and_then(Value::as_object);
        let json = content.and_then(|c| {
            c.iter()
                .find(|(media, _)| is_json(media))
                .map(|(_, m)| m.get("schema").cloned().unwrap_or(json!({})))
        });
        let Some(mut schema) = json else {
            let media: Vec<&str> = content
                .map(|c| c.keys().map(String::as_str).collect())
                .unwrap_or_default();
            return Err(format!(
                "is sent as {}; webhook tools send JSON",
                if media.is_empty() {
                    "nothing".to_owned()
                } else {
                    media.join(", ")
                }
            ));
        };
        if self.v30 {
            openapi_30_to_json_schema(&mut schema);
        }
        let parts: Vec<&Value> = match schema.get("allOf").and_then(Value::as_array) {
            Some(all) => all.iter().chain(std::iter::once(&schema)).collect(),
            None => vec![&schema],
        };
        let mut any_object = false;
        for part in parts {
            let is_object = part.get("type").and_then(Value::as_str) == Some("object")
                || part.get("properties").is_some();
            if !is_object {
                continue;
            }
            any_object = true;
            let properties = part.get("properties").and_then(Value::as_object);
            for (name, property) in properties.into_iter().flatten() {
                // What the server fills in itself is not the caller's to send.
                if property.get("readOnly") == Some(&Value::Bool(true)) {
                    continue;
                }
                if params.body.contains_key(name) {
                    return Err(format!(
                        "has a property {name:?} that is also a path parameter; the names must differ"
                    ));
                }
                params.body.insert(name.clone(), property.clone());
            }
            for required in part
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let kept = required
                    .as_str()
                    .is_some_and(|r| params.body.contains_key(r));
                if kept && !params.body_required.contains(required) {
                    params.body_required.push(required.clone());
                }
            }
        }
        if any_object {
            Ok(())
        } else {
            Err("is not a JSON object; a webhook tool sends its arguments as one object".into())
        }
    }
}

/// `servers[0].url` of an OpenAPI object (document, path item or operation), with its
/// `{variables}` filled with their defaults.
fn server_url(owner: &Map<String, Value>) -> Option<String> {
    let server = owner.get("servers")?.as_array()?.first()?;
    let mut url = server.get("url")?.as_str()?.to_owned();
    if let Some(variables) = server.get("variables").and_then(Value::as_object) {
        for (name, variable) in variables {
            if let Some(default) = variable.get("default").and_then(Value::as_str) {
                url = url.replace(&format!("{{{name}}}"), default);
            }
        }
    }
    Some(url)
}

/// Path-item parameters with the operation's own, which win for the same name and place.
fn merged_parameters(
    item: &Map<String, Value>,
    operation: &Map<String, Value>,
    resolver: &mut Resolver<'_>,
) -> Result<Vec<Value>, String> {
    let mut out: Vec<Value> = Vec::new();
    for list in [item.get("parameters"), operation.get("parameters")] {
        for parameter in list.and_then(Value::as_array).into_iter().flatten() {
            let parameter = resolver.resolve(parameter)?;
            let key = |p: &Value| (p.get("name").cloned(), p.get("in").cloned());
            out.retain(|p| key(p) != key(&parameter));
            out.push(parameter);
        }
    }
    Ok(out)
}

/// A parameter's schema, with its description when the schema has none.
fn parameter_schema(parameter: &Map<String, Value>) -> Value {
    let schema = parameter.get("schema").cloned().or_else(|| {
        parameter
            .get("content")
            .and_then(Value::as_object)
            .and_then(|c| c.values().next())
            .and_then(|m| m.get("schema").cloned())
    });
    let mut schema = match schema {
        Some(Value::Object(s)) => s,
        _ => Map::from_iter([("type".to_owned(), json!("string"))]),
    };
    if let Some(description) = parameter.get("description").and_then(Value::as_str) {
        schema
            .entry("description")
            .or_insert_with(|| Value::String(description.to_owned()));
    }
    Value::Object(schema)
}

fn is_json(media: &str) -> bool {
    let essence = media.split(';').next().unwrap_or_default().trim();
    essence == "application/json" || essence.ends_with("+json") || essence == "*/*"
}

/// OpenAPI 3.0's schema dialect in JSON Schema words: `nullable` becomes a `"null"` type, the
/// boolean `exclusiveMinimum`/`exclusiveMaximum` become the bound itself.
fn openapi_30_to_json_schema(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map.shift_remove("nullable") == Some(Value::Bool(true)) {
                if let Some(Value::String(kind)) = map.get("type").cloned() {
                    map.insert("type".into(), json!([kind, "null"]));
                }
            }
            for (flag, bound) in [
                ("exclusiveMinimum", "minimum"),
                ("exclusiveMaximum", "maximum"),
            ] {
                if let Some(Value::Bool(exclusive)) = map.get(flag).cloned() {
                    map.shift_remove(flag);
                    if exclusive {
                        if let Some(n) = map.shift_remove(bound) {
                            map.insert(flag.into(), n);
                        }
                    }
                }
            }
            map.values_mut().for_each(openapi_30_to_json_schema);
        }
        Value::Array(items) => items.iter_mut().for_each(openapi_30_to_json_schema),
        _ => {}
    }
}

/// A path parameter's name as a URL template and property name (letters, digits, `_`).
fn identifier(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if !out.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        out.insert(0, '_');
    }
    out
}

/// The path with each `{name}` spelled as its property (`{pet-id}` → `{pet_id}`).
fn renamed_templates(path: &str, names: &[(String, String)]) -> String {
    let mut out = path.to_owned();
    for (from, to) in names {
        if from != to {
            out = out.replace(&format!("{{{from}}}"), &format!("{{{to}}}"));
        }
    }
    out
}

/// An operationId (`listPets`, `get-user_by.id`, `HTTPServerStatus`) as a tool name
/// (`list_pets`, `get_user_by_id`, `http_server_status`), at most 64 characters.
pub fn snake_case(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + 8);
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            out.push('_');
            continue;
        }
        if c.is_ascii_uppercase() {
            let prev = i.checked_sub(1).map(|j| chars[j]);
            let next_lower = chars.get(i + 1).is_some_and(char::is_ascii_lowercase);
            let boundary = prev.is_some_and(|p| {
                p.is_ascii_lowercase()
                    || p.is_ascii_digit()
                    || (p.is_ascii_uppercase() && next_lower)
            });
            if boundary {
                out.push('_');
            }
        }
        out.push(c.to_ascii_lowercase());
    }
    let mut name = out
        .split('_')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join("_");
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        name = if name.is_empty() {
            "operation".into()
        } else {
            format!("op_{name}")
        };
    }
    if name.len() > MAX_NAME_CHARS {
        name.truncate(MAX_NAME_CHARS);
        while name.ends_with('_') {
            name.pop();
        }
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_snake_case() {
        for (id, name) in [
            ("listPets", "list_pets"),
            ("get-user_by.id", "get_user_by_id"),
            ("HTTPServerStatus", "http_server_status"),
            ("createV2Order", "create_v2_order"),
            ("get /pets/{petId}", "get_pets_pet_id"),
            ("123go", "op_123go"),
            ("***", "operation"),
        ] {
            assert_eq!(snake_case(id), name, "{id}");
            assert!(hookline_schema::ToolName::parse(&snake_case(id)).is_ok());
        }
        let long = snake_case(&"wordy".repeat(30));
        assert!(long.len() <= MAX_NAME_CHARS);
    }

    #[test]
    fn reads_openapi_30_schemas_as_json_schema() {
        let mut schema = json!({"type": "object", "properties": {
            "n": {"type": "integer", "nullable": true, "minimum": 0, "exclusiveMinimum": true},
            "m": {"type": "number", "maximum": 5, "exclusiveMaximum": false}
        }});
        openapi_30_to_json_schema(&mut schema);
        assert_eq!(
            schema["properties"]["n"],
            json!({"type": ["integer", "null"], "exclusiveMinimum": 0})
        );
        assert_eq!(
            schema["properties"]["m"],
            json!({"type": "number", "maximum": 5})
        );
    }
}
