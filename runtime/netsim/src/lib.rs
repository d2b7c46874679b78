//! # ztnic-netsim — hosts with ztnic NICs joined by a simulated underlay
//!
//! Several hosts, each with a ztnic NIC of one [`Target`]: the Verilated RTL behind
//! its own P4Runtime agent (`ztnic-agent`), or a bmv2 `simple_switch_grpc` running
//! the P4 program (`ztnic-bmv2`). Either way a controller programs the NIC over
//! P4Runtime at [`Datapath::endpoint`]; only the datapath differs. A frame that
//! leaves a NIC's uplink is handed to the NIC whose VTEP address is its outer IPv4
//! destination, anything else leaves for the internet. A simulation (the demo,
//! replay, tests) sends a frame from a workload's vport and follows it hop by hop
//! to where it ends.
//!
//! Time: a Verilated NIC runs on the simulation's clock (`at_us`); bmv2 keeps its
//! own (real time) and ignores `at_us`, so on bmv2 conntrack ages in wall-clock
//! time. The demo does not depend on conntrack timeouts.

use std::net::Ipv4Addr;
use std::time::Duration;

#[cfg(feature = "sim")]
use ztnic_agent::{Agent, FpgaBackend, SimDevice};
use ztnic_agent::{AgentError, DeviceError};
use ztnic_bmv2::{Bmv2Nic, Bmv2NicError};
use ztnic_model::{DropReason, Outcome, PuntReason, Verdict};
#[cfg(feature = "sim")]
use ztnic_p4runtime_server::ServerConfig;

/// Which datapath the NICs of a fabric have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The Verilated RTL (`ztnic_top`) in-process, behind a P4Runtime agent.
    Sim,
    /// bmv2 `simple_switch_grpc`, the P4 program loaded by the controller.
    Bmv2,
}

impl Target {
    /// `sim` or `bmv2`.
    pub fn name(self) -> &'static str {
        match self {
            Target::Sim => "sim",
            Target::Bmv2 => "bmv2",
        }
    }

    /// The device configuration a controller loads with the ztnic P4Info: none
    /// for the agent (its program is fixed), the committed bmv2 JSON
    /// (`p4/build/ztnic.json`) for bmv2.
    pub fn device_config(self) -> Result<Vec<u8>, FabricError> {
        match self {
            Target::Sim => Ok(Vec::new()),
            Target::Bmv2 => {
                let path = ztnic_bmv2::tools::ztnic_json();
                std::fs::read(&path).map_err(|e| FabricError::Config(path.display().to_string(), e))
            }
        }
    }
}

impl Target {
    /// Whether this machine can run NICs of this target: sim needs a build
    /// with the `sim` cargo feature (the Verilated RTL), bmv2 needs
    /// `simple_switch_grpc` on `PATH`.
    pub fn check(self) -> Result<(), FabricError> {
        match self {
            Target::Sim if cfg!(feature = "sim") => Ok(()),
            Target::Sim => Err(FabricError::NoSim),
            Target::Bmv2 => ztnic_bmv2::tools::find(ztnic_bmv2::tools::SIMPLE_SWITCH_GRPC)
                .map(|_| ())
                .ok_or(FabricError::NoBmv2),
        }
    }
}

impl std::str::FromStr for Target {
    type Err = FabricError;
    fn from_str(s: &str) -> Result<Target, FabricError> {
        match s {
            "sim" => Ok(Target::Sim),
            "bmv2" => Ok(Target::Bmv2),
            _ => Err(FabricError::UnknownTarget(s.to_string())),
        }
    }
}

/// One NIC's datapath.
pub enum Datapath {
    /// A Verilated NIC behind its agent.
    #[cfg(feature = "sim")]
    Sim(Agent<SimDevice>),
    /// A bmv2 switch.
    Bmv2(Box<Bmv2Nic>),
}

