//! Every shared scenario on the ztnic P4 program in a real bmv2
//! (`simple_switch_grpc`), compared packet by packet with the scenario's
//! expectations and with the reference model. One test per scenario; without
//! `simple_switch_grpc` on PATH each is reported as ignored with one loud line.

use libtest_mimic::{Arguments, Failed, Trial};
use ztnic_bmv2::tools::{SIMPLE_SWITCH_GRPC, find, repo_root, skip};
use ztnic_bmv2_tests::p4c::{ZTNIC_JSON, ZTNIC_P4INFO};
use ztnic_bmv2_tests::target::Bmv2Target;
use ztnic_scenario::{ModelTarget, Scenario, load_all, run, scenarios_dir};

/// Real time a scenario may take at most: longer scenarios are replayed faster,
/// with their conntrack timeouts shortened by the same factor.
const REAL_TIME_BUDGET_US: u64 = 2_000_000;

fn time_scale(s: &Scenario) -> u64 {
    let last = s.steps.iter().map(|st| st.at_us).max().unwrap_or(0);
    last.div_ceil(REAL_TIME_BUDGET_US).max(1)
}

fn run_one(s: &Scenario) -> Result<(), Failed> {
    let root = repo_root();
    let mut bmv2 = Bmv2Target::start(
        &root.join(ZTNIC_JSON),
        &root.join(ZTNIC_P4INFO),
        time_scale(s),
    )
    .map_err(|e| format!("starting bmv2: {e}"))?;
    let mut model = ModelTarget::default();
    let result = run(s, &mut bmv2, Some(&mut model));
    let log = bmv2.switch().log_path();
    bmv2.stop();
    match result {
        Ok(summary) => {
            println!(
                "bmv2 {}: {} packets agree with the scenario and the model",
                s.id, summary.compared
            );
            Ok(())
        }
        Err(e) => Err(format!(
            "{e}\n(bmv2 trace with ZTNIC_BMV2_TRACE=1: {})",
            log.display()
        )
        .into()),
    }
}

fn main() {
    let args = Arguments::from_args();
    let scenarios = match load_all(&scenarios_dir()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cannot load the scenarios: {e}");
            std::process::exit(1);
        }
    };
    let missing = if find(SIMPLE_SWITCH_GRPC).is_none() {
        Some(format!("{SIMPLE_SWITCH_GRPC} is not on PATH"))
    } else if !repo_root().join(ZTNIC_JSON).is_file() {
        Some(format!("{ZTNIC_JSON} is missing"))
    } else {
        None
    };
    let trials = scenarios
        .into_iter()
        .map(|s| {
            let name = format!("bmv2::{}", s.id);
            match &missing {
                Some(why) => {
                    skip(&name, &format!("{why}; the scenario did not run on bmv2"));
                    Trial::test(name, || Ok(())).with_ignored_flag(true)
                }
                None => Trial::test(name, move || run_one(&s)),
            }
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
