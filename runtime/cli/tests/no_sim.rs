//! The `ztnic` command without the `sim` feature: the Verilated simulator
//! (`ztnic-rtl-sim`, whose build script needs Verilator) is not in its dependency
//! graph, so the card agent builds on a machine without Verilator, and the
//! commands that need the simulator say so.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn cargo() -> Command {
    let mut c = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    c.current_dir(workspace());
    c
}

/// The packages `ztnic` links (normal and build dependencies, every platform),
/// one name per line, with the given feature flags.
fn linked_packages(features: &[&str]) -> Vec<String> {
    let o = cargo()
        .args([
            "tree",
            "-p",
            "ztnic",
            "-e",
            "normal,build",
            "--prefix",
            "none",
        ])
        .args(["--format", "{p}", "--target", "all"])
        .args(features)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "cargo tree: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

#[test]
fn without_default_features_the_simulator_is_not_linked() {
    let with = linked_packages(&[]);
    assert!(
        with.iter().any(|p| p == "ztnic-rtl-sim"),
        "the default build links the simulator: {with:?}"
    );
    let without = linked_packages(&["--no-default-features"]);
    assert!(
        without.iter().any(|p| p == "ztnic-agent"),
        "the card agent is still there: {without:?}"
    );
    assert!(
        !without.iter().any(|p| p == "ztnic-rtl-sim"),
        "--no-default-features still links ztnic-rtl-sim: {without:?}"
    );
}

fn fails_saying(o: &Output, what: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "succeeded: {err}");
    assert!(err.contains(what), "stderr lacks {what:?}: {err}");
}

/// Builds `ztnic --no-default-features` with Verilator out of reach (its own
/// target directory, so the default-feature binary the other tests run is left
/// alone) and runs it. A full build of the dependency tree: run it with
/// `cargo test -p ztnic --test no_sim -- --ignored`.
#[test]
#[ignore = "builds the workspace's dependencies again in target/no-sim (minutes)"]
fn a_build_without_verilator_serves_cards_and_refuses_the_simulator() {
    let target_dir = workspace().join("target/no-sim");
    let o = cargo()
        .args(["build", "-p", "ztnic", "--no-default-features"])
        .env("CARGO_TARGET_DIR", &target_dir)
        .env("VERILATOR", "/nonexistent/verilator")
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "build without Verilator: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let bin = target_dir.join("debug/ztnic");
    let run = |args: &[&str]| Command::new(&bin).args(args).output().unwrap();

    let sim = "built without the `sim` feature";
    fails_saying(&run(&["agent", "--device", "sim"]), sim);
    fails_saying(&run(&["agent"]), sim);
    fails_saying(&run(&["demo"]), sim);
    let pcap = workspace().join("target/no-sim/empty.pcap");
    ztnic_testkit::pcap::write_pcap(&pcap, &[vec![0u8; 60]]).unwrap();
    fails_saying(
        &run(&["replay", pcap.to_str().unwrap(), "--target", "sim"]),
        sim,
    );
    // The card agent is there: it gets as far as mapping the BAR.
    let o = run(&[
        "agent",
        "--device",
        "card",
        "--bar",
        "/nonexistent/resource0",
    ]);
    fails_saying(&o, "/nonexistent/resource0");
    assert!(!String::from_utf8_lossy(&o.stderr).contains(sim));
}
