//! Placement model of the at-scale conntrack table (issue 12; docs/datapath.md §5,
//! "Conntrack at scale"). **Model only for now**: the RTL and [`crate::conntrack`] still use
//! two hash choices of two slots without moves; this module is the algorithm the card-memory
//! table is to implement, and the figure `conntrack: entries=N load_factor=X` for sizes the
//! simulated RTL cannot reach comes from it (`ztnic-ct-place-bench`).
//!
//! # Layout
//!
//! Bucketized cuckoo hashing with **2 hash choices × 4 slots per bucket**. The table has
//! `slots` = 2^k entries (k ≥ 3) in `slots / 4` buckets of [`SLOTS_PER_BUCKET`] slots — one
//! bucket is one memory unit (four compact entries, or four keys and fingerprints, per
//! 64-byte beat or burst). The buckets form two halves of equal size; choice 0 is bucket
//! `h0 mod half` of the first half, choice 1 is bucket `half + (h1 mod half)`, so a key's two
//! buckets always differ:
//!
//! - `h0` = CRC-32/ISO-HDLC of the 39 key bytes ([`CtKey::h32`], what `rtl/ztnic_crc_pipe.v`
//!   computes and what event records call h32);
//! - `h1` = CRC-32C (Castagnoli, [`crc::CRC_32_ISCSI`]) of the same bytes — a second
//!   polynomial of the same cost in hardware; the CRC-16 of today's ways 2–3 has too few
//!   bits beyond 2^16 buckets.
//!
//! # What does what
//!
//! - **Direct placement**: a new key goes to the emptier of its two buckets (ties: choice 0),
//!   lowest free slot. Both buckets are read for the lookup anyway.
//! - **Moves** (cuckoo relocation): when both buckets are full, a breadth-first search over
//!   the cuckoo graph looks for the shortest chain of at most [`Limits::max_moves`] moves
//!   that ends in a bucket with a free slot, reading at most [`Limits::max_reads`] buckets.
//!   Each move copies an entry into a free slot of its *other* bucket before the slot it
//!   left is reused, so every key stays findable throughout; the moves are returned in
//!   execution order. The search only reads: a failed search changes nothing.
//! - **Stash**: a small fully-associative overflow ([`Limits::stash`] entries, on chip in
//!   hardware, looked up in parallel with the buckets) takes a key no chain could place. A
//!   removal that frees a bucket slot moves the first stash entry that may live there back.
//! - **Full**: no free slot, no chain within the bounds, stash full → [`PlaceError::Full`];
//!   nothing already placed is moved or evicted. (In the datapath the connection then goes
//!   to the slow path and `ct_overflow`, as today.)
//!
//! Everything is deterministic: the same sequence of inserts and removals gives the same
//! placement, whatever the platform (no random walk, no randomised hash seeds).

use std::collections::VecDeque;

use crc::{CRC_32_ISCSI, CRC_32_ISO_HDLC, Crc, Table};

use crate::conntrack::CtKey;

/// Slots per bucket.
pub const SLOTS_PER_BUCKET: usize = 4;

/// CRC-32/ISO-HDLC, slice-by-16 (the same values as [`crate::conntrack::CRC32`]).
const H0: Crc<u32, Table<16>> = Crc::<u32, Table<16>>::new(&CRC_32_ISO_HDLC);
/// CRC-32C (Castagnoli): the second hash choice.
const H1: Crc<u32, Table<16>> = Crc::<u32, Table<16>>::new(&CRC_32_ISCSI);

/// A key the table can place: its two 32-bit hashes.
pub trait PlaceKey: Copy + Eq {
    /// `[h0, h1]`: choice 0 and choice 1 are taken from these.
    fn hashes(&self) -> [u32; 2];
}

impl PlaceKey for CtKey {
    fn hashes(&self) -> [u32; 2] {
        ct_hashes(&self.bytes())
    }
}

/// The two placement hashes of a key's 39 bytes: CRC-32 (= h32) and CRC-32C.
pub fn ct_hashes(bytes: &[u8]) -> [u32; 2] {
    [H0.checksum(bytes), H1.checksum(bytes)]
}

