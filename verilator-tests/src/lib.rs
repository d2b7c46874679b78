//! # ztnic-verilator-tests — the Verilated datapath as a scenario [`Target`]
//!
//! [`RtlTarget`] drives [`ztnic_rtl_sim::Nic`] through the FPGA driver
//! ([`ztnic_fpga::Driver`], the same one a card uses): table operations become the
//! hardware layouts of `rtl/regmap.toml`; packets are sent cycle by cycle and the
//! output stream and the verdict side-band become [`Outcome`]s.

use std::net::IpAddr;

use ztnic_fpga::{Driver, FpgaError, Geometry};
use ztnic_model::addr::to_u128;
use ztnic_model::{Config, Counters, Op, Outcome};
use ztnic_rtl_sim::{Nic, SimError};
use ztnic_scenario::{Target, TargetError};

pub use ztnic_fpga::policy_key;

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

/// The Verilated NIC as a scenario target.
pub struct RtlTarget {
    drv: Driver<Nic>,
}

impl RtlTarget {
    /// A fresh Verilated NIC with the default configuration.
    pub fn new() -> Result<RtlTarget, RtlError> {
        Ok(RtlTarget {
            drv: Driver::new(Nic::new())?,
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
        "rtl".into()
    }

    fn reset(&mut self, config: &Config) -> Result<(), TargetError> {
        let mut fresh = RtlTarget::new()?;
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
