//! `rtl/ztnic_parse_embedded.v` (the flow embedded in an ICMP error, the engine's stages
//! 8-9) against the model's parser, `ztnic_model::parse::parse_frame`, composed with
//! the header pass as in the engine: every frame goes through `ztnic_parse_pass` first
//! (its output PHV and header are this module's input), then through this module.
//!
//! Frames: every scenario frame, and thousands of ICMP and ICMPv6 errors built here —
//! the embedded header IPv4 (IHL 5 to 15, and below 5) or IPv6, a wrong version now and
//! then, TCP / UDP / ICMP echo / ICMP other / another protocol behind it, cut anywhere
//! from the ICMP header on (the outer length fields made to match, so that only the
//! embedded packet is short). For an ICMP error the module must decide exactly what the
//! model decides (`icmp_truncated`, `icmp_malformed`) or write the model's embedded flow
//! (addresses, protocol, ports or echo identifier); any other packet must leave with its
//! PHV unchanged. The pipeline advances with random gaps and bubbles, and every packet
//! comes out exactly two advancing clocks after it went in.

use std::collections::VecDeque;

use ztnic_model::parse::{L4, Stop, ipv4_checksum_fold, parse_frame};
use ztnic_model::reason::DropReason;
use ztnic_rtl_sim::unit::{Error, ModuleSim};
use ztnic_scenario::{load_all, scenarios_dir};
use ztnic_verilator_tests::Rng;
use ztnic_verilator_tests::phv::{Bits, Layout, pass_input};

/// Advancing clocks from a packet in to its PHV out.
const LATENCY: usize = 2;
/// Advancing clocks of the header pass.
const PASS_LATENCY: usize = 4;
/// Bytes of header the engine captures (the modules' default HDR_BYTES).
const HDR_BYTES: usize = 320;

fn random_bytes(rng: &mut Rng, n: usize) -> Vec<u8> {
    (0..n).map(|_| rng.next_u64() as u8).collect()
}

/// An ICMP (IPv4) or ICMPv6 error frame, its embedded packet cut short in one of three,
/// the outer lengths and checksum made to match.
fn icmp_error(rng: &mut Rng, v6: bool) -> Vec<u8> {
    let mut emb = Vec::new();
    let eproto: u8 = [6, 17, 1, 58, 47, 6, 17][rng.below(7) as usize];
    let ev6 = if rng.chance(1, 12) { !v6 } else { v6 };
    if ev6 {
        let mut h = random_bytes(rng, 40);
        h[0] = 0x60 | (h[0] & 0x0f);
        if rng.chance(1, 12) {
            h[0] = (rng.below(16) as u8) << 4;
        }
        h[6] = eproto;
        emb.extend(h);
    } else {
        let ihl = if rng.chance(1, 12) {
            rng.below(5) as usize
        } else {
            5 + rng.below(11) as usize
        };
        let mut h = random_bytes(rng, (4 * ihl).max(20));
        h[0] = 0x40 | ihl as u8;
        if rng.chance(1, 12) {
            h[0] = ((rng.below(16) as u8) << 4) | ihl as u8;
        }
        h[9] = eproto;
        emb.extend(h);
    }
    let l4_len = 8 + rng.below(24) as usize;
    let mut l4 = random_bytes(rng, l4_len);
    if eproto == 1 || eproto == 58 {
        l4[0] = [8, 0, 128, 129, 3, 11][rng.below(6) as usize];
    }
    emb.extend(l4);
    if rng.chance(1, 3) {
        let cut = rng.below(emb.len() as u64 + 1) as usize;
        emb.truncate(cut);
    }
    let mut icmp = vec![0u8; 8];
    icmp[0] = if v6 {
        1 + rng.below(4) as u8
    } else {
        [3, 4, 5, 11, 12][rng.below(5) as usize]
    };
    icmp[1] = rng.next_u64() as u8;
    icmp.extend(emb);
    let mut f = vec![0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2];
    if v6 {
        f.extend([0x86, 0xdd]);
        let mut ip = vec![0x60, 0, 0, 0];
        ip.extend((icmp.len() as u16).to_be_bytes());
        ip.extend([58, 64]);
        ip.extend(random_bytes(rng, 32));
        f.extend(ip);
    } else {
        f.extend([0x08, 0x00]);
        let mut ip = vec![0x45, 0];
        ip.extend(((20 + icmp.len()) as u16).to_be_bytes());
        ip.extend([0, 0, 0, 0, 64, 1, 0, 0]);
        ip.extend(random_bytes(rng, 8));
        let c = !ipv4_checksum_fold(&ip);
        ip[10..12].copy_from_slice(&c.to_be_bytes());
        f.extend(ip);
    }
    f.extend(icmp);
    f
}

fn frames() -> Vec<(String, Vec<u8>, u16)> {
    let scenarios = load_all(&scenarios_dir()).expect("the shared scenarios load");
    let mut all = Vec::new();
    for s in &scenarios {
        for (i, step) in s.steps.iter().enumerate() {
            if let Some(send) = &step.send {
                all.push((format!("{} step {i}", s.id), send.frame.clone(), send.port));
            }
        }
    }
    let mut rng = Rng::new(0xe3b);
    for n in 0..3000 {
        let v6 = rng.chance(1, 2);
        all.push((
            format!("ICMP{} error #{n}", if v6 { "v6" } else { "" }),
            icmp_error(&mut rng, v6),
            1,
        ));
    }
    all
}

