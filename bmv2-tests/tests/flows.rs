//! Conntrack over P4Runtime on bmv2. `simple_switch_grpc` tracks the same
//! connections as the reference model for the same traffic (the replies pass as
//! replies of tracked connections), but its P4Runtime server (PI,
//! `proto/frontend/src/device_mgr.cpp`) refuses every `RegisterEntry` read, one
//! index or all, with `UNIMPLEMENTED: Register reads are not supported yet`: this
//! test pins both, so `ztnic flows` against bmv2 fails with that answer, clearly.
//! (The FPGA agent serves the registers: `runtime/agent/tests/flows.rs`.) Without
//! `simple_switch_grpc` on PATH the test is reported as ignored, loudly.
#![allow(clippy::unwrap_used)]

use std::net::{IpAddr, Ipv4Addr};

use libtest_mimic::{Arguments, Trial};
use ztnic_bmv2::tools::{SIMPLE_SWITCH_GRPC, find, repo_root, skip};
use ztnic_bmv2_tests::p4c::{ZTNIC_JSON, ZTNIC_P4INFO};
use ztnic_bmv2_tests::target::Bmv2Target;
use ztnic_model::tables::{CtxEpoch, LocalEp, PortClass, VportCtx};
use ztnic_model::{Action, Config, PortRange, ProtoMatch, Rule, Verdict};
use ztnic_p4runtime_client::ClientError;
use ztnic_p4tables::names;
use ztnic_scenario::packet::{Ipv4Spec, PacketSpec, TcpSpec, UdpSpec};
use ztnic_scenario::{ModelTarget, Op, Target};

const TEST: &str = "bmv2_tracks_like_the_model_and_refuses_register_reads";
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

fn main() {
    let args = Arguments::from_args();
    let trial = Trial::test(TEST, || {
        check();
        Ok(())
    });
    let trial = if find(SIMPLE_SWITCH_GRPC).is_none() {
        skip(TEST, &format!("{SIMPLE_SWITCH_GRPC} is not on PATH"));
        trial.with_ignored_flag(true)
    } else {
        trial
    };
    libtest_mimic::run(&args, vec![trial]).exit();
}

fn check() {
    let root = repo_root();
    let mut sw = Bmv2Target::start(&root.join(ZTNIC_JSON), &root.join(ZTNIC_P4INFO), 1).unwrap();
    let mut model = ModelTarget::default();
    let ports = run(&mut sw);
    assert_eq!(ports, vec![2, 1, 2, 1]);
    assert_eq!(run(&mut model), ports);
    // bmv2 tracked the TCP connection: no rule lets A send to B on port 45000, so
    // the SYN-ACK above was forwarded only as a reply of a tracked connection. The
    // model holds both flows.
    assert_eq!(
        model.dp.ct.entries(0, &Config::default().timeouts).count(),
        2
    );

    // The registers that hold them cannot be read over P4Runtime.
    let (rt, nic) = sw.nic();
    for register in [names::CT_KEY, names::CT_INFO, names::CT_WIN] {
        for index in [None, Some(0)] {
            match rt.block_on(nic.client().read_register(register, index)) {
                Err(ClientError::Rpc(status)) => {
                    assert_eq!(format!("{:?}", status.code()), "Unimplemented");
                    assert_eq!(status.message(), "Register reads are not supported yet");
                }
                other => {
                    panic!("reading {register} {index:?}: expected UNIMPLEMENTED, got {other:?}")
                }
            }
        }
    }
    sw.stop();
}
