//! `rtl/ztnic_hash_table.v` alone against a map of (way, bucket) to entry: port A
//! reads every way at its own bucket index (one index for all ways, or the conntrack's
//! split: ways 0-1 at one index, 2-3 at another, or any index per way), port B reads or
//! writes each way on its own, all on random clocks at random buckets with many
//! collisions (A and B on the same bucket, B reading what it just wrote). Both ports
//! return the entries one clock after the index and hold them while not enabled; port B
//! returns the old entry when it writes, and port A reading the bucket B writes in the
//! same clock gets the old entry too. The table starts empty. Three shapes: the engine's
//! 4-way tables, an entry wider than a word across two ways, and the 32-way policy copy.

use std::collections::HashMap;

use ztnic_fpga::Bits;
use ztnic_fpga::regmap::Field;
use ztnic_rtl_sim::unit::{Error, ModuleSim};
use ztnic_verilator_tests::Rng;

fn field(i: u32, w: u32) -> Field {
    Field {
        lsb: i * w,
        width: w,
    }
}

fn mask(w: u32) -> u128 {
    if w >= 128 {
        u128::MAX
    } else {
        (1u128 << w) - 1
    }
}

fn run(ways: u32, addr_w: u32, entry_w: u32, seed: u64) -> Result<(), Error> {
    let mut m = ModuleSim::build(
        "ztnic_hash_table",
        &[
            ("WAYS", i64::from(ways)),
            ("ADDR_W", i64::from(addr_w)),
            ("ENTRY_W", i64::from(entry_w)),
        ],
    )?;
    assert_eq!(m.bits("a_rdata")?, ways * entry_w);
    assert_eq!(m.bits("a_addr")?, ways * addr_w);
    assert_eq!(m.bits("b_en")?, ways);
    let mut rng = Rng::new(seed);
    let buckets = 1u64 << addr_w;
    let mut mem: HashMap<(u32, u64), u128> = HashMap::new();
    let mut a_out: Vec<Option<u128>> = vec![None; ways as usize];
    let mut b_out: Vec<Option<u128>> = vec![None; ways as usize];
    let (mut collisions, mut writes, mut hits) = (0, 0, 0);
    for clock in 0..4000 {
        let a_en = rng.chance(3, 4);
        // a few hot buckets, so that reads find what was written
        let hot = |rng: &mut Rng| {
            if rng.chance(2, 3) {
                rng.below(buckets.min(4))
            } else {
                rng.below(buckets)
            }
        };
        let (i0, i1) = (hot(&mut rng), hot(&mut rng));
        let layout = rng.below(3);
        let a_addr: Vec<u64> = (0..ways)
            .map(|w| match layout {
                0 => i0,
                1 => {
                    if w < 2 {
                        i0
                    } else {
                        i1
                    }
                }
                _ => hot(&mut rng),
            })
            .collect();
        let mut b = Vec::new();
        for w in 0..ways {
            let en = rng.chance(1, 2);
            let we = rng.chance(1, 2);
            let addr = if rng.chance(1, 3) {
                a_addr[w as usize]
            } else {
                hot(&mut rng)
            };
            let data =
                (u128::from(rng.next_u64()) << 64 | u128::from(rng.next_u64())) & mask(entry_w);
            b.push((en, we, addr, data));
        }
        let (mut aa, mut ba, mut bd) = (
            Bits::zero(ways * addr_w),
            Bits::zero(ways * addr_w),
            Bits::zero(ways * entry_w),
        );
        let (mut ben, mut bwe) = (0u64, 0u64);
        for w in 0..ways {
            let (en, we, addr, data) = b[w as usize];
            aa.set(field(w, addr_w), u128::from(a_addr[w as usize]));
            ba.set(field(w, addr_w), u128::from(addr));
            bd.set(field(w, entry_w), data);
            ben |= u64::from(en) << w;
            bwe |= u64::from(we) << w;
        }
        m.set_bool("a_en", a_en)?;
        m.set("a_addr", aa.words())?;
        m.set_u64("b_en", ben)?;
        m.set_u64("b_we", bwe)?;
        m.set("b_addr", ba.words())?;
        m.set("b_wdata", bd.words())?;
        m.tick("clk")?;

        let old = |mem: &HashMap<(u32, u64), u128>, w: u32, a: u64| {
            mem.get(&(w, a)).copied().unwrap_or(0)
        };
        for w in 0..ways {
            if a_en {
                a_out[w as usize] = Some(old(&mem, w, a_addr[w as usize]));
            }
        }
        for w in 0..ways {
            let (en, we, addr, data) = b[w as usize];
            if en {
                let o = old(&mem, w, addr);
                if o != 0 {
                    hits += 1;
                }
                b_out[w as usize] = Some(o);
                if we {
                    writes += 1;
                    if a_en && a_addr[w as usize] == addr {
                        collisions += 1;
                    }
                    mem.insert((w, addr), data);
                }
            }
        }
        let ar = Bits::from_words(&m.get("a_rdata")?);
        let br = Bits::from_words(&m.get("b_rdata")?);
        for w in 0..ways {
            if let Some(v) = a_out[w as usize] {
                assert_eq!(
                    ar.get(field(w, entry_w)),
                    v,
                    "port A way {w} at clock {clock} (index {})",
                    a_addr[w as usize]
                );
            }
            if let Some(v) = b_out[w as usize] {
                assert_eq!(
                    br.get(field(w, entry_w)),
                    v,
                    "port B way {w} at clock {clock}"
                );
            }
        }
    }
    // the random choices reached the cases that matter
    assert!(writes > 500, "{writes} writes");
    assert!(collisions > 50, "{collisions} same-clock A/B collisions");
    assert!(hits > 500, "{hits} port-B reads of a written entry");
    Ok(())
}

