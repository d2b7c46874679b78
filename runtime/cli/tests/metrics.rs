//! `ztnic agent --metrics-addr`: Prometheus metrics read from the device on each
//! scrape, for an agent process programmed with `ztnic apply` and replayed into.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Stdio;

use common::*;

fn free_addr() -> String {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("127.0.0.1:{port}")
}

/// `GET path` over HTTP/1.1: (status line, headers and body).
fn get(addr: &str, path: &str) -> (String, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut r = String::new();
    s.read_to_string(&mut r).unwrap();
    let (status, rest) = r.split_once("\r\n").unwrap();
    (status.to_string(), rest.to_string())
}

/// The value of the sample `series` (name and labels as exposed).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.trim().parse().unwrap())
}

/// The sum of every sample of metric `name` (any labels).
fn total(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn scrape(metrics: &str) -> String {
    let (status, rest) = get(metrics, "/metrics");
    assert!(status.contains("200"), "{status}\n{rest}");
    assert!(
        rest.to_ascii_lowercase()
            .contains("content-type: text/plain; version=0.0.4"),
        "{rest}"
    );
    rest
}

#[test]
fn metrics_count_what_the_device_did() {
    let d = tmp("metrics");
    let (policy, state, input, out) = (
        d.join("p.yaml"),
        d.join("state.json"),
        d.join("in.pcap"),
        d.join("out.pcap"),
    );
    std::fs::write(&policy, WEB_POLICY).unwrap();
    let (addr, metrics) = (free_addr(), free_addr());
    let mut child = ztnic()
        .args(["agent", "--listen", &addr, "--metrics-addr", &metrics])
        .env("RUST_LOG", "info")
        .env("ZTNIC_LOG_FORMAT", "text")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let agent = AgentGuard(child);
    assert!(line.contains(&addr), "agent said: {line}");
    assert!(
        line.contains(&format!("http://{metrics}/metrics")),
        "{line}"
    );

    // Before any traffic: every reason is there, at zero; nothing written yet.
    let m0 = scrape(&metrics);
    for family in [
        "# TYPE ztnic_drops_total counter",
        "# TYPE ztnic_punts_total counter",
        "# TYPE ztnic_slow_path_events_total counter",
        "# TYPE ztnic_p4runtime_write_seconds histogram",
    ] {
        assert!(m0.contains(family), "no {family:?} in\n{m0}");
    }
    let deny = r#"ztnic_drops_total{reason="policy_default_deny"}"#;
    assert_eq!(sample(&m0, deny), Some(0.0), "{m0}");
    assert_eq!(
        sample(&m0, "ztnic_p4runtime_write_seconds_count"),
        Some(0.0)
    );
    let (status, _) = get(&metrics, "/nothing-here");
    assert!(status.contains("404"), "{status}");

    // Program it, then replay one allowed SYN and one with no intent.
    let applied = json(
        &ztnic()
            .arg("apply")
            .arg(&policy)
            .args(["--nic", &format!("node-1={addr}"), "--json", "--state"])
            .arg(&state)
            .output()
            .unwrap(),
    );
    assert!(applied["applied"]["node-1"]["inserts"].as_u64().unwrap() > 0);
    write_pcap(
        &input,
        &[
            syn_from_internet([10, 1, 0, 1], 443),
            syn_from_internet([10, 1, 0, 1], 22),
        ],
    )
    .unwrap();
    let r = json(
        &ztnic()
            .arg("replay")
            .arg(&input)
            .args(["--target", &addr, "--port", "0", "--json", "--out"])
            .arg(&out)
            .output()
            .unwrap(),
    );
    assert_eq!(r["dropped"]["policy_default_deny"], 1);

    let m1 = scrape(&metrics);
    assert_eq!(sample(&m1, deny), Some(1.0), "{m1}");
    assert_eq!(total(&m1, "ztnic_drops_total"), 1.0, "{m1}");
    assert_eq!(total(&m1, "ztnic_rule_packets_total"), 1.0, "{m1}");
    assert!(total(&m1, "ztnic_rule_bytes_total") >= 54.0, "{m1}");
    assert_eq!(
        sample(&m1, r#"ztnic_slow_path_events_total{kind="packet_out"}"#),
        Some(2.0),
        "{m1}"
    );
    assert!(sample(&m1, "ztnic_p4runtime_write_seconds_count").unwrap() >= 1.0);
    assert!(sample(&m1, "ztnic_p4runtime_write_seconds_sum").unwrap() > 0.0);
    // Labels hold reasons, kinds and rule ids only: no addresses.
    for l in m1.lines().filter(|l| l.contains('{')) {
        assert!(!l.contains("10.1.0") && !l.contains("203.0.113"), "{l}");
    }
    drop(agent);
}

/// Kills the agent when the test ends, passed or not.
struct AgentGuard(std::process::Child);

impl Drop for AgentGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
