//! `rtl/ztnic_table_access.v` alone against the table window as rtl/regmap.toml and
//! docs/regmap.md describe it: `select` a table (enum `table`), an `index` (slot = way *
//! buckets + bucket for the hash tables; (variant * 4 + way) * buckets + bucket for the
//! policy), a read returns the entry, a write sets it, `status.error` for an unknown
//! table or an index out of range (nothing is accessed). The model is a map of (table,
//! index) to entry; the test plays the engine around the module: the storage (port B of
//! every RAM table, per way, read one clock after the enable; the flip-flop tables and
//! counters at the window's index), the control block (tbl_req held until tbl_done) and
//! the pipeline (pipe_empty, which drains a random number of clocks after `hold`).
//!
//! Random reads and writes of every table, at indexes in and out of range, between
//! random idle gaps, on small geometries of different sizes (so that a way taken from
//! the wrong bits lands on another entry), then a read of every entry of every table.
//! Checked: every read against the model, the error flag, the latency (three clocks for
//! a lookup-only table; for the tables the data plane writes, three clocks after the
//! pipeline is empty), that only those tables raise `hold` and are touched only with the
//! pipeline empty, and that `idle` (the sweep's clocks) is high exactly when no access
//! is in progress.

use std::collections::HashMap;

use ztnic_fpga::Bits;
use ztnic_fpga::regmap::Field;
use ztnic_rtl_sim::unit::{Error, ModuleSim};
use ztnic_verilator_tests::Rng;

const TBL_W: u32 = 32 * 24;
const RANDOM_OPS: usize = 3000;
const PARAMS: [(&str, i64); 11] = [
    ("PORT_CLASS_LOG2", 3),
    ("VPORT_CTX_LOG2", 2),
    ("LOCAL_EP_LOG2", 3),
    ("CTX_EPOCH_LOG2", 1),
    ("REMOTE_HOST_LOG2", 4),
    ("REMOTE_EP_N", 5),
    ("POLICY_LOG2", 1),
    ("CT_ADDR_W", 2),
    ("CT_OVF_LOG2", 3),
    ("CTR_CE_W", 3),
    ("CTR_RULE_W", 4),
];

#[derive(Clone, Copy)]
enum Kind {
    /// 4 (or 32) ways of 2^log2 buckets on port B: enable port, read-data port
    Hash {
        log2: u32,
        ways: u32,
        en: &'static str,
        rd: &'static str,
    },
    /// a counter RAM of 2^addr_w words on port B
    Ram {
        addr_w: u32,
        en: &'static str,
        rd: &'static str,
    },
    /// flip-flops of n entries, read at the index, written by `we`
    Ff {
        n: u32,
        idx_w: u32,
        we: &'static str,
        rd: &'static str,
    },
}

#[derive(Clone, Copy)]
struct Table {
    sel: u8,
    width: u32,
    kind: Kind,
    /// the data plane writes it: accessed with the pipeline drained
    drained: bool,
}

