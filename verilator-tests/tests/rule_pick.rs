//! `rtl/ztnic_rule_pick.v` alone against the reference model's rule choice: random
//! rule sets (priorities, allow and deny, distinct ids; some match the query, some do
//! not) go in as candidates, one set per clock, with the odd clock where `en` is low;
//! the module's answer, `latency` enabled clocks later, must be the rule
//! `ztnic_model::policy::evaluate` picks over the rules in the model's evaluation order
//! (`Rule::order_key`: priority descending, deny first, id ascending), carrying that
//! candidate's tag, or no rule when none matched. Swept over N = 2, 16, 128 and 1, 2, 3
//! tournament levels per register stage.

use std::collections::{BTreeSet, VecDeque};

use ztnic_model::policy::{Decision, PolicyQuery, evaluate};
use ztnic_model::{Action, PortRange, ProtoMatch, Rule};
use ztnic_rtl_sim::unit::{Error, ModuleSim};
use ztnic_verilator_tests::Rng;

const TAG_W: u32 = 10;

/// Little-endian bit vector of `n` fields of `w` bits each.
fn pack(fields: &[u64], w: u32) -> Vec<u32> {
    let bits = fields.len() as u32 * w;
    let mut out = vec![0u32; bits.div_ceil(32) as usize];
    for (i, f) in fields.iter().enumerate() {
        for b in 0..w {
            if f >> b & 1 != 0 {
                let at = i as u32 * w + b;
                out[(at / 32) as usize] |= 1 << (at % 32);
            }
        }
    }
    out
}

/// `n` rules with distinct ids, some of which match `q`.
fn rule_set(rng: &mut Rng, n: usize, q: &PolicyQuery) -> Vec<Rule> {
    let mut ids = BTreeSet::new();
    (0..n)
        .map(|_| {
            let mut id = rng.next_u64() as u32;
            // small ids now and then, so equal priorities compare ids close together
            if rng.chance(1, 2) {
                id %= 64;
            }
            while !ids.insert(id) {
                id = id.wrapping_add(1);
            }
            Rule {
                id,
                priority: if rng.chance(1, 2) {
                    rng.below(4) as u16
                } else {
                    rng.next_u64() as u16
                },
                src: rng.chance(1, 2).then_some(q.src_ctx),
                dst: if rng.chance(1, 5) {
                    Some(q.dst_ctx + 1)
                } else {
                    rng.chance(1, 2).then_some(q.dst_ctx)
                },
                proto: ProtoMatch(rng.chance(1, 2).then_some(q.proto)),
                ports: PortRange::ANY,
                action: if rng.chance(1, 2) {
                    Action::Allow
                } else {
                    Action::Deny
                },
            }
        })
        .collect()
}

/// What the module must answer for `rules` as candidates 0..n.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Answer {
    valid: bool,
    allow: bool,
    id: u32,
    /// the winning candidate's index (its tag) and priority; unchecked without a winner
    tag: u64,
    priority: u16,
}

fn expected(rules: &[Rule], q: &PolicyQuery) -> Answer {
    let mut ordered = rules.to_vec();
    ordered.sort_by_key(Rule::order_key);
    match evaluate(&ordered, q) {
        Decision::DefaultDeny => Answer {
            valid: false,
            allow: false,
            id: 0,
            tag: 0,
            priority: 0,
        },
        d => {
            let id = d.rule().expect("a rule decided");
            let tag = rules.iter().position(|r| r.id == id).expect("candidate");
            Answer {
                valid: true,
                allow: matches!(d, Decision::Allow { .. }),
                id,
                tag: tag as u64,
                priority: rules[tag].priority,
            }
        }
    }
}

fn run(n: usize, per_stage: u32, seed: u64) -> Result<(), Error> {
    let mut m = ModuleSim::build(
        "ztnic_rule_pick",
        &[
            ("N", n as i64),
            ("TAG_W", i64::from(TAG_W)),
            ("LEVELS_PER_STAGE", i64::from(per_stage)),
        ],
    )?;
    let latency = 1 + (n.trailing_zeros()).div_ceil(per_stage) as usize;
    let q = PolicyQuery {
        src_ctx: 256,
        dst_ctx: 257,
        proto: 6,
        port: 443,
    };
    let mut rng = Rng::new(seed);
    // answers of the sets in flight, oldest first, one per enabled clock
    let mut in_flight: VecDeque<Answer> = VecDeque::new();
    let mut checked = 0;
    for clock in 0..400 {
        let rules = rule_set(&mut rng, n, &q);
        let valid: Vec<u64> = rules.iter().map(|r| u64::from(r.matches(&q))).collect();
        m.set("s_valid", &pack(&valid, 1))?;
        let prio: Vec<u64> = rules.iter().map(|r| u64::from(r.priority)).collect();
        m.set("s_priority", &pack(&prio, 16))?;
        let allow: Vec<u64> = rules
            .iter()
            .map(|r| u64::from(r.action == Action::Allow))
            .collect();
        m.set("s_allow", &pack(&allow, 1))?;
        let ids: Vec<u64> = rules.iter().map(|r| u64::from(r.id)).collect();
        m.set("s_id", &pack(&ids, 32))?;
        let tags: Vec<u64> = (0..n as u64).collect();
        m.set("s_tag", &pack(&tags, TAG_W))?;
        let en = clock < 10 || !rng.chance(1, 6);
        m.set_bool("en", en)?;
        m.tick("clk")?;
        if en {
            in_flight.push_back(expected(&rules, &q));
            if in_flight.len() > latency {
                in_flight.pop_front();
            }
        }
        if in_flight.len() == latency {
            let want = in_flight[0];
            let mut got = Answer {
                valid: m.get_bool("m_valid")?,
                allow: m.get_bool("m_allow")?,
                id: m.get_u64("m_id")? as u32,
                tag: m.get_u64("m_tag")?,
                priority: m.get_u64("m_priority")? as u16,
            };
            if !want.valid {
                // without a winner only valid, allow and id are defined (all zero)
                got.tag = 0;
                got.priority = 0;
            }
            assert_eq!(
                got, want,
                "N={n} levels/stage={per_stage}: clock {clock} picked the wrong rule"
            );
            checked += 1;
        }
    }
    assert!(checked > 300, "only {checked} answers checked");
    Ok(())
}

#[test]
fn the_tournament_picks_the_rule_the_model_picks() {
    for (i, (n, per_stage)) in [(2usize, 1u32), (16, 1), (16, 3), (128, 1), (128, 2)]
        .into_iter()
        .enumerate()
    {
        run(n, per_stage, 0x5eed_0000 + i as u64).expect("module simulation");
    }
}
