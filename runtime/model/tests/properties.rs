//! Property tests: the pipeline never panics on any input and counts every packet it
//! does not forward; the conntrack table agrees, slot for slot, with a simple map
//! model under random insert / lookup / delete / age / sweep sequences.

#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

use std::collections::HashMap;

use proptest::prelude::*;
use ztnic_model::conntrack::{CtEntry, CtFull, CtKey, CtTable, ProtoState, Slot};
use ztnic_model::{Config, Datapath, Timeouts, Verdict};
use ztnic_scenario::{ModelTarget, Target, load_all, scenarios_dir};

/// A datapath with the default scenario topology (ports, contexts, endpoints, rules),
/// and every packet of every scenario as a corpus.
type Topology = (Datapath, Vec<(u16, Vec<u8>)>);

fn topology() -> Topology {
    static TOPOLOGY: std::sync::OnceLock<Topology> = std::sync::OnceLock::new();
    TOPOLOGY.get_or_init(load_topology).clone()
}

fn load_topology() -> Topology {
    let scenarios = load_all(&scenarios_dir()).expect("scenarios load");
    let base = scenarios
        .iter()
        .find(|s| s.id == "tcp/lifecycle_fin_close")
        .expect("base scenario");
    let mut t = ModelTarget::default();
    t.reset(&base.config).unwrap();
    for op in &base.setup {
        t.apply(op).unwrap();
    }
    // Every packet of every scenario: valid ones and every malformed variant.
    let corpus = scenarios
        .iter()
        .flat_map(|s| s.steps.iter().filter_map(|st| st.send.as_ref()))
        .map(|p| (p.port, p.frame.clone()))
        .collect();
    (t.dp, corpus)
}

fn total_counted(dp: &Datapath) -> u64 {
    dp.counters.drops.values().sum::<u64>() + dp.counters.punts.values().sum::<u64>()
}