/// The header pass's output for one frame arriving on a vport.
fn through_the_pass(
    l: &Layout,
    pass: &mut ModuleSim,
    frame: &[u8],
    port: u16,
) -> Result<(Bits, Vec<u8>), Error> {
    let (phv, hdr) = pass_input(l, frame, port, false, HDR_BYTES);
    pass.set("s_phv", &phv.0)?;
    pass.set_bytes_le("s_rem", &hdr)?;
    pass.set_bool("s_valid", true)?;
    pass.set_bool("adv", true)?;
    for _ in 0..PASS_LATENCY {
        pass.tick("clk")?;
        pass.set_bool("s_valid", false)?;
    }
    assert!(pass.get_bool("m_valid")?, "the pass's output is valid");
    Ok((Bits(pass.get("m_phv")?), pass.get_bytes_le("m_rem")?))
}

/// Checks the module's output for one frame against the model.
fn check(l: &Layout, frame: &[u8], input: &Bits, out: &Bits) -> Result<bool, String> {
    let f = |name: &str, w: usize| out.get(l.p(name), w);
    let is_err = input.get(l.p("F_DONE"), 1) == 0
        && input.get(l.p("F_KIND"), 3) == l.p("K_ICMP_ERR") as u128;
    let unchanged = |what: &str| {
        if out.0 == input.0 {
            Ok(())
        } else {
            Err(format!("{what}: the PHV changed"))
        }
    };
    match parse_frame(frame) {
        Err(Stop::Drop(d @ (DropReason::IcmpTruncated | DropReason::IcmpMalformed))) if is_err => {
            let got = (f("F_DONE", 1), f("F_VK", 2), f("F_WHY", 8));
            let want = (1, l.p("V_DROP") as u128, u128::from(d.code()));
            if got != want {
                return Err(format!("verdict {got:?}, model {d:?} {want:?}"));
            }
            Ok(true)
        }
        Ok(pkt) => match pkt.l4 {
            L4::IcmpError { embedded: e } => {
                if !is_err {
                    return Err("the pass did not class it an undecided ICMP error".into());
                }
                let mut errors = Vec::new();
                let mut expect = |what: &str, got: u128, want: u128| {
                    if got != want {
                        errors.push(format!("{what}: RTL {got:#x}, model {want:#x}"));
                    }
                };
                expect("F_DONE", f("F_DONE", 1), 0);
                // addresses are 128-bit in both (IPv4 as ::ffff:a.b.c.d)
                expect("F_ESRC", f("F_ESRC", 128), e.src);
                expect("F_EDST", f("F_EDST", 128), e.dst);
                expect("F_EPROTO", f("F_EPROTO", 8), u128::from(e.proto));
                expect("F_ESP", f("F_ESP", 16), u128::from(e.sport));
                expect("F_EDP", f("F_EDP", 16), u128::from(e.dport));
                if errors.is_empty() {
                    Ok(true)
                } else {
                    Err(errors.join("; "))
                }
            }
            _ => unchanged("not an ICMP error").map(|()| false),
        },
        Err(_) => unchanged("decided before").map(|()| false),
    }
}

#[test]
fn the_embedded_flow_is_the_models() -> Result<(), Error> {
    let l = Layout::load();
    let mut pass = ModuleSim::build("ztnic_parse_pass", &[])?;
    let mut m = ModuleSim::build("ztnic_parse_embedded", &[])?;
    assert_eq!(
        m.bits("s_phv")? as usize,
        l.p("PHV_W"),
        "PHV_W of ztnic_phv.vh"
    );
    let frames = frames();
    let mut inputs = Vec::with_capacity(frames.len());
    for (what, frame, port) in &frames {
        let (phv, rem) = through_the_pass(&l, &mut pass, frame, *port)?;
        inputs.push((what, frame, phv, rem));
    }
    let mut rng = Rng::new(0xe3b2);
    let mut next = 0;
    let mut in_flight: VecDeque<Option<usize>> = VecDeque::new();
    let (mut checked, mut errors_seen, mut decided) = (0, 0, 0);
    while checked < inputs.len() {
        let adv = rng.chance(4, 5);
        let bubble = rng.chance(1, 6) || next >= inputs.len();
        let input = (!bubble).then_some(next);
        let (phv, rem) = match input {
            Some(i) => (inputs[i].2.clone(), inputs[i].3.clone()),
            // a bubble carries whatever; it must not disturb the packets around it
            None => (Bits::zero(l.p("PHV_W")), vec![0xa5; HDR_BYTES]),
        };
        m.set("s_phv", &phv.0)?;
        m.set_bytes_le("s_rem", &rem)?;
        m.set_bool("adv", adv)?;
        m.tick("clk")?;
        if !adv {
            continue;
        }
        if input.is_some() {
            next += 1;
        }
        in_flight.push_back(input);
        if in_flight.len() < LATENCY {
            continue;
        }
        let Some(Some(i)) = in_flight.pop_front() else {
            continue;
        };
        let (what, frame, phv_in, _) = &inputs[i];
        let out = Bits(m.get("m_phv")?);
        match check(&l, frame, phv_in, &out) {
            Ok(was_err) => {
                errors_seen += usize::from(was_err);
                decided += usize::from(was_err && out.get(l.p("F_DONE"), 1) == 1);
            }
            Err(e) => panic!(
                "frame {i} ({what}, {} bytes): {e}\nframe {:02x?}",
                frame.len(),
                frame
            ),
        }
        checked += 1;
    }
    eprintln!("{checked} frames checked, {errors_seen} ICMP errors, {decided} of them refused");
    // the sample reaches every outcome
    assert!(errors_seen > 1500, "{errors_seen} ICMP errors");
    assert!(
        decided > 200 && decided < errors_seen - 200,
        "{decided} of {errors_seen} ICMP errors refused"
    );
    Ok(())
}