const TABLES: [Table; 13] = [
    Table {
        sel: 0,
        width: 2,
        kind: Kind::Ff {
            n: 8,
            idx_w: 3,
            we: "pc_we",
            rd: "pc_rd",
        },
        drained: false,
    },
    Table {
        sel: 1,
        width: 185,
        kind: Kind::Hash {
            log2: 2,
            ways: 4,
            en: "vpc_en",
            rd: "vpc_rd",
        },
        drained: false,
    },
    Table {
        sel: 2,
        width: 185,
        kind: Kind::Hash {
            log2: 3,
            ways: 4,
            en: "lep_en",
            rd: "lep_rd",
        },
        drained: false,
    },
    Table {
        sel: 3,
        width: 33,
        kind: Kind::Hash {
            log2: 1,
            ways: 4,
            en: "ce_en",
            rd: "ce_rd",
        },
        drained: false,
    },
    Table {
        sel: 4,
        width: 195,
        kind: Kind::Ff {
            n: 5,
            idx_w: 3,
            we: "rem_we",
            rd: "rem_rd",
        },
        drained: false,
    },
    Table {
        sel: 5,
        width: 457,
        kind: Kind::Hash {
            log2: 1,
            ways: 32,
            en: "pol_en",
            rd: "pol_rd",
        },
        drained: false,
    },
    Table {
        sel: 6,
        width: 314,
        kind: Kind::Hash {
            log2: 3,
            ways: 4,
            en: "ovf_en",
            rd: "ovf_rd",
        },
        drained: false,
    },
    Table {
        sel: 7,
        width: 762,
        kind: Kind::Hash {
            log2: 2,
            ways: 4,
            en: "ct_en",
            rd: "ct_rd",
        },
        drained: true,
    },
    Table {
        sel: 8,
        width: 128,
        kind: Kind::Ram {
            addr_w: 3,
            en: "cec_en",
            rd: "cec_rd",
        },
        drained: true,
    },
    Table {
        sel: 9,
        width: 128,
        kind: Kind::Ram {
            addr_w: 4,
            en: "rc_en",
            rd: "rc_rd",
        },
        drained: true,
    },
    Table {
        sel: 10,
        width: 64,
        kind: Kind::Ff {
            n: 31,
            idx_w: 5,
            we: "drop_we",
            rd: "drop_rd",
        },
        drained: false,
    },
    Table {
        sel: 11,
        width: 64,
        kind: Kind::Ff {
            n: 8,
            idx_w: 3,
            we: "punt_we",
            rd: "punt_rd",
        },
        drained: false,
    },
    Table {
        sel: 12,
        width: 187,
        kind: Kind::Hash {
            log2: 4,
            ways: 4,
            en: "rh_en",
            rd: "rh_rd",
        },
        drained: false,
    },
];

fn table(sel: u8) -> Option<&'static Table> {
    TABLES.iter().find(|t| t.sel == sel)
}

/// Entries of a table as the window counts them (the valid indexes are below it).
fn entries(t: &Table) -> u64 {
    match t.kind {
        Kind::Hash { log2, ways, .. } => u64::from(ways) << log2,
        Kind::Ram { addr_w, .. } => 1 << addr_w,
        Kind::Ff { n, .. } => u64::from(n),
    }
}

/// `width` bits of `src` from `lsb`.
fn slice(src: &Bits, lsb: u32, width: u32) -> Bits {
    let mut out = Bits::zero(width);
    put(&mut out, 0, src, lsb, width);
    out
}

/// Copies `width` bits of `src` at `from` into `dst` at `to`.
fn put(dst: &mut Bits, to: u32, src: &Bits, from: u32, width: u32) {
    let mut done = 0;
    while done < width {
        let n = (width - done).min(32);
        let v = src.get(Field {
            lsb: from + done,
            width: n,
        });
        dst.set(
            Field {
                lsb: to + done,
                width: n,
            },
            v,
        );
        done += n;
    }
}

fn random_bits(rng: &mut Rng, width: u32) -> Bits {
    let w: Vec<u32> = (0..width.div_ceil(32))
        .map(|_| rng.next_u64() as u32)
        .collect();
    slice(&Bits::from_words(&w), 0, width)
}

/// The engine's side of port B and of the flip-flop tables.
#[derive(Default)]
struct Storage {
    /// (select, way, bucket) -> entry
    mem: HashMap<(u8, u32, u64), Bits>,
    /// (select, way) -> port B output register
    out: HashMap<(u8, u32), Bits>,
}

impl Storage {
    fn word(&self, t: &Table, way: u32, bucket: u64) -> Bits {
        self.mem
            .get(&(t.sel, way, bucket))
            .cloned()
            .unwrap_or_else(|| Bits::zero(t.width))
    }

