//! Small sets of table writes that several suites drive their targets with.

use std::net::IpAddr;

use ztnic_model::tables::{CtxEpoch, LocalEp, PortClass, Prefix, RemoteAction, RemoteEp, VportCtx};
use ztnic_model::{Action, Op, PortRange, ProtoMatch, Rule};

/// An address literal.
pub fn ip(s: &str) -> IpAddr {
    s.parse().expect("an address literal")
}

/// Port 0 the uplink, port 255 the CPU port.
fn uplink_and_cpu() -> Vec<Op> {
    vec![
        Op::SetPortClass {
            port: 0,
            class: PortClass::Uplink,
        },
        Op::SetPortClass {
            port: 255,
            class: PortClass::Cpu,
        },
    ]
}

/// An allow rule from context `src` to `dst` for one protocol and port.
pub fn allow(id: u32, src: u32, dst: u32, proto: u8, port: u16) -> Op {
    Op::SetRule(Rule {
        id,
        priority: 10,
        src: Some(src),
        dst: Some(dst),
        proto: ProtoMatch(Some(proto)),
        ports: PortRange { lo: port, hi: port },
        action: Action::Allow,
    })
}

/// The first of the two local workloads of [`two_workloads`].
pub const A: &str = "10.0.0.1";
/// The second.
pub const B: &str = "10.0.0.2";

/// Two local workloads: A (10.0.0.1, ctx 256) on vport 1, B (10.0.0.2, ctx 258)
/// on vport 2; A may send B DNS (rule 1), B may open postgres on A (rule 2).
pub fn two_workloads() -> Vec<Op> {
    let mut ops = uplink_and_cpu();
    for (port, addr, ctx) in [(1u16, A, 256u32), (2, B, 258)] {
        ops.push(Op::SetPortClass {
            port,
            class: PortClass::Vport,
        });
        ops.push(Op::SetCtxEpoch(CtxEpoch { ctx, epoch: 1 }));
        ops.push(Op::SetVportCtx(VportCtx {
            port,
            ip: ip(addr),
            ctx,
            zone: 0,
        }));
        ops.push(Op::SetLocalEp(LocalEp {
            ip: ip(addr),
            vport: port,
            ctx,
            zone: 0,
        }));
    }
    ops.push(allow(1, 256, 258, 17, 53));
    ops.push(allow(2, 258, 256, 6, 5432));
    ops
}

/// Traffic between the workloads of [`two_workloads`], as (ingress vport, frame):
/// a DNS query A → B (UDP 40000 → 53), then a TCP handshake B → A on 5432 (SYN,
/// SYN-ACK, ACK). Every packet is allowed: the query and the SYN by rules 1
/// and 2, the SYN-ACK and ACK as part of the tracked connection.
pub fn two_workloads_traffic() -> Vec<(u16, Vec<u8>)> {
    let a = [10, 0, 0, 1];
    let b = [10, 0, 0, 2];
    let seg = |src, dst, sport, dport, flags, seq, ack| {
        crate::frames::tcp_frame(src, dst, sport, dport, flags, seq, ack, 65535)
    };
    use crate::frames::{ACK, SYN};
    vec![
        (1, crate::frames::udp_frame(64, a, b, 40000, 53)),
        (2, seg(b, a, 45000, 5432, SYN, 1000, 0)),
        (1, seg(a, b, 5432, 45000, SYN | ACK, 5000, 1001)),
        (2, seg(b, a, 45000, 5432, ACK, 1001, 5001)),
    ]
}

/// A small NIC: vport 1 (10.0.0.1, ctx 256) may send UDP anywhere in `world`
/// (natively out of the uplink, port 0; rule 1); the CPU port is 255.
pub fn world_udp_setup() -> Vec<Op> {
    let mut ops = uplink_and_cpu();
    ops.extend([
        Op::SetPortClass {
            port: 1,
            class: PortClass::Vport,
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
    ]);
    ops
}

/// A label-intent policy file (`ztnic_intent::PolicyFile`): one host, a `web` workload on
/// vport 1 and a `db` workload on vport 3, web may reach db on tcp/5432 — the agent's
/// benches compile it.
pub const WEB_DB_POLICY: &str = r#"
hosts:
  - {name: node-1, vtep: 192.168.0.1}
workloads:
  - name: web
    labels: {app: web}
    instances:
      - {ip: 10.1.0.1, host: node-1, vport: 1}
  - name: db
    labels: {app: db}
    instances:
      - {ip: 10.1.0.9, host: node-1, vport: 3}
intents:
  - {name: web-to-db, from: {app: web}, to: {app: db}, proto: tcp, ports: 5432, action: allow}
"#;
