//! `rtl/ztnic_policy_match.v` alone against the reference model's rule matching
//! (`ztnic_model::Rule::matches`): for a random query (source and destination
//! context, protocol, destination port), the 8 key variants x 4 ways of policy entries
//! are filled as the driver lays rules out (an entry holds up to 4 rules of one key,
//! `ztnic_fpga::policy_key`): entries of the query's key, entries of another context or
//! protocol, entries of the query's key with the valid bit clear, empty ones; rule port
//! ranges around the query's port. A candidate must be valid exactly when its rule is
//! in a valid entry and the model says the rule matches the query, and must carry the
//! rule's action, priority, id and its counter slot {variant, way, bucket, rule}.

use ztnic_fpga::Bits;
use ztnic_fpga::regmap::layout::policy as l;
use ztnic_model::policy::PolicyQuery;
use ztnic_model::{Action, PortRange, ProtoMatch, Rule};
use ztnic_rtl_sim::unit::{Error, ModuleSim};
use ztnic_verilator_tests::{Rng, policy_key};

const POLICY_LOG2: u32 = 6;
const SLOT_W: u32 = POLICY_LOG2 + 7;

/// Field `i` of `w` bits of a little-endian vector.
fn field(v: &[u32], i: u32, w: u32) -> u64 {
    (0..w).fold(0, |a, b| {
        let at = i * w + b;
        a | u64::from(v[(at / 32) as usize] >> (at % 32) & 1) << b
    })
}

fn port_range(rng: &mut Rng, port: u16) -> PortRange {
    let near = |rng: &mut Rng| match rng.below(5) {
        0 => port.saturating_sub(1),
        1 => port,
        2 => port.saturating_add(1),
        3 => rng.next_u64() as u16,
        _ => [0, 65535][rng.below(2) as usize],
    };
    let (a, b) = (near(rng), near(rng));
    if rng.chance(1, 8) {
        // an empty range (lo above hi) matches nothing
        PortRange {
            lo: a.max(b),
            hi: a.min(b),
        }
    } else {
        PortRange {
            lo: a.min(b),
            hi: a.max(b),
        }
    }
}

