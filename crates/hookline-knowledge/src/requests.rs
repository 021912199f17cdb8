//! The bodies the knowledge routes take. Each is read from untrusted JSON by its own `parse`,
//! which reports every problem by its field path and refuses unknown fields; the same type is
//! what the OpenAPI document shows.

use hookline_core::http::Check;
use hookline_core::Settings;
use hookline_schema::fields::{object_at, Fields};
use hookline_schema::Violations;
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;
use uuid::Uuid;

pub const MAX_NAME_CHARS: usize = 100;
pub const MAX_DESCRIPTION_CHARS: usize = 1024;
pub const MAX_QUERY_CHARS: usize = 1000;
/// Folders one search (or one knowledge tool) may name.
pub const MAX_FOLDERS: usize = 20;
pub const MAX_LIMIT: i64 = 20;
pub const DEFAULT_LIMIT: i64 = 5;

/// A new knowledge folder. Unknown fields are refused.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FolderInput {
    /// 1–100 characters, not blank, unique in the organization.
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub name: String,
    #[schema(max_length = 1024)]
    pub description: Option<String>,
}

impl FolderInput {
    pub fn parse(body: &Value) -> Result<Self, Violations> {
        let map = object_at(body, "")?;
        let mut v = Violations::new();
        let mut f = Fields::new(map, "", &mut v);
        let name = f
            .required_string("name")
            .and_then(|n| check_name(&mut f, n));
        let description = f
            .string("description")
            .and_then(|d| check_description(&mut f, d));
        f.finish("a knowledge folder");
        match name {
            Some(name) if v.is_empty() => Ok(Self { name, description }),
            _ => Err(v),
        }
    }

    /// The folder with `patch` merged in (JSON Merge Patch: fields sent replace, null clears),
    /// checked whole.
    pub fn merged(&self, patch: Map<String, Value>) -> Result<Self, Violations> {
        let mut merged = Map::new();
        merged.insert("name".into(), Value::String(self.name.clone()));
        if let Some(d) = &self.description {
            merged.insert("description".into(), Value::String(d.clone()));
        }
        for (key, value) in patch {
            if key == "name" && value.is_null() {
                return Err(Violations::single("name", "may be left out, not cleared"));
            }
            merged.insert(key, value);
        }
        Self::parse(&Value::Object(merged))
    }
}

impl Check for FolderInput {
    fn check(body: &Value, _: &Settings) -> Result<Self, Violations> {
        Self::parse(body)
    }
}

/// Changes to a folder: the fields sent replace the stored ones, `null` clears the description.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FolderPatch {
    #[schema(nullable = false, min_length = 1, max_length = 100, pattern = r"\S")]
    pub name: Option<String>,
    #[schema(max_length = 1024)]
    pub description: Option<String>,
}

fn check_name(f: &mut Fields, name: &str) -> Option<String> {
    let path = f.path("name");
    if name.trim().is_empty() {
        f.v.rule(path, "must not be empty or blank");
    } else if name.chars().count() > MAX_NAME_CHARS {
        f.v.rule(path, format!("must be at most {MAX_NAME_CHARS} characters"));
    } else {
        return Some(name.to_owned());
    }
    None
}

fn check_description(f: &mut Fields, text: &str) -> Option<String> {
    if text.chars().count() > MAX_DESCRIPTION_CHARS {
        let path = f.path("description");
        f.v.rule(
            path,
            format!("must be at most {MAX_DESCRIPTION_CHARS} characters"),
        );
        return None;
    }
    Some(text.to_owned())
}

/// A search of an organization's folders. Unknown fields are refused.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SearchRequest {
    /// Words, "a phrase", `or`, `-excluded`; a word's beginning finds the whole word.
    #[schema(min_length = 1, max_length = 1000, pattern = r"\S")]
    pub query: String,
    /// 1–20 folders of the organization.
    #[schema(min_items = 1, max_items = 20)]
    pub folder_ids: Vec<Uuid>,
    /// 1–20 results (default 5).
    #[schema(minimum = 1, maximum = 20)]
    pub limit: Option<i64>,
}

impl Check for SearchRequest {
    fn check(body: &Value, _: &Settings) -> Result<Self, Violations> {
        Self::parse(body)
    }
}