/// Bounds of the relocation search and the stash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Longest chain of moves for one insert (path length in the cuckoo graph).
    pub max_moves: u32,
    /// Most buckets the search reads for one insert (memory reads in hardware).
    pub max_reads: u32,
    /// Stash entries.
    pub stash: usize,
}

impl Default for Limits {
    /// ≤ 4 moves, ≤ 512 bucket reads, an 8-entry stash.
    fn default() -> Self {
        Limits {
            max_moves: 4,
            max_reads: 512,
            stash: 8,
        }
    }
}

/// Where a key lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Place {
    /// Slot `slot` of bucket `bucket`; the flat slot index is `bucket * 4 + slot`.
    Bucket { bucket: u32, slot: u8 },
    /// Entry `n` of the stash.
    Stash(u8),
}

impl Place {
    /// The flat table index of a bucket slot (`None` for the stash).
    pub fn index(self) -> Option<u32> {
        match self {
            Place::Bucket { bucket, slot } => {
                Some(bucket * SLOTS_PER_BUCKET as u32 + u32::from(slot))
            }
            Place::Stash(_) => None,
        }
    }
}

/// One relocation: `key` is copied from `from` to the free `to`, then `from` is free.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Move<K> {
    pub key: K,
    pub from: Place,
    pub to: Place,
}

/// A successful insert.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placed<K> {
    /// Where the new key went.
    pub place: Place,
    /// The moves made first, in execution order (empty for a direct placement).
    pub moves: Vec<Move<K>>,
}

/// A successful removal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Removed<K> {
    /// Where the key was.
    pub place: Place,
    /// A stash entry moved into the freed bucket slot.
    pub unstashed: Option<Move<K>>,
}

/// Why an insert placed nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlaceError {
    /// No free slot, no chain of moves within the limits, and the stash is full.
    #[error("conntrack table full: no free slot, no relocation chain, stash full")]
    Full,
    /// The key is already in the table, at this place.
    #[error("key already placed at {0:?}")]
    Present(Place),
}

/// Marks an empty slot in `buckets_of`.
const EMPTY: [u32; 2] = [u32::MAX, u32::MAX];

/// A breadth-first search node: a bucket reached by moving the occupant of `via` of the
/// parent node's bucket.
#[derive(Clone, Copy)]
struct Node {
    bucket: u32,
    /// Index of the parent node (`usize::MAX` for a root).
    parent: usize,
    /// Slot of the parent's bucket whose occupant moves into `bucket`.
    via: u8,
    depth: u32,
}

/// The at-scale conntrack table's placement: 2 hash choices × 4-slot buckets, cuckoo moves
/// found by a bounded breadth-first search, and a stash (see the module documentation).
#[derive(Clone, Debug)]
pub struct CuckooTable<K> {
    /// log2 of the buckets of one half.
    half_log2: u32,
    limits: Limits,
    keys: Vec<Option<K>>,
    /// The two candidate buckets of each slot's key ([`EMPTY`] when free): the search
    /// reads these instead of rehashing.
    buckets_of: Vec<[u32; 2]>,
    stash: Vec<Option<(K, [u32; 2])>>,
    in_buckets: usize,
    in_stash: usize,
}

impl<K: PlaceKey> CuckooTable<K> {
    /// An empty table of `slots` entries (a power of two, at least 8) with `limits`.
    pub fn new(slots: usize, limits: Limits) -> Self {
        assert!(
            slots.is_power_of_two() && slots >= 2 * SLOTS_PER_BUCKET,
            "slots must be a power of two of at least 8"
        );
        assert!(
            slots / SLOTS_PER_BUCKET / 2 <= 1 << 31,
            "slots must leave bucket indexes below 2^32"
        );
        assert!(limits.stash <= 256, "a stash holds at most 256 entries");
        let half = slots / SLOTS_PER_BUCKET / 2;
        CuckooTable {
            half_log2: half.trailing_zeros(),
            limits,
            keys: vec![None; slots],
            buckets_of: vec![EMPTY; slots],
            stash: vec![None; limits.stash],
            in_buckets: 0,
            in_stash: 0,
        }
    }

