//! The Verilated OpenNIC shell wrapper (`rtl/ztnic_opennic.v`) with its two clocks
//! advanced independently: an event-driven loop takes the next rising edge of
//! `axis_aclk` (the datapath) or `axil_aclk` (AXI4-Lite), whichever comes first in
//! simulated time, so the two domains meet in every phase relation. [`crate::Nic::opennic`]
//! puts the cycle-accurate bench around it.

use crate::ffi::{OpenNicHandle, ZoIn, ZoOut};

/// The ztnic port of frames from (and to) the CMAC adapter: the wrapper's
/// `UPLINK_PORT` as Verilated (its default).
pub const UPLINK_PORT: u16 = 0;
/// The wrapper's `FUNC_ID` as Verilated: TX frames carry `tuser_src = 1 << FUNC_ID`.
pub const FUNC_ID: u16 = 0;
/// The wrapper's `CMAC_ID` as Verilated: TX frames carry `tuser_dst = 1 << (6 + CMAC_ID)`.
pub const CMAC_ID: u16 = 0;

/// The two clocks of the simulated wrapper, in picoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Clocks {
    /// Period of `axis_aclk` (4000: 250 MHz).
    pub axis_ps: u64,
    /// Nominal period of `axil_aclk` (8000: 125 MHz).
    pub axil_ps: u64,
    /// Time of the first `axil_aclk` edge after the first `axis_aclk` edge.
    pub axil_phase_ps: u64,
    /// Every `axil_aclk` period is `axil_ps` plus a deterministic pseudo-random amount
    /// in `-axil_jitter_ps..=axil_jitter_ps`, so the clocks keep no fixed relation.
    pub axil_jitter_ps: u64,
    /// Seed of the jitter.
    pub seed: u64,
}

impl Default for Clocks {
    /// 250 MHz and about 125 MHz, 1.337 ns apart at the start, ±397 ps of jitter.
    fn default() -> Self {
        Clocks {
            axis_ps: 4000,
            axil_ps: 8000,
            axil_phase_ps: 1337,
            axil_jitter_ps: 397,
            seed: 0x0123_4567_89ab_cdef,
        }
    }
}

/// Which clocks rise at the next edge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Edge {
    pub(crate) axis: bool,
    pub(crate) axil: bool,
}

/// One Verilated `ztnic_opennic` and its two clocks.
pub(crate) struct OpenNicSim {
    raw: OpenNicHandle,
    clocks: Clocks,
    rng: u64,
    next_axis_ps: u64,
    next_axil_ps: u64,
    axis_cycles: u64,
    axil_cycles: u64,
    /// Inputs as they stand; each domain's part changes only before its own edges.
    pub(crate) input: ZoIn,
}

impl OpenNicSim {
    /// A model with both clocks stopped and `mod_rstn` low.
    pub(crate) fn new(clocks: Clocks) -> OpenNicSim {
        assert!(
            clocks.axis_ps > 0 && clocks.axil_ps > clocks.axil_jitter_ps,
            "the clock periods must stay positive: {clocks:?}"
        );
        OpenNicSim {
            raw: OpenNicHandle::new(),
            clocks,
            rng: clocks.seed | 1,
            next_axis_ps: clocks.axis_ps,
            next_axil_ps: clocks.axis_ps + clocks.axil_phase_ps,
            axis_cycles: 0,
            axil_cycles: 0,
            input: ZoIn::default(),
        }
    }

    /// `axis_aclk` edges so far.
    pub(crate) fn axis_cycles(&self) -> u64 {
        self.axis_cycles
    }

    /// `axil_aclk` edges so far.
    pub(crate) fn axil_cycles(&self) -> u64 {
        self.axil_cycles
    }

    /// The clocks that rise at the next edge (both when they coincide).
    pub(crate) fn next_edge(&self) -> Edge {
        Edge {
            axis: self.next_axis_ps <= self.next_axil_ps,
            axil: self.next_axil_ps <= self.next_axis_ps,
        }
    }

    /// Applies [`Self::input`] and returns the outputs before the next edge.
    pub(crate) fn comb(&mut self) -> ZoOut {
        self.raw.comb(&self.input)
    }

    /// Makes the next edge.
    pub(crate) fn edge(&mut self) {
        let e = self.next_edge();
        self.raw.edge(e.axis, e.axil);
        if e.axis {
            self.axis_cycles += 1;
            self.next_axis_ps += self.clocks.axis_ps;
        }
        if e.axil {
            self.axil_cycles += 1;
            let j = self.clocks.axil_jitter_ps;
            let period = self.clocks.axil_ps - j + self.next_random() % (2 * j + 1);
            self.next_axil_ps += period;
        }
    }

    /// Holds `mod_rstn` low for 8 `axil_aclk` edges, then runs until `mod_rst_done`
    /// and 8 more `axis_aclk` edges; panics if the reset never completes.
    pub(crate) fn reset(&mut self) {
        self.input.mod_rstn = 0;
        let start = self.axil_cycles;
        while self.axil_cycles < start + 8 {
            self.comb();
            self.edge();
        }
        self.input.mod_rstn = 1;
        let start = self.axil_cycles;
        loop {
            let out = self.comb();
            if out.mod_rst_done != 0 {
                break;
            }
            assert!(
                self.axil_cycles < start + 1000,
                "ztnic_opennic: mod_rst_done did not rise within 1000 axil_aclk clocks"
            );
            self.edge();
        }
        let start = self.axis_cycles;
        while self.axis_cycles < start + 8 {
            self.comb();
            self.edge();
        }
    }

    /// xorshift64*: the jitter's pseudo-random sequence.
    fn next_random(&mut self) -> u64 {
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}
