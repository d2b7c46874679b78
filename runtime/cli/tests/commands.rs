//! The `ztnic` commands as a user runs them: an agent as a separate process, a
//! policy applied to it, a pcap replayed, counters read; bad input rejected.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use ztnic_model::Config;
use ztnic_scenario::packet::{Ipv4Spec, PacketSpec, TcpSpec};

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

fn ztnic() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ztnic"))
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ztnic-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn syn(src: [u8; 4], dst: [u8; 4], dport: u16) -> Vec<u8> {
    PacketSpec {
        ipv4: Some(Ipv4Spec {
            src: Ipv4Addr::from(src),
            dst: Ipv4Addr::from(dst),
            ttl: 64,
            id: 0,
            df: false,
            mf: false,
            frag_offset: 0,
            options: 0,
            proto: None,
        }),
        tcp: Some(TcpSpec {
            sport: 40000,
            dport,
            flags: "S".into(),
            seq: 1,
            ack: 0,
            win: 65535,
        }),
        ..PacketSpec::default()
    }
    .build(&Config::default())
    .unwrap()
    .bytes
}

/// A classic pcap of `frames`, one per millisecond.
fn write_pcap(path: &Path, frames: &[Vec<u8>]) {
    let mut b = Vec::new();
    for v in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 65535, 1] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    for (i, f) in frames.iter().enumerate() {
        let len = f.len() as u32;
        for v in [100u32, 1000 * i as u32, len, len] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b.extend_from_slice(f);
    }
    std::fs::write(path, b).unwrap();
}

/// Frames of a pcap written by `ztnic replay`.
fn read_pcap(path: &Path) -> Vec<Vec<u8>> {
    let b = std::fs::read(path).unwrap();
    let mut out = Vec::new();
    let mut i = 24;
    while i + 16 <= b.len() {
        let len = u32::from_le_bytes(b[i + 8..i + 12].try_into().unwrap()) as usize;
        out.push(b[i + 16..i + 16 + len].to_vec());
        i += 16 + len;
    }
    out
}

/// The test traffic: from the internet to web on 443 (allowed), to web on 22 (no
/// intent), to an address nobody has (no local endpoint).
fn traffic() -> Vec<Vec<u8>> {
    vec![
        syn([203, 0, 113, 7], [10, 1, 0, 1], 443),
        syn([203, 0, 113, 7], [10, 1, 0, 1], 22),
        syn([203, 0, 113, 7], [10, 1, 0, 77], 443),
    ]
}

fn json(o: &Output) -> serde_json::Value {
    assert!(
        o.status.success(),
        "exit {:?}: {}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

struct AgentProcess(Child);

impl Drop for AgentProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_agent() -> (AgentProcess, String) {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = ztnic()
        .args(["agent", "--listen", &addr])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // the agent says when it serves
    let mut line = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.contains(&addr), "agent said: {line}");
    (AgentProcess(child), addr)
}

#[test]
fn replay_through_the_verilated_nic_writes_what_came_out() {
    let d = tmp("replay-sim");
    let (policy, input, out) = (d.join("p.yaml"), d.join("in.pcap"), d.join("out.pcap"));
    std::fs::write(&policy, POLICY).unwrap();
    write_pcap(&input, &traffic());
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
    let frames = read_pcap(&out);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0], traffic()[0]);
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
    write_pcap(&input, &traffic());
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
