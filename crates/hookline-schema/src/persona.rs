//! Persona fields: who the AI is and which tools it may call.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::fields::{object_at, Fields};
use crate::violations::Violations;

pub const MAX_PERSONA_NAME_CHARS: usize = 100;
pub const MAX_PERSONA_DESCRIPTION_CHARS: usize = 10_000;
pub const MAX_SYSTEM_PROMPT_CHARS: usize = 100_000;
pub const MAX_OPAQUE_CHARS: usize = 256;

/// A persona's writable fields, as the API names them.
pub const PERSONA_FIELDS: [&str; 8] = [
    "name",
    "description",
    "systemPrompt",
    "llmId",
    "languageCode",
    "avatarId",
    "voiceId",
    "toolIds",
];

/// Who a persona is, beyond its name and its tools: the fields every form of a persona shares
/// (stored, ephemeral, frozen in a session's snapshot, its bodies and its view), all optional.
/// Where a type embeds them it does so with `#[serde(flatten)]` (and `#[schema(inline)]`, for
/// the OpenAPI document to make one object of them: `hookline_core::http::flattened`), so they
/// appear beside its own fields, in this order. The bounds are [`read_persona`]'s.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
// No `#[serde(default)]`: a missing `Option` field is `None` already, and the attribute would
// document `default: null`, which a patch does not mean (left out is "unchanged" there).
#[serde(rename_all = "camelCase")]
pub struct PersonaDetails {
    #[schema(max_length = 10000)]
    pub description: Option<String>,
    #[schema(max_length = 100000)]
    pub system_prompt: Option<String>,
    /// An LLM connection of the organization (`/v1/llms`), which the conversation runtime uses.
    #[schema(max_length = 256)]
    pub llm_id: Option<String>,
    #[schema(max_length = 256)]
    pub language_code: Option<String>,
    #[schema(max_length = 256)]
    pub avatar_id: Option<String>,
    #[schema(max_length = 256)]
    pub voice_id: Option<String>,
}

/// A new persona. Unknown fields are refused.
// A persona's own fields as [`PersonaFields::parse`] reads them, and the body of
// `POST /v1/personas` in the OpenAPI document (named `PersonaInput` there): one type, so the
// document and the checker cannot say two things.
#[derive(Debug, Clone, PartialEq, Eq, Default, ToSchema)]
#[schema(as = PersonaInput)]
#[serde(rename_all = "camelCase")]
pub struct PersonaFields {
    /// 1–100 characters, not blank.
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub name: String,
    #[serde(flatten)]
    #[schema(inline)]
    pub details: PersonaDetails,
    /// Tools of the same organization, each once, in the order the persona lists them.
    #[schema(value_type = Option<Vec<Uuid>>)]
    pub tool_ids: Vec<Uuid>,
}

impl PersonaFields {
    /// Parses a stored persona's body (`POST /v1/personas`), reporting every problem.
    pub fn parse(value: &Value, prefix: &str) -> Result<Self, Violations> {
        let map = object_at(value, prefix)?;
        let mut v = Violations::new();
        let mut f = Fields::new(map, prefix, &mut v);
        let persona = read_persona(&mut f, true);
        f.finish("a persona");
        v.into_result(persona)
    }
}

/// Reads the persona fields from `f`; `name_required` is false for ephemeral personas.
pub fn read_persona(f: &mut Fields, name_required: bool) -> PersonaFields {
    let name = if name_required {
        f.required_string("name")
    } else {
        f.string("name")
    };
    let name = name.and_then(|n| {
        limited(f, "name", n, MAX_PERSONA_NAME_CHARS).filter(|n| {
            let blank = n.trim().is_empty();
            if blank {
                let path = f.path("name");
                f.v.rule(path, "must not be empty or blank");
            }
            !blank
        })
    });
    let text = |f: &mut Fields, key: &'static str, max: usize| {
        f.string(key).and_then(|s| limited(f, key, s, max))
    };
    PersonaFields {
        name: name.unwrap_or_default(),
        details: PersonaDetails {
            description: text(f, "description", MAX_PERSONA_DESCRIPTION_CHARS),
            system_prompt: text(f, "systemPrompt", MAX_SYSTEM_PROMPT_CHARS),
            llm_id: text(f, "llmId", MAX_OPAQUE_CHARS),
            language_code: text(f, "languageCode", MAX_OPAQUE_CHARS),
            avatar_id: text(f, "avatarId", MAX_OPAQUE_CHARS),
            voice_id: text(f, "voiceId", MAX_OPAQUE_CHARS),
        },
        tool_ids: read_tool_ids(f),
    }
}

fn limited(f: &mut Fields, key: &'static str, s: &str, max: usize) -> Option<String> {
    if s.chars().count() > max {
        let path = f.path(key);
        f.v.rule(path, format!("must be at most {max} characters"));
        None
    } else {
        Some(s.to_owned())
    }
}

fn read_tool_ids(f: &mut Fields) -> Vec<Uuid> {
    let Some(value) = f.get("toolIds") else {
        return Vec::new();
    };
    let path = f.path("toolIds");
    let Some(items) = value.as_array() else {
        f.v.wrong_type(path, "an array of tool ids");
        return Vec::new();
    };
    let mut ids = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let at = format!("{path}[{i}]");
        match item.as_str() {
            None => f.v.wrong_type(at, "a tool id (a UUID string)"),
            Some(text) => match Uuid::parse_str(text) {
                Err(_) => f.v.rule(at, "is not a tool of your organization"),
                Ok(id) if ids.contains(&id) => f.v.rule(at, "appears twice"),
                Ok(id) => ids.push(id),
            },
        }
    }
    ids
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn flattened_details_left_out_read_as_none() {
        #[derive(Deserialize)]
        struct Embedding {
            #[allow(dead_code)]
            name: Option<String>,
            #[serde(flatten)]
            details: PersonaDetails,
        }
        let read: Embedding =
            serde_json::from_value(json!({"name": "Guide", "voiceId": "v1"})).unwrap();
        assert_eq!(
            read.details,
            PersonaDetails {
                voice_id: Some("v1".into()),
                ..PersonaDetails::default()
            }
        );
    }

    #[test]
    fn parses_and_reports_every_problem() {
        let ok = PersonaFields::parse(
            &json!({"name": "Support", "systemPrompt": "Be kind", "toolIds": ["0190a0a0-0000-7000-8000-000000000001"]}),
            "",
        )
        .unwrap();
        assert_eq!(ok.tool_ids.len(), 1);
        let err = PersonaFields::parse(
            &json!({"name": "", "systemPrompt": "x".repeat(100_001), "toolIds": ["nope", 3], "colour": "red"}),
            "",
        )
        .unwrap_err();
        let fields: Vec<_> = err.errors().iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["name", "systemPrompt", "toolIds[0]", "toolIds[1]", "colour"]
        );
    }
}
