//! The agent over real gRPC on loopback, backed by the Verilated NIC: the ztnic
//! P4Info is served, entries land in the hardware tables and read back from them,
//! what the hardware cannot realise is refused and changes nothing, counters,
//! digests and packet I/O work, and a restarted agent adopts a running NIC.
#![allow(clippy::unwrap_used)]

mod common;

use common::{agent, write};
use std::net::IpAddr;
use std::time::Duration;
use ztnic_testkit::frames::udp_frame;

use ztnic_agent::{Agent, FpgaBackend, SimDevice};
use ztnic_fpga::Driver;
use ztnic_model::tables::{CtxEpoch, PortClass, Prefix, RemoteAction, RemoteEp, VportCtx};
use ztnic_model::{Action, Config, Op, PortRange, ProtoMatch, PuntReason, Rule, Verdict};
use ztnic_p4runtime_client::protocol::v1::{self, update::Type};
use ztnic_p4runtime_client::{Atomicity, ClientConfig, ClientError, P4RuntimeClient, StreamEvent};
use ztnic_p4runtime_server::ServerConfig;
use ztnic_p4tables::conntrack;
use ztnic_p4tables::digest::{CtEvent, CtEventKind, CtxMiss};
use ztnic_p4tables::packet::PacketOutMeta;
use ztnic_p4tables::{Program, Written, names, ztnic_p4info, ztnic_program};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

async fn client(a: &Agent<SimDevice>, load: bool) -> P4RuntimeClient {
    let mut c = P4RuntimeClient::connect(ClientConfig::new(a.endpoint(), 1, 1))
        .await
        .unwrap();
    if load {
        c.set_pipeline(ztnic_p4info().unwrap(), Vec::new(), 7)
            .await
            .unwrap();
    } else {
        c.use_p4info(ztnic_p4info().unwrap()).unwrap();
    }
    c
}

/// Writes `ops` through P4Runtime, recording them in `w`.
/// Every entry of every control table, read back over P4Runtime and decoded.
async fn held(c: &mut P4RuntimeClient, p: &Program) -> Vec<String> {
    let mut v = Vec::new();
    for t in names::ENTRY_TABLES {
        for e in c.read_table(t).await.unwrap() {
            v.push(format!("{:?}", p.decode(&e).unwrap()));
        }
    }
    v.sort();
    v
}

fn rule(id: u32, src: Option<u32>, dst: Option<u32>, port: u16, action: Action) -> Rule {
    Rule {
        id,
        priority: 10,
        src,
        dst,
        proto: ProtoMatch(Some(17)),
        ports: PortRange { lo: port, hi: port },
        action,
    }
}

fn base() -> Vec<Op> {
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
        Op::SetRemoteEp(RemoteEp {
            prefix: Prefix {
                addr: ip("10.2.0.0"),
                len: 16,
            },
            action: RemoteAction::Geneve {
                vtep: "192.168.0.2".parse().unwrap(),
                ctx: 300,
            },
        }),
        Op::SetRule(Rule {
            ports: PortRange::ANY,
            ..rule(1, Some(256), None, 0, Action::Allow)
        }),
        Op::SetRule(rule(2, None, Some(2), 53, Action::Deny)),
    ]
}

/// Digest lists of one digest each, sent at once.
fn one_at_once() -> v1::digest_entry::Config {
    v1::digest_entry::Config {
        max_timeout_ns: 0,
        max_list_size: 1,
        ack_timeout_ns: 1_000_000_000,
    }
}

