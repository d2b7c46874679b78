//! A cycle-accurate test bench around [`Sim`] (the datapath alone) or the OpenNIC
//! shell wrapper ([`Nic::opennic`]): stream frames in and out, AXI4-Lite, register
//! access (the table protocol is the driver's, `ztnic-fpga`) and the verdict side-band.

use std::collections::VecDeque;

use crate::ffi::{ZoOut, ZoStream};
use crate::opennic::{self, Clocks, OpenNicSim};
use crate::{BEAT_BYTES, Inputs, Sim};
use ztnic_fpga::RegisterAccess;
use ztnic_fpga::regmap;

/// Errors of driving the model.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SimError {
    #[error("{what} did not complete within {cycles} clocks")]
    Timeout { what: &'static str, cycles: u64 },
    #[error("the datapath produced {0}")]
    Mismatch(String),
}

/// A frame on one of the stream ports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    pub port: u16,
    pub data: Vec<u8>,
}

/// The verdict side-band record of one packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Status {
    /// `regmap::verdict_enum` value.
    pub verdict: u8,
    /// Drop or punt reason code.
    pub reason: u8,
    /// Output port (forward and punt).
    pub port: u16,
    /// ct_state bits (`regmap::ct_state_bit_enum`) when the packet reached conntrack.
    pub ct_state: Option<u8>,
    /// The policy rule that decided, when the policy was consulted.
    pub rule: Option<u32>,
    /// Clocks from the start of parsing to the verdict.
    pub cycles: u16,
    /// Simulation clock of the verdict.
    pub at_cycle: u64,
}

struct Beat {
    data: [u8; BEAT_BYTES],
    keep: u64,
    last: bool,
    port: u16,
}

/// A pattern deciding, once per clock, whether a valid or ready signal is held low.
pub type Pattern = Box<dyn FnMut() -> bool + Send>;

/// The model under the bench.
enum Dut {
    /// `ztnic_top`: one clock for the stream and AXI4-Lite.
    Top(Sim),
    /// `ztnic_opennic`: the stream on `axis_aclk`, AXI4-Lite on `axil_aclk`.
    OpenNic(Box<OpenNicSim>),
}

/// AXI4-Lite inputs of one clock of the register domain.
#[derive(Clone, Copy, Debug, Default)]
struct AxilDrive {
    awaddr: u32,
    awvalid: bool,
    wdata: u32,
    wvalid: bool,
    bready: bool,
    araddr: u32,
    arvalid: bool,
    rready: bool,
}

/// AXI4-Lite outputs seen before an edge of the register domain.
#[derive(Clone, Copy, Debug, Default)]
struct AxilSeen {
    awready: bool,
    wready: bool,
    bvalid: bool,
    arready: bool,
    rvalid: bool,
    rdata: u32,
}

/// What one edge showed: the register domain's outputs if it was an edge of that
/// domain, and whether an output beat was valid if it was an edge of the stream's.
struct Step {
    axil: Option<AxilSeen>,
    out_valid: Option<bool>,
}

/// The output streams the bench collects frames from (the datapath has one; the
/// wrapper two, C2H and TX).
const OUT_PATHS: usize = 2;

/// The Verilated NIC with a cycle-accurate bench around it.
pub struct Nic {
    dut: Dut,
    ts_us: u64,
    input: VecDeque<Beat>,
    in_idle: Option<Pattern>,
    out_stall: Option<Pattern>,
    cur_out: [Vec<u8>; OUT_PATHS],
    /// tuser_size of the frame in progress on each output (the wrapper's outputs)
    cur_size: [Option<u16>; OUT_PATHS],
    frames_out: VecDeque<Frame>,
    /// frames that left the output, and verdicts that promise one (forward, punt)
    frames_done: u64,
    frames_promised: u64,
    /// breaches of the OpenNIC shell's stream rules seen on the wrapper's outputs
    protocol_errors: Vec<String>,
    statuses: VecDeque<Status>,
    frames_sent: u64,
    verdicts_seen: u64,
    beats_in: u64,
    beats_out: u64,
    last_out_cycle: u64,
    in_beat_cycles: Vec<u64>,
    record_in_beats: bool,
    parallel_inputs: bool,
}

impl Default for Nic {
    fn default() -> Self {
        Self::new()
    }
}