impl SearchRequest {
    pub fn parse(body: &Value) -> Result<Self, Violations> {
        let map = object_at(body, "")?;
        let mut v = Violations::new();
        let mut f = Fields::new(map, "", &mut v);
        let query = f.required_string("query").and_then(|q| {
            let path = f.path("query");
            if q.trim().is_empty() {
                f.v.rule(path, "must not be empty or blank");
                None
            } else if q.chars().count() > MAX_QUERY_CHARS {
                f.v.rule(
                    path,
                    format!("must be at most {MAX_QUERY_CHARS} characters"),
                );
                None
            } else {
                Some(q.to_owned())
            }
        });
        let folder_ids = folder_ids(&mut f, "folderIds");
        let limit = f.integer_in("limit", 1..=MAX_LIMIT);
        f.finish("a search");
        match (query, folder_ids) {
            (Some(query), Some(folder_ids)) if v.is_empty() => Ok(Self {
                query,
                folder_ids,
                limit,
            }),
            _ => Err(v),
        }
    }

    pub fn limit(&self) -> i64 {
        self.limit.unwrap_or(DEFAULT_LIMIT)
    }
}

/// A required list of 1–20 distinct folder ids at `key`, each problem named by its index.
fn folder_ids(f: &mut Fields, key: &'static str) -> Option<Vec<Uuid>> {
    let path = f.path(key);
    let value = f.required(key)?;
    let Some(items) = value.as_array() else {
        f.v.wrong_type(path, "an array of folder ids");
        return None;
    };
    if items.is_empty() || items.len() > MAX_FOLDERS {
        f.v.rule(path, format!("must name 1 to {MAX_FOLDERS} folders"));
        return None;
    }
    let mut ids = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let at = format!("{path}[{i}]");
        match item.as_str().map(Uuid::parse_str) {
            None => f.v.wrong_type(at, "a folder id (string)"),
            Some(Err(_)) => f.v.rule(at, "is not a folder of your organization"),
            Some(Ok(id)) if ids.contains(&id) => f.v.rule(at, "names a folder twice"),
            Some(Ok(id)) => ids.push(id),
        }
    }
    (ids.len() == items.len()).then_some(ids)
}

/// An upload as a `multipart/form-data` form. The route reads the form field by field (each
/// file as it streams in, to stop at 50 MiB), not into this type: it states the form's shape
/// for the document only.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// One to 20 files, each a field named `file` with its filename; 50 MiB each at most.
    #[schema(value_type = Vec<String>, format = Binary, min_items = 1, max_items = 20)]
    file: Vec<Vec<u8>>,
}

/// An upload as the file itself, any content type, its name in `?filename=`; 50 MiB at most.
/// Read as it streams in, like the form.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)]
pub struct UploadFile(Vec<u8>);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(v: Violations) -> Vec<String> {
        v.errors().iter().map(|e| e.field.clone()).collect()
    }

    #[test]
    fn a_search_names_every_bad_field() {
        let bad = json!({"query": " ", "folderIds": ["x", 3], "limit": 21, "top": 1});
        let errors = fields(SearchRequest::parse(&bad).unwrap_err());
        assert_eq!(
            errors,
            ["query", "folderIds[0]", "folderIds[1]", "limit", "top"]
        );
        let id = Uuid::now_v7();
        let ok = SearchRequest::parse(&json!({"query": "refunds", "folderIds": [id]})).unwrap();
        assert_eq!((ok.limit(), ok.folder_ids), (5, vec![id]));
    }

    #[test]
    fn a_folder_patch_merges_and_is_checked_whole() {
        let folder = FolderInput::parse(&json!({"name": "Policies", "description": "d"})).unwrap();
        let patch = json!({"description": null}).as_object().unwrap().clone();
        let merged = folder.merged(patch).unwrap();
        assert_eq!(
            (merged.name.as_str(), merged.description),
            ("Policies", None)
        );
        let patch = json!({"name": null}).as_object().unwrap().clone();
        assert_eq!(fields(folder.merged(patch).unwrap_err()), ["name"]);
        let patch = json!({"name": "x".repeat(101)})
            .as_object()
            .unwrap()
            .clone();
        assert_eq!(fields(folder.merged(patch).unwrap_err()), ["name"]);
    }
}
