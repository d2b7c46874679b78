//! The desired-state store against a real etcd (started per test on loopback in a
//! temporary directory; the tests print `SKIPPED: etcd not installed` without one).

use std::net::IpAddr;
use std::path::PathBuf;

use ztnic_intent::PolicyFile;
use ztnic_store::{DEFAULT_PREFIX, Secret, Store, StoreError, TrustKey, TrustKeys};
use ztnic_testkit::etcd::EtcdServer;

fn sockshop() -> PolicyFile {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/sockshop/policy.yaml");
    let text = std::fs::read_to_string(&path).expect("examples/sockshop/policy.yaml");
    PolicyFile::from_yaml(&text).expect("the Sock Shop policy parses")
}

async fn store(etcd: &EtcdServer) -> Store {
    Store::connect(&[etcd.endpoint()], DEFAULT_PREFIX)
        .await
        .expect("connect to the test etcd")
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test]
async fn policy_apply_reads_back() {
    let Some(etcd) = EtcdServer::start() else {
        return;
    };
    let mut s = store(&etcd).await;
    let empty = s.snapshot().await.expect("empty snapshot");
    assert!(empty.desired.workloads.is_empty() && empty.desired.engine.is_none());

    let f = sockshop();
    let (commit, _) = s
        .update(|d| d.apply_policy(&f))
        .await
        .expect("apply the Sock Shop");
    // 1 intents + 3 hosts + 14 workloads + 22 instances + engine.
    assert_eq!(commit.puts, 41);
    assert_eq!(commit.deletes, 0);

    let got = s.snapshot().await.expect("read back");
    assert_eq!(got.revision, commit.revision);
    let d = &got.desired;
    assert_eq!(d.intents, f.intents);
    assert_eq!(d.hosts.len(), 3);
    assert_eq!(d.workloads.len(), 14);
    assert_eq!(d.instances.len(), 22);
    let fe = &d.instances[&ip("10.1.2.20")];
    assert_eq!(
        (fe.workload.as_str(), fe.nic.as_str(), fe.vport),
        ("front-end", "node-2", 1)
    );
    // The stored policy is the file (instances in file order may differ: compare sets).
    let mut back = d.policy_file();
    let mut want = f.clone();
    for w in back.workloads.iter_mut().chain(want.workloads.iter_mut()) {
        w.instances.sort();
    }
    want.workloads.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(back, want);
    // Allocations: one context per distinct label set, all at epoch 0 or more.
    let engine = d.engine.as_ref().expect("engine stored");
    assert_eq!(engine.contexts().count(), 14);
    assert!(engine.context_of("front-end").is_some());

    // Applying the same file again writes nothing but keeps the allocations.
    let ctx = engine.context_of("carts").map(|c| c.id);
    s.update(|d| d.apply_policy(&f)).await.expect("re-apply");
    let again = s.snapshot().await.expect("read again");
    assert_eq!(
        again
            .desired
            .engine
            .as_ref()
            .and_then(|e| e.context_of("carts"))
            .map(|c| c.id),
        ctx
    );
}