#[test]
fn candidates_are_the_rules_the_model_matches() -> Result<(), Error> {
    let mut m = ModuleSim::build(
        "ztnic_policy_match",
        &[("POLICY_LOG2", i64::from(POLICY_LOG2))],
    )?;
    let mut rng = Rng::new(0x0090_11c7);
    let (mut matched, mut unmatched) = (0, 0);
    for case in 0..400 {
        let q = PolicyQuery {
            src_ctx: 256 + rng.below(4) as u32,
            dst_ctx: 256 + rng.below(4) as u32,
            proto: [6u8, 17, 1, 58][rng.below(4) as usize],
            port: if rng.chance(1, 4) {
                [0, 1, 65534, 65535][rng.below(4) as usize]
            } else {
                rng.next_u64() as u16
            },
        };
        // the keys of the query's 8 variants (bit 0 src any, bit 1 dst any, bit 2 proto any)
        let keys: Vec<u64> = (0..8u32)
            .map(|v| {
                policy_key(
                    (v & 1 == 0).then_some(q.src_ctx),
                    (v & 2 == 0).then_some(q.dst_ctx),
                    (v & 4 == 0).then_some(q.proto),
                )
            })
            .collect();
        let buckets: Vec<u64> = (0..8).map(|_| rng.below(1 << POLICY_LOG2)).collect();
        let mut rd = Bits::zero(32 * l::WIDTH);
        // what each candidate holds: (valid entry, rule)
        let mut cands: Vec<Option<(bool, Rule)>> = vec![None; 128];
        for v in 0..8u32 {
            for w in 0..4u32 {
                let base = (v * 4 + w) * l::WIDTH;
                let kind = rng.below(10);
                if kind >= 8 {
                    continue;
                }
                // 0..3: the query's key; 4..5 another context or protocol; 6..7 the
                // query's key, the entry not valid
                let other = kind == 4 || kind == 5;
                let src = (v & 1 == 0).then_some(q.src_ctx + u32::from(other && kind == 4));
                let dst = (v & 2 == 0).then_some(q.dst_ctx + u32::from(other && v & 1 != 0));
                let proto = (v & 4 == 0).then_some(q.proto ^ u8::from(other && kind == 5));
                let entry_valid = kind < 6;
                rd.set_at(base, l::VALID, u128::from(entry_valid));
                rd.set_at(base, l::KEY, policy_key(src, dst, proto).into());
                for r in 0..4u32 {
                    if rng.chance(1, 5) {
                        continue;
                    }
                    let rule = Rule {
                        id: rng.next_u64() as u32,
                        priority: rng.next_u64() as u16,
                        src,
                        dst,
                        proto: ProtoMatch(proto),
                        ports: port_range(&mut rng, q.port),
                        action: if rng.chance(1, 2) {
                            Action::Allow
                        } else {
                            Action::Deny
                        },
                    };
                    let rb = base + l::RULE_BASE + r * l::RULE_STRIDE;
                    rd.set_at(rb, l::rule::VALID, 1);
                    rd.set_at(rb, l::rule::ALLOW, u128::from(rule.action == Action::Allow));
                    rd.set_at(rb, l::rule::PORT_LO, rule.ports.lo.into());
                    rd.set_at(rb, l::rule::PORT_HI, rule.ports.hi.into());
                    rd.set_at(rb, l::rule::PRIORITY, rule.priority.into());
                    rd.set_at(rb, l::rule::ID, rule.id.into());
                    cands[(v * 16 + w * 4 + r) as usize] = Some((entry_valid, rule));
                }
            }
        }
        m.set("rd", rd.words())?;
        let mut key_words = Vec::new();
        for k in &keys {
            key_words.extend([*k as u32, (*k >> 32) as u32]);
        }
        m.set("key", &key_words)?;
        let mut bw = vec![0u32; (8 * POLICY_LOG2).div_ceil(32) as usize];
        for (v, b) in buckets.iter().enumerate() {
            for bit in 0..POLICY_LOG2 {
                let at = v as u32 * POLICY_LOG2 + bit;
                bw[(at / 32) as usize] |= ((*b >> bit & 1) as u32) << (at % 32);
            }
        }
        m.set("bucket", &bw)?;
        m.set_u64("port", q.port.into())?;
        m.eval()?;
        let (valid, allow) = (m.get("m_valid")?, m.get("m_allow")?);
        let (prio, id, slot) = (m.get("m_priority")?, m.get("m_id")?, m.get("m_slot")?);
        for c in 0..128u32 {
            let (v, w, r) = (c / 16, c / 4 % 4, c % 4);
            let want_slot = u64::from(v) << (POLICY_LOG2 + 4)
                | u64::from(w) << (POLICY_LOG2 + 2)
                | buckets[v as usize] << 2
                | u64::from(r);
            assert_eq!(
                field(&slot, c, SLOT_W),
                want_slot,
                "case {case}: candidate {c}'s slot"
            );
            let want = cands[c as usize].is_some_and(|(ev, rule)| ev && rule.matches(&q));
            assert_eq!(
                field(&valid, c, 1) != 0,
                want,
                "case {case}: candidate {c} ({:?}) for {q:?}",
                cands[c as usize]
            );
            if want {
                matched += 1;
            } else {
                unmatched += 1;
            }
            if let Some((_, rule)) = cands[c as usize] {
                assert_eq!(
                    (
                        field(&allow, c, 1) != 0,
                        field(&prio, c, 16) as u16,
                        field(&id, c, 32) as u32
                    ),
                    (rule.action == Action::Allow, rule.priority, rule.id),
                    "case {case}: candidate {c}'s rule"
                );
            }
        }
    }
    assert!(
        matched > 3000 && unmatched > 10000,
        "{matched} matched, {unmatched} not"
    );
    Ok(())
}
