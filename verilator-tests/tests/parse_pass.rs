//! `rtl/ztnic_parse_pass.v` alone (the outer pass: L2 → L3 → L4 and the tunnel header)
//! against the model's parser, `ztnic_model::parse::parse_frame` and `parse_tunnel`, on
//! the frames every shared scenario sends and on thousands of variants of them (cut at
//! a random length, random header bytes changed with the IPv4 checksum made right again
//! or not, random bytes), each arriving once on a vport and once on an uplink (where
//! Geneve / VXLAN are recognised against the scenario's local VTEP).
//!
//! For every packet the pass's PHV must hold what the model found: a drop or punt with
//! the model's reason code, or the addresses, protocol, L4 kind and fields (TCP
//! sequence, acknowledgement, flags, window and payload length; UDP ports; the ICMP echo
//! identifier), the tunnel's tag and inner frame; the header it hands on (`m_rem`) must
//! start at the parse offset it reports; the fields it does not own pass through. The
//! pipeline advances (`adv`) with random gaps, with bubbles between packets, and each
//! packet comes out exactly four advancing clocks after it went in.
//!
//! The flow embedded in an ICMP error is parsed by a later stage, not this module: where
//! the model refuses an ICMP error for its embedded packet (`icmp_truncated`,
//! `icmp_malformed`), the pass must have classed the packet as an ICMP error and left it
//! undecided.

use std::collections::VecDeque;

use ztnic_model::addr::v4_mapped;
use ztnic_model::parse::{IpPacket, L4, Stop, Tag, ipv4_checksum_fold, parse_frame, parse_tunnel};
use ztnic_model::reason::DropReason;
use ztnic_rtl_sim::unit::{Error, ModuleSim};
use ztnic_scenario::{load_all, scenarios_dir};
use ztnic_verilator_tests::Rng;
use ztnic_verilator_tests::phv::{Bits, Layout, pass_input};

/// Advancing clocks from a packet in to its PHV out.
const LATENCY: usize = 4;
/// Bytes of header the engine captures (the module's default HDR_BYTES).
const HDR_BYTES: usize = 320;

/// One packet: the frame, whether it arrives on an uplink, the local VTEP.
#[derive(Clone)]
struct Packet {
    what: String,
    frame: Vec<u8>,
    uplink: bool,
    vtep: u32,
    port: u16,
}

/// Makes an IPv4 header's checksum right, if the frame has one that fits.
fn fix_ipv4_checksum(f: &mut [u8]) {
    let mut off = 12;
    let mut tags = 0;
    while off + 2 <= f.len() && matches!(u16::from_be_bytes([f[off], f[off + 1]]), 0x8100 | 0x88a8)
    {
        off += 4;
        tags += 1;
        if tags > 2 {
            return;
        }
    }
    if off + 2 > f.len() || u16::from_be_bytes([f[off], f[off + 1]]) != 0x0800 {
        return;
    }
    let l3 = off + 2;
    let Some(&b0) = f.get(l3) else {
        return;
    };
    let ihl = usize::from(b0 & 0x0f) * 4;
    if ihl < 20 || l3 + ihl > f.len() {
        return;
    }
    f[l3 + 10] = 0;
    f[l3 + 11] = 0;
    let c = !ipv4_checksum_fold(&f[l3..l3 + ihl]);
    f[l3 + 10..l3 + 12].copy_from_slice(&c.to_be_bytes());
}

/// The L3 offset and ethertype after up to two VLAN tags.
fn l3_of(f: &[u8]) -> Option<(usize, u16)> {
    let mut off = 12;
    for _ in 0..3 {
        let et = u16::from_be_bytes([*f.get(off)?, *f.get(off + 1)?]);
        if et != 0x8100 && et != 0x88a8 {
            return Some((off + 2, et));
        }
        off += 4;
    }
    None
}

/// Protocol numbers and IPv6 next headers the parser treats differently.
const PROTOS: [u8; 17] = [
    0, 1, 4, 6, 17, 41, 43, 44, 50, 51, 58, 60, 135, 139, 140, 253, 254,
];

