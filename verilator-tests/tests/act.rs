//! `rtl/ztnic_act.v` alone against the reference model's act (the end of
//! `Datapath::tx` / `rx` in `runtime/model/src/pipeline.rs`): for random packets of
//! every kind the module decides the output port and which bytes leave, a prefix of
//! `plen` bytes and the received bytes `skip..endp`. What leaves must be what the model
//! sends: a TX packet to a local vport or natively to the uplink unchanged; a Geneve
//! or VXLAN-GBP one behind exactly the header `geneve_encap` / `vxlan_gbp_encap`
//! prepend, with the tag MAC the model writes (zero without config.auth); an RX packet
//! to its endpoint's vport, a tunnelled one as the inner frame the model's encap
//! wrapped; a punted one as received, behind the 4-byte punt header, to the CPU port.
//! Packets decided earlier (drops, packet_out mode 0) leave with their fields as they
//! are. Frames come with and without the 4-byte packet_out header in front.

use std::net::Ipv4Addr;

use ztnic_model::Config;
use ztnic_model::tag::{geneve_encap, tunnel_sport, vxlan_gbp_encap};
use ztnic_rtl_sim::unit::{Error, ModuleSim};
use ztnic_verilator_tests::Rng;
use ztnic_verilator_tests::phv::Layout;

fn bytes(rng: &mut Rng, n: usize) -> Vec<u8> {
    (0..n).map(|_| rng.next_u64() as u8).collect()
}

/// The module's decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Out {
    oport: u16,
    plen: usize,
    skip: usize,
    endp: usize,
    mac: u32,
}

