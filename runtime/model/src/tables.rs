//! The match-action tables the runtime writes (design §4), named as in the P4 program:
//! `port_class`, `vport_ctx`, `local_ep`, `remote_ep`, `ctx_epoch`, `policy`.
//! (`ct_overflow` lives with the conntrack table in [`crate::conntrack`].)

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::addr::{prefix_len_128, prefix_mask, to_u128};
use crate::config::Port;
use crate::policy::Rule;

/// The role of a port (`port_class` table).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PortClass {
    /// A host virtual port: traffic from it is TX.
    Vport,
    /// The network: traffic from it is RX.
    Uplink,
    /// The control runtime.
    Cpu,
}

/// `vport_ctx`: the addresses a vport may send from, and the sender's context.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VportCtx {
    pub port: Port,
    pub ip: IpAddr,
    pub ctx: u32,
    #[serde(default)]
    pub zone: u16,
}

/// `local_ep`: an endpoint behind this NIC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalEp {
    pub ip: IpAddr,
    pub vport: Port,
    pub ctx: u32,
    #[serde(default)]
    pub zone: u16,
}

/// An IP prefix, written `10.0.1.0/24` or `fd00::/64`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Prefix {
    pub addr: IpAddr,
    pub len: u8,
}

impl Prefix {
    /// The prefix in the 128-bit space: (masked address, length).
    pub fn to_u128(self) -> (u128, u8) {
        let len = prefix_len_128(self.addr, self.len);
        (to_u128(self.addr) & prefix_mask(len), len)
    }

