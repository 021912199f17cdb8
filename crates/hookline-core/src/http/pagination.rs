//! `?page=&perPage=` and the `meta` block of every list.

use serde::Serialize;
use serde_json::{json, Value};

use super::body::QueryMap;
use super::problem::ApiError;
use hookline_schema::Violations;

pub const DEFAULT_PER_PAGE: i64 = 10;
pub const MAX_PER_PAGE: i64 = 100;

#[derive(Debug, Clone, Copy)]
pub struct Pagination {
    pub page: i64,
    pub per_page: i64,
}

impl Pagination {
    /// Reads `page` (≥ 1, default 1) and `perPage` (1–100, default 10); both checked, both reported.
    pub fn from_query(query: &QueryMap) -> Result<Self, ApiError> {
        let mut v = Violations::new();
        let mut read = |key: &str, default: i64, max: i64| match query.get(key) {
            None => default,
            Some(text) => match text.parse::<i64>() {
                Ok(n) if (1..=max).contains(&n) => n,
                _ => {
                    let range = if max == i64::MAX {
                        "a whole number of at least 1".to_owned()
                    } else {
                        format!("a whole number from 1 to {max}")
                    };
                    v.rule(key, format!("must be {range}"));
                    default
                }
            },
        };
        let page = read("page", 1, i64::MAX);
        let per_page = read("perPage", DEFAULT_PER_PAGE, MAX_PER_PAGE);
        v.into_result(Self { page, per_page })
            .map_err(ApiError::invalid)
    }

    pub fn offset(&self) -> i64 {
        (self.page - 1).saturating_mul(self.per_page)
    }
}

/// One page of a list, as `{"data": [...], "meta": {...}}`.
#[derive(Debug, Serialize)]
pub struct ListPage {
    pub data: Vec<Value>,
    pub meta: Value,
}

impl ListPage {
    pub fn new(data: Vec<Value>, total: i64, p: Pagination) -> Self {
        let last_page = ((total + p.per_page - 1) / p.per_page).max(1);
        let prev = (p.page > 1).then(|| (p.page - 1).min(last_page));
        let next = (p.page < last_page).then_some(p.page + 1);
        Self {
            data,
            meta: json!({
                "total": total,
                "lastPage": last_page,
                "currentPage": p.page,
                "perPage": p.per_page,
                "prev": prev,
                "next": next,
            }),
        }
    }
}

/// The `meta` block of a list, for the API reference.
#[derive(utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct ListMeta {
    total: i64,
    last_page: i64,
    current_page: i64,
    per_page: i64,
    /// The previous page number, or null on the first page.
    prev: Option<i64>,
    /// The next page number, or null on the last page.
    next: Option<i64>,
}

/// The query of every list, for the API reference.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
#[allow(dead_code)]
pub struct ListQuery {
    /// Page number, from 1 (default 1).
    page: Option<i64>,
    /// Items a page, 1 to 100 (default 10).
    per_page: Option<i64>,
    /// A case-insensitive part of the name or description.
    search: Option<String>,
}
