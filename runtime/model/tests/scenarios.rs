//! Every shared scenario through the reference model: one named test per scenario
//! (`scenario::<category>/<name>`), checked against the verdicts written in the file.

use std::collections::BTreeSet;

use libtest_mimic::{Arguments, Failed, Trial};
use ztnic_model::{DropReason, PuntReason};
use ztnic_scenario::{ExpectedVerdict, ModelTarget, Scenario, load_all, run, scenarios_dir};

fn main() {
    let args = Arguments::from_args();
    let scenarios = match load_all(&scenarios_dir()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cannot load the scenarios: {e}");
            std::process::exit(1);
        }
    };
    let mut trials: Vec<Trial> = vec![coverage_trial(&scenarios)];
    trials.extend(scenarios.into_iter().map(|s| {
        Trial::test(format!("scenario::{}", s.id), move || {
            let mut model = ModelTarget::default();
            let summary = run(&s, &mut model, None).map_err(|e| Failed::from(e.to_string()))?;
            if summary.unobserved != 0 {
                return Err("the model must observe every ct_state and rule".into());
            }
            Ok(())
        })
    }));
    libtest_mimic::run(&args, trials).exit();
}

/// The suite must exercise every drop and punt reason the datapath has.
fn coverage_trial(scenarios: &[Scenario]) -> Trial {
    let mut drops = BTreeSet::new();
    let mut punts = BTreeSet::new();
    for s in scenarios {
        for step in &s.steps {
            match step.send.as_ref().map(|p| &p.expect.verdict) {
                Some(ExpectedVerdict::Drop(r)) => {
                    drops.insert(*r);
                }
                Some(ExpectedVerdict::Punt { reason, .. }) => {
                    punts.insert(*reason);
                }
                _ => {}
            }
        }
    }
    Trial::test(
        "coverage::every_drop_and_punt_reason_is_expected_somewhere",
        move || {
            let missing: Vec<&str> = DropReason::ALL
                .iter()
                .filter(|r| !drops.contains(r))
                .map(|r| r.name())
                .chain(
                    PuntReason::ALL
                        .iter()
                        .filter(|r| !punts.contains(r))
                        .map(|r| r.name()),
                )
                .collect();
            if missing.is_empty() {
                Ok(())
            } else {
                Err(format!("no scenario expects: {}", missing.join(", ")).into())
            }
        },
    )
}
