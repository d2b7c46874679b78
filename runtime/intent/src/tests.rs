use super::*;

const FILE: &str = r#"
hosts:
  - {name: node-a, vtep: 192.168.0.1}
  - {name: node-b, vtep: 192.168.0.2}
workloads:
  - name: haproxy
    labels: {app: haproxy, sslVersion: "1.8"}
    instances:
      - {ip: 10.0.0.1, host: node-a, vport: 1}
  - name: nginx
    labels: {app: nginx}
    instances:
      - {ip: 10.0.1.1, host: node-b, vport: 1}
      - {ip: 10.0.1.2, host: node-b, vport: 2}
  - name: old-haproxy
    labels: {app: haproxy, sslVersion: "1.0"}
    instances:
      - {ip: 10.0.0.9, host: node-a, vport: 3}
intents:
  - {name: lb-to-web, from: {app: haproxy, sslVersion: "1.8"}, to: {app: nginx}, proto: tcp, ports: 443, action: allow, priority: 10}
  - {name: internet-to-lb, from: world, to: {app: haproxy}, proto: tcp, ports: 443, action: allow, priority: 10}
  - {name: no-ssh, from: any, to: any, proto: tcp, ports: 22, action: deny, priority: 50}
"#;

fn engine() -> Engine {
    Engine::from_file(&PolicyFile::from_yaml(FILE).unwrap()).unwrap()
}

#[test]
fn one_context_per_distinct_label_set() {
    let e = engine();
    let ids: BTreeSet<u32> = e.contexts().map(|c| c.id).collect();
    assert_eq!(ids, BTreeSet::from([256, 257, 258]));
    assert_ne!(
        e.context_of("haproxy").unwrap().id,
        e.context_of("old-haproxy").unwrap().id
    );
}

#[test]
fn intents_compile_to_rules_over_matching_contexts_only() {
    let e = engine();
    let lb = e.context_of("haproxy").unwrap().id;
    let old = e.context_of("old-haproxy").unwrap().id;
    let web = e.context_of("nginx").unwrap().id;
    let rules = e.rules();
    // lb-to-web: only the 1.8 haproxy; internet-to-lb: both haproxies; no-ssh: one wildcard.
    assert_eq!(rules.len(), 1 + 2 + 1);
    assert!(
        rules
            .iter()
            .any(|r| r.src == Some(lb) && r.dst == Some(web) && r.action == Action::Allow)
    );
    assert!(
        !rules
            .iter()
            .any(|r| r.src == Some(old) && r.dst == Some(web))
    );
    assert!(
        rules
            .iter()
            .any(|r| r.src == Some(CTX_WORLD) && r.dst == Some(old))
    );
    assert!(
        rules
            .iter()
            .any(|r| r.src.is_none() && r.dst.is_none() && r.action == Action::Deny)
    );
}

#[test]
fn a_new_instance_of_a_known_label_set_costs_endpoint_entries_only() {
    let mut e = engine();
    let rules_before = e.rules();
    let gen_before = e.policy_gen();
    let a_before = e.nic_state("node-a");
    let change = e
        .add_instance(
            "nginx",
            Instance {
                ip: "10.0.1.3".parse().unwrap(),
                host: "node-b".into(),
                vport: 3,
            },
        )
        .unwrap();
    assert_eq!(change, Change::default());
    assert_eq!(e.rules(), rules_before);
    assert_eq!(e.policy_gen(), gen_before);
    // node-a hosts the haproxy that may call nginx: it needs exactly one new route.
    let ops = diff(&a_before, &e.nic_state("node-a"));
    assert_eq!(ops.len(), 1, "{ops:?}");
    assert!(matches!(ops[0], Op::SetRemoteEp(_)));
}

