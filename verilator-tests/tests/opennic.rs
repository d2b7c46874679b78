//! Every shared scenario through the OpenNIC shell wrapper (`rtl/ztnic_opennic.v`):
//! frames enter from the CMAC adapter (the uplink port) or the host (H2C, the port in
//! tuser_dst) and leave by TX or C2H with tuser_size on every beat; the tables are
//! written over AXI4-Lite on a clock unrelated to the datapath's, through the
//! wrapper's clock-domain crossing. Checked like `scenarios.rs`: against the verdicts
//! in the file and, packet by packet, against the reference model.

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
            Trial::test(format!("opennic_scenario::{}", s.id), move || {
                check_scenario(&s, Model::OpenNic).map_err(Failed::from)
            })
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
