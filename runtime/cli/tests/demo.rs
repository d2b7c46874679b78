//! `ztnic demo` end to end: the Sock Shop on three NICs programmed over P4Runtime,
//! with real packets — Verilated NICs behind agents, and the same run on bmv2
//! `simple_switch_grpc` instances; `ztnic replay --target bmv2`. Without
//! `simple_switch_grpc` on PATH the bmv2 checks are reported as ignored, loudly.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::PathBuf;
use std::process::Output;

use common::{WEB_POLICY, syn_from_internet, write_pcap, ztnic};
use libtest_mimic::{Arguments, Failed, Trial};
use ztnic_bmv2::tools::{SIMPLE_SWITCH_GRPC, find, skip};

fn ensure(ok: bool, what: impl FnOnce() -> String) -> Result<(), Failed> {
    if ok { Ok(()) } else { Err(what().into()) }
}

fn json(o: &Output, what: &str) -> Result<serde_json::Value, Failed> {
    ensure(o.status.success(), || {
        format!(
            "{what} failed ({:?}): {}",
            o.status,
            String::from_utf8_lossy(&o.stderr)
        )
    })?;
    Ok(serde_json::from_slice(&o.stdout)?)
}

/// `ztnic demo --target TARGET --json` and what it must show on any target.
fn the_demo_connects_what_the_intents_allow_and_quarantines(target: &str) -> Result<(), Failed> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let out = ztnic()
        .current_dir(root)
        .args(["demo", "--target", target, "--json"])
        .output()?;
    let r = json(&out, "ztnic demo")?;
    assert_eq!(r["ok"], true);
    assert_eq!(r["target"], target);
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
    // a new instance of a known workload costs endpoint entries, no rule, and is
    // reachable at once
    let so = &r["scale_out"];
    assert_eq!(so["connected"], true);
    assert_eq!(so["rule_or_context_updates"], 0);
    let written: u64 = so["updates"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert!(
        (2..=8).contains(&written),
        "{written} updates for one instance"
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
    Ok(())
}

fn a_missing_policy_file_is_a_clear_error() -> Result<(), Failed> {
    let out = ztnic()
        .args(["demo", "--policy", "/nonexistent/policy.yaml"])
        .output()?;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/policy.yaml"));
    Ok(())
}

/// `ztnic replay --target bmv2`: a switch programmed from a policy, three SYNs
/// from the internet into its uplink (allowed, no intent, no local endpoint) and
/// an ARP request (punted): forwards, drops and punts are each told apart.
fn replay_through_bmv2_tallies_what_the_switch_did() -> Result<(), Failed> {
    let d: PathBuf =
        std::env::temp_dir().join(format!("ztnic-cli-{}-replay-bmv2", std::process::id()));
    std::fs::create_dir_all(&d)?;
    let (policy, input, out) = (d.join("p.yaml"), d.join("in.pcap"), d.join("out.pcap"));
    std::fs::write(&policy, WEB_POLICY)?;
    let traffic = vec![
        syn_from_internet([10, 1, 0, 1], 443),
        syn_from_internet([10, 1, 0, 1], 22),
        syn_from_internet([10, 1, 0, 77], 443),
        ztnic_testkit::frames::arp_request(),
    ];
    write_pcap(&input, &traffic)?;
    let r = json(
        &ztnic()
            .arg("replay")
            .arg(&input)
            .args(["--target", "bmv2", "--policy"])
            .arg(&policy)
            .args(["--port", "0", "--json", "--out"])
            .arg(&out)
            .output()?,
        "ztnic replay --target bmv2",
    )?;
    let _ = std::fs::remove_dir_all(&d);
    assert_eq!(r["packets"], 4);
    assert_eq!(r["forwarded"]["1"], 1);
    assert_eq!(r["dropped"]["policy_default_deny"], 1);
    assert_eq!(r["dropped"]["no_local_ep"], 1);
    assert_eq!(r["punted"]["arp"], 1);
    assert_eq!(r["out_frames"], 1);
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
    let missing = find(SIMPLE_SWITCH_GRPC)
        .is_none()
        .then(|| format!("{SIMPLE_SWITCH_GRPC} is not on PATH"));
    let bmv2 = |name: &'static str, f: fn() -> Result<(), Failed>| match &missing {
        Some(why) => {
            skip(name, why);
            Trial::test(name, || Ok(())).with_ignored_flag(true)
        }
        None => Trial::test(name, f),
    };
    let trials = vec![
        Trial::test(
            "the_sock_shop_demo_connects_what_the_intents_allow_and_quarantines_the_compromised_replica",
            || the_demo_connects_what_the_intents_allow_and_quarantines("sim"),
        ),
        bmv2(
            "the_sock_shop_demo_on_bmv2_connects_what_the_intents_allow_and_quarantines_the_compromised_replica",
            || the_demo_connects_what_the_intents_allow_and_quarantines("bmv2"),
        ),
        bmv2(
            "replay_through_bmv2_tallies_what_the_switch_did",
            replay_through_bmv2_tallies_what_the_switch_did,
        ),
        Trial::test(
            "a_missing_policy_file_is_a_clear_error",
            a_missing_policy_file_is_a_clear_error,
        ),
    ];
    libtest_mimic::run(&args, trials).exit();
}
