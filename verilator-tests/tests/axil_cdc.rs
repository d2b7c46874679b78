//! `rtl/ztnic_axil_cdc.v` on its own, its two clocks unrelated (different periods,
//! a phase offset and jitter on one of them): random AXI4-Lite reads and writes (random
//! addresses, data and strobes, AW before W, W before AW or both together, random
//! bready/rready delays) from the slave side into a register file on the master side
//! (random ready and response delays, SLVERR beyond its end); every response is checked
//! against a reference register file, and the master side must see each transaction
//! exactly once with the address, protection and strobes as given.

use ztnic_rtl_sim::unit::{Error, ModuleSim};
use ztnic_verilator_tests::Rng;

/// Registers of the master side's register file (32-bit, word addresses 0, 4, ...).
const REGS: usize = 16;
/// Transactions per run.
const TRANSACTIONS: usize = 1500;
/// Edges of either clock a run may take at most.
const MAX_EDGES: u64 = 2_000_000;

/// One clock: period and jitter in picoseconds, time of its next rising edge.
struct Clock {
    period: u64,
    jitter: u64,
    next: u64,
}

impl Clock {
    fn advance(&mut self, rng: &mut Rng) {
        let j = self.jitter;
        self.next += self.period - j + rng.below(2 * j + 1);
    }
}

/// A transaction the slave side issues.
#[derive(Clone, Copy, Debug)]
enum Op {
    Write {
        addr: u16,
        data: u32,
        strb: u8,
        prot: u8,
    },
    Read {
        addr: u16,
        prot: u8,
    },
}

/// The requester on the slave side (s_clk).
struct Requester {
    op: Option<Op>,
    aw_pending: bool,
    w_pending: bool,
    ar_pending: bool,
    /// clocks until AW (W) is offered, for offset AW and W
    aw_delay: u64,
    w_delay: u64,
    /// clocks bready (rready) stays low
    resp_delay: u64,
    done: usize,
}

/// The register file on the master side (m_clk).
struct Completer {
    regs: [u32; REGS],
    aw: Option<(u16, u8)>,
    w: Option<(u32, u8)>,
    ar: Option<(u16, u8)>,
    b: Option<(u64, u8)>,
    r: Option<(u64, u32, u8)>,
    writes: Vec<(u16, u32, u8, u8)>,
    reads: Vec<(u16, u8)>,
}

fn write_strobed(old: u32, data: u32, strb: u8) -> u32 {
    let mut mask = 0u32;
    for i in 0..4 {
        if strb & (1 << i) != 0 {
            mask |= 0xff << (8 * i);
        }
    }
    (old & !mask) | (data & mask)
}

/// `(resp, data)` of the register file for a read of `addr`.
fn file_read(regs: &[u32; REGS], addr: u16) -> (u8, u32) {
    match regs.get(usize::from(addr / 4)) {
        Some(v) => (0, *v),
        None => (2, 0xdead_beef),
    }
}