#[test]
fn what_leaves_is_what_the_model_sends() -> Result<(), Error> {
    let l = Layout::load();
    let code = |n: &str| l.p(n) as u64;
    let mut m = ModuleSim::build("ztnic_act", &[])?;
    let mut rng = Rng::new(0xac7_0001);
    let mut seen = [0usize; 8];
    for case in 0..3000 {
        let cfg = Config {
            uplink_port: rng.below(256) as u16,
            cpu_port: 256 + rng.below(256) as u16,
            auth: rng.chance(1, 2),
            ..Config::default()
        };
        let vport = 1 + rng.below(200) as u16;
        let frame_len = 42 + rng.below(300) as usize;
        let frame = bytes(&mut rng, frame_len);
        // the bytes as captured: a packet_out header (mode 1) in front now and then
        let pre = if rng.chance(1, 4) { 4 } else { 0 };
        let tag_mac = rng.next_u64() as u32;
        let vtep = Ipv4Addr::from(rng.next_u64() as u32);
        let (ctx, epoch, h16) = (
            rng.below(1 << 24) as u32,
            rng.next_u64() as u8,
            rng.next_u64() as u16,
        );
        let kind = case % 8;
        seen[kind] += 1;
        // what the earlier stages hand act, with junk where act must not look
        let mut done = false;
        let mut vk = code("V_FWD");
        let mut cls = u64::from(ztnic_fpga::regmap::port_class_enum::VPORT);
        let mut act = code("A_LOCAL");
        let mut tun = code("TUN_NONE");
        let (mut ins, mut ine) = (
            rng.next_u64() as u16 as usize,
            rng.next_u64() as u16 as usize,
        );
        let mut raw: Vec<u8> = bytes(&mut rng, pre);
        let oport_in = rng.next_u64() as u16;
        // stage 1 starts every packet without a prefix
        let plen_in = if kind == 7 {
            rng.below(128) as usize
        } else {
            0
        };
        // the model's output (port, frame, prefix length) or None: fields unchanged
        let want: Option<(u16, Vec<u8>, usize)> = match kind {
            0 | 1 => {
                // TX to a local vport / natively out of the uplink: the frame unchanged
                raw.extend_from_slice(&frame);
                act = code(if kind == 0 { "A_LOCAL" } else { "A_NATIVE" });
                let port = if kind == 0 { vport } else { cfg.uplink_port };
                Some((port, frame.clone(), 0))
            }
            2 | 3 => {
                // TX into a tunnel: the model's header, then the frame
                raw.extend_from_slice(&frame);
                let sport = tunnel_sport(h16);
                let out = if kind == 2 {
                    act = code("A_GENEVE");
                    let mac = if cfg.auth { tag_mac } else { 0 };
                    geneve_encap(&cfg, vtep, sport, (ctx, epoch, mac), &frame)
                } else {
                    act = code("A_GBP");
                    vxlan_gbp_encap(&cfg, vtep, sport, ctx as u16, &frame)
                };
                let hl = out.len() - frame.len();
                Some((cfg.uplink_port, out, hl))
            }
            4 | 5 => {
                // RX: native, or a tunnel the model's encap built around the frame
                cls = u64::from(ztnic_fpga::regmap::port_class_enum::UPLINK);
                if kind == 4 {
                    raw.extend_from_slice(&frame);
                } else {
                    let outer = match rng.below(3) {
                        0 => {
                            tun = code("TUN_GENEVE");
                            geneve_encap(&cfg, vtep, 0xc000, (ctx, epoch, tag_mac), &frame)
                        }
                        1 => {
                            tun = code("TUN_GBP");
                            vxlan_gbp_encap(&cfg, vtep, 0xc000, ctx as u16, &frame)
                        }
                        _ => {
                            tun = code("TUN_UNTAGGED");
                            vxlan_gbp_encap(&cfg, vtep, 0xc000, 0, &frame)
                        }
                    };
                    ins = pre + outer.len() - frame.len();
                    ine = pre + outer.len();
                    raw.extend_from_slice(&outer);
                    // padding after the outer packet now and then: not the inner frame's
                    let pad_len = rng.below(2) as usize * 8;
                    let pad = bytes(&mut rng, pad_len);
                    raw.extend_from_slice(&pad);
                }
                Some((vport, frame.clone(), 0))
            }
            6 => {
                // punted (by any stage): the packet as received, to the CPU
                done = true;
                vk = code("V_PUNT");
                cls = rng.below(4);
                act = rng.below(4);
                tun = rng.below(4);
                raw.extend_from_slice(&frame);
                // the 4-byte punt header (the engine writes it), then the model's frame
                let mut out = vec![0; 4];
                out.extend_from_slice(&frame);
                Some((cfg.cpu_port, out, 4))
            }
            _ => {
                // decided earlier: dropped, or a packet_out of mode 0
                done = true;
                vk = code(if rng.chance(1, 2) { "V_DROP" } else { "V_FWD" });
                cls = rng.below(4);
                act = rng.below(4);
                tun = rng.below(4);
                raw.extend_from_slice(&frame);
                None
            }
        };
        let len = raw.len();
        // stage 1 sets skip past a packet_out header, the end at the frame's length
        let (skip_in, endp_in) = if kind == 7 {
            (rng.below(64) as usize, rng.next_u64() as u16 as usize)
        } else {
            (pre, len)
        };
        for (port, v) in [
            ("cfg_uplink_port", u64::from(cfg.uplink_port)),
            ("cfg_cpu_port", u64::from(cfg.cpu_port)),
            ("cfg_auth", u64::from(cfg.auth)),
            ("done", u64::from(done)),
            ("vk", vk),
            ("cls", cls),
            ("act", act),
            ("tun", tun),
            ("ovport", u64::from(vport)),
            ("pre", pre as u64),
            ("len", len as u64),
            ("ins", ins as u64),
            ("ine", ine as u64),
            ("oport", u64::from(oport_in)),
            ("plen", plen_in as u64),
            ("skip", skip_in as u64),
            ("endp", endp_in as u64),
            ("mac", u64::from(tag_mac)),
        ] {
            m.set_u64(port, v)?;
        }
        m.eval()?;
        let got = Out {
            oport: m.get_u64("m_oport")? as u16,
            plen: m.get_u64("m_plen")? as usize,
            skip: m.get_u64("m_skip")? as usize,
            endp: m.get_u64("m_endp")? as usize,
            mac: m.get_u64("m_mac")? as u32,
        };
        let what = format!("case {case} (kind {kind}, pre {pre}, auth {})", cfg.auth);
        match want {
            None => assert_eq!(
                got,
                Out {
                    oport: oport_in,
                    plen: plen_in,
                    skip: skip_in,
                    endp: endp_in,
                    mac: tag_mac,
                },
                "{what}: a decided packet's fields must pass"
            ),
            Some((port, out, hl)) => {
                assert_eq!(
                    (got.oport, got.plen),
                    (port, hl),
                    "{what}: output port / prefix bytes"
                );
                assert!(got.skip <= got.endp && got.endp <= len, "{what}: {got:?}");
                assert_eq!(
                    &raw[got.skip..got.endp],
                    &out[hl..],
                    "{what}: the bytes after the prefix"
                );
                if kind == 2 {
                    // the tag MAC the model wrote (last 4 bytes of the Geneve option)
                    let mac = u32::from_be_bytes([out[58], out[59], out[60], out[61]]);
                    assert_eq!(got.mac, mac, "{what}: tag MAC");
                } else if cls != u64::from(ztnic_fpga::regmap::port_class_enum::VPORT) {
                    assert_eq!(got.mac, tag_mac, "{what}: the MAC field passes");
                }
            }
        }
    }
    assert!(seen.iter().all(|&n| n == 375), "{seen:?}");
    Ok(())
}
