//! The `ztnic` commands as a user runs them: an agent as a separate process, a
//! policy applied to it, a pcap replayed, counters read; bad input rejected.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;

const POLICY: &str = r#"
hosts:
  - {name: node-1, vtep: 192.168.0.1}
workloads:
  - name: web
    labels: {app: web}
    instances:
      - {ip: 10.1.0.1, host: node-1, vport: 1}
  - name: db
    labels: {app: db}
    instances:
      - {ip: 10.1.0.9, host: node-1, vport: 3}
intents:
  - {name: internet-to-web, from: world, to: {app: web}, proto: tcp, ports: 443, action: allow}
  - {name: web-to-db, from: {app: web}, to: {app: db}, proto: tcp, ports: 5432, action: allow}
"#;

/// The test traffic: from the internet to web on 443 (allowed), to web on 22 (no
/// intent), to an address nobody has (no local endpoint).
fn traffic() -> Vec<Vec<u8>> {
    vec![
        syn_from_internet([10, 1, 0, 1], 443),
        syn_from_internet([10, 1, 0, 1], 22),
        syn_from_internet([10, 1, 0, 77], 443),
    ]
}

#[test]
fn replay_through_the_verilated_nic_writes_what_came_out() {
    let d = tmp("replay-sim");
    let (policy, input, out) = (d.join("p.yaml"), d.join("in.pcap"), d.join("out.pcap"));
    std::fs::write(&policy, POLICY).unwrap();
    write_pcap(&input, &traffic()).unwrap();
    let r = json(
        &ztnic()
            .arg("replay")
            .arg(&input)
            .arg("--policy")
            .arg(&policy)
            .args(["--port", "0", "--json", "--out"])
            .arg(&out)
            .output()
            .unwrap(),
    );
    assert_eq!(r["packets"], 3);
    assert_eq!(r["forwarded"]["1"], 1);
    assert_eq!(r["dropped"]["policy_default_deny"], 1);
    assert_eq!(r["dropped"]["no_local_ep"], 1);
    // the delivered SYN, as it left vport 1
    let frames = read_pcap(&out).unwrap();
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0], traffic()[0]);
}

#[test]
fn replay_of_frames_longer_than_max_frame_drops_them_and_goes_on() {
    let d = tmp("replay-oversize");
    let (policy, input, out) = (d.join("p.yaml"), d.join("in.pcap"), d.join("out.pcap"));
    std::fs::write(&policy, POLICY).unwrap();
    let long = |len: usize| {
        let mut f = syn_from_internet([10, 1, 0, 1], 443);
        f.resize(len, 0x77);
        f
    };
    // the 40,042-byte frame once hung the NIC (its frame FIFO holds 32 KiB)
    let frames = vec![
        syn_from_internet([10, 1, 0, 1], 443),
        long(40_042),
        long(65_535),
        long(9_601),
        syn_from_internet([10, 1, 0, 1], 443),
    ];
    write_pcap(&input, &frames).unwrap();
    let r = json(
        &ztnic()
            .arg("replay")
            .arg(&input)
            .arg("--policy")
            .arg(&policy)
            .args(["--port", "0", "--json", "--out"])
            .arg(&out)
            .output()
            .unwrap(),
    );
    assert_eq!(r["packets"], 5);
    assert_eq!(r["dropped"]["oversize"], 3);
    assert_eq!(r["forwarded"]["1"], 2);
    assert_eq!(read_pcap(&out).unwrap().len(), 2);
}

#[test]
fn an_agent_process_is_programmed_replayed_into_and_read() {
    let d = tmp("agent");
    let (policy, state, input, out) = (
        d.join("p.yaml"),
        d.join("state.json"),
        d.join("in.pcap"),
        d.join("out.pcap"),
    );
    std::fs::write(&policy, POLICY).unwrap();
    let (_agent, addr) = start_agent();
    let nic = format!("node-1={addr}");
    let applied = json(
        &ztnic()
            .arg("apply")
            .arg(&policy)
            .args(["--nic", &nic, "--json", "--state"])
            .arg(&state)
            .output()
            .unwrap(),
    );
    assert_eq!(applied["contexts"], 2);
    assert!(applied["applied"]["node-1"]["inserts"].as_u64().unwrap() > 5);
    assert!(state.exists());
    // applying again reconciles with the saved state and writes nothing new
    let again = json(
        &ztnic()
            .arg("apply")
            .arg(&policy)
            .args(["--nic", &nic, "--json", "--state"])
            .arg(&state)
            .output()
            .unwrap(),
    );
    let n = &again["reconciled"]["node-1"];
    assert_eq!(
        (
            n["inserts"].as_u64(),
            n["modifies"].as_u64(),
            n["deletes"].as_u64()
        ),
        (Some(0), Some(0), Some(0))
    );
    assert_eq!(again["applied"]["node-1"]["inserts"], 0);

    // replay through PacketOut (mode 1: as if arrived on the uplink)
    write_pcap(&input, &traffic()).unwrap();
    let r = json(
        &ztnic()
            .arg("replay")
            .arg(&input)
            .args(["--target", &addr, "--port", "0", "--json", "--out"])
            .arg(&out)
            .output()
            .unwrap(),
    );
    assert_eq!(r["packets"], 3);
    assert_eq!(r["dropped"]["policy_default_deny"], 1);
    assert_eq!(r["dropped"]["no_local_ep"], 1);

    // counters over a read-only session
    let c = json(
        &ztnic()
            .args(["counters", "--target", &addr, "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(c["drops"]["policy_default_deny"], 1);
    assert_eq!(c["drops"]["no_local_ep"], 1);
    let rule_packets: u64 = c["rules"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v[0].as_u64().unwrap())
        .sum();
    assert_eq!(rule_packets, 1, "internet-to-web decided one packet");
}

#[test]
fn bad_input_is_refused_with_a_clear_error_and_changes_nothing() {
    let d = tmp("bad");
    let policy = d.join("p.yaml");
    std::fs::write(&policy, POLICY).unwrap();
    let state = d.join("state.json");
    // a host without --nic
    let o = ztnic()
        .arg("apply")
        .arg(&policy)
        .arg("--state")
        .arg(&state)
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("node-1"));
    assert!(!state.exists());
    // a policy that does not parse
    let bad = d.join("bad.yaml");
    std::fs::write(&bad, "intents: [{name: x, from: nowhere}]").unwrap();
    let o = ztnic()
        .arg("apply")
        .arg(&bad)
        .args(["--nic", "node-1=127.0.0.1:1"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("bad.yaml"));
    // an event poll interval out of range
    let o = ztnic().args(["agent", "--poll-ms", "0"]).output().unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--poll-ms"));
    // a file that is not a pcap
    let o = ztnic().arg("replay").arg(&policy).output().unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a pcap"));
    // an agent address that does not parse
    let o = ztnic()
        .args(["agent", "--listen", "nowhere"])
        .output()
        .unwrap();
    assert!(!o.status.success());
}
