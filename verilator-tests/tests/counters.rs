//! `rtl/ztnic_counters.v` alone, around a counter RAM emulated here as the engine's
//! `ztnic_ram_dp` behaves (port A a registered read, enabled when the pipeline
//! advances, that does not see a port-B write made at the same clock edge; port B the
//! module's write): packets enter stage 24 (the RAM is addressed), move to stage 25
//! (the module reads the data and writes the new value) with the odd stall, most of
//! them on two or three slots, so back-to-back packets hit one slot all the time. The
//! RAM must hold, after every write, the packets and bytes a plain Rust map counted
//! per slot, starting from random values (a control write) near the 64-bit wrap.

use std::collections::BTreeMap;

use ztnic_rtl_sim::unit::{Error, ModuleSim};
use ztnic_verilator_tests::Rng;

const ADDR_W: u32 = 4;

#[derive(Clone, Copy, Debug)]
struct Pkt {
    count: bool,
    slot: u32,
    bytes: u16,
}

fn words(v: u128) -> [u32; 4] {
    [
        v as u32,
        (v >> 32) as u32,
        (v >> 64) as u32,
        (v >> 96) as u32,
    ]
}

fn value(w: &[u32]) -> u128 {
    w.iter().rev().fold(0u128, |a, &x| a << 32 | u128::from(x))
}

#[test]
fn back_to_back_packets_are_counted_as_one_at_a_time() -> Result<(), Error> {
    let mut m = ModuleSim::build("ztnic_counters", &[("ADDR_W", i64::from(ADDR_W))])?;
    let mut rng = Rng::new(0xc0_0173);
    let slots = 1u32 << ADDR_W;
    // the RAM, and the reference: (packets, bytes) per slot, from the same start
    let mut ram: Vec<u128> = (0..slots)
        .map(|_| {
            let near_wrap = |rng: &mut Rng| u64::MAX - rng.below(3000);
            let p = if rng.chance(1, 2) {
                near_wrap(&mut rng)
            } else {
                rng.next_u64()
            };
            let b = if rng.chance(1, 2) {
                near_wrap(&mut rng)
            } else {
                rng.next_u64()
            };
            u128::from(b) << 64 | u128::from(p)
        })
        .collect();
    let mut reference: BTreeMap<u32, (u64, u64)> = ram
        .iter()
        .enumerate()
        .map(|(i, v)| (i as u32, (*v as u64, (*v >> 64) as u64)))
        .collect();
    let mut a_rdata: u128 = 0;
    let idle = Pkt {
        count: false,
        slot: 0,
        bytes: 0,
    };
    let (mut s24, mut s25) = (idle, idle);
    let (mut counted, mut same_slot) = (0, 0);
    let mut last_write: Option<u32> = None;
    for clock in 0..5000 {
        let adv = clock < 10 || !rng.chance(1, 6);
        m.set_bool("adv", adv)?;
        m.set_bool("s_count", s25.count)?;
        m.set_u64("s_slot", s25.slot.into())?;
        m.set_u64("s_bytes", s25.bytes.into())?;
        m.set("rd_data", &words(a_rdata))?;
        m.eval()?;
        let we = m.get_bool("m_we")?;
        assert_eq!(we, adv && s25.count, "clock {clock}: write enable");
        // the clock edge: port A reads the old contents, then port B writes
        if adv {
            a_rdata = ram[s24.slot as usize];
        }
        if we {
            let new = value(&m.get("m_data")?);
            ram[s25.slot as usize] = new;
            let r = reference.entry(s25.slot).or_default();
            r.0 = r.0.wrapping_add(1);
            r.1 = r.1.wrapping_add(u64::from(s25.bytes));
            assert_eq!(
                (new as u64, (new >> 64) as u64),
                *r,
                "clock {clock}: slot {} counted wrong (packets, bytes)",
                s25.slot
            );
            counted += 1;
            if last_write == Some(s25.slot) {
                same_slot += 1;
            }
            last_write = Some(s25.slot);
        } else if adv {
            last_write = None;
        }
        if adv {
            s25 = s24;
            s24 = Pkt {
                count: !rng.chance(1, 8),
                slot: if rng.chance(7, 8) {
                    rng.below(3) as u32
                } else {
                    rng.below(u64::from(slots)) as u32
                },
                bytes: rng.next_u64() as u16,
            };
        }
        m.tick("clk")?;
    }
    for (slot, (p, b)) in &reference {
        let v = ram[*slot as usize];
        assert_eq!(
            (v as u64, (v >> 64) as u64),
            (*p, *b),
            "slot {slot} at the end"
        );
    }
    assert!(
        counted > 3000 && same_slot > 600,
        "{counted} counted, {same_slot} back to back on one slot"
    );
    Ok(())
}
