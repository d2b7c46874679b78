//! # ztnic-verilator-tests — the Verilated datapath as a scenario [`Target`]
//!
//! [`RtlTarget`] drives [`ztnic_rtl_sim::Nic`] through the FPGA driver
//! ([`ztnic_fpga::Driver`], the same one a card uses): table operations become the
//! hardware layouts of `rtl/regmap.toml`; packets are sent cycle by cycle and the
//! output stream and the verdict side-band become [`Outcome`]s. The model is the
//! datapath alone or the datapath inside the OpenNIC shell wrapper ([`Model`]);
//! [`check_scenario`] is the scenario test both run.

use std::net::IpAddr;

use ztnic_fpga::{Driver, FpgaError, Geometry};
use ztnic_model::addr::to_u128;
use ztnic_model::{Config, Counters, Op, Outcome};
use ztnic_rtl_sim::{Nic, SimError};
use ztnic_scenario::{ModelTarget, Scenario, Target, TargetError, load_all, run, scenarios_dir};

pub use ztnic_fpga::policy_key;

pub mod phv;
pub mod storm;
pub mod tcp_gen;

/// A failed access, a refused entry, or output the datapath should not produce.
#[derive(Debug, thiserror::Error)]
pub enum RtlError {
    #[error(transparent)]
    Sim(#[from] SimError),
    #[error(transparent)]
    Fpga(#[from] FpgaError),
    #[error("the datapath produced {0}")]
    Output(String),
}

/// Which Verilated model a target drives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Model {
    /// `ztnic_top`: the datapath, one clock.
    Top,
    /// `ztnic_opennic`: the datapath in the OpenNIC shell wrapper, its AXI4-Lite on
    /// an unrelated clock ([`Nic::opennic`]).
    OpenNic,
}

impl Model {
    /// A fresh bench around this model, just out of reset.
    pub fn nic(self) -> Nic {
        match self {
            Model::Top => Nic::new(),
            Model::OpenNic => Nic::opennic(),
        }
    }
}

/// The Verilated NIC as a scenario target.
pub struct RtlTarget {
    drv: Driver<Nic>,
    model: Model,
}

impl RtlTarget {
    /// A fresh Verilated NIC (the datapath alone) with the default configuration.
    pub fn new() -> Result<RtlTarget, RtlError> {
        RtlTarget::of(Model::Top)
    }

    /// A fresh Verilated NIC of the given model with the default configuration.
    pub fn of(model: Model) -> Result<RtlTarget, RtlError> {
        Ok(RtlTarget {
            drv: Driver::new(model.nic())?,
            model,
        })
    }

    /// The cycle-accurate bench around the model.
    pub fn nic(&mut self) -> &mut Nic {
        self.drv.access_mut()
    }

    /// The FPGA driver that programs the tables.
    pub fn driver(&mut self) -> &mut Driver<Nic> {
        &mut self.drv
    }

    pub fn geometry(&self) -> Geometry {
        self.drv.geometry()
    }

    /// Applies one control operation through the driver.
    pub fn apply_op(&mut self, op: &Op) -> Result<(), RtlError> {
        Ok(self.drv.apply(op)?)
    }

    /// Every counter, as the model reports them.
    pub fn read_counters(&mut self) -> Result<Counters, RtlError> {
        Ok(self.drv.counters()?)
    }

    /// Sends one frame at `at_us` and collects what came out.
    pub fn send_frame(&mut self, at_us: u64, port: u16, frame: &[u8]) -> Result<Outcome, RtlError> {
        let mut v = self.send_burst(at_us, &[(port, frame.to_vec())])?;
        v.pop()
            .ok_or_else(|| RtlError::Output("no verdict for the packet".into()))
    }

    /// Sends frames back to back (as fast as the input accepts them) at `at_us` and
    /// returns their outcomes in order: the verdict side-band pairs with the output
    /// frames in order, since forwarded and punted frames leave in arrival order.
    pub fn send_burst(
        &mut self,
        at_us: u64,
        frames: &[(u16, Vec<u8>)],
    ) -> Result<Vec<Outcome>, RtlError> {
        let pairs = self.nic().exchange(at_us, frames)?;
        pairs
            .into_iter()
            .map(|(st, frame)| self.outcome(&st, frame))
            .collect()
    }

    /// The outcome of one verdict record and its frame.
    fn outcome(
        &self,
        st: &ztnic_rtl_sim::Status,
        frame: Option<ztnic_rtl_sim::Frame>,
    ) -> Result<Outcome, RtlError> {
        Ok(ztnic_rtl_sim::outcome(
            st,
            frame,
            self.drv.config().cpu_port,
        )?)
    }
}

impl Target for RtlTarget {
    fn name(&self) -> String {
        match self.model {
            Model::Top => "rtl".into(),
            Model::OpenNic => "rtl-opennic".into(),
        }
    }

    fn reset(&mut self, config: &Config) -> Result<(), TargetError> {
        let mut fresh = RtlTarget::of(self.model)?;
        fresh.apply_op(&Op::SetConfig(Box::new(config.clone())))?;
        *self = fresh;
        Ok(())
    }

    fn apply(&mut self, op: &Op) -> Result<(), TargetError> {
        Ok(self.apply_op(op)?)
    }

    fn send(&mut self, at_us: u64, port: u16, frame: &[u8]) -> Result<Outcome, TargetError> {
        Ok(self.send_frame(at_us, port, frame)?)
    }

    fn counters(&mut self) -> Result<Counters, TargetError> {
        Ok(self.read_counters()?)
    }
}

/// Every shared scenario (`scenarios/`).
pub fn shared_scenarios() -> Result<Vec<Scenario>, String> {
    load_all(&scenarios_dir()).map_err(|e| format!("cannot load the scenarios: {e}"))
}

/// Runs one scenario on a fresh `model`, checked against the verdicts written in the
/// file and, packet by packet, against the reference model; the RTL must observe every
/// ct_state and rule.
pub fn check_scenario(s: &Scenario, model: Model) -> Result<(), String> {
    let mut rtl = RtlTarget::of(model).map_err(|e| e.to_string())?;
    let mut reference = ModelTarget::default();
    let summary = run(s, &mut rtl, Some(&mut reference)).map_err(|e| e.to_string())?;
    if summary.unobserved != 0 {
        return Err("the RTL must observe every ct_state and rule".into());
    }
    Ok(())
}

/// An IP address as the 128-bit value the tables store.
pub fn addr128(ip: IpAddr) -> u128 {
    to_u128(ip)
}

/// A small deterministic random generator (xorshift64*) for sweeps and fuzzing.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// True with probability `num / den`.
    pub fn chance(&mut self, num: u64, den: u64) -> bool {
        self.next_u64() % den < num
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}
