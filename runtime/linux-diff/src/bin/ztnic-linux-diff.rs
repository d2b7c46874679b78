//! Runs the Linux differential sequences by hand and prints every disagreement with
//! both sides' final conntrack states. Needs root (network namespaces), `nft` and
//! `conntrack`. An argument filters sequences by name.

use std::process::ExitCode;

use ztnic_linux_diff::lab::{Lab, LabError};
use ztnic_linux_diff::{run_model, seqs, summary};

fn main() -> ExitCode {
    let filter = std::env::args().nth(1).unwrap_or_default();
    let lab = match Lab::new() {
        Ok(l) => l,
        Err(LabError::Unavailable(why)) => {
            println!("SKIPPED: {why}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let all: Vec<_> = seqs::all()
        .into_iter()
        .filter(|s| s.name.contains(&filter))
        .collect();
    let reports = match run_model(&lab, &all) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    for r in &reports {
        for d in &r.disagreements {
            println!(
                "{} #{}: kernel {} model {}  [{}]",
                d.seq, d.index, d.kernel, d.target, d.packet
            );
        }
        if let Some((k, m)) = &r.state_diff {
            println!(
                "{}: final states differ\n  kernel: {k:?}\n  model:  {m:?}",
                r.name
            );
        }
    }
    println!("{}", summary(&reports));
    ExitCode::SUCCESS
}
