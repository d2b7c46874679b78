//! # ztnic-rtl-sim — the Verilated ztnic datapath, driven from Rust
//!
//! The build script Verilates `rtl/` (Verilator 5, cached in `OUT_DIR`) and links it
//! through the small C ABI of `csrc/ztnic_sim.cpp`. Two layers:
//!
//! * [`Sim`]: one clock at a time — apply [`Inputs`], read [`Outputs`], tick.
//! * [`Nic`]: a cycle-accurate test bench around it: queue frames on the AXI4-Stream
//!   input (with optional idle cycles), collect output frames under optional
//!   back-pressure, AXI4-Lite reads and writes, table accesses through the table window,
//!   the event FIFO and the per-packet verdict side-band.
//!
//! ```no_run
//! use ztnic_rtl_sim::{Nic, regmap};
//! let mut nic = Nic::new();
//! assert_eq!(nic.read(regmap::id::BASE).unwrap(), regmap::id::TYPE);
//! ```

/// The register map constants (generated; they live in `ztnic-fpga`).
pub use ztnic_fpga::regmap;

mod ffi;
mod nic;
mod opennic;
mod outcome;
pub mod unit;

pub use nic::{Frame, Nic, Pattern, SimError, Status};
pub use opennic::Clocks as OpenNicClocks;
pub use outcome::outcome;
pub use ztnic_fpga::{Bits, Event};

/// Bytes per AXI4-Stream beat of the Verilated model (DATA_W = 512).
pub const BEAT_BYTES: usize = 64;

/// Inputs of one clock.
#[derive(Clone, Copy, Debug)]
pub struct Inputs {
    pub rst: bool,
    pub ts_us: u64,
    pub s_tdata: [u8; BEAT_BYTES],
    pub s_tkeep: u64,
    pub s_tvalid: bool,
    pub s_tlast: bool,
    pub s_tuser: u16,
    pub m_tready: bool,
    pub awaddr: u16,
    pub awvalid: bool,
    pub wdata: u32,
    pub wstrb: u8,
    pub wvalid: bool,
    pub bready: bool,
    pub araddr: u16,
    pub arvalid: bool,
    pub rready: bool,
}

impl Default for Inputs {
    fn default() -> Self {
        Inputs {
            rst: false,
            ts_us: 0,
            s_tdata: [0; BEAT_BYTES],
            s_tkeep: 0,
            s_tvalid: false,
            s_tlast: false,
            s_tuser: 0,
            m_tready: false,
            awaddr: 0,
            awvalid: false,
            wdata: 0,
            wstrb: 0,
            wvalid: false,
            bready: false,
            araddr: 0,
            arvalid: false,
            rready: false,
        }
    }
}

/// Outputs seen in one clock, before its rising edge.
#[derive(Clone, Copy, Debug)]
pub struct Outputs {
    pub s_tready: bool,
    pub m_tdata: [u8; BEAT_BYTES],
    pub m_tkeep: u64,
    pub m_tvalid: bool,
    pub m_tlast: bool,
    pub m_tuser: u16,
    pub awready: bool,
    pub wready: bool,
    pub bvalid: bool,
    pub arready: bool,
    pub rvalid: bool,
    pub rdata: u32,
    pub st_valid: bool,
    pub st_verdict: u8,
    pub st_reason: u8,
    pub st_port: u16,
    pub st_ct_valid: bool,
    pub st_ct_state: u8,
    pub st_rule_valid: bool,
    pub st_rule: u32,
    pub st_cycles: u16,
}

/// One Verilated `ztnic_top`.
pub struct Sim {
    raw: ffi::Handle,
    cycles: u64,
}

impl Default for Sim {
    fn default() -> Self {
        Self::new()
    }
}

impl Sim {
    /// A fresh model (all tables empty, registers at their reset values).
    pub fn new() -> Sim {
        Sim {
            raw: ffi::Handle::new(),
            cycles: 0,
        }
    }

    /// Applies `inputs` with the clock low and returns the outputs of this clock.
    pub fn comb(&mut self, inputs: &Inputs) -> Outputs {
        self.raw.comb(inputs)
    }

    /// The rising edge: registers take their next values.
    pub fn tick(&mut self) {
        self.raw.tick();
        self.cycles += 1;
    }

    /// Clocks simulated so far.
    pub fn cycles(&self) -> u64 {
        self.cycles
    }

    /// Holds reset for `n` clocks.
    pub fn reset(&mut self, n: u32) {
        let inp = Inputs {
            rst: true,
            ..Inputs::default()
        };
        for _ in 0..n {
            self.comb(&inp);
            self.tick();
        }
        self.comb(&Inputs::default());
    }
}