    /// Bucket slots (the table size `N`; the stash is not counted).
    pub fn capacity(&self) -> usize {
        self.keys.len()
    }

    /// Buckets in the table.
    pub fn buckets(&self) -> u32 {
        (self.keys.len() / SLOTS_PER_BUCKET) as u32
    }

    /// The search and stash limits.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Keys held (bucket slots and stash).
    pub fn len(&self) -> usize {
        self.in_buckets + self.in_stash
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Keys in the stash.
    pub fn stashed(&self) -> usize {
        self.in_stash
    }

    /// Occupied bucket slots / bucket slots (stash entries not counted).
    pub fn load_factor(&self) -> f64 {
        self.in_buckets as f64 / self.capacity() as f64
    }

    /// The two candidate buckets of a key: choice 0 in the first half, choice 1 in the second.
    pub fn candidates(&self, key: &K) -> [u32; 2] {
        let [h0, h1] = key.hashes();
        let mask = (1u32 << self.half_log2) - 1;
        [h0 & mask, (1u32 << self.half_log2) | (h1 & mask)]
    }

    fn at(bucket: u32, slot: usize) -> usize {
        bucket as usize * SLOTS_PER_BUCKET + slot
    }

    fn free_slots(&self, bucket: u32) -> impl Iterator<Item = usize> + '_ {
        (0..SLOTS_PER_BUCKET).filter(move |&s| self.keys[Self::at(bucket, s)].is_none())
    }

    /// Where `key` is, if it is held.
    pub fn lookup(&self, key: &K) -> Option<Place> {
        for b in self.candidates(key) {
            for s in 0..SLOTS_PER_BUCKET {
                if self.keys[Self::at(b, s)].as_ref() == Some(key) {
                    return Some(Place::Bucket {
                        bucket: b,
                        slot: s as u8,
                    });
                }
            }
        }
        self.stash
            .iter()
            .position(|e| e.as_ref().is_some_and(|(k, _)| k == key))
            .map(|i| Place::Stash(i as u8))
    }

    /// The key held at `place`.
    pub fn get(&self, place: Place) -> Option<&K> {
        match place {
            Place::Bucket { bucket, slot } => self
                .keys
                .get(Self::at(bucket, usize::from(slot)))
                .and_then(Option::as_ref),
            Place::Stash(i) => self
                .stash
                .get(usize::from(i))
                .and_then(Option::as_ref)
                .map(|(k, _)| k),
        }
    }

    fn put(&mut self, at: usize, key: K, cands: [u32; 2]) {
        debug_assert!(self.keys[at].is_none());
        self.keys[at] = Some(key);
        self.buckets_of[at] = cands;
    }

    /// Places a new key (see the module documentation for the order of attempts).
    pub fn insert(&mut self, key: K) -> Result<Placed<K>, PlaceError> {
        if let Some(p) = self.lookup(&key) {
            return Err(PlaceError::Present(p));
        }
        let cands = self.candidates(&key);
        let free0 = self.free_slots(cands[0]).count();
        let free1 = self.free_slots(cands[1]).count();
        if free0 + free1 > 0 {
            let b = if free1 > free0 { cands[1] } else { cands[0] };
            let s = self.free_slots(b).next().unwrap_or_default();
            self.put(Self::at(b, s), key, cands);
            self.in_buckets += 1;
            return Ok(Placed {
                place: Place::Bucket {
                    bucket: b,
                    slot: s as u8,
                },
                moves: Vec::new(),
            });
        }
        if let Some(placed) = self.relocate(key, cands) {
            self.in_buckets += 1;
            return Ok(placed);
        }
        let Some(i) = self.stash.iter().position(Option::is_none) else {
            return Err(PlaceError::Full);
        };
        self.stash[i] = Some((key, cands));
        self.in_stash += 1;
        Ok(Placed {
            place: Place::Stash(i as u8),
            moves: Vec::new(),
        })
    }

