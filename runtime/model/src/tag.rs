//! The context tag on the wire (design §3): its MAC and the Geneve / VXLAN-GBP
//! encapsulations the TX path writes (docs/datapath.md §7).

use std::hash::Hasher;
use std::net::Ipv4Addr;

use siphasher::sip::SipHasher24;

use crate::config::{AuthKey, Config};
use crate::parse::{
    ETHERTYPE_IPV4, ETHERTYPE_TEB, GENEVE_OPT_CLASS, GENEVE_OPT_LEN, GENEVE_OPT_TYPE, IpPacket,
    PROTO_UDP, UDP_PORT_GENEVE, UDP_PORT_VXLAN, ipv4_checksum_fold,
};

/// Reserved context: never valid on the wire.
pub const CTX_UNKNOWN: u32 = 0;
/// Reserved context of the host itself.
pub const CTX_HOST: u32 = 1;
/// Reserved context of untagged traffic from outside the trust domain.
pub const CTX_WORLD: u32 = 2;
/// First context the runtime allocates.
pub const CTX_FIRST_ALLOCATED: u32 = 256;

/// Bytes Geneve encapsulation adds on an IPv4 underlay.
pub const GENEVE_OVERHEAD: usize = 14 + 20 + 8 + 8 + 12;
/// Bytes VXLAN-GBP encapsulation adds.
pub const VXLAN_OVERHEAD: usize = 14 + 20 + 8 + 8;

fn push_addr(msg: &mut Vec<u8>, a: u128, v6: bool) {
    if v6 {
        msg.extend_from_slice(&a.to_be_bytes());
    } else {
        msg.extend_from_slice(&a.to_be_bytes()[12..]);
    }
}

/// The message the tag MAC covers: ctx_id (3) ‖ epoch (1) ‖ src IP ‖ dst IP ‖
/// proto (1) ‖ src port (2) ‖ dst port (2), big-endian, IPv4 addresses 4 bytes (17 bytes
/// in all), IPv6 ones 16 (41); the ports are the TCP/UDP ones, zero for the rest.
pub fn tag_message(ctx: u32, epoch: u8, pkt: &IpPacket) -> Vec<u8> {
    let mut msg = Vec::with_capacity(41);
    msg.extend_from_slice(&ctx.to_be_bytes()[1..]);
    msg.push(epoch);
    push_addr(&mut msg, pkt.src, pkt.v6);
    push_addr(&mut msg, pkt.dst, pkt.v6);
    msg.push(pkt.proto);
    let (sport, dport) = pkt.l4_ports();
    msg.extend_from_slice(&sport.to_be_bytes());
    msg.extend_from_slice(&dport.to_be_bytes());
    msg
}

/// The tag MAC: low 32 bits of SipHash-2-4 under `key` over [`tag_message`].
pub fn tag_mac(key: &AuthKey, ctx: u32, epoch: u8, pkt: &IpPacket) -> u32 {
    let mut h = SipHasher24::new_with_key(&key.0);
    h.write(&tag_message(ctx, epoch, pkt));
    h.finish() as u32
}

/// The UDP source port of a tunnel packet: entropy from the flow's conntrack hash.
pub fn tunnel_sport(h16: u16) -> u16 {
    0xc000 | (h16 & 0x3fff)
}

/// Outer Ethernet + IPv4 + UDP headers towards `vtep` for a UDP payload of `len` bytes.
fn outer_headers(cfg: &Config, vtep: Ipv4Addr, sport: u16, dport: u16, len: usize) -> Vec<u8> {
    let mut p = Vec::with_capacity(42 + len);
    p.extend_from_slice(&cfg.gateway_mac.0);
    p.extend_from_slice(&cfg.local_mac.0);
    p.extend_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
    let ip_len = (20 + 8 + len) as u16;
    let mut ip = [0u8; 20];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&ip_len.to_be_bytes());
    ip[6] = 0x40; // DF
    ip[8] = 64;
    ip[9] = PROTO_UDP;
    ip[12..16].copy_from_slice(&cfg.local_vtep_ip.octets());
    ip[16..20].copy_from_slice(&vtep.octets());
    let csum = !ipv4_checksum_fold(&ip);
    ip[10..12].copy_from_slice(&csum.to_be_bytes());
    p.extend_from_slice(&ip);
    p.extend_from_slice(&sport.to_be_bytes());
    p.extend_from_slice(&dport.to_be_bytes());
    p.extend_from_slice(&((8 + len) as u16).to_be_bytes());
    p.extend_from_slice(&[0, 0]);
    p
}

