//! Control-plane operations on a datapath: the table writes and configuration changes
//! that the runtime, the scenarios and every target's driver speak. Each target maps
//! them onto its own interface (the model's tables, P4Runtime writes, AXI-Lite).

use std::net::IpAddr;

use serde::Deserialize;

use crate::conntrack::{CtKey, OverflowEntry};
use crate::parse::Flow;
use crate::pipeline::Datapath;
use crate::tables::{CtxEpoch, LocalEp, PortClass, Prefix, RemoteEp, VportCtx};
use crate::{Config, ConfigError, Rule};

/// A control-plane operation: a table write or a configuration change.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Op {
    SetPortClass {
        port: u16,
        class: PortClass,
    },
    /// The port loses its class: its packets are dropped as `unknown_port`.
    DeletePortClass {
        port: u16,
    },
    SetVportCtx(VportCtx),
    DeleteVportCtx {
        port: u16,
        ip: IpAddr,
    },
    SetLocalEp(LocalEp),
    DeleteLocalEp {
        ip: IpAddr,
    },
    SetRemoteEp(RemoteEp),
    DeleteRemoteEp {
        prefix: Prefix,
    },
    SetCtxEpoch(CtxEpoch),
    DeleteCtxEpoch {
        ctx: u32,
    },
    SetRule(Rule),
    DeleteRule {
        id: u32,
    },
    SetCtOverflow(OverflowFlow),
    DeleteCtOverflow(OverflowFlow),
    /// The complete new configuration (files write a partial one; the loader merges it).
    SetConfig(Box<Config>),
}

/// A flow placed into `ct_overflow` by the controller, named by its originator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverflowFlow {
    #[serde(default)]
    pub zone: u16,
    pub proto: u8,
    pub src: IpAddr,
    pub dst: IpAddr,
    #[serde(default)]
    pub sport: u16,
    #[serde(default)]
    pub dport: u16,
    /// Idle time before the target reports the entry (P4Runtime idle timeout).
    #[serde(default = "idle_default")]
    pub idle_timeout_ms: u64,
}

fn idle_default() -> u64 {
    10_000
}

impl OverflowFlow {
    /// The conntrack key, and whether the originator is its `lo` side.
    pub fn key(&self) -> (CtKey, bool) {
        let f = Flow {
            v6: self.src.is_ipv6(),
            src: crate::addr::to_u128(self.src),
            dst: crate::addr::to_u128(self.dst),
            proto: self.proto,
            sport: self.sport,
            dport: self.dport,
        };
        CtKey::of_flow(self.zone, &f)
    }
}

/// A control operation the datapath cannot carry out.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("{0}: no such entry")]
    NotFound(String),
    #[error(transparent)]
    Config(#[from] ConfigError),
}

impl Datapath {
    /// Applies one control operation. A rejected operation changes nothing.
    pub fn apply(&mut self, op: &Op) -> Result<(), ApplyError> {
        let missing = |what: String| ApplyError::NotFound(what);
        let t = &mut self.tables;
        match op {
            Op::SetPortClass { port, class } => {
                t.port_class.insert(*port, *class);
            }
            Op::DeletePortClass { port } => {
                t.port_class
                    .remove(port)
                    .ok_or_else(|| missing(format!("port_class {port}")))?;
            }
            Op::SetVportCtx(e) => {
                t.set_vport_ctx(*e);
            }
            Op::DeleteVportCtx { port, ip } => {
                t.remove_vport_ctx(*port, *ip)
                    .ok_or_else(|| missing(format!("vport_ctx {port} {ip}")))?;
            }
            Op::SetLocalEp(e) => {
                t.set_local_ep(*e);
            }
            Op::DeleteLocalEp { ip } => {
                t.remove_local_ep(*ip)
                    .ok_or_else(|| missing(format!("local_ep {ip}")))?;
            }
            Op::SetRemoteEp(e) => {
                t.set_remote_ep(*e);
            }
            Op::DeleteRemoteEp { prefix } => {
                t.remove_remote_ep(*prefix)
                    .ok_or_else(|| missing(format!("remote_ep {prefix}")))?;
            }
            Op::SetCtxEpoch(e) => {
                t.ctx_epoch.insert(e.ctx, e.epoch);
            }
            Op::DeleteCtxEpoch { ctx } => {
                t.ctx_epoch
                    .remove(ctx)
                    .ok_or_else(|| missing(format!("ctx_epoch {ctx}")))?;
            }
            Op::SetRule(r) => {
                t.set_rule(*r);
            }
            Op::DeleteRule { id } => {
                t.remove_rule(*id)
                    .ok_or_else(|| missing(format!("policy rule {id}")))?;
            }
            Op::SetCtOverflow(f) => {
                let (key, orig_lo) = f.key();
                self.ct.set_overflow(
                    key,
                    OverflowEntry {
                        orig_lo,
                        last_hit: 0,
                        idle_timeout_us: f.idle_timeout_ms * 1000,
                    },
                );
            }
            Op::DeleteCtOverflow(f) => {
                let (key, _) = f.key();
                self.ct
                    .remove_overflow(&key)
                    .ok_or_else(|| missing(format!("ct_overflow {key}")))?;
            }
            Op::SetConfig(c) => self.set_config((**c).clone())?,
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deleting_a_missing_entry_is_rejected_and_changes_nothing() {
        let mut dp = Datapath::new(Config::default()).unwrap();
        dp.apply(&Op::SetCtxEpoch(CtxEpoch { ctx: 256, epoch: 1 }))
            .unwrap();
        let before = dp.tables.ctx_epoch.clone();
        assert!(matches!(
            dp.apply(&Op::DeleteCtxEpoch { ctx: 999 }),
            Err(ApplyError::NotFound(_))
        ));
        assert!(matches!(
            dp.apply(&Op::DeleteRule { id: 7 }),
            Err(ApplyError::NotFound(_))
        ));
        assert_eq!(dp.tables.ctx_epoch, before);
    }

    #[test]
    fn an_invalid_configuration_is_rejected_and_the_old_one_stays() {
        let mut dp = Datapath::new(Config::default()).unwrap();
        let bad = Config {
            ct_buckets: 3,
            ..Config::default()
        };
        assert!(dp.apply(&Op::SetConfig(Box::new(bad))).is_err());
        assert_eq!(dp.config(), &Config::default());
    }
}
