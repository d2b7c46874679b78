//! `ztnic demo` end to end: the Sock Shop on three Verilated NICs behind agents,
//! programmed over P4Runtime, with real packets.
#![allow(clippy::unwrap_used)]

use std::process::Command;

#[test]
fn the_sock_shop_demo_connects_what_the_intents_allow_and_quarantines_the_compromised_replica() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let out = Command::new(env!("CARGO_BIN_EXE_ztnic"))
        .current_dir(root)
        .args(["demo", "--json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "ztnic demo failed: {stderr}");
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["ok"], true);
    assert_eq!(r["hosts"].as_array().unwrap().len(), 3);
    assert_eq!(r["workloads"], 14);
    let calls = r["calls"].as_array().unwrap();
    assert!(calls.len() >= 40, "{} calls", calls.len());
    // every call went as the intents say, and both kinds happened
    assert!(calls.iter().all(|c| c["as_expected"] == true));
    let connected = calls.iter().filter(|c| c["connected"] == true).count();
    assert!(connected >= 25 && calls.len() - connected >= 10);
    // a web-to-database call is blocked by the guard rail, at the caller's NIC
    let web_db = calls
        .iter()
        .find(|c| {
            c["from"].as_str().unwrap().starts_with("front-end")
                && c["to"].as_str().unwrap().starts_with("catalogue-db")
        })
        .unwrap();
    assert_eq!(web_db["connected"], false);
    assert!(
        web_db["result"]
            .as_str()
            .unwrap()
            .contains("policy_deny (web-never-to-db)")
    );
    // the compromised replica: its live connection is cut at the next packet, its
    // sibling's survives, its new calls are refused
    let c = &r["compromise"];
    assert_eq!(c["cut"], true);
    assert_eq!(c["sibling_survived"], true);
    assert_eq!(c["new_call_blocked"], true);
    assert!(
        c["live_flow_after"]
            .as_str()
            .unwrap()
            .contains("quarantine-outdated")
    );
    // the counters read back over P4Runtime saw the drops
    let drops: u64 = r["nics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["drops"]["policy_deny"].as_u64().unwrap_or(0))
        .sum();
    assert!(drops >= 8, "{drops} policy_deny drops");
}

#[test]
fn a_missing_policy_file_is_a_clear_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_ztnic"))
        .args(["demo", "--policy", "/nonexistent/policy.yaml"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/policy.yaml"));
}