#[tokio::test]
async fn relabel_and_instances() {
    let Some(etcd) = EtcdServer::start() else {
        return;
    };
    let mut s = store(&etcd).await;
    let f = sockshop();
    s.update(|d| d.apply_policy(&f)).await.expect("apply");
    let before = s.snapshot().await.expect("read").desired;
    let e0 = before.engine.as_ref().expect("engine");
    let old_ctx = e0.context_of("carts").expect("carts context").clone();
    let gen0 = e0.policy_gen();

    // Relabel: carts moves to a new context, the old one's epoch is bumped.
    let outdated = labels(&[("app", "carts"), ("tier", "service"), ("patch", "outdated")]);
    s.update(|d| d.relabel("carts", &outdated))
        .await
        .expect("relabel");
    let after = s.snapshot().await.expect("read").desired;
    let e1 = after.engine.as_ref().expect("engine");
    assert_eq!(
        after.workloads["carts"]
            .labels
            .get("patch")
            .map(String::as_str),
        Some("outdated")
    );
    let new_ctx = e1.context_of("carts").expect("carts context");
    assert_ne!(new_ctx.id, old_ctx.id);
    assert!(e1.policy_gen() > gen0);

    // Add a workload and an instance (vport chosen: node-1 uses 1..=5 in the file).
    s.update(|d| d.add_workload("cache", &labels(&[("app", "cache"), ("tier", "service")])))
        .await
        .expect("add workload");
    s.update(|d| d.add_instance("cache", "node-1", ip("10.1.1.99"), None))
        .await
        .expect("add instance");
    let d = s.snapshot().await.expect("read").desired;
    let used: Vec<u16> = f
        .workloads
        .iter()
        .flat_map(|w| &w.instances)
        .filter(|i| i.host == "node-1")
        .map(|i| i.vport)
        .collect();
    let inst = &d.instances[&ip("10.1.1.99")];
    assert_eq!(inst.nic, "node-1");
    assert!(
        !used.contains(&inst.vport),
        "vport {} already used",
        inst.vport
    );
    assert!(
        d.engine
            .as_ref()
            .expect("engine")
            .context_of("cache")
            .is_some()
    );

    // Refusals: a used address, an unknown NIC, removing with the wrong NIC.
    let rev = s.snapshot().await.expect("read").revision;
    let used_addr = s
        .update(|d| d.add_instance("cache", "node-2", ip("10.1.2.20"), None))
        .await;
    assert!(matches!(used_addr, Err(StoreError::Rejected(ref m)) if m.contains("10.1.2.20")));
    let unknown_nic = s
        .update(|d| d.add_instance("cache", "node-9", ip("10.1.9.1"), None))
        .await;
    assert!(
        matches!(unknown_nic, Err(StoreError::Rejected(ref m)) if m.contains("node-9")),
        "{unknown_nic:?}"
    );
    let wrong_nic = s
        .update(|d| d.remove_instance("cache", "node-2", ip("10.1.1.99")))
        .await;
    assert!(matches!(wrong_nic, Err(StoreError::Rejected(_))));
    assert_eq!(s.snapshot().await.expect("read").revision, rev);

    // Remove it: its key is deleted.
    let (c, _) = s
        .update(|d| d.remove_instance("cache", "node-1", ip("10.1.1.99")))
        .await
        .expect("remove instance");
    assert_eq!(c.deletes, 1);
    let d = s.snapshot().await.expect("read").desired;
    assert!(!d.instances.contains_key(&ip("10.1.1.99")));
    assert_eq!(d.instances.len(), 22);
}

#[tokio::test]
async fn invalid_policy_changes_nothing() {
    let Some(etcd) = EtcdServer::start() else {
        return;
    };
    let mut s = store(&etcd).await;
    let f = sockshop();
    s.update(|d| d.apply_policy(&f)).await.expect("apply");
    let before = s.snapshot().await.expect("read");

    // An instance on a host the file does not declare.
    let mut bad = f.clone();
    bad.workloads[0].instances[0].host = "node-404".into();
    let err = s.update(|d| d.apply_policy(&bad)).await;
    assert!(
        matches!(err, Err(StoreError::Rejected(ref m)) if m.contains("node-404")),
        "{err:?}"
    );
    // Two intents with one name.
    let mut dup = f.clone();
    dup.intents.push(dup.intents[0].clone());
    assert!(matches!(
        s.update(|d| d.apply_policy(&dup)).await,
        Err(StoreError::Rejected(_))
    ));

    let after = s.snapshot().await.expect("read");
    assert_eq!(after.revision, before.revision);
    assert_eq!(after.desired, before.desired);
}

