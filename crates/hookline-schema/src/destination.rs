//! Which network addresses an outbound call may reach.
//!
//! A webhook URL is chosen by a customer, so without a check it could point Hookline at its own
//! database, the cloud metadata service or anything else on the private network (SSRF). Every
//! address is normalised first (IPv4-mapped, IPv4-compatible, NAT64 and 6to4 forms carry an IPv4
//! address that is what really gets reached) and then classified; only public addresses are open,
//! plus what the operator opened with development mode or `HOOKLINE_ALLOWED_NETWORKS`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

/// What kind of address an IP is, for the purpose of deciding whether to call it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressClass {
    Public,
    Loopback,
    Private,
    LinkLocal,
    SharedCgnat,
    Multicast,
    Unspecified,
    Broadcast,
    Documentation,
    Reserved,
}

impl AddressClass {
    pub fn describe(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Loopback => "loopback",
            Self::Private => "private",
            Self::LinkLocal => "link-local",
            Self::SharedCgnat => "shared (CGNAT)",
            Self::Multicast => "multicast",
            Self::Unspecified => "unspecified",
            Self::Broadcast => "broadcast",
            Self::Documentation => "documentation",
            Self::Reserved => "reserved",
        }
    }
}

/// Reduces an address to the one that is really reached: IPv6 forms that embed an IPv4 address
/// become that IPv4 address.
pub fn normalize(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => embedded_v4(v6).map_or(ip, IpAddr::V4),
    }
}

fn embedded_v4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = v6.segments();
    let low32 = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    // ::ffff:a.b.c.d (mapped)
    if s[..5] == [0; 5] && s[5] == 0xffff {
        return Some(low32);
    }
    // ::a.b.c.d (the deprecated IPv4-compatible form); :: and ::1 stay IPv6.
    if s[..6] == [0; 6] && (s[6] != 0 || s[7] > 1) {
        return Some(low32);
    }
    // 64:ff9b::/96, the well-known NAT64 prefix.
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0; 4] {
        return Some(low32);
    }
    // 2002::/16, 6to4: the IPv4 address sits in bits 16..48.
    if s[0] == 0x2002 {
        return Some(Ipv4Addr::new(
            (s[1] >> 8) as u8,
            s[1] as u8,
            (s[2] >> 8) as u8,
            s[2] as u8,
        ));
    }
    None
}

