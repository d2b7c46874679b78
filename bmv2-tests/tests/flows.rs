//! The conntrack table read back over P4Runtime from bmv2 — as far as bmv2 lets
//! it. `simple_switch_grpc`'s P4Runtime server (PI, `proto/frontend/src/
//! device_mgr.cpp`) answers every `RegisterEntry` read, one index or all,
//! `UNIMPLEMENTED: Register reads are not supported yet`; this test pins that
//! answer (so `ztnic flows` against bmv2 fails with it, clearly) after checking
//! that the traffic was tracked. Should a newer PI serve the reads, the test goes
//! on to what it is meant to check: the `ct_key` / `ct_info` / `ct_win` registers
//! hold exactly the connections the reference model tracks for the same traffic,
//! at the same index (way · 4096 + bucket), with the same originator, kind, TCP
//! state and flags — the expectations `runtime/agent/tests/flows.rs` checks on
//! the Verilated NIC behind the agent. Without `simple_switch_grpc` on PATH the
//! test says so loudly and passes.
#![allow(clippy::unwrap_used)]

use std::net::{IpAddr, Ipv4Addr};

use ztnic_bmv2::tools::{SIMPLE_SWITCH_GRPC, find, repo_root, skip};
use ztnic_bmv2_tests::p4c::{ZTNIC_JSON, ZTNIC_P4INFO};
use ztnic_bmv2_tests::target::Bmv2Target;
use ztnic_model::conntrack::{ProtoState, Slot};
use ztnic_model::tables::{CtxEpoch, LocalEp, PortClass, VportCtx};
use ztnic_model::{Action, Config, CtKey, PortRange, ProtoMatch, Rule, Verdict};
use ztnic_p4runtime_client::ClientError;
use ztnic_p4tables::conntrack::{self, CtCell, CtInfo, CtWin};
use ztnic_p4tables::names;
use ztnic_scenario::packet::{Ipv4Spec, PacketSpec, TcpSpec, UdpSpec};
use ztnic_scenario::{ModelTarget, Op, Target};

