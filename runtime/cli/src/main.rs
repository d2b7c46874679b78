//! `ztnic`: the command-line entry point. It only wires the library crates together.

mod commands;
mod demo;
mod flows;
mod logging;
mod pcap;
mod replay;
mod state;
mod tls;

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use serde::Serialize;
use ztnic_scenario::{ModelTarget, load_all, run, scenarios_dir};

#[derive(Parser)]
#[command(
    name = "ztnic",
    version,
    about = "Zero-trust SmartNIC: datapath demo and tools"
)]
struct Cli {
    /// How logs are written to standard error: `text` or `json` (one object a
    /// line); `RUST_LOG` chooses what is logged (default `info`).
    #[arg(
        long,
        global = true,
        value_enum,
        env = "ZTNIC_LOG_FORMAT",
        default_value_t = logging::LogFormat::Text
    )]
    log_format: logging::LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The Sock Shop (14 services on 3 hosts) on ztnic NICs (Verilated, each behind a
    /// P4Runtime agent, or bmv2), programmed from label-based intents: who can talk
    /// to whom, what was dropped and why, and a compromised replica quarantined mid-run.
    Demo {
        /// The deployment and its intents.
        #[arg(long, default_value = "examples/sockshop/policy.yaml")]
        policy: PathBuf,
        /// The NICs: `sim` (Verilated RTL behind agents) or `bmv2` (simple_switch_grpc).
        #[arg(long, default_value = "sim", value_parser = ["sim", "bmv2"])]
        target: String,
        /// Print machine-readable JSON instead of tables.
        #[arg(long)]
        json: bool,
    },
    /// Runs a P4Runtime agent over a ztnic FPGA datapath until interrupted.
    Agent(commands::AgentArgs),
    /// Applies a policy file (workloads, hosts, intents) to the NICs of its hosts
    /// and saves the controller's state; with an existing state file, reconciles.
    Apply(commands::ApplyArgs),
    /// Reads a NIC's counters over P4Runtime: drops and punts by reason, packets per
    /// rule and per context.
    Counters(commands::CountersArgs),
    /// Lists a NIC's tracked connections over P4Runtime (the conntrack registers;
    /// a ztnic agent serves them, bmv2 refuses register reads): originator →
    /// responder, zone, TCP state, flags.
    Flows(flows::FlowsArgs),
    /// Replays a pcap through a ztnic NIC programmed from a policy file (the
    /// Verilated NIC in-process, or a P4Runtime target) and writes what came out
    /// as a pcap.
    Replay(replay::ReplayArgs),
    /// Replays every shared scenario through the reference model and shows what it
    /// did with each packet: forwarded, dropped or punted, and why.
    Scenarios {
        /// Directory of scenario files.
        #[arg(long, default_value_os_t = scenarios_dir())]
        scenarios: PathBuf,
        /// Only scenarios whose id (category/name) contains this text.
        #[arg(long)]
        filter: Option<String>,
        /// Print machine-readable JSON instead of tables.
        #[arg(long)]
        json: bool,
    },
    /// The policy in the desired state (etcd): `apply FILE`.
    #[command(subcommand)]
    Policy(state::PolicyCmd),
    /// Workloads in the desired state (etcd): add, relabel, instance add|remove.
    #[command(subcommand)]
    Workload(state::WorkloadCmd),
    /// NIC registrations in the desired state (etcd): `register NAME --p4rt ADDR`.
    #[command(subcommand)]
    Nic(state::NicCmd),
    /// The desired state (etcd): `show`.
    #[command(subcommand)]
    State(state::StateCmd),
    /// The controller service: watches the desired state in etcd, converges every
    /// registered NIC and serves their slow path; one of several is the leader (an
    /// etcd election), a standby takes over when it stops or dies.
    Controller(state::ControllerArgs),
}

#[derive(Serialize, Default)]
struct ScenarioResult {
    id: String,
    description: String,
    packets: usize,
    forwarded: usize,
    dropped: usize,
    punted: usize,
    passed: bool,
    error: Option<String>,
}

#[derive(Serialize, Default)]
struct DemoReport {
    target: String,
    scenarios: Vec<ScenarioResult>,
    drops: BTreeMap<String, u64>,
    punts: BTreeMap<String, u64>,
}

