//! `rtl/ztnic_tag_msg.v` (the engine's stage 14: the tag MAC's message) alone against
//! the model's `ztnic_model::tag::tag_message`, the bytes `tag_mac` hashes.
//!
//! Random inner packets (IPv4 v4-mapped and IPv6; TCP, UDP, ICMP and other protocols)
//! of a vport (tagged with the source context and its ctx_epoch epoch) or of an
//! uplink (checked against the tag's context and epoch), the other pair random: the
//! module's message must be the model's bytes for the context and epoch the model
//! uses in that direction, its length the model's, the bytes past it zero; and
//! SipHash-2-4 of those bytes under a random key must be the model's `tag_mac`. The
//! ports given are the parsed ones (the parser zeroes them for other protocols).

use std::hash::Hasher;

use siphasher::sip::SipHasher24;
use ztnic_model::addr::v4_mapped;
use ztnic_model::config::AuthKey;
use ztnic_model::parse::{IpPacket, L4, Tcp};
use ztnic_model::tag::{tag_mac, tag_message};
use ztnic_rtl_sim::unit::{Error, ModuleSim};
use ztnic_verilator_tests::Rng;
use ztnic_verilator_tests::phv::Layout;

fn addr(rng: &mut Rng, v6: bool) -> u128 {
    if v6 {
        u128::from(rng.next_u64()) << 64 | u128::from(rng.next_u64())
    } else {
        v4_mapped(rng.next_u64() as u32)
    }
}

#[test]
fn tag_message_matches_the_model() -> Result<(), Error> {
    let l = Layout::load();
    let mut m = ModuleSim::build("ztnic_tag_msg", &[])?;
    let mut rng = Rng::new(0x7a9_0014);
    let (mut v4, mut v6n, mut tx) = (0, 0, 0);
    for _ in 0..20_000 {
        let v6 = rng.chance(1, 2);
        let (sp, dp) = (rng.next_u64() as u16, rng.next_u64() as u16);
        let (l4, proto) = match rng.below(4) {
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
                6,
            ),
            1 => (
                L4::Udp {
                    sport: sp,
                    dport: dp,
                    payload: (0, 0),
                },
                17,
            ),
            2 => (
                L4::IcmpEcho {
                    request: true,
                    id: sp,
                },
                if v6 { 58 } else { 1 },
            ),
            _ => (L4::Other, rng.next_u64() as u8),
        };
        let pkt = IpPacket {
            v6,
            src: addr(&mut rng, v6),
            dst: addr(&mut rng, v6),
            proto,
            l4,
        };
        let cls = [
            "PORT_CLASS_VPORT",
            "PORT_CLASS_VPORT",
            "PORT_CLASS_UPLINK",
            "PORT_CLASS_CPU",
        ][rng.below(4) as usize];
        let (sctx, tctx) = (
            rng.next_u64() as u32 & 0xff_ffff,
            rng.next_u64() as u32 & 0xff_ffff,
        );
        let (ce_epoch, tepoch) = (rng.next_u64() as u8, rng.next_u64() as u8);
        let (sport, dport) = pkt.l4_ports();

        m.set_u64("cls", l.p(cls) as u64)?;
        m.set_u64("sctx", sctx.into())?;
        m.set_u64("ce_epoch", ce_epoch.into())?;
        m.set_u64("tctx", tctx.into())?;
        m.set_u64("tepoch", tepoch.into())?;
        m.set_bool("v6", v6)?;
        m.set_bytes_le("src", &pkt.src.to_le_bytes())?;
        m.set_bytes_le("dst", &pkt.dst.to_le_bytes())?;
        m.set_u64("proto", proto.into())?;
        m.set_u64("sport", sport.into())?;
        m.set_u64("dport", dport.into())?;
        m.eval()?;

        let (ctx, epoch) = if cls == "PORT_CLASS_VPORT" {
            tx += 1;
            (sctx, ce_epoch)
        } else {
            (tctx, tepoch)
        };
        let want = tag_message(ctx, epoch, &pkt);
        let len = m.get_u64("m_len")? as usize;
        let msg = m.get_bytes_le("m_msg")?;
        let what = format!("{pkt:?} {cls} ctx {ctx:#x} epoch {epoch}");
        assert_eq!(len, want.len(), "length of {what}");
        assert_eq!(&msg[..len], &want[..], "message of {what}");
        assert!(
            msg[len..].iter().all(|&b| b == 0),
            "bytes past the message of {what}"
        );

        let mut k = [0u8; 16];
        k.iter_mut().for_each(|b| *b = rng.next_u64() as u8);
        let mut h = SipHasher24::new_with_key(&k);
        h.write(&msg[..len]);
        assert_eq!(
            h.finish() as u32,
            tag_mac(&AuthKey(k), ctx, epoch, &pkt),
            "MAC of {what}"
        );
        if v6 {
            v6n += 1;
        } else {
            v4 += 1;
        }
    }
    assert!(v4 > 1000 && v6n > 1000 && tx > 1000 && tx < 19_000);
    Ok(())
}