/// One change to a header field the parser judges (protocol, lengths, ICMP type, TCP
/// data offset and flags, fragment bits, UDP ports, VLAN tags); false if the frame has no
/// such field.
fn mutate_field(rng: &mut Rng, f: &mut Vec<u8>) -> bool {
    let Some((l3, et)) = l3_of(f) else {
        return false;
    };
    let v6 = et == 0x86dd;
    let ihl = if v6 {
        40
    } else {
        f.get(l3).map_or(20, |b| usize::from(b & 0x0f) * 4)
    };
    let l4 = l3 + ihl;
    let put = |f: &mut Vec<u8>, at: usize, b: &[u8]| {
        if at + b.len() <= f.len() {
            f[at..at + b.len()].copy_from_slice(b);
            true
        } else {
            false
        }
    };
    match rng.below(9) {
        0 => {
            let proto = PROTOS[rng.below(PROTOS.len() as u64) as usize];
            put(f, l3 + if v6 { 6 } else { 9 }, &[proto])
        }
        1 => {
            // a shorter IP length: odd payloads, L4 headers cut inside
            let at = l3 + if v6 { 4 } else { 2 };
            let Some(cur) = f.get(at..at + 2).map(|b| u16::from_be_bytes([b[0], b[1]])) else {
                return false;
            };
            let new = rng.below(u64::from(cur) + 1) as u16;
            put(f, at, &new.to_be_bytes())
        }
        2 => {
            // ICMP type, or the first L4 byte
            let ty = if rng.chance(1, 2) {
                rng.next_u64() as u8
            } else {
                [0, 3, 4, 5, 8, 11, 12, 1, 2, 128, 129, 133, 137, 138][rng.below(14) as usize]
            };
            put(f, l4, &[ty])
        }
        3 => put(f, l4 + 12, &[rng.next_u64() as u8]),
        4 => put(f, l4 + 13, &[rng.next_u64() as u8]),
        5 => put(
            f,
            l3 + 6,
            &[[0x40, 0x20, 0x00, 0x01, 0x80][rng.below(5) as usize], 0],
        ),
        6 => {
            let len = rng.below(64) as u16;
            put(f, l4 + 4, &len.to_be_bytes())
        }
        7 => {
            let port: u16 = [6081, 4789, 53, 80][rng.below(4) as usize];
            put(f, l4 + 2, &port.to_be_bytes())
        }
        _ => {
            if f.len() < 14 {
                return false;
            }
            let tpid: [u8; 2] = if rng.chance(1, 2) {
                [0x81, 0x00]
            } else {
                [0x88, 0xa8]
            };
            f.splice(12..12, [tpid[0], tpid[1], 0x00, 0x05]);
            true
        }
    }
}

fn packets() -> Vec<Packet> {
    let scenarios = load_all(&scenarios_dir()).expect("the shared scenarios load");
    let mut base = Vec::new();
    for s in &scenarios {
        let vtep = u32::from(s.config.local_vtep_ip);
        for (i, step) in s.steps.iter().enumerate() {
            if let Some(send) = &step.send {
                for uplink in [false, true] {
                    base.push(Packet {
                        what: format!("{} step {i}", s.id),
                        frame: send.frame.clone(),
                        uplink,
                        vtep,
                        port: send.port,
                    });
                }
            }
        }
    }
    assert!(base.len() > 100, "only {} scenario frames", base.len());
    let mut rng = Rng::new(0x9a55);
    let mut all = base.clone();
    for n in 0..8000 {
        let b = &base[rng.below(base.len() as u64) as usize];
        let mut p = b.clone();
        match rng.below(6) {
            3 | 4 => {
                let edits = 1 + rng.below(2);
                for _ in 0..edits {
                    mutate_field(&mut rng, &mut p.frame);
                }
                if rng.chance(9, 10) {
                    fix_ipv4_checksum(&mut p.frame);
                }
                p.what = format!("{} with {edits} header field(s) changed (#{n})", b.what);
            }
            0 => {
                let cut = rng.below(p.frame.len() as u64 + 1) as usize;
                p.frame.truncate(cut);
                p.what = format!("{} cut at {cut}", b.what);
            }
            1 | 2 => {
                let edits = 1 + rng.below(3);
                for _ in 0..edits {
                    let span = p.frame.len().clamp(1, 96);
                    let at = rng.below(span as u64) as usize;
                    if at < p.frame.len() {
                        p.frame[at] = rng.next_u64() as u8;
                    }
                }
                if rng.chance(2, 3) {
                    fix_ipv4_checksum(&mut p.frame);
                }
                p.what = format!("{} with {edits} byte(s) changed (#{n})", b.what);
            }
            _ => {
                let len = rng.below(200) as usize;
                let keep = rng.below(40) as usize;
                p.frame = p.frame.iter().copied().take(keep.min(len)).collect();
                while p.frame.len() < len {
                    p.frame.push(rng.next_u64() as u8);
                }
                fix_ipv4_checksum(&mut p.frame);
                p.what = format!(
                    "{} first {keep} bytes then random, {len} bytes (#{n})",
                    b.what
                );
            }
        }
        all.push(p);
    }
    all
}