fn scenarios_cmd(dir: PathBuf, filter: Option<String>, json: bool) -> Result<bool> {
    let all =
        load_all(&dir).with_context(|| format!("loading scenarios from {}", dir.display()))?;
    let mut report = DemoReport {
        target: "model".into(),
        ..DemoReport::default()
    };
    let chosen: Vec<_> = all
        .iter()
        .filter(|s| filter.as_ref().is_none_or(|f| s.id.contains(f.as_str())))
        .collect();
    anyhow::ensure!(!chosen.is_empty(), "no scenario matches {filter:?}");
    for s in chosen {
        let mut target = ModelTarget::default();
        let outcome = run(s, &mut target, None);
        let mut r = ScenarioResult {
            id: s.id.clone(),
            description: s.description.clone(),
            packets: s.packets(),
            passed: outcome.is_ok(),
            ..ScenarioResult::default()
        };
        match outcome {
            Ok(sum) => {
                r.forwarded = sum.forwarded;
                r.dropped = sum.dropped;
                r.punted = sum.punted;
            }
            Err(e) => r.error = Some(e.to_string()),
        }
        for (reason, n) in &target.dp.counters.drops {
            *report.drops.entry(reason.to_string()).or_default() += n;
        }
        for (reason, n) in &target.dp.counters.punts {
            *report.punts.entry(reason.to_string()).or_default() += n;
        }
        report.scenarios.push(r);
    }
    let ok = report.scenarios.iter().all(|s| s.passed);
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    Ok(ok)
}

fn print_report(r: &DemoReport) {
    let w = r
        .scenarios
        .iter()
        .map(|s| s.id.len())
        .max()
        .unwrap_or(8)
        .max(8);
    println!(
        "ztnic scenarios: every shared scenario through the {} target\n",
        r.target
    );
    println!(
        "{:<w$}  {:>7}  {:>9}  {:>7}  {:>6}  result",
        "scenario", "packets", "forwarded", "dropped", "punted"
    );
    println!("{}", "-".repeat(w + 46));
    for s in &r.scenarios {
        let result = if s.passed { "as designed" } else { "MISMATCH" };
        println!(
            "{:<w$}  {:>7}  {:>9}  {:>7}  {:>6}  {result}",
            s.id, s.packets, s.forwarded, s.dropped, s.punted
        );
        if let Some(e) = &s.error {
            println!("    {}", e.replace('\n', "\n    "));
        }
    }
    let sum = |f: fn(&ScenarioResult) -> usize| r.scenarios.iter().map(f).sum::<usize>();
    println!("{}", "-".repeat(w + 46));
    println!(
        "{:<w$}  {:>7}  {:>9}  {:>7}  {:>6}  {}/{} as designed",
        "total",
        sum(|s| s.packets),
        sum(|s| s.forwarded),
        sum(|s| s.dropped),
        sum(|s| s.punted),
        r.scenarios.iter().filter(|s| s.passed).count(),
        r.scenarios.len()
    );
    println!("\ndropped, by reason:");
    for (reason, n) in &r.drops {
        println!("  {reason:<24} {n:>5}");
    }
    println!("sent to the control runtime, by reason:");
    for (reason, n) in &r.punts {
        println!("  {reason:<24} {n:>5}");
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    logging::init(cli.log_format)?;
    match cli.command {
        Command::Demo {
            policy,
            target,
            json,
        } => {
            let report = runtime()?.block_on(demo::run(&policy, &target, json))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            }
            if !report.ok {
                std::process::exit(1);
            }
        }
        Command::Agent(a) => runtime()?.block_on(commands::agent(a))?,
        Command::Apply(a) => runtime()?.block_on(commands::apply(a))?,
        Command::Counters(a) => runtime()?.block_on(commands::counters(a))?,
        Command::Flows(a) => runtime()?.block_on(flows::flows(a))?,
        Command::Replay(a) => runtime()?.block_on(replay::replay(a))?,
        Command::Policy(c) => runtime()?.block_on(state::policy(c))?,
        Command::Workload(c) => runtime()?.block_on(state::workload(c))?,
        Command::Nic(c) => runtime()?.block_on(state::nic(c))?,
        Command::State(c) => runtime()?.block_on(state::state(c))?,
        Command::Controller(a) => runtime()?.block_on(state::controller(a))?,
        Command::Scenarios {
            scenarios,
            filter,
            json,
        } => {
            if !scenarios_cmd(scenarios, filter, json)? {
                std::process::exit(1);
            }
        }
    }
    Ok(())
}