#[tokio::test]
async fn malformed_value_names_the_key() {
    let Some(etcd) = EtcdServer::start() else {
        return;
    };
    let mut s = store(&etcd).await;
    s.update(|d| d.apply_policy(&sockshop()))
        .await
        .expect("apply");
    let cases = [
        ("workloads/carts", "{not json"),
        ("workloads/carts", r#"{"name": "carts"}"#),
        (
            "workloads/carts",
            r#"{"name": "orders", "labels": {"app": "x"}}"#,
        ),
        (
            "instances/10.1.2.40",
            r#"{"workload": "carts", "nic": "node-2", "ip": "10.1.2.40", "vport": 3, "extra": 1}"#,
        ),
        ("engine", "[]"),
        ("nics/n1", r#"{"name": "n1"}"#),
        (
            "trust/keys",
            r#"{"domain": "d", "keys": [{"id": "k", "secret": "short"}]}"#,
        ),
        (
            "trust/keys",
            r#"{"domain": "d", "keys": "short00112233445566778899aabbccdd"}"#,
        ),
        ("surprise", "{}"),
    ];
    for (key, value) in cases {
        let full = format!("{DEFAULT_PREFIX}{key}");
        let good = s
            .client()
            .get(full.as_str(), None)
            .await
            .expect("get")
            .kvs()
            .first()
            .map(|kv| kv.value().to_vec());
        s.client()
            .put(full.as_str(), value, None)
            .await
            .expect("put");
        let err = s
            .snapshot()
            .await
            .expect_err("a malformed value is refused");
        assert!(
            matches!(&err, StoreError::Malformed { key: k, .. } if *k == full),
            "{key}: {err:?}"
        );
        let msg = err.to_string();
        assert!(msg.contains(&full), "{msg}");
        assert!(
            !msg.contains("short"),
            "the error repeats key material: {msg}"
        );
        // A write is refused too (it reads first), and touches nothing.
        assert!(
            s.update(|d| d.relabel("carts", &labels(&[("app", "carts")])))
                .await
                .is_err()
        );
        match good {
            Some(v) => s.client().put(full.as_str(), v, None).await.map(|_| ()),
            None => s.client().delete(full.as_str(), None).await.map(|_| ()),
        }
        .expect("restore");
        s.snapshot().await.expect("restored state reads");
    }
}

#[tokio::test]
async fn concurrent_writers_one_wins() {
    let Some(etcd) = EtcdServer::start() else {
        return;
    };
    let mut a = store(&etcd).await;
    let mut b = store(&etcd).await;
    a.update(|d| d.apply_policy(&sockshop()))
        .await
        .expect("apply");

    // Both read the same revision, then both write different keys.
    let base_a = a.snapshot().await.expect("a reads");
    let base_b = b.snapshot().await.expect("b reads");
    assert_eq!(base_a.revision, base_b.revision);
    let mut next_a = base_a.desired.clone();
    next_a
        .relabel("carts", &labels(&[("app", "carts"), ("patch", "outdated")]))
        .expect("relabel");
    let mut next_b = base_b.desired.clone();
    next_b
        .add_workload("cache", &labels(&[("app", "cache")]))
        .expect("add");
    next_b
        .add_instance("cache", "node-3", ip("10.1.3.99"), None)
        .expect("instance");

    let won = a
        .commit(&base_a, next_a)
        .await
        .expect("the first writer wins");
    let lost = b.commit(&base_b, next_b).await;
    assert!(
        matches!(lost, Err(StoreError::Conflict { revision }) if revision == base_b.revision),
        "{lost:?}"
    );
    assert!(lost.is_err_and(|e| e.to_string().contains("conflict")));

    // Only the winner's change is there, whole.
    let now = b.snapshot().await.expect("read");
    assert_eq!(now.revision, won.revision);
    assert!(!now.desired.workloads.contains_key("cache"));
    assert!(!now.desired.instances.contains_key(&ip("10.1.3.99")));
    assert_eq!(
        now.desired.workloads["carts"]
            .labels
            .get("patch")
            .map(String::as_str),
        Some("outdated")
    );

    // Read again and retry: it lands.
    b.update(|d| d.add_workload("cache", &labels(&[("app", "cache")])))
        .await
        .expect("retry after re-reading");
}

#[tokio::test]
async fn nic_registration_and_secret_redaction() {
    let Some(etcd) = EtcdServer::start() else {
        return;
    };
    let mut s = store(&etcd).await;
    s.update(|d| d.register_nic("node-1", "10.0.0.1:9559", Some("pki/node-1".into())))
        .await
        .expect("register");
    assert!(matches!(
        s.update(|d| d.register_nic("node-2", "nowhere", None))
            .await,
        Err(StoreError::Rejected(_))
    ));
    let secret = "00112233445566778899aabbccddeeff0123456789abcdef";
    s.set_trust_keys(TrustKeys {
        domain: "sockshop.example".into(),
        keys: vec![TrustKey {
            id: "k1".into(),
            secret: Secret::from_hex(secret).expect("hex"),
        }],
    })
    .await
    .expect("keys");
    let d = s.snapshot().await.expect("read").desired;
    assert_eq!(d.nics["node-1"].p4rt, "10.0.0.1:9559");
    assert_eq!(d.nics["node-1"].tls.as_deref(), Some("pki/node-1"));
    let t = d.trust.as_ref().expect("keys stored");
    assert_eq!(t.keys[0].secret.expose_hex(), secret);
    let debug = format!("{d:?}");
    let shown = d.redacted_json().to_string();
    for text in [&debug, &shown] {
        assert!(!text.contains(secret), "{text}");
        assert!(text.contains("<redacted>"));
    }
    assert!(shown.contains("sockshop.example") && shown.contains("k1"));
}