fn process_checked(dp: &mut Datapath, now: u64, port: u16, frame: &[u8]) {
    let before = total_counted(dp);
    let out = dp.process(now, port, frame);
    let after = total_counted(dp);
    match out.verdict {
        Verdict::Forward { .. } => assert_eq!(after, before, "a forwarded packet is not a drop"),
        Verdict::Drop(_) | Verdict::Punt { .. } => {
            assert_eq!(after, before + 1, "every drop and punt is counted once")
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic_and_every_stop_is_counted(
        port in prop::sample::select(vec![0u16, 1, 2, 3, 7, 255]),
        bytes in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        let (mut dp, _) = topology();
        process_checked(&mut dp, 0, port, &bytes);
    }

    #[test]
    fn mutated_scenario_packets_never_panic(
        pick in any::<prop::sample::Index>(),
        cut in any::<prop::sample::Index>(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
        truncate in any::<bool>(),
    ) {
        let (mut dp, corpus) = topology();
        let (port, mut frame) = corpus[pick.index(corpus.len())].clone();
        if !frame.is_empty() {
            for (at, x) in &flips {
                let i = at.index(frame.len());
                frame[i] ^= x;
            }
            if truncate {
                frame.truncate(cut.index(frame.len() + 1));
            }
        }
        process_checked(&mut dp, 0, port, &frame);
    }
}

/// What the reference model remembers about a slot.
#[derive(Clone, Copy, Debug)]
struct RefEntry {
    key: CtKey,
    assured: bool,
    last_seen: u64,
}

fn key(n: u8) -> CtKey {
    CtKey {
        zone: 0,
        proto: 17,
        lo_addr: ztnic_model::addr::v4_mapped(0x0a00_0000 | u32::from(n)),
        hi_addr: ztnic_model::addr::v4_mapped(0x0a01_0001),
        lo_port: 1000 + u16::from(n),
        hi_port: 53,
    }
}

fn timeout_us(e: &RefEntry, t: &Timeouts) -> u64 {
    let s = if e.assured {
        t.udp_replied
    } else {
        t.udp_unreplied
    };
    u64::from(s) * 1_000_000
}

#[derive(Clone, Debug)]
enum CtOp {
    Insert { k: u8, assured: bool },
    Lookup { k: u8 },
    Delete { k: u8 },
    Advance { secs: u8 },
    Sweep,
}

fn ct_op() -> impl Strategy<Value = CtOp> {
    prop_oneof![
        4 => (0u8..24, any::<bool>()).prop_map(|(k, assured)| CtOp::Insert { k, assured }),
        3 => (0u8..24).prop_map(|k| CtOp::Lookup { k }),
        2 => (0u8..24).prop_map(|k| CtOp::Delete { k }),
        1 => (0u8..50).prop_map(|secs| CtOp::Advance { secs }),
        1 => Just(CtOp::Sweep),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    #[test]
    fn conntrack_table_agrees_with_a_map_model(
        buckets in prop::sample::select(vec![1u32, 2, 4]),
        ops in prop::collection::vec(ct_op(), 1..120),
    ) {
        let t = Timeouts::default();
        let mut ct = CtTable::new(buckets);
        let mut model: HashMap<(u8, u32), RefEntry> = HashMap::new();
        let mut now = 0u64;
        let live = |e: &RefEntry, now: u64| now.saturating_sub(e.last_seen) < timeout_us(e, &t);
        let find = |model: &HashMap<(u8, u32), RefEntry>, ct: &CtTable, k: &CtKey, now: u64| {
            ct.candidates(k).into_iter().find(|c| {
                model.get(c).is_some_and(|e| e.key == *k && live(e, now))
            })
        };
        for op in ops {
            match op {
                CtOp::Insert { k, assured } => {
                    let k = key(k);
                    if find(&model, &ct, &k, now).is_some() {
                        continue; // the datapath only inserts after a lookup miss
                    }
                    let cands = ct.candidates(&k);
                    let free = cands.iter().find(|c| model.get(c).is_none_or(|e| !live(e, now)));
                    let want = match free {
                        Some(c) => Ok((*c, None)),
                        None => cands
                            .iter()
                            .find(|c| model.get(c).is_some_and(|e| !e.assured))
                            .map(|c| (*c, model.get(c).map(|e| e.key)))
                            .ok_or(CtFull),
                    };
                    let entry = CtEntry {
                        key: k,
                        orig_lo: true,
                        proto: ProtoState::Udp,
                        replied: assured,
                        assured,
                        last_seen: now,
                        policy_gen: 1,
                    };
                    let got = ct.insert(entry, now, &t).map(|i| {
                        let Slot::Way { way, index } = i.slot else { panic!("insert into overflow") };
                        ((way, index), i.evicted)
                    });
                    prop_assert_eq!(got, want);
                    if let Ok((slot, _)) = want {
                        model.insert(slot, RefEntry { key: k, assured, last_seen: now });
                    }
                }
                CtOp::Lookup { k } => {
                    let k = key(k);
                    let want = find(&model, &ct, &k, now).map(|(way, index)| Slot::Way { way, index });
                    prop_assert_eq!(ct.lookup(&k, now, &t), want);
                }
                CtOp::Delete { k } => {
                    let k = key(k);
                    if let Some(slot @ (way, index)) = find(&model, &ct, &k, now) {
                        ct.remove(&k, Slot::Way { way, index });
                        model.remove(&slot);
                    }
                    prop_assert_eq!(ct.lookup(&k, now, &t), None);
                }
                CtOp::Advance { secs } => now += u64::from(secs) * 1_000_000,
                CtOp::Sweep => {
                    let mut got = ct.sweep(now, &t);
                    let mut want: Vec<CtKey> = model.values().filter(|e| !live(e, now)).map(|e| e.key).collect();
                    model.retain(|_, e| live(e, now));
                    got.sort();
                    want.sort();
                    prop_assert_eq!(got, want);
                }
            }
        }
        let mut listed: Vec<CtKey> = ct.entries(now, &t).map(|(_, e)| e.key).collect();
        let mut want: Vec<CtKey> = model.values().filter(|e| live(e, now)).map(|e| e.key).collect();
        listed.sort();
        want.sort();
        prop_assert_eq!(listed, want);
    }
}

#[test]
fn default_config_table_geometry_matches_the_config() {
    let dp = Datapath::new(Config::default()).unwrap();
    assert_eq!(dp.ct.buckets(), Config::default().ct_buckets);
}
