//! Every shared scenario through the Verilated datapath, checked against the verdicts
//! written in the file and, packet by packet, against the reference model.

use libtest_mimic::{Arguments, Failed, Trial};
use ztnic_scenario::{ModelTarget, load_all, run, scenarios_dir};
use ztnic_verilator_tests::RtlTarget;

fn main() {
    let args = Arguments::from_args();
    let scenarios = match load_all(&scenarios_dir()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cannot load the scenarios: {e}");
            std::process::exit(1);
        }
    };
    let trials = scenarios
        .into_iter()
        .map(|s| {
            Trial::test(format!("rtl_scenario::{}", s.id), move || {
                let mut rtl = RtlTarget::new().map_err(|e| Failed::from(e.to_string()))?;
                let mut model = ModelTarget::default();
                let summary =
                    run(&s, &mut rtl, Some(&mut model)).map_err(|e| Failed::from(e.to_string()))?;
                if summary.unobserved != 0 {
                    return Err("the RTL must observe every ct_state and rule".into());
                }
                Ok(())
            })
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