const AXIL_TIMEOUT: u64 = 10_000;

impl Nic {
    /// The datapath (`ztnic_top`) just out of reset.
    pub fn new() -> Nic {
        let mut sim = Sim::new();
        sim.reset(4);
        Nic::with(Dut::Top(sim))
    }

    /// The datapath inside the OpenNIC shell wrapper (`ztnic_opennic`), just out of
    /// reset, with the default [`Clocks`] (250 MHz and about 125 MHz, unrelated).
    ///
    /// Frames for port [`opennic::UPLINK_PORT`] enter from the CMAC adapter (RX), all
    /// others from the host (H2C) with the port in `tuser_dst`; frames leave by TX
    /// (the uplink port) or C2H (the port from `tuser_dst`). AXI4-Lite runs on
    /// `axil_aclk` through the wrapper's clock-domain crossing; [`Nic::cycles`] counts
    /// `axis_aclk`. Every output frame is checked against the shell's rules
    /// (`tuser_size` on every beat and equal to the length, tkeep, tuser_src/dst);
    /// a breach fails [`Nic::run_until_idle`].
    pub fn opennic() -> Nic {
        Nic::opennic_with(Clocks::default())
    }

    /// [`Nic::opennic`] with the given clocks.
    pub fn opennic_with(clocks: Clocks) -> Nic {
        let mut sim = OpenNicSim::new(clocks);
        sim.reset();
        Nic::with(Dut::OpenNic(Box::new(sim)))
    }

    fn with(dut: Dut) -> Nic {
        Nic {
            dut,
            ts_us: 0,
            input: VecDeque::new(),
            in_idle: None,
            out_stall: None,
            cur_out: Default::default(),
            cur_size: [None; OUT_PATHS],
            frames_out: VecDeque::new(),
            frames_done: 0,
            frames_promised: 0,
            protocol_errors: Vec::new(),
            statuses: VecDeque::new(),
            frames_sent: 0,
            verdicts_seen: 0,
            beats_in: 0,
            beats_out: 0,
            last_out_cycle: 0,
            in_beat_cycles: Vec::new(),
            record_in_beats: false,
            parallel_inputs: false,
        }
    }

    /// Sets the time input (µs) seen by conntrack from the next clock on.
    pub fn set_time_us(&mut self, ts: u64) {
        self.ts_us = ts;
    }

    /// Idle cycles on the input: when the pattern returns true, no beat is offered.
    pub fn set_input_idle(&mut self, p: Option<Pattern>) {
        self.in_idle = p;
    }

    /// Back-pressure on the output: when the pattern returns true, tready is low.
    pub fn set_output_stall(&mut self, p: Option<Pattern>) {
        self.out_stall = p;
    }

    /// Behind the OpenNIC wrapper: offer the first queued frame for the uplink port on
    /// RX and, at the same time, the first queued frame for any other port on H2C, so
    /// that the wrapper's arbiter merges them (off: the queue is offered in order, one
    /// beat at a time). The datapath alone has one input and ignores this.
    pub fn set_parallel_inputs(&mut self, on: bool) {
        self.parallel_inputs = on;
    }

    /// Records the clock of every accepted input beat (for throughput figures).
    pub fn record_input_beats(&mut self, on: bool) {
        self.record_in_beats = on;
        self.in_beat_cycles.clear();
    }

    /// Clocks at which input beats were accepted since recording started.
    pub fn input_beat_cycles(&self) -> &[u64] {
        &self.in_beat_cycles
    }

    /// Clocks of the datapath (`axis_aclk` in the wrapper) simulated so far.
    pub fn cycles(&self) -> u64 {
        match &self.dut {
            Dut::Top(sim) => sim.cycles(),
            Dut::OpenNic(sim) => sim.axis_cycles(),
        }
    }

    /// Clocks of the AXI4-Lite domain simulated so far (`axil_aclk` in the wrapper;
    /// the datapath's clock otherwise).
    pub fn axil_cycles(&self) -> u64 {
        match &self.dut {
            Dut::Top(sim) => sim.cycles(),
            Dut::OpenNic(sim) => sim.axil_cycles(),
        }
    }

    /// Whether the model is the OpenNIC shell wrapper.
    pub fn is_opennic(&self) -> bool {
        matches!(self.dut, Dut::OpenNic(_))
    }

