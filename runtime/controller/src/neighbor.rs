//! Neighbour discovery and fragments on the slow path: the ARP requests and IPv6
//! Neighbor Solicitations the datapath punts (`arp`, `nd`) are read here and answered
//! with one fixed MAC (proxy ARP / proxy ND); IP fragments are recognised so the slow
//! path can drop and count them (docs/controller.md, "Slow path").
//!
//! Headers above Ethernet are read and written with `etherparse`; the Ethernet header
//! and its VLAN tags (at most two, as the datapath parses them) are copied from the
//! request so the answer goes back on the same VLAN.

use std::net::{Ipv4Addr, Ipv6Addr};

use etherparse::icmpv6::NeighborAdvertisementHeader;
use etherparse::{
    ArpEthIpv4Packet, ArpOperation, ArpPacket, Icmpv6Slice, Icmpv6Type, IpNumber, Ipv4HeaderSlice,
    Ipv6Slice, PacketBuilder,
};

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_ARP: u16 = 0x0806;
const ETHERTYPE_VLAN: u16 = 0x8100;
const ETHERTYPE_QINQ: u16 = 0x88a8;
/// ICMPv6 Neighbor Solicitation / Advertisement, Router Solicitation.
const ND_NS: u8 = 135;
/// NDP option types: source and target link-layer address.
const OPT_SLLA: u8 = 1;
const OPT_TLLA: u8 = 2;
/// A frame shorter than this is padded (the Ethernet minimum without the FCS).
const MIN_FRAME: usize = 60;

/// The Ethernet header of a request: its source MAC and the bytes from its
/// EtherType/VLAN tags to the start of L3 (kept for the answer).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct L2 {
    pub src: [u8; 6],
    /// Bytes 12..l3 of the request: VLAN tags (if any) and the EtherType.
    tags: Vec<u8>,
}

impl L2 {
    /// An answer's Ethernet header: from `src` to `dst`, the request's tags.
    fn header(&self, src: [u8; 6], dst: [u8; 6]) -> Vec<u8> {
        let mut f = Vec::with_capacity(MIN_FRAME + 32);
        f.extend_from_slice(&dst);
        f.extend_from_slice(&src);
        f.extend_from_slice(&self.tags);
        f
    }
}

/// Reads Ethernet and up to two VLAN tags: (header, EtherType, L3 offset).
fn ethernet(frame: &[u8]) -> Result<(L2, u16, usize), String> {
    let be16 = |o: usize| {
        frame
            .get(o..o + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
    };
    let mut off = 12;
    let mut ethertype = be16(off).ok_or("Ethernet header cut short")?;
    let mut tags = 0;
    while ethertype == ETHERTYPE_VLAN || ethertype == ETHERTYPE_QINQ {
        if tags == 2 {
            return Err("more than two VLAN tags".into());
        }
        off += 4;
        ethertype = be16(off).ok_or("VLAN tag cut short")?;
        tags += 1;
    }
    let l3 = off + 2;
    let mut src = [0u8; 6];
    src.copy_from_slice(&frame[6..12]);
    Ok((
        L2 {
            src,
            tags: frame[12..l3].to_vec(),
        },
        ethertype,
        l3,
    ))
}

fn unicast(mac: [u8; 6]) -> bool {
    mac[0] & 1 == 0 && mac != [0; 6]
}

/// An ARP request for an IPv4 address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ArpRequest {
    pub l2: L2,
    pub sender_mac: [u8; 6],
    pub sender_ip: Ipv4Addr,
    pub target_ip: Ipv4Addr,
}

/// A Neighbor Solicitation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct NsRequest {
    pub l2: L2,
    pub src: Ipv6Addr,
    pub target: Ipv6Addr,
    /// The source link-layer address option, if present.
    pub slla: Option<[u8; 6]>,
}

/// What a punted ARP or ND frame is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Neighbor<R> {
    /// A request that may deserve an answer.
    Request(R),
    /// Well-formed and needing no answer (replies, announcements, probes, router
    /// discovery): why.
    Ignore(&'static str),
    /// Not a valid message: what is wrong.
    Malformed(String),
}

