//! Slow-path decisions against in-memory ztnic devices over loopback gRPC:
//! unknown contexts, stale epochs, a full conntrack table, other punts, idle
//! overflow entries, and the event loop.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use common::*;
use ztnic_controller::{Controller, SlowPathAction};
use ztnic_model::tables::{CtxEpoch, VportCtx};
use ztnic_model::{Config, Op, OverflowFlow, PuntReason};
use ztnic_p4runtime_client::StreamEvent;
use ztnic_p4runtime_client::protocol::v1::{DigestList, IdleTimeoutNotification, PacketOut};
use ztnic_p4tables::digest::CtxMiss;
use ztnic_p4tables::names;
use ztnic_p4tables::packet::{PacketInMeta, PacketOutMeta};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn v4(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn ctx_miss(c: &Controller, host: &str, m: CtxMiss) -> StreamEvent {
    let id = c
        .nic(host)
        .unwrap()
        .index()
        .digest_by_name(names::CTX_MISS)
        .unwrap()
        .id;
    StreamEvent::Digest(DigestList {
        digest_id: id,
        list_id: 7,
        data: vec![m.to_data()],
        timestamp: 0,
    })
}

fn punt(c: &Controller, host: &str, port: u16, reason: PuntReason, frame: Vec<u8>) -> StreamEvent {
    let p = c.nic(host).unwrap().program();
    StreamEvent::PacketIn(
        p.packet_in(
            PacketInMeta {
                ingress_port: port,
                reason: reason.code(),
            },
            frame,
        )
        .unwrap(),
    )
}

/// The packets the controller injected into `server`, waiting for `n` of them.
async fn transmitted(server: &Server, n: usize) -> Vec<PacketOut> {
    for _ in 0..200 {
        let got = server.service.with_backend(|b| b.transmitted().to_vec());
        if got.len() >= n {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.service.with_backend(|b| b.transmitted().to_vec())
}

fn server_of<'a>(servers: &'a [Server], host: &str) -> &'a Server {
    &servers[HOSTS.iter().position(|h| *h == host).unwrap()]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctx_unknown_of_a_known_context_installs_its_epoch() {
    let (_servers, mut c) = sockshop_setup().await;
    let ctx = c.engine().context_of("orders").unwrap().id;
    let epoch = c.engine().context(ctx).unwrap().epoch;
    let nic = c.nic_mut("node-2").unwrap();
    nic.apply_ops(&[Op::DeleteCtxEpoch { ctx }]).await.unwrap();
    assert_eq!(nic.held_epoch(ctx), None);

    let ev = ctx_miss(
        &c,
        "node-2",
        CtxMiss {
            ctx,
            epoch,
            reason: PuntReason::CtxUnknown.code(),
            port: 0,
        },
    );
    let a = c.handle_event("node-2", ev.clone()).await.unwrap();
    assert_eq!(
        a,
        vec![SlowPathAction::CtxEpochInstalled {
            ctx,
            epoch,
            nics: vec!["node-2".into()]
        }]
    );
    // On the device, not only in the record.
    let st = c.nic_mut("node-2").unwrap().read_back().await.unwrap();
    assert!(st.ops.contains(&Op::SetCtxEpoch(CtxEpoch { ctx, epoch })));
    // The same digest again (raced the install): nothing written.
    let sent = c.nic("node-2").unwrap().updates_sent();
    let a = c.handle_event("node-2", ev).await.unwrap();
    assert_eq!(a, vec![SlowPathAction::CtxEpochCurrent { ctx, epoch }]);
    assert_eq!(c.nic("node-2").unwrap().updates_sent(), sent);
    let s = c.slow_path_stats();
    assert_eq!(
        (s.ctx_epoch_installs, s.ctx_current, s.digests_acked),
        (1, 1, 2)
    );
    assert_eq!(c.reconcile("node-2").await.unwrap().updates(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctx_unknown_of_an_unknown_context_is_counted_only() {
    let (_servers, mut c) = sockshop_setup().await;
    let before: Vec<u64> = HOSTS
        .iter()
        .map(|h| c.nic(h).unwrap().updates_sent())
        .collect();
    let forged = 0x00ab_cdef;
    let ev = ctx_miss(
        &c,
        "node-1",
        CtxMiss {
            ctx: forged,
            epoch: 3,
            reason: PuntReason::CtxUnknown.code(),
            port: 0,
        },
    );
    let a = c.handle_event("node-1", ev).await.unwrap();
    assert_eq!(
        a,
        vec![SlowPathAction::UnknownContext {
            ctx: forged,
            reason: PuntReason::CtxUnknown
        }]
    );
    let after: Vec<u64> = HOSTS
        .iter()
        .map(|h| c.nic(h).unwrap().updates_sent())
        .collect();
    assert_eq!(before, after, "nothing installed anywhere");
    assert_eq!(c.slow_path_stats().unknown_contexts, 1);
    assert_eq!(c.slow_path_stats().digests_acked, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_epoch_pushes_the_current_epoch_to_nics_behind() {
    let (_servers, mut c) = sockshop_setup().await;
    let ctx = c.engine().context_of("payment").unwrap().id;
    let epoch = c.engine().context(ctx).unwrap().epoch;
    let old = epoch.wrapping_sub(1);
    // node-2 is behind (still holds the previous epoch); node-1 meets its tags.
    c.nic_mut("node-2")
        .unwrap()
        .apply_ops(&[Op::SetCtxEpoch(CtxEpoch { ctx, epoch: old })])
        .await
        .unwrap();
    let ev = ctx_miss(
        &c,
        "node-1",
        CtxMiss {
            ctx,
            epoch: old,
            reason: PuntReason::CtxStaleEpoch.code(),
            port: 0,
        },
    );
    let n1 = c.nic("node-1").unwrap().updates_sent();
    let a = c.handle_event("node-1", ev.clone()).await.unwrap();
    assert_eq!(
        a,
        vec![SlowPathAction::CtxEpochInstalled {
            ctx,
            epoch,
            nics: vec!["node-2".into()]
        }]
    );
    assert_eq!(
        c.nic("node-1").unwrap().updates_sent(),
        n1,
        "node-1 was current"
    );
    let st = c.nic_mut("node-2").unwrap().read_back().await.unwrap();
    assert!(st.ops.contains(&Op::SetCtxEpoch(CtxEpoch { ctx, epoch })));
    // Once everybody is current, a late report changes nothing.
    let a = c.handle_event("node-1", ev).await.unwrap();
    assert_eq!(a, vec![SlowPathAction::CtxEpochCurrent { ctx, epoch }]);

    // A stale epoch of a context that no longer exists: counted only.
    let gone = 0x00_9999;
    let ev = ctx_miss(
        &c,
        "node-3",
        CtxMiss {
            ctx: gone,
            epoch: 1,
            reason: PuntReason::CtxStaleEpoch.code(),
            port: 0,
        },
    );
    let a = c.handle_event("node-3", ev).await.unwrap();
    assert_eq!(
        a,
        vec![SlowPathAction::UnknownContext {
            ctx: gone,
            reason: PuntReason::CtxStaleEpoch
        }]
    );
    assert_eq!(c.slow_path_stats().ctx_stale, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ct_full_from_a_vport_installs_overflow_and_reinjects() {
    let (servers, mut c) = sockshop_setup().await;
    c.set_overflow_idle_ms(2_500);
    // front-end on node-1 is 10.1.1.20 behind vport 2; give its entry a zone to
    // check the flow takes the NIC's zone.
    let fe = c
        .nic("node-1")
        .unwrap()
        .held_vport_ctx(2, ip("10.1.1.20"))
        .unwrap();
    c.nic_mut("node-1")
        .unwrap()
        .apply_ops(&[Op::SetVportCtx(VportCtx { zone: 7, ..fe })])
        .await
        .unwrap();
    let frame = tcp_syn(v4("10.1.1.20"), v4("10.1.2.30"), 40000, 80);
    let ev = punt(&c, "node-1", 2, PuntReason::CtFull, frame.clone());
    let a = c.handle_event("node-1", ev).await.unwrap();
    let flow = OverflowFlow {
        zone: 7,
        proto: 6,
        src: ip("10.1.1.20"),
        dst: ip("10.1.2.30"),
        sport: 40000,
        dport: 80,
        idle_timeout_ms: 2_500,
    };
    assert_eq!(
        a,
        vec![
            SlowPathAction::OverflowInstalled { flow },
            SlowPathAction::Reinjected { port: 2 }
        ]
    );
    let st = c.nic_mut("node-1").unwrap().read_back().await.unwrap();
    assert!(
        st.ops.contains(&Op::SetCtOverflow(flow)),
        "{:?}",
        st.held().overflow
    );
    let out = transmitted(server_of(&servers, "node-1"), 1).await;
    assert_eq!(out.len(), 1);
    let p = c.nic("node-1").unwrap().program().clone();
    assert_eq!(
        p.packet_out_meta(&out[0]).unwrap(),
        PacketOutMeta { port: 2, mode: 1 }
    );
    assert_eq!(out[0].payload, frame, "the first packet is not lost");
    let s = c.slow_path_stats();
    assert_eq!((s.overflow_installs, s.reinjections), (1, 1));
    // A reconcile keeps the slow path's entry (its source is a local endpoint).
    c.nic_mut("node-1")
        .unwrap()
        .apply_ops(&[Op::SetVportCtx(fe)])
        .await
        .unwrap();
    let r = c.reconcile("node-1").await.unwrap();
    assert_eq!(r.updates(), 0, "{r:?}");

    // Idle timeout: the entry is deleted.
    let entry = p.entry(&Op::SetCtOverflow(flow)).unwrap();
    let ev = StreamEvent::IdleTimeout(IdleTimeoutNotification {
        table_entry: vec![entry],
        timestamp: 0,
    });
    let a = c.handle_event("node-1", ev).await.unwrap();
    assert_eq!(
        a,
        vec![SlowPathAction::OverflowExpired {
            flows: vec![flow],
            other: 0
        }]
    );
    let st = c.nic_mut("node-1").unwrap().read_back().await.unwrap();
    assert!(st.held().overflow.is_empty());
    assert_eq!(c.slow_path_stats().overflow_expired, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ct_full_from_the_uplink_takes_the_inner_flow() {
    let (servers, mut c) = sockshop_setup().await;
    // front-end on node-2 (10.1.2.20) calls catalogue on node-1 (10.1.1.30).
    let ctx = c.engine().context_of("front-end").unwrap().id;
    let epoch = c.engine().context(ctx).unwrap().epoch;
    let inner = tcp_syn(v4("10.1.2.20"), v4("10.1.1.30"), 41000, 80);
    let sender = Config {
        local_vtep_ip: v4("192.168.0.2"),
        ..Config::default()
    };
    let frame =
        ztnic_model::tag::geneve_encap(&sender, v4("192.168.0.1"), 5555, (ctx, epoch, 0), &inner);
    let ev = punt(&c, "node-1", 0, PuntReason::CtFull, frame.clone());
    let a = c.handle_event("node-1", ev).await.unwrap();
    let flow = OverflowFlow {
        zone: 0,
        proto: 6,
        src: ip("10.1.2.20"),
        dst: ip("10.1.1.30"),
        sport: 41000,
        dport: 80,
        idle_timeout_ms: 10_000,
    };
    assert_eq!(
        a,
        vec![
            SlowPathAction::OverflowInstalled { flow },
            SlowPathAction::Reinjected { port: 0 }
        ]
    );
    let out = transmitted(server_of(&servers, "node-1"), 1).await;
    let p = c.nic("node-1").unwrap().program();
    assert_eq!(
        p.packet_out_meta(&out[0]).unwrap(),
        PacketOutMeta { port: 0, mode: 1 }
    );
    assert_eq!(
        out[0].payload, frame,
        "the whole tunnelled frame is re-injected"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctx_unknown_punt_installs_then_reinjects() {
    let (servers, mut c) = sockshop_setup().await;
    let ctx = c.engine().context_of("front-end").unwrap().id;
    let epoch = c.engine().context(ctx).unwrap().epoch;
    c.nic_mut("node-1")
        .unwrap()
        .apply_ops(&[Op::DeleteCtxEpoch { ctx }])
        .await
        .unwrap();
    // TX from front-end's vport: its context comes from vport_ctx.
    let frame = tcp_syn(v4("10.1.1.20"), v4("10.1.2.30"), 40001, 80);
    let ev = punt(&c, "node-1", 2, PuntReason::CtxUnknown, frame.clone());
    let a = c.handle_event("node-1", ev).await.unwrap();
    assert_eq!(
        a,
        vec![
            SlowPathAction::CtxEpochInstalled {
                ctx,
                epoch,
                nics: vec!["node-1".into()]
            },
            SlowPathAction::Reinjected { port: 2 }
        ]
    );
    let out = transmitted(server_of(&servers, "node-1"), 1).await;
    assert_eq!(out[0].payload, frame);

    // RX with a forged context: counted, not installed, not re-injected.
    let inner = tcp_syn(v4("10.1.2.20"), v4("10.1.1.30"), 41000, 80);
    let sender = Config {
        local_vtep_ip: v4("192.168.0.2"),
        ..Config::default()
    };
    let forged = ztnic_model::tag::geneve_encap(
        &sender,
        v4("192.168.0.1"),
        5555,
        (0x00ab_cdef, 1, 0),
        &inner,
    );
    let ev = punt(&c, "node-1", 0, PuntReason::CtxUnknown, forged);
    let a = c.handle_event("node-1", ev).await.unwrap();
    assert_eq!(
        a,
        vec![SlowPathAction::UnknownContext {
            ctx: 0x00ab_cdef,
            reason: PuntReason::CtxUnknown
        }]
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(transmitted(server_of(&servers, "node-1"), 2).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_punts_are_counted_and_nothing_else() {
    let (servers, mut c) = sockshop_setup().await;
    let sent = c.nic("node-3").unwrap().updates_sent();
    for (reason, frame) in [
        (PuntReason::Arp, arp()),
        (
            PuntReason::Nd,
            tcp_syn(v4("10.1.3.20"), v4("10.1.1.30"), 1, 2),
        ),
        (
            PuntReason::IpFragment,
            tcp_syn(v4("10.1.3.20"), v4("10.1.1.30"), 1, 2),
        ),
        (
            PuntReason::Ipv6ExtHeader,
            tcp_syn(v4("10.1.3.20"), v4("10.1.1.30"), 1, 2),
        ),
    ] {
        let ev = punt(&c, "node-3", 1, reason, frame);
        let a = c.handle_event("node-3", ev).await.unwrap();
        assert_eq!(
            a,
            vec![SlowPathAction::PuntIgnored {
                reason: reason.code()
            }]
        );
    }
    assert_eq!(c.nic("node-3").unwrap().updates_sent(), sent);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        transmitted(server_of(&servers, "node-3"), 1)
            .await
            .is_empty()
    );
    let s = c.slow_path_stats();
    assert_eq!(s.punts_ignored.get("arp"), Some(&1));
    assert_eq!(s.punts_ignored.values().sum::<u64>(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_loop_takes_digests_from_the_devices() {
    let (servers, mut c) = sockshop_setup().await;
    let ctx = c.engine().context_of("user").unwrap().id;
    let epoch = c.engine().context(ctx).unwrap().epoch;
    c.nic_mut("node-2")
        .unwrap()
        .apply_ops(&[Op::DeleteCtxEpoch { ctx }])
        .await
        .unwrap();
    let digest_id = c
        .nic("node-2")
        .unwrap()
        .index()
        .digest_by_name(names::CTX_MISS)
        .unwrap()
        .id;
    let miss = CtxMiss {
        ctx,
        epoch,
        reason: PuntReason::CtxUnknown.code(),
        port: 3,
    };
    assert!(
        server_of(&servers, "node-2")
            .service
            .with_backend(|b| b.learn(digest_id, miss.to_data()))
    );
    let stats = c
        .run_slow_path(tokio::time::sleep(Duration::from_millis(1500)))
        .await;
    assert_eq!(stats.ctx_epoch_installs, 1, "{stats:?}");
    assert_eq!(stats.digests_acked, 1);
    assert_eq!(c.nic("node-2").unwrap().held_epoch(ctx), Some(epoch));
    let log = c.take_slow_path_log();
    let rec = log
        .iter()
        .find(|r| matches!(r.action, SlowPathAction::CtxEpochInstalled { .. }))
        .unwrap();
    assert_eq!(rec.host, "node-2");
    assert!(rec.done >= rec.received);
    assert!(rec.latency() < Duration::from_secs(5));
}