fn udp(src: &str, dst: &str, dport: u16) -> Vec<u8> {
    let s: std::net::Ipv4Addr = src.parse().unwrap();
    let d: std::net::Ipv4Addr = dst.parse().unwrap();
    udp_frame(64, s.octets(), d.octets(), 40000, dport)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_land_in_the_hardware_and_read_back_from_it() {
    let a = agent().await;
    let mut c = client(&a, true).await;
    let p = ztnic_program().unwrap();
    let mut w = Written::new();
    let ops = base();
    write(&mut c, &p, &mut w, &ops).await;
    let mut want: Vec<String> = ops.iter().map(|o| format!("{o:?}")).collect();
    want.sort();
    assert_eq!(held(&mut c, &p).await, want);

    // The read decodes the hardware: a change made under the agent (through the
    // driver) is what the next read reports.
    a.with_backend(|b| {
        b.driver()
            .apply(&Op::SetCtxEpoch(CtxEpoch { ctx: 256, epoch: 9 }))
            .unwrap()
    });
    let epochs = c.read_table(names::CTX_EPOCH).await.unwrap();
    assert_eq!(
        p.decode(&epochs[0]).unwrap(),
        Op::SetCtxEpoch(CtxEpoch { ctx: 256, epoch: 9 })
    );

    // MODIFY and DELETE through P4Runtime reach the same slots.
    write(
        &mut c,
        &p,
        &mut w,
        &[
            Op::SetCtxEpoch(CtxEpoch { ctx: 256, epoch: 2 }),
            Op::SetRule(Rule {
                action: Action::Deny,
                ..rule(2, None, Some(2), 53, Action::Deny)
            }),
            Op::DeleteRemoteEp {
                prefix: Prefix {
                    addr: ip("10.2.0.0"),
                    len: 16,
                },
            },
            Op::DeletePortClass { port: 255 },
        ],
    )
    .await;
    let now = held(&mut c, &p).await;
    assert!(now.contains(&format!(
        "{:?}",
        Op::SetCtxEpoch(CtxEpoch { ctx: 256, epoch: 2 })
    )));
    assert!(!now.iter().any(|s| s.contains("10.2.0.0")));
    assert!(!now.iter().any(|s| s.contains("port: 255")));
    assert_eq!(now.len(), want.len() - 2);
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_the_hardware_cannot_realise_is_refused_and_changes_nothing() {
    let a = agent().await;
    let mut c = client(&a, true).await;
    let p = ztnic_program().unwrap();
    let mut w = Written::new();
    write(&mut c, &p, &mut w, &base()).await;
    let before = held(&mut c, &p).await;

    // a partial context mask: UNIMPLEMENTED
    let mut e = p
        .rule_entry(&rule(40, Some(256), None, 80, Action::Allow))
        .unwrap();
    let src = p
        .index()
        .table_by_name("policy")
        .unwrap()
        .field_by_name("src_ctx")
        .unwrap()
        .id;
    for m in e.r#match.iter_mut().filter(|m| m.field_id == src) {
        if let Some(v1::field_match::FieldMatchType::Ternary(t)) = &mut m.field_match_type {
            t.mask = vec![0xff, 0xff, 0x00];
            t.value = vec![0x01, 0x00, 0x00];
        }
    }
    let err = c.insert(e).await.unwrap_err();
    match err {
        ClientError::Write { errors } => {
            assert_eq!(
                errors[0].code,
                tonic::Code::Unimplemented,
                "{}",
                errors[0].message
            )
        }
        other => panic!("unexpected {other}"),
    }

    // five rules on one decomposed key (src, dst, proto): the fifth is refused
    let mut refused = None;
    for i in 0..5u16 {
        let r = Rule {
            priority: 20 + i,
            ..rule(
                50 + u32::from(i),
                Some(256),
                Some(300),
                1000 + i,
                Action::Allow,
            )
        };
        let u = w.updates(&p, &Op::SetRule(r)).unwrap();
        match c.write(u.clone(), Atomicity::ContinueOnError).await {
            Ok(()) => w.record(&p, &u),
            Err(ClientError::Write { errors }) => refused = Some((i, errors[0].code)),
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(refused, Some((4, tonic::Code::Unimplemented)));

    // an atomic batch with one bad update leaves nothing behind
    let good = w
        .updates(&p, &Op::SetCtxEpoch(CtxEpoch { ctx: 999, epoch: 1 }))
        .unwrap();
    let mut bad = p
        .rule_entry(&rule(60, Some(256), None, 81, Action::Allow))
        .unwrap();
    bad.priority = 3; // odd priority on an allow rule
    let mut batch = good.clone();
    batch.push(v1::Update {
        r#type: Type::Insert as i32,
        entity: Some(v1::Entity {
            entity: Some(v1::entity::Entity::TableEntry(bad)),
        }),
    });
    assert!(c.write(batch, Atomicity::RollbackOnError).await.is_err());
    let mut expect = before.clone();
    for i in 0..4u16 {
        expect.push(format!(
            "{:?}",
            Op::SetRule(Rule {
                priority: 20 + i,
                ..rule(
                    50 + u32::from(i),
                    Some(256),
                    Some(300),
                    1000 + i,
                    Action::Allow
                )
            })
        ));
    }
    expect.sort();
    assert_eq!(held(&mut c, &p).await, expect);
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_data_plane_insert_yields_a_ct_event_digest_whatever_its_way() {
    let a = agent().await;
    let mut c = client(&a, true).await;
    let p = ztnic_program().unwrap();
    let mut w = Written::new();
    // one bucket: four flows fill ways 0, 1 (CRC-32 indexed), 2 and 3 (CRC-16)
    let cfg = Config {
        ct_buckets: 1,
        ..Config::default()
    };
    let mut ops = vec![Op::SetConfig(Box::new(cfg))];
    ops.extend(base());
    write(&mut c, &p, &mut w, &ops).await;
    c.enable_digest(names::CT_EVENT, one_at_once())
        .await
        .unwrap();
    let dsts = ["8.8.8.1", "8.8.8.2", "8.8.8.3", "8.8.8.4"];
    let frames: Vec<(u16, Vec<u8>)> = dsts.iter().map(|d| (1, udp("10.0.0.1", d, 5000))).collect();
    let outs = a.with_backend(|b| b.device().send(1_000, &frames).unwrap());
    assert!(
        outs.iter()
            .all(|o| matches!(o.verdict, Verdict::Forward { port: 0, .. })),
        "{outs:?}"
    );
    let mut got = Vec::new();
    for _ in 0..50 {
        if let Some(StreamEvent::Digest(d)) = c.next_event_within(Duration::from_millis(100)).await
        {
            c.ack_digest(&d).await.unwrap();
            got.extend(d.data.iter().map(|x| CtEvent::from_data(x).unwrap()));
        }
        if got.len() == dsts.len() {
            break;
        }
    }
    assert_eq!(got.len(), 4, "one ct_event per insert: {got:?}");
    let mut ways: Vec<u32> = got
        .iter()
        .map(|e| {
            assert_eq!(e.kind, CtEventKind::Insert);
            let (way, bucket) = conntrack::way_bucket(i64::from(e.slot)).unwrap();
            assert_eq!(bucket, 0);
            way
        })
        .collect();
    ways.sort();
    assert_eq!(ways, vec![0, 1, 2, 3]);
    // the keys are the four flows'
    let mut his: Vec<u128> = got
        .iter()
        .map(|e| e.key.hi_addr.max(e.key.lo_addr))
        .collect();
    his.sort();
    let mut want: Vec<u128> = dsts
        .iter()
        .map(|d| ztnic_model::addr::to_u128(ip(d)).max(ztnic_model::addr::to_u128(ip("10.0.0.1"))))
        .collect();
    want.sort();
    assert_eq!(his, want);
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_digests_and_packet_io_work_over_p4runtime() {
    let a = agent().await;
    let mut c = client(&a, true).await;
    let p = ztnic_program().unwrap();
    let mut w = Written::new();
    write(&mut c, &p, &mut w, &base()).await;
    c.enable_digest(names::CTX_MISS, one_at_once())
        .await
        .unwrap();

    // Three allowed packets to the world and one with an unknown context (a
    // vport_ctx entry naming context 777, which ctx_epoch lacks).
    write(
        &mut c,
        &p,
        &mut w,
        &[Op::SetVportCtx(VportCtx {
            port: 1,
            ip: ip("10.0.0.7"),
            ctx: 777,
            zone: 0,
        })],
    )
    .await;
    let outs = a.with_backend(|b| {
        b.device()
            .send(
                1_000,
                &[
                    (1, udp("10.0.0.1", "8.8.8.8", 5000)),
                    (1, udp("10.0.0.1", "8.8.8.8", 5000)),
                    (1, udp("10.0.0.1", "8.8.4.4", 5000)),
                    (1, udp("10.0.0.7", "8.8.8.8", 5000)),
                ],
            )
            .unwrap()
    });
    assert!(matches!(outs[0].verdict, Verdict::Forward { port: 0, .. }));
    assert!(matches!(
        outs[3].verdict,
        Verdict::Punt {
            reason: PuntReason::CtxUnknown,
            ..
        }
    ));

    // the rule's and the context's direct counters
    let rule1 = w.rule(1).unwrap().clone();
    let rc = c.read_direct_counter(&rule1).await.unwrap();
    // every packet of a flow not yet replied to is `new` and asks the policy
    assert_eq!(rc.packet_count, 3, "rule 1 decided the three packets");
    let ctx = p
        .entry(&Op::SetCtxEpoch(CtxEpoch { ctx: 256, epoch: 1 }))
        .unwrap();
    assert_eq!(c.read_direct_counter(&ctx).await.unwrap().packet_count, 3);
    // the punt counter, indexed by reason
    let punts = c
        .read_counter(names::PUNTS, Some(PuntReason::CtxUnknown.code().into()))
        .await
        .unwrap();
    assert_eq!(punts[0].1.packet_count, 1);

    // the digest and the PacketIn of the punted packet arrive on the stream
    let (mut digest, mut packet_in) = (None, None);
    for _ in 0..50 {
        match c.next_event_within(Duration::from_millis(100)).await {
            Some(StreamEvent::Digest(d)) => {
                c.ack_digest(&d).await.unwrap();
                digest = Some(CtxMiss::from_data(&d.data[0]).unwrap());
            }
            Some(StreamEvent::PacketIn(pi)) => packet_in = Some(pi),
            _ => {}
        }
        if digest.is_some() && packet_in.is_some() {
            break;
        }
    }
    let d = digest.expect("a ctx_miss digest");
    assert_eq!(
        (d.ctx, d.reason, d.port),
        (777, PuntReason::CtxUnknown.code(), 1)
    );
    let pi = packet_in.expect("a PacketIn");
    let meta = p.packet_in_meta(&pi).unwrap();
    assert_eq!(
        (meta.ingress_port, meta.reason),
        (1, PuntReason::CtxUnknown.code())
    );
    assert_eq!(pi.payload, udp("10.0.0.7", "8.8.8.8", 5000));

    // PacketOut mode 0: straight out of port 1
    let frame = udp("10.9.9.9", "10.0.0.1", 7);
    let po = p
        .packet_out(PacketOutMeta { port: 1, mode: 0 }, frame.clone())
        .unwrap();
    c.send_packet_out(po).await.unwrap();
    let mut out = Vec::new();
    for _ in 0..100 {
        out = a.with_backend(|b| b.device().take_output());
        if !out.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(out.len(), 1);
    assert_eq!((out[0].port, &out[0].data), (1, &frame));
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_agent_adopts_the_running_nic() {
    // A NIC programmed and carrying a flow...
    let mut drv = Driver::new(SimDevice::new()).unwrap();
    for op in base() {
        drv.apply(&op).unwrap();
    }
    let first = drv
        .access_mut()
        .send(1_000, &[(1, udp("10.0.0.1", "8.8.8.8", 5000))])
        .unwrap();
    assert!(matches!(first[0].verdict, Verdict::Forward { .. }));
    // ...is taken over by a new agent, which serves it without clearing it.
    let backend = FpgaBackend::adopt(drv.into_access()).unwrap();
    let a = Agent::start(
        backend,
        "127.0.0.1:0".parse().unwrap(),
        ServerConfig::default(),
        true,
    )
    .await
    .unwrap();
    let mut c = client(&a, false).await;
    let live = c
        .get_pipeline(v1::get_forwarding_pipeline_config_request::ResponseType::P4infoAndCookie)
        .await
        .unwrap();
    assert_eq!(live.p4info, Some(ztnic_p4info().unwrap()));
    let p = ztnic_program().unwrap();
    let mut want: Vec<String> = base().iter().map(|o| format!("{o:?}")).collect();
    want.sort();
    assert_eq!(held(&mut c, &p).await, want);
    // and updates by P4Runtime go to the adopted slots
    let mut w = Written::new();
    w.learn(&p, {
        let mut all = Vec::new();
        for t in names::ENTRY_TABLES {
            all.extend(c.read_table(t).await.unwrap());
        }
        all
    });
    write(&mut c, &p, &mut w, &[Op::DeleteRule { id: 2 }]).await;
    assert_eq!(held(&mut c, &p).await.len(), want.len() - 1);
    // the flow admitted before the restart is still known
    let again = a.with_backend(|b| {
        b.device()
            .send(2_000, &[(1, udp("10.0.0.1", "8.8.8.8", 5000))])
            .unwrap()
    });
    assert!(matches!(again[0].verdict, Verdict::Forward { .. }));
    let flows = a.with_backend(|b| b.driver().conntrack_entries().unwrap());
    assert_eq!(flows.len(), 1, "the connection survived the restart");
    a.stop().await;
}
