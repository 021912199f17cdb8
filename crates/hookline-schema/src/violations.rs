//! Every problem found in an input, collected with the path of the field it concerns.

use serde::{Deserialize, Serialize};

/// Whether a problem is about the JSON type of a field (HTTP 400), a required field missing or
/// a rule it breaks (HTTP 422).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ViolationKind {
    WrongType,
    Missing,
    #[default]
    Rule,
}

/// One problem with one field, e.g. `personaConfig.tools[2].name`: "must be snake_case".
// Read back too, from a failed call's stored error (its kind is not kept: a rule then).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
    #[serde(skip, default)]
    #[schema(ignore)]
    pub kind: ViolationKind,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
            kind: ViolationKind::Rule,
        }
    }
}

/// All problems found in one input. Parsers push every problem they find instead of stopping at
/// the first, so a user (or an LLM) can fix everything in one go.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Violations(Vec<FieldError>);

impl Violations {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn rule(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.push(field.into(), message.into(), ViolationKind::Rule);
    }

    /// A required field that is absent (or `null`).
    pub fn missing(&mut self, field: impl Into<String>) {
        self.push(field.into(), "is required".into(), ViolationKind::Missing);
    }

    pub fn wrong_type(&mut self, field: impl Into<String>, expected: &str) {
        self.push(
            field.into(),
            format!("must be {expected}"),
            ViolationKind::WrongType,
        );
    }

    fn push(&mut self, field: String, message: String, kind: ViolationKind) {
        self.0.push(FieldError {
            field,
            message,
            kind,
        });
    }

    /// Adds another set, prefixing each field with `prefix` (`personaConfig.tools[2]`).
    pub fn extend_prefixed(&mut self, prefix: &str, other: Violations) {
        for mut e in other.0 {
            e.field = join(prefix, &e.field);
            self.0.push(e);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when any problem is a wrong JSON type.
    pub fn has_type_errors(&self) -> bool {
        self.0.iter().any(|e| e.kind == ViolationKind::WrongType)
    }

    /// True when the HTTP layer answers 400: a field has the wrong JSON type and none that is
    /// required is missing (the contract answers a missing field with 422, whatever else is
    /// wrong beside it).
    pub fn is_malformed(&self) -> bool {
        self.has_type_errors() && !self.0.iter().any(|e| e.kind == ViolationKind::Missing)
    }

    pub fn errors(&self) -> &[FieldError] {
        &self.0
    }

    pub fn into_errors(self) -> Vec<FieldError> {
        self.0
    }

    /// `Ok(value)` when nothing was found, else the violations.
    pub fn into_result<T>(self, value: T) -> Result<T, Violations> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }

    pub fn single(field: impl Into<String>, message: impl Into<String>) -> Self {
        let mut v = Self::new();
        v.rule(field, message);
        v
    }
}

impl std::fmt::Display for Violations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            if e.field.is_empty() {
                write!(f, "{}", e.message)?;
            } else {
                write!(f, "{}: {}", e.field, e.message)?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for Violations {}

/// Joins a field path: `join("headers", "Authorization")` → `headers.Authorization`,
/// `join("tools", "[2]")` → `tools[2]`.
pub fn join(prefix: &str, field: &str) -> String {
    if prefix.is_empty() {
        field.to_owned()
    } else if field.is_empty() {
        prefix.to_owned()
    } else if field.starts_with('[') {
        format!("{prefix}{field}")
    } else {
        format!("{prefix}.{field}")
    }
}
