//! Every shared scenario through the Verilated datapath, checked against the verdicts
//! written in the file and, packet by packet, against the reference model.

use libtest_mimic::{Arguments, Failed, Trial};
use ztnic_verilator_tests::{Model, check_scenario, shared_scenarios};

fn main() {
    let args = Arguments::from_args();
    let scenarios = shared_scenarios().unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(1);
    });
    let trials = scenarios
        .into_iter()
        .map(|s| {
            Trial::test(format!("rtl_scenario::{}", s.id), move || {
                check_scenario(&s, Model::Top).map_err(Failed::from)
            })
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
