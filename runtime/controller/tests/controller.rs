//! The controller against three in-memory ztnic devices over loopback gRPC: policy
//! application, incremental changes, reconciliation, persistence.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::*;
use ztnic_controller::{Controller, ControllerError, Nic};
use ztnic_intent::Engine;
use ztnic_model::tables::{CtxEpoch, LocalEp, PortClass, VportCtx};
use ztnic_model::{Op, OverflowFlow, PacketsBytes};
use ztnic_p4runtime_client::Atomicity;
use ztnic_p4runtime_client::protocol::v1::{entity::Entity, update::Type};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockshop_on_three_nics_reads_back_as_desired() {
    let (_servers, mut c) = sockshop_setup().await;
    for h in HOSTS {
        assert_device_is_desired(&mut c, h).await;
        let (cfg, ops) = c.desired(h).unwrap();
        // The base: the host's VTEP, the engine's generation, the port classes.
        let vtep = c.engine().hosts().find(|(n, _)| n.as_str() == h).unwrap().1;
        assert_eq!(cfg.local_vtep_ip, *vtep);
        assert_eq!(cfg.policy_gen, c.engine().policy_gen());
        assert!(ops.contains(&Op::SetPortClass {
            port: 0,
            class: PortClass::Uplink
        }));
        assert!(ops.contains(&Op::SetPortClass {
            port: 255,
            class: PortClass::Cpu
        }));
        let vports = c
            .engine()
            .workloads()
            .flat_map(|w| w.instances.iter())
            .filter(|i| i.host == h)
            .count();
        assert_eq!(
            count_ops(&ops, |o| matches!(
                o,
                Op::SetPortClass {
                    class: PortClass::Vport,
                    ..
                }
            )),
            vports
        );
    }
    // The same policy again writes nothing.
    let r = c.apply(&sockshop()).await.unwrap();
    assert_eq!(r.updates(), 0, "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_apply_inserts_everything_then_configures() {
    let servers: Vec<Server> = HOSTS.iter().map(|_| Server::start()).collect();
    let mut c = Controller::new(Engine::new());
    for (h, s) in HOSTS.iter().zip(&servers) {
        c.add_nic(h, connect(h, s).await).unwrap();
    }
    let r = c.apply(&sockshop()).await.unwrap();
    for h in HOSTS {
        let (_, ops) = c.desired(h).unwrap();
        let n = &r.nics[h];
        assert_eq!(n.inserts, ops.len(), "{h}");
        assert_eq!((n.modifies, n.deletes), (0, 0), "{h}");
        assert!(n.config_written);
        assert!(
            matches!(n.ops.last(), Some(Op::SetConfig(_))),
            "config last"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relabel_writes_only_what_the_workload_touches() {
    let (_servers, mut c) = sockshop_setup().await;
    let old_ctx = c.engine().context_of("catalogue").unwrap().id;
    let gen_before = c.engine().policy_gen();
    let mut labels = c
        .engine()
        .workloads()
        .find(|w| w.name == "catalogue")
        .unwrap()
        .labels
        .clone();
    labels.insert("patch".into(), "outdated".into());
    let r = c.set_labels("catalogue", labels).await.unwrap();

    let new_ctx = c.engine().context_of("catalogue").unwrap().id;
    assert_ne!(new_ctx, old_ctx, "a new label set is a new context");
    assert!(c.engine().policy_gen() > gen_before, "generation bumped");
    let ips: BTreeSet<IpAddr> = [ip("10.1.1.30"), ip("10.1.2.30")].into();
    let ctxs = [old_ctx, new_ctx];
    let about = |c: Option<u32>| c.is_some_and(|c| ctxs.contains(&c));
    for h in HOSTS {
        let n = &r.nics[h];
        assert!(n.config_written, "{h}: the new generation is written");
        assert!(
            matches!(n.ops.last(), Some(Op::SetConfig(_))),
            "{h}: config last"
        );
        for op in &n.ops {
            let ok = match op {
                Op::SetCtxEpoch(e) => ctxs.contains(&e.ctx),
                Op::DeleteCtxEpoch { ctx } => ctxs.contains(ctx),
                Op::SetVportCtx(v) => ips.contains(&v.ip),
                Op::DeleteVportCtx { ip, .. } => ips.contains(ip),
                Op::SetLocalEp(l) => ips.contains(&l.ip),
                Op::DeleteLocalEp { ip } => ips.contains(ip),
                Op::SetRemoteEp(e) => ips.contains(&e.prefix.addr),
                Op::DeleteRemoteEp { prefix } => ips.contains(&prefix.addr),
                Op::SetRule(rule) => about(rule.src) || about(rule.dst),
                // A deleted rule id: it must have named the old context.
                Op::DeleteRule { .. } => true,
                Op::SetConfig(cfg) => cfg.policy_gen == c.engine().policy_gen(),
                other => panic!("{h}: unexpected {other:?}"),
            };
            assert!(ok, "{h}: {op:?} does not concern catalogue");
        }
        // No deletion before the last addition/update.
        let last_set = n.ops.iter().rposition(|o| {
            matches!(
                o,
                Op::SetCtxEpoch(_)
                    | Op::SetRule(_)
                    | Op::SetVportCtx(_)
                    | Op::SetLocalEp(_)
                    | Op::SetRemoteEp(_)
            )
        });
        let first_del = n.ops.iter().position(|o| {
            matches!(
                o,
                Op::DeleteCtxEpoch { .. }
                    | Op::DeleteRule { .. }
                    | Op::DeleteVportCtx { .. }
                    | Op::DeleteLocalEp { .. }
                    | Op::DeleteRemoteEp { .. }
            )
        });
        if let (Some(s), Some(d)) = (last_set, first_del) {
            assert!(s < d, "{h}: deletions after additions: {:?}", n.ops);
        }
        // The new context's epoch is on every NIC, the old one is gone.
        assert!(
            n.ops
                .iter()
                .any(|o| matches!(o, Op::SetCtxEpoch(e) if e.ctx == new_ctx))
        );
        assert!(n.ops.contains(&Op::DeleteCtxEpoch { ctx: old_ctx }));
        assert_device_is_desired(&mut c, h).await;
    }
    // node-3 has no catalogue instance: no endpoint entry of its own changes.
    assert!(
        !r.nics["node-3"]
            .ops
            .iter()
            .any(|o| matches!(o, Op::SetVportCtx(_) | Op::SetLocalEp(_)))
    );
    // node-1 and node-2 move their instance to the new context (MODIFY, not re-insert).
    let n1 = &r.nics["node-1"];
    assert!(n1.ops.contains(&Op::SetVportCtx(VportCtx {
        port: 3,
        ip: ip("10.1.1.30"),
        ctx: new_ctx,
        zone: 0
    })));
    // The quarantine rule now exists for the new context.
    assert!(
        c.engine()
            .rules()
            .iter()
            .any(|r| r.src == Some(new_ctx) && r.dst.is_none())
    );
    // Nothing left to do.
    assert_eq!(c.sync_all().await.unwrap().updates(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_added_and_removed_incrementally() {
    let (_servers, mut c) = sockshop_setup().await;
    let gen_before = c.engine().policy_gen();
    let i = ztnic_intent::Instance {
        ip: ip("10.1.3.30"),
        host: "node-3".into(),
        vport: 9,
    };
    let r = c.add_instance("catalogue", i).await.unwrap();
    let n3 = &r.nics["node-3"];
    // A new instance of a known context costs endpoint entries (and its vport's class).
    assert!(n3.ops.contains(&Op::SetPortClass {
        port: 9,
        class: PortClass::Vport
    }));
    assert!(
        n3.ops
            .iter()
            .any(|o| matches!(o, Op::SetLocalEp(LocalEp { vport: 9, .. })))
    );
    assert!(
        !n3.ops.iter().any(|o| matches!(o, Op::SetRule(_))),
        "{:?}",
        n3.ops
    );
    for h in HOSTS {
        assert_device_is_desired(&mut c, h).await;
    }
    let r = c
        .remove_instance("catalogue", ip("10.1.3.30"))
        .await
        .unwrap();
    let n3 = &r.nics["node-3"];
    assert!(n3.ops.contains(&Op::DeleteLocalEp {
        ip: ip("10.1.3.30")
    }));
    assert_eq!(n3.raw_deletes, 1, "the vport's class goes too");
    for h in HOSTS {
        assert_device_is_desired(&mut c, h).await;
    }
    assert!(c.engine().policy_gen() >= gen_before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_repairs_drift_and_nothing_else() {
    let (_servers, mut c) = sockshop_setup().await;
    // Right already: nothing is written.
    let r = c.reconcile("node-1").await.unwrap();
    assert_eq!(r.updates(), 0, "{r:?}");
    assert!(r.ops.is_empty());

    let ctx = c.engine().context_of("front-end").unwrap().id;
    let epoch = c.engine().context(ctx).unwrap().epoch;
    let local = OverflowFlow {
        zone: 0,
        proto: 6,
        src: ip("10.1.1.20"),
        dst: ip("10.1.2.30"),
        sport: 40000,
        dport: 80,
        idle_timeout_ms: 10_000,
    };
    let stranger = OverflowFlow {
        src: ip("10.9.9.9"),
        dst: ip("10.9.9.8"),
        ..local
    };
    // Drift behind the controller's back, written with the same session but not
    // through the controller's record.
    {
        let nic = c.nic_mut("node-1").unwrap();
        let p = nic.program().clone();
        let entry = |op: &Op| p.entry(op).unwrap();
        let upd =
            |t: Type, op: &Op| ztnic_p4runtime_client::update(t, Entity::TableEntry(entry(op)));
        let updates = vec![
            upd(
                Type::Delete,
                &Op::DeleteVportCtx {
                    port: 2,
                    ip: ip("10.1.1.20"),
                },
            ),
            upd(
                Type::Modify,
                &Op::SetCtxEpoch(CtxEpoch {
                    ctx,
                    epoch: epoch.wrapping_add(7),
                }),
            ),
            upd(
                Type::Insert,
                &Op::SetLocalEp(LocalEp {
                    ip: ip("10.7.7.7"),
                    vport: 3,
                    ctx,
                    zone: 0,
                }),
            ),
            upd(
                Type::Insert,
                &Op::SetPortClass {
                    port: 77,
                    class: PortClass::Vport,
                },
            ),
            upd(Type::Insert, &Op::SetCtOverflow(local)),
            upd(Type::Insert, &Op::SetCtOverflow(stranger)),
        ];
        nic.client()
            .write(updates, Atomicity::ContinueOnError)
            .await
            .unwrap();
    }
    let r = c.reconcile("node-1").await.unwrap();
    assert_eq!(r.inserts, 1, "{r:?}");
    assert_eq!(r.modifies, 1, "{r:?}");
    assert_eq!(r.deletes, 3, "{r:?}");
    assert!(!r.config_written, "a right configuration is not rewritten");
    assert!(r.ops.contains(&Op::SetCtxEpoch(CtxEpoch { ctx, epoch })));
    assert!(r.ops.contains(&Op::DeleteLocalEp { ip: ip("10.7.7.7") }));
    assert!(r.ops.contains(&Op::DeleteCtOverflow(stranger)));
    assert!(
        !r.ops.contains(&Op::DeleteCtOverflow(local)),
        "slow-path entry of a live endpoint kept"
    );

    // The device now holds the desired state plus the live overflow entry.
    let st = c.nic_mut("node-1").unwrap().read_back().await.unwrap();
    let mut held = st.held();
    assert_eq!(held.overflow, vec![local]);
    held.overflow.clear();
    assert_eq!(held, desired_held(&c, "node-1").1);
    // And again: nothing to do.
    assert_eq!(c.reconcile("node-1").await.unwrap().updates(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_rewrites_a_wrong_configuration_only() {
    let (_servers, mut c) = sockshop_setup().await;
    {
        let nic = c.nic_mut("node-2").unwrap();
        let mut cfg = nic.config().unwrap().clone();
        cfg.policy_gen += 5;
        let entries = nic.program().config_entries(&cfg, 1).unwrap();
        let ups = entries
            .into_iter()
            .map(|e| ztnic_p4runtime_client::update(Type::Modify, Entity::TableEntry(e)))
            .collect();
        nic.client()
            .write(ups, Atomicity::ContinueOnError)
            .await
            .unwrap();
    }
    let r = c.reconcile("node-2").await.unwrap();
    assert!(r.config_written);
    assert_eq!(r.updates(), 3, "{r:?}");
    assert_device_is_desired(&mut c, "node-2").await;
    assert_eq!(c.reconcile("node-2").await.unwrap().updates(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn save_restore_reconciles_without_writing() {
    let servers: Vec<Server> = HOSTS.iter().map(|_| Server::start()).collect();
    let mut c = Controller::new(Engine::new());
    for (h, s) in HOSTS.iter().zip(&servers) {
        c.add_nic(h, connect(h, s).await).unwrap();
    }
    c.apply(&sockshop()).await.unwrap();
    let path = temp_path("state.json");
    c.save(&path).unwrap();
    let engine_before = c.engine().clone();
    drop(c);

    let (mut c, report) = Controller::restore(&path, connect_info).await.unwrap();
    assert_eq!(report.updates(), 0, "{report:?}");
    assert_eq!(c.engine(), &engine_before);
    assert_eq!(c.nic_names(), HOSTS.map(String::from).to_vec());
    for h in HOSTS {
        assert!(!c.nic(h).unwrap().pipeline_was_set(), "{h}: pipeline kept");
        assert_device_is_desired(&mut c, h).await;
    }
    // The restored controller knows what the devices hold: the same policy is a no-op.
    assert_eq!(c.apply(&sockshop()).await.unwrap().updates(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_state_file_is_rejected_before_connecting() {
    let connects = Arc::new(AtomicUsize::new(0));
    for (name, text) in [
        ("garbage.json", "{ not json"),
        ("truncated.json", "{\"version\": 1, \"engine\": {"),
        ("wrong.json", "{\"version\": 99}"),
    ] {
        let path = temp_path(name);
        std::fs::write(&path, text).unwrap();
        let n = connects.clone();
        let r = Controller::restore(&path, move |info| {
            n.fetch_add(1, Ordering::SeqCst);
            connect_info(info)
        })
        .await;
        match r {
            Err(ControllerError::State { path: p, .. }) => assert_eq!(p, path),
            Err(e) => panic!("{name}: expected a state error, got {e}"),
            Ok(_) => panic!("{name}: a corrupt state file was accepted"),
        }
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            text,
            "file untouched"
        );
    }
    assert_eq!(connects.load(Ordering::SeqCst), 0, "no NIC contacted");
    let missing = temp_path("does-not-exist.json");
    assert!(matches!(
        Controller::restore(&missing, connect_info).await,
        Err(ControllerError::Io { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_write_names_the_operation_and_records_only_what_was_accepted() {
    let s = Server::start();
    let mut nic = connect("node-1", &s).await;
    nic.set_batch_size(2);
    let good = Op::SetCtxEpoch(CtxEpoch { ctx: 300, epoch: 1 });
    // A context wider than 24 bits is refused by the mapping before anything is
    // written, even the valid operation before it.
    let too_wide = Op::SetCtxEpoch(CtxEpoch {
        ctx: 1 << 24,
        epoch: 1,
    });
    let err = nic.apply_ops(&[good.clone(), too_wide]).await.unwrap_err();
    assert!(matches!(err, ControllerError::Map { .. }), "{err}");
    assert!(
        nic.written().is_empty(),
        "nothing written on a mapping error"
    );
    // The device rejects inserting an entry it already holds (behind the record's back).
    nic.apply_ops(std::slice::from_ref(&good)).await.unwrap();
    let p = nic.program().clone();
    let dup = Op::SetLocalEp(LocalEp {
        ip: ip("10.0.0.1"),
        vport: 1,
        ctx: 300,
        zone: 0,
    });
    nic.client().insert(p.entry(&dup).unwrap()).await.unwrap();
    let other = Op::SetCtxEpoch(CtxEpoch { ctx: 301, epoch: 1 });
    let err = nic
        .apply_ops(&[other.clone(), dup.clone()])
        .await
        .unwrap_err();
    match &err {
        ControllerError::Rejected { op, code, .. } => {
            assert!(op.contains("SetLocalEp"), "{op}");
            assert_eq!(*code, tonic::Code::AlreadyExists);
        }
        e => panic!("expected a rejection, got {e}"),
    }
    // The accepted update of the same Write is recorded, the rejected one is not.
    let held = nic.held();
    assert_eq!(held.state.ctx_epoch.get(&301), Some(&1));
    assert!(held.state.local_ep.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renamed_intent_replaces_its_rules_without_a_key_clash() {
    let (_servers, mut c) = sockshop_setup().await;
    let mut f = sockshop();
    let i = f
        .intents
        .iter_mut()
        .find(|i| i.name == "front-end-to-catalogue")
        .unwrap();
    i.name = "fe-to-catalogue".into();
    // Same selectors, same priority: the new rule id has the old rule's key.
    let r = c.apply(&f).await.unwrap();
    for h in ["node-1", "node-2"] {
        let n = &r.nics[h];
        assert!(
            n.ops.iter().any(|o| matches!(o, Op::SetRule(_))),
            "{h}: {n:?}"
        );
        assert!(
            n.ops.iter().any(|o| matches!(o, Op::DeleteRule { .. })),
            "{h}: {n:?}"
        );
        // Replaced in place: one MODIFY, never a moment without the rule.
        assert_eq!((n.inserts, n.modifies, n.deletes), (0, 1, 0), "{h}: {n:?}");
        assert_device_is_desired(&mut c, h).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_read_indexed_and_direct_counters() {
    let (servers, mut c) = sockshop_setup().await;
    let ctx = c.engine().context_of("front-end").unwrap().id;
    let nic = c.nic_mut("node-1").unwrap();
    let p = nic.program().clone();
    let ctx_key = p.entry(&Op::DeleteCtxEpoch { ctx }).unwrap();
    let rule = *nic.held().state.rules.values().next().unwrap();
    let rule_key = p.rule_entry(&rule).unwrap();
    servers[0].service.with_backend(|b| {
        assert!(b.hit(&ctx_key, 100));
        assert!(b.hit(&ctx_key, 60));
        assert!(b.hit(&rule_key, 1500));
    });
    use ztnic_p4runtime_client::protocol::v1::CounterData;
    let data = |n| CounterData {
        packet_count: n,
        byte_count: 0,
    };
    let policy_deny = ztnic_model::DropReason::PolicyDeny;
    let arp = ztnic_model::PuntReason::Arp;
    nic.client()
        .write_counter("drops", i64::from(policy_deny.code()), data(4))
        .await
        .unwrap();
    nic.client()
        .write_counter("punts", i64::from(arp.code()), data(2))
        .await
        .unwrap();
    let k = nic.counters().await.unwrap();
    assert_eq!(k.drops.get(&policy_deny), Some(&4));
    assert_eq!(k.drops.len(), 1);
    assert_eq!(k.punts.get(&arp), Some(&2));
    let pc = k.ctx[&ctx];
    assert_eq!((pc.packets, pc.bytes), (2, 160));
    let pr = k.rules[&rule.id];
    assert_eq!((pr.packets, pr.bytes), (1, 1500));
    assert_eq!(k.rules.values().map(|x| x.packets).sum::<u64>(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_of_deleted_and_taken_over_entries_outlive_them() {
    let (servers, mut c) = sockshop_setup().await;
    let rule_of = |c: &Controller, intent: &str| {
        let r = c.engine().rules();
        *r.iter()
            .find(|r| c.engine().intent_of_rule(r.id) == Some(intent))
            .unwrap()
    };
    let old = rule_of(&c, "front-end-to-catalogue");
    let ctx = c.engine().context_of("catalogue").unwrap().id;
    let nic = c.nic_mut("node-1").unwrap();
    let p = nic.program().clone();
    let rule_key = p.rule_entry(&old).unwrap();
    let ctx_key = p.entry(&Op::DeleteCtxEpoch { ctx }).unwrap();
    servers[0].service.with_backend(|b| {
        for _ in 0..3 {
            assert!(b.hit(&rule_key, 100));
        }
        assert!(b.hit(&ctx_key, 64));
    });
    // Renamed: the new rule takes the old one's entry over in place (MODIFY, the
    // direct counter carries on); the 3 packets stay the old rule's.
    let mut f = sockshop();
    f.intents
        .iter_mut()
        .find(|i| i.name == "front-end-to-catalogue")
        .unwrap()
        .name = "fe-to-catalogue".into();
    c.apply(&f).await.unwrap();
    let new = rule_of(&c, "fe-to-catalogue");
    assert_ne!(new.id, old.id);
    servers[0].service.with_backend(|b| {
        for _ in 0..2 {
            assert!(b.hit(&rule_key, 200));
        }
    });
    let k = c.nic_mut("node-1").unwrap().counters().await.unwrap();
    assert_eq!(
        k.rules[&old.id],
        PacketsBytes {
            packets: 3,
            bytes: 300
        }
    );
    assert_eq!(
        k.rules[&new.id],
        PacketsBytes {
            packets: 2,
            bytes: 400
        }
    );
    // Deleted: the intent and the catalogue workload go; both counts stay.
    f.intents.retain(|i| i.name != "fe-to-catalogue");
    f.workloads.retain(|w| w.name != "catalogue");
    c.apply(&f).await.unwrap();
    let nic = c.nic_mut("node-1").unwrap();
    assert!(nic.written().get(&rule_key).is_none());
    assert!(nic.written().get(&ctx_key).is_none());
    let k = nic.counters().await.unwrap();
    assert_eq!(
        k.rules[&old.id],
        PacketsBytes {
            packets: 3,
            bytes: 300
        }
    );
    assert_eq!(
        k.rules[&new.id],
        PacketsBytes {
            packets: 2,
            bytes: 400
        }
    );
    assert_eq!(
        k.ctx[&ctx],
        PacketsBytes {
            packets: 1,
            bytes: 64
        }
    );
    assert_eq!(nic.retired_counters().rules.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_keeps_our_pipeline_and_replaces_another() {
    let s = Server::start();
    let mut nic = connect("node-1", &s).await;
    assert!(nic.pipeline_was_set());
    nic.apply_ops(&[Op::SetCtxEpoch(CtxEpoch { ctx: 300, epoch: 2 })])
        .await
        .unwrap();
    drop(nic);
    // A controller restart: the entry survives, and the new session knows it.
    let nic = Nic::connect("node-1", &s.endpoint(), 1, 2, &pipeline())
        .await
        .unwrap();
    assert!(!nic.pipeline_was_set());
    assert_eq!(nic.held_epoch(300), Some(2));
    drop(nic);
    // Another program (same tables, one more action): replaced, tables emptied.
    let mut other = pipeline();
    let mut extra = other.p4info.actions[0].clone();
    if let Some(pre) = extra.preamble.as_mut() {
        pre.id = 0x01ff_fff0;
        pre.name = "ingress.extra".into();
        pre.alias = "extra".into();
    }
    other.p4info.actions.push(extra);
    let nic = Nic::connect("node-1", &s.endpoint(), 1, 3, &other)
        .await
        .unwrap();
    assert!(nic.pipeline_was_set());
    assert_eq!(nic.held_epoch(300), None);
}
