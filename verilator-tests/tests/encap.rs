//! `rtl/ztnic_encap.v` alone against the reference model's tunnel headers: for random
//! configurations (MACs, VTEP address, VNI), remote VTEPs, contexts, epochs, tag MACs,
//! flow hashes and inner frame lengths (up to the 16-bit wrap of the length fields),
//! the module's header must be the first 62 bytes `ztnic_model::tag::geneve_encap`
//! writes (Geneve with the ztnic option) or the first 50 of `vxlan_gbp_encap`
//! (VXLAN-GBP, the group policy id the context's low 16 bits), the UDP source port
//! the model's `tunnel_sport`, and every byte after the header zero. Half the cases
//! pick the remote VTEP so that the outer checksum's sum carries twice.

use std::net::Ipv4Addr;

use ztnic_model::Config;
use ztnic_model::config::MacAddr;
use ztnic_model::tag::{geneve_encap, tunnel_sport, vxlan_gbp_encap};
use ztnic_rtl_sim::unit::{Error, ModuleSim};
use ztnic_verilator_tests::Rng;

fn mac48(m: MacAddr) -> u64 {
    m.0.iter().fold(0, |a, &b| a << 8 | u64::from(b))
}

fn random_mac(rng: &mut Rng) -> MacAddr {
    let b = rng.next_u64().to_be_bytes();
    MacAddr([b[0], b[1], b[2], b[3], b[4], b[5]])
}

/// Whether the outer IPv4 header's one's-complement sum (the checksum field zero)
/// carries out of 16 bits again after its first fold: the corner the checksum's
/// second fold is for. Only picks inputs; the expected header is the model's.
fn folds_twice(cfg: &Config, vtep: u32, ip_len: u16) -> bool {
    let src = u32::from(cfg.local_vtep_ip);
    let s = 0x4500
        + u32::from(ip_len)
        + 0x4000
        + 0x4011
        + (src >> 16)
        + (src & 0xffff)
        + (vtep >> 16)
        + (vtep & 0xffff);
    (s & 0xffff) + (s >> 16) > 0xffff
}

#[test]
fn the_header_is_the_one_the_model_writes() -> Result<(), Error> {
    let mut m = ModuleSim::build("ztnic_encap", &[])?;
    let mut rng = Rng::new(0xe9ca_9001);
    let (mut geneve, mut vxlan, mut wrapped, mut carries) = (0, 0, 0, 0);
    for i in 0..2000 {
        let cfg = Config {
            local_mac: random_mac(&mut rng),
            gateway_mac: random_mac(&mut rng),
            local_vtep_ip: Ipv4Addr::from(rng.next_u64() as u32),
            vni: rng.below(1 << 24) as u32,
            ..Config::default()
        };
        let ctx = rng.below(1 << 24) as u32;
        let epoch = rng.next_u64() as u8;
        let tag_mac = rng.next_u64() as u32;
        let h16 = rng.next_u64() as u16;
        let inner_len = match rng.below(8) {
            0 => 65535 - rng.below(80) as usize,
            1 => rng.below(64) as usize,
            _ => rng.below(9600) as usize,
        };
        let is_geneve = i % 2 == 0;
        let hl = if is_geneve { 62 } else { 50 };
        let mut vtep = rng.next_u64() as u32;
        if i % 4 >= 2 {
            // the checksum's corner: a sum whose first fold carries again
            let ip_len = (inner_len + hl - 14) as u16;
            vtep = (0..=u32::from(u16::MAX))
                .map(|lo| vtep & 0xffff_0000 | lo.wrapping_add(vtep) & 0xffff)
                .find(|&v| folds_twice(&cfg, v, ip_len))
                .unwrap_or(vtep);
            if folds_twice(&cfg, vtep, ip_len) {
                carries += 1;
            }
        }
        let vtep = Ipv4Addr::from(vtep);
        m.set_u64("cfg_local_vtep_ip", u32::from(cfg.local_vtep_ip).into())?;
        m.set_u64("cfg_local_mac", mac48(cfg.local_mac))?;
        m.set_u64("cfg_gateway_mac", mac48(cfg.gateway_mac))?;
        m.set_u64("cfg_vni", cfg.vni.into())?;
        m.set_bool("geneve", is_geneve)?;
        m.set_u64("vtep", u32::from(vtep).into())?;
        m.set_u64("ctx", ctx.into())?;
        m.set_u64("epoch", epoch.into())?;
        m.set_u64("mac", tag_mac.into())?;
        m.set_u64("h16", h16.into())?;
        m.set_u64("inner_len", inner_len as u64)?;
        m.eval()?;
        let got = m.get_bytes_le("hdr")?;

        // the inner frame's bytes follow the header: distinct from zero, so that a
        // header cut short shows
        let inner = vec![0xa5u8; inner_len];
        let sport = tunnel_sport(h16);
        let (want, hl) = if is_geneve {
            geneve += 1;
            (
                geneve_encap(&cfg, vtep, sport, (ctx, epoch, tag_mac), &inner),
                62,
            )
        } else {
            vxlan += 1;
            (vxlan_gbp_encap(&cfg, vtep, sport, ctx as u16, &inner), 50)
        };
        if inner_len + hl - 14 > 0xffff {
            wrapped += 1;
        }
        assert_eq!(
            &got[..hl],
            &want[..hl],
            "case {i}: geneve={is_geneve} inner {inner_len} bytes: header differs"
        );
        assert!(
            got[hl..].iter().all(|&b| b == 0),
            "case {i}: bytes after the {hl}-byte header: {:x?}",
            &got[hl..]
        );
    }
    assert!(
        geneve == 1000 && vxlan == 1000 && wrapped > 20 && carries > 500,
        "{wrapped} wrapped lengths, {carries} checksums folded twice"
    );
    Ok(())
}
