//! Entry layouts back to the model's table entries: one decoder per table, the inverse
//! of what [`crate::Driver::apply`] writes. Used by `Driver::read_back` and
//! `Driver::adopt` alike.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ztnic_model::addr::as_v4;
use ztnic_model::policy::Action;
use ztnic_model::{
    CtxEpoch, LocalEp, OverflowFlow, PortClass, PortRange, Prefix, ProtoMatch, RemoteAction,
    RemoteEp, Rule, VportCtx,
};

use crate::bits::Bits;
use crate::regmap::{self, layout};

/// The idle timeout of an overflow flow the driver did not write itself (the hardware
/// does not store it): `OverflowFlow`'s default.
pub(crate) const DEFAULT_IDLE_TIMEOUT_MS: u64 = 10_000;

/// A decoded policy key entry: the decomposed key and its rules by position.
pub(crate) type PolicyRules = (u64, [Option<Rule>; 4]);

/// An address as the model writes it: IPv4 when v4-mapped.
fn ip_of(a: u128) -> IpAddr {
    ztnic_model::addr::from_u128(a)
}

/// `port_class`: `None` for class `none` (the reset value: the port is unclassified).
pub(crate) fn port_class(b: &Bits) -> Option<PortClass> {
    match b.get(layout::port_class::CLASS) as u32 {
        regmap::port_class_enum::VPORT => Some(PortClass::Vport),
        regmap::port_class_enum::UPLINK => Some(PortClass::Uplink),
        regmap::port_class_enum::CPU => Some(PortClass::Cpu),
        _ => None,
    }
}

/// `vport_ctx`, if the slot is valid.
pub(crate) fn vport_ctx(b: &Bits) -> Option<VportCtx> {
    use layout::vport_ctx as l;
    (b.get(l::VALID) != 0).then(|| VportCtx {
        port: b.get(l::VPORT) as u16,
        ip: ip_of(b.get(l::ADDR)),
        ctx: b.get(l::CTX) as u32,
        zone: b.get(l::ZONE) as u16,
    })
}

/// `local_ep`, if the slot is valid.
pub(crate) fn local_ep(b: &Bits) -> Option<LocalEp> {
    use layout::local_ep as l;
    (b.get(l::VALID) != 0).then(|| LocalEp {
        ip: ip_of(b.get(l::ADDR)),
        vport: b.get(l::VPORT) as u16,
        ctx: b.get(l::CTX) as u32,
        zone: b.get(l::ZONE) as u16,
    })
}

/// `ctx_epoch`, if the slot is valid.
pub(crate) fn ctx_epoch(b: &Bits) -> Option<CtxEpoch> {
    use layout::ctx_epoch as l;
    (b.get(l::VALID) != 0).then(|| CtxEpoch {
        ctx: b.get(l::CTX) as u32,
        epoch: b.get(l::EPOCH) as u8,
    })
}

/// A prefix of the 128-bit space as the model writes it (IPv4 when v4-mapped).
pub(crate) fn prefix(addr: u128, len: u8) -> Prefix {
    Prefix::from_u128(addr, len)
}

/// `remote_ep`, if the slot is valid; an error names what does not decode.
pub(crate) fn remote_ep(b: &Bits) -> Result<Option<RemoteEp>, String> {
    use layout::remote_ep as l;
    if b.get(l::VALID) == 0 {
        return Ok(None);
    }
    let len = b.get(l::PREFIX_LEN) as u8;
    if len > 128 {
        return Err(format!("prefix length {len}"));
    }
    Ok(Some(RemoteEp {
        prefix: prefix(b.get(l::PREFIX), len),
        action: remote_action(b.get(l::KIND), b.get(l::VTEP), b.get(l::CTX))?,
    }))
}

/// The action of a route: its `remote_kind`, VTEP and destination context fields.
fn remote_action(kind: u128, vtep: u128, ctx: u128) -> Result<RemoteAction, String> {
    let vtep = Ipv4Addr::from(vtep as u32);
    let ctx = ctx as u32;
    Ok(match kind as u32 {
        regmap::remote_kind_enum::GENEVE => RemoteAction::Geneve { vtep, ctx },
        regmap::remote_kind_enum::VXLAN_GBP => RemoteAction::VxlanGbp { vtep, ctx },
        regmap::remote_kind_enum::WORLD => RemoteAction::World,
        k => return Err(format!("remote kind {k}")),
    })
}

/// A `remote_host` entry (a full-length route), if the slot is valid; an error
/// names what does not decode.
pub(crate) fn remote_host(b: &Bits) -> Result<Option<RemoteEp>, String> {
    use layout::remote_host as l;
    if b.get(l::VALID) == 0 {
        return Ok(None);
    }
    Ok(Some(RemoteEp {
        prefix: prefix(b.get(l::ADDR), 128),
        action: remote_action(b.get(l::KIND), b.get(l::VTEP), b.get(l::CTX))?,
    }))
}

/// The (src, dst, proto) of a decomposed policy key ([`crate::policy_key`]'s inverse).
pub(crate) fn policy_key_parts(key: u64) -> (Option<u32>, Option<u32>, ProtoMatch) {
    let flags = (key >> 56) & 7;
    let src = (flags & 1 == 0).then_some(((key >> 32) & 0xff_ffff) as u32);
    let dst = (flags & 2 == 0).then_some(((key >> 8) & 0xff_ffff) as u32);
    let proto = ProtoMatch((flags & 4 == 0).then_some(key as u8));
    (src, dst, proto)
}

