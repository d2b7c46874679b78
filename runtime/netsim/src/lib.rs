//! Several hosts, each with a Verilated ztnic NIC behind its own agent, joined by a
//! simulated underlay: a frame that leaves a NIC's uplink is handed to the NIC whose
//! VTEP address is its outer IPv4 destination, anything else leaves for the
//! internet. A simulation (the demo, tests) sends a frame from a workload's vport
//! and follows it hop by hop to where it ends.

use std::net::{Ipv4Addr, SocketAddr};

use ztnic_model::{DropReason, Outcome, PuntReason, Verdict};
use ztnic_p4runtime_server::ServerConfig;

use crate::{Agent, AgentError, DeviceError, FpgaBackend, SimDevice};

/// The uplink port of every simulated NIC (the configuration default).
pub const UPLINK: u16 = 0;

/// Hops after which a frame is declared looping.
const MAX_HOPS: usize = 8;

/// One host of the fabric.
pub struct Host {
    pub name: String,
    pub vtep: Ipv4Addr,
    pub agent: Agent<SimDevice>,
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
    #[error("{0}")]
    Device(#[from] DeviceError),
    #[error("driver: {0}")]
    Fpga(#[from] ztnic_fpga::FpgaError),
    #[error("no host {0}")]
    UnknownHost(String),
    #[error("the frame was still travelling after {MAX_HOPS} hops")]
    Loop,
}

/// Hosts with Verilated NICs and agents, and the underlay between them.
pub struct Fabric {
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
    /// Starts one agent per host on 127.0.0.1 (free ports), each over a fresh
    /// Verilated NIC. Must run inside a Tokio runtime.
    pub async fn start(hosts: &[(String, Ipv4Addr)]) -> Result<Fabric, FabricError> {
        let mut v = Vec::new();
        for (name, vtep) in hosts {
            let backend = FpgaBackend::new(SimDevice::new())?;
            let addr: SocketAddr = SocketAddr::from(([127, 0, 0, 1], 0));
            let agent = Agent::start(backend, addr, ServerConfig::default(), false).await?;
            v.push(Host {
                name: name.clone(),
                vtep: *vtep,
                agent,
            });
        }
        Ok(Fabric { hosts: v })
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

    /// Sends `frame` into port `port` of `host`'s NIC at time `at_us` and follows
    /// it through the underlay until it is delivered, dropped, punted or leaves.
    pub fn send(
        &self,
        at_us: u64,
        host: &str,
        port: u16,
        frame: Vec<u8>,
    ) -> Result<Path, FabricError> {
        let mut hops = Vec::new();
        let (mut host, mut port, mut frame) = (self.host(host)?, port, frame);
        for _ in 0..MAX_HOPS {
            hops.push((host.name.clone(), port));
            let outs: Vec<Outcome> = host
                .agent
                .with_backend(|b| b.device().send(at_us, &[(port, frame.clone())]))?;
            let o = outs.into_iter().next().ok_or(FabricError::Loop)?;
            let name = host.name.clone();
            match o.verdict {
                Verdict::Drop(reason) => {
                    return Ok(Path {
                        hops,
                        end: End::Dropped {
                            host: name,
                            reason,
                            rule: o.rule,
                        },
                    });
                }
                Verdict::Punt { reason, .. } => {
                    return Ok(Path {
                        hops,
                        end: End::Punted { host: name, reason },
                    });
                }
                Verdict::Forward {
                    port: out,
                    frame: f,
                } if out != UPLINK => {
                    return Ok(Path {
                        hops,
                        end: End::Delivered {
                            host: name,
                            port: out,
                            frame: f,
                        },
                    });
                }
                Verdict::Forward { frame: f, .. } => {
                    match outer_dst(&f).and_then(|d| self.hosts.iter().find(|h| h.vtep == d)) {
                        Some(next) => {
                            host = next;
                            port = UPLINK;
                            frame = f;
                        }
                        None => {
                            return Ok(Path {
                                hops,
                                end: End::Internet {
                                    host: name,
                                    frame: f,
                                },
                            });
                        }
                    }
                }
            }
        }
        Err(FabricError::Loop)
    }

    /// Frames that packets re-injected by a controller (PacketOut) sent out of
    /// `host`'s NIC, followed through the underlay to where they ended.
    pub fn follow_injected(&self, at_us: u64, host: &str) -> Result<Vec<Path>, FabricError> {
        let h = self.host(host)?;
        let frames = h.agent.with_backend(|b| b.device().take_output());
        let mut v = Vec::new();
        for f in frames {
            if f.port != UPLINK {
                v.push(Path {
                    hops: vec![(h.name.clone(), f.port)],
                    end: End::Delivered {
                        host: h.name.clone(),
                        port: f.port,
                        frame: f.data,
                    },
                });
                continue;
            }
            match outer_dst(&f.data).and_then(|d| self.hosts.iter().find(|x| x.vtep == d)) {
                Some(next) => {
                    let mut p = self.send(at_us, &next.name.clone(), UPLINK, f.data)?;
                    p.hops.insert(0, (h.name.clone(), f.port));
                    v.push(p);
                }
                None => v.push(Path {
                    hops: vec![(h.name.clone(), f.port)],
                    end: End::Internet {
                        host: h.name.clone(),
                        frame: f.data,
                    },
                }),
            }
        }
        Ok(v)
    }

    /// Stops every agent.
    pub async fn stop(self) {
        for h in self.hosts {
            h.agent.stop().await;
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
