//! Webhook URLs: the rules a tool's `url` must follow, and its `{path}` templates.

use std::net::IpAddr;

use url::{Host, Url};

use crate::destination::DestinationPolicy;

pub const MAX_URL_CHARS: usize = 2048;

/// One `{name}` template in a URL, with its byte range in the raw string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub name: String,
    pub start: usize,
    pub end: usize,
}

/// Finds the `{name}` templates of a URL. Errors on an unclosed brace or a name that is not an
/// identifier.
pub fn templates(raw: &str) -> Result<Vec<Template>, String> {
    let mut found = Vec::new();
    let mut rest = 0;
    while let Some(open) = raw[rest..].find('{').map(|i| i + rest) {
        let Some(close) = raw[open..].find('}').map(|i| i + open) else {
            return Err("has a '{' without its closing '}'".into());
        };
        let name = &raw[open + 1..close];
        let identifier = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !identifier {
            return Err(format!(
                "has a template {{{name}}} that is not a parameter name (letters, digits, '_')"
            ));
        }
        found.push(Template {
            name: name.to_owned(),
            start: open,
            end: close + 1,
        });
        rest = close + 1;
    }
    if raw[rest..].contains('}') {
        return Err("has a '}' without its opening '{'".into());
    }
    Ok(found)
}

/// Replaces every template by `fill(name)`.
pub fn fill_templates(
    raw: &str,
    templates: &[Template],
    mut fill: impl FnMut(&str) -> String,
) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut at = 0;
    for t in templates {
        out.push_str(&raw[at..t.start]);
        out.push_str(&fill(&t.name));
        at = t.end;
    }
    out.push_str(&raw[at..]);
    out
}

/// Checks a webhook URL as far as it can be checked when the tool is defined: length, scheme,
/// host, credentials, where templates sit, and a literal IP address against the policy. Host
/// names are checked at call time, after resolution. Returns the templates' names.
pub fn check_url(raw: &str, policy: &DestinationPolicy) -> Result<Vec<String>, String> {
    if raw.chars().count() > MAX_URL_CHARS {
        return Err(format!("must be at most {MAX_URL_CHARS} characters"));
    }
    if raw.trim() != raw || raw.chars().any(char::is_control) {
        return Err("must not contain spaces at its ends or control characters".into());
    }
    let found = templates(raw)?;
    // A marker that cannot clash with a real URL lets the parser see where templates landed.
    let probe = fill_templates(raw, &found, |_| "hooklinetemplate".into());
    let url = Url::parse(&probe).map_err(|e| format!("is not a valid absolute URL ({e})"))?;
    let scheme = url.scheme();
    if scheme != "https" && scheme != "http" {
        return Err(format!("must be an https:// URL (not {scheme}://)"));
    }
    if url.host().is_none() {
        return Err("must name a host".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not hold a user name or password; put credentials in headers".into());
    }
    if url.fragment().is_some() {
        return Err("must not have a #fragment (it is never sent)".into());
    }
    let host_text = url.host_str().unwrap_or_default();
    if host_text.contains("hooklinetemplate")
        || url.query().is_some_and(|q| q.contains("hooklinetemplate"))
    {
        return Err("may hold {templates} only in its path".into());
    }
    if let Some(ip) = literal_ip(&url) {
        if let Err(class) = policy.check(ip) {
            return Err(format!(
                "points at a {} address ({ip}), which is not called outside development mode \
                 unless HOOKLINE_ALLOWED_NETWORKS includes it",
                class.describe()
            ));
        }
    }
    if !scheme_allowed(&url, policy) {
        return Err(
            "must use https:// (http:// is allowed in development mode, or to an IP address in \
             HOOKLINE_ALLOWED_NETWORKS)"
                .into(),
        );
    }
    Ok(found.into_iter().map(|t| t.name).collect())
}

/// The address a URL names literally (`https://10.0.0.1/`), which no resolver will vet.
pub fn literal_ip(url: &Url) -> Option<IpAddr> {
    match url.host()? {
        Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
        Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
        Host::Domain(_) => None,
    }
}

/// The mode rule for schemes, checked when a tool is defined and again when it is called (a tool
/// saved by a development-mode server may be run by a production one): `https` always; `http`
/// in development mode, or to a literal address in `HOOKLINE_ALLOWED_NETWORKS`.
pub fn scheme_allowed(url: &Url, policy: &DestinationPolicy) -> bool {
    match url.scheme() {
        "https" => true,
        "http" => {
            policy.development || literal_ip(url).is_some_and(|ip| policy.is_allowed_network(ip))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prod() -> DestinationPolicy {
        DestinationPolicy::production(vec!["127.0.0.1/32".parse().unwrap()])
    }

    #[test]
    fn finds_templates() {
        assert_eq!(
            check_url(
                "https://api.x.com/orders/{orderId}/items/{item_id}",
                &prod()
            )
            .unwrap(),
            ["orderId", "item_id"]
        );
        assert!(check_url("https://api.x.com/orders/{order", &prod()).is_err());
        assert!(check_url("https://api.x.com/orders/{or-der}", &prod()).is_err());
        assert!(check_url("https://{host}.x.com/", &prod()).is_err());
        assert!(check_url("https://x.com/a?id={id}", &prod()).is_err());
    }

    #[test]
    fn enforces_scheme_host_and_credentials() {
        assert!(check_url("https://api.yourstore.com/orders/status", &prod()).is_ok());
        assert!(check_url("ftp://x.com/", &prod()).is_err());
        assert!(check_url("https://user:pw@x.com/", &prod()).is_err());
        assert!(check_url("/relative", &prod()).is_err());
        assert!(check_url("http://x.com/", &prod()).is_err());
        assert!(check_url("http://x.com/", &DestinationPolicy::development()).is_ok());
        assert!(check_url(&format!("https://x.com/{}", "a".repeat(2048)), &prod()).is_err());
    }

    #[test]
    fn checks_literal_addresses_in_any_spelling() {
        let strict = DestinationPolicy::production(vec![]);
        for url in [
            "https://127.0.0.1/",
            "https://2130706433/",
            "https://0x7f000001/",
            "https://0177.0.0.1/",
            "https://[::1]/",
            "https://[::ffff:127.0.0.1]/",
            "https://0.0.0.0/",
            "https://169.254.169.254/latest/meta-data",
            "https://10.0.0.1/",
        ] {
            assert!(check_url(url, &strict).is_err(), "{url}");
        }
        assert!(check_url("http://127.0.0.1:8080/x", &prod()).is_ok());
        assert!(check_url("https://8.8.8.8/", &strict).is_ok());
    }
}