    /// Input and output beats moved so far.
    pub fn beats(&self) -> (u64, u64) {
        (self.beats_in, self.beats_out)
    }

    /// Queues a frame on the input stream (sent as the clocks run).
    pub fn send(&mut self, port: u16, frame: &[u8]) {
        let n = frame.len().div_ceil(BEAT_BYTES).max(1);
        for i in 0..n {
            let chunk = frame
                .get(i * BEAT_BYTES..frame.len().min((i + 1) * BEAT_BYTES))
                .unwrap_or(&[]);
            let mut data = [0u8; BEAT_BYTES];
            data[..chunk.len()].copy_from_slice(chunk);
            let keep = if chunk.len() == BEAT_BYTES {
                u64::MAX
            } else {
                (1u64 << chunk.len()) - 1
            };
            self.input.push_back(Beat {
                data,
                keep,
                last: i + 1 == n,
                port,
            });
        }
        self.frames_sent += 1;
    }

    /// Frames that left the output since the last call.
    pub fn take_frames(&mut self) -> Vec<Frame> {
        self.frames_out.drain(..).collect()
    }

    /// Verdict records since the last call.
    pub fn take_statuses(&mut self) -> Vec<Status> {
        self.statuses.drain(..).collect()
    }

    /// Frames queued but not fully accepted yet, and verdicts still to come.
    pub fn pending(&self) -> (usize, u64) {
        (self.input.len(), self.frames_sent - self.verdicts_seen)
    }

    /// Advances to the next clock edge with the given AXI4-Lite inputs (applied if it
    /// is an edge of the register domain).
    fn step(&mut self, axil: &AxilDrive) -> Step {
        if let Dut::OpenNic(_) = self.dut {
            return self.step_opennic(axil);
        }
        let idle = self.in_idle.as_mut().is_some_and(|p| p());
        let stall = self.out_stall.as_mut().is_some_and(|p| p());
        let mut inp = Inputs {
            ts_us: self.ts_us,
            m_tready: !stall,
            awaddr: axil.awaddr as u16,
            awvalid: axil.awvalid,
            wdata: axil.wdata,
            wstrb: 0xf,
            wvalid: axil.wvalid,
            bready: axil.bready,
            araddr: axil.araddr as u16,
            arvalid: axil.arvalid,
            rready: axil.rready,
            ..Inputs::default()
        };
        if let (false, Some(b)) = (idle, self.input.front()) {
            inp.s_tdata = b.data;
            inp.s_tkeep = b.keep;
            inp.s_tvalid = true;
            inp.s_tlast = b.last;
            inp.s_tuser = b.port;
        }
        let Dut::Top(sim) = &mut self.dut else {
            unreachable!("the OpenNIC wrapper took the branch above")
        };
        let out = sim.comb(&inp);
        let cycle = sim.cycles();
        if inp.s_tvalid && out.s_tready {
            self.beat_accepted(0, cycle);
        }
        let fired = out.m_tvalid && inp.m_tready;
        if fired {
            self.out_beat(
                0,
                cycle,
                &out.m_tdata,
                out.m_tkeep,
                out.m_tlast,
                out.m_tuser,
                None,
            );
        }
        if out.st_valid {
            self.verdict(Status {
                verdict: out.st_verdict,
                reason: out.st_reason,
                port: out.st_port,
                ct_state: out.st_ct_valid.then_some(out.st_ct_state),
                rule: out.st_rule_valid.then_some(out.st_rule),
                cycles: out.st_cycles,
                at_cycle: cycle,
            });
        }
        if let Dut::Top(sim) = &mut self.dut {
            sim.tick();
        }
        Step {
            axil: Some(AxilSeen {
                awready: out.awready,
                wready: out.wready,
                bvalid: out.bvalid,
                arready: out.arready,
                rvalid: out.rvalid,
                rdata: out.rdata,
            }),
            out_valid: Some(out.m_tvalid),
        }
    }

