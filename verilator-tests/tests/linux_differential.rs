//! The Linux differential (issue 15) through the Verilated NIC: every sequence of
//! `ztnic_linux_diff::seqs` goes through the kernel's nf_conntrack in network
//! namespaces and through the RTL (`RtlTarget`, the FPGA driver over the Verilated
//! `ztnic_top`) at the kernel run's packet times; every packet's verdict must agree
//! except the documented differences (`ztnic_linux_diff::ALLOWED`, the same list the
//! model answers to). The final states are compared for the model only
//! (`runtime/linux-diff`); here the verdicts say it.
//!
//! Needs root (network namespaces), `nft` and `conntrack`; without them it prints
//! `SKIPPED: <reason>` and passes.

use ztnic_linux_diff::lab::{Lab, LabError};
use ztnic_linux_diff::{allowed, compare, run_kernel, run_target, seqs, summary};
use ztnic_verilator_tests::RtlTarget;

#[test]
fn rtl_conntrack_agrees_with_linux() {
    let lab = match Lab::new() {
        Ok(l) => l,
        Err(LabError::Unavailable(why)) => {
            println!("SKIPPED: {why}");
            return;
        }
        Err(e) => panic!("the network namespace lab could not be built: {e}"),
    };
    let all = seqs::all();
    assert!(all.len() >= 25, "at least 25 sequences");
    let mut rtl = RtlTarget::new().expect("the Verilated NIC");
    let mut reports = Vec::new();
    for seq in &all {
        let kernel = run_kernel(&lab, seq).expect("the kernel run");
        let fates = run_target(&mut rtl, seq, &kernel.times).expect("the RTL run");
        reports.push(compare(seq, &kernel, &fates, None));
    }
    drop(lab);
    println!("RTL: {}", summary(&reports));
    let mut unexplained = Vec::new();
    for d in reports.iter().flat_map(|r| &r.disagreements) {
        let why = allowed(&d.seq, Some(d.index));
        println!(
            "{} packet {}: kernel {} rtl {}{}  [{}]",
            d.seq,
            d.index,
            d.kernel,
            d.target,
            why.map(|w| format!(" (allowed: {w})")).unwrap_or_default(),
            d.packet
        );
        if why.is_none() {
            unexplained.push(format!("{} packet {}", d.seq, d.index));
        }
    }
    assert!(
        unexplained.is_empty(),
        "RTL differences from Linux that are not documented: {unexplained:?}"
    );
}