/// Reads a punted ARP frame.
pub(crate) fn parse_arp(frame: &[u8]) -> Neighbor<ArpRequest> {
    let (l2, ethertype, l3) = match ethernet(frame) {
        Ok(e) => e,
        Err(e) => return Neighbor::Malformed(format!("arp: {e}")),
    };
    if ethertype != ETHERTYPE_ARP {
        return Neighbor::Malformed(format!("arp punt with EtherType {ethertype:#06x}"));
    }
    let arp = match ArpPacket::from_slice(&frame[l3..]) {
        Ok(a) => a,
        Err(e) => return Neighbor::Malformed(format!("arp: {e}")),
    };
    let arp = match arp.try_eth_ipv4() {
        Ok(a) => a,
        Err(e) => return Neighbor::Malformed(format!("arp: {e}")),
    };
    if arp.operation == ArpOperation::REPLY {
        return Neighbor::Ignore("arp reply");
    }
    if arp.operation != ArpOperation::REQUEST {
        return Neighbor::Malformed(format!("arp operation {}", arp.operation.0));
    }
    if !unicast(arp.sender_mac) {
        return Neighbor::Malformed("arp request from a multicast sender MAC".into());
    }
    let (sender_ip, target_ip) = (arp.sender_ipv4_addr(), arp.target_ipv4_addr());
    if sender_ip.is_unspecified() {
        return Neighbor::Ignore("arp probe");
    }
    if sender_ip == target_ip {
        return Neighbor::Ignore("gratuitous arp");
    }
    Neighbor::Request(ArpRequest {
        l2,
        sender_mac: arp.sender_mac,
        sender_ip,
        target_ip,
    })
}

/// The ARP reply to `req` saying that `req.target_ip` is at `mac`, padded to the
/// Ethernet minimum.
pub(crate) fn arp_reply(req: &ArpRequest, mac: [u8; 6]) -> Vec<u8> {
    let reply = ArpEthIpv4Packet {
        operation: ArpOperation::REPLY,
        sender_mac: mac,
        sender_ipv4: req.target_ip.octets(),
        target_mac: req.sender_mac,
        target_ipv4: req.sender_ip.octets(),
    };
    let mut f = req.l2.header(mac, req.sender_mac);
    f.extend_from_slice(&reply.to_bytes());
    f.resize(f.len().max(MIN_FRAME), 0);
    f
}