/// A `policy` key entry, if the slot is valid: its key and its rules by position; an
/// error names what does not decode.
pub(crate) fn policy(b: &Bits) -> Result<Option<PolicyRules>, String> {
    use layout::policy as l;
    if b.get(l::VALID) == 0 {
        return Ok(None);
    }
    let key = b.get(l::KEY) as u64;
    let (src, dst, proto) = policy_key_parts(key);
    let mut rules: [Option<Rule>; 4] = [None; 4];
    for (i, slot) in rules.iter_mut().enumerate() {
        let base = l::RULE_BASE + i as u32 * l::RULE_STRIDE;
        let at = |f: regmap::Field| {
            b.get(regmap::Field {
                lsb: base + f.lsb,
                width: f.width,
            })
        };
        if at(l::rule::VALID) == 0 {
            continue;
        }
        let id = at(l::rule::ID) as u32;
        let priority = u16::try_from(at(l::rule::PRIORITY)).map_err(|_| {
            format!(
                "rule {id}: priority {} beyond 16 bits",
                at(l::rule::PRIORITY)
            )
        })?;
        *slot = Some(Rule {
            id,
            priority,
            src,
            dst,
            proto,
            ports: PortRange {
                lo: at(l::rule::PORT_LO) as u16,
                hi: at(l::rule::PORT_HI) as u16,
            },
            action: if at(l::rule::ALLOW) != 0 {
                Action::Allow
            } else {
                Action::Deny
            },
        });
    }
    Ok(Some((key, rules)))
}

/// A `ct_overflow` entry, if the slot is valid: the 39 conntrack key bytes and
/// whether the lower endpoint originated.
pub(crate) fn ct_overflow(b: &Bits) -> Option<([u8; 39], bool)> {
    use layout::ct_overflow as l;
    if b.get(l::VALID) == 0 {
        return None;
    }
    let mut key = [0u8; 39];
    key.copy_from_slice(&b.get_bytes_be(l::KEY));
    Some((key, b.get(l::ORIG_LO) != 0))
}

/// The flow of a conntrack key, named by its originator (`orig_lo`: the lower endpoint
/// originated). Addresses are IPv4 when both are v4-mapped.
pub(crate) fn overflow_flow(key: &[u8; 39], orig_lo: bool, idle_timeout_ms: u64) -> OverflowFlow {
    let u16_at = |i: usize| u16::from_be_bytes([key[i], key[i + 1]]);
    let u128_at = |i: usize| {
        let mut a = [0u8; 16];
        a.copy_from_slice(&key[i..i + 16]);
        u128::from_be_bytes(a)
    };
    let (lo, hi) = (u128_at(3), u128_at(19));
    let (lo_ip, hi_ip) = match (as_v4(lo), as_v4(hi)) {
        (Some(a), Some(b)) => (IpAddr::V4(a), IpAddr::V4(b)),
        _ => (
            IpAddr::V6(Ipv6Addr::from(lo)),
            IpAddr::V6(Ipv6Addr::from(hi)),
        ),
    };
    let (lo_port, hi_port) = (u16_at(35), u16_at(37));
    let ((src, sport), (dst, dport)) = if orig_lo {
        ((lo_ip, lo_port), (hi_ip, hi_port))
    } else {
        ((hi_ip, hi_port), (lo_ip, lo_port))
    };
    OverflowFlow {
        zone: u16_at(0),
        proto: key[2],
        src,
        dst,
        sport,
        dport,
        idle_timeout_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_map_back_to_their_family() {
        for s in [
            "10.0.1.0/24",
            "0.0.0.0/0",
            "1.2.3.4/32",
            "fd00::/64",
            "::/0",
            "fd00:1::/32",
        ] {
            let p: Prefix = s.parse().unwrap();
            let (a, l) = p.to_u128();
            assert_eq!(prefix(a, l), p, "{s}");
        }
    }

    #[test]
    fn policy_keys_split_back_into_their_parts() {
        for (s, d, p) in [
            (Some(5), Some(0xff_ffff), Some(6)),
            (None, Some(7), None),
            (Some(9), None, Some(17)),
            (None, None, None),
        ] {
            let k = crate::policy_key(s, d, p);
            assert_eq!(policy_key_parts(k), (s, d, ProtoMatch(p)));
        }
    }

    #[test]
    fn overflow_keys_name_the_originator_again() {
        for f in [
            OverflowFlow {
                zone: 3,
                proto: 6,
                src: "10.0.0.9".parse().unwrap(),
                dst: "10.0.0.1".parse().unwrap(),
                sport: 40000,
                dport: 443,
                idle_timeout_ms: 5,
            },
            OverflowFlow {
                zone: 0,
                proto: 17,
                src: "fd00::1".parse().unwrap(),
                dst: "fd00::2".parse().unwrap(),
                sport: 53,
                dport: 9999,
                idle_timeout_ms: 5,
            },
        ] {
            let (k, orig_lo) = f.key();
            assert_eq!(overflow_flow(&k.bytes(), orig_lo, 5), f);
        }
    }
}
