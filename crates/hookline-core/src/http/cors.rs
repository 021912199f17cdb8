//! CORS for the browser-facing routes (session read, events, client-tool results), open to the
//! origins in `HOOKLINE_CORS_ORIGINS` and to nobody else in production. Development mode also
//! opens them to every loopback origin (any port) and to `null` (a page opened from `file://`),
//! so `examples/events.html` works however a newcomer opens it.

use axum::http::{header, HeaderName, HeaderValue, Method};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::settings::{Mode, Settings};

pub fn browser_cors(settings: &Settings) -> CorsLayer {
    let origins: Vec<HeaderValue> = settings
        .cors_origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    let allow = if settings.mode == Mode::Development {
        AllowOrigin::predicate(move |origin, _| {
            origins.contains(origin) || origin.to_str().is_ok_and(is_local_origin)
        })
    } else {
        AllowOrigin::list(origins)
    };
    CorsLayer::new()
        .allow_origin(allow)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static("last-event-id"),
        ])
        .max_age(std::time::Duration::from_secs(600))
}

/// Whether a browser page of `origin` may use the browser-facing routes: the same origins the
/// CORS layer opens them to. The MCP endpoint refuses every other `Origin` (DNS rebinding).
pub fn origin_allowed(settings: &Settings, origin: &str) -> bool {
    settings.cors_origins.iter().any(|o| o == origin)
        || (settings.mode == Mode::Development && is_local_origin(origin))
}

/// `null` (file://), or a loopback origin.
fn is_local_origin(origin: &str) -> bool {
    origin == "null" || is_loopback_origin(origin)
}

/// http(s) on localhost, 127.0.0.0/8 or [::1], any port (never `null`).
pub fn is_loopback_origin(origin: &str) -> bool {
    let Ok(url) = url::Url::parse(origin) else {
        return false;
    };
    if !matches!(url.scheme(), "http" | "https") {
        return false;
    }
    match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::{is_local_origin, is_loopback_origin};

    #[test]
    fn loopback_origins_are_loopback_and_null_is_not() {
        assert!(is_loopback_origin("http://[::1]:8080"));
        for not in [
            "null",
            "http://[::1]evil.example",
            "http://evil.example:8080",
            "",
        ] {
            assert!(!is_loopback_origin(not), "{not}");
        }
    }

    #[test]
    fn loopback_origins_and_null_are_local() {
        for local in [
            "null",
            "http://localhost:5500",
            "http://127.0.0.1:8000",
            "http://127.1.2.3",
            "http://[::1]:3000",
            "https://localhost",
        ] {
            assert!(is_local_origin(local), "{local}");
        }
        for remote in [
            "http://localhost.evil.example",
            "http://10.0.0.1:8080",
            "https://app.example.com",
            "file://",
            "nonsense",
        ] {
            assert!(!is_local_origin(remote), "{remote}");
        }
    }
}