/// Checks one packet's output PHV and header against the model.
fn check(l: &Layout, p: &Packet, phv: &Bits, rem: &[u8]) -> Result<(), String> {
    let f = |name: &str, w: usize| phv.get(l.p(name), w);
    let (done, vk, why) = (f("F_DONE", 1), f("F_VK", 2), f("F_WHY", 8));
    let kind = f("F_KIND", 3);
    let k = |name: &str| l.p(name) as u128;
    let mut errors = Vec::new();
    let mut expect = |what: &str, got: u128, want: u128| {
        if got != want {
            errors.push(format!("{what}: RTL {got:#x}, model {want:#x}"));
        }
    };
    // the fields the pass does not own
    expect("F_LEN", f("F_LEN", 16), p.frame.len() as u128);
    expect("F_PORT", f("F_PORT", 16), u128::from(p.port));

    let stop = |errors: &mut Vec<String>, s: Stop| {
        let (want_vk, want_why) = match s {
            Stop::Drop(d) => (k("V_DROP"), u128::from(d.code())),
            Stop::Punt(r) => (k("V_PUNT"), u128::from(r.code())),
        };
        if (done, vk, why) != (1, want_vk, want_why) {
            errors.push(format!(
                "verdict: RTL done {done} kind {vk} reason {why}, model {s:?} (kind {want_vk} reason {want_why})"
            ));
        }
    };
    let model = parse_frame(&p.frame);
    match model {
        Err(Stop::Drop(DropReason::IcmpTruncated | DropReason::IcmpMalformed))
            if done == 0 && kind == k("K_ICMP_ERR") =>
        {
            // the embedded flow is the next stage's: the pass classed it an ICMP error
        }
        Err(s) => stop(&mut errors, s),
        Ok(pkt) => {
            let tunnel = if p.uplink {
                parse_tunnel(&p.frame, &pkt, v4_mapped(p.vtep))
            } else {
                Ok(None)
            };
            match tunnel {
                Err(s) => stop(&mut errors, s),
                Ok(t) => {
                    expect("F_DONE", done, 0);
                    compare_packet(l, phv, &pkt, &mut expect);
                    match t {
                        None => {
                            expect("F_TUN", f("F_TUN", 2), k("TUN_NONE"));
                            expect("F_INNER", f("F_INNER", 1), 0);
                        }
                        Some(t) => {
                            let (tun, ctx, epoch, mac) = match t.tag {
                                Tag::Geneve { ctx, epoch, mac } => {
                                    (k("TUN_GENEVE"), ctx, epoch, mac)
                                }
                                Tag::Gbp { gpid } => (k("TUN_GBP"), u32::from(gpid), 0, 0),
                                Tag::Untagged => (k("TUN_UNTAGGED"), 0, 0, 0),
                            };
                            expect("F_TUN", f("F_TUN", 2), tun);
                            expect("F_TCTX", f("F_TCTX", 24), u128::from(ctx));
                            if tun == k("TUN_GENEVE") {
                                expect("F_TEPOCH", f("F_TEPOCH", 8), u128::from(epoch));
                                expect("F_TMAC", f("F_TMAC", 32), u128::from(mac));
                            }
                            expect("F_INNER", f("F_INNER", 1), 1);
                            expect("F_INS", f("F_INS", 16), t.inner.start as u128);
                            expect("F_INE", f("F_INE", 16), t.inner.end as u128);
                            expect("F_LIM", f("F_LIM", 16), t.inner.end as u128);
                            expect("F_OFF", f("F_OFF", 16), t.inner.start as u128);
                        }
                    }
                    // the header handed on starts at the parse offset
                    let off = f("F_OFF", 16) as usize;
                    let n = 64
                        .min(p.frame.len().saturating_sub(off))
                        .min(HDR_BYTES.saturating_sub(off));
                    if rem[..n] != p.frame[off..off + n] {
                        errors.push(format!(
                            "m_rem: {:02x?} is not the frame from offset {off}: {:02x?}",
                            &rem[..n],
                            &p.frame[off..off + n]
                        ));
                    }
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}

fn compare_packet(
    l: &Layout,
    phv: &Bits,
    pkt: &IpPacket,
    expect: &mut impl FnMut(&str, u128, u128),
) {
    let f = |name: &str, w: usize| phv.get(l.p(name), w);
    let k = |name: &str| l.p(name) as u128;
    expect("F_V6", f("F_V6", 1), u128::from(pkt.v6));
    expect("F_SRC", f("F_SRC", 128), pkt.src);
    expect("F_DST", f("F_DST", 128), pkt.dst);
    expect("F_PROTO", f("F_PROTO", 8), u128::from(pkt.proto));
    let (kind, sport, dport, echo) = match pkt.l4 {
        L4::Tcp(t) => (k("K_TCP"), t.sport, t.dport, 0),
        L4::Udp { sport, dport, .. } => (k("K_UDP"), sport, dport, 0),
        L4::IcmpEcho { request, id } => (
            if request {
                k("K_ECHO_REQ")
            } else {
                k("K_ECHO_REP")
            },
            0,
            0,
            id,
        ),
        L4::IcmpError { .. } => (k("K_ICMP_ERR"), 0, 0, 0),
        L4::IcmpOther { .. } => (k("K_ICMP_OTHER"), 0, 0, 0),
        L4::Other => (k("K_OTHER"), 0, 0, 0),
    };
    expect("F_KIND", f("F_KIND", 3), kind);
    expect("F_SPORT", f("F_SPORT", 16), u128::from(sport));
    expect("F_DPORT", f("F_DPORT", 16), u128::from(dport));
    expect("F_ECHO", f("F_ECHO", 16), u128::from(echo));
    if let L4::Tcp(t) = pkt.l4 {
        expect("F_SEQ", f("F_SEQ", 32), u128::from(t.seq));
        expect("F_ACK", f("F_ACK", 32), u128::from(t.ack));
        expect("F_FLAGS", f("F_FLAGS", 6), u128::from(t.flags));
        expect("F_WIN", f("F_WIN", 16), u128::from(t.window));
        expect("F_PAYLEN", f("F_PAYLEN", 16), u128::from(t.payload_len));
    }
    if let L4::Udp { payload, .. } = pkt.l4 {
        // L4 starts 8 bytes before the UDP payload
        expect("F_L4S", f("F_L4S", 16), (payload.0 - 8) as u128);
    }
}

#[test]
fn the_outer_pass_parses_as_the_model_does() -> Result<(), Error> {
    let l = Layout::load();
    let mut m = ModuleSim::build("ztnic_parse_pass", &[])?;
    let phv_w = l.p("PHV_W");
    assert_eq!(m.bits("s_phv")? as usize, phv_w, "PHV_W of ztnic_phv.vh");
    assert_eq!(m.bits("s_rem")? as usize, 8 * HDR_BYTES);
    let packets = packets();
    let mut rng = Rng::new(0x7a55);
    let mut next = 0;
    // packets (or bubbles) in the pipeline, oldest first
    let mut in_flight: VecDeque<Option<usize>> = VecDeque::new();
    let mut shown: Option<Option<usize>> = None;
    let (mut checked, mut drops, mut tunnels) = (0, 0, 0);
    let mut vtep_set = None;
    while checked < packets.len() {
        let adv = rng.chance(4, 5);
        let bubble = rng.chance(1, 6) || next >= packets.len();
        let input = (!bubble).then_some(next);
        if let Some(i) = input {
            let p = &packets[i];
            let (phv, hdr) = pass_input(&l, &p.frame, p.port, p.uplink, HDR_BYTES);
            m.set("s_phv", &phv.0)?;
            m.set_bytes_le("s_rem", &hdr)?;
            m.set_bool("s_valid", true)?;
            // the VTEP is a configuration input: it only changes between scenarios, and
            // every packet in flight was judged against the value it saw
            if vtep_set != Some(p.vtep) && in_flight.iter().all(Option::is_none) {
                m.set_u64("cfg_local_vtep_ip", u64::from(p.vtep))?;
                vtep_set = Some(p.vtep);
            }
        } else {
            m.set_bool("s_valid", false)?;
        }
        // hold a packet whose VTEP differs from the one set until the pipe is empty
        let input = match input {
            Some(i) if vtep_set != Some(packets[i].vtep) => {
                m.set_bool("s_valid", false)?;
                None
            }
            x => x,
        };
        m.set_bool("adv", adv)?;
        m.tick("clk")?;
        if adv {
            if let Some(i) = input {
                debug_assert_eq!(i, next);
                next += 1;
            }
            in_flight.push_back(input);
            if in_flight.len() == LATENCY {
                shown = in_flight.pop_front();
            }
        }
        assert_eq!(
            m.get_bool("busy")?,
            in_flight.iter().any(Option::is_some) || matches!(shown, Some(Some(_))),
            "busy"
        );
        let Some(out) = shown else { continue };
        assert_eq!(m.get_bool("m_valid")?, out.is_some(), "m_valid");
        if let Some(i) = out {
            if adv {
                let p = &packets[i];
                let phv = Bits(m.get("m_phv")?);
                let rem = m.get_bytes_le("m_rem")?;
                if let Err(e) = check(&l, p, &phv, &rem) {
                    panic!(
                        "packet {i} ({}, {} bytes, {}): {e}\nframe {:02x?}",
                        p.what,
                        p.frame.len(),
                        if p.uplink { "uplink" } else { "vport" },
                        p.frame
                    );
                }
                checked += 1;
                drops += phv.get(l.p("F_DONE"), 1) as usize;
                tunnels += usize::from(phv.get(l.p("F_TUN"), 2) != 0);
            }
        }
    }
    eprintln!("{checked} packets checked, {drops} decided, {tunnels} tunnels");
    // the sample reaches every outcome
    assert!(
        drops > 500 && drops < packets.len() - 500,
        "{drops} of {} decided",
        packets.len()
    );
    assert!(tunnels > 20, "{tunnels} tunnels");
    Ok(())
}
