//! `ztnic`'s logs: on standard error, as text or JSON (`--log-format`,
//! `ZTNIC_LOG_FORMAT`), filtered by `RUST_LOG`, the agent's records inside a span
//! naming what it serves.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Command, Stdio};

use common::ztnic;

fn free_addr() -> String {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("127.0.0.1:{port}")
}

/// Starts `cmd` (an agent on `addr`) and returns its first log line; the agent
/// is killed afterwards.
fn first_log_line(mut cmd: Command) -> String {
    let mut child = cmd.stderr(Stdio::piped()).spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    line
}

fn check_json_record(line: &str, addr: &str) {
    let v: serde_json::Value =
        serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    assert_eq!(v["level"], "INFO", "{line}");
    let msg = v["message"].as_str().unwrap();
    assert!(msg.contains(addr), "{line}");
    assert!(v["timestamp"].is_string(), "{line}");
    // The record is inside the agent's span, which names its address and device.
    assert_eq!(v["span"]["name"], "agent", "{line}");
    assert_eq!(v["span"]["listen"], addr, "{line}");
    assert_eq!(v["span"]["device"], "Sim", "{line}");
}

#[test]
fn the_agent_logs_json_records_in_its_span_with_log_format_json() {
    let addr = free_addr();
    let mut cmd = ztnic();
    cmd.args(["--log-format", "json", "agent", "--listen", &addr])
        .env("RUST_LOG", "info")
        .env_remove("ZTNIC_LOG_FORMAT");
    check_json_record(&first_log_line(cmd), &addr);
}

#[test]
fn ztnic_log_format_in_the_environment_chooses_json_too() {
    let addr = free_addr();
    let mut cmd = ztnic();
    cmd.args(["agent", "--listen", &addr])
        .env("RUST_LOG", "info")
        .env("ZTNIC_LOG_FORMAT", "json");
    check_json_record(&first_log_line(cmd), &addr);
}

#[test]
fn text_records_name_the_level_and_the_span() {
    let addr = free_addr();
    let mut cmd = ztnic();
    cmd.args(["agent", "--listen", &addr])
        .env("RUST_LOG", "info")
        .env_remove("ZTNIC_LOG_FORMAT");
    let line = first_log_line(cmd);
    assert!(line.contains(" INFO "), "{line}");
    assert!(line.contains(&format!("agent{{listen={addr}")), "{line}");
    assert!(serde_json::from_str::<serde_json::Value>(&line).is_err());
}

#[test]
fn rust_log_filters_and_a_bad_filter_is_refused() {
    // warn hides the agent's info records: the process says nothing before it
    // is killed (its stderr closes empty).
    let addr = free_addr();
    let mut child = ztnic()
        .args(["agent", "--listen", &addr])
        .env("RUST_LOG", "warn")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until it serves, then stop it.
    let mut served = false;
    for _ in 0..600 {
        if std::net::TcpStream::connect(&addr).is_ok() {
            served = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    assert!(served, "the agent never listened");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");

    let o = ztnic()
        .args(["scenarios", "--filter", "no-such-scenario"])
        .env("RUST_LOG", "ztnic=notalevel")
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("RUST_LOG"));
}

#[test]
fn logs_stay_off_standard_output() {
    let o = ztnic()
        .args(["--log-format", "json", "scenarios", "--json"])
        .env("RUST_LOG", "trace")
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["scenarios"].as_array().is_some_and(|s| !s.is_empty()));
}