/// Reads a punted ND frame (RFC 4861 §7.1.1 checks for a Neighbor Solicitation).
pub(crate) fn parse_nd(frame: &[u8]) -> Neighbor<NsRequest> {
    let (l2, ethertype, l3) = match ethernet(frame) {
        Ok(e) => e,
        Err(e) => return Neighbor::Malformed(format!("nd: {e}")),
    };
    if ethertype != ETHERTYPE_IPV6 {
        return Neighbor::Malformed(format!("nd punt with EtherType {ethertype:#06x}"));
    }
    let ip = match Ipv6Slice::from_slice(&frame[l3..]) {
        Ok(ip) => ip,
        Err(e) => return Neighbor::Malformed(format!("nd: {e}")),
    };
    let h = ip.header();
    if h.next_header() != IpNumber::IPV6_ICMP || !ip.extensions().is_empty() {
        return Neighbor::Malformed("nd punt without an ICMPv6 header".into());
    }
    let icmp = match Icmpv6Slice::from_slice(ip.payload().payload) {
        Ok(i) => i,
        Err(e) => return Neighbor::Malformed(format!("nd: {e}")),
    };
    if !icmp.is_checksum_valid(h.source(), h.destination()) {
        return Neighbor::Malformed("nd: bad ICMPv6 checksum".into());
    }
    match icmp.icmp_type() {
        Icmpv6Type::NeighborSolicitation => {}
        Icmpv6Type::NeighborAdvertisement(_) => return Neighbor::Ignore("neighbor advertisement"),
        Icmpv6Type::RouterSolicitation => return Neighbor::Ignore("router solicitation"),
        Icmpv6Type::RouterAdvertisement(_) => return Neighbor::Ignore("router advertisement"),
        Icmpv6Type::Redirect => return Neighbor::Ignore("redirect"),
        _ if icmp.type_u8() == ND_NS => {
            return Neighbor::Malformed(format!(
                "neighbor solicitation with code {}",
                icmp.code_u8()
            ));
        }
        _ => return Neighbor::Malformed(format!("nd punt of ICMPv6 type {}", icmp.type_u8())),
    }
    if h.hop_limit() != 255 {
        return Neighbor::Malformed(format!(
            "neighbor solicitation with hop limit {}",
            h.hop_limit()
        ));
    }
    // Type, code, checksum, reserved (8 bytes), then the target address, options.
    let body = icmp.slice();
    let Some(t) = body.get(8..24) else {
        return Neighbor::Malformed("neighbor solicitation cut short".into());
    };
    let mut target = [0u8; 16];
    target.copy_from_slice(t);
    let target = Ipv6Addr::from(target);
    if target.is_multicast() {
        return Neighbor::Malformed("neighbor solicitation for a multicast target".into());
    }
    let mut slla = None;
    let mut opts = &body[24..];
    while !opts.is_empty() {
        let len = usize::from(opts.get(1).copied().unwrap_or(0)) * 8;
        if len == 0 || len > opts.len() {
            return Neighbor::Malformed("neighbor solicitation with a bad option length".into());
        }
        if opts[0] == OPT_SLLA && len == 8 {
            let mut m = [0u8; 6];
            m.copy_from_slice(&opts[2..8]);
            slla = Some(m);
        }
        opts = &opts[len..];
    }
    let src = h.source_addr();
    if src.is_unspecified() {
        if slla.is_some() {
            return Neighbor::Malformed("duplicate address detection with an SLLA option".into());
        }
        return Neighbor::Ignore("duplicate address detection");
    }
    if src.is_multicast() {
        return Neighbor::Malformed("neighbor solicitation from a multicast source".into());
    }
    if slla.is_some_and(|m| !unicast(m)) {
        return Neighbor::Malformed("neighbor solicitation with a multicast SLLA".into());
    }
    Neighbor::Request(NsRequest {
        l2,
        src,
        target,
        slla,
    })
}

/// The Neighbor Advertisement answering `req`: from `req.target` to the asker,
/// solicited and override set, router clear, with a target link-layer address option
/// carrying `mac`.
pub(crate) fn neighbor_advert(req: &NsRequest, mac: [u8; 6]) -> Vec<u8> {
    let dst_mac = req.slla.unwrap_or(req.l2.src);
    let mut payload = Vec::with_capacity(24);
    payload.extend_from_slice(&req.target.octets());
    payload.extend_from_slice(&[OPT_TLLA, 1]);
    payload.extend_from_slice(&mac);
    let na = Icmpv6Type::NeighborAdvertisement(NeighborAdvertisementHeader {
        router: false,
        solicited: true,
        r#override: true,
    });
    let mut f = req.l2.header(mac, dst_mac);
    let builder = PacketBuilder::ipv6(req.target.octets(), req.src.octets(), 255).icmpv6(na);
    // Writing into a Vec cannot fail; the payload is 24 bytes, far below any limit.
    if builder.write(&mut f, &payload).is_err() {
        f.clear();
    }
    f
}

