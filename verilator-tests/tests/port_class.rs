//! `rtl/ztnic_port_class.v` (the engine's stage 1: port class and packet_out) alone
//! against the model's `ztnic_model::pipeline::ingress_class`.
//!
//! The module's port_class table and a model `Tables` take the same random writes
//! (classes set, changed and cleared, ports inside the table), written through the
//! module's control port and read back at random indexes. Random frames arrive on
//! ports with and without a class and beyond the table (vports, uplinks, the CPU
//! port); the CPU's carry a packet_out header naming a port of any kind and a mode of
//! 0, 1 or another, now and then shorter than 4 bytes; some are cut as oversize. The
//! module's verdict must be the model's drop reason, its mode-0 forward the model's
//! output port and payload (skip 4), and a packet that goes on must have the class
//! (vport: TX, uplink: RX), the port and the payload offset the model runs it with.
//! Every outcome must occur.

use std::collections::BTreeSet;

use ztnic_model::DropReason;
use ztnic_model::pipeline::{Ingress, ingress_class};
use ztnic_model::tables::{PortClass, Tables};
use ztnic_rtl_sim::unit::{Error, ModuleSim};
use ztnic_verilator_tests::Rng;
use ztnic_verilator_tests::phv::Layout;

const LOG2: u32 = 8;

fn vd_drop(l: &Layout, r: DropReason) -> u64 {
    1 << 10 | (l.p("V_DROP") as u64) << 8 | u64::from(r.code())
}

fn class_code(l: &Layout, c: Option<PortClass>) -> u64 {
    (match c {
        None => l.p("PORT_CLASS_NONE"),
        Some(PortClass::Vport) => l.p("PORT_CLASS_VPORT"),
        Some(PortClass::Uplink) => l.p("PORT_CLASS_UPLINK"),
        Some(PortClass::Cpu) => l.p("PORT_CLASS_CPU"),
    }) as u64
}

/// A port: mostly one of the few the test classifies, now and then one beyond the
/// table or any.
fn port(rng: &mut Rng) -> u16 {
    match rng.below(8) {
        0 => (1 << LOG2) + rng.below(16) as u16,
        1 => rng.next_u64() as u16,
        2 => rng.below(1 << LOG2) as u16,
        _ => rng.below(12) as u16,
    }
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Clone, Copy)]
enum Seen {
    Oversize,
    Drop(u8),
    Out,
    Tx,
    Rx,
    Tx1,
    Rx1,
}

