//! The policy stage against the reference model: random rule sets whose rules overlap
//! (any-context rules, port ranges, equal priorities, allow and deny), so that many
//! candidates of several key variants and ways compete for each packet. The RTL must
//! pick the rule the model picks — priority first, deny before allow, then the lower
//! id — and give the same verdict.

use std::collections::BTreeSet;

use ztnic_model::{Action, Config, Op, PortRange, ProtoMatch, Rule, Verdict};
use ztnic_scenario::{ModelTarget, Target};
use ztnic_testkit::fixtures::world_udp_setup;
use ztnic_testkit::frames::udp_frame;
use ztnic_verilator_tests::{Rng, RtlTarget};

/// 4 to 12 rules from vport 1's context (256) or any, to the world (2) or any, UDP or
/// any protocol, over ports 50..=60; distinct ids, priorities 1..=3; at most 4 share a
/// key (src, dst, proto), the RTL's policy entry.
fn rules(rng: &mut Rng) -> Vec<Rule> {
    let n = 4 + rng.below(9) as usize;
    let mut ids = BTreeSet::new();
    let mut v: Vec<Rule> = Vec::new();
    while v.len() < n {
        let id = 1 + rng.below(500) as u32;
        let lo = 50 + rng.below(11) as u16;
        let hi = lo + rng.below(u64::from(61 - lo)) as u16;
        let r = Rule {
            id,
            priority: 1 + rng.below(3) as u16,
            src: rng.chance(1, 2).then_some(256),
            dst: rng.chance(1, 2).then_some(2),
            proto: ProtoMatch(rng.chance(2, 3).then_some(17)),
            ports: PortRange { lo, hi },
            action: if rng.chance(1, 2) {
                Action::Allow
            } else {
                Action::Deny
            },
        };
        let same_key = v
            .iter()
            .filter(|o| (o.src, o.dst, o.proto) == (r.src, r.dst, r.proto))
            .count();
        if same_key < 4 && ids.insert(id) {
            v.push(r);
        }
    }
    v
}

#[test]
fn the_rtl_picks_the_rule_the_model_picks() {
    let mut rng = Rng::new(2026);
    let (mut decided, mut by_rule) = (0, 0);
    for round in 0..12 {
        let set = rules(&mut rng);
        let mut rtl = RtlTarget::new().expect("rtl");
        let mut model = ModelTarget::default();
        let targets: [&mut dyn Target; 2] = [&mut rtl, &mut model];
        for t in targets {
            t.reset(&Config::default()).expect("reset");
            // the base setting without its allow-all-UDP rule
            for op in world_udp_setup()
                .into_iter()
                .filter(|o| !matches!(o, Op::SetRule(_)))
                .chain(set.iter().map(|r| Op::SetRule(*r)))
            {
                t.apply(&op).expect("table write");
            }
        }
        for k in 0..24u16 {
            // a new flow each time: every packet is `new` and asks the policy
            let dport = 48 + (rng.below(15) as u16);
            let f = udp_frame(64, [10, 0, 0, 1], [8, 8, 8, 8], 1000 + k, dport);
            let at = u64::from(k) * 10;
            let got = rtl.send(at, 1, &f).expect("rtl");
            let want = model.send(at, 1, &f).expect("model");
            let what = |v: &Verdict| match v {
                Verdict::Forward { port, .. } => format!("forward {port}"),
                Verdict::Drop(r) => format!("drop {r}"),
                Verdict::Punt { reason, .. } => format!("punt {reason}"),
            };
            assert_eq!(
                (what(&got.verdict), got.rule),
                (what(&want.verdict), want.rule),
                "round {round}, port {dport}, rules {set:?}"
            );
            decided += 1;
            by_rule += usize::from(want.rule.is_some());
        }
    }
    // the rule sets made the rules matter
    assert!(
        by_rule * 2 > decided,
        "{by_rule} of {decided} packets decided by a rule"
    );
}