/// True when `frame` (Ethernet, up to two VLAN tags) is an IPv4 packet with MF set or
/// a non-zero fragment offset, or an IPv6 packet whose Fragment header fragments it
/// (an atomic fragment, offset 0 and M clear, is a whole packet and not counted).
pub(crate) fn is_fragment(frame: &[u8]) -> bool {
    let Ok((_, ethertype, l3)) = ethernet(frame) else {
        return false;
    };
    let l3 = &frame[l3..];
    match ethertype {
        ETHERTYPE_IPV4 => Ipv4HeaderSlice::from_slice(l3)
            .is_ok_and(|h| h.more_fragments() || h.fragments_offset().value() != 0),
        ETHERTYPE_IPV6 => Ipv6Slice::from_slice(l3).is_ok_and(|ip| ip.is_payload_fragmented()),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const ASKER: [u8; 6] = [0x02, 0, 0, 0, 0, 0xaa];
    const OURS: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];

    fn arp(op: u16, spa: [u8; 4], tpa: [u8; 4], vlan: bool) -> Vec<u8> {
        let mut f = vec![0xff; 6];
        f.extend_from_slice(&ASKER);
        if vlan {
            f.extend_from_slice(&[0x81, 0x00, 0x00, 0x2a]);
        }
        f.extend_from_slice(&[0x08, 0x06, 0, 1, 8, 0, 6, 4]);
        f.extend_from_slice(&op.to_be_bytes());
        f.extend_from_slice(&ASKER);
        f.extend_from_slice(&spa);
        f.extend_from_slice(&[0; 6]);
        f.extend_from_slice(&tpa);
        f
    }

    #[test]
    fn arp_request_is_answered_on_its_vlan() {
        let req = match parse_arp(&arp(1, [10, 0, 0, 1], [10, 0, 0, 2], true)) {
            Neighbor::Request(r) => r,
            other => panic!("{other:?}"),
        };
        assert_eq!(req.target_ip, Ipv4Addr::new(10, 0, 0, 2));
        let r = arp_reply(&req, OURS);
        assert_eq!(r.len(), 60);
        assert_eq!(&r[0..6], &ASKER);
        assert_eq!(&r[6..12], &OURS);
        assert_eq!(&r[12..18], &[0x81, 0x00, 0x00, 0x2a, 0x08, 0x06]);
        assert_eq!(&r[24..26], &[0, 2], "reply");
        assert_eq!(&r[26..32], &OURS);
        assert_eq!(&r[32..36], &[10, 0, 0, 2]);
        assert_eq!(&r[36..42], &ASKER);
        assert_eq!(&r[42..46], &[10, 0, 0, 1]);
    }

    #[test]
    fn arp_that_needs_no_answer_or_is_broken() {
        assert_eq!(
            parse_arp(&arp(2, [10, 0, 0, 1], [10, 0, 0, 2], false)),
            Neighbor::Ignore("arp reply")
        );
        assert_eq!(
            parse_arp(&arp(1, [0; 4], [10, 0, 0, 2], false)),
            Neighbor::Ignore("arp probe")
        );
        assert_eq!(
            parse_arp(&arp(1, [10, 0, 0, 2], [10, 0, 0, 2], false)),
            Neighbor::Ignore("gratuitous arp")
        );
        assert!(matches!(
            parse_arp(&arp(7, [10, 0, 0, 1], [10, 0, 0, 2], false)),
            Neighbor::Malformed(_)
        ));
        let full = arp(1, [10, 0, 0, 1], [10, 0, 0, 2], false);
        for n in 0..full.len() {
            assert!(
                matches!(parse_arp(&full[..n]), Neighbor::Malformed(_)),
                "cut at {n}"
            );
        }
        let mut ipv6_proto = full.clone();
        ipv6_proto[16..18].copy_from_slice(&[0x86, 0xdd]);
        assert!(matches!(parse_arp(&ipv6_proto), Neighbor::Malformed(_)));
    }

    #[test]
    fn fragments_are_recognised() {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x00]);
        let mut ip = [0u8; 20];
        ip[0] = 0x45;
        ip[2..4].copy_from_slice(&28u16.to_be_bytes());
        ip[6] = 0x20; // MF
        ip[8] = 64;
        ip[9] = 17;
        f.extend_from_slice(&ip);
        f.extend_from_slice(&[0; 8]);
        assert!(is_fragment(&f));
        f[20] = 0;
        assert!(!is_fragment(&f));
        f[21] = 0x10; // offset 16 (128 bytes)
        assert!(is_fragment(&f));
        assert!(!is_fragment(&f[..20]));
    }
}