    /// [`Nic::step`] for the OpenNIC wrapper: the next edge of either clock.
    fn step_opennic(&mut self, axil: &AxilDrive) -> Step {
        let Dut::OpenNic(sim) = &self.dut else {
            unreachable!("called for the wrapper only")
        };
        let edge = sim.next_edge();
        // the stream's inputs for an axis_aclk edge: the queue positions of the beats
        // offered on H2C and on RX
        let (mut h2c, mut rx) = (None, None);
        let mut ready = false;
        if edge.axis {
            let idle = self.in_idle.as_mut().is_some_and(|p| p());
            ready = !self.out_stall.as_mut().is_some_and(|p| p());
            let uplink = |b: &Beat| b.port == opennic::UPLINK_PORT;
            if !idle && self.parallel_inputs {
                h2c = self.input.iter().position(|b| !uplink(b));
                rx = self.input.iter().position(uplink);
            } else if !idle && !self.input.is_empty() {
                if self.input.front().is_some_and(uplink) {
                    rx = Some(0);
                } else {
                    h2c = Some(0);
                }
            }
        }
        let beat = |i: Option<usize>, input: &VecDeque<Beat>| {
            let mut s = ZoStream::default();
            if let Some(b) = i.and_then(|i| input.get(i)) {
                s.tkeep = b.keep;
                s.tvalid = 1;
                s.tlast = b.last.into();
                if b.port != opennic::UPLINK_PORT {
                    s.tuser_dst = b.port;
                }
                for (w, c) in s.tdata.iter_mut().zip(b.data.chunks_exact(4)) {
                    *w = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
                }
            }
            s
        };
        let (h2c_beat, rx_beat) = (beat(h2c, &self.input), beat(rx, &self.input));
        let ts_us = self.ts_us;
        let Dut::OpenNic(sim) = &mut self.dut else {
            unreachable!("called for the wrapper only")
        };
        if edge.axis {
            let i = &mut sim.input;
            i.ts_us = ts_us;
            i.h2c = h2c_beat;
            i.rx = rx_beat;
            i.c2h_tready = ready.into();
            i.tx_tready = ready.into();
        }
        if edge.axil {
            let i = &mut sim.input;
            i.awaddr = axil.awaddr;
            i.awvalid = axil.awvalid.into();
            i.wdata = axil.wdata;
            i.wvalid = axil.wvalid.into();
            i.bready = axil.bready.into();
            i.araddr = axil.araddr;
            i.arvalid = axil.arvalid.into();
            i.rready = axil.rready.into();
        }
        let out = sim.comb();
        let cycle = sim.axis_cycles();
        sim.edge();
        let mut step = Step {
            axil: None,
            out_valid: None,
        };
        if edge.axis {
            // both may be taken at one edge only if the arbiter broke the per-frame rule
            let took_h2c = h2c.filter(|_| out.h2c_tready != 0);
            let took_rx = rx.filter(|_| out.rx_tready != 0);
            if took_h2c.is_some() && took_rx.is_some() {
                self.protocol_error("H2C and RX beats taken at one clock".into());
            }
            if let Some(i) = took_h2c.or(took_rx) {
                self.beat_accepted(i, cycle);
            }
            self.opennic_out(&out, ready, cycle);
            if out.st_valid != 0 {
                self.verdict(Status {
                    verdict: out.st_verdict,
                    reason: out.st_reason,
                    port: out.st_port,
                    ct_state: (out.st_ct_valid != 0).then_some(out.st_ct_state),
                    rule: (out.st_rule_valid != 0).then_some(out.st_rule),
                    cycles: out.st_cycles,
                    at_cycle: cycle,
                });
            }
            step.out_valid = Some(out.c2h.tvalid != 0 || out.tx.tvalid != 0);
        }
        if edge.axil {
            step.axil = Some(AxilSeen {
                awready: out.awready != 0,
                wready: out.wready != 0,
                bvalid: out.bvalid != 0,
                arready: out.arready != 0,
                rvalid: out.rvalid != 0,
                rdata: out.rdata,
            });
        }
        step
    }