impl Datapath {
    /// Starts one datapath of `target` (an agent on a free 127.0.0.1 port over a
    /// fresh Verilated NIC, or a switch). Must run inside a Tokio runtime.
    pub async fn start(target: Target) -> Result<Datapath, FabricError> {
        Ok(match target {
            #[cfg(feature = "sim")]
            Target::Sim => {
                let backend = FpgaBackend::new(SimDevice::new())?;
                let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
                let agent = Agent::start(backend, addr, ServerConfig::default(), false).await?;
                Datapath::Sim(agent)
            }
            #[cfg(not(feature = "sim"))]
            Target::Sim => return Err(FabricError::NoSim),
            Target::Bmv2 => {
                target.check()?;
                Datapath::Bmv2(Box::new(Bmv2Nic::start()?))
            }
        })
    }

    /// The P4Runtime endpoint a controller connects to (`http://127.0.0.1:PORT`).
    pub fn endpoint(&self) -> String {
        match self {
            #[cfg(feature = "sim")]
            Datapath::Sim(a) => a.endpoint(),
            Datapath::Bmv2(b) => b.endpoint(),
        }
    }

    /// The P4Runtime address (`127.0.0.1:PORT`).
    pub fn addr(&self) -> String {
        match self {
            #[cfg(feature = "sim")]
            Datapath::Sim(a) => a.addr().to_string(),
            Datapath::Bmv2(b) => b.addr().to_string(),
        }
    }

    /// What the NIC is, for people.
    pub fn describe(&self) -> String {
        match self {
            #[cfg(feature = "sim")]
            Datapath::Sim(a) => format!("Verilated ztnic_top, P4Runtime agent {}", a.addr()),
            Datapath::Bmv2(b) => format!(
                "simple_switch_grpc pid {}, P4Runtime {}",
                b.switch().pid(),
                b.addr()
            ),
        }
    }

    /// Sends `frame` into `port` at `at_us` (ignored by bmv2, which keeps real
    /// time) and returns what the NIC did with it.
    #[cfg_attr(not(feature = "sim"), allow(unused_variables))]
    pub async fn send(
        &mut self,
        at_us: u64,
        port: u16,
        frame: Vec<u8>,
    ) -> Result<Outcome, FabricError> {
        match self {
            #[cfg(feature = "sim")]
            Datapath::Sim(a) => {
                let outs: Vec<Outcome> =
                    a.with_backend(|b| b.device().send(at_us, &[(port, frame)]))?;
                outs.into_iter().next().ok_or(FabricError::NoOutcome)
            }
            Datapath::Bmv2(b) => Ok(b.send(port, &frame).await?),
        }
    }

    /// Frames that packets re-injected by a controller (PacketOut) sent out of a
    /// port since the last call, as (port, frame). bmv2 delivers them
    /// asynchronously: up to `wait` is spent waiting for the first.
    pub async fn take_output(&mut self, wait: Duration) -> Vec<(u16, Vec<u8>)> {
        match self {
            #[cfg(feature = "sim")]
            Datapath::Sim(a) => a
                .with_backend(|b| b.device().take_output())
                .into_iter()
                .map(|f| (f.port, f.data))
                .collect(),
            Datapath::Bmv2(b) => b
                .take_output(wait)
                .await
                .into_iter()
                .map(|f| (f.port, f.frame))
                .collect(),
        }
    }

    /// Stops the agent or the switch.
    pub async fn stop(self) {
        match self {
            #[cfg(feature = "sim")]
            Datapath::Sim(a) => a.stop().await,
            Datapath::Bmv2(b) => b.stop(),
        }
    }
}

/// The uplink port of every simulated NIC (the configuration default).
pub const UPLINK: u16 = 0;

/// Hops after which a frame is declared looping.
const MAX_HOPS: usize = 8;

/// One host of the fabric.
pub struct Host {
    pub name: String,
    pub vtep: Ipv4Addr,
    pub datapath: Datapath,
}

/// Where a frame ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum End {
    /// Delivered out of a vport of `host`.
    Delivered {
        host: String,
        port: u16,
        frame: Vec<u8>,
    },
    /// Dropped by `host`'s datapath (`rule`: the policy rule that denied it).
    Dropped {
        host: String,
        reason: DropReason,
        rule: Option<u32>,
    },
    /// Punted to `host`'s controller.
    Punted { host: String, reason: PuntReason },
    /// Left an uplink for an address that is no VTEP of the fabric.
    Internet { host: String, frame: Vec<u8> },
}