/// Geneve encapsulation with the ztnic context option (62 bytes of headers).
pub fn geneve_encap(
    cfg: &Config,
    vtep: Ipv4Addr,
    sport: u16,
    tag: (u32, u8, u32),
    inner: &[u8],
) -> Vec<u8> {
    let (ctx, epoch, mac) = tag;
    let mut p = outer_headers(cfg, vtep, sport, UDP_PORT_GENEVE, 20 + inner.len());
    p.extend_from_slice(&[0x03, 0x40]);
    p.extend_from_slice(&ETHERTYPE_TEB.to_be_bytes());
    p.extend_from_slice(&(cfg.vni << 8).to_be_bytes());
    p.extend_from_slice(&GENEVE_OPT_CLASS.to_be_bytes());
    p.extend_from_slice(&[GENEVE_OPT_TYPE, GENEVE_OPT_LEN]);
    p.extend_from_slice(&((ctx << 8) | u32::from(epoch)).to_be_bytes());
    p.extend_from_slice(&mac.to_be_bytes());
    p.extend_from_slice(inner);
    p
}

/// VXLAN-GBP encapsulation (50 bytes of headers).
pub fn vxlan_gbp_encap(
    cfg: &Config,
    vtep: Ipv4Addr,
    sport: u16,
    gpid: u16,
    inner: &[u8],
) -> Vec<u8> {
    let mut p = outer_headers(cfg, vtep, sport, UDP_PORT_VXLAN, 8 + inner.len());
    p.extend_from_slice(&[0x88, 0x00]);
    p.extend_from_slice(&gpid.to_be_bytes());
    p.extend_from_slice(&(cfg.vni << 8).to_be_bytes());
    p.extend_from_slice(inner);
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addr::v4_mapped;
    use crate::parse::{L4, PROTO_TCP};

    #[test]
    fn siphash_matches_the_reference_vector() {
        // SipHash-2-4 paper, appendix A: key 00..0f, message 00..0e → a129ca6149be45e5.
        let key: [u8; 16] = core::array::from_fn(|i| i as u8);
        let msg: Vec<u8> = (0u8..15).collect();
        let mut h = SipHasher24::new_with_key(&key);
        h.write(&msg);
        assert_eq!(h.finish(), 0xa129_ca61_49be_45e5);
    }

    #[test]
    fn tag_mac_covers_context_epoch_and_flow() {
        let key = AuthKey(core::array::from_fn(|i| i as u8));
        let pkt = IpPacket {
            v6: false,
            src: v4_mapped(0x0a00_0001),
            dst: v4_mapped(0x0a00_0102),
            proto: PROTO_TCP,
            l4: L4::Other,
        };
        let m = tag_mac(&key, 256, 1, &pkt);
        assert_ne!(m, tag_mac(&key, 257, 1, &pkt));
        assert_ne!(m, tag_mac(&key, 256, 2, &pkt));
        let other = IpPacket {
            dst: v4_mapped(0x0a00_0103),
            ..pkt
        };
        assert_ne!(m, tag_mac(&key, 256, 1, &other));
    }

    #[test]
    fn encapsulations_add_the_documented_overhead() {
        let cfg = Config::default();
        let inner = [0u8; 60];
        let g = geneve_encap(
            &cfg,
            Ipv4Addr::new(192, 168, 0, 2),
            0xc001,
            (256, 1, 0),
            &inner,
        );
        assert_eq!(g.len(), 60 + GENEVE_OVERHEAD);
        assert_eq!(&g[42..46], &[0x03, 0x40, 0x65, 0x58]);
        assert_eq!(&g[50..54], &[0xff, 0xf0, 0x81, 0x02]);
        assert_eq!(&g[54..58], &[0x00, 0x01, 0x00, 0x01]);
        assert!(crate::parse::ipv4_checksum_ok(&g[14..34]));
        let v = vxlan_gbp_encap(&cfg, Ipv4Addr::new(192, 168, 0, 2), 0xc001, 0x0100, &inner);
        assert_eq!(v.len(), 60 + VXLAN_OVERHEAD);
        assert_eq!(&v[42..46], &[0x88, 0x00, 0x01, 0x00]);
    }
}