    /// The wrapper's two outputs at one axis_aclk edge: C2H (path 0, the port in
    /// tuser_dst) and TX (path 1, the uplink port), each checked against the shell's
    /// rules.
    fn opennic_out(&mut self, out: &ZoOut, ready: bool, cycle: u64) {
        for (path, s) in [(0, &out.c2h), (1, &out.tx)] {
            if s.tvalid == 0 || !ready {
                continue;
            }
            let port = if path == 0 {
                if s.tuser_src != 0 {
                    self.protocol_error(format!("C2H tuser_src {:#x}, not 0", s.tuser_src));
                }
                s.tuser_dst
            } else {
                let (src, dst) = (1u16 << opennic::FUNC_ID, 1u16 << (6 + opennic::CMAC_ID));
                if s.tuser_src != src || s.tuser_dst != dst {
                    self.protocol_error(format!(
                        "TX tuser_src {:#x} tuser_dst {:#x}, not {src:#x} {dst:#x}",
                        s.tuser_src, s.tuser_dst
                    ));
                }
                opennic::UPLINK_PORT
            };
            let mut data = [0u8; BEAT_BYTES];
            for (c, w) in data.chunks_exact_mut(4).zip(s.tdata) {
                c.copy_from_slice(&w.to_le_bytes());
            }
            self.out_beat(
                path,
                cycle,
                &data,
                s.tkeep,
                s.tlast != 0,
                port,
                Some(s.tuser_size),
            );
        }
    }

    fn protocol_error(&mut self, what: String) {
        if self.protocol_errors.len() < 16 {
            self.protocol_errors.push(what);
        }
    }

    /// The input beat at queue position `i` was taken at `cycle`.
    fn beat_accepted(&mut self, i: usize, cycle: u64) {
        self.input.remove(i);
        self.beats_in += 1;
        if self.record_in_beats {
            self.in_beat_cycles.push(cycle);
        }
    }

    /// An output beat left by `path` at `cycle`; `size` is the wrapper's tuser_size.
    #[allow(clippy::too_many_arguments)]
    fn out_beat(
        &mut self,
        path: usize,
        cycle: u64,
        data: &[u8; BEAT_BYTES],
        keep: u64,
        last: bool,
        port: u16,
        size: Option<u16>,
    ) {
        self.beats_out += 1;
        self.last_out_cycle = cycle;
        let n = (keep.trailing_ones() as usize).min(BEAT_BYTES);
        if let Some(size) = size {
            // the shell: tuser_size the same on every beat, tkeep all ones but on the last
            match self.cur_size[path] {
                Some(s) if s != size => self.protocol_error(format!(
                    "tuser_size changed from {s} to {size} within a frame"
                )),
                _ => self.cur_size[path] = Some(size),
            }
            if !last && keep != u64::MAX {
                self.protocol_error(format!("tkeep {keep:#x} on a beat before the last"));
            }
            if keep != 0 && keep.count_ones() as usize != n {
                self.protocol_error(format!("tkeep {keep:#x} is not contiguous"));
            }
        }
        self.cur_out[path].extend_from_slice(&data[..n]);
        if last {
            let data = std::mem::take(&mut self.cur_out[path]);
            let size = self.cur_size[path].take();
            if size.is_some_and(|s| usize::from(s) != data.len()) {
                self.protocol_error(format!(
                    "tuser_size {size:?} for a frame of {} bytes",
                    data.len()
                ));
            }
            self.frames_done += 1;
            self.frames_out.push_back(Frame { port, data });
        }
    }

    /// A verdict record.
    fn verdict(&mut self, st: Status) {
        self.verdicts_seen += 1;
        if u32::from(st.verdict) != regmap::verdict_enum::DROP {
            self.frames_promised += 1;
        }
        self.statuses.push_back(st);
    }

    /// Runs `n` clocks of the datapath.
    pub fn run(&mut self, n: u64) {
        let end = self.cycles() + n;
        while self.cycles() < end {
            self.step(&AxilDrive::default());
        }
    }

