//! `ztnic-synth-levels FILE TOP [--line]`: the logic levels and resources of module TOP in
//! a yosys JSON netlist (see the crate documentation for how levels are counted).
//!
//! Prints a report for people; with `--line` only the scripted line
//! `module TOP luts=N ffs=N bram36=N uram=N dsp=N levels=N`; with `--instances` one line
//! `instance NAME MODULE [PARAM=VALUE ...]` per instance in TOP of a module the netlist
//! holds, with the parameters it sets to non-default values.

use std::process::ExitCode;

use anyhow::{Context, bail};
use ztnic_synth::{Netlist, PathKind};

fn run() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let line_only = args.iter().any(|a| a == "--line");
    let instances = args.iter().any(|a| a == "--instances");
    let rest: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let [file, top] = rest.as_slice() else {
        bail!("usage: ztnic-synth-levels FILE.json TOP [--line | --instances]");
    };
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {file}"))?;
    let netlist = Netlist::from_json(&text).with_context(|| format!("parsing {file}"))?;
    if instances {
        for i in netlist.instances(top)? {
            println!("instance {} {} {}", i.name, i.module, i.params.join(" "));
        }
        return Ok(());
    }
    let report = netlist
        .analyse(top)
        .with_context(|| format!("analysing module {top} of {file}"))?;
    if line_only {
        println!("{}", report.line());
        return Ok(());
    }
    println!("{}", report.line());
    for kind in PathKind::ALL {
        match report.by_kind.get(&kind) {
            Some(l) => println!("{kind} {l}"),
            None => println!("{kind} none"),
        }
    }
    let r = &report.resources;
    println!(
        "cells: LUT {}, FF {}, RAMB36 equivalents {}, URAM {}, DSP {}, LUTRAM {}, SRL {}, CARRY {}, MUXF {}",
        r.luts,
        r.ffs,
        r.bram36(),
        r.uram,
        r.dsp,
        r.lutram,
        r.srl,
        r.carry,
        r.muxf
    );
    for (kind, n) in &report.opaque {
        println!("opaque end point: {n} x {kind}");
    }
    if let Some(kind) = report.worst_kind {
        println!("worst path ({kind}, {} levels):", report.levels);
        for step in &report.worst_path {
            println!("  {step}");
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ztnic-synth-levels: {e:#}");
            ExitCode::FAILURE
        }
    }
}
