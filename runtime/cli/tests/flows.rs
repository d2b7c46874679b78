//! `ztnic flows` as a user runs it: an agent process over the Verilated NIC, a
//! policy applied to it, a SYN replayed into it, and the connection it opened
//! listed from the conntrack registers over a read-only P4Runtime session.
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
intents:
  - {name: internet-to-web, from: world, to: {app: web}, proto: tcp, ports: 443, action: allow}
"#;

fn ztnic() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ztnic"))
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ztnic-cli-flows-{}-{name}", std::process::id()));
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

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}: {}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).unwrap()
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
fn flows_lists_the_connection_a_replayed_syn_opened() {
    let d = tmp("agent");
    let (policy, state, input, out) = (
        d.join("p.yaml"),
        d.join("state.json"),
        d.join("in.pcap"),
        d.join("out.pcap"),
    );
    std::fs::write(&policy, POLICY).unwrap();
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
    write_pcap(&input, &[syn([203, 0, 113, 7], [10, 1, 0, 1], 443)]);
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
