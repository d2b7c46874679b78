//! What the `ztnic` command tests share: the binary, scratch directories, its
//! JSON output, an agent process, and SYNs from the internet.
#![allow(dead_code, unused_imports, clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

pub use ztnic_testkit::pcap::{read_pcap, write_pcap};

/// The `ztnic` binary under test.
pub fn ztnic() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ztnic"))
}

/// A scratch directory of this test process.
pub fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ztnic-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Asserts the command succeeded; its standard output.
pub fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}: {}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).unwrap()
}

/// Asserts the command succeeded; its standard output as JSON.
pub fn json(o: &Output) -> serde_json::Value {
    serde_json::from_str(&ok(o)).unwrap()
}

/// One host, node-1, with web (10.1.0.1 on vport 1) reachable from the internet
/// on tcp/443.
pub const WEB_POLICY: &str = r#"
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

/// A SYN from the internet (203.0.113.7:40000) to `dst`:`dport`.
pub fn syn_from_internet(dst: [u8; 4], dport: u16) -> Vec<u8> {
    ztnic_testkit::frames::Tcp::syn([203, 0, 113, 7], dst, 40000, dport).frame()
}

/// `ztnic agent` running as a separate process; killed when dropped.
pub struct AgentProcess(Child);

impl Drop for AgentProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `ztnic agent` on a free loopback port; returns it and its address once
/// it says it serves.
pub fn start_agent() -> (AgentProcess, String) {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = ztnic()
        .args(["agent", "--listen", &addr, "--poll-ms", "2"])
        // Its first log record says where it serves.
        .env("RUST_LOG", "info")
        .env("ZTNIC_LOG_FORMAT", "text")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.contains(&addr), "agent said: {line}");
    (AgentProcess(child), addr)
}
