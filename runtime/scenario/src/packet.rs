//! Builds the bytes of packets described in scenario files, like scapy in a PTF test:
//! a plain frame (Ethernet, VLANs, IPv4/IPv6, TCP/UDP/ICMP/ARP), optionally inside a
//! Geneve or VXLAN outer header, then optionally mutated to make it malformed.
//!
//! This is written independently of the model's parser, so that a scenario's
//! expectations do not inherit the model's mistakes.

use std::net::{IpAddr, Ipv4Addr};

use serde::Deserialize;
use ztnic_model::{Config, MacAddr};

use crate::ScenarioError;

/// Hex bytes in a file: `"45 00 ff"` or `"4500ff"`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Hex(pub Vec<u8>);

impl<'de> Deserialize<'de> for Hex {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let digits: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        if digits.len() % 2 != 0 || !digits.bytes().all(|c| c.is_ascii_hexdigit()) {
            return Err(serde::de::Error::custom(format!("not hex bytes: {s:?}")));
        }
        (0..digits.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&digits[i..i + 2], 16))
            .collect::<Result<Vec<u8>, _>>()
            .map(Hex)
            .map_err(serde::de::Error::custom)
    }
}

/// A packet, described by its headers from the outside in.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PacketSpec {
    /// Outer Geneve encapsulation (as received from a peer NIC).
    pub geneve: Option<GeneveSpec>,
    /// Outer VXLAN encapsulation.
    pub vxlan: Option<VxlanSpec>,
    pub eth: Option<EthSpec>,
    pub ipv4: Option<Ipv4Spec>,
    pub ipv6: Option<Ipv6Spec>,
    pub tcp: Option<TcpSpec>,
    pub udp: Option<UdpSpec>,
    pub icmp: Option<IcmpSpec>,
    pub icmpv6: Option<IcmpSpec>,
    pub arp: Option<ArpSpec>,
    /// L4 payload length in bytes (filled with 0, 1, 2, …).
    #[serde(default)]
    pub payload: usize,
    /// The whole frame, byte by byte (instead of headers).
    pub raw: Option<Hex>,
    /// Pad the frame to the 60-byte Ethernet minimum (default true).
    pub pad: Option<bool>,
    /// Changes applied to the finished bytes.
    pub mutate: Option<Mutate>,
    /// A `packet_out` header in front (for packets sent from the CPU port).
    pub packet_out: Option<PacketOutSpec>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EthSpec {
    pub src: Option<MacAddr>,
    pub dst: Option<MacAddr>,
    /// VLAN IDs, outermost first.
    #[serde(default)]
    pub vlan: Vec<u16>,
    /// TPID of the outermost tag (default 0x8100; 0x88a8 for QinQ).
    pub tpid: Option<u16>,
    /// Overrides the EtherType after the tags.
    pub ethertype: Option<u16>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ipv4Spec {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    #[serde(default = "ttl")]
    pub ttl: u8,
    #[serde(default)]
    pub id: u16,
    #[serde(default)]
    pub df: bool,
    #[serde(default)]
    pub mf: bool,
    #[serde(default)]
    pub frag_offset: u16,
    /// Bytes of options (NOPs then an end-of-list), a multiple of 4.
    #[serde(default)]
    pub options: usize,
    /// Overrides the protocol field.
    pub proto: Option<u8>,
}

fn ttl() -> u8 {
    64
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ipv6Spec {
    pub src: std::net::Ipv6Addr,
    pub dst: std::net::Ipv6Addr,
    #[serde(default = "ttl")]
    pub hop_limit: u8,
    /// Overrides the next-header field.
    pub next_header: Option<u8>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TcpSpec {
    pub sport: u16,
    pub dport: u16,
    /// Letters F S R P A U E C; empty for none.
    #[serde(default)]
    pub flags: String,
    #[serde(default)]
    pub seq: u32,
    #[serde(default)]
    pub ack: u32,
    #[serde(default = "window")]
    pub win: u16,
}

fn window() -> u16 {
    65535
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UdpSpec {
    pub sport: u16,
    pub dport: u16,
}

/// An ICMP / ICMPv6 message: an echo, or another type quoting a packet.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IcmpSpec {
    /// `request` or `reply` for an echo.
    pub echo: Option<String>,
    #[serde(default)]
    pub id: u16,
    #[serde(default)]
    pub seq: u16,
    /// Type and code of a non-echo message.
    pub r#type: Option<u8>,
    #[serde(default)]
    pub code: u8,
    /// The packet an error quotes (its IP header and first 8 L4 bytes are kept).
    pub quote: Option<Box<PacketSpec>>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArpSpec {
    pub sender: Ipv4Addr,
    pub target: Ipv4Addr,
}

/// Outer Geneve headers of a packet from a peer VTEP.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeneveSpec {
    /// The peer VTEP (outer source).
    pub from: Ipv4Addr,
    /// Outer destination; defaults to the NIC's `local_vtep_ip`.
    pub to: Option<Ipv4Addr>,
    pub ctx: u32,
    #[serde(default)]
    pub epoch: u8,
    /// `auto` (computed with the configured key over the inner packet) or a number.
    #[serde(default)]
    pub mac: MacSpec,
    /// Header fields to make it malformed.
    pub version: Option<u8>,
    pub opt_len: Option<u8>,
    pub oam: Option<bool>,
    pub critical: Option<bool>,
    pub protocol: Option<u16>,
    pub opt_class: Option<u16>,
    pub opt_type: Option<u8>,
    /// Source port of the outer UDP header (default 49152).
    pub sport: Option<u16>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MacSpec {
    #[default]
    Zero,
    Auto,
    Value(u32),
}

impl<'de> Deserialize<'de> for MacSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Num(u32),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Num(n) => Ok(MacSpec::Value(n)),
            Raw::Text(s) if s == "auto" => Ok(MacSpec::Auto),
            Raw::Text(s) => Err(serde::de::Error::custom(format!(
                "tag mac must be a number or auto, not {s:?}"
            ))),
        }
    }
}

/// Outer VXLAN headers of a packet from a peer VTEP.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VxlanSpec {
    pub from: Ipv4Addr,
    pub to: Option<Ipv4Addr>,
    /// The Group Policy ID; without it the G flag is clear.
    pub gbp: Option<u16>,
    /// Overrides the flags byte.
    pub flags: Option<u8>,
    pub sport: Option<u16>,
}