    /// Breadth-first search for the shortest chain of moves from `cands` (both full) to a
    /// free slot; if one is found, makes the moves and places `key`.
    fn relocate(&mut self, key: K, cands: [u32; 2]) -> Option<Placed<K>> {
        if self.limits.max_moves == 0 {
            return None;
        }
        let mut nodes: Vec<Node> = Vec::new();
        let mut queue = VecDeque::new();
        for b in cands {
            nodes.push(Node {
                bucket: b,
                parent: usize::MAX,
                via: 0,
                depth: 0,
            });
            queue.push_back(nodes.len() - 1);
        }
        let mut reads = 2u32;
        let mut found = None;
        'search: while let Some(n) = queue.pop_front() {
            let node = nodes[n];
            for s in 0..SLOTS_PER_BUCKET {
                let [c0, c1] = self.buckets_of[Self::at(node.bucket, s)];
                let alt = if c0 == node.bucket { c1 } else { c0 };
                // a chain visits a bucket once, so its moves never collide
                if self.on_path(&nodes, n, alt) {
                    continue;
                }
                if reads >= self.limits.max_reads {
                    break 'search;
                }
                reads += 1;
                nodes.push(Node {
                    bucket: alt,
                    parent: n,
                    via: s as u8,
                    depth: node.depth + 1,
                });
                let child = nodes.len() - 1;
                if let Some(f) = self.free_slots(alt).next() {
                    found = Some((child, f));
                    break 'search;
                }
                if node.depth + 1 < self.limits.max_moves {
                    queue.push_back(child);
                }
            }
        }
        let (mut n, mut free) = found?;
        // Walk the chain back from its free end: each step moves the occupant of the
        // parent's `via` slot into the free slot, which frees `via` for the step before.
        let mut moves = Vec::new();
        while nodes[n].parent != usize::MAX {
            let node = nodes[n];
            let from = Self::at(nodes[node.parent].bucket, usize::from(node.via));
            let to = Self::at(node.bucket, free);
            let k = self.keys[from].take()?;
            let c = std::mem::replace(&mut self.buckets_of[from], EMPTY);
            self.put(to, k, c);
            moves.push(Move {
                key: k,
                from: place_of(from),
                to: place_of(to),
            });
            free = usize::from(node.via);
            n = node.parent;
        }
        let at = Self::at(nodes[n].bucket, free);
        self.put(at, key, cands);
        Some(Placed {
            place: place_of(at),
            moves,
        })
    }

    fn on_path(&self, nodes: &[Node], mut n: usize, bucket: u32) -> bool {
        loop {
            if nodes[n].bucket == bucket {
                return true;
            }
            if nodes[n].parent == usize::MAX {
                return false;
            }
            n = nodes[n].parent;
        }
    }

    /// Removes `key`; a stash entry whose candidates include the freed bucket moves there.
    pub fn remove(&mut self, key: &K) -> Option<Removed<K>> {
        let place = self.lookup(key)?;
        match place {
            Place::Stash(i) => {
                self.stash[usize::from(i)] = None;
                self.in_stash -= 1;
                Some(Removed {
                    place,
                    unstashed: None,
                })
            }
            Place::Bucket { bucket, slot } => {
                let at = Self::at(bucket, usize::from(slot));
                self.keys[at] = None;
                self.buckets_of[at] = EMPTY;
                self.in_buckets -= 1;
                let back = self
                    .stash
                    .iter()
                    .position(|e| e.as_ref().is_some_and(|(_, c)| c.contains(&bucket)));
                let unstashed = back.and_then(|i| {
                    let (k, c) = self.stash[i].take()?;
                    self.put(at, k, c);
                    self.in_stash -= 1;
                    self.in_buckets += 1;
                    Some(Move {
                        key: k,
                        from: Place::Stash(i as u8),
                        to: place,
                    })
                });
                Some(Removed { place, unstashed })
            }
        }
    }

    /// Every held key with its place (buckets in index order, then the stash).
    pub fn entries(&self) -> impl Iterator<Item = (Place, &K)> + '_ {
        let buckets = self
            .keys
            .iter()
            .enumerate()
            .filter_map(|(i, k)| k.as_ref().map(|k| (place_of(i), k)));
        let stash = self
            .stash
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.as_ref().map(|(k, _)| (Place::Stash(i as u8), k)));
        buckets.chain(stash)
    }
}

