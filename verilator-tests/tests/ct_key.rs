//! `rtl/ztnic_ct_key.v` (the engine's stage 13: conntrack keys) alone against the
//! model's `CtKey::of_flow` and `CtKey::bytes`.
//!
//! Random packets of every kind the parser tells apart (TCP, UDP, ICMP echo request
//! and reply, ICMP error, other ICMP, other protocols), IPv4 (v4-mapped) and IPv6,
//! with addresses and ports now and then equal so that the endpoint order is decided
//! by the last field or ties. The PHV fields a kind does not use hold random values,
//! which the module must ignore. The packet's own key must be the bytes of the
//! model's key of `IpPacket::flow`, its source-is-lower bit the model's, and the
//! lookup key the embedded flow's key for an ICMP error and the own key otherwise.

use std::collections::BTreeSet;

use ztnic_model::CtKey;
use ztnic_model::addr::v4_mapped;
use ztnic_model::parse::{Flow, IpPacket, L4, Tcp};
use ztnic_rtl_sim::unit::{Error, ModuleSim};
use ztnic_verilator_tests::Rng;
use ztnic_verilator_tests::phv::Layout;

fn addr(rng: &mut Rng, v6: bool, other: u128) -> u128 {
    if rng.chance(1, 6) {
        return other;
    }
    if v6 {
        u128::from(rng.next_u64()) << 64 | u128::from(rng.next_u64())
    } else {
        v4_mapped(rng.below(4) as u32 | (rng.next_u64() as u32 & 0xff00_0000))
    }
}

fn port(rng: &mut Rng, other: u16) -> u16 {
    match rng.below(4) {
        0 => other,
        1 => rng.below(3) as u16,
        _ => rng.next_u64() as u16,
    }
}

/// The key's 39 bytes as the module's 312-bit output holds them (byte 0 at the top).
fn key_bits(m: &mut ModuleSim, port: &str) -> Result<Vec<u8>, Error> {
    let mut b = m.get_bytes_le(port)?;
    b.reverse();
    Ok(b)
}

#[test]
fn ct_keys_match_the_model() -> Result<(), Error> {
    let l = Layout::load();
    let mut m = ModuleSim::build("ztnic_ct_key", &[])?;
    let mut rng = Rng::new(0xc74e_0013);
    let mut seen = BTreeSet::new();
    for _ in 0..30_000 {
        let v6 = rng.chance(1, 2);
        let src = addr(&mut rng, v6, 0);
        let dst = addr(&mut rng, v6, src);
        let zone = if rng.chance(1, 2) {
            rng.below(3) as u16
        } else {
            rng.next_u64() as u16
        };
        let sp = port(&mut rng, 0);
        let dp = port(&mut rng, sp);
        let esrc = addr(&mut rng, v6, dst);
        let edst = addr(&mut rng, v6, esrc);
        let esp = port(&mut rng, 0);
        let edp = port(&mut rng, esp);
        let embedded = Flow {
            v6,
            src: esrc,
            dst: edst,
            proto: [6, 17, 1, 58][rng.below(4) as usize],
            sport: esp,
            dport: edp,
        };
        let which = rng.below(7);
        let (l4, kind, proto) = match which {
            0 => (
                L4::Tcp(Tcp {
                    sport: sp,
                    dport: dp,
                    seq: 0,
                    ack: 0,
                    flags: 0,
                    window: 0,
                    payload_len: 0,
                }),
                "K_TCP",
                6,
            ),
            1 => (
                L4::Udp {
                    sport: sp,
                    dport: dp,
                    payload: (0, 0),
                },
                "K_UDP",
                17,
            ),
            2 | 3 => (
                L4::IcmpEcho {
                    request: which == 2,
                    id: sp,
                },
                if which == 2 {
                    "K_ECHO_REQ"
                } else {
                    "K_ECHO_REP"
                },
                if v6 { 58 } else { 1 },
            ),
            4 => (
                L4::IcmpError { embedded },
                "K_ICMP_ERR",
                if v6 { 58 } else { 1 },
            ),
            5 => (
                L4::IcmpOther { icmp_type: 13 },
                "K_ICMP_OTHER",
                if v6 { 58 } else { 1 },
            ),
            _ => (L4::Other, "K_OTHER", 47),
        };
        let pkt = IpPacket {
            v6,
            src,
            dst,
            proto,
            l4,
        };
        // the fields a kind does not use carry random values
        let (sport_in, dport_in, echo_in) = match l4 {
            L4::Tcp(_) | L4::Udp { .. } => (sp, dp, rng.next_u64() as u16),
            L4::IcmpEcho { id, .. } => (rng.next_u64() as u16, rng.next_u64() as u16, id),
            _ => (
                rng.next_u64() as u16,
                rng.next_u64() as u16,
                rng.next_u64() as u16,
            ),
        };
        m.set_u64("kind", l.p(kind) as u64)?;
        m.set_u64("zone", zone.into())?;
        m.set_u64("proto", proto.into())?;
        m.set_bytes_le("src", &src.to_le_bytes())?;
        m.set_bytes_le("dst", &dst.to_le_bytes())?;
        m.set_u64("sport", sport_in.into())?;
        m.set_u64("dport", dport_in.into())?;
        m.set_u64("echo", echo_in.into())?;
        m.set_u64("eproto", embedded.proto.into())?;
        m.set_bytes_le("esrc", &esrc.to_le_bytes())?;
        m.set_bytes_le("edst", &edst.to_le_bytes())?;
        m.set_u64("esp", esp.into())?;
        m.set_u64("edp", edp.into())?;
        m.eval()?;

        let (own, src_lo) = CtKey::of_flow(zone, &pkt.flow());
        let lookup = match l4 {
            L4::IcmpError { embedded } => CtKey::of_flow(zone, &embedded).0,
            _ => own,
        };
        let ctx = format!("{pkt:?} zone {zone}");
        assert_eq!(key_bits(&mut m, "m_okey")?, own.bytes(), "own key of {ctx}");
        assert_eq!(m.get_bool("m_srclo")?, src_lo, "src_lo of {ctx}");
        assert_eq!(
            key_bits(&mut m, "m_key")?,
            lookup.bytes(),
            "lookup key of {ctx}"
        );
        seen.insert((kind, src_lo, lookup != own));
    }
    // every kind, each way round; ICMP errors look up another key
    for kind in ["K_TCP", "K_UDP", "K_ECHO_REQ", "K_ECHO_REP", "K_ICMP_ERR"] {
        for lo in [false, true] {
            assert!(
                seen.iter().any(|s| s.0 == kind && s.1 == lo),
                "{kind} src_lo {lo} never seen"
            );
        }
    }
    assert!(seen.contains(&("K_ICMP_ERR", true, true)));
    assert!(seen.iter().any(|s| s.0 == "K_OTHER"));
    assert!(seen.iter().any(|s| s.0 == "K_ICMP_OTHER"));
    Ok(())
}
