//! `?page=&perPage=` and the `meta` block of every list.

use serde::Serialize;

use axum::extract::FromRequestParts;

use super::body::QueryMap;
use super::problem::ApiError;
use hookline_schema::Violations;

pub const DEFAULT_PER_PAGE: i64 = 10;
pub const MAX_PER_PAGE: i64 = 100;

/// The repositories' page type, read here from `?page=&perPage=`.
pub use crate::repo::Page as Pagination;

impl Pagination {
    /// Reads `page` (≥ 1, default 1) and `perPage` (1–100, default 10); both checked, both reported.
    pub fn from_query(query: &QueryMap) -> Result<Self, ApiError> {
        let mut v = Violations::new();
        let page = Self::read(query, &mut v);
        v.into_result(page).map_err(ApiError::invalid)
    }

    /// As [`Self::from_query`], adding what is wrong to `v`, for a list whose own parameters
    /// (filters) are checked too and reported in the same answer.
    pub fn read(query: &QueryMap, v: &mut Violations) -> Self {
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
        Self { page, per_page }
    }
}

/// What a list route is asked for: `?page=&perPage=` and a non-empty `?search=`.
#[derive(Debug, Clone)]
pub struct ListParams {
    pub page: Pagination,
    /// A case-insensitive part of the name or description; an empty one is no search.
    pub search: Option<String>,
}

impl ListParams {
    pub fn from_query(query: &QueryMap) -> Result<Self, ApiError> {
        Ok(Self {
            page: Pagination::from_query(query)?,
            search: query
                .get("search")
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
        })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ListParams {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        Self::from_query(&QueryMap::from_request_parts(parts, state).await?)
    }
}

/// One page of a list, as `{"data": [...], "meta": {...}}`: the view of every list route.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ListPage<T> {
    pub data: Vec<T>,
    pub meta: ListMeta,
}

impl<T> ListPage<T> {
    pub fn new(data: Vec<T>, total: i64, p: Pagination) -> Self {
        let last_page = ((total + p.per_page - 1) / p.per_page).max(1);
        Self {
            data,
            meta: ListMeta {
                total,
                last_page,
                current_page: p.page,
                per_page: p.per_page,
                prev: (p.page > 1).then(|| (p.page - 1).min(last_page)),
                // Lazily: `page` may be i64::MAX, whose successor does not exist.
                next: (p.page < last_page).then(|| p.page + 1),
            },
        }
    }
}

/// The `meta` block of a list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListMeta {
    #[schema(minimum = 0)]
    pub total: i64,
    #[schema(minimum = 1)]
    pub last_page: i64,
    #[schema(minimum = 1)]
    pub current_page: i64,
    #[schema(minimum = 1, maximum = 100)]
    pub per_page: i64,
    /// The previous page number, or null on the first page.
    #[schema(minimum = 1)]
    pub prev: Option<i64>,
    /// The next page number, or null on the last page.
    #[schema(minimum = 2)]
    pub next: Option<i64>,
}

/// The query of every list, for the API reference.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
#[allow(dead_code)]
pub struct ListQuery {
    /// Page number, from 1 (default 1).
    #[param(minimum = 1)]
    page: Option<i64>,
    /// Items a page, 1 to 100 (default 10).
    #[param(minimum = 1, maximum = 100)]
    per_page: Option<i64>,
    /// A case-insensitive part of the name or description.
    search: Option<String>,
}

/// `?page=&perPage=` alone, for lists that take no search.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
#[allow(dead_code)]
pub struct PageQuery {
    /// Page number, from 1 (default 1).
    #[param(minimum = 1)]
    page: Option<i64>,
    /// Items a page, 1 to 100 (default 10).
    #[param(minimum = 1, maximum = 100)]
    per_page: Option<i64>,
}