#[test]
fn relabelling_moves_the_workload_and_bumps_epochs_and_generation() {
    let mut e = engine();
    let lb = e.context_of("haproxy").unwrap().clone();
    let old_lb = e.context_of("old-haproxy").unwrap().clone();
    let gen_before = e.policy_gen();
    // The instance is found running an old TLS library: its labels say so now.
    let mut labels = lb.labels.clone();
    labels.insert("sslVersion".into(), "1.0".into());
    let change = e.set_labels("haproxy", labels).unwrap();
    let now = e.context_of("haproxy").unwrap().clone();
    assert_eq!(
        now.id, old_lb.id,
        "it joins the context of its new label set"
    );
    assert_eq!(now.epoch, old_lb.epoch + 1);
    assert!(
        change.contexts_removed.contains(&lb.id),
        "nobody else had the old set"
    );
    assert!(change.epochs_bumped.contains(&old_lb.id));
    assert!(change.generation_bumped);
    assert_ne!(e.policy_gen(), gen_before);
    let web = e.context_of("nginx").unwrap().id;
    assert!(
        !e.rules()
            .iter()
            .any(|r| r.dst == Some(web) && r.action == Action::Allow)
    );
    let a = e.nic_state("node-a");
    assert_eq!(
        a.vport_ctx[&(1, "10.0.0.1".parse().unwrap())].ctx,
        old_lb.id
    );
    assert!(!a.ctx_epoch.contains_key(&lb.id));
}

#[test]
fn nic_state_holds_local_endpoints_and_routes_to_remote_ones() {
    let e = engine();
    let b = e.nic_state("node-b");
    assert_eq!(b.vport_ctx.len(), 2);
    assert_eq!(b.local_ep.len(), 2);
    // nginx may reach nobody, but haproxy (1.8) may reach it: node-b routes the
    // replies back to haproxy's instance, not to old-haproxy's; node-a reaches both
    // nginx.
    let routes: Vec<_> = b
        .remote_ep
        .values()
        .filter(|r| r.action != RemoteAction::World)
        .map(|r| r.prefix.to_string())
        .collect();
    assert_eq!(routes, ["10.0.0.1/32"]);
    // and both default routes lead to the world
    let world: Vec<_> = b
        .remote_ep
        .values()
        .filter(|r| r.action == RemoteAction::World)
        .map(|r| r.prefix.to_string())
        .collect();
    assert_eq!(world, ["0.0.0.0/0", "::/0"]);
    let a = e.nic_state("node-a");
    assert_eq!(a.remote_ep.len(), 2 + 2);
    let web = e.context_of("nginx").unwrap().id;
    let r = &a.remote_ep[&("10.0.1.2".parse().unwrap(), 32)];
    assert_eq!(
        r.action,
        RemoteAction::Geneve {
            vtep: "192.168.0.2".parse().unwrap(),
            ctx: web
        }
    );
}

#[test]
fn rejected_files_change_nothing() {
    let mut e = engine();
    let before = e.clone();
    let mut f = PolicyFile::from_yaml(FILE).unwrap();
    f.workloads[1].instances[0].host = "node-z".into();
    assert!(matches!(
        e.replace(&f),
        Err(IntentError::UnknownHost { .. })
    ));
    let mut f = PolicyFile::from_yaml(FILE).unwrap();
    f.workloads[2].instances[0].ip = "10.0.0.1".parse().unwrap();
    assert!(matches!(
        e.replace(&f),
        Err(IntentError::AddressInUse { .. })
    ));
    assert_eq!(e, before);
    assert!(
        PolicyFile::from_yaml("intents: [{name: x, from: {}, to: any, action: allow}]").is_err()
    );
    assert!(
        PolicyFile::from_yaml("intents: [{name: x, from: nobody, to: any, action: allow}]")
            .is_err()
    );
}

#[test]
fn state_round_trips_and_keeps_ids() {
    let mut e = engine();
    e.set_labels(
        "nginx",
        Labels::from([("app".into(), "nginx".into()), ("v".into(), "2".into())]),
    )
    .unwrap();
    let restored = Engine::load(&e.save().unwrap()).unwrap();
    assert_eq!(restored, e);
    assert_eq!(restored.nic_state("node-a"), e.nic_state("node-a"));
}

