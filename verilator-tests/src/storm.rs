//! The table writes the runtime makes while traffic flows — workloads arriving
//! (`vport_ctx`, `local_ep`), rules, context epochs — for the tests and the bench that
//! check the data plane never waits for them. None touches ctx 256 or its flows.

use std::net::IpAddr;

use ztnic_model::policy::Action;
use ztnic_model::{CtxEpoch, LocalEp, Op, PortRange, ProtoMatch, Rule, VportCtx};

/// The `i`-th write of a storm: entries with distinct keys, except the epochs of 50
/// contexts, which are written again and again.
pub fn storm_op(i: u32) -> Op {
    let b = [(i >> 8) as u8, i as u8];
    let ctx = 300 + (i % 50);
    match i % 4 {
        0 => Op::SetVportCtx(VportCtx {
            port: 3,
            ip: IpAddr::from([10, 9, b[0], b[1]]),
            ctx,
            zone: 0,
        }),
        1 => Op::SetRule(Rule {
            id: 1000 + i,
            priority: 5,
            src: Some(ctx),
            dst: Some(301),
            proto: ProtoMatch(Some(6)),
            ports: PortRange::ANY,
            action: Action::Allow,
        }),
        2 => Op::SetCtxEpoch(CtxEpoch {
            ctx,
            epoch: (i % 200) as u8 + 1,
        }),
        _ => Op::SetLocalEp(LocalEp {
            ip: IpAddr::from([10, 8, b[0], b[1]]),
            vport: 3,
            ctx,
            zone: 0,
        }),
    }
}

/// Whether write `i` of a storm of `n` is the last one to its key (an earlier epoch of
/// a context is overwritten by a later one).
pub fn storm_op_is_final(i: u32, n: u32) -> bool {
    match storm_op(i) {
        Op::SetCtxEpoch(e) => {
            !(i + 1..n).any(|j| matches!(storm_op(j), Op::SetCtxEpoch(l) if l.ctx == e.ctx))
        }
        _ => true,
    }
}
