//! The agent's map of conntrack keys (issue 12, item 7): which key each hardware
//! conntrack slot holds, learnt from `ct_new` records (which name the slot), so that
//! later `ct_delete` records (which carry the key's h32, `rtl/regmap.toml` layout
//! `event`) can be turned into digests that name the key.
//!
//! The map is keyed by **slot**: a `ct_new` into a slot replaces whatever key the map
//! had there — the non-assured entry the data plane evicted for it (evictions send no
//! record of their own), or an expired entry whose record was lost or did not match —
//! so the map never holds more keys than the table has slots, whatever records arrive.
//! An index from h32 to slots finds the entries a `ct_delete` / `ct_expired` record may
//! name; the caller confirms against the hardware slot before forgetting one (see
//! [`CtKeyMap::named_by`]).

use std::collections::HashMap;

use ztnic_model::CtKey;

/// Keys by hardware slot, with an h32 index.
#[derive(Clone, Debug, Default)]
pub struct CtKeyMap {
    /// Slots of the hardware table (`4 << CT_LOG2_MAX`): slots at or above it are refused.
    capacity: u32,
    by_slot: HashMap<u32, CtKey>,
    /// h32 of the key → the slots holding a key with that hash.
    by_h32: HashMap<u32, Vec<u32>>,
}

impl CtKeyMap {
    /// An empty map for a table of `capacity` slots.
    pub fn new(capacity: u32) -> CtKeyMap {
        CtKeyMap {
            capacity,
            ..CtKeyMap::default()
        }
    }

    /// Slots of the table the map follows.
    pub fn capacity(&self) -> u32 {
        self.capacity
    }

    /// Keys known.
    pub fn len(&self) -> usize {
        self.by_slot.len()
    }

    /// The key the map has for `slot`.
    pub fn get(&self, slot: u32) -> Option<&CtKey> {
        self.by_slot.get(&slot)
    }

    /// Records that `slot` now holds `key`; returns the key it replaces (`Err` with the
    /// key back when `slot` is outside the table: nothing is recorded).
    pub fn insert(&mut self, slot: u32, key: CtKey) -> Result<Option<CtKey>, CtKey> {
        if slot >= self.capacity {
            return Err(key);
        }
        let old = self.remove(slot);
        self.by_slot.insert(slot, key);
        self.by_h32.entry(key.h32()).or_default().push(slot);
        Ok(old)
    }

    /// Forgets the key of `slot`.
    pub fn remove(&mut self, slot: u32) -> Option<CtKey> {
        let key = self.by_slot.remove(&slot)?;
        let h = key.h32();
        if let Some(slots) = self.by_h32.get_mut(&h) {
            slots.retain(|&s| s != slot);
            if slots.is_empty() {
                self.by_h32.remove(&h);
            }
        }
        Some(key)
    }

    /// The slots whose key has this h32 (what a `ct_delete` record
    /// carries), lowest first. Several keys may share an h32, and a record whose field is
    /// not an h32 may match one by chance: the caller forgets a slot only once the
    /// hardware slot no longer holds that key.
    pub fn named_by(&self, h32: u32) -> Vec<u32> {
        let mut v = self.by_h32.get(&h32).cloned().unwrap_or_default();
        v.sort_unstable();
        v
    }

    /// Forgets everything (a cleared device).
    pub fn clear(&mut self) {
        self.by_slot.clear();
        self.by_h32.clear();
    }

    /// The h32 index holds exactly the slots of the map (for tests).
    #[cfg(test)]
    fn consistent(&self) -> bool {
        let indexed: usize = self.by_h32.values().map(Vec::len).sum();
        indexed == self.by_slot.len()
            && self.by_h32.iter().all(|(h, slots)| {
                slots
                    .iter()
                    .all(|s| self.by_slot.get(s).is_some_and(|k| k.h32() == *h))
            })
    }
}

/// SplitMix64 for the tests.
#[cfg(test)]
fn tests_rng(s: &mut u64) -> u64 {
    *s = s.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *s;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: u64) -> CtKey {
        CtKey {
            zone: 0,
            proto: 17,
            lo_addr: 0xffff_0a00_0001,
            hi_addr: 0xffff_0800_0000 | u128::from(i as u32),
            lo_port: (i >> 32) as u16,
            hi_port: 53,
        }
    }

    use super::tests_rng as next;

    #[test]
    fn a_slot_holds_one_key_and_outside_slots_are_refused() {
        let mut m = CtKeyMap::new(8);
        assert_eq!(m.insert(3, key(1)), Ok(None));
        // an eviction: the new key takes the slot, the old one is gone
        assert_eq!(m.insert(3, key(2)), Ok(Some(key(1))));
        assert_eq!(m.len(), 1);
        assert_eq!(m.named_by(key(1).h32()), Vec::<u32>::new());
        assert_eq!(m.named_by(key(2).h32()), vec![3]);
        assert_eq!(m.insert(8, key(3)), Err(key(3)));
        assert_eq!(m.len(), 1);
        assert_eq!(m.remove(3), Some(key(2)));
        assert_eq!((m.len(), m.remove(3)), (0, None));
        assert!(m.consistent());
    }

    /// Over a million flows, as the data plane reports them: each new flow takes a
    /// slot (a free one, or one whose entry was evicted or expired without a matching
    /// record), some are deleted or expire with a record. The map never outgrows the
    /// table, and a record names exactly the slots whose key has its h32.
    #[test]
    fn a_million_flows_keep_the_map_within_the_table() {
        const SLOTS: u32 = 4096;
        let mut m = CtKeyMap::new(SLOTS);
        let mut s = 12;
        let mut held: HashMap<u32, CtKey> = HashMap::new();
        for i in 0..1_100_000u64 {
            let slot = (next(&mut s) % u64::from(SLOTS)) as u32;
            let k = key(i);
            let old = m.insert(slot, k).expect("inside the table");
            assert_eq!(old, held.insert(slot, k));
            assert!(m.len() <= SLOTS as usize);
            match next(&mut s) % 4 {
                0 => {
                    // a record naming some held entry by its h32: it is gone
                    let victim = (next(&mut s) % u64::from(SLOTS)) as u32;
                    if let Some(v) = held.remove(&victim) {
                        assert!(m.named_by(v.h32()).contains(&victim));
                        assert_eq!(m.remove(victim), Some(v));
                    }
                }
                1 => {
                    // a ct_expired record whose field is not an h32 (today's RTL sends
                    // key bits): it names nothing, or a slot the caller then checks
                    let bits = ((k.lo_port as u32) << 16) | u32::from(k.hi_port);
                    for slot in m.named_by(bits) {
                        assert_eq!(m.get(slot).map(CtKey::h32), Some(bits));
                    }
                }
                _ => {}
            }
        }
        assert_eq!(m.len(), held.len());
        assert!(m.len() <= SLOTS as usize);
        assert!(m.consistent());
        for (slot, k) in &held {
            assert!(m.named_by(k.h32()).contains(slot));
        }
        m.clear();
        assert_eq!(m.len(), 0);
    }
}