#[test]
fn diff_applied_to_a_model_reaches_the_desired_tables() {
    let e = engine();
    let want = e.nic_state("node-a");
    let mut dp = ztnic_model::Datapath::new(ztnic_model::Config::default()).unwrap();
    for op in want.ops() {
        dp.apply(&op).unwrap();
    }
    assert_eq!(dp.tables.rules().len(), want.rules.len());
    assert_eq!(dp.tables.ctx_epoch.len(), want.ctx_epoch.len());
    // Removing everything again leaves empty tables.
    for op in diff(&want, &NicState::default()) {
        dp.apply(&op).unwrap();
    }
    assert!(dp.tables.rules().is_empty() && dp.tables.ctx_epoch.is_empty());
    assert_eq!(dp.tables.vport_ctx_entries().count(), 0);
    assert_eq!(dp.tables.remote_ep_entries().count(), 0);
}

#[test]
fn contexts_scale_with_label_sets_and_acls_with_instances() {
    let f = synthetic::deployment(synthetic::Shape {
        apps: 20,
        versions: 2,
        instances: 10,
        hosts: 8,
        fanout: 3,
    });
    let e = Engine::from_file(&f).unwrap();
    assert_eq!(e.contexts().count(), 40);
    // 20 apps × 3 callees × (2 src versions × 2 dst versions) rules.
    assert_eq!(e.rules().len(), 20 * 3 * 4);
    // ACLs: every (src instance, dst instance) pair, on one or two NICs.
    let acl = acl_entries(&f);
    assert!(acl >= 20 * 3 * 20 * 20, "{acl}");
}

#[test]
fn the_sock_shop_example_compiles_to_fourteen_contexts() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/sockshop/policy.yaml"
    );
    let f = PolicyFile::from_yaml(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut e = Engine::from_file(&f).unwrap();
    assert_eq!(e.contexts().count(), 14);
    // 16 single-pair allows, one wildcard DNS rule, web → 4 databases; nobody is outdated.
    assert_eq!(e.rules().len(), 16 + 1 + 4);
    // Marking catalogue outdated quarantines it: a deny above all its allows.
    let mut labels = e.context_of("catalogue").unwrap().labels.clone();
    labels.insert("patch".into(), "outdated".into());
    e.set_labels("catalogue", labels).unwrap();
    let cat = e.context_of("catalogue").unwrap().id;
    let quarantine = e
        .rules()
        .into_iter()
        .find(|r| r.src == Some(cat) && r.action == Action::Deny)
        .unwrap();
    assert_eq!(quarantine.priority, 1000);
    assert!(quarantine.dst.is_none());
}

#[test]
fn relabelling_one_instance_moves_only_it() {
    let mut e = engine();
    let nginx = e.context_of("nginx").unwrap().id;
    let gen0 = e.policy_gen();
    let labels: Labels = [("app", "nginx"), ("patch", "outdated")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let ip: IpAddr = "10.0.1.2".parse().unwrap();
    let change = e.relabel_instance(ip, labels.clone()).unwrap();
    // the sibling stays in nginx's context; the relabelled instance has its own
    assert_eq!(e.context_of("nginx").unwrap().id, nginx);
    let moved = e.context_of("nginx@10.0.1.2").unwrap();
    assert_ne!(moved.id, nginx);
    assert_eq!(change.contexts_added, vec![moved.id]);
    assert!(e.policy_gen() > gen0);
    let st = e.nic_state("node-b");
    assert_eq!(st.local_ep[&ip].ctx, moved.id);
    assert_eq!(
        st.local_ep[&"10.0.1.1".parse::<IpAddr>().unwrap()].ctx,
        nginx
    );
    // lb-to-web no longer reaches the relabelled instance ({app: nginx} still matches
    // its labels, so it does; the new context gets the same rules)
    assert!(e.rules().iter().any(|r| r.dst == Some(moved.id)));
    // relabelling to the same labels again changes nothing
    let gen1 = e.policy_gen();
    assert_eq!(e.relabel_instance(ip, labels).unwrap(), Change::default());
    assert_eq!(e.policy_gen(), gen1);
    // an unknown address is an error and changes nothing
    let before = e.clone();
    assert!(
        e.relabel_instance("10.9.9.9".parse().unwrap(), Labels::new())
            .is_err()
    );
    assert_eq!(e, before);
}