    /// Runs until every queued frame has its verdict, a frame has left for every forward
    /// and punt verdict, and the output has been quiet for a while, or fails after `max`
    /// clocks. (A frame may leave long after its verdict: the egress first discards the
    /// beats of a dropped frame ahead of it, up to `max_frame` bytes; behind the OpenNIC
    /// wrapper the output holds a frame until its last beat is in.) Fails on any breach
    /// of the shell's stream rules.
    pub fn run_until_idle(&mut self, max: u64) -> Result<(), SimError> {
        let start = self.cycles();
        loop {
            let step = self.step(&AxilDrive::default());
            if !self.protocol_errors.is_empty() {
                return Err(SimError::Mismatch(format!(
                    "a breach of the OpenNIC stream rules: {}",
                    self.protocol_errors.join("; ")
                )));
            }
            let Some(out_valid) = step.out_valid else {
                continue;
            };
            let last_verdict = self.statuses.back().map_or(0, |s| s.at_cycle);
            let done = self.input.is_empty()
                && self.verdicts_seen == self.frames_sent
                && self.frames_done >= self.frames_promised
                && !out_valid
                && self.cycles() > self.last_out_cycle.max(last_verdict) + 16;
            if done {
                return Ok(());
            }
            if self.cycles() - start > max {
                return Err(SimError::Timeout {
                    what: "the datapath draining",
                    cycles: max,
                });
            }
        }
    }

    /// Sends `frames` back to back at time `at_us`, runs until the datapath is
    /// idle and pairs each packet's verdict record with the frame it produced (a
    /// forward or a punt leaves one frame; frames leave in arrival order). Fails if
    /// the verdicts or frames do not add up.
    pub fn exchange(
        &mut self,
        at_us: u64,
        frames: &[(u16, Vec<u8>)],
    ) -> Result<Vec<(Status, Option<Frame>)>, SimError> {
        self.set_time_us(at_us);
        for (port, f) in frames {
            self.send(*port, f);
        }
        self.run_until_idle(200_000 + 1_000 * frames.len() as u64)?;
        let statuses = self.take_statuses();
        let mut out = self.take_frames().into_iter();
        if statuses.len() != frames.len() {
            return Err(SimError::Mismatch(format!(
                "{} verdicts for {} packets",
                statuses.len(),
                frames.len()
            )));
        }
        let mut v = Vec::with_capacity(statuses.len());
        for st in statuses {
            let frame = if u32::from(st.verdict) == regmap::verdict_enum::DROP {
                None
            } else {
                Some(out.next().ok_or_else(|| {
                    SimError::Mismatch(format!("verdict {} left no frame", st.verdict))
                })?)
            };
            v.push((st, frame));
        }
        if let Some(f) = out.next() {
            return Err(SimError::Mismatch(format!(
                "a frame without a verdict left port {}",
                f.port
            )));
        }
        Ok(v)
    }

    /// AXI4-Lite write of one register (AW and W offered together, each withdrawn
    /// when taken; bready held until the response).
    pub fn write(&mut self, addr: u32, data: u32) -> Result<(), SimError> {
        let mut req = AxilDrive {
            awaddr: addr,
            awvalid: true,
            wdata: data,
            wvalid: true,
            bready: true,
            ..AxilDrive::default()
        };
        let mut clocks = 0;
        while clocks < AXIL_TIMEOUT {
            let Some(seen) = self.step(&req).axil else {
                continue;
            };
            clocks += 1;
            if req.awvalid && seen.awready {
                req.awvalid = false;
            }
            if req.wvalid && seen.wready {
                req.wvalid = false;
            }
            if seen.bvalid {
                return Ok(());
            }
        }
        Err(SimError::Timeout {
            what: "AXI4-Lite write",
            cycles: AXIL_TIMEOUT,
        })
    }

    /// AXI4-Lite read of one register (rready held until the data).
    pub fn read(&mut self, addr: u32) -> Result<u32, SimError> {
        let mut req = AxilDrive {
            araddr: addr,
            arvalid: true,
            rready: true,
            ..AxilDrive::default()
        };
        let mut clocks = 0;
        while clocks < AXIL_TIMEOUT {
            let Some(seen) = self.step(&req).axil else {
                continue;
            };
            clocks += 1;
            if req.arvalid && seen.arready {
                req.arvalid = false;
            }
            if !req.arvalid && seen.rvalid {
                return Ok(seen.rdata);
            }
        }
        Err(SimError::Timeout {
            what: "AXI4-Lite read",
            cycles: AXIL_TIMEOUT,
        })
    }
}

/// The Verilated NIC as the register space of the FPGA driver (`ztnic-fpga`).
impl RegisterAccess for Nic {
    type Error = SimError;

    fn read32(&mut self, addr: u32) -> Result<u32, SimError> {
        self.read(addr)
    }

    fn write32(&mut self, addr: u32, value: u32) -> Result<(), SimError> {
        self.write(addr, value)
    }
}