#[test]
fn port_class_matches_the_model() -> Result<(), Error> {
    let l = Layout::load();
    let mut m = ModuleSim::build("ztnic_port_class", &[("PORT_CLASS_LOG2", LOG2.into())])?;
    let mut t = Tables::default();
    let mut rng = Rng::new(0x9047_c1a5);
    let mut seen = BTreeSet::new();
    let classes = [
        None,
        Some(PortClass::Vport),
        Some(PortClass::Uplink),
        Some(PortClass::Cpu),
    ];
    // the CPU port, a vport and an uplink from the start
    let mut writes: Vec<(u16, Option<PortClass>)> = vec![
        (0, Some(PortClass::Cpu)),
        (1, Some(PortClass::Vport)),
        (2, Some(PortClass::Uplink)),
    ];
    for _ in 0..30_000 {
        if rng.chance(1, 6) {
            let p = if rng.chance(3, 4) {
                rng.below(12) as u16
            } else {
                rng.below(1 << LOG2) as u16
            };
            writes.push((p, classes[rng.below(4) as usize]));
        }
        for (p, c) in writes.drain(..) {
            match c {
                Some(c) => t.port_class.insert(p, c),
                None => t.port_class.remove(&p),
            };
            m.set_bool("wr_en", true)?;
            m.set_u64("wr_index", p.into())?;
            m.set_u64("wr_data", class_code(&l, c))?;
            m.tick("clk")?;
            m.set_bool("wr_en", false)?;
        }
        // the control read
        let ri = rng.below(1 << LOG2) as u16;
        m.set_u64("rd_index", ri.into())?;

        // the frame
        let in_port = if rng.chance(1, 2) {
            t.port_class
                .iter()
                .find(|(_, c)| **c == PortClass::Cpu)
                .map_or(0, |(p, _)| *p)
        } else {
            port(&mut rng)
        };
        let len = if rng.chance(1, 10) {
            rng.below(4) as usize
        } else {
            4 + rng.below(60) as usize
        };
        let mut frame: Vec<u8> = (0..len.max(3)).map(|_| rng.next_u64() as u8).collect();
        let target = port(&mut rng);
        frame[..2].copy_from_slice(&target.to_be_bytes());
        frame[2] = match rng.below(6) {
            0 | 1 => 0,
            2 | 3 => 1,
            _ => rng.next_u64() as u8,
        };
        // the header bytes past a short frame are whatever was captured
        let hdr = u64::from(frame[0]) | u64::from(frame[1]) << 8 | u64::from(frame[2]) << 16;
        frame.truncate(len);
        let oversize = rng.chance(1, 16);

        m.set_u64("port", in_port.into())?;
        m.set_u64("len", len as u64)?;
        m.set_bool("oversize", oversize)?;
        m.set_u64("hdr", hdr)?;
        m.eval()?;

        let ctx = format!("port {in_port} frame {frame:02x?} oversize {oversize}");
        let want_rd = class_code(&l, t.port_class.get(&ri).copied());
        assert_eq!(m.get_u64("rd_data")?, want_rd, "read of entry {ri}");

        let vd = m.get_u64("m_vd")?;
        let pre = m.get_u64("m_pre")?;
        if oversize {
            assert_eq!(vd, vd_drop(&l, DropReason::Oversize), "{ctx}");
            seen.insert(Seen::Oversize);
            continue;
        }
        match ingress_class(&t, in_port, &frame) {
            Ingress::Drop(r) => {
                assert_eq!(vd, vd_drop(&l, r), "{ctx}: drop {r:?}");
                seen.insert(Seen::Drop(r.code()));
            }
            Ingress::Out { port, frame: out } => {
                assert_eq!(vd, 1 << 10 | (l.p("V_FWD") as u64) << 8, "{ctx}: out");
                assert_eq!(m.get_u64("m_oport")?, u64::from(port), "{ctx}: out port");
                assert_eq!(
                    m.get_u64("m_skip")?,
                    (len - out.len()) as u64,
                    "{ctx}: skip"
                );
                assert_eq!(pre, 0, "{ctx}: out pre");
                seen.insert(Seen::Out);
            }
            Ingress::Tx { port, frame: rest } => {
                assert_eq!(vd, 0, "{ctx}: tx goes on");
                assert_eq!(m.get_u64("m_cls")?, l.p("PORT_CLASS_VPORT") as u64, "{ctx}");
                assert_eq!(m.get_u64("m_port")?, u64::from(port), "{ctx}: tx port");
                let off = (len - rest.len()) as u64;
                assert_eq!(pre, off, "{ctx}: tx payload offset");
                assert_eq!(m.get_u64("m_skip")?, off, "{ctx}: tx skip");
                assert_eq!(m.get_bool("m_shift")?, off == 4, "{ctx}: tx shift");
                seen.insert(if off == 4 { Seen::Tx1 } else { Seen::Tx });
            }
            Ingress::Rx { frame: rest } => {
                assert_eq!(vd, 0, "{ctx}: rx goes on");
                assert_eq!(
                    m.get_u64("m_cls")?,
                    l.p("PORT_CLASS_UPLINK") as u64,
                    "{ctx}"
                );
                let off = (len - rest.len()) as u64;
                assert_eq!(pre, off, "{ctx}: rx payload offset");
                assert_eq!(m.get_u64("m_skip")?, off, "{ctx}: rx skip");
                assert_eq!(m.get_bool("m_shift")?, off == 4, "{ctx}: rx shift");
                // mode 1 runs the packet as if it arrived on the named port
                let eff = if off == 4 { target } else { in_port };
                assert_eq!(m.get_u64("m_port")?, u64::from(eff), "{ctx}: rx port");
                seen.insert(if off == 4 { Seen::Rx1 } else { Seen::Rx });
            }
        }
    }
    let want: BTreeSet<Seen> = [
        Seen::Oversize,
        Seen::Drop(DropReason::UnknownPort.code()),
        Seen::Drop(DropReason::BadPacketOut.code()),
        Seen::Out,
        Seen::Tx,
        Seen::Rx,
        Seen::Tx1,
        Seen::Rx1,
    ]
    .into();
    assert_eq!(seen, want, "outcomes seen");
    Ok(())
}