    /// The prefix of a 128-bit address and length (the inverse of
    /// [`Prefix::to_u128`]): IPv4 when the address is v4-mapped and the length
    /// covers the mapping (at least 96), IPv6 otherwise.
    pub fn from_u128(addr: u128, len: u8) -> Prefix {
        let len = len.min(128);
        let addr = addr & prefix_mask(len);
        match crate::addr::as_v4(addr) {
            Some(v4) if len >= 96 => Prefix {
                addr: IpAddr::V4(v4),
                len: len - 96,
            },
            _ => Prefix {
                addr: IpAddr::V6(addr.into()),
                len,
            },
        }
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

/// A text that is not a prefix.
#[derive(Debug, thiserror::Error)]
#[error("not an IP prefix (want ADDR/LEN): {0:?}")]
pub struct BadPrefix(String);

impl FromStr for Prefix {
    type Err = BadPrefix;
    fn from_str(s: &str) -> Result<Self, BadPrefix> {
        let bad = || BadPrefix(s.to_string());
        let (a, l) = s.split_once('/').ok_or_else(bad)?;
        let addr: IpAddr = a.parse().map_err(|_| bad())?;
        let len: u8 = l.parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        if len > max {
            return Err(bad());
        }
        Ok(Prefix { addr, len })
    }
}

impl Serialize for Prefix {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Prefix {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// What `remote_ep` does with traffic towards a prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum RemoteAction {
    /// Encapsulate in Geneve with the ztnic option towards `vtep`; the destination
    /// belongs to context `ctx`.
    Geneve { vtep: Ipv4Addr, ctx: u32 },
    /// Encapsulate in VXLAN-GBP towards `vtep`.
    VxlanGbp { vtep: Ipv4Addr, ctx: u32 },
    /// Send natively out of the uplink; the destination is `world`.
    World,
}

/// `remote_ep`: a route towards remote endpoints. Written
/// `{prefix: 10.0.1.0/24, geneve: {vtep: 192.168.0.2, ctx: 257}}`,
/// `{prefix: ..., vxlan_gbp: {...}}` or `{prefix: 0.0.0.0/0, world: true}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RemoteEpFile", into = "RemoteEpFile")]
pub struct RemoteEp {
    pub prefix: Prefix,
    pub action: RemoteAction,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RemoteEpFile {
    prefix: Prefix,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    geneve: Option<Tunnel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    vxlan_gbp: Option<Tunnel>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    world: bool,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Tunnel {
    vtep: Ipv4Addr,
    ctx: u32,
}

impl TryFrom<RemoteEpFile> for RemoteEp {
    type Error = String;
    fn try_from(f: RemoteEpFile) -> Result<Self, String> {
        let action = match (f.geneve, f.vxlan_gbp, f.world) {
            (Some(t), None, false) => RemoteAction::Geneve {
                vtep: t.vtep,
                ctx: t.ctx,
            },
            (None, Some(t), false) => RemoteAction::VxlanGbp {
                vtep: t.vtep,
                ctx: t.ctx,
            },
            (None, None, true) => RemoteAction::World,
            _ => {
                return Err(format!(
                    "remote_ep {} needs exactly one of geneve, vxlan_gbp and world: true",
                    f.prefix
                ));
            }
        };
        Ok(RemoteEp {
            prefix: f.prefix,
            action,
        })
    }
}

impl From<RemoteEp> for RemoteEpFile {
    fn from(e: RemoteEp) -> Self {
        let mut f = RemoteEpFile {
            prefix: e.prefix,
            geneve: None,
            vxlan_gbp: None,
            world: false,
        };
        match e.action {
            RemoteAction::Geneve { vtep, ctx } => f.geneve = Some(Tunnel { vtep, ctx }),
            RemoteAction::VxlanGbp { vtep, ctx } => f.vxlan_gbp = Some(Tunnel { vtep, ctx }),
            RemoteAction::World => f.world = true,
        }
        f
    }
}

/// `ctx_epoch`: a context the runtime knows, with its current epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CtxEpoch {
    pub ctx: u32,
    pub epoch: u8,
}

/// All match-action tables except conntrack.
#[derive(Clone, Debug, Default)]
pub struct Tables {
    pub port_class: HashMap<Port, PortClass>,
    vport_ctx: HashMap<(Port, u128), VportCtx>,
    local_ep: HashMap<u128, LocalEp>,
    /// Longest-prefix match: prefix length → masked address → entry.
    remote_ep: BTreeMap<u8, HashMap<u128, RemoteEp>>,
    pub ctx_epoch: HashMap<u32, u8>,
    /// Rules in evaluation order (see [`crate::policy`]).
    policy: Vec<Rule>,
}

impl Tables {
    /// Inserts or replaces a `vport_ctx` entry; returns the one it replaced.
    pub fn set_vport_ctx(&mut self, e: VportCtx) -> Option<VportCtx> {
        self.vport_ctx.insert((e.port, to_u128(e.ip)), e)
    }

    pub fn remove_vport_ctx(&mut self, port: Port, ip: IpAddr) -> Option<VportCtx> {
        self.vport_ctx.remove(&(port, to_u128(ip)))
    }

    pub fn vport_ctx(&self, port: Port, src: u128) -> Option<&VportCtx> {
        self.vport_ctx.get(&(port, src))
    }

    pub fn vport_ctx_entries(&self) -> impl Iterator<Item = &VportCtx> {
        self.vport_ctx.values()
    }

    pub fn set_local_ep(&mut self, e: LocalEp) -> Option<LocalEp> {
        self.local_ep.insert(to_u128(e.ip), e)
    }

    pub fn remove_local_ep(&mut self, ip: IpAddr) -> Option<LocalEp> {
        self.local_ep.remove(&to_u128(ip))
    }

    pub fn local_ep(&self, dst: u128) -> Option<&LocalEp> {
        self.local_ep.get(&dst)
    }

    pub fn local_ep_entries(&self) -> impl Iterator<Item = &LocalEp> {
        self.local_ep.values()
    }

    pub fn set_remote_ep(&mut self, e: RemoteEp) -> Option<RemoteEp> {
        let (addr, len) = e.prefix.to_u128();
        self.remote_ep.entry(len).or_default().insert(addr, e)
    }

    pub fn remove_remote_ep(&mut self, prefix: Prefix) -> Option<RemoteEp> {
        let (addr, len) = prefix.to_u128();
        let m = self.remote_ep.get_mut(&len)?;
        let old = m.remove(&addr);
        if m.is_empty() {
            self.remote_ep.remove(&len);
        }
        old
    }

    /// Longest-prefix match on a destination address.
    pub fn remote_ep(&self, dst: u128) -> Option<&RemoteEp> {
        self.remote_ep
            .iter()
            .rev()
            .find_map(|(len, m)| m.get(&(dst & prefix_mask(*len))))
    }

    pub fn remote_ep_entries(&self) -> impl Iterator<Item = &RemoteEp> {
        self.remote_ep.values().flat_map(|m| m.values())
    }

    /// Inserts or replaces a rule (by id), keeping evaluation order.
    pub fn set_rule(&mut self, r: Rule) -> Option<Rule> {
        let old = self.remove_rule(r.id);
        let at = self
            .policy
            .partition_point(|x| x.order_key() < r.order_key());
        self.policy.insert(at, r);
        old
    }

    pub fn remove_rule(&mut self, id: u32) -> Option<Rule> {
        let at = self.policy.iter().position(|r| r.id == id)?;
        Some(self.policy.remove(at))
    }

    /// The rules in evaluation order.
    pub fn rules(&self) -> &[Rule] {
        &self.policy
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addr::to_u128;

    fn ep(prefix: &str, ctx: u32) -> RemoteEp {
        RemoteEp {
            prefix: prefix.parse().unwrap(),
            action: RemoteAction::Geneve {
                vtep: Ipv4Addr::new(192, 168, 0, 2),
                ctx,
            },
        }
    }

    #[test]
    fn remote_ep_picks_the_longest_prefix() {
        let mut t = Tables::default();
        t.set_remote_ep(ep("10.0.0.0/8", 1));
        t.set_remote_ep(ep("10.1.0.0/16", 2));
        t.set_remote_ep(ep("0.0.0.0/0", 3));
        let at = |s: &str| to_u128(s.parse().unwrap());
        assert_eq!(t.remote_ep(at("10.1.2.3")), Some(&ep("10.1.0.0/16", 2)));
        assert_eq!(t.remote_ep(at("10.2.2.3")), Some(&ep("10.0.0.0/8", 1)));
        assert_eq!(t.remote_ep(at("11.0.0.1")), Some(&ep("0.0.0.0/0", 3)));
        // An IPv4 default route does not cover IPv6 destinations.
        assert_eq!(t.remote_ep(at("fd00::1")), None);
        t.remove_remote_ep("10.1.0.0/16".parse().unwrap());
        assert_eq!(t.remote_ep(at("10.1.2.3")), Some(&ep("10.0.0.0/8", 1)));
    }

    #[test]
    fn prefixes_reject_bad_lengths() {
        assert!("10.0.0.0/33".parse::<Prefix>().is_err());
        assert!("fd00::/129".parse::<Prefix>().is_err());
        assert!("10.0.0.0".parse::<Prefix>().is_err());
        assert!("fd00::/64".parse::<Prefix>().is_ok());
    }
}