fn place_of(at: usize) -> Place {
    Place::Bucket {
        bucket: (at / SLOTS_PER_BUCKET) as u32,
        slot: (at % SLOTS_PER_BUCKET) as u8,
    }
}

/// A distinct pseudo-random flow per `id` (for `seed`): the 64 bits of a bijective mix of
/// `id` are spread over the source address, part of the destination address and the
/// source port, so different ids give different keys; the destination port and protocol
/// vary too but carry no identity.
pub fn random_flow(seed: u64, id: u64) -> CtKey {
    let m = mix64(id ^ seed);
    let r = mix64(m ^ 0x9e37_79b9_7f4a_7c15);
    let v4 = |a: u32| 0xffff_0000_0000u128 | u128::from(a);
    CtKey {
        zone: 0,
        proto: if r & 1 == 0 { 6 } else { 17 },
        lo_addr: v4((m >> 32) as u32),
        hi_addr: v4(0x0a00_0000 | ((m >> 16) & 0xffff) as u32),
        lo_port: m as u16,
        hi_port: (r >> 16) as u16,
    }
}

/// The SplitMix64 finaliser: a bijection on `u64`.
fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A flow of [`random_flow`] held by its id: the table stores 8 bytes a slot, and places it
/// by the hashes of the flow's key bytes (the same place as the [`CtKey`] itself).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FlowId {
    pub seed: u64,
    pub id: u64,
}

impl PlaceKey for FlowId {
    fn hashes(&self) -> [u32; 2] {
        random_flow(self.seed, self.id).hashes()
    }
}