/// Byte-level changes to a finished packet.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mutate {
    /// Keep only the first N bytes.
    pub truncate: Option<usize>,
    /// Overwrite bytes at an offset.
    #[serde(default)]
    pub poke: Vec<Poke>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Poke {
    pub at: usize,
    pub hex: Hex,
}

/// The header of a packet injected from the CPU port.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PacketOutSpec {
    pub port: u16,
    /// 0: send out of `port`; 1: process as if received on `port`.
    pub mode: u8,
}

/// The default MACs of the workloads on either side of a frame.
const HOST_SRC_MAC: [u8; 6] = [0x02, 0, 0, 0, 0x0a, 0x01];
const HOST_DST_MAC: [u8; 6] = [0x02, 0, 0, 0, 0x0a, 0x02];
/// Outer UDP source port of packets from peers.
const PEER_SPORT: u16 = 49152;

/// A built packet: its bytes, and the inner frame if it is encapsulated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Built {
    pub bytes: Vec<u8>,
    /// The encapsulated frame (what decapsulation yields).
    pub inner: Option<Vec<u8>>,
}

fn checksum(data: &[u8]) -> u16 {
    !ztnic_model::parse::ipv4_checksum_fold(data)
}

fn flags_byte(s: &str) -> Result<u8, ScenarioError> {
    let mut b = 0;
    for c in s.chars() {
        b |= match c {
            'F' => 0x01,
            'S' => 0x02,
            'R' => 0x04,
            'P' => 0x08,
            'A' => 0x10,
            'U' => 0x20,
            'E' => 0x40,
            'C' => 0x80,
            _ => {
                return Err(ScenarioError::Spec(format!(
                    "unknown TCP flag {c:?} in {s:?}"
                )));
            }
        };
    }
    Ok(b)
}

