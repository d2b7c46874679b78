//! A cycle-accurate test bench around [`Sim`]: stream frames in and out, AXI4-Lite,
//! register access (the table protocol is the driver's, `ztnic-fpga`) and the verdict side-band.

use std::collections::VecDeque;

use crate::{BEAT_BYTES, Inputs, Outputs, Sim};
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

/// The Verilated NIC with a cycle-accurate bench around it.
pub struct Nic {
    sim: Sim,
    ts_us: u64,
    input: VecDeque<Beat>,
    in_idle: Option<Pattern>,
    out_stall: Option<Pattern>,
    cur_out: Vec<u8>,
    frames_out: VecDeque<Frame>,
    statuses: VecDeque<Status>,
    frames_sent: u64,
    verdicts_seen: u64,
    beats_in: u64,
    beats_out: u64,
    last_out_cycle: u64,
    in_beat_cycles: Vec<u64>,
    record_in_beats: bool,
}

impl Default for Nic {
    fn default() -> Self {
        Self::new()
    }
}

const AXIL_TIMEOUT: u64 = 10_000;

impl Nic {
    /// A model just out of reset.
    pub fn new() -> Nic {
        let mut sim = Sim::new();
        sim.reset(4);
        Nic {
            sim,
            ts_us: 0,
            input: VecDeque::new(),
            in_idle: None,
            out_stall: None,
            cur_out: Vec::new(),
            frames_out: VecDeque::new(),
            statuses: VecDeque::new(),
            frames_sent: 0,
            verdicts_seen: 0,
            beats_in: 0,
            beats_out: 0,
            last_out_cycle: 0,
            in_beat_cycles: Vec::new(),
            record_in_beats: false,
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

    /// Records the clock of every accepted input beat (for throughput figures).
    pub fn record_input_beats(&mut self, on: bool) {
        self.record_in_beats = on;
        self.in_beat_cycles.clear();
    }

    /// Clocks at which input beats were accepted since recording started.
    pub fn input_beat_cycles(&self) -> &[u64] {
        &self.in_beat_cycles
    }

    /// Clocks simulated so far.
    pub fn cycles(&self) -> u64 {
        self.sim.cycles()
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

    /// One clock with the given AXI4-Lite inputs; returns this clock's outputs.
    fn clock(&mut self, axil: &Inputs) -> Outputs {
        let idle = self.in_idle.as_mut().is_some_and(|p| p());
        let stall = self.out_stall.as_mut().is_some_and(|p| p());
        let mut inp = *axil;
        inp.ts_us = self.ts_us;
        inp.m_tready = !stall;
        if let (false, Some(b)) = (idle, self.input.front()) {
            inp.s_tdata = b.data;
            inp.s_tkeep = b.keep;
            inp.s_tvalid = true;
            inp.s_tlast = b.last;
            inp.s_tuser = b.port;
        }
        let out = self.sim.comb(&inp);
        let cycle = self.sim.cycles();
        if inp.s_tvalid && out.s_tready {
            self.input.pop_front();
            self.beats_in += 1;
            if self.record_in_beats {
                self.in_beat_cycles.push(cycle);
            }
        }
        if out.m_tvalid && inp.m_tready {
            self.beats_out += 1;
            self.last_out_cycle = cycle;
            let n = (out.m_tkeep.trailing_ones() as usize).min(BEAT_BYTES);
            self.cur_out.extend_from_slice(&out.m_tdata[..n]);
            if out.m_tlast {
                self.frames_out.push_back(Frame {
                    port: out.m_tuser,
                    data: std::mem::take(&mut self.cur_out),
                });
            }
        }
        if out.st_valid {
            self.verdicts_seen += 1;
            self.statuses.push_back(Status {
                verdict: out.st_verdict,
                reason: out.st_reason,
                port: out.st_port,
                ct_state: out.st_ct_valid.then_some(out.st_ct_state),
                rule: out.st_rule_valid.then_some(out.st_rule),
                cycles: out.st_cycles,
                at_cycle: cycle,
            });
        }
        self.sim.tick();
        out
    }

    /// Runs `n` clocks.
    pub fn run(&mut self, n: u64) {
        for _ in 0..n {
            self.clock(&Inputs::default());
        }
    }

    /// Runs until every queued frame has its verdict and the output has been quiet for
    /// a while, or fails after `max` clocks.
    pub fn run_until_idle(&mut self, max: u64) -> Result<(), SimError> {
        let start = self.cycles();
        loop {
            let out = self.clock(&Inputs::default());
            let last_verdict = self.statuses.back().map_or(0, |s| s.at_cycle);
            let done = self.input.is_empty()
                && self.verdicts_seen == self.frames_sent
                && !out.m_tvalid
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

    /// AXI4-Lite write of one register.
    pub fn write(&mut self, addr: u32, data: u32) -> Result<(), SimError> {
        let mut req = Inputs {
            awaddr: addr as u16,
            awvalid: true,
            wdata: data,
            wstrb: 0xf,
            wvalid: true,
            ..Inputs::default()
        };
        for _ in 0..AXIL_TIMEOUT {
            let out = self.clock(&req);
            if out.awready && req.awvalid {
                req.awvalid = false;
                req.wvalid = false;
                req.bready = true;
                continue;
            }
            if req.bready && out.bvalid {
                return Ok(());
            }
        }
        Err(SimError::Timeout {
            what: "AXI4-Lite write",
            cycles: AXIL_TIMEOUT,
        })
    }

    /// AXI4-Lite read of one register.
    pub fn read(&mut self, addr: u32) -> Result<u32, SimError> {
        let mut req = Inputs {
            araddr: addr as u16,
            arvalid: true,
            ..Inputs::default()
        };
        for _ in 0..AXIL_TIMEOUT {
            let out = self.clock(&req);
            if out.arready && req.arvalid {
                req.arvalid = false;
                req.rready = true;
                continue;
            }
            if req.rready && out.rvalid {
                return Ok(out.rdata);
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
