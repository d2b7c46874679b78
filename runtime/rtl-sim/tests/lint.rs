//! `rtl/` is read cleanly: Verilator's full lint (`--lint-only -Wall`, no warning
//! of any kind) and Icarus Verilog (`-g2005`); `tools/setup` installs both. (yosys
//! reads it in `tools/synth-rtl`, which takes too long for a test.)

use std::path::{Path, PathBuf};
use std::process::Command;

fn rtl() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rtl")
}

fn sources() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(rtl())
        .expect("rtl/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "v"))
        .collect();
    v.sort();
    assert!(v.len() > 5, "the RTL sources: {v:?}");
    v
}

/// Runs `cmd`; panics with its output unless it succeeds with nothing on stderr
/// and stdout matching `quiet`.
fn clean(mut cmd: Command, what: &str, quiet: impl Fn(&str) -> bool) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run it ({e}); tools/setup installs it"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.trim().is_empty() && quiet(&stdout),
        "{what} is not clean ({:?}):\n{stdout}\n{stderr}",
        out.status
    );
}

/// `verilator --lint-only -Wall` of the design under `top`.
fn verilator_lint(top: &str) {
    let mut c = Command::new("verilator");
    c.args(["--lint-only", "-Wall", "--top-module", top])
        .arg(format!("-I{}", rtl().join("generated").display()))
        .arg(format!("-I{}", rtl().display()))
        .args(sources());
    clean(c, &format!("verilator --lint-only -Wall ({top})"), |o| {
        o.trim().is_empty()
    });
}

/// Icarus Verilog elaborates the design under `top`.
fn icarus(top: &str) {
    let out = std::env::temp_dir().join(format!("ztnic-lint-{top}-{}.vvp", std::process::id()));
    let mut c = Command::new("iverilog");
    c.args(["-g2005", "-s", top, "-o"])
        .arg(&out)
        .arg(format!("-I{}", rtl().join("generated").display()))
        .arg(format!("-I{}", rtl().display()))
        .args(sources());
    clean(c, &format!("iverilog -g2005 ({top})"), |o| {
        o.trim().is_empty()
    });
    std::fs::remove_file(out).ok();
}

#[test]
fn verilator_lint_wall_is_clean() {
    verilator_lint("ztnic_top");
}

#[test]
fn icarus_compiles_the_rtl() {
    icarus("ztnic_top");
}

/// The OpenNIC shell wrapper and its clock-domain crossing, arbiter and output FIFO.
#[test]
fn verilator_lint_wall_is_clean_for_the_opennic_wrapper() {
    verilator_lint("ztnic_opennic");
}

#[test]
fn icarus_compiles_the_opennic_wrapper() {
    icarus("ztnic_opennic");
}
