//! The SSRF guard: every address a webhook would reach is vetted against the destination policy
//! after resolution, and the connection goes to exactly the addresses that were vetted (reqwest
//! connects to what this resolver returns; nothing resolves the name a second time).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use hookline_schema::{AddressClass, DestinationPolicy};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// All a caller hears about a refused destination.
pub const NOT_ALLOWED: &str = "the destination is not allowed";

/// A destination the policy refuses, carried through reqwest's error chain. Its text is what
/// leaves the server, so it names nothing; [`Blocked::log`] writes the details to the server log.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}", NOT_ALLOWED)]
pub struct Blocked {
    pub host: String,
    pub ip: IpAddr,
    pub class: AddressClass,
}

impl Blocked {
    /// The host, the address it resolved to and its class, for the operator only.
    pub fn log(&self) {
        tracing::warn!(
            host = %self.host,
            ip = %self.ip,
            class = self.class.describe(),
            "a call to a destination the policy refuses was not made"
        );
    }
}

/// Resolves with the system resolver, then refuses the whole name if *any* address is refused
/// (an attacker's DNS may mix a public and a private answer).
pub struct VettingResolver {
    pub policy: Arc<DestinationPolicy>,
}

impl Resolve for VettingResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            for addr in &addrs {
                check(&policy, &host, addr.ip())?;
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// Checks one address (also used for URLs that name a literal IP, which skip resolution).
pub fn check(policy: &DestinationPolicy, host: &str, ip: IpAddr) -> Result<(), Blocked> {
    policy.check(ip).map_err(|class| Blocked {
        host: host.to_owned(),
        ip,
        class,
    })
}

/// Finds a [`Blocked`] anywhere in an error's chain of causes.
pub fn find_blocked(error: &(dyn std::error::Error + 'static)) -> Option<Blocked> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(blocked) = e.downcast_ref::<Blocked>() {
            return Some(blocked.clone());
        }
        current = e.source();
    }
    None
}