impl PacketSpec {
    /// The bytes of this packet under a NIC configuration (for defaults and tag MACs).
    pub fn build(&self, cfg: &Config) -> Result<Built, ScenarioError> {
        let mut built = if let Some(raw) = &self.raw {
            Built {
                bytes: raw.0.clone(),
                inner: None,
            }
        } else {
            let inner = self.frame()?;
            if let Some(g) = &self.geneve {
                let mac = match g.mac {
                    MacSpec::Zero => 0,
                    MacSpec::Value(v) => v,
                    MacSpec::Auto => auto_mac(cfg, g.ctx, g.epoch, &inner)?,
                };
                let hdr = geneve_header(cfg.vni, g, mac);
                let outer = OuterSpec {
                    src_mac: cfg.gateway_mac,
                    dst_mac: cfg.local_mac,
                    src: g.from,
                    dst: g.to.unwrap_or(cfg.local_vtep_ip),
                    sport: g.sport.unwrap_or(PEER_SPORT),
                    dport: 6081,
                };
                Built {
                    bytes: outer.wrap(&hdr, &inner),
                    inner: Some(inner),
                }
            } else if let Some(v) = &self.vxlan {
                let hdr = vxlan_header(cfg.vni, v.flags, v.gbp);
                let outer = OuterSpec {
                    src_mac: cfg.gateway_mac,
                    dst_mac: cfg.local_mac,
                    src: v.from,
                    dst: v.to.unwrap_or(cfg.local_vtep_ip),
                    sport: v.sport.unwrap_or(PEER_SPORT),
                    dport: 4789,
                };
                Built {
                    bytes: outer.wrap(&hdr, &inner),
                    inner: Some(inner),
                }
            } else {
                Built {
                    bytes: inner,
                    inner: None,
                }
            }
        };
        if self.pad.unwrap_or(self.raw.is_none()) && built.bytes.len() < 60 {
            built.bytes.resize(60, 0);
        }
        if let Some(m) = &self.mutate {
            for p in &m.poke {
                let end = p.at + p.hex.0.len();
                if end > built.bytes.len() {
                    return Err(ScenarioError::Spec(format!(
                        "poke at {} beyond the {}-byte packet",
                        p.at,
                        built.bytes.len()
                    )));
                }
                built.bytes[p.at..end].copy_from_slice(&p.hex.0);
            }
            if let Some(n) = m.truncate {
                built.bytes.truncate(n);
            }
        }
        if let Some(po) = &self.packet_out {
            let mut b = Vec::with_capacity(built.bytes.len() + 4);
            b.extend_from_slice(&po.port.to_be_bytes());
            b.extend_from_slice(&[po.mode, 0]);
            b.extend_from_slice(&built.bytes);
            built.bytes = b;
        }
        Ok(built)
    }

    /// The plain frame: Ethernet, VLANs, L3, L4 and payload.
    fn frame(&self) -> Result<Vec<u8>, ScenarioError> {
        let eth = self.eth.clone().unwrap_or_default();
        let mut f = Vec::with_capacity(128);
        f.extend_from_slice(&eth.dst.map_or(HOST_DST_MAC, |m| m.0));
        f.extend_from_slice(&eth.src.map_or(HOST_SRC_MAC, |m| m.0));
        for (i, vid) in eth.vlan.iter().enumerate() {
            let tpid = if i == 0 {
                eth.tpid.unwrap_or(0x8100)
            } else {
                0x8100
            };
            f.extend_from_slice(&tpid.to_be_bytes());
            f.extend_from_slice(&(vid & 0x0fff).to_be_bytes());
        }
        let (ethertype, l3) = if let Some(a) = &self.arp {
            (0x0806, arp(a))
        } else if self.ipv4.is_some() || self.ipv6.is_some() {
            let t = if self.ipv4.is_some() { 0x0800 } else { 0x86dd };
            (t, self.ip_packet()?)
        } else {
            (eth.ethertype.unwrap_or(0x0800), Vec::new())
        };
        f.extend_from_slice(&eth.ethertype.unwrap_or(ethertype).to_be_bytes());
        f.extend_from_slice(&l3);
        Ok(f)
    }

    /// The IP packet (header, L4, payload), without Ethernet.
    fn ip_packet(&self) -> Result<Vec<u8>, ScenarioError> {
        let (src, dst): (IpAddr, IpAddr) = match (&self.ipv4, &self.ipv6) {
            (Some(v4), None) => (v4.src.into(), v4.dst.into()),
            (None, Some(v6)) => (v6.src.into(), v6.dst.into()),
            _ => {
                return Err(ScenarioError::Spec(
                    "a packet has exactly one of ipv4 and ipv6".into(),
                ));
            }
        };
        let payload: Vec<u8> = (0..self.payload).map(|i| i as u8).collect();
        let (proto, mut l4) = self.l4(&payload)?;
        l4_checksum(proto, src, dst, &mut l4);
        match (&self.ipv4, &self.ipv6) {
            (Some(v4), _) => Ok(ipv4(v4, v4.proto.unwrap_or(proto), &l4)),
            (_, Some(v6)) => Ok(ipv6(v6, v6.next_header.unwrap_or(proto), &l4)),
            _ => unreachable!("checked above"),
        }
    }