/// The map as the agent keeps it over the Verilated RTL: flows inserted, evicted and
/// expired by the hardware, the agent draining its event records.
#[cfg(all(test, feature = "sim"))]
mod through_the_agent {
    use std::sync::Arc;
    use std::time::Instant;

    use ztnic_model::{Config, Op, Verdict};
    use ztnic_p4runtime::P4InfoIndex;
    use ztnic_p4runtime::v1::ForwardingPipelineConfig;
    use ztnic_p4runtime_server::{Backend, Pipeline};
    use ztnic_testkit::fixtures::world_udp_setup;
    use ztnic_testkit::frames::udp_frame;

    use crate::backend::FpgaBackend;
    use crate::sim::SimDevice;

    /// Conntrack buckets per way in use: 64 slots.
    const BUCKETS: u32 = 16;
    /// Batches of new flows, 5 simulated seconds apart.
    const BATCHES: u64 = 80;
    /// New flows per batch.
    const PER_BATCH: u64 = 32;

    #[test]
    fn flows_evicted_and_expired_leave_no_key_behind() {
        let mut b = FpgaBackend::new(SimDevice::new()).expect("a Verilated NIC");
        let p4info = ztnic_p4tables::ztnic_p4info().expect("the committed P4Info");
        let pipeline = Pipeline {
            index: Arc::new(P4InfoIndex::new(p4info.clone()).expect("P4Info index")),
            config: ForwardingPipelineConfig {
                p4info: Some(p4info),
                ..Default::default()
            },
        };
        b.set_pipeline(&pipeline).expect("pipeline");
        let mut ops = world_udp_setup();
        ops.push(Op::SetConfig(Box::new(Config {
            ct_buckets: BUCKETS,
            ..Config::default()
        })));
        for op in &ops {
            b.driver().apply(op).expect("table write");
        }
        let in_use = 4 * BUCKETS as usize;
        assert!(b.ct_keys.capacity() as usize >= in_use);

        let mut rng = 0x5eed_u64;
        let mut t_us = 1_000;
        let mut forwarded = 0;
        let mut most = 0;
        for _ in 0..BATCHES {
            // new UDP flows from the vport to random world addresses and ports, never
            // answered: evictable, and expired 30 s later (the UDP unreplied timeout)
            let frames: Vec<(u16, Vec<u8>)> = (0..PER_BATCH)
                .map(|_| {
                    let r = super::tests_rng(&mut rng);
                    let dst = [8, (r >> 8) as u8, (r >> 16) as u8, (r >> 24) as u8];
                    let sport = 1024 + ((r >> 32) as u16 % 60000);
                    (1, udp_frame(60, [10, 0, 0, 1], dst, sport, 53))
                })
                .collect();
            let outs = b.device().send(t_us, &frames).expect("exchange");
            forwarded += outs
                .iter()
                .filter(|o| matches!(o.verdict, Verdict::Forward { .. }))
                .count();
            b.tick(Instant::now());
            most = most.max(b.ct_keys_known());
            assert!(
                b.ct_keys_known() <= in_use,
                "{} keys known for {in_use} slots in use",
                b.ct_keys_known()
            );
            t_us += 5_000_000;
        }
        let flows = (BATCHES * PER_BATCH) as usize;
        assert_eq!(forwarded, flows, "every new flow was admitted");
        // every admission reported (a ct_event digest each), far more than fit
        assert!(b.stats().digests as usize >= flows - 64, "{:?}", b.stats());
        assert!(most > in_use / 2, "the table filled: {most} keys at most");
        // every key the map holds for a live hardware entry is that entry's key
        let known: Vec<(u32, ztnic_model::CtKey)> = (0..b.ct_keys.capacity())
            .filter_map(|slot| b.ct_keys.get(slot).map(|k| (slot, *k)))
            .collect();
        for (slot, key) in known {
            if let Some(e) = b.driver().conntrack_slot(slot).expect("slot read") {
                assert_eq!(ztnic_model::CtKey::from_bytes(&e.key), key, "slot {slot}");
            }
        }
    }
}
