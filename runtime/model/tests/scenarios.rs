//! Every shared scenario through the reference model: one named test per scenario
//! (`scenario::<category>/<name>`), checked against the verdicts written in the file.

use libtest_mimic::{Arguments, Failed, Trial};
use ztnic_scenario::{ModelTarget, load_all, run, scenarios_dir};

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
            Trial::test(format!("scenario::{}", s.id), move || {
                let mut model = ModelTarget::default();
                let summary = run(&s, &mut model, None).map_err(|e| Failed::from(e.to_string()))?;
                if summary.unobserved != 0 {
                    return Err("the model must observe every ct_state and rule".into());
                }
                Ok(())
            })
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