#[test]
fn four_ways_like_the_engine_tables() -> Result<(), Error> {
    run(4, 3, 33, 1)
}

#[test]
fn wide_entries_two_ways() -> Result<(), Error> {
    run(2, 5, 100, 2)
}

#[test]
fn thirty_two_ways_like_a_policy_copy() -> Result<(), Error> {
    run(32, 2, 9, 3)
}

/// Port A reads only when enabled (the pipeline's advance) and keeps its entries
/// otherwise, and each way reads its own index: a write to one way is seen by a port-A
/// read of that way at that bucket and by no other way.
#[test]
fn port_a_per_way_index_and_enable() -> Result<(), Error> {
    let mut m = ModuleSim::build(
        "ztnic_hash_table",
        &[("WAYS", 4), ("ADDR_W", 4), ("ENTRY_W", 16)],
    )?;
    // way w, bucket 3 + w holds 0x100 * (w + 1) + w
    for w in 0..4u32 {
        let mut ba = Bits::zero(16);
        ba.set(field(w, 4), u128::from(3 + w));
        let mut bd = Bits::zero(64);
        bd.set(field(w, 16), u128::from(0x100 * (w + 1) + w));
        m.set_u64("b_en", 1 << w)?;
        m.set_u64("b_we", 1 << w)?;
        m.set("b_addr", ba.words())?;
        m.set("b_wdata", bd.words())?;
        m.tick("clk")?;
    }
    m.set_u64("b_en", 0)?;
    // read way w at 3 + w: every way finds its entry in one clock
    let mut aa = Bits::zero(16);
    for w in 0..4u32 {
        aa.set(field(w, 4), u128::from(3 + w));
    }
    m.set("a_addr", aa.words())?;
    m.set_bool("a_en", true)?;
    m.tick("clk")?;
    let r = Bits::from_words(&m.get("a_rdata")?);
    for w in 0..4u32 {
        assert_eq!(
            r.get(field(w, 16)),
            u128::from(0x100 * (w + 1) + w),
            "way {w}"
        );
    }
    // one index for all ways (3): only way 0 holds an entry there
    m.set("a_addr", Bits::from_words(&[0x3333]).words())?;
    m.set_bool("a_en", false)?;
    m.tick("clk")?;
    let held = Bits::from_words(&m.get("a_rdata")?);
    assert_eq!(held, r, "port A holds while a_en is low");
    m.set_bool("a_en", true)?;
    m.tick("clk")?;
    let r = Bits::from_words(&m.get("a_rdata")?);
    assert_eq!(r.get(field(0, 16)), 0x100);
    for w in 1..4u32 {
        assert_eq!(r.get(field(w, 16)), 0, "way {w} at bucket 3");
    }
    Ok(())
}