impl End {
    /// One line for people.
    pub fn describe(&self) -> String {
        match self {
            End::Delivered { host, port, .. } => format!("delivered by {host} to vport {port}"),
            End::Dropped { host, reason, .. } => format!("dropped by {host}: {}", reason.name()),
            End::Punted { host, reason } => format!("punted by {host}: {}", reason.name()),
            End::Internet { host, .. } => format!("sent by {host} to the internet"),
        }
    }
}

/// A frame's path: the NICs it crossed (host, ingress port) and where it ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Path {
    pub hops: Vec<(String, u16)>,
    pub end: End,
}

/// Why the fabric could not carry a frame.
#[derive(Debug, thiserror::Error)]
pub enum FabricError {
    #[error(transparent)]
    Agent(#[from] AgentError),
    #[error(transparent)]
    Bmv2(#[from] Bmv2NicError),
    #[error("--target bmv2 needs simple_switch_grpc (bmv2 with P4Runtime), which is not on PATH")]
    NoBmv2,
    #[error(
        "--target sim needs the Verilated RTL, and this ztnic was built without the `sim` feature \
         (build with default features, which needs Verilator)"
    )]
    NoSim,
    #[error("unknown target {0:?} (sim or bmv2)")]
    UnknownTarget(String),
    #[error("reading the device configuration {0}: {1}")]
    Config(String, #[source] std::io::Error),
    #[error("the NIC reported no outcome for the packet")]
    NoOutcome,
    #[error("{0}")]
    Device(#[from] DeviceError),
    #[error("driver: {0}")]
    Fpga(#[from] ztnic_fpga::FpgaError),
    #[error("no host {0}")]
    UnknownHost(String),
    #[error("the frame was still travelling after {MAX_HOPS} hops")]
    Loop,
}

/// Hosts with NICs, and the underlay between them.
pub struct Fabric {
    target: Target,
    hosts: Vec<Host>,
}

/// The outer IPv4 destination of an Ethernet frame (after up to two VLAN tags).
fn outer_dst(frame: &[u8]) -> Option<Ipv4Addr> {
    let mut off = 12;
    let mut et = u16::from_be_bytes([*frame.get(off)?, *frame.get(off + 1)?]);
    while et == 0x8100 || et == 0x88a8 {
        off += 4;
        et = u16::from_be_bytes([*frame.get(off)?, *frame.get(off + 1)?]);
    }
    if et != 0x0800 {
        return None;
    }
    let ip = frame.get(off + 2 + 16..off + 2 + 20)?;
    Some(Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3]))
}

impl Fabric {
    /// Starts one NIC of `target` per host (see [`Datapath::start`]). Must run
    /// inside a Tokio runtime. On an error, the NICs already started are stopped.
    pub async fn start(
        hosts: &[(String, Ipv4Addr)],
        target: Target,
    ) -> Result<Fabric, FabricError> {
        let mut fabric = Fabric {
            target,
            hosts: Vec::new(),
        };
        for (name, vtep) in hosts {
            match Datapath::start(target).await {
                Ok(datapath) => fabric.hosts.push(Host {
                    name: name.clone(),
                    vtep: *vtep,
                    datapath,
                }),
                Err(e) => {
                    fabric.stop().await;
                    return Err(e);
                }
            }
        }
        Ok(fabric)
    }

    /// The NICs' target.
    pub fn target(&self) -> Target {
        self.target
    }

    /// The hosts.
    pub fn hosts(&self) -> &[Host] {
        &self.hosts
    }

    /// A host by name.
    pub fn host(&self, name: &str) -> Result<&Host, FabricError> {
        self.hosts
            .iter()
            .find(|h| h.name == name)
            .ok_or_else(|| FabricError::UnknownHost(name.to_string()))
    }

    /// A host by name, to send into its NIC directly.
    pub fn host_mut(&mut self, name: &str) -> Result<&mut Host, FabricError> {
        self.hosts
            .iter_mut()
            .find(|h| h.name == name)
            .ok_or_else(|| FabricError::UnknownHost(name.to_string()))
    }

