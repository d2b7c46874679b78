//! # ztnic-verilator-tests — the Verilated datapath as a scenario [`Target`]
//!
//! [`RtlTarget`] drives [`ztnic_rtl_sim::Nic`] through the FPGA driver
//! ([`ztnic_fpga::Driver`], the same one a card uses): table operations become the
//! hardware layouts of `rtl/regmap.toml`; packets are sent cycle by cycle and the
//! output stream and the verdict side-band become [`Outcome`]s.

use std::net::IpAddr;

use ztnic_fpga::{Driver, FpgaError, Geometry};
use ztnic_model::addr::to_u128;
use ztnic_model::policy::Action;
use ztnic_model::{Config, Counters, Op, Outcome, PortClass, RemoteAction, Rule};
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

/// An IPv4/UDP frame of exactly `len` bytes (at least 42) from `src` to `dst`.
pub fn udp_frame(len: usize, src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16) -> Vec<u8> {
    let len = len.max(42);
    let mut f = vec![0u8; len];
    f[0..6].copy_from_slice(&[2, 0, 0, 0, 0, 0xaa]);
    f[6..12].copy_from_slice(&[2, 0, 0, 0, 0, 0xbb]);
    f[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
    let ip_len = (len - 14) as u16;
    f[14] = 0x45;
    f[16..18].copy_from_slice(&ip_len.to_be_bytes());
    f[22] = 64;
    f[23] = 17;
    f[26..30].copy_from_slice(&src);
    f[30..34].copy_from_slice(&dst);
    let csum = !ztnic_model::parse::ipv4_checksum_fold(&f[14..34]);
    f[24..26].copy_from_slice(&csum.to_be_bytes());
    f[34..36].copy_from_slice(&sport.to_be_bytes());
    f[36..38].copy_from_slice(&dport.to_be_bytes());
    f[38..40].copy_from_slice(&(ip_len - 20).to_be_bytes());
    for (i, b) in f[42..].iter_mut().enumerate() {
        *b = i as u8;
    }
    f
}

/// A minimum-size (60-byte) IPv4/TCP segment without payload.
#[allow(clippy::too_many_arguments)]
pub fn tcp_frame(
    src: [u8; 4],
    dst: [u8; 4],
    sport: u16,
    dport: u16,
    flags: u8,
    seq: u32,
    ack: u32,
    win: u16,
) -> Vec<u8> {
    let mut f = vec![0u8; 60];
    f[0..6].copy_from_slice(&[2, 0, 0, 0, 0, 0xaa]);
    f[6..12].copy_from_slice(&[2, 0, 0, 0, 0, 0xbb]);
    f[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
    f[14] = 0x45;
    f[16..18].copy_from_slice(&40u16.to_be_bytes());
    f[22] = 64;
    f[23] = 6;
    f[26..30].copy_from_slice(&src);
    f[30..34].copy_from_slice(&dst);
    let csum = !ztnic_model::parse::ipv4_checksum_fold(&f[14..34]);
    f[24..26].copy_from_slice(&csum.to_be_bytes());
    f[34..36].copy_from_slice(&sport.to_be_bytes());
    f[36..38].copy_from_slice(&dport.to_be_bytes());
    f[38..42].copy_from_slice(&seq.to_be_bytes());
    f[42..46].copy_from_slice(&ack.to_be_bytes());
    f[46] = 0x50;
    f[47] = flags;
    f[48..50].copy_from_slice(&win.to_be_bytes());
    f
}

/// Table writes of a small NIC: vport 1 (10.0.0.1, ctx 256) may send UDP anywhere in
/// `world` (natively out of the uplink, port 0); the CPU port is 255.
pub fn world_udp_setup() -> Vec<Op> {
    use ztnic_model::{CtxEpoch, PortRange, Prefix, ProtoMatch, RemoteEp, VportCtx};
    let ip = |s: &str| s.parse::<IpAddr>().expect("literal address");
    vec![
        Op::SetPortClass {
            port: 0,
            class: PortClass::Uplink,
        },
        Op::SetPortClass {
            port: 1,
            class: PortClass::Vport,
        },
        Op::SetPortClass {
            port: 255,
            class: PortClass::Cpu,
        },
        Op::SetVportCtx(VportCtx {
            port: 1,
            ip: ip("10.0.0.1"),
            ctx: 256,
            zone: 0,
        }),
        Op::SetCtxEpoch(CtxEpoch { ctx: 256, epoch: 1 }),
        Op::SetRemoteEp(RemoteEp {
            prefix: Prefix {
                addr: ip("0.0.0.0"),
                len: 0,
            },
            action: RemoteAction::World,
        }),
        Op::SetRule(Rule {
            id: 1,
            priority: 1,
            src: Some(256),
            dst: None,
            proto: ProtoMatch(Some(17)),
            ports: PortRange::ANY,
            action: Action::Allow,
        }),
    ]
}