    /// The L4 header and payload with a zero checksum, and its protocol number.
    fn l4(&self, payload: &[u8]) -> Result<(u8, Vec<u8>), ScenarioError> {
        let mut v = Vec::new();
        if let Some(t) = &self.tcp {
            v.extend_from_slice(&t.sport.to_be_bytes());
            v.extend_from_slice(&t.dport.to_be_bytes());
            v.extend_from_slice(&t.seq.to_be_bytes());
            v.extend_from_slice(&t.ack.to_be_bytes());
            v.push(0x50);
            v.push(flags_byte(&t.flags)?);
            v.extend_from_slice(&t.win.to_be_bytes());
            v.extend_from_slice(&[0, 0, 0, 0]);
            v.extend_from_slice(payload);
            return Ok((6, v));
        }
        if let Some(u) = &self.udp {
            v.extend_from_slice(&u.sport.to_be_bytes());
            v.extend_from_slice(&u.dport.to_be_bytes());
            v.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
            v.extend_from_slice(&[0, 0]);
            v.extend_from_slice(payload);
            return Ok((17, v));
        }
        let (icmp, proto, v6) = match (&self.icmp, &self.icmpv6) {
            (Some(i), None) => (i, 1, false),
            (None, Some(i)) => (i, 58, true),
            (None, None) => {
                return Ok((
                    self.ipv4.as_ref().and_then(|h| h.proto).unwrap_or(253),
                    payload.to_vec(),
                ));
            }
            _ => return Err(ScenarioError::Spec("both icmp and icmpv6".into())),
        };
        let ty = match (icmp.echo.as_deref(), icmp.r#type) {
            (Some("request"), None) => {
                if v6 {
                    128
                } else {
                    8
                }
            }
            (Some("reply"), None) => {
                if v6 {
                    129
                } else {
                    0
                }
            }
            (None, Some(t)) => t,
            _ => {
                return Err(ScenarioError::Spec(
                    "icmp needs echo: request|reply or a type".into(),
                ));
            }
        };
        v.extend_from_slice(&[ty, icmp.code, 0, 0]);
        if icmp.echo.is_some() {
            v.extend_from_slice(&icmp.id.to_be_bytes());
            v.extend_from_slice(&icmp.seq.to_be_bytes());
            v.extend_from_slice(payload);
        } else {
            v.extend_from_slice(&[0, 0, 0, 0]);
            if let Some(q) = &icmp.quote {
                let quoted = q.ip_packet()?;
                let ihl = if q.ipv4.is_some() {
                    usize::from(quoted[0] & 0x0f) * 4
                } else {
                    40
                };
                v.extend_from_slice(&quoted[..quoted.len().min(ihl + 8)]);
            }
            v.extend_from_slice(payload);
        }
        Ok((proto, v))
    }
}

fn ipv4(h: &Ipv4Spec, proto: u8, l4: &[u8]) -> Vec<u8> {
    let opt = h.options;
    let ihl = 20 + opt;
    let mut v = vec![0u8; ihl];
    v[0] = 0x40 | ((ihl / 4) as u8 & 0x0f);
    v[2..4].copy_from_slice(&((ihl + l4.len()) as u16).to_be_bytes());
    v[4..6].copy_from_slice(&h.id.to_be_bytes());
    let frag = (u16::from(h.df) << 14) | (u16::from(h.mf) << 13) | (h.frag_offset & 0x1fff);
    v[6..8].copy_from_slice(&frag.to_be_bytes());
    v[8] = h.ttl;
    v[9] = proto;
    v[12..16].copy_from_slice(&h.src.octets());
    v[16..20].copy_from_slice(&h.dst.octets());
    for b in &mut v[20..ihl] {
        *b = 1; // NOP
    }
    if opt > 0 {
        v[ihl - 1] = 0; // end of option list
    }
    let c = checksum(&v);
    v[10..12].copy_from_slice(&c.to_be_bytes());
    v.extend_from_slice(l4);
    v
}

fn ipv6(h: &Ipv6Spec, next: u8, l4: &[u8]) -> Vec<u8> {
    let mut v = vec![0u8; 40];
    v[0] = 0x60;
    v[4..6].copy_from_slice(&(l4.len() as u16).to_be_bytes());
    v[6] = next;
    v[7] = h.hop_limit;
    v[8..24].copy_from_slice(&h.src.octets());
    v[24..40].copy_from_slice(&h.dst.octets());
    v.extend_from_slice(l4);
    v
}