    /// Drives every read-data input for the window's index.
    fn drive(&self, m: &mut ModuleSim, index: u64) -> Result<(), Error> {
        for t in &TABLES {
            match t.kind {
                Kind::Hash { ways, rd, .. } => {
                    let mut all = Bits::zero(ways * t.width);
                    for w in 0..ways {
                        if let Some(o) = self.out.get(&(t.sel, w)) {
                            put(&mut all, w * t.width, o, 0, t.width);
                        }
                    }
                    m.set(rd, all.words())?;
                }
                Kind::Ram { rd, .. } => {
                    let o = self.out.get(&(t.sel, 0)).cloned();
                    m.set(rd, o.unwrap_or_else(|| Bits::zero(t.width)).words())?;
                }
                Kind::Ff { n, idx_w, rd, .. } => {
                    // as the engine indexes: the low bits (the drop counter: 0 out of range)
                    let mut i = index & ((1 << idx_w) - 1);
                    if t.sel == 10 && index >= u64::from(n) {
                        i = 0;
                    }
                    m.set(rd, self.word(t, 0, i).words())?;
                }
            }
        }
        Ok(())
    }

    /// What the engine does at the clock edge with the module's outputs.
    fn clock(&mut self, m: &mut ModuleSim, index: u64, wdata: &Bits) -> Result<Vec<u8>, Error> {
        let we = m.get_bool("b_we")?;
        let mut touched = Vec::new();
        for t in &TABLES {
            let data = slice(wdata, 0, t.width);
            match t.kind {
                Kind::Hash { log2, en, .. } => {
                    let en = m.get_u64(en)?;
                    let bucket = index & ((1 << log2) - 1);
                    for w in 0..64 {
                        if en >> w & 1 != 0 {
                            touched.push(t.sel);
                            let old = self.word(t, w, bucket);
                            self.out.insert((t.sel, w), old);
                            if we {
                                self.mem.insert((t.sel, w, bucket), data.clone());
                            }
                        }
                    }
                }
                Kind::Ram { addr_w, en, .. } => {
                    if m.get_bool(en)? {
                        touched.push(t.sel);
                        let bucket = index & ((1 << addr_w) - 1);
                        let old = self.word(t, 0, bucket);
                        self.out.insert((t.sel, 0), old);
                        if we {
                            self.mem.insert((t.sel, 0, bucket), data);
                        }
                    }
                }
                Kind::Ff { idx_w, we, .. } => {
                    if m.get_bool(we)? {
                        touched.push(t.sel);
                        self.mem
                            .insert((t.sel, 0, index & ((1 << idx_w) - 1)), data);
                    }
                }
            }
        }
        m.tick("clk")?;
        Ok(touched)
    }
}

