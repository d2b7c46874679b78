//! Slow-path decisions against in-memory ztnic devices over loopback gRPC:
//! unknown contexts, stale epochs, a full conntrack table, other punts, idle
//! overflow entries, and the event loop.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
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

// ------------------------------------------------------- neighbours, fragments

const MAC_NIC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];

/// An ARP request from `sha`/`spa` for `tpa` (op 1), broadcast.
fn arp_request(sha: [u8; 6], spa: Ipv4Addr, tpa: Ipv4Addr) -> Vec<u8> {
    let mut f = vec![0xff; 6];
    f.extend_from_slice(&sha);
    f.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1]);
    f.extend_from_slice(&sha);
    f.extend_from_slice(&spa.octets());
    f.extend_from_slice(&[0; 6]);
    f.extend_from_slice(&tpa.octets());
    f
}

/// The one's-complement sum of `data` (big-endian 16-bit words, an odd byte padded).
fn ones_sum(mut acc: u32, data: &[u8]) -> u32 {
    for c in data.chunks(2) {
        acc += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
    }
    acc
}

/// The ICMPv6 checksum field for `icmp` (checksum bytes zeroed) between `src` and `dst`.
fn icmpv6_checksum(src: Ipv6Addr, dst: Ipv6Addr, icmp: &[u8]) -> u16 {
    let mut acc = ones_sum(0, &src.octets());
    acc = ones_sum(acc, &dst.octets());
    acc = ones_sum(acc, &(icmp.len() as u32).to_be_bytes());
    acc += 58;
    acc = ones_sum(acc, icmp);
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

/// An Ethernet/IPv6/ICMPv6 frame of `ty` (code 0, hop limit 255) carrying `body`
/// after the 4 bytes of type, code and checksum, with a correct checksum.
fn icmpv6(src_mac: [u8; 6], src: Ipv6Addr, dst: Ipv6Addr, ty: u8, body: &[u8]) -> Vec<u8> {
    let mut icmp = vec![ty, 0, 0, 0];
    icmp.extend_from_slice(body);
    let c = icmpv6_checksum(src, dst, &icmp);
    icmp[2..4].copy_from_slice(&c.to_be_bytes());
    let mut f = vec![0x33, 0x33, 0xff, 0, 0, 1];
    f.extend_from_slice(&src_mac);
    f.extend_from_slice(&[0x86, 0xdd, 0x60, 0, 0, 0]);
    f.extend_from_slice(&(icmp.len() as u16).to_be_bytes());
    f.extend_from_slice(&[58, 255]);
    f.extend_from_slice(&src.octets());
    f.extend_from_slice(&dst.octets());
    f.extend_from_slice(&icmp);
    f
}

/// A Neighbor Solicitation from `src` (with a source link-layer option `sll`) for
/// `target`, to the target's solicited-node multicast address.
fn neighbor_solicitation(sll: [u8; 6], src: Ipv6Addr, target: Ipv6Addr) -> Vec<u8> {
    let t = target.octets();
    let dst = Ipv6Addr::new(
        0xff02,
        0,
        0,
        0,
        0,
        1,
        0xff00 | u16::from(t[13]),
        u16::from_be_bytes([t[14], t[15]]),
    );
    let mut body = vec![0; 4];
    body.extend_from_slice(&t);
    body.extend_from_slice(&[1, 1]);
    body.extend_from_slice(&sll);
    icmpv6(sll, src, dst, 135, &body)
}

fn v6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

/// The frames the NIC of `host` was given since `before`, each with its meta.
async fn sent_since(
    c: &Controller,
    servers: &[Server],
    host: &str,
    before: usize,
) -> Vec<(PacketOutMeta, Vec<u8>)> {
    tokio::time::sleep(Duration::from_millis(100)).await;
    let p = c.nic(host).unwrap().program().clone();
    transmitted(server_of(servers, host), before + 1)
        .await
        .into_iter()
        .skip(before)
        .map(|o| (p.packet_out_meta(&o).unwrap(), o.payload))
        .collect()
}

/// Asserts `f` is an ARP reply from the NIC telling `asker` (`mac`, `ip`) that
/// `target` is at the NIC's MAC.
fn assert_arp_reply(f: &[u8], asker_mac: [u8; 6], asker: Ipv4Addr, target: Ipv4Addr) {
    assert!(f.len() >= 42, "{f:?}");
    assert_eq!(&f[0..6], &asker_mac, "Ethernet destination");
    assert_eq!(&f[6..12], &MAC_NIC, "Ethernet source");
    assert_eq!(&f[12..14], &[0x08, 0x06]);
    assert_eq!(&f[14..20], &[0, 1, 0x08, 0, 6, 4], "Ethernet/IPv4 ARP");
    assert_eq!(&f[20..22], &[0, 2], "a reply");
    assert_eq!(&f[22..28], &MAC_NIC, "sender MAC");
    assert_eq!(&f[28..32], &target.octets(), "sender IP: the asked address");
    assert_eq!(&f[32..38], &asker_mac, "target MAC");
    assert_eq!(&f[38..42], &asker.octets(), "target IP");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arp_for_known_addresses_is_answered_with_the_nic_mac() {
    let (servers, mut c) = sockshop_setup().await;
    assert_eq!(
        c.nic("node-1").unwrap().config().unwrap().local_mac.0,
        MAC_NIC
    );
    // front-end on node-1 (10.1.1.20, vport 2) asks for catalogue on node-2, which
    // node-1 holds a host route to, and for catalogue on node-1 (a local endpoint).
    let fe = v4("10.1.1.20");
    let remote = v4("10.1.2.30");
    let route = c
        .nic("node-1")
        .unwrap()
        .held_remote_ep(ztnic_model::tables::Prefix {
            addr: IpAddr::V4(remote),
            len: 32,
        });
    assert!(route.is_some(), "precondition: node-1 routes to {remote}");
    let mut expect = Vec::new();
    for (port, asker, target) in [
        (2, fe, remote),
        (2, fe, v4("10.1.1.30")),
        // From the uplink: a local endpoint and the NIC's own VTEP address.
        (0, v4("192.168.0.254"), v4("10.1.1.30")),
        (0, v4("192.168.0.254"), v4("192.168.0.1")),
    ] {
        let ev = punt(
            &c,
            "node-1",
            port,
            PuntReason::Arp,
            arp_request(MAC_A, asker, target),
        );
        let a = c.handle_event("node-1", ev).await.unwrap();
        assert_eq!(a, vec![SlowPathAction::ArpAnswered { port, ip: target }]);
        expect.push((port, asker, target));
    }
    let out = sent_since(&c, &servers, "node-1", 0).await;
    assert_eq!(out.len(), expect.len());
    for ((meta, frame), (port, asker, target)) in out.iter().zip(&expect) {
        assert_eq!(
            *meta,
            PacketOutMeta {
                port: *port,
                mode: 0
            },
            "out of the asking port"
        );
        assert_arp_reply(frame, MAC_A, *asker, *target);
    }

    // Not answered: an address no table holds; a remote endpoint asked from the
    // uplink (it is not behind this NIC); the asker's own address; a probe.
    let unknown = [
        (2, fe, v4("10.99.0.1")),
        (0, v4("192.168.0.254"), remote),
        (2, fe, v4("10.1.3.99")),
    ];
    for (port, asker, target) in unknown {
        let ev = punt(
            &c,
            "node-1",
            port,
            PuntReason::Arp,
            arp_request(MAC_A, asker, target),
        );
        let a = c.handle_event("node-1", ev).await.unwrap();
        assert_eq!(
            a,
            vec![SlowPathAction::NeighborUnknown {
                port,
                ip: IpAddr::V4(target)
            }]
        );
    }
    for (asker, what) in [
        (v4("10.1.1.21"), "arp for the asker's own address"),
        (v4("0.0.0.0"), "arp probe"),
        (fe, "gratuitous arp"),
    ] {
        let ev = punt(
            &c,
            "node-1",
            2,
            PuntReason::Arp,
            arp_request(MAC_A, asker, fe),
        );
        let a = c.handle_event("node-1", ev).await.unwrap();
        assert_eq!(a, vec![SlowPathAction::NeighborIgnored { port: 2, what }]);
    }
    assert_eq!(sent_since(&c, &servers, "node-1", 4).await.len(), 0);
    let s = c.slow_path_stats();
    assert_eq!(
        (s.arp_answered, s.neighbor_unknown, s.neighbor_ignored),
        (4, 3, 3)
    );
    assert!(s.punts_ignored.is_empty(), "{:?}", s.punts_ignored);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_arp_is_counted_and_not_answered() {
    let (servers, mut c) = sockshop_setup().await;
    let good = arp_request(MAC_A, v4("10.1.1.20"), v4("10.1.1.30"));
    let mut bad_op = good.clone();
    bad_op[21] = 9;
    let mut multicast_sender = good.clone();
    multicast_sender[22] = 0x01;
    let frames = vec![
        good[..30].to_vec(),
        good[..10].to_vec(),
        bad_op,
        multicast_sender,
        tcp_syn(v4("10.1.1.20"), v4("10.1.1.30"), 1, 2),
        arp(),
    ];
    let n = frames.len() as u64;
    for f in frames {
        let ev = punt(&c, "node-1", 2, PuntReason::Arp, f);
        let a = c.handle_event("node-1", ev).await.unwrap();
        assert!(matches!(a[..], [SlowPathAction::Malformed { .. }]), "{a:?}");
    }
    assert_eq!(sent_since(&c, &servers, "node-1", 0).await.len(), 0);
    assert_eq!(c.slow_path_stats().malformed, n);
    assert_eq!(c.slow_path_stats().arp_answered, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn neighbor_solicitation_for_a_known_address_gets_an_advertisement() {
    let (servers, mut c) = sockshop_setup().await;
    // IPv6 instances: front-end on node-1 (vport 2), catalogue on node-2.
    let (fe, cat) = (v6("fd00::1:20"), v6("fd00::2:30"));
    for (w, ip, host, vport) in [
        ("front-end", fe, "node-1", 2),
        ("catalogue", cat, "node-2", 2),
    ] {
        let i = ztnic_intent::Instance {
            ip: IpAddr::V6(ip),
            host: host.into(),
            vport,
        };
        c.add_instance(w, i).await.unwrap();
    }
    let ns = neighbor_solicitation(MAC_B, fe, cat);
    let ev = punt(&c, "node-1", 2, PuntReason::Nd, ns);
    let a = c.handle_event("node-1", ev).await.unwrap();
    assert_eq!(a, vec![SlowPathAction::NdAnswered { port: 2, ip: cat }]);
    let out = sent_since(&c, &servers, "node-1", 0).await;
    assert_eq!(out.len(), 1);
    let (meta, f) = &out[0];
    assert_eq!(*meta, PacketOutMeta { port: 2, mode: 0 });
    // Ethernet: to the solicitation's source link-layer address, from the NIC.
    assert_eq!(&f[0..6], &MAC_B);
    assert_eq!(&f[6..12], &MAC_NIC);
    assert_eq!(&f[12..14], &[0x86, 0xdd]);
    let ip = &f[14..];
    assert_eq!(ip[0] >> 4, 6);
    let plen = usize::from(u16::from_be_bytes([ip[4], ip[5]]));
    assert_eq!(
        (plen, ip[6], ip[7]),
        (32, 58, 255),
        "length, ICMPv6, hop limit"
    );
    let src = Ipv6Addr::from(<[u8; 16]>::try_from(&ip[8..24]).unwrap());
    let dst = Ipv6Addr::from(<[u8; 16]>::try_from(&ip[24..40]).unwrap());
    assert_eq!((src, dst), (cat, fe));
    let icmp = &ip[40..40 + plen];
    assert_eq!((icmp[0], icmp[1]), (136, 0), "neighbor advertisement");
    assert_eq!(icmp[4], 0x60, "solicited and override, not router");
    assert_eq!(&icmp[5..8], &[0, 0, 0]);
    assert_eq!(&icmp[8..24], &cat.octets(), "target");
    assert_eq!(&icmp[24..26], &[2, 1], "target link-layer address option");
    assert_eq!(&icmp[26..32], &MAC_NIC);
    let mut zeroed = icmp.to_vec();
    zeroed[2..4].copy_from_slice(&[0, 0]);
    assert_eq!(
        u16::from_be_bytes([icmp[2], icmp[3]]),
        icmpv6_checksum(src, dst, &zeroed),
        "ICMPv6 checksum"
    );

    // An unknown address: no answer. The asker's own address (duplicate address
    // detection from a configured source) and a Router Solicitation: ignored. A bad
    // checksum and a hop limit below 255: malformed.
    let unknown = v6("fd00::99");
    let ev = punt(
        &c,
        "node-1",
        2,
        PuntReason::Nd,
        neighbor_solicitation(MAC_B, fe, unknown),
    );
    let a = c.handle_event("node-1", ev).await.unwrap();
    assert_eq!(
        a,
        vec![SlowPathAction::NeighborUnknown {
            port: 2,
            ip: IpAddr::V6(unknown)
        }]
    );
    let own = neighbor_solicitation(MAC_B, v6("fe80::1"), fe);
    let rs = icmpv6(MAC_B, fe, v6("ff02::2"), 133, &[0; 4]);
    let mut bad_sum = neighbor_solicitation(MAC_B, fe, cat);
    let last = bad_sum.len() - 1;
    bad_sum[last] ^= 0xff;
    let mut low_hop = neighbor_solicitation(MAC_B, fe, cat);
    low_hop[21] = 64;
    let mut dad_body = vec![0; 4];
    dad_body.extend_from_slice(&cat.octets());
    let dad = icmpv6(
        MAC_B,
        Ipv6Addr::UNSPECIFIED,
        v6("ff02::1:ff02:30"),
        135,
        &dad_body,
    );
    for (frame, want) in [
        (own, Some("nd for the asker's own address")),
        (rs, Some("router solicitation")),
        (dad, Some("duplicate address detection")),
        (bad_sum, None),
        (low_hop, None),
    ] {
        let ev = punt(&c, "node-1", 2, PuntReason::Nd, frame);
        let a = c.handle_event("node-1", ev).await.unwrap();
        match want {
            Some(what) => assert_eq!(a, vec![SlowPathAction::NeighborIgnored { port: 2, what }]),
            None => assert!(matches!(a[..], [SlowPathAction::Malformed { .. }]), "{a:?}"),
        }
    }
    assert_eq!(sent_since(&c, &servers, "node-1", 1).await.len(), 0);
    let s = c.slow_path_stats();
    assert_eq!(
        (
            s.nd_answered,
            s.neighbor_unknown,
            s.neighbor_ignored,
            s.malformed
        ),
        (1, 1, 3, 2)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fragments_are_dropped_and_counted_other_punts_counted() {
    let (servers, mut c) = sockshop_setup().await;
    let sent = c.nic("node-3").unwrap().updates_sent();
    // A non-first IPv4 fragment (offset 185·8): no L4 header to match a rule on.
    let mut frag4 = tcp_syn(v4("10.1.3.20"), v4("10.1.1.30"), 1, 2);
    frag4[20..22].copy_from_slice(&185u16.to_be_bytes());
    // An IPv6 packet with a Fragment header (offset 0, M set: the first fragment).
    let frag6 = {
        let mut f = vec![0; 12];
        f.extend_from_slice(&[0x86, 0xdd, 0x60, 0, 0, 0, 0, 16, 44, 64]);
        f.extend_from_slice(&v6("fd00::3:20").octets());
        f.extend_from_slice(&v6("fd00::1:30").octets());
        f.extend_from_slice(&[17, 0, 0, 1, 0, 0, 0, 7]);
        f.extend_from_slice(&[0; 8]);
        f
    };
    // Hop-by-hop options (next header 0) and no fragment: an extension-header punt.
    let mut hbh = frag6.clone();
    hbh[20] = 0;
    hbh[54..62].copy_from_slice(&[17, 0, 1, 4, 0, 0, 0, 0]);
    for (reason, frame, want) in [
        (
            PuntReason::IpFragment,
            frag4,
            SlowPathAction::FragmentDropped { port: 1 },
        ),
        (
            PuntReason::Ipv6ExtHeader,
            frag6,
            SlowPathAction::FragmentDropped { port: 1 },
        ),
        (
            PuntReason::Ipv6ExtHeader,
            hbh,
            SlowPathAction::PuntIgnored {
                reason: PuntReason::Ipv6ExtHeader.code(),
            },
        ),
    ] {
        let ev = punt(&c, "node-3", 1, reason, frame);
        let a = c.handle_event("node-3", ev).await.unwrap();
        assert_eq!(a, vec![want]);
    }
    assert_eq!(c.nic("node-3").unwrap().updates_sent(), sent);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        transmitted(server_of(&servers, "node-3"), 1)
            .await
            .is_empty()
    );
    let s = c.slow_path_stats();
    assert_eq!(s.fragments_dropped, 2);
    assert_eq!(s.punts_ignored.get("ipv6_ext_header"), Some(&1));
    assert_eq!(s.punts_ignored.values().sum::<u64>(), 1);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_models_punts_are_answered_and_the_answer_leaves_by_the_asking_port() {
    let (servers, mut c) = sockshop_setup().await;
    let (fe, cat) = (v6("fd00::1:20"), v6("fd00::2:30"));
    for (w, ip, host, vport) in [
        ("front-end", fe, "node-1", 2),
        ("catalogue", cat, "node-2", 2),
    ] {
        let i = ztnic_intent::Instance {
            ip: IpAddr::V6(ip),
            host: host.into(),
            vport,
        };
        c.add_instance(w, i).await.unwrap();
    }
    // The reference datapath holding what node-1 holds.
    let (cfg, ops) = c.desired("node-1").unwrap();
    let mut dp = ztnic_model::Datapath::new(cfg.clone()).unwrap();
    for op in &ops {
        dp.apply(op).unwrap();
    }
    let mut frag = tcp_syn(v4("10.1.1.20"), v4("10.1.2.30"), 1, 2);
    frag[20] = 0x20; // MF: the first fragment
    let csum = !ztnic_model::parse::ipv4_checksum_fold(&{
        let mut h = frag[14..34].to_vec();
        h[10..12].copy_from_slice(&[0, 0]);
        h
    });
    frag[24..26].copy_from_slice(&csum.to_be_bytes());
    let cases = [
        (
            arp_request(MAC_A, v4("10.1.1.20"), v4("10.1.2.30")),
            PuntReason::Arp,
            SlowPathAction::ArpAnswered {
                port: 2,
                ip: v4("10.1.2.30"),
            },
        ),
        (
            neighbor_solicitation(MAC_A, fe, cat),
            PuntReason::Nd,
            SlowPathAction::NdAnswered { port: 2, ip: cat },
        ),
        (
            frag,
            PuntReason::IpFragment,
            SlowPathAction::FragmentDropped { port: 2 },
        ),
    ];
    let mut answers = 0;
    for (frame, reason, want) in cases {
        let punted = match dp.process(0, 2, &frame).verdict {
            ztnic_model::Verdict::Punt { reason: r, frame } => {
                assert_eq!(r, reason);
                frame
            }
            v => panic!("the model did not punt: {v:?}"),
        };
        let ev = punt(&c, "node-1", 2, reason, punted);
        let a = c.handle_event("node-1", ev).await.unwrap();
        assert_eq!(a, vec![want.clone()]);
        if matches!(want, SlowPathAction::FragmentDropped { .. }) {
            continue;
        }
        let (meta, answer) = sent_since(&c, &servers, "node-1", answers)
            .await
            .pop()
            .unwrap();
        answers += 1;
        // Through the model from the CPU port, as the device gets a PacketOut.
        let mut from_cpu = meta.port.to_be_bytes().to_vec();
        from_cpu.extend_from_slice(&[meta.mode, 0]);
        from_cpu.extend_from_slice(&answer);
        assert_eq!(
            dp.process(0, cfg.cpu_port, &from_cpu).verdict,
            ztnic_model::Verdict::Forward {
                port: 2,
                frame: answer
            }
        );
    }
    assert_eq!(answers, 2);
}