/// Fills in the TCP/UDP/ICMP checksum (with the pseudo-header where the protocol has one).
fn l4_checksum(proto: u8, src: IpAddr, dst: IpAddr, l4: &mut [u8]) {
    let at = match proto {
        6 if l4.len() >= 20 => 16,
        17 if l4.len() >= 8 => 6,
        1 | 58 if l4.len() >= 4 => 2,
        _ => return,
    };
    let mut data = Vec::with_capacity(40 + l4.len());
    if proto != 1 {
        match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                data.extend_from_slice(&s.octets());
                data.extend_from_slice(&d.octets());
                data.extend_from_slice(&[0, proto]);
                data.extend_from_slice(&(l4.len() as u16).to_be_bytes());
            }
            (s, d) => {
                let s6 = match s {
                    IpAddr::V6(a) => a,
                    IpAddr::V4(a) => a.to_ipv6_mapped(),
                };
                let d6 = match d {
                    IpAddr::V6(a) => a,
                    IpAddr::V4(a) => a.to_ipv6_mapped(),
                };
                data.extend_from_slice(&s6.octets());
                data.extend_from_slice(&d6.octets());
                data.extend_from_slice(&(l4.len() as u32).to_be_bytes());
                data.extend_from_slice(&[0, 0, 0, proto]);
            }
        }
    }
    data.extend_from_slice(l4);
    let mut c = checksum(&data);
    if proto == 17 && c == 0 {
        c = 0xffff;
    }
    l4[at..at + 2].copy_from_slice(&c.to_be_bytes());
}

fn arp(a: &ArpSpec) -> Vec<u8> {
    let mut v = vec![0, 1, 0x08, 0x00, 6, 4, 0, 1];
    v.extend_from_slice(&HOST_SRC_MAC);
    v.extend_from_slice(&a.sender.octets());
    v.extend_from_slice(&[0; 6]);
    v.extend_from_slice(&a.target.octets());
    v
}

/// The Geneve base header and ztnic option.
fn geneve_header(vni: u32, g: &GeneveSpec, mac: u32) -> Vec<u8> {
    let mut h = Vec::with_capacity(20);
    let ver = g.version.unwrap_or(0);
    let opt_len = g.opt_len.unwrap_or(3);
    h.push((ver << 6) | (opt_len & 0x3f));
    let o = if g.oam.unwrap_or(false) { 0x80 } else { 0 };
    let c = if g.critical.unwrap_or(true) { 0x40 } else { 0 };
    h.push(o | c);
    h.extend_from_slice(&g.protocol.unwrap_or(0x6558).to_be_bytes());
    h.extend_from_slice(&(vni << 8).to_be_bytes());
    h.extend_from_slice(&g.opt_class.unwrap_or(0xfff0).to_be_bytes());
    h.push(g.opt_type.unwrap_or(0x81));
    h.push(2);
    h.extend_from_slice(&((g.ctx << 8) | u32::from(g.epoch)).to_be_bytes());
    h.extend_from_slice(&mac.to_be_bytes());
    h
}

fn vxlan_header(vni: u32, flags: Option<u8>, gbp: Option<u16>) -> Vec<u8> {
    let g = if gbp.is_some() { 0x80 } else { 0 };
    let mut h = vec![flags.unwrap_or(0x08 | g), 0];
    h.extend_from_slice(&gbp.unwrap_or(0).to_be_bytes());
    h.extend_from_slice(&(vni << 8).to_be_bytes());
    h
}

/// The tag MAC design §3 defines, over an inner frame.
fn auto_mac(cfg: &Config, ctx: u32, epoch: u8, inner: &[u8]) -> Result<u32, ScenarioError> {
    let pkt = ztnic_model::parse::parse_frame(inner)
        .map_err(|s| ScenarioError::Spec(format!("mac: auto needs an IP inner packet ({s:?})")))?;
    Ok(ztnic_model::tag::tag_mac(&cfg.auth_key, ctx, epoch, &pkt))
}

/// Outer Ethernet/IPv4/UDP of a tunnel packet.
pub(crate) struct OuterSpec {
    pub src_mac: MacAddr,
    pub dst_mac: MacAddr,
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub sport: u16,
    pub dport: u16,
}