    fn index(&self, name: &str) -> Result<usize, FabricError> {
        self.hosts
            .iter()
            .position(|h| h.name == name)
            .ok_or_else(|| FabricError::UnknownHost(name.to_string()))
    }

    /// The host whose VTEP is the outer destination of `frame`.
    fn next_hop(&self, frame: &[u8]) -> Option<usize> {
        let d = outer_dst(frame)?;
        self.hosts.iter().position(|h| h.vtep == d)
    }

    /// Sends `frame` into port `port` of `host`'s NIC at time `at_us` and follows
    /// it through the underlay until it is delivered, dropped, punted or leaves.
    pub async fn send(
        &mut self,
        at_us: u64,
        host: &str,
        port: u16,
        frame: Vec<u8>,
    ) -> Result<Path, FabricError> {
        let mut hops = Vec::new();
        let (mut at, mut port, mut frame) = (self.index(host)?, port, frame);
        for _ in 0..MAX_HOPS {
            let h = &mut self.hosts[at];
            hops.push((h.name.clone(), port));
            let o = h.datapath.send(at_us, port, frame).await?;
            let name = h.name.clone();
            let end = match o.verdict {
                Verdict::Drop(reason) => End::Dropped {
                    host: name,
                    reason,
                    rule: o.rule,
                },
                Verdict::Punt { reason, .. } => End::Punted { host: name, reason },
                Verdict::Forward {
                    port: out,
                    frame: f,
                } if out != UPLINK => End::Delivered {
                    host: name,
                    port: out,
                    frame: f,
                },
                Verdict::Forward { frame: f, .. } => match self.next_hop(&f) {
                    Some(next) => {
                        at = next;
                        port = UPLINK;
                        frame = f;
                        continue;
                    }
                    None => End::Internet {
                        host: name,
                        frame: f,
                    },
                },
            };
            return Ok(Path { hops, end });
        }
        Err(FabricError::Loop)
    }

    /// Frames that packets re-injected by a controller (PacketOut) sent out of
    /// `host`'s NIC, followed through the underlay to where they ended (on bmv2,
    /// up to `wait` is spent waiting for the first frame).
    pub async fn follow_injected(
        &mut self,
        at_us: u64,
        host: &str,
        wait: Duration,
    ) -> Result<Vec<Path>, FabricError> {
        let i = self.index(host)?;
        let name = self.hosts[i].name.clone();
        let frames = self.hosts[i].datapath.take_output(wait).await;
        let mut v = Vec::new();
        for (port, data) in frames {
            if port != UPLINK {
                v.push(Path {
                    hops: vec![(name.clone(), port)],
                    end: End::Delivered {
                        host: name.clone(),
                        port,
                        frame: data,
                    },
                });
                continue;
            }
            match self.next_hop(&data) {
                Some(next) => {
                    let next = self.hosts[next].name.clone();
                    let mut p = self.send(at_us, &next, UPLINK, data).await?;
                    p.hops.insert(0, (name.clone(), port));
                    v.push(p);
                }
                None => v.push(Path {
                    hops: vec![(name.clone(), port)],
                    end: End::Internet {
                        host: name.clone(),
                        frame: data,
                    },
                }),
            }
        }
        Ok(v)
    }

    /// Stops every NIC.
    pub async fn stop(self) {
        for h in self.hosts {
            h.datapath.stop().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_outer_destination_is_read_behind_vlan_tags() {
        let mut f = vec![0u8; 60];
        f[12..14].copy_from_slice(&0x8100u16.to_be_bytes());
        f[16..18].copy_from_slice(&0x0800u16.to_be_bytes());
        f[18 + 16..18 + 20].copy_from_slice(&[192, 168, 0, 2]);
        assert_eq!(outer_dst(&f), Some(Ipv4Addr::new(192, 168, 0, 2)));
        f[16..18].copy_from_slice(&0x86ddu16.to_be_bytes());
        assert_eq!(outer_dst(&f), None);
        assert_eq!(outer_dst(&f[..10]), None);
    }
}
