//! `ztnic flows` as a user runs it: an agent process over the Verilated NIC, a
//! policy applied to it, a SYN replayed into it, and the connection it opened
//! listed from the conntrack registers over a read-only P4Runtime session.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;

#[test]
fn flows_lists_the_connection_a_replayed_syn_opened() {
    let d = tmp("agent");
    let (policy, state, input, out) = (
        d.join("p.yaml"),
        d.join("state.json"),
        d.join("in.pcap"),
        d.join("out.pcap"),
    );
    std::fs::write(&policy, WEB_POLICY).unwrap();
    let (_agent, addr) = start_agent();

    // a NIC without a pipeline has no table to list
    let none = ztnic().args(["flows", "--target", &addr]).output().unwrap();
    assert!(!none.status.success());
    assert!(
        String::from_utf8_lossy(&none.stderr).contains("runs no pipeline"),
        "{}",
        String::from_utf8_lossy(&none.stderr)
    );

    let nic = format!("node-1={addr}");
    ok(&ztnic()
        .arg("apply")
        .arg(&policy)
        .args(["--nic", &nic, "--json", "--state"])
        .arg(&state)
        .output()
        .unwrap());
    // from the internet to web on 443, as if it arrived on the uplink
    write_pcap(&input, &[syn_from_internet([10, 1, 0, 1], 443)]).unwrap();
    ok(&ztnic()
        .arg("replay")
        .arg(&input)
        .args(["--target", &addr, "--port", "0", "--json", "--out"])
        .arg(&out)
        .output()
        .unwrap());

    let j: serde_json::Value = serde_json::from_str(&ok(&ztnic()
        .args(["flows", "--target", &addr, "--json"])
        .output()
        .unwrap()))
    .unwrap();
    assert_eq!(j["flows"], 1, "{j}");
    let f = &j["entries"][0];
    assert_eq!(f["proto"], "tcp");
    assert_eq!(f["originator"], "203.0.113.7:40000");
    assert_eq!(f["responder"], "10.1.0.1:443");
    assert_eq!(f["tcp_state"], "SYN_SENT");
    assert_eq!(
        (f["assured"].as_bool(), f["replied"].as_bool()),
        (Some(false), Some(false))
    );
    let index = f["index"].as_i64().unwrap();
    assert_eq!(
        index,
        f["way"].as_i64().unwrap() * 4096 + f["bucket"].as_i64().unwrap()
    );

    let text = ok(&ztnic().args(["flows", "--target", &addr]).output().unwrap());
    assert!(text.contains("203.0.113.7:40000 -> 10.1.0.1:443"), "{text}");
    assert!(text.contains("SYN_SENT"), "{text}");
    assert_eq!(text.lines().last(), Some("1 flow"), "{text}");
}