impl OuterSpec {
    /// Outer headers (IPv4 DF, TTL 64, ID 0; UDP checksum 0) + tunnel header + frame.
    pub fn wrap(&self, tunnel_hdr: &[u8], inner: &[u8]) -> Vec<u8> {
        let udp_len = 8 + tunnel_hdr.len() + inner.len();
        let mut v = Vec::with_capacity(34 + udp_len);
        v.extend_from_slice(&self.dst_mac.0);
        v.extend_from_slice(&self.src_mac.0);
        v.extend_from_slice(&[0x08, 0x00]);
        let h = Ipv4Spec {
            src: self.src,
            dst: self.dst,
            ttl: 64,
            id: 0,
            df: true,
            mf: false,
            frag_offset: 0,
            options: 0,
            proto: None,
        };
        let mut udp = Vec::with_capacity(udp_len);
        udp.extend_from_slice(&self.sport.to_be_bytes());
        udp.extend_from_slice(&self.dport.to_be_bytes());
        udp.extend_from_slice(&(udp_len as u16).to_be_bytes());
        udp.extend_from_slice(&[0, 0]);
        udp.extend_from_slice(tunnel_hdr);
        udp.extend_from_slice(inner);
        v.extend_from_slice(&ipv4(&h, 17, &udp));
        v
    }
}

/// The tunnel header a NIC writes when it encapsulates towards a peer.
pub(crate) fn tx_geneve_header(cfg: &Config, ctx: u32, epoch: u8, mac: u32) -> Vec<u8> {
    let g = GeneveSpec {
        from: cfg.local_vtep_ip,
        to: None,
        ctx,
        epoch,
        mac: MacSpec::Value(mac),
        version: None,
        opt_len: None,
        oam: None,
        critical: None,
        protocol: None,
        opt_class: None,
        opt_type: None,
        sport: None,
    };
    geneve_header(cfg.vni, &g, mac)
}

pub(crate) fn tx_vxlan_header(cfg: &Config, gbp: u16) -> Vec<u8> {
    vxlan_header(cfg.vni, None, Some(gbp))
}

pub(crate) fn tag_mac_of(
    cfg: &Config,
    ctx: u32,
    epoch: u8,
    inner: &[u8],
) -> Result<u32, ScenarioError> {
    auto_mac(cfg, ctx, epoch, inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(yaml: &str) -> PacketSpec {
        serde_yaml_ng::from_str(yaml).unwrap()
    }

    #[test]
    fn tcp_syn_frame_has_the_expected_layout_and_checksums() {
        let b = spec("{ipv4: {src: 10.0.0.1, dst: 10.0.1.5}, tcp: {sport: 40000, dport: 443, flags: S, seq: 1000}}")
            .build(&Config::default())
            .unwrap();
        let f = &b.bytes;
        assert_eq!(f.len(), 60, "54 bytes padded to the Ethernet minimum");
        assert_eq!(&f[12..14], &[0x08, 0x00]);
        assert_eq!(f[14], 0x45);
        assert!(ztnic_model::parse::ipv4_checksum_ok(&f[14..34]));
        assert_eq!(&f[34..36], &40000u16.to_be_bytes());
        assert_eq!(f[47], 0x02);
        // TCP checksum verifies over the pseudo-header.
        let mut data = Vec::new();
        data.extend_from_slice(&f[26..34]);
        data.extend_from_slice(&[0, 6, 0, 20]);
        data.extend_from_slice(&f[34..54]);
        assert_eq!(ztnic_model::parse::ipv4_checksum_fold(&data), 0xffff);
    }

    #[test]
    fn geneve_packet_wraps_the_inner_frame() {
        let b = spec("{geneve: {from: 192.168.0.2, ctx: 257, epoch: 3}, ipv4: {src: 10.0.1.5, dst: 10.0.0.1}, udp: {sport: 53, dport: 5353}}")
            .build(&Config::default())
            .unwrap();
        let inner = b.inner.unwrap();
        assert_eq!(b.bytes.len(), 62 + inner.len());
        assert_eq!(&b.bytes[62..], &inner[..]);
        assert_eq!(&b.bytes[54..58], &[0x00, 0x01, 0x01, 0x03]);
        assert_eq!(&b.bytes[36..38], &6081u16.to_be_bytes());
    }

    #[test]
    fn mutations_truncate_and_poke() {
        let b = spec("{ipv4: {src: 10.0.0.1, dst: 10.0.1.5}, udp: {sport: 1, dport: 2}, pad: false, mutate: {truncate: 30, poke: [{at: 14, hex: '46'}]}}")
            .build(&Config::default())
            .unwrap();
        assert_eq!(b.bytes.len(), 30);
        assert_eq!(b.bytes[14], 0x46);
    }
}
