//! The conntrack table over P4Runtime: the agent serves the hardware's
//! connections as the P4 program's `ct_key` / `ct_info` / `ct_win` register
//! cells (index `way · 4096 + bucket`), read the same way as on bmv2.
#![allow(clippy::unwrap_used)]

mod common;

use common::{agent, write};
use ztnic_model::{CtKey, Verdict};
use ztnic_p4runtime_client::protocol::v1::{P4Data, p4_data::Data};
use ztnic_p4runtime_client::{Atomicity, ClientConfig, P4RuntimeClient};
use ztnic_p4tables::conntrack::{self, CtInfo, CtWin};
use ztnic_p4tables::{Written, names, ztnic_p4info, ztnic_program};
use ztnic_testkit::fixtures::{A, B, ip, two_workloads, two_workloads_traffic};

fn bits(d: &P4Data) -> &[u8] {
    match &d.data {
        Some(Data::Bitstring(b)) => b,
        other => panic!("not a bit string: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_conntrack_registers_hold_the_flows_the_hardware_tracks() {
    let a = agent().await;
    let mut c = P4RuntimeClient::connect(ClientConfig::new(a.endpoint(), 1, 1))
        .await
        .unwrap();
    c.set_pipeline(ztnic_p4info().unwrap(), Vec::new(), 7)
        .await
        .unwrap();
    let p = ztnic_program().unwrap();
    let mut w = Written::new();
    write(&mut c, &p, &mut w, &two_workloads()).await;

    // nothing tracked yet: every cell reads, and every one is empty
    let infos = c.read_register(names::CT_INFO, None).await.unwrap();
    assert_eq!(infos.len(), conntrack::CT_SLOTS as usize);
    assert!(
        infos
            .iter()
            .all(|(_, d)| CtInfo::from_data(d).unwrap().is_empty())
    );

    // A → B DNS (no answer), then B opens postgres on A: SYN, SYN-ACK, ACK
    let outs = a.with_backend(|b| b.device().send(1_000, &two_workloads_traffic()).unwrap());
    let ports: Vec<_> = outs
        .iter()
        .map(|o| match o.verdict {
            Verdict::Forward { port, .. } => port,
            ref v => panic!("not forwarded: {v:?}"),
        })
        .collect();
    assert_eq!(ports, vec![2, 1, 2, 1]);

    let keys = c.read_register(names::CT_KEY, None).await.unwrap();
    let infos = c.read_register(names::CT_INFO, None).await.unwrap();
    assert_eq!(keys.len(), conntrack::CT_SLOTS as usize);
    assert_eq!(
        infos.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
        (0..i64::from(conntrack::CT_SLOTS)).collect::<Vec<_>>()
    );
    let cells = conntrack::cells(&keys, &infos).unwrap();
    assert_eq!(cells.len(), 2, "exactly the two flows: {cells:?}");
    let find = |proto: u8| cells.iter().find(|(_, c)| c.key.proto == proto).unwrap();

    let (udp_i, udp_c) = find(17);
    let udp_key = CtKey {
        zone: 0,
        proto: 17,
        lo_addr: ztnic_model::addr::to_u128(ip(A)),
        hi_addr: ztnic_model::addr::to_u128(ip(B)),
        lo_port: 40000,
        hi_port: 53,
    };
    assert_eq!(udp_c.key, udp_key);
    assert_eq!(udp_c.info.kind, conntrack::KIND_UDP);
    assert!(udp_c.info.orig_lo, "A, the lower endpoint, sent first");
    assert!(!udp_c.info.replied && !udp_c.info.assured);
    assert_eq!(udp_c.info.tcp_state, 0);

    let (tcp_i, tcp_c) = find(6);
    let tcp_key = CtKey {
        zone: 0,
        proto: 6,
        lo_addr: ztnic_model::addr::to_u128(ip(A)),
        hi_addr: ztnic_model::addr::to_u128(ip(B)),
        lo_port: 5432,
        hi_port: 45000,
    };
    assert_eq!(tcp_c.key, tcp_key);
    assert_eq!(tcp_c.info.kind, conntrack::KIND_TCP);
    assert!(!tcp_c.info.orig_lo, "B, the higher endpoint, opened it");
    assert!(tcp_c.info.replied && tcp_c.info.assured);
    let f = tcp_c.flow();
    assert_eq!(f.tcp_state, Some("ESTABLISHED"));
    assert_eq!(f.originator, (ip(B), 45000));
    assert_eq!(f.responder, (ip(A), 5432));

    // the P4 index is the hardware slot's way · 4096 + bucket, and the cells
    // carry what the driver reads from the hardware
    let hw = a.with_backend(|b| b.driver().conntrack_entries().unwrap());
    let log2 = a.with_backend(|b| b.driver().geometry().ct_log2_max);
    assert_eq!(hw.len(), 2);
    for e in &hw {
        let (way, bucket) = (e.slot >> log2, e.slot & ((1 << log2) - 1));
        let i = conntrack::index(way, bucket).unwrap();
        let (_, cell) = cells.iter().find(|(j, _)| *j == i).unwrap();
        assert_eq!(cell.key, CtKey::from_bytes(&e.key));
        assert_eq!(cell.info.last_seen_us, e.last_seen_us);
        assert_eq!(u32::from(cell.info.policy_gen), e.policy_gen & 0xffff);
    }
    assert!(tcp_c.info.last_seen_us >= udp_c.info.last_seen_us);

    // one cell reads alone, the same as in the wildcard
    for (i, want) in [(udp_i, udp_c), (tcp_i, tcp_c)] {
        let k = c.read_register(names::CT_KEY, Some(*i)).await.unwrap();
        let n = c.read_register(names::CT_INFO, Some(*i)).await.unwrap();
        assert_eq!(k.len(), 1);
        assert_eq!(k[0].0, *i);
        assert_eq!(conntrack::key_from_data(&k[0].1).unwrap(), want.key);
        assert_eq!(CtInfo::from_data(&n[0].1).unwrap(), want.info);
    }
    let empty = (0..i64::from(conntrack::CT_SLOTS))
        .find(|i| *i != *udp_i && *i != *tcp_i)
        .unwrap();
    let n = c.read_register(names::CT_INFO, Some(empty)).await.unwrap();
    assert!(CtInfo::from_data(&n[0].1).unwrap().is_empty());
    assert_eq!(bits(&n[0].1), [0], "an empty cell is a canonical zero");

    // the TCP windows: both directions sent, the originator's end is past its SYN
    let wins = c.read_register(names::CT_WIN, Some(*tcp_i)).await.unwrap();
    let win = CtWin::from_data(&wins[0].1).unwrap();
    assert!(win.orig.maxwin > 0 && win.reply.maxwin > 0, "{win:?}");
    assert_eq!(
        win.orig.end, 1001,
        "B's SYN at 1000 takes one sequence number"
    );
    assert_eq!(win.reply.end, 5001);
    let all_wins = c.read_register(names::CT_WIN, None).await.unwrap();
    assert_eq!(all_wins.len(), conntrack::CT_SLOTS as usize);
    assert_eq!(
        CtWin::from_data(&all_wins[usize::try_from(*tcp_i).unwrap()].1).unwrap(),
        win
    );

    // registers are read-only
    let e = c
        .write(
            vec![ztnic_p4runtime_client::update(
                ztnic_p4runtime_client::protocol::v1::update::Type::Modify,
                ztnic_p4runtime_client::protocol::v1::entity::Entity::RegisterEntry(
                    ztnic_p4runtime_client::protocol::v1::RegisterEntry {
                        register_id: p.index().register_by_name(names::CT_INFO).unwrap().id,
                        index: Some(ztnic_p4runtime_client::protocol::v1::Index { index: 0 }),
                        data: Some(CtInfo::default().to_data()),
                    },
                ),
            )],
            Atomicity::ContinueOnError,
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("read-only"), "{e}");
    a.stop().await;
}
