//! `ztnic policy|workload|nic|state` against a throwaway etcd, through the binary
//! (`SKIPPED: etcd not installed` without one).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ztnic_store::{DEFAULT_PREFIX, Secret, Store, TrustKey, TrustKeys};
use ztnic_testkit::etcd::EtcdServer;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn ztnic(etcd: &EtcdServer, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ztnic"))
        .args(args)
        .arg("--etcd")
        .arg(etcd.endpoint())
        .current_dir(workspace())
        .env("RUST_LOG", "trace")
        .output()
        .expect("run ztnic")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn ok(etcd: &EtcdServer, args: &[&str]) -> String {
    let o = ztnic(etcd, args);
    let (out, err) = text(&o);
    assert!(o.status.success(), "ztnic {args:?} failed:\n{out}\n{err}");
    out
}

fn refused(etcd: &EtcdServer, args: &[&str]) -> String {
    let o = ztnic(etcd, args);
    let (out, err) = text(&o);
    assert!(!o.status.success(), "ztnic {args:?} succeeded:\n{out}");
    err
}

fn show(etcd: &EtcdServer) -> serde_json::Value {
    let out = ok(etcd, &["state", "show", "--json"]);
    serde_json::from_str(&out).expect("state show --json prints JSON")
}

#[test]
fn commands_write_the_desired_state() {
    let Some(etcd) = EtcdServer::start() else {
        return;
    };
    let out = ok(&etcd, &["policy", "apply", "examples/sockshop/policy.yaml"]);
    assert!(
        out.contains("14 workloads, 22 instances, 19 intents"),
        "{out}"
    );
    let s = show(&etcd);
    assert_eq!(s["workloads"].as_array().map(Vec::len), Some(14));
    assert_eq!(s["contexts"].as_array().map(Vec::len), Some(14));
    let rev = s["revision"].as_i64().expect("revision");

    // A policy the compiler refuses (an instance on an undeclared host) and a file
    // that is no policy: non-zero exit, the reason, nothing written.
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.yaml");
    let policy =
        std::fs::read_to_string(workspace().join("examples/sockshop/policy.yaml")).expect("policy");
    std::fs::write(&bad, policy.replace("host: node-3", "host: node-9")).expect("write");
    let err = refused(&etcd, &["policy", "apply", bad.to_str().expect("utf-8")]);
    assert!(
        err.contains("node-9") && err.contains("nothing written"),
        "{err}"
    );
    std::fs::write(&bad, "hosts: [oops").expect("write");
    let err = refused(&etcd, &["policy", "apply", bad.to_str().expect("utf-8")]);
    assert!(err.contains("not a policy file"), "{err}");
    assert_eq!(show(&etcd)["revision"].as_i64(), Some(rev));

    // Workloads: add, an instance, relabel, remove the instance.
    ok(
        &etcd,
        &[
            "workload",
            "add",
            "cache",
            "--label",
            "app=cache",
            "--label",
            "tier=service",
        ],
    );
    let err = refused(&etcd, &["workload", "add", "cache", "--label", "app=cache"]);
    assert!(err.contains("already exists"), "{err}");
    let err = refused(&etcd, &["workload", "add", "x", "--label", "novalue"]);
    assert!(err.contains("KEY=VALUE"), "{err}");
    ok(
        &etcd,
        &[
            "workload",
            "instance",
            "add",
            "cache",
            "--nic",
            "node-2",
            "--addr",
            "10.1.2.99",
        ],
    );
    let s = show(&etcd);
    let inst = s["instances"]
        .as_array()
        .and_then(|a| a.iter().find(|i| i["ip"] == "10.1.2.99"))
        .expect("the new instance");
    assert_eq!(inst["workload"], "cache");
    assert_eq!(inst["nic"], "node-2");
    let ctx_before = s["contexts"].as_array().map(Vec::len);
    ok(
        &etcd,
        &[
            "workload",
            "relabel",
            "cache",
            "--label",
            "app=cache",
            "--label",
            "patch=outdated",
        ],
    );
    let s = show(&etcd);
    let cache = s["workloads"]
        .as_array()
        .and_then(|a| a.iter().find(|w| w["name"] == "cache"))
        .expect("cache");
    assert_eq!(cache["labels"]["patch"], "outdated");
    assert!(cache["labels"].get("tier").is_none());
    assert_eq!(s["contexts"].as_array().map(Vec::len), ctx_before);
    let err = refused(&etcd, &["workload", "relabel", "nobody", "--label", "a=b"]);
    assert!(err.contains("unknown workload"), "{err}");
    let err = refused(
        &etcd,
        &[
            "workload",
            "instance",
            "remove",
            "cache",
            "--nic",
            "node-1",
            "--addr",
            "10.1.2.99",
        ],
    );
    assert!(err.contains("not \"cache\" on \"node-1\""), "{err}");
    ok(
        &etcd,
        &[
            "workload",
            "instance",
            "remove",
            "cache",
            "--nic",
            "node-2",
            "--addr",
            "10.1.2.99",
        ],
    );
    let s = show(&etcd);
    assert_eq!(s["instances"].as_array().map(Vec::len), Some(22));

    // NIC registration.
    ok(
        &etcd,
        &[
            "nic",
            "register",
            "node-1",
            "--p4rt",
            "127.0.0.1:9559",
            "--tls",
            "pki/node-1",
        ],
    );
    let err = refused(&etcd, &["nic", "register", "node-2", "--p4rt", "nowhere"]);
    assert!(err.contains("host:port"), "{err}");
    let s = show(&etcd);
    assert_eq!(s["nics"][0]["p4rt"], "127.0.0.1:9559");
    assert_eq!(s["nics"][0]["tls"], "pki/node-1");
}

#[test]
fn state_show_never_prints_key_material() {
    let Some(etcd) = EtcdServer::start() else {
        return;
    };
    let secret = "5ec12e7000112233445566778899aabbccddeeff00112233";
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let mut s = Store::connect(&[etcd.endpoint()], DEFAULT_PREFIX)
            .await
            .expect("connect");
        s.set_trust_keys(TrustKeys {
            domain: "sockshop.example".into(),
            keys: vec![TrustKey {
                id: "2026-12".into(),
                secret: Secret::from_hex(secret).expect("hex"),
            }],
        })
        .await
        .expect("keys");
    });
    ok(&etcd, &["policy", "apply", "examples/sockshop/policy.yaml"]);
    for args in [&["state", "show"][..], &["state", "show", "--json"][..]] {
        let o = ztnic(&etcd, args);
        let (out, err) = text(&o);
        assert!(o.status.success(), "{err}");
        assert!(out.contains("2026-12") && out.contains("redacted"), "{out}");
        assert!(
            !out.contains(secret) && !err.contains(secret),
            "{out}\n{err}"
        );
    }
}