fn run(s_clock: (u64, u64), m_clock: (u64, u64), phase: u64, seed: u64) -> Result<(), String> {
    let e = |e: Error| e.to_string();
    let mut dut = ModuleSim::build(
        "ztnic_axil_cdc",
        &[("ADDR_W", 16), ("DATA_W", 32), ("SYNC_STAGES", 2)],
    )
    .map_err(e)?;
    let mut rng = Rng::new(seed);
    let mut s = Clock {
        period: s_clock.0,
        jitter: s_clock.1,
        next: s_clock.0 + phase,
    };
    let mut m = Clock {
        period: m_clock.0,
        jitter: m_clock.1,
        next: m_clock.0,
    };

    // reset both sides together for a few clocks of each
    dut.set_bool("s_rst", true).map_err(e)?;
    dut.set_bool("m_rst", true).map_err(e)?;
    for _ in 0..4 {
        dut.tick("s_clk").map_err(e)?;
        dut.tick("m_clk").map_err(e)?;
    }
    dut.set_bool("s_rst", false).map_err(e)?;
    dut.set_bool("m_rst", false).map_err(e)?;

    // the reference: what the register file holds once every completed write is in
    let mut reference = [0u32; REGS];
    let mut req = Requester {
        op: None,
        aw_pending: false,
        w_pending: false,
        ar_pending: false,
        aw_delay: 0,
        w_delay: 0,
        resp_delay: 0,
        done: 0,
    };
    let mut cpl = Completer {
        regs: [0; REGS],
        aw: None,
        w: None,
        ar: None,
        b: None,
        r: None,
        writes: Vec::new(),
        reads: Vec::new(),
    };
    let mut issued: Vec<Op> = Vec::new();
    let mut m_cycle = 0u64;

    for _ in 0..MAX_EDGES {
        if req.done == TRANSACTIONS {
            break;
        }
        if s.next <= m.next {
            // ---- slave side: the requester ----
            if req.op.is_none() {
                let addr = (rng.below(REGS as u64 + 4) * 4) as u16;
                let prot = rng.below(8) as u8;
                let op = if rng.chance(1, 2) {
                    Op::Write {
                        addr,
                        data: rng.next_u64() as u32,
                        strb: rng.below(16) as u8,
                        prot,
                    }
                } else {
                    Op::Read { addr, prot }
                };
                match op {
                    Op::Write { .. } => {
                        req.aw_pending = true;
                        req.w_pending = true;
                        match rng.below(3) {
                            0 => (req.aw_delay, req.w_delay) = (0, 0),
                            1 => (req.aw_delay, req.w_delay) = (0, rng.below(6)),
                            _ => (req.aw_delay, req.w_delay) = (rng.below(6), 0),
                        }
                    }
                    Op::Read { .. } => req.ar_pending = true,
                }
                req.resp_delay = if rng.chance(1, 3) { rng.below(8) } else { 0 };
                req.op = Some(op);
                issued.push(op);
            }
            let op = req.op.ok_or("no transaction")?;
            let (aw_valid, w_valid) = (
                req.aw_pending && req.aw_delay == 0,
                req.w_pending && req.w_delay == 0,
            );
            let resp_ready = req.resp_delay == 0;
            match op {
                Op::Write {
                    addr,
                    data,
                    strb,
                    prot,
                } => {
                    dut.set_u64("s_axil_awaddr", u64::from(addr)).map_err(e)?;
                    dut.set_u64("s_axil_awprot", u64::from(prot)).map_err(e)?;
                    dut.set_u64("s_axil_wdata", u64::from(data)).map_err(e)?;
                    dut.set_u64("s_axil_wstrb", u64::from(strb)).map_err(e)?;
                }
                Op::Read { addr, prot } => {
                    dut.set_u64("s_axil_araddr", u64::from(addr)).map_err(e)?;
                    dut.set_u64("s_axil_arprot", u64::from(prot)).map_err(e)?;
                }
            }
            dut.set_bool("s_axil_awvalid", aw_valid).map_err(e)?;
            dut.set_bool("s_axil_wvalid", w_valid).map_err(e)?;
            dut.set_bool("s_axil_arvalid", req.ar_pending).map_err(e)?;
            dut.set_bool("s_axil_bready", resp_ready).map_err(e)?;
            dut.set_bool("s_axil_rready", resp_ready).map_err(e)?;
            dut.eval().map_err(e)?;
            if aw_valid && dut.get_bool("s_axil_awready").map_err(e)? {
                req.aw_pending = false;
            }
            if w_valid && dut.get_bool("s_axil_wready").map_err(e)? {
                req.w_pending = false;
            }
            if req.ar_pending && dut.get_bool("s_axil_arready").map_err(e)? {
                req.ar_pending = false;
            }
            req.aw_delay = req.aw_delay.saturating_sub(1);
            req.w_delay = req.w_delay.saturating_sub(1);
            if dut.get_bool("s_axil_bvalid").map_err(e)? && resp_ready {
                let Op::Write {
                    addr, data, strb, ..
                } = op
                else {
                    return Err(format!("B without a write in flight ({op:?})"));
                };
                if req.aw_pending || req.w_pending {
                    return Err(format!("B before AW and W were taken ({op:?})"));
                }
                let resp = dut.get_u64("s_axil_bresp").map_err(e)? as u8;
                let want = if usize::from(addr / 4) < REGS { 0 } else { 2 };
                if resp != want {
                    return Err(format!("write {op:?}: bresp {resp}, expected {want}"));
                }
                if let Some(r) = reference.get_mut(usize::from(addr / 4)) {
                    *r = write_strobed(*r, data, strb);
                }
                req.op = None;
                req.done += 1;
            }
            if dut.get_bool("s_axil_rvalid").map_err(e)? && resp_ready {
                let Op::Read { addr, .. } = op else {
                    return Err(format!("R without a read in flight ({op:?})"));
                };
                let got = (
                    dut.get_u64("s_axil_rresp").map_err(e)? as u8,
                    dut.get_u64("s_axil_rdata").map_err(e)? as u32,
                );
                let want = file_read(&reference, addr);
                if got != want {
                    return Err(format!(
                        "read {op:?} (transaction {}): (resp, data) {got:x?}, expected {want:x?}",
                        req.done
                    ));
                }
                req.op = None;
                req.done += 1;
            }
            if req.op.is_some() && !resp_ready {
                req.resp_delay -= 1;
            }
            dut.tick("s_clk").map_err(e)?;
            s.advance(&mut rng);
        } else {
            // ---- master side: the register file ----
            let awready = cpl.aw.is_none() && rng.chance(2, 3);
            let wready = cpl.w.is_none() && rng.chance(2, 3);
            let arready = cpl.ar.is_none() && rng.chance(2, 3);
            let bvalid = cpl.b.is_some_and(|(at, _)| at <= m_cycle);
            let rvalid = cpl.r.is_some_and(|(at, _, _)| at <= m_cycle);
            dut.set_bool("m_axil_awready", awready).map_err(e)?;
            dut.set_bool("m_axil_wready", wready).map_err(e)?;
            dut.set_bool("m_axil_arready", arready).map_err(e)?;
            dut.set_bool("m_axil_bvalid", bvalid).map_err(e)?;
            dut.set_u64("m_axil_bresp", cpl.b.map_or(0, |(_, r)| u64::from(r)))
                .map_err(e)?;
            dut.set_bool("m_axil_rvalid", rvalid).map_err(e)?;
            dut.set_u64("m_axil_rdata", cpl.r.map_or(0, |(_, d, _)| u64::from(d)))
                .map_err(e)?;
            dut.set_u64("m_axil_rresp", cpl.r.map_or(0, |(_, _, r)| u64::from(r)))
                .map_err(e)?;
            dut.eval().map_err(e)?;
            if awready && dut.get_bool("m_axil_awvalid").map_err(e)? {
                cpl.aw = Some((
                    dut.get_u64("m_axil_awaddr").map_err(e)? as u16,
                    dut.get_u64("m_axil_awprot").map_err(e)? as u8,
                ));
            }
            if wready && dut.get_bool("m_axil_wvalid").map_err(e)? {
                cpl.w = Some((
                    dut.get_u64("m_axil_wdata").map_err(e)? as u32,
                    dut.get_u64("m_axil_wstrb").map_err(e)? as u8,
                ));
            }
            if arready && dut.get_bool("m_axil_arvalid").map_err(e)? {
                cpl.ar = Some((
                    dut.get_u64("m_axil_araddr").map_err(e)? as u16,
                    dut.get_u64("m_axil_arprot").map_err(e)? as u8,
                ));
            }
            if bvalid && dut.get_bool("m_axil_bready").map_err(e)? {
                cpl.b = None;
            }
            if rvalid && dut.get_bool("m_axil_rready").map_err(e)? {
                cpl.r = None;
            }
            if let (Some((addr, prot)), Some((data, strb)), None) = (cpl.aw, cpl.w, cpl.b) {
                let resp = match cpl.regs.get_mut(usize::from(addr / 4)) {
                    Some(r) => {
                        *r = write_strobed(*r, data, strb);
                        0
                    }
                    None => 2,
                };
                cpl.writes.push((addr, data, strb, prot));
                cpl.b = Some((m_cycle + 1 + rng.below(4), resp));
                cpl.aw = None;
                cpl.w = None;
            }
            if let (Some((addr, prot)), None) = (cpl.ar, cpl.r) {
                let (resp, data) = file_read(&cpl.regs, addr);
                cpl.reads.push((addr, prot));
                cpl.r = Some((m_cycle + 1 + rng.below(4), data, resp));
                cpl.ar = None;
            }
            dut.tick("m_clk").map_err(e)?;
            m_cycle += 1;
            m.advance(&mut rng);
        }
    }
    if req.done != TRANSACTIONS {
        return Err(format!(
            "{} of {TRANSACTIONS} transactions completed within {MAX_EDGES} clock edges",
            req.done
        ));
    }
    // the master side saw every transaction once, as issued
    let writes: Vec<(u16, u32, u8, u8)> = issued
        .iter()
        .filter_map(|op| match *op {
            Op::Write {
                addr,
                data,
                strb,
                prot,
            } => Some((addr, data, strb, prot)),
            Op::Read { .. } => None,
        })
        .collect();
    let reads: Vec<(u16, u8)> = issued
        .iter()
        .filter_map(|op| match *op {
            Op::Read { addr, prot } => Some((addr, prot)),
            Op::Write { .. } => None,
        })
        .collect();
    if cpl.writes != writes {
        return Err(format!(
            "the master side saw {} writes, {} were issued (or they differ)",
            cpl.writes.len(),
            writes.len()
        ));
    }
    if cpl.reads != reads {
        return Err(format!(
            "the master side saw {} reads, {} were issued (or they differ)",
            cpl.reads.len(),
            reads.len()
        ));
    }
    if cpl.regs != reference {
        return Err("the register file differs from the reference".into());
    }
    Ok(())
}

#[test]
fn transactions_cross_from_a_slower_requester_clock() {
    // the shell's case: AXI4-Lite at ~125 MHz, the register block at 250 MHz
    run((8000, 397), (4000, 0), 1337, 1).unwrap();
}

#[test]
fn transactions_cross_from_a_faster_requester_clock() {
    run((4000, 0), (7919, 251), 911, 2).unwrap();
}

#[test]
fn transactions_cross_between_nearly_equal_clocks() {
    // the phase between the two drifts through every value
    run((6400, 50), (6403, 50), 3200, 3).unwrap();
}