#[test]
fn table_window_matches_the_model() -> Result<(), Error> {
    let mut m = ModuleSim::build("ztnic_table_access", &PARAMS)?;
    assert_eq!(m.bits("tbl_rdata")?, TBL_W);
    assert_eq!(m.bits("pol_rd")?, 32 * 457);
    m.set_bool("rst", true)?;
    m.tick("clk")?;
    m.set_bool("rst", false)?;

    let mut rng = Rng::new(0x7ab1e);
    let mut st = Storage::default();
    // the window's model: (select, index) -> entry
    let mut model: HashMap<(u8, u64), Bits> = HashMap::new();
    let (mut reads_hit, mut errors, mut drained_ops, mut waits) = (0, 0, 0, 0);
    let every: Vec<(u8, u64)> = TABLES
        .iter()
        .flat_map(|t| (0..entries(t)).map(move |i| (t.sel, i)))
        .collect();
    for op in 0..RANDOM_OPS + every.len() {
        // an idle gap: the pipeline runs, the sweep may use port B
        for _ in 0..rng.below(3) {
            let pipe_empty = rng.chance(1, 2);
            m.set_bool("tbl_req", false)?;
            m.set_bool("pipe_empty", pipe_empty)?;
            st.drive(&mut m, 0)?;
            m.eval()?;
            assert!(m.get_bool("idle")?, "op {op}: not idle between accesses");
            assert!(!m.get_bool("hold")?, "op {op}: hold between accesses");
            let touched = st.clock(&mut m, 0, &Bits::zero(TBL_W))?;
            assert!(
                touched.is_empty(),
                "op {op}: a table touched between accesses"
            );
        }

        let (sel, index, write) = if op < RANDOM_OPS {
            let sel: u8 = if rng.chance(1, 30) {
                13 + rng.below(243) as u8
            } else {
                rng.below(13) as u8
            };
            let limit = table(sel).map_or(8, entries);
            let index = match rng.below(20) {
                0 => limit + rng.below(4),
                1 => 1 << (8 + rng.below(24)) | rng.below(limit),
                _ => rng.below(limit),
            };
            (sel, index, rng.chance(1, 2))
        } else {
            // at the end, every entry of every table is read back
            let (sel, index) = every[op - RANDOM_OPS];
            (sel, index, false)
        };
        let t = table(sel);
        let limit = t.map_or(8, entries);
        let wdata = random_bits(&mut rng, TBL_W);
        let valid = t.is_some() && index < limit;
        let drained = t.is_some_and(|t| t.drained);

        m.set_bool("tbl_req", true)?;
        m.set_bool("tbl_write", write)?;
        m.set_u64("tbl_select", u64::from(sel))?;
        m.set_u64("tbl_index", index)?;
        // the pipeline drains a few clocks after `hold`, and stays empty while held
        let mut drain_in = rng.below(5);
        let mut first_empty: Option<u32> = None;
        let mut clock = 0u32;
        let done_at = loop {
            let pipe_empty = if m.get_bool("hold")? {
                if drain_in == 0 {
                    true
                } else {
                    drain_in -= 1;
                    false
                }
            } else {
                rng.chance(1, 2)
            };
            m.set_bool("pipe_empty", pipe_empty)?;
            st.drive(&mut m, index)?;
            m.eval()?;
            let done = m.get_bool("tbl_done")?;
            let hold = m.get_bool("hold")?;
            assert_eq!(m.get_bool("idle")?, done, "op {op} clock {clock}: idle");
            if !drained {
                assert!(!hold, "op {op}: hold for table {sel}");
            }
            if clock >= 1 && pipe_empty && first_empty.is_none() {
                first_empty = Some(clock);
            }
            if done {
                break clock;
            }
            let touched = st.clock(&mut m, index, &wdata)?;
            assert!(
                touched.len() <= 1,
                "op {op}: tables {touched:?} in one clock"
            );
            if let Some(&s) = touched.first() {
                assert!(valid, "op {op}: table {s} touched on an error");
                assert_eq!(s, sel, "op {op}: table {s} touched for {sel}");
                if drained {
                    assert!(
                        hold && pipe_empty,
                        "op {op}: table {sel} touched with packets in flight"
                    );
                }
            }
            clock += 1;
            assert!(clock < 50, "op {op}: no tbl_done");
        };
        if drained {
            drained_ops += 1;
            let e = first_empty.expect("the pipeline drained");
            if e > 1 {
                waits += 1;
            }
            assert_eq!(done_at, e + 3, "op {op}: latency of table {sel}");
        } else {
            assert_eq!(done_at, 3, "op {op}: latency of table {sel}");
        }
        let err = m.get_bool("tbl_err")?;
        assert_eq!(
            err, !valid,
            "op {op}: error flag of table {sel} index {index}"
        );
        if err {
            errors += 1;
        } else if write {
            let t = t.expect("a valid access names a table");
            model.insert((sel, index), slice(&wdata, 0, t.width));
        } else {
            let t = t.expect("a valid access names a table");
            let want = model
                .get(&(sel, index))
                .cloned()
                .unwrap_or_else(|| Bits::zero(t.width));
            if want != Bits::zero(t.width) {
                reads_hit += 1;
            }
            let got = Bits::from_words(&m.get("tbl_rdata")?);
            assert_eq!(
                slice(&got, 0, TBL_W),
                slice(&want, 0, TBL_W),
                "op {op}: read of table {sel} index {index}"
            );
        }
        // the control block takes tbl_done and drops the request in the same clock
        m.set_bool("tbl_req", true)?;
        let touched = st.clock(&mut m, index, &wdata)?;
        assert!(
            touched.is_empty(),
            "op {op}: a table touched in the clock of tbl_done"
        );
        m.set_bool("tbl_req", false)?;
    }
    assert!(reads_hit > 300, "{reads_hit} reads of a written entry");
    assert!(errors > 100, "{errors} errors");
    assert!(
        drained_ops > 300 && waits > 100,
        "{drained_ops} drained accesses, {waits} waited"
    );
    Ok(())
}