#[test]
fn malformed_value_and_unreachable_etcd_are_clear_errors() {
    let Some(etcd) = EtcdServer::start() else {
        return;
    };
    ok(&etcd, &["policy", "apply", "examples/sockshop/policy.yaml"]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let mut s = Store::connect(&[etcd.endpoint()], DEFAULT_PREFIX)
            .await
            .expect("connect");
        s.client()
            .put(
                format!("{DEFAULT_PREFIX}workloads/carts"),
                "{\"name\": 7}",
                None,
            )
            .await
            .expect("put");
    });
    let err = refused(&etcd, &["state", "show"]);
    assert!(
        err.contains("etcd key /ztnic/v1/workloads/carts: malformed value"),
        "{err}"
    );
    let err = refused(&etcd, &["workload", "relabel", "orders", "--label", "a=b"]);
    assert!(err.contains("/ztnic/v1/workloads/carts"), "{err}");

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let o = Command::new(env!("CARGO_BIN_EXE_ztnic"))
        .args(["state", "show", "--etcd", &format!("127.0.0.1:{port}")])
        .output()
        .expect("run ztnic");
    assert!(!o.status.success());
    let (_, err) = text(&o);
    assert!(
        err.contains(&format!("etcd at http://127.0.0.1:{port}")),
        "{err}"
    );
}
