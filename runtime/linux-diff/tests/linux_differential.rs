//! The Linux differential test (issue 15): every sequence of `ztnic_linux_diff::seqs`
//! through the kernel's nf_conntrack in network namespaces and through the reference
//! model; every packet's verdict and every sequence's final conntrack states must
//! agree, except the documented differences in [`ALLOWED`].
//!
//! Needs root (network namespaces), `nft` and `conntrack`; without them it prints
//! `SKIPPED: <reason>` and passes.

use ztnic_linux_diff::lab::{Lab, LabError};
use ztnic_linux_diff::{allowed, run_model, seqs, summary};

#[test]
fn model_conntrack_agrees_with_linux() {
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
    let reports = run_model(&lab, &all).expect("the sequences run");
    drop(lab);
    println!("{}", summary(&reports));
    let mut unexplained = Vec::new();
    for r in &reports {
        for d in &r.disagreements {
            let why = allowed(&d.seq, Some(d.index));
            println!(
                "{} packet {}: kernel {} model {}{}  [{}]",
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
        if let Some((k, m)) = &r.state_diff {
            let why = allowed(&r.name, None);
            println!(
                "{} final states: kernel {k:?} model {m:?}{}",
                r.name,
                why.map(|w| format!(" (allowed: {w})")).unwrap_or_default()
            );
            if why.is_none() {
                unexplained.push(format!("{} final states", r.name));
            }
        }
    }
    assert!(
        unexplained.is_empty(),
        "differences from Linux that are not documented: {unexplained:?}"
    );
}