/// Classifies an address after normalising it.
pub fn classify(ip: IpAddr) -> AddressClass {
    match normalize(ip) {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    let o = ip.octets();
    match o {
        [0, 0, 0, 0] => AddressClass::Unspecified,
        [255, 255, 255, 255] => AddressClass::Broadcast,
        [0, ..] => AddressClass::Reserved, // "this network"
        [127, ..] => AddressClass::Loopback,
        [10, ..] => AddressClass::Private,
        [172, b, ..] if (16..=31).contains(&b) => AddressClass::Private,
        [192, 168, ..] => AddressClass::Private,
        [100, b, ..] if (64..=127).contains(&b) => AddressClass::SharedCgnat,
        [169, 254, ..] => AddressClass::LinkLocal,
        [192, 0, 2, _] | [198, 51, 100, _] | [203, 0, 113, _] => AddressClass::Documentation,
        [192, 0, 0, _] | [192, 88, 99, _] => AddressClass::Reserved,
        [198, 18 | 19, ..] => AddressClass::Reserved, // benchmarking
        [224..=239, ..] => AddressClass::Multicast,
        [240..=255, ..] => AddressClass::Reserved,
        _ => AddressClass::Public,
    }
}

fn classify_v6(ip: Ipv6Addr) -> AddressClass {
    let s = ip.segments();
    if ip.is_unspecified() {
        AddressClass::Unspecified
    } else if ip.is_loopback() {
        AddressClass::Loopback
    } else if s[0] & 0xff00 == 0xff00 {
        AddressClass::Multicast
    } else if s[0] & 0xffc0 == 0xfe80 {
        AddressClass::LinkLocal
    } else if s[0] & 0xfe00 == 0xfc00 || s[0] & 0xffc0 == 0xfec0 {
        // Unique local addresses, and the deprecated site-local range.
        AddressClass::Private
    } else if s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1 {
        // 64:ff9b:1::/48, NAT64 for local use.
        AddressClass::Private
    } else if (s[0] == 0x2001 && s[1] == 0x0db8) || s[0] & 0xfff0 == 0x3ff0 {
        AddressClass::Documentation
    } else if s[0] & 0xe000 != 0x2000 {
        // Outside 2000::/3 nothing is allocated for global unicast (100::/64 discard included).
        AddressClass::Reserved
    } else if s[0] == 0x2001 && s[1] < 0x0200 {
        // 2001::/23, IETF protocol assignments: Teredo (whose embedded address is obfuscated),
        // benchmarking, ORCHID and the like.
        AddressClass::Reserved
    } else if s[0] == 0x5f00 {
        AddressClass::Reserved
    } else {
        AddressClass::Public
    }
}

/// Where outbound calls may go: public addresses always; everything when `allow_non_public`
/// (development mode); and the operator's `allowed_networks` in any mode.
#[derive(Debug, Clone, Default)]
pub struct DestinationPolicy {
    pub development: bool,
    pub allowed_networks: Vec<IpNet>,
}

impl DestinationPolicy {
    pub fn development() -> Self {
        Self {
            development: true,
            allowed_networks: Vec::new(),
        }
    }

    pub fn production(allowed_networks: Vec<IpNet>) -> Self {
        Self {
            development: false,
            allowed_networks,
        }
    }

    /// True when `ip` lies in one of the operator's allowed networks (as given or normalised).
    pub fn is_allowed_network(&self, ip: IpAddr) -> bool {
        let normal = normalize(ip);
        self.allowed_networks
            .iter()
            .any(|net| net.contains(&ip) || net.contains(&normal))
    }

    /// `Ok` when a call may connect to `ip`, else the class of address that was refused.
    pub fn check(&self, ip: IpAddr) -> Result<(), AddressClass> {
        let class = classify(ip);
        if class == AddressClass::Public || self.development || self.is_allowed_network(ip) {
            Ok(())
        } else {
            Err(class)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(s: &str) -> AddressClass {
        classify(s.parse().unwrap())
    }

    #[test]
    fn classifies_every_range() {
        let table = [
            ("0.0.0.0", AddressClass::Unspecified),
            ("0.1.2.3", AddressClass::Reserved),
            ("127.0.0.1", AddressClass::Loopback),
            ("127.255.255.254", AddressClass::Loopback),
            ("10.0.0.1", AddressClass::Private),
            ("172.16.0.1", AddressClass::Private),
            ("172.31.255.255", AddressClass::Private),
            ("172.32.0.1", AddressClass::Public),
            ("192.168.1.1", AddressClass::Private),
            ("100.64.0.1", AddressClass::SharedCgnat),
            ("100.127.255.255", AddressClass::SharedCgnat),
            ("100.128.0.1", AddressClass::Public),
            ("169.254.169.254", AddressClass::LinkLocal),
            ("192.0.0.8", AddressClass::Reserved),
            ("192.0.2.10", AddressClass::Documentation),
            ("198.51.100.7", AddressClass::Documentation),
            ("203.0.113.9", AddressClass::Documentation),
            ("192.88.99.1", AddressClass::Reserved),
            ("198.18.0.1", AddressClass::Reserved),
            ("198.19.255.1", AddressClass::Reserved),
            ("224.0.0.1", AddressClass::Multicast),
            ("239.255.255.250", AddressClass::Multicast),
            ("240.0.0.1", AddressClass::Reserved),
            ("255.255.255.255", AddressClass::Broadcast),
            ("8.8.8.8", AddressClass::Public),
            ("1.1.1.1", AddressClass::Public),
            ("::", AddressClass::Unspecified),
            ("::1", AddressClass::Loopback),
            ("fe80::1", AddressClass::LinkLocal),
            ("febf::1", AddressClass::LinkLocal),
            ("fc00::1", AddressClass::Private),
            ("fd12:3456::1", AddressClass::Private),
            ("fec0::1", AddressClass::Private),
            ("ff02::1", AddressClass::Multicast),
            ("2001:db8::1", AddressClass::Documentation),
            ("3fff::1", AddressClass::Documentation),
            ("100::1", AddressClass::Reserved),
            ("2001::1", AddressClass::Reserved),
            ("2001:2::1", AddressClass::Reserved),
            ("5f00::1", AddressClass::Reserved),
            ("4000::1", AddressClass::Reserved),
            ("64:ff9b:1::1", AddressClass::Private),
            // Forms that embed an IPv4 address are judged by that address.
            ("::ffff:127.0.0.1", AddressClass::Loopback),
            ("::ffff:10.1.2.3", AddressClass::Private),
            ("::ffff:169.254.169.254", AddressClass::LinkLocal),
            ("::ffff:8.8.8.8", AddressClass::Public),
            ("::127.0.0.1", AddressClass::Loopback),
            ("::10.0.0.1", AddressClass::Private),
            ("64:ff9b::127.0.0.1", AddressClass::Loopback),
            ("64:ff9b::a9fe:a9fe", AddressClass::LinkLocal),
            ("64:ff9b::8.8.8.8", AddressClass::Public),
            ("2002:7f00:1::", AddressClass::Loopback),
            ("2002:c0a8:101::1", AddressClass::Private),
            ("2002:808:808::1", AddressClass::Public),
            ("2606:4700::1111", AddressClass::Public),
            ("2a00:1450::1", AddressClass::Public),
        ];
        for (ip, expected) in table {
            assert_eq!(class(ip), expected, "{ip}");
        }
    }

    #[test]
    fn production_refuses_non_public_unless_allowed() {
        let prod = DestinationPolicy::production(vec!["127.0.0.1/32".parse().unwrap()]);
        assert!(prod.check("8.8.8.8".parse().unwrap()).is_ok());
        assert!(prod.check("127.0.0.1".parse().unwrap()).is_ok());
        assert!(prod.check("::ffff:127.0.0.1".parse().unwrap()).is_ok());
        assert_eq!(
            prod.check("127.0.0.2".parse().unwrap()),
            Err(AddressClass::Loopback)
        );
        assert_eq!(
            prod.check("169.254.169.254".parse().unwrap()),
            Err(AddressClass::LinkLocal)
        );
        let dev = DestinationPolicy::development();
        assert!(dev.check("10.0.0.1".parse().unwrap()).is_ok());
    }
}
