//! `rtl/ztnic_ram_dp.v` alone against a map: port A reads, port B reads or writes, on
//! random clocks, at random addresses with many collisions (A and B on the same address,
//! B reading what it just wrote). Both ports read synchronously (data one clock after the
//! address) and hold their output while not enabled; port B returns the old word when it
//! writes (READ_FIRST, as the module documents), and port A reading the address B writes
//! in the same clock gets the old word too (what the RTL simulates; the header states it
//! for port B only). Memory starts zeroed. Two shapes: a narrow shallow RAM and one wider
//! than 128 bits.

use std::collections::HashMap;

use ztnic_rtl_sim::unit::{Error, ModuleSim};
use ztnic_verilator_tests::Rng;

fn random_word(rng: &mut Rng, width: u32) -> Vec<u32> {
    (0..width.div_ceil(32))
        .map(|i| {
            let bits = (width - 32 * i).min(32);
            let mask = if bits == 32 {
                u32::MAX
            } else {
                (1 << bits) - 1
            };
            rng.next_u64() as u32 & mask
        })
        .collect()
}

fn run(width: u32, addr_w: u32, seed: u64) -> Result<(), Error> {
    let mut m = ModuleSim::build(
        "ztnic_ram_dp",
        &[("WIDTH", i64::from(width)), ("ADDR_W", i64::from(addr_w))],
    )?;
    assert_eq!(m.bits("a_rdata")?, width);
    assert_eq!(m.bits("b_addr")?, addr_w);
    let mut rng = Rng::new(seed);
    let zero = vec![0u32; width.div_ceil(32) as usize];
    let mut mem: HashMap<u64, Vec<u32>> = HashMap::new();
    let mut a_out: Option<Vec<u32>> = None;
    let mut b_out: Option<Vec<u32>> = None;
    let words = 1u64 << addr_w;
    let (mut collisions, mut writes) = (0, 0);
    for clock in 0..5000 {
        let a_en = rng.chance(3, 4);
        let b_en = rng.chance(3, 4);
        let b_we = rng.chance(1, 2);
        // a handful of hot addresses, so that reads find what was written
        let b_addr = if rng.chance(1, 2) {
            rng.below(words.min(8))
        } else {
            rng.below(words)
        };
        let a_addr = if rng.chance(1, 3) {
            b_addr
        } else {
            rng.below(words.min(8))
        };
        let b_wdata = random_word(&mut rng, width);
        m.set_bool("a_en", a_en)?;
        m.set_u64("a_addr", a_addr)?;
        m.set_bool("b_en", b_en)?;
        m.set_bool("b_we", b_we)?;
        m.set_u64("b_addr", b_addr)?;
        m.set("b_wdata", &b_wdata)?;
        m.tick("clk")?;

        let old = |a: u64| mem.get(&a).cloned().unwrap_or_else(|| zero.clone());
        if a_en {
            a_out = Some(old(a_addr));
        }
        if b_en {
            b_out = Some(old(b_addr));
            if b_we {
                writes += 1;
                if a_en && a_addr == b_addr {
                    collisions += 1;
                }
                mem.insert(b_addr, b_wdata);
            }
        }
        let ctx = format!("WIDTH={width} ADDR_W={addr_w} clock {clock}");
        if let Some(a) = &a_out {
            assert_eq!(
                &m.get("a_rdata")?,
                a,
                "{ctx}: a_rdata (a_en {a_en} addr {a_addr})"
            );
        }
        if let Some(b) = &b_out {
            assert_eq!(
                &m.get("b_rdata")?,
                b,
                "{ctx}: b_rdata (b_en {b_en} we {b_we} addr {b_addr})"
            );
        }
    }
    assert!(collisions > 100 && writes > 1000);
    // the rest of the memory is still zero, and every written word reads back on both ports
    m.set_bool("b_we", false)?;
    for addr in 0..words.min(64) {
        m.set_bool("a_en", true)?;
        m.set_u64("a_addr", addr)?;
        m.set_bool("b_en", true)?;
        m.set_u64("b_addr", words - 1 - addr)?;
        m.tick("clk")?;
        let want_a = mem.get(&addr).cloned().unwrap_or_else(|| zero.clone());
        let want_b = mem
            .get(&(words - 1 - addr))
            .cloned()
            .unwrap_or_else(|| zero.clone());
        assert_eq!(m.get("a_rdata")?, want_a, "read back {addr} on port A");
        assert_eq!(
            m.get("b_rdata")?,
            want_b,
            "read back {} on port B",
            words - 1 - addr
        );
    }
    Ok(())
}

#[test]
fn narrow_and_shallow() -> Result<(), Error> {
    run(32, 3, 7)
}

#[test]
fn wide_and_deeper() -> Result<(), Error> {
    run(133, 7, 8)
}