/// The load factor at the first failed insert of distinct random flows into a table of
/// `slots` entries: occupied bucket slots / `slots` when the first insert is refused.
/// `progress` is called every 2^20 inserts with the keys held.
pub fn load_at_first_failure(
    slots: usize,
    limits: Limits,
    seed: u64,
    mut progress: impl FnMut(usize),
) -> f64 {
    let mut t: CuckooTable<FlowId> = CuckooTable::new(slots, limits);
    for id in 0.. {
        match t.insert(FlowId { seed, id }) {
            Ok(_) => {}
            Err(PlaceError::Full) => break,
            // distinct ids make distinct flows
            Err(PlaceError::Present(_)) => unreachable!("random_flow repeated a key"),
        }
        if id & ((1 << 20) - 1) == 0 && id > 0 {
            progress(t.len());
        }
    }
    t.load_factor()
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use proptest::prelude::*;

    use super::*;
    use crate::conntrack::CRC32;

    fn flow(id: u64) -> FlowId {
        FlowId { seed: 7, id }
    }

    /// Fills a table until the first refusal; returns the table and the placed keys.
    fn fill(slots: usize, limits: Limits) -> (CuckooTable<FlowId>, Vec<FlowId>) {
        let mut t = CuckooTable::new(slots, limits);
        let mut placed = Vec::new();
        for id in 0.. {
            match t.insert(flow(id)) {
                Ok(_) => placed.push(flow(id)),
                Err(PlaceError::Full) => break,
                Err(e) => panic!("{e}"),
            }
        }
        (t, placed)
    }

    #[test]
    fn hashes_are_crc32_and_crc32c() {
        let k = random_flow(1, 2);
        assert_eq!(k.hashes()[0], k.h32());
        assert_eq!(k.hashes()[0], CRC32.checksum(&k.bytes()));
        // CRC-32C check value
        assert_eq!(ct_hashes(b"123456789")[1], 0xe306_9283);
        assert_eq!(ct_hashes(b"123456789")[0], 0xcbf4_3926);
    }

    #[test]
    fn candidates_are_one_bucket_in_each_half() {
        let t: CuckooTable<FlowId> = CuckooTable::new(1 << 12, Limits::default());
        assert_eq!(t.buckets(), 1024);
        for id in 0..1000 {
            let [b0, b1] = t.candidates(&flow(id));
            assert!(b0 < 512 && (512..1024).contains(&b1));
            let [h0, h1] = flow(id).hashes();
            assert_eq!((b0, b1), (h0 & 511, 512 + (h1 & 511)));
        }
    }

    #[test]
    fn random_flows_are_distinct() {
        let keys: HashSet<CtKey> = (0..100_000).map(|i| random_flow(3, i)).collect();
        assert_eq!(keys.len(), 100_000);
    }

    #[test]
    fn every_inserted_key_is_found_where_it_was_reported() {
        let mut t = CuckooTable::new(1 << 10, Limits::default());
        let mut at = HashMap::new();
        for id in 0..900 {
            let p = t.insert(flow(id)).expect("room");
            for m in &p.moves {
                assert_eq!(at.insert(m.key, m.to), Some(m.from));
            }
            at.insert(flow(id), p.place);
            for (k, place) in &at {
                assert_eq!(t.lookup(k), Some(*place));
                assert_eq!(t.get(*place), Some(k));
            }
        }
        assert_eq!(t.len(), 900);
        assert_eq!(t.insert(flow(5)), Err(PlaceError::Present(at[&flow(5)])));
    }

    #[test]
    fn moves_keep_every_key_findable() {
        // Replay each insert's moves one by one on a shadow table: before and after every
        // copy, every key is in one of its candidate buckets (or the stash).
        let mut t = CuckooTable::new(1 << 9, Limits::default());
        let mut shadow: HashMap<Place, FlowId> = HashMap::new();
        let mut moved = 0;
        for id in 0.. {
            let Ok(p) = t.insert(flow(id)) else { break };
            for m in &p.moves {
                assert!(!shadow.contains_key(&m.to), "a move overwrote {:?}", m.to);
                assert_eq!(shadow.get(&m.from), Some(&m.key));
                let Place::Bucket { bucket, .. } = m.to else {
                    panic!("a move into the stash")
                };
                assert!(t.candidates(&m.key).contains(&bucket));
                shadow.insert(m.to, m.key); // copy: findable at both places
                shadow.remove(&m.from);
                moved += 1;
            }
            assert!(p.moves.len() <= 4);
            assert!(!shadow.contains_key(&p.place));
            shadow.insert(p.place, flow(id));
            for (place, k) in &shadow {
                if let Place::Bucket { bucket, .. } = place {
                    assert!(t.candidates(k).contains(bucket));
                }
                assert_eq!(t.lookup(k), Some(*place));
            }
        }
        assert!(moved > 0, "the fill never needed a move");
        assert_eq!(shadow.len(), t.len());
    }

    #[test]
    fn a_full_table_refuses_without_evicting() {
        let (mut t, placed) = fill(1 << 10, Limits::default());
        assert_eq!(t.stashed(), 8, "the stash fills before the first refusal");
        let mut refused = 0;
        for id in 5000..5100 {
            let before: Vec<(Place, FlowId)> = t.entries().map(|(p, k)| (p, *k)).collect();
            if t.insert(flow(id)) == Err(PlaceError::Full) {
                refused += 1;
                let after: Vec<(Place, FlowId)> = t.entries().map(|(p, k)| (p, *k)).collect();
                assert!(before == after, "a refused insert changed the table");
            }
        }
        assert!(refused > 50, "{refused} refusals");
        for k in &placed {
            assert!(t.lookup(k).is_some());
        }
    }

    #[test]
    fn a_removal_frees_a_slot_and_unstashes() {
        let (mut t, placed) = fill(1 << 10, Limits::default());
        let n = t.len();
        assert_eq!(t.insert(flow(1_000_000)), Err(PlaceError::Full));
        // take out a bucket key whose bucket a stashed key may use: that key moves in
        let (stashed_key, cands) = t
            .stash
            .iter()
            .flatten()
            .map(|(k, c)| (*k, *c))
            .next()
            .expect("stash");
        let victim = placed
            .iter()
            .copied()
            .find(
                |k| matches!(t.lookup(k), Some(Place::Bucket { bucket, .. }) if bucket == cands[0]),
            )
            .expect("a key in the stashed key's bucket");
        let r = t.remove(&victim).expect("held");
        assert_eq!(t.lookup(&victim), None);
        let m = r.unstashed.expect("the stashed key moves back");
        assert_eq!((m.key, m.to), (stashed_key, r.place));
        assert_eq!(t.lookup(&stashed_key), Some(r.place));
        assert_eq!((t.len(), t.stashed()), (n - 1, 7));
        // now the stash has room again
        assert!(t.insert(flow(1_000_000)).is_ok());
        assert_eq!(t.remove(&victim), None);
    }

    #[test]
    fn a_removal_frees_its_slot() {
        let limits = Limits {
            max_moves: 0,
            max_reads: 2,
            stash: 0,
        };
        let (mut t, placed) = fill(64, limits);
        let n = t.len();
        for k in &placed {
            let r = t.remove(k).expect("held");
            assert_eq!((t.len(), t.lookup(k), t.get(r.place)), (n - 1, None, None));
            let p = t.insert(*k).expect("its slot is free again");
            assert_eq!(t.len(), n);
            assert_eq!(t.lookup(k), Some(p.place));
        }
    }

    #[test]
    fn placement_is_deterministic() {
        let (a, _) = fill(1 << 11, Limits::default());
        let (b, _) = fill(1 << 11, Limits::default());
        assert!(a.entries().eq(b.entries()));
    }

    #[test]
    fn moves_and_stash_raise_the_load_factor() {
        let none = Limits {
            max_moves: 0,
            max_reads: 2,
            stash: 0,
        };
        let (plain, _) = fill(1 << 14, none);
        let (cuckoo, _) = fill(1 << 14, Limits::default());
        assert!(plain.load_factor() < 0.9, "{}", plain.load_factor());
        assert!(cuckoo.load_factor() >= 0.95, "{}", cuckoo.load_factor());
    }

    #[derive(Clone, Debug)]
    enum TOp {
        Insert(u64),
        Remove(u64),
    }

    fn op() -> impl Strategy<Value = TOp> {
        prop_oneof![
            3 => (0u64..200).prop_map(TOp::Insert),
            1 => (0u64..200).prop_map(TOp::Remove),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Against a map of key → place: every reported place (moves included) is where
        /// the key is found; refusals change nothing; removals free; the counts agree.
        #[test]
        fn matches_a_map(ops in prop::collection::vec(op(), 1..600), stash in 0usize..3) {
            let limits = Limits { max_moves: 4, max_reads: 64, stash };
            let mut t = CuckooTable::new(64, limits);
            let mut map: HashMap<FlowId, Place> = HashMap::new();
            for op in ops {
                match op {
                    TOp::Insert(i) => {
                        let before: Vec<(Place, FlowId)> = t.entries().map(|(p, k)| (p, *k)).collect();
                        match t.insert(flow(i)) {
                            Ok(p) => {
                                prop_assert!(!map.contains_key(&flow(i)));
                                for m in &p.moves {
                                    prop_assert_eq!(map.insert(m.key, m.to), Some(m.from));
                                }
                                prop_assert!(!map.values().any(|v| *v == p.place));
                                map.insert(flow(i), p.place);
                            }
                            Err(PlaceError::Present(p)) => prop_assert_eq!(map.get(&flow(i)), Some(&p)),
                            Err(PlaceError::Full) => {
                                prop_assert!(!map.contains_key(&flow(i)));
                                prop_assert!(t.stashed() == stash);
                                let after: Vec<(Place, FlowId)> = t.entries().map(|(p, k)| (p, *k)).collect();
                                prop_assert_eq!(before, after);
                            }
                        }
                    }
                    TOp::Remove(i) => match t.remove(&flow(i)) {
                        Some(r) => {
                            prop_assert_eq!(map.remove(&flow(i)), Some(r.place));
                            if let Some(m) = r.unstashed {
                                prop_assert_eq!(map.insert(m.key, m.to), Some(m.from));
                            }
                        }
                        None => prop_assert!(!map.contains_key(&flow(i))),
                    },
                }
                prop_assert_eq!(t.len(), map.len());
                for (k, p) in &map {
                    prop_assert_eq!(t.lookup(k), Some(*p));
                }
                let places: HashSet<Place> = map.values().copied().collect();
                prop_assert_eq!(places.len(), map.len());
            }
        }
    }
}