const TEST: &str = "bmv2_conntrack_registers_over_p4runtime";
const A: &str = "10.0.0.1";
const B: &str = "10.0.0.2";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn rule(id: u32, src: u32, dst: u32, proto: u8, port: u16) -> Op {
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

/// A (ctx 256) on vport 1, B (ctx 258) on vport 2; A may send B DNS, B may open
/// postgres on A.
fn tables() -> Vec<Op> {
    let mut ops = vec![
        Op::SetPortClass {
            port: 0,
            class: PortClass::Uplink,
        },
        Op::SetPortClass {
            port: 255,
            class: PortClass::Cpu,
        },
    ];
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
    ops.push(rule(1, 256, 258, 17, 53));
    ops.push(rule(2, 258, 256, 6, 5432));
    ops
}

fn ipv4(src: &str, dst: &str) -> Option<Ipv4Spec> {
    Some(Ipv4Spec {
        src: src.parse::<Ipv4Addr>().unwrap(),
        dst: dst.parse::<Ipv4Addr>().unwrap(),
        ttl: 64,
        id: 0,
        df: false,
        mf: false,
        frag_offset: 0,
        options: 0,
        proto: None,
    })
}

fn udp(src: &str, dst: &str, sport: u16, dport: u16) -> Vec<u8> {
    PacketSpec {
        ipv4: ipv4(src, dst),
        udp: Some(UdpSpec { sport, dport }),
        payload: 20,
        ..Default::default()
    }
    .build(&Config::default())
    .unwrap()
    .bytes
}

fn tcp(src: &str, dst: &str, sport: u16, dport: u16, flags: &str, seq: u32, ack: u32) -> Vec<u8> {
    PacketSpec {
        ipv4: ipv4(src, dst),
        tcp: Some(TcpSpec {
            sport,
            dport,
            flags: flags.into(),
            seq,
            ack,
            win: 65535,
        }),
        ..Default::default()
    }
    .build(&Config::default())
    .unwrap()
    .bytes
}

/// The traffic: A → B DNS (no answer), then B opens postgres on A.
fn traffic() -> Vec<(u64, u16, Vec<u8>)> {
    vec![
        (1_000, 1, udp(A, B, 40000, 53)),
        (2_000, 2, tcp(B, A, 45000, 5432, "S", 1000, 0)),
        (3_000, 1, tcp(A, B, 5432, 45000, "SA", 5000, 1001)),
        (4_000, 2, tcp(B, A, 45000, 5432, "A", 1001, 5001)),
    ]
}

fn run(t: &mut dyn Target) -> Vec<u16> {
    t.reset(&Config::default()).unwrap();
    for op in tables() {
        t.apply(&op).unwrap();
    }
    traffic()
        .into_iter()
        .map(
            |(at, port, f)| match t.send(at, port, &f).unwrap().verdict {
                Verdict::Forward { port, .. } => port,
                v => panic!("not forwarded: {v:?}"),
            },
        )
        .collect()
}

/// The model's live entries as register cells (time left out: bmv2's clock is
/// the wall clock).
fn model_cells(m: &ModelTarget) -> Vec<(i64, CtCell)> {
    let cfg = Config::default();
    let mut v: Vec<(i64, CtCell)> =
        m.dp.ct
            .entries(0, &cfg.timeouts)
            .map(|(slot, e)| {
                let Slot::Way { way, index } = slot else {
                    panic!("an overflow entry")
                };
                let (kind, tcp_state) = match e.proto {
                    ProtoState::Tcp { state, .. } => (conntrack::KIND_TCP, state as u8),
                    ProtoState::Udp => (conntrack::KIND_UDP, 0),
                    ProtoState::Icmp => (conntrack::KIND_ICMP, 0),
                    ProtoState::Other => (conntrack::KIND_OTHER, 0),
                };
                let cell = CtCell {
                    key: e.key,
                    info: CtInfo {
                        last_seen_us: 0,
                        policy_gen: e.policy_gen,
                        tcp_state,
                        kind,
                        assured: e.assured,
                        replied: e.replied,
                        orig_lo: e.orig_lo,
                    },
                };
                (conntrack::index(u32::from(way), index).unwrap(), cell)
            })
            .collect();
    v.sort_by_key(|(i, _)| *i);
    v
}

#[test]
fn bmv2_conntrack_registers_over_p4runtime() {
    if find(SIMPLE_SWITCH_GRPC).is_none() {
        skip(TEST, &format!("{SIMPLE_SWITCH_GRPC} is not on PATH"));
        return;
    }
    let root = repo_root();
    let mut sw = Bmv2Target::start(&root.join(ZTNIC_JSON), &root.join(ZTNIC_P4INFO), 1).unwrap();
    let mut model = ModelTarget::default();
    let ports = run(&mut sw);
    assert_eq!(ports, vec![2, 1, 2, 1]);
    assert_eq!(run(&mut model), ports);

    let b = sw.bmv2();
    // bmv2 tracked the TCP connection: no rule lets A send to B on port 45000,
    // so the SYN-ACK above was forwarded only as a reply of a tracked connection.
    // Now ask for the registers.
    let refused =
        [None, Some(0)].map(
            |i| match b.rt.block_on(b.client.read_register(names::CT_INFO, i)) {
                Err(ClientError::Rpc(status)) => {
                    Some((format!("{:?}", status.code()), status.message().to_string()))
                }
                Err(e) => panic!("reading ct_info {i:?}: {e}"),
                Ok(_) => None,
            },
        );
    if let [Some(all), Some(one)] = &refused {
        for (code, message) in [all, one] {
            assert_eq!(code, "Unimplemented");
            assert_eq!(message, "Register reads are not supported yet");
        }
        skip(
            TEST,
            &format!(
                "{SIMPLE_SWITCH_GRPC} refuses P4Runtime register reads: {}: {}",
                all.0, all.1
            ),
        );
        sw.stop();
        return;
    }
    let keys =
        b.rt.block_on(b.client.read_register(names::CT_KEY, None))
            .unwrap();
    let infos =
        b.rt.block_on(b.client.read_register(names::CT_INFO, None))
            .unwrap();
    assert_eq!(keys.len(), conntrack::CT_SLOTS as usize);
    assert_eq!(infos.len(), conntrack::CT_SLOTS as usize);
    let mut cells = conntrack::cells(&keys, &infos).unwrap();

    // the expectations of the agent's test, on bmv2
    assert_eq!(cells.len(), 2, "exactly the two flows: {cells:?}");
    let tcp_cell = cells.iter().find(|(_, c)| c.key.proto == 6).unwrap().1;
    assert_eq!(
        tcp_cell.key,
        CtKey {
            zone: 0,
            proto: 6,
            lo_addr: ztnic_model::addr::to_u128(ip(A)),
            hi_addr: ztnic_model::addr::to_u128(ip(B)),
            lo_port: 5432,
            hi_port: 45000,
        }
    );
    let f = tcp_cell.flow();
    assert_eq!(f.tcp_state, Some("ESTABLISHED"));
    assert_eq!((f.originator, f.responder), ((ip(B), 45000), (ip(A), 5432)));
    assert!(f.assured && f.replied);
    let udp_cell = cells.iter().find(|(_, c)| c.key.proto == 17).unwrap().1;
    assert!(udp_cell.info.orig_lo && !udp_cell.info.replied && !udp_cell.info.assured);
    assert_eq!(udp_cell.info.kind, conntrack::KIND_UDP);
    assert!(tcp_cell.info.last_seen_us > 0);

    // and the model's table, slot for slot
    for (_, c) in cells.iter_mut() {
        c.info.last_seen_us = 0;
    }
    assert_eq!(cells, model_cells(&model));

    // one cell alone, and the TCP windows
    let tcp_i = cells.iter().find(|(_, c)| c.key.proto == 6).unwrap().0;
    let one =
        b.rt.block_on(b.client.read_register(names::CT_KEY, Some(tcp_i)))
            .unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(conntrack::key_from_data(&one[0].1).unwrap(), tcp_cell.key);
    let win =
        b.rt.block_on(b.client.read_register(names::CT_WIN, Some(tcp_i)))
            .unwrap();
    let win = CtWin::from_data(&win[0].1).unwrap();
    assert_eq!((win.orig.end, win.reply.end), (1001, 5001), "{win:?}");
    assert!(win.orig.maxwin > 0 && win.reply.maxwin > 0);
    sw.stop();
}
