//! Tool names: what the LLM calls a tool by.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

pub const MAX_NAME_CHARS: usize = 64;

/// The first name that appears twice among one persona's tools, if any: the LLM calls a tool
/// by its name, so two with one name could not be told apart.
pub fn repeated_name<'a>(names: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut seen = HashSet::new();
    names.into_iter().find(|name| !seen.insert(*name))
}

/// A tool name that is 1–64 characters of snake_case (`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`).
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[schema(value_type = String, pattern = "^[a-z][a-z0-9]*(_[a-z0-9]+)*$")]
#[serde(try_from = "String", into = "String")]
pub struct ToolName(String);

impl ToolName {
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.is_empty() {
            return Err("must not be empty".into());
        }
        if s.chars().count() > MAX_NAME_CHARS {
            return Err(format!("must be at most {MAX_NAME_CHARS} characters"));
        }
        let bytes = s.as_bytes();
        let snake = bytes[0].is_ascii_lowercase()
            && bytes
                .iter()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_')
            && !s.contains("__")
            && !s.ends_with('_');
        if !snake {
            return Err(
                "must be snake_case: lower-case letters and digits in words joined by single \
                 underscores, starting with a letter (e.g. check_order_status)"
                    .into(),
            );
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ToolName {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s)
    }
}

impl From<ToolName> for String {
    fn from(n: ToolName) -> String {
        n.0
    }
}

impl std::fmt::Display for ToolName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_first_repeated_name_is_found() {
        assert_eq!(repeated_name(["a", "b", "a", "b"]), Some("a"));
        assert_eq!(repeated_name(["a", "b"]), None);
    }

    #[test]
    fn accepts_and_refuses() {
        for ok in [
            "a",
            "check_order_status",
            "get_weather2",
            "a1_b2",
            &"a".repeat(64),
        ] {
            assert!(ToolName::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "Check",
            "1abc",
            "_a",
            "a_",
            "a__b",
            "a-b",
            "a b",
            "checkOrder",
            "é",
            &"a".repeat(65),
        ] {
            assert!(ToolName::parse(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn matches_the_documented_pattern(s in "\\PC{0,70}") {
            let by_pattern = !s.is_empty() && s.len() <= 64 && {
                let mut words = s.split('_');
                let first = words.next().unwrap();
                first.starts_with(|c: char| c.is_ascii_lowercase())
                    && first.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
                    && words.all(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()))
            };
            prop_assert_eq!(ToolName::parse(&s).is_ok(), by_pattern);
        }

        #[test]
        fn snake_case_names_parse(s in "[a-z][a-z0-9]{0,9}(_[a-z0-9]{1,8}){0,5}") {
            prop_assert!(ToolName::parse(&s).is_ok());
        }
    }
}
