//! A webhook tool's `limits`: how many of its calls may be in flight at once and how many may
//! start per second, across every Hookline instance (enforced by the engine, in Postgres).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::fields::Fields;

pub const MAX_CONCURRENT: i64 = 1000;
pub const PER_SECOND: (f64, f64) = (0.1, 10_000.0);

#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ToolLimits {
    /// At most this many calls of the tool in flight at once (1–1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 1000)]
    pub max_concurrent: Option<u32>,
    /// At most this many calls of the tool started per second (0.1–10000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0.1, maximum = 10000)]
    pub per_second: Option<f64>,
}

impl ToolLimits {
    pub fn is_empty(&self) -> bool {
        self.max_concurrent.is_none() && self.per_second.is_none()
    }
}

/// Reads a webhook tool's `limits`; `Some(None)` when absent (or empty), `None` when wrong.
pub fn parse(f: &mut Fields) -> Option<Option<ToolLimits>> {
    let Some(value) = f.get("limits") else {
        return Some(None);
    };
    let prefix = f.path("limits");
    let Some(map) = value.as_object() else {
        f.v.wrong_type(prefix, "an object with maxConcurrent and perSecond");
        return None;
    };
    let before = f.v.len();
    let mut g = Fields::new(map, &prefix, f.v);
    let max_concurrent = g
        .integer_in("maxConcurrent", 1..=MAX_CONCURRENT)
        .map(|n| n as u32);
    let per_second = match g.get("perSecond") {
        None => None,
        Some(v) => match v.as_f64() {
            Some(n) if (PER_SECOND.0..=PER_SECOND.1).contains(&n) => Some(n),
            Some(_) => {
                let path = g.path("perSecond");
                g.v.rule(path, "must be between 0.1 and 10000");
                None
            }
            None => {
                let path = g.path("perSecond");
                g.v.wrong_type(path, "a number");
                None
            }
        },
    };
    g.finish("limits (maxConcurrent, perSecond)");
    let limits = ToolLimits {
        max_concurrent,
        per_second,
    };
    (f.v.len() == before).then_some((!limits.is_empty()).then_some(limits))
}
