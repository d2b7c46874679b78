//! The driver: control operations in, register writes out; counters, conntrack
//! entries, table entries and events read back.

use std::collections::{BTreeMap, HashMap};

use crc::{CRC_32_ISO_HDLC, Crc};
use ztnic_model::addr::{prefix_mask, to_u128};
use ztnic_model::policy::Action;
use ztnic_model::{
    AuthKey, Config, Counters, CtxEpoch, DropReason, LocalEp, MacAddr, Op, PacketsBytes, PortClass,
    PuntReason, RemoteAction, RemoteEp, Rule, Timeouts, VportCtx,
};

use crate::access::RegisterAccess;
use crate::bits::Bits;
use crate::decode;
use crate::regmap::{self, event_kind_enum, layout, table_cmd_enum, table_enum, tables};

const CRC32: Crc<u32> = Crc::<u32>::new(&CRC_32_ISO_HDLC);

/// Polls of the table window's busy bit before giving up.
const TABLE_POLLS: u32 = 10_000;

/// Synthesis parameters of the device (its id block reports them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    /// log2 of the `port_class` table size (ports at or above it are unclassified).
    pub port_class_log2: u32,
    /// log2 of `vport_ctx` buckets per way.
    pub vport_ctx_log2: u32,
    /// log2 of `local_ep` buckets per way.
    pub local_ep_log2: u32,
    /// log2 of `ctx_epoch` buckets per way.
    pub ctx_epoch_log2: u32,
    /// Entries of the `remote_ep` LPM table.
    pub remote_ep_entries: u32,
    /// log2 of `remote_host` buckets per way (the full-length routes).
    pub remote_host_log2: u32,
    /// log2 of buckets per way of each of the 8 policy key variants.
    pub policy_log2: u32,
    /// log2 of the largest `ct_buckets` the conntrack supports.
    pub ct_log2_max: u32,
    /// log2 of `ct_overflow` buckets per way.
    pub ct_overflow_log2: u32,
}

/// What the hardware cannot realise, or a failed access.
#[derive(Debug, thiserror::Error)]
pub enum FpgaError {
    /// The register access itself failed (simulation timeout, MMIO error, ...).
    #[error("register access failed: {0}")]
    Access(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The id block's TYPE register does not identify a ztnic datapath.
    #[error("the device is not a ztnic datapath (id block type {0:#010x})")]
    NotZtnic(u32),
    /// The table window reported an error for this access.
    #[error("table {table} rejected index {index} (unknown table or index out of range)")]
    Table {
        /// Table id (`regmap::table_enum`).
        table: u32,
        /// Entry index.
        index: u32,
    },
    /// The table window's busy bit did not clear.
    #[error("the table access window stayed busy")]
    Busy,
    /// A raw entry wider than the table window.
    #[error("an entry of {bits} bits does not fit the {words}-word table window")]
    TooWide {
        /// Bits of the entry given.
        bits: usize,
        /// Words of the window.
        words: usize,
    },
    /// Every way of the entry's bucket is taken.
    #[error("{table}: all 4 ways of bucket {bucket} are taken")]
    TableFull {
        /// Table name.
        table: &'static str,
        /// The bucket the key hashes to.
        bucket: u32,
    },
    /// A delete, counter or update named an entry that does not exist.
    #[error("{0}: no such entry")]
    NotFound(String),
    /// An entry or configuration the hardware cannot realise.
    #[error("the hardware cannot realise this: {0}")]
    Unsupported(String),
    /// A slot or register read back from the device holds something no operation of
    /// this driver writes (read-back and adopt refuse to guess).
    #[error("{table} slot {index} does not decode: {what}")]
    Corrupt {
        /// Table (or register block) name.
        table: &'static str,
        /// Slot (or register address).
        index: u32,
        /// What is wrong with it.
        what: String,
    },
}

/// The kind of an event record (`regmap::event_kind_enum`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// Digest: a packet named a context the NIC does not know (punted `ctx_unknown`).
    CtxUnknown,
    /// Digest: a tag carried an old epoch (punted `ctx_stale_epoch`).
    CtxStaleEpoch,
    /// The data plane inserted a conntrack entry.
    CtNew,
    /// A policy change revoked a connection; its entry was deleted.
    CtDelete,
    /// No conntrack slot was free (punted `ct_full`; the runtime may use ct_overflow).
    CtFull,
    /// The aging sweep removed an expired entry.
    CtExpired,
    /// A kind this driver does not know.
    Other(u8),
}

/// An event FIFO record (`regmap::layout::event`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    /// `regmap::event_kind_enum` (see [`Event::kind`]).
    pub kind: u8,
    /// Drop or punt reason code where one applies.
    pub reason: u8,
    /// Ingress port of the packet.
    pub port: u16,
    /// The context the event is about.
    pub ctx: u32,
    /// The epoch the packet carried (stale-epoch digests).
    pub epoch: u8,
    /// `ct_new`: the slot the entry went into (way · 2^CT_LOG2_MAX + bucket; see
    /// [`Event::ct_slot`]); other conntrack events: h32 of the key.
    pub hash: u32,
    /// Low 32 bits of the device timestamp, microseconds.
    pub time: u32,
}

impl Event {
    /// Decodes the four words of a record.
    pub fn from_words(w: &[u32; 4]) -> Event {
        let bits = Bits::from_words(w);
        use layout::event as e;
        Event {
            kind: bits.get(e::KIND) as u8,
            reason: bits.get(e::REASON) as u8,
            port: bits.get(e::PORT) as u16,
            ctx: bits.get(e::CTX) as u32,
            epoch: bits.get(e::EPOCH) as u8,
            hash: bits.get(e::HASH) as u32,
            time: bits.get(e::TIME) as u32,
        }
    }

    /// The conntrack slot a `ct_new` record names.
    pub fn ct_slot(&self) -> Option<u32> {
        (self.kind() == EventKind::CtNew).then_some(self.hash)
    }

    /// What the record reports.
    pub fn kind(&self) -> EventKind {
        match u32::from(self.kind) {
            event_kind_enum::CTX_UNKNOWN => EventKind::CtxUnknown,
            event_kind_enum::CTX_STALE_EPOCH => EventKind::CtxStaleEpoch,
            event_kind_enum::CT_NEW => EventKind::CtNew,
            event_kind_enum::CT_DELETE => EventKind::CtDelete,
            event_kind_enum::CT_FULL => EventKind::CtFull,
            event_kind_enum::CT_EXPIRED => EventKind::CtExpired,
            _ => EventKind::Other(self.kind),
        }
    }
}

/// A live conntrack entry read back from the hardware table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CtEntry {
    /// Table index (way * 2^CT_LOG2_MAX + bucket).
    pub slot: u32,
    /// The 39 key bytes (datapath.md §5).
    pub key: [u8; 39],
    /// The lower endpoint originated the connection.
    pub orig_lo: bool,
    /// `regmap::ct_kind_enum`.
    pub kind: u8,
    /// `regmap::tcp_state_enum` (TCP only).
    pub tcp_state: u8,
    /// Traffic was seen both ways and the entry is no longer evictable.
    pub assured: bool,
    /// The reply direction has been seen.
    pub replied: bool,
    /// Last packet, microseconds of the device clock.
    pub last_seen_us: u64,
    /// Policy generation that admitted (or last re-checked) it.
    pub policy_gen: u32,
}

impl CtEntry {
    /// The live entry a conntrack slot's bits hold (`regmap::layout::conntrack`),
    /// or `None` for an empty slot.
    pub fn from_bits(slot: u32, b: &Bits) -> Option<CtEntry> {
        use layout::conntrack as l;
        if b.get(l::VALID) == 0 {
            return None;
        }
        let key: [u8; 39] = b.get_bytes_be(l::KEY).try_into().ok()?;
        Some(CtEntry {
            slot,
            key,
            orig_lo: b.get(l::ORIG_LO) != 0,
            kind: b.get(l::KIND) as u8,
            tcp_state: b.get(l::STATE) as u8,
            assured: b.get(l::ASSURED) != 0,
            replied: b.get(l::REPLIED) != 0,
            last_seen_us: b.get(l::LAST_SEEN) as u64,
            policy_gen: b.get(l::GEN) as u32,
        })
    }

    /// CRC-32 of the key (what event records carry).
    pub fn key_h32(&self) -> u32 {
        CRC32.checksum(&self.key)
    }
}

/// A 4-way hash table mirrored in software to place entries.
struct Placement<K: std::hash::Hash + Eq> {
    slots: HashMap<K, u32>,
    used: HashMap<u32, K>,
}

impl<K: std::hash::Hash + Eq> Default for Placement<K> {
    fn default() -> Self {
        Placement {
            slots: HashMap::new(),
            used: HashMap::new(),
        }
    }
}

impl<K: std::hash::Hash + Eq + Clone> Placement<K> {
    fn place(
        &mut self,
        key: &K,
        hash: u32,
        log2: u32,
        table: &'static str,
    ) -> Result<u32, FpgaError> {
        if let Some(&s) = self.slots.get(key) {
            return Ok(s);
        }
        let bucket = hash & ((1 << log2) - 1);
        for way in 0..4 {
            let slot = (way << log2) | bucket;
            if !self.used.contains_key(&slot) {
                self.slots.insert(key.clone(), slot);
                self.used.insert(slot, key.clone());
                return Ok(slot);
            }
        }
        Err(FpgaError::TableFull { table, bucket })
    }

    fn remove(&mut self, key: &K) -> Option<u32> {
        let s = self.slots.remove(key)?;
        self.used.remove(&s);
        Some(s)
    }

    /// Records a key found in the hardware at `slot` (adopting a running device). A key
    /// found twice keeps its first slot: the later one stays unrecorded, so the next
    /// placement into that bucket overwrites the stray copy.
    fn adopt(&mut self, key: K, slot: u32) {
        if self.slots.contains_key(&key) || self.used.contains_key(&slot) {
            return;
        }
        self.slots.insert(key.clone(), slot);
        self.used.insert(slot, key);
    }
}

/// A policy key entry: the decomposed key and its (up to 4) rules by position.
#[derive(Clone, Default)]
struct PolicyEntry {
    rules: [Option<Rule>; 4],
}

fn be_bytes(v: u128, n: usize) -> Vec<u8> {
    v.to_be_bytes()[16 - n..].to_vec()
}

/// The decomposed policy key of a rule (flags, src, dst, proto) as a big-endian u64.
pub fn policy_key(src: Option<u32>, dst: Option<u32>, proto: Option<u8>) -> u64 {
    let flags = u64::from(src.is_none())
        | (u64::from(dst.is_none()) << 1)
        | (u64::from(proto.is_none()) << 2);
    (flags << 56)
        | (u64::from(src.unwrap_or(0) & 0xff_ffff) << 32)
        | (u64::from(dst.unwrap_or(0) & 0xff_ffff) << 8)
        | u64::from(proto.unwrap_or(0))
}

/// The ztnic datapath behind a [`RegisterAccess`]: applies control operations and
/// reads state back. It mirrors the hash-table placement of every entry it wrote, so
/// updates and deletes address the right slot.
pub struct Driver<R: RegisterAccess> {
    access: R,
    geo: Geometry,
    config: Config,
    vport_ctx: Placement<(u16, u128)>,
    local_ep: Placement<u128>,
    ctx_epoch: Placement<u32>,
    remote_ep: Vec<Option<(u128, u8)>>,
    /// Full-length routes (IPv4 /32, IPv6 /128) live in the `remote_host` hash table.
    remote_host: Placement<u128>,
    /// One placement per decomposed-key variant (the policy RAMs are split by variant).
    policy: [Placement<u64>; 8],
    policy_entries: HashMap<u64, PolicyEntry>,
    rule_pos: HashMap<u32, (u64, usize)>,
    overflow: Placement<[u8; 39]>,
    /// Idle timeouts of the overflow flows this driver wrote (the hardware has none).
    overflow_idle: HashMap<[u8; 39], u64>,
    /// Counts of rules and contexts whose hardware counters were freed with their entry.
    retired: Counters,
    /// What the table window's select and data registers hold, as far as this driver
    /// knows: a table write skips the registers that already hold their value.
    window: Window,
}

/// The driver's copy of the table window's `select` and `data` registers (`None`:
/// not known). The window keeps what was written to it until the next write or a
/// read command's completion (`rtl/regmap.toml`: data is "write data before a write,
/// read data after a read"), so after a write command the registers still hold the
/// entry just written, and the next entry differs from it in a few words only (a
/// `vport_ctx` entry fills 6 of the 24 data words, a cleared slot none). Forgotten
/// after a read command, a failed access and whenever the register space is handed
/// out ([`Driver::access_mut`]), so a skipped register write always leaves the
/// register with the value a full write would have given it.
#[derive(Clone, Copy)]
struct Window {
    select: Option<u32>,
    data: [Option<u32>; tables::DATA_COUNT as usize],
}

impl Window {
    const UNKNOWN: Window = Window {
        select: None,
        data: [None; tables::DATA_COUNT as usize],
    };
}

/// The conntrack timeouts in the order of `regmap::timeout_enum`.
fn timeout_secs(t: &Timeouts) -> [u32; 13] {
    [
        t.tcp_syn_sent,
        t.tcp_syn_recv,
        t.tcp_established,
        t.tcp_fin_wait,
        t.tcp_close_wait,
        t.tcp_last_ack,
        t.tcp_time_wait,
        t.tcp_close,
        t.tcp_syn_sent2,
        t.udp_unreplied,
        t.udp_replied,
        t.icmp,
        t.generic,
    ]
}

/// [`timeout_secs`]' inverse.
fn timeouts_of(s: [u32; 13]) -> Timeouts {
    Timeouts {
        tcp_syn_sent: s[0],
        tcp_syn_recv: s[1],
        tcp_established: s[2],
        tcp_fin_wait: s[3],
        tcp_close_wait: s[4],
        tcp_last_ack: s[5],
        tcp_time_wait: s[6],
        tcp_close: s[7],
        tcp_syn_sent2: s[8],
        udp_unreplied: s[9],
        udp_replied: s[10],
        icmp: s[11],
        generic: s[12],
    }
}

/// The valid slots of every table the driver writes, as read from the device.
#[derive(Default)]
struct HwTables {
    port_class: Vec<(u16, PortClass)>,
    vport_ctx: Vec<(u32, VportCtx)>,
    local_ep: Vec<(u32, LocalEp)>,
    ctx_epoch: Vec<(u32, CtxEpoch)>,
    remote_ep: Vec<(u32, RemoteEp)>,
    remote_host: Vec<(u32, RemoteEp)>,
    policy: Vec<(u32, decode::PolicyRules)>,
    ct_overflow: Vec<(u32, ([u8; 39], bool))>,
}

fn access_err<E: std::error::Error + Send + Sync + 'static>(e: E) -> FpgaError {
    FpgaError::Access(Box::new(e))
}

impl<R: RegisterAccess> Driver<R> {
    /// Takes over a device in its reset state: checks the id block, reads the
    /// geometry and writes the default configuration.
    pub fn new(access: R) -> Result<Driver<R>, FpgaError> {
        let mut d = Driver::identify(access)?;
        d.write_config(&Config::default())?;
        Ok(d)
    }

    /// Takes over a device that is already running (an agent restarted while the card
    /// kept forwarding): checks the id block and reads the geometry like [`Driver::new`],
    /// but writes nothing. The configuration is read back ([`Driver::read_config`]) and
    /// every software mirror (hash placements, policy keys and rule positions,
    /// `remote_ep` entries, overflow flows) is rebuilt from the hardware's slots, so later
    /// [`Driver::apply`] calls update and delete the slots the previous driver used.
    /// Conntrack and counters are left as they are. Overflow flows get the default idle
    /// timeout (10 s), which the hardware does not store.
    pub fn adopt(access: R) -> Result<Driver<R>, FpgaError> {
        let mut d = Driver::identify(access)?;
        d.config = d.read_config()?;
        let hw = d.scan()?;
        for (slot, e) in &hw.vport_ctx {
            d.vport_ctx.adopt((e.port, to_u128(e.ip)), *slot);
        }
        for (slot, e) in &hw.local_ep {
            d.local_ep.adopt(to_u128(e.ip), *slot);
        }
        for (slot, e) in &hw.ctx_epoch {
            d.ctx_epoch.adopt(e.ctx, *slot);
        }
        for (slot, e) in &hw.remote_host {
            d.remote_host.adopt(e.prefix.to_u128().0, *slot);
        }
        for (idx, e) in &hw.remote_ep {
            let pl = e.prefix.to_u128();
            if !d.remote_ep.contains(&Some(pl)) {
                d.remote_ep[*idx as usize] = Some(pl);
            }
        }
        let per_variant = 1u32 << (d.geo.policy_log2 + 2);
        for (slot, (key, rules)) in &hw.policy {
            let v = Self::policy_variant(*key);
            if *slot / per_variant != v as u32 || d.policy_entries.contains_key(key) {
                // a key outside its variant's RAMs is never looked up; a repeated key
                // is a stray copy: neither is adopted
                continue;
            }
            d.policy[v].adopt(*key, slot % per_variant);
            let entry = d.policy_entries.entry(*key).or_default();
            for (pos, r) in rules.iter().enumerate() {
                let Some(r) = r else { continue };
                if let std::collections::hash_map::Entry::Vacant(v) = d.rule_pos.entry(r.id) {
                    entry.rules[pos] = Some(*r);
                    v.insert((*key, pos));
                }
            }
        }
        for (slot, (key, _)) in &hw.ct_overflow {
            d.overflow.adopt(*key, *slot);
        }
        Ok(d)
    }

    /// A driver of `access` with its id block checked and geometry read, nothing written.
    fn identify(access: R) -> Result<Driver<R>, FpgaError> {
        let mut d = Driver {
            access,
            geo: Geometry {
                port_class_log2: 0,
                vport_ctx_log2: 0,
                local_ep_log2: 0,
                ctx_epoch_log2: 0,
                remote_ep_entries: 0,
                remote_host_log2: 0,
                policy_log2: 0,
                ct_log2_max: 0,
                ct_overflow_log2: 0,
            },
            config: Config::default(),
            vport_ctx: Placement::default(),
            local_ep: Placement::default(),
            ctx_epoch: Placement::default(),
            remote_ep: Vec::new(),
            remote_host: Placement::default(),
            policy: Default::default(),
            policy_entries: HashMap::new(),
            rule_pos: HashMap::new(),
            overflow: Placement::default(),
            overflow_idle: HashMap::new(),
            retired: Counters::default(),
            window: Window::UNKNOWN,
        };
        let ty = d.read(regmap::id::BASE)?;
        if ty != regmap::id::TYPE {
            return Err(FpgaError::NotZtnic(ty));
        }
        d.geo = Geometry {
            port_class_log2: d.read(regmap::id::PORT_CLASS_LOG2)?,
            vport_ctx_log2: d.read(regmap::id::VPORT_CTX_LOG2)?,
            local_ep_log2: d.read(regmap::id::LOCAL_EP_LOG2)?,
            ctx_epoch_log2: d.read(regmap::id::CTX_EPOCH_LOG2)?,
            remote_ep_entries: d.read(regmap::id::REMOTE_EP_ENTRIES)?,
            remote_host_log2: d.read(regmap::id::REMOTE_HOST_LOG2)?,
            policy_log2: d.read(regmap::id::POLICY_LOG2)?,
            ct_log2_max: d.read(regmap::id::CT_LOG2_MAX)?,
            ct_overflow_log2: d.read(regmap::id::CT_OVERFLOW_LOG2)?,
        };
        d.remote_ep = vec![None; d.geo.remote_ep_entries as usize];
        Ok(d)
    }

    /// The register space (the simulator's bench, or the card).
    pub fn access(&self) -> &R {
        &self.access
    }

    /// The register space, mutably (to send packets through the simulator, say).
    /// The driver forgets what it knows of the table window: the caller may write
    /// it, or reset the device.
    pub fn access_mut(&mut self) -> &mut R {
        self.window = Window::UNKNOWN;
        &mut self.access
    }

    /// Gives the register space back (to [`Driver::adopt`] it again, say).
    pub fn into_access(self) -> R {
        self.access
    }

    /// The configuration last written (after [`Driver::adopt`]: the one read back).
    pub fn config(&self) -> &Config {
        &self.config
    }

    fn read(&mut self, addr: u32) -> Result<u32, FpgaError> {
        self.access.read32(addr).map_err(access_err)
    }

    fn write(&mut self, addr: u32, v: u32) -> Result<(), FpgaError> {
        self.access.write32(addr, v).map_err(access_err)
    }

    fn table_cmd(&mut self, table: u32, index: u32, cmd: u32) -> Result<(), FpgaError> {
        let r = self.table_cmd_inner(table, index, cmd);
        if r.is_err() || cmd != table_cmd_enum::WRITE {
            // a read loads the data registers; after a failure nothing is sure
            self.window = Window::UNKNOWN;
        }
        r
    }

    fn table_cmd_inner(&mut self, table: u32, index: u32, cmd: u32) -> Result<(), FpgaError> {
        if self.window.select != Some(table) {
            self.window.select = None;
            self.write(tables::SELECT, table)?;
            self.window.select = Some(table);
        }
        self.write(tables::INDEX, index)?;
        self.write(tables::CMD, cmd)?;
        for _ in 0..TABLE_POLLS {
            let st = self.read(tables::STATUS)?;
            if st & 1 == 0 {
                return if st & 2 != 0 {
                    Err(FpgaError::Table { table, index })
                } else {
                    Ok(())
                };
            }
        }
        Err(FpgaError::Busy)
    }

    /// Writes a raw table entry (little-endian words of its `regmap::layout`); an
    /// empty slice clears the slot.
    pub fn table_write(&mut self, table: u32, index: u32, words: &[u32]) -> Result<(), FpgaError> {
        let n = tables::DATA_COUNT as usize;
        if words.len() > n {
            return Err(FpgaError::TooWide {
                bits: words.len() * 32,
                words: n,
            });
        }
        for i in 0..n {
            let w = words.get(i).copied().unwrap_or(0);
            // the words the window already holds are not written again
            if self.window.data[i] != Some(w) {
                self.window.data[i] = None;
                self.write(tables::DATA + 4 * i as u32, w)?;
                self.window.data[i] = Some(w);
            }
        }
        self.table_cmd(table, index, table_cmd_enum::WRITE)
    }

    /// Reads `words` words of a raw table entry.
    pub fn table_read(
        &mut self,
        table: u32,
        index: u32,
        words: usize,
    ) -> Result<Vec<u32>, FpgaError> {
        self.table_cmd(table, index, table_cmd_enum::READ)?;
        (0..words.min(tables::DATA_COUNT as usize))
            .map(|i| self.read(tables::DATA + 4 * i as u32))
            .collect()
    }

    /// Reads a table entry as its layout's bits (`regmap::layout`).
    pub fn read_entry(&mut self, table: u32, index: u32) -> Result<Bits, FpgaError> {
        let w = self.table_read(table, index, tables::DATA_COUNT as usize)?;
        Ok(Bits::from_words(&w))
    }

    fn read_pb(&mut self, table: u32, idx: u32) -> Result<PacketsBytes, FpgaError> {
        let w = self.table_read(table, idx, 4)?;
        Ok(PacketsBytes {
            packets: u64::from(w[0]) | (u64::from(w[1]) << 32),
            bytes: u64::from(w[2]) | (u64::from(w[3]) << 32),
        })
    }

    /// Pops the head of the event FIFO (digests and conntrack events), if any.
    pub fn pop_event(&mut self) -> Result<Option<Event>, FpgaError> {
        Ok(self
            .access
            .pop_event_words()
            .map_err(access_err)?
            .map(|w| Event::from_words(&w)))
    }

    /// The live conntrack entry in `slot` (way · 2^CT_LOG2_MAX + bucket), if any.
    pub fn conntrack_slot(&mut self, slot: u32) -> Result<Option<CtEntry>, FpgaError> {
        let words = layout::conntrack::WIDTH.div_ceil(32) as usize;
        let b = Bits::from_words(&self.table_read(table_enum::CONNTRACK, slot, words)?);
        Ok(CtEntry::from_bits(slot, &b))
    }

    /// Every live entry of the conntrack table (valid slots; entries past their
    /// timeout that the aging sweep has not reached yet are included).
    pub fn conntrack_entries(&mut self) -> Result<Vec<CtEntry>, FpgaError> {
        let mut v = Vec::new();
        for slot in 0..(4u32 << self.geo.ct_log2_max) {
            v.extend(self.conntrack_slot(slot)?);
        }
        Ok(v)
    }

    /// Empties every table, counter and the conntrack table slot by slot and
    /// writes the default configuration: the state of a device just out of reset,
    /// for a device without a reset the driver can pull.
    pub fn clear_all(&mut self) -> Result<(), FpgaError> {
        let g = self.geo;
        let sizes = [
            (table_enum::PORT_CLASS, 1u32 << g.port_class_log2),
            (table_enum::VPORT_CTX, 4 << g.vport_ctx_log2),
            (table_enum::LOCAL_EP, 4 << g.local_ep_log2),
            (table_enum::CTX_EPOCH, 4 << g.ctx_epoch_log2),
            (table_enum::CTX_COUNTER, 4 << g.ctx_epoch_log2),
            (table_enum::REMOTE_EP, g.remote_ep_entries),
            (table_enum::REMOTE_HOST, 4 << g.remote_host_log2),
            (table_enum::POLICY, 8 * (4 << g.policy_log2)),
            (table_enum::RULE_COUNTER, 4 * 8 * (4 << g.policy_log2)),
            (table_enum::CT_OVERFLOW, 4 << g.ct_overflow_log2),
            (table_enum::CONNTRACK, 4 << g.ct_log2_max),
        ];
        for (table, n) in sizes {
            for i in 0..n {
                self.clear_entry(table, i)?;
            }
        }
        for r in DropReason::ALL {
            self.clear_entry(table_enum::DROP_COUNTER, r.code().into())?;
        }
        for r in PuntReason::ALL {
            self.clear_entry(table_enum::PUNT_COUNTER, r.code().into())?;
        }
        self.reinit()
    }

    /// Forgets every placement and written entry and writes the default
    /// configuration: for a device that was just reset underneath the driver.
    pub fn reinit(&mut self) -> Result<(), FpgaError> {
        self.vport_ctx = Placement::default();
        self.local_ep = Placement::default();
        self.ctx_epoch = Placement::default();
        self.remote_ep = vec![None; self.geo.remote_ep_entries as usize];
        self.remote_host = Placement::default();
        self.policy = Default::default();
        self.policy_entries.clear();
        self.rule_pos.clear();
        self.overflow = Placement::default();
        self.overflow_idle.clear();
        self.retired = Counters::default();
        self.config = Config::default();
        self.write_config(&Config::default())
    }

    /// The device geometry (table sizes) read at start.
    pub fn geometry(&self) -> Geometry {
        self.geo
    }

    /// Writes every configuration register.
    pub fn write_config(&mut self, c: &Config) -> Result<(), FpgaError> {
        use regmap::config as r;
        let log2 = c.ct_buckets.trailing_zeros();
        if log2 > self.geo.ct_log2_max {
            return Err(FpgaError::Unsupported(format!(
                "ct_buckets {} exceeds the synthesised 2^{}",
                c.ct_buckets, self.geo.ct_log2_max
            )));
        }
        self.write(r::UPLINK_PORT, c.uplink_port.into())?;
        self.write(r::CPU_PORT, c.cpu_port.into())?;
        self.write(r::LOCAL_VTEP_IP, u32::from(c.local_vtep_ip))?;
        let mac = |m: [u8; 6]| {
            (
                u32::from(u16::from_be_bytes([m[0], m[1]])),
                u32::from_be_bytes([m[2], m[3], m[4], m[5]]),
            )
        };
        let (hi, lo) = mac(c.local_mac.0);
        self.write(r::LOCAL_MAC_HI, hi)?;
        self.write(r::LOCAL_MAC_LO, lo)?;
        let (hi, lo) = mac(c.gateway_mac.0);
        self.write(r::GATEWAY_MAC_HI, hi)?;
        self.write(r::GATEWAY_MAC_LO, lo)?;
        self.write(r::VNI, c.vni)?;
        self.write(r::AUTH_ENABLE, c.auth.into())?;
        for i in 0..4 {
            let k = &c.auth_key.0[4 * i..4 * i + 4];
            self.write(
                r::AUTH_KEY + 4 * i as u32,
                u32::from_le_bytes([k[0], k[1], k[2], k[3]]),
            )?;
        }
        self.write(r::CT_BUCKETS_LOG2, log2)?;
        self.write(r::POLICY_GEN, c.policy_gen.into())?;
        self.write(r::TCP_WSCALE, c.tcp_wscale.into())?;
        self.write(r::MAX_FRAME, c.max_frame.into())?;
        for (i, s) in timeout_secs(&c.timeouts).iter().enumerate() {
            let us = u64::from(*s) * 1_000_000;
            self.write(r::TIMEOUT_LO + 8 * i as u32, us as u32)?;
            self.write(r::TIMEOUT_HI + 8 * i as u32, (us >> 32) as u32)?;
        }
        Ok(())
    }

    fn write_entry(&mut self, table: u32, index: u32, b: &Bits) -> Result<(), FpgaError> {
        self.table_write(table, index, b.words())
    }

    fn clear_entry(&mut self, table: u32, index: u32) -> Result<(), FpgaError> {
        self.table_write(table, index, &[])
    }

    fn ctx24(ctx: u32, what: &str) -> Result<u128, FpgaError> {
        if ctx >= 1 << 24 {
            return Err(FpgaError::Unsupported(format!(
                "{what} context {ctx} is wider than 24 bits"
            )));
        }
        Ok(ctx.into())
    }

    /// The variant of a decomposed policy key (its flags byte): which policy RAMs hold it.
    fn policy_variant(key: u64) -> usize {
        ((key >> 56) & 7) as usize
    }

    /// The table index of a placed policy key: variant, way, bucket.
    fn policy_slot(&self, key: u64) -> Option<u32> {
        let v = Self::policy_variant(key);
        let s = *self.policy[v].slots.get(&key)?;
        Some(((v as u32) << (self.geo.policy_log2 + 2)) | s)
    }

    fn write_policy_key(&mut self, key: u64) -> Result<(), FpgaError> {
        let slot = self
            .policy_slot(key)
            .ok_or_else(|| FpgaError::NotFound(format!("policy key {key:#x}")))?;
        let entry = self.policy_entries.get(&key).cloned().unwrap_or_default();
        if entry.rules.iter().all(Option::is_none) {
            self.policy[Self::policy_variant(key)].remove(&key);
            self.policy_entries.remove(&key);
            return self.clear_entry(table_enum::POLICY, slot);
        }
        use layout::policy as l;
        let mut b = Bits::zero(l::WIDTH);
        b.set(l::VALID, 1);
        b.set(l::KEY, key.into());
        for (i, r) in entry.rules.iter().enumerate() {
            let Some(r) = r else { continue };
            let base = l::RULE_BASE + i as u32 * l::RULE_STRIDE;
            b.set_at(base, l::rule::VALID, 1);
            b.set_at(base, l::rule::ALLOW, u128::from(r.action == Action::Allow));
            b.set_at(base, l::rule::PORT_LO, r.ports.lo.into());
            b.set_at(base, l::rule::PORT_HI, r.ports.hi.into());
            b.set_at(base, l::rule::PRIORITY, r.priority.into());
            b.set_at(base, l::rule::ID, r.id.into());
        }
        self.write_entry(table_enum::POLICY, slot, &b)
    }

    fn remove_rule(&mut self, id: u32) -> Result<bool, FpgaError> {
        let Some((key, pos)) = self.rule_pos.remove(&id) else {
            return Ok(false);
        };
        if let Some(e) = self.policy_entries.get_mut(&key) {
            e.rules[pos] = None;
        }
        let slot = self.policy_slot(key);
        self.write_policy_key(key)?;
        if let Some(slot) = slot {
            // the rule's hardware counter is freed; its count is kept in software
            let idx = slot * 4 + pos as u32;
            let pb = self.read_pb(table_enum::RULE_COUNTER, idx)?;
            self.retired.add_rule(id, pb);
            self.table_write(table_enum::RULE_COUNTER, idx, &[])?;
        }
        Ok(true)
    }

    fn set_rule(&mut self, r: &Rule) -> Result<(), FpgaError> {
        self.remove_rule(r.id)?;
        let src = r
            .src
            .map(|c| Self::ctx24(c, "rule src").map(|_| c))
            .transpose()?;
        let dst = r
            .dst
            .map(|c| Self::ctx24(c, "rule dst").map(|_| c))
            .transpose()?;
        let key = policy_key(src, dst, r.proto.0);
        let hash = CRC32.checksum(&key.to_be_bytes());
        self.policy[Self::policy_variant(key)].place(&key, hash, self.geo.policy_log2, "policy")?;
        let entry = self.policy_entries.entry(key).or_default();
        let Some(pos) = entry.rules.iter().position(Option::is_none) else {
            return Err(FpgaError::Unsupported(format!(
                "rule {}: more than 4 rules share the key (src {:?}, dst {:?}, proto {})",
                r.id, r.src, r.dst, r.proto
            )));
        };
        entry.rules[pos] = Some(*r);
        self.rule_pos.insert(r.id, (key, pos));
        self.write_policy_key(key)
    }

    fn overflow_key(key: &ztnic_model::CtKey) -> [u8; 39] {
        key.bytes()
    }

    /// Applies one control operation.
    pub fn apply(&mut self, op: &Op) -> Result<(), FpgaError> {
        match op {
            Op::SetPortClass { port, class } => {
                if u32::from(*port) >= 1 << self.geo.port_class_log2 {
                    return Err(FpgaError::Unsupported(format!(
                        "port {port} is beyond the port_class table"
                    )));
                }
                let c = match class {
                    PortClass::Vport => regmap::port_class_enum::VPORT,
                    PortClass::Uplink => regmap::port_class_enum::UPLINK,
                    PortClass::Cpu => regmap::port_class_enum::CPU,
                };
                self.table_write(table_enum::PORT_CLASS, (*port).into(), &[c])?;
            }
            Op::DeletePortClass { port } => {
                if u32::from(*port) >= 1 << self.geo.port_class_log2 {
                    return Err(FpgaError::NotFound(format!("port_class {port}")));
                }
                self.table_write(
                    table_enum::PORT_CLASS,
                    (*port).into(),
                    &[regmap::port_class_enum::NONE],
                )?;
            }
            Op::SetVportCtx(e) => {
                let addr = to_u128(e.ip);
                let mut kb = e.port.to_be_bytes().to_vec();
                kb.extend_from_slice(&addr.to_be_bytes());
                let slot = self.vport_ctx.place(
                    &(e.port, addr),
                    CRC32.checksum(&kb),
                    self.geo.vport_ctx_log2,
                    "vport_ctx",
                )?;
                use layout::vport_ctx as l;
                let mut b = Bits::zero(l::WIDTH);
                b.set(l::VALID, 1);
                b.set(l::VPORT, e.port.into());
                b.set(l::ADDR, addr);
                b.set(l::CTX, Self::ctx24(e.ctx, "vport_ctx")?);
                b.set(l::ZONE, e.zone.into());
                self.write_entry(table_enum::VPORT_CTX, slot, &b)?;
            }
            Op::DeleteVportCtx { port, ip } => {
                let slot = self
                    .vport_ctx
                    .remove(&(*port, to_u128(*ip)))
                    .ok_or_else(|| FpgaError::NotFound(format!("vport_ctx {port} {ip}")))?;
                self.clear_entry(table_enum::VPORT_CTX, slot)?;
            }
            Op::SetLocalEp(e) => {
                let addr = to_u128(e.ip);
                let slot = self.local_ep.place(
                    &addr,
                    CRC32.checksum(&addr.to_be_bytes()),
                    self.geo.local_ep_log2,
                    "local_ep",
                )?;
                use layout::local_ep as l;
                let mut b = Bits::zero(l::WIDTH);
                b.set(l::VALID, 1);
                b.set(l::ADDR, addr);
                b.set(l::VPORT, e.vport.into());
                b.set(l::CTX, Self::ctx24(e.ctx, "local_ep")?);
                b.set(l::ZONE, e.zone.into());
                self.write_entry(table_enum::LOCAL_EP, slot, &b)?;
            }
            Op::DeleteLocalEp { ip } => {
                let slot = self
                    .local_ep
                    .remove(&to_u128(*ip))
                    .ok_or_else(|| FpgaError::NotFound(format!("local_ep {ip}")))?;
                self.clear_entry(table_enum::LOCAL_EP, slot)?;
            }
            Op::SetCtxEpoch(e) => {
                let c = Self::ctx24(e.ctx, "ctx_epoch")? as u32;
                let slot = self.ctx_epoch.place(
                    &c,
                    CRC32.checksum(&be_bytes(c.into(), 3)),
                    self.geo.ctx_epoch_log2,
                    "ctx_epoch",
                )?;
                use layout::ctx_epoch as l;
                let mut b = Bits::zero(l::WIDTH);
                b.set(l::VALID, 1);
                b.set(l::CTX, c.into());
                b.set(l::EPOCH, e.epoch.into());
                self.write_entry(table_enum::CTX_EPOCH, slot, &b)?;
            }
            Op::DeleteCtxEpoch { ctx } => {
                let slot = self
                    .ctx_epoch
                    .remove(ctx)
                    .ok_or_else(|| FpgaError::NotFound(format!("ctx_epoch {ctx}")))?;
                self.clear_entry(table_enum::CTX_EPOCH, slot)?;
                let pb = self.read_pb(table_enum::CTX_COUNTER, slot)?;
                self.retired.add_ctx(*ctx, pb);
                self.table_write(table_enum::CTX_COUNTER, slot, &[])?;
            }
            Op::SetRemoteEp(e) => {
                let (addr, len) = e.prefix.to_u128();
                let (kind, vtep, ctx) = match e.action {
                    RemoteAction::Geneve { vtep, ctx } => {
                        (regmap::remote_kind_enum::GENEVE, u32::from(vtep), ctx)
                    }
                    RemoteAction::VxlanGbp { vtep, ctx } => {
                        (regmap::remote_kind_enum::VXLAN_GBP, u32::from(vtep), ctx)
                    }
                    RemoteAction::World => (regmap::remote_kind_enum::WORLD, 0, 2),
                };
                let ctx = Self::ctx24(ctx, "remote_ep")?;
                if len == 128 {
                    // a host route: the exact-match table
                    let slot = self.remote_host.place(
                        &addr,
                        CRC32.checksum(&addr.to_be_bytes()),
                        self.geo.remote_host_log2,
                        "remote_host",
                    )?;
                    use layout::remote_host as l;
                    let mut b = Bits::zero(l::WIDTH);
                    b.set(l::VALID, 1);
                    b.set(l::ADDR, addr);
                    b.set(l::KIND, kind.into());
                    b.set(l::VTEP, vtep.into());
                    b.set(l::CTX, ctx);
                    self.write_entry(table_enum::REMOTE_HOST, slot, &b)?;
                    return Ok(());
                }
                let idx = match self.remote_ep.iter().position(|x| *x == Some((addr, len))) {
                    Some(i) => i,
                    None => self
                        .remote_ep
                        .iter()
                        .position(Option::is_none)
                        .ok_or_else(|| {
                            FpgaError::Unsupported(format!(
                                "remote_ep holds {} prefixes shorter than a host route",
                                self.remote_ep.len()
                            ))
                        })?,
                };
                use layout::remote_ep as l;
                let mut b = Bits::zero(l::WIDTH);
                b.set(l::VALID, 1);
                b.set(l::PREFIX, addr & prefix_mask(len));
                b.set(l::PREFIX_LEN, len.into());
                b.set(l::KIND, kind.into());
                b.set(l::VTEP, vtep.into());
                b.set(l::CTX, ctx);
                self.remote_ep[idx] = Some((addr, len));
                self.write_entry(table_enum::REMOTE_EP, idx as u32, &b)?;
            }
            Op::DeleteRemoteEp { prefix } => {
                let (addr, len) = prefix.to_u128();
                if len == 128 {
                    let slot = self
                        .remote_host
                        .remove(&addr)
                        .ok_or_else(|| FpgaError::NotFound(format!("remote_ep {prefix}")))?;
                    self.clear_entry(table_enum::REMOTE_HOST, slot)?;
                    return Ok(());
                }
                let idx = self
                    .remote_ep
                    .iter()
                    .position(|x| *x == Some((addr, len)))
                    .ok_or_else(|| FpgaError::NotFound(format!("remote_ep {prefix}")))?;
                self.remote_ep[idx] = None;
                self.clear_entry(table_enum::REMOTE_EP, idx as u32)?;
            }
            Op::SetRule(r) => self.set_rule(r)?,
            Op::DeleteRule { id } => {
                if !self.remove_rule(*id)? {
                    return Err(FpgaError::NotFound(format!("policy rule {id}")));
                }
            }
            Op::SetCtOverflow(f) => {
                let (key, orig_lo) = f.key();
                let kb = Self::overflow_key(&key);
                let slot = self.overflow.place(
                    &kb,
                    key.h32(),
                    self.geo.ct_overflow_log2,
                    "ct_overflow",
                )?;
                use layout::ct_overflow as l;
                let mut b = Bits::zero(l::WIDTH);
                b.set(l::VALID, 1);
                b.set_bytes_be(l::KEY, &kb);
                b.set(l::ORIG_LO, orig_lo.into());
                self.write_entry(table_enum::CT_OVERFLOW, slot, &b)?;
                self.overflow_idle.insert(kb, f.idle_timeout_ms);
            }
            Op::DeleteCtOverflow(f) => {
                let (key, _) = f.key();
                let kb = Self::overflow_key(&key);
                let slot = self
                    .overflow
                    .remove(&kb)
                    .ok_or_else(|| FpgaError::NotFound(format!("ct_overflow {key}")))?;
                self.overflow_idle.remove(&kb);
                self.clear_entry(table_enum::CT_OVERFLOW, slot)?;
            }
            Op::SetConfig(c) => {
                if c.ct_buckets != self.config.ct_buckets {
                    // a new geometry starts an empty table, as in the model
                    for slot in 0..(4u32 << self.geo.ct_log2_max) {
                        self.clear_entry(table_enum::CONNTRACK, slot)?;
                    }
                }
                self.write_config(c)?;
                self.config = (**c).clone();
            }
        }
        Ok(())
    }

    /// Reads every counter table.
    pub fn counters(&mut self) -> Result<Counters, FpgaError> {
        let mut c = Counters::default();
        for r in DropReason::ALL {
            let n = self.drop_counter(r.code())?;
            if n != 0 {
                c.drops.insert(*r, n);
            }
        }
        for r in PuntReason::ALL {
            let n = self.punt_counter(r.code())?;
            if n != 0 {
                c.punts.insert(*r, n);
            }
        }
        let ctxs: BTreeMap<u32, u32> = self.ctx_epoch.slots.iter().map(|(c, s)| (*c, *s)).collect();
        for (ctx, slot) in ctxs {
            let pb = self.read_pb(table_enum::CTX_COUNTER, slot)?;
            c.add_ctx(ctx, pb);
        }
        let rules: Vec<(u32, (u64, usize))> = self.rule_pos.iter().map(|(k, v)| (*k, *v)).collect();
        for (id, (key, pos)) in rules {
            if let Some(slot) = self.policy_slot(key) {
                let pb = self.read_pb(table_enum::RULE_COUNTER, slot * 4 + pos as u32)?;
                c.add_rule(id, pb);
            }
        }
        c.merge(&self.retired);
        Ok(c)
    }

    /// The packets of drop reason `code` (`DropReason::code`), as the hardware counts.
    pub fn drop_counter(&mut self, code: u8) -> Result<u64, FpgaError> {
        let w = self.table_read(table_enum::DROP_COUNTER, code.into(), 2)?;
        Ok(u64::from(w[0]) | (u64::from(w[1]) << 32))
    }

    /// The packets of punt reason `code` (`PuntReason::code`), as the hardware counts.
    pub fn punt_counter(&mut self, code: u8) -> Result<u64, FpgaError> {
        let w = self.table_read(table_enum::PUNT_COUNTER, code.into(), 2)?;
        Ok(u64::from(w[0]) | (u64::from(w[1]) << 32))
    }

    /// The rule-counter index of a live rule (policy slot * rules per key + position).
    fn rule_counter_index(&self, id: u32) -> Option<u32> {
        let (key, pos) = *self.rule_pos.get(&id)?;
        Some(self.policy_slot(key)? * layout::policy::RULE_COUNT + pos as u32)
    }

    /// The hardware's direct counter of live rule `id` (the P4Runtime direct counter of
    /// its policy entry), or `None` when no such rule is installed. Unlike
    /// [`Driver::counters`] it does not add the counts of earlier rules of that id that
    /// were deleted.
    pub fn rule_counter(&mut self, id: u32) -> Result<Option<PacketsBytes>, FpgaError> {
        match self.rule_counter_index(id) {
            Some(idx) => self.read_pb(table_enum::RULE_COUNTER, idx).map(Some),
            None => Ok(None),
        }
    }

    /// Sets the hardware's direct counter of live rule `id` (P4Runtime lets a
    /// controller write direct counters); `NotFound` when no such rule is installed.
    pub fn set_rule_counter(&mut self, id: u32, value: PacketsBytes) -> Result<(), FpgaError> {
        let idx = self
            .rule_counter_index(id)
            .ok_or_else(|| FpgaError::NotFound(format!("policy rule {id}")))?;
        self.write_pb(table_enum::RULE_COUNTER, idx, value)
    }

    /// The hardware's direct counter of context `ctx` (its `ctx_epoch` entry), or
    /// `None` when the context has no `ctx_epoch` entry.
    pub fn ctx_counter(&mut self, ctx: u32) -> Result<Option<PacketsBytes>, FpgaError> {
        match self.ctx_epoch.slots.get(&ctx).copied() {
            Some(slot) => self.read_pb(table_enum::CTX_COUNTER, slot).map(Some),
            None => Ok(None),
        }
    }

    /// Sets the hardware's direct counter of context `ctx`; `NotFound` when the
    /// context has no `ctx_epoch` entry.
    pub fn set_ctx_counter(&mut self, ctx: u32, value: PacketsBytes) -> Result<(), FpgaError> {
        let slot = *self
            .ctx_epoch
            .slots
            .get(&ctx)
            .ok_or_else(|| FpgaError::NotFound(format!("ctx_epoch {ctx}")))?;
        self.write_pb(table_enum::CTX_COUNTER, slot, value)
    }

    fn write_pb(&mut self, table: u32, idx: u32, v: PacketsBytes) -> Result<(), FpgaError> {
        let w = [
            v.packets as u32,
            (v.packets >> 32) as u32,
            v.bytes as u32,
            (v.bytes >> 32) as u32,
        ];
        self.table_write(table, idx, &w)
    }

    /// Reads slot `index` of a table whose layout starts with a valid bit: `None` when
    /// the slot is free (only the first word is read then).
    fn read_valid(
        &mut self,
        table: u32,
        index: u32,
        width: u32,
    ) -> Result<Option<Bits>, FpgaError> {
        self.table_cmd(table, index, table_cmd_enum::READ)?;
        let first = self.read(tables::DATA)?;
        if first & 1 == 0 {
            return Ok(None);
        }
        let mut w = vec![first];
        for i in 1..width.div_ceil(32).min(tables::DATA_COUNT) {
            w.push(self.read(tables::DATA + 4 * i)?);
        }
        Ok(Some(Bits::from_words(&w)))
    }

    /// Every valid slot of the tables the driver writes, decoded, in slot order.
    fn scan(&mut self) -> Result<HwTables, FpgaError> {
        let g = self.geo;
        let mut hw = HwTables::default();
        for port in 0..(1u32 << g.port_class_log2) {
            let w = self.table_read(table_enum::PORT_CLASS, port, 1)?;
            if let Some(class) = decode::port_class(&Bits::from_words(&w)) {
                hw.port_class.push((port as u16, class));
            }
        }
        for slot in 0..(4u32 << g.vport_ctx_log2) {
            let w = layout::vport_ctx::WIDTH;
            if let Some(e) = self
                .read_valid(table_enum::VPORT_CTX, slot, w)?
                .and_then(|b| decode::vport_ctx(&b))
            {
                hw.vport_ctx.push((slot, e));
            }
        }
        for slot in 0..(4u32 << g.local_ep_log2) {
            let w = layout::local_ep::WIDTH;
            if let Some(e) = self
                .read_valid(table_enum::LOCAL_EP, slot, w)?
                .and_then(|b| decode::local_ep(&b))
            {
                hw.local_ep.push((slot, e));
            }
        }
        for slot in 0..(4u32 << g.ctx_epoch_log2) {
            let w = layout::ctx_epoch::WIDTH;
            if let Some(e) = self
                .read_valid(table_enum::CTX_EPOCH, slot, w)?
                .and_then(|b| decode::ctx_epoch(&b))
            {
                hw.ctx_epoch.push((slot, e));
            }
        }
        for idx in 0..g.remote_ep_entries {
            let w = layout::remote_ep::WIDTH;
            let Some(b) = self.read_valid(table_enum::REMOTE_EP, idx, w)? else {
                continue;
            };
            let corrupt = |what| FpgaError::Corrupt {
                table: "remote_ep",
                index: idx,
                what,
            };
            if let Some(e) = decode::remote_ep(&b).map_err(corrupt)? {
                hw.remote_ep.push((idx, e));
            }
        }
        for slot in 0..(4u32 << g.remote_host_log2) {
            let w = layout::remote_host::WIDTH;
            let Some(b) = self.read_valid(table_enum::REMOTE_HOST, slot, w)? else {
                continue;
            };
            let corrupt = |what| FpgaError::Corrupt {
                table: "remote_host",
                index: slot,
                what,
            };
            if let Some(e) = decode::remote_host(&b).map_err(corrupt)? {
                hw.remote_host.push((slot, e));
            }
        }
        for slot in 0..(32u32 << g.policy_log2) {
            let w = layout::policy::WIDTH;
            let Some(b) = self.read_valid(table_enum::POLICY, slot, w)? else {
                continue;
            };
            let corrupt = |what| FpgaError::Corrupt {
                table: "policy",
                index: slot,
                what,
            };
            if let Some(e) = decode::policy(&b).map_err(corrupt)? {
                hw.policy.push((slot, e));
            }
        }
        for slot in 0..(4u32 << g.ct_overflow_log2) {
            let w = layout::ct_overflow::WIDTH;
            if let Some(e) = self
                .read_valid(table_enum::CT_OVERFLOW, slot, w)?
                .and_then(|b| decode::ct_overflow(&b))
            {
                hw.ct_overflow.push((slot, e));
            }
        }
        Ok(hw)
    }

    /// Reads every slot of `port_class`, `vport_ctx`, `local_ep`, `remote_ep`,
    /// `ctx_epoch`, `policy` and `ct_overflow` from the device (not from the driver's
    /// mirrors) and returns the `Op::Set*` operations that produce them, table by table
    /// in that order, in slot order within a table (rules by id).
    ///
    /// What the hardware cannot tell apart comes back in one canonical form: ports of
    /// class `none` (the reset value) are not listed; addresses and prefixes that are
    /// IPv4-mapped come back as IPv4 (a prefix of length 96 + n as IPv4 /n); prefixes are
    /// masked to their length; a `world` route carries no context; an overflow flow's
    /// addresses are IPv4 when both are v4-mapped, and its `idle_timeout_ms` (not stored
    /// in hardware) is the one this driver was given, or 10 000 when it did not write it.
    pub fn read_back(&mut self) -> Result<Vec<Op>, FpgaError> {
        let hw = self.scan()?;
        let mut ops = Vec::new();
        for (port, class) in hw.port_class {
            ops.push(Op::SetPortClass { port, class });
        }
        ops.extend(hw.vport_ctx.into_iter().map(|(_, e)| Op::SetVportCtx(e)));
        ops.extend(hw.local_ep.into_iter().map(|(_, e)| Op::SetLocalEp(e)));
        ops.extend(hw.remote_ep.into_iter().map(|(_, e)| Op::SetRemoteEp(e)));
        ops.extend(hw.remote_host.into_iter().map(|(_, e)| Op::SetRemoteEp(e)));
        ops.extend(hw.ctx_epoch.into_iter().map(|(_, e)| Op::SetCtxEpoch(e)));
        let mut rules: Vec<Rule> = hw
            .policy
            .iter()
            .flat_map(|(_, (_, rules))| rules.iter().flatten().copied())
            .collect();
        rules.sort_by_key(|r| r.id);
        ops.extend(rules.into_iter().map(Op::SetRule));
        for (_, (key, orig_lo)) in hw.ct_overflow {
            let idle = self
                .overflow_idle
                .get(&key)
                .copied()
                .unwrap_or(decode::DEFAULT_IDLE_TIMEOUT_MS);
            ops.push(Op::SetCtOverflow(decode::overflow_flow(
                &key, orig_lo, idle,
            )));
        }
        Ok(ops)
    }

    /// Reads the configuration registers back (every one of them is readable,
    /// `rtl/regmap.toml`). Timeouts are whole seconds (the registers hold microseconds;
    /// a fraction of a second written by someone else is truncated).
    pub fn read_config(&mut self) -> Result<Config, FpgaError> {
        use regmap::config as r;
        let mac = |hi: u32, lo: u32| {
            let h = (hi as u16).to_be_bytes();
            let l = lo.to_be_bytes();
            MacAddr([h[0], h[1], l[0], l[1], l[2], l[3]])
        };
        let local_mac = mac(self.read(r::LOCAL_MAC_HI)?, self.read(r::LOCAL_MAC_LO)?);
        let gateway_mac = mac(self.read(r::GATEWAY_MAC_HI)?, self.read(r::GATEWAY_MAC_LO)?);
        let mut auth_key = [0u8; 16];
        for (i, chunk) in auth_key.chunks_mut(4).enumerate() {
            chunk.copy_from_slice(
                &self
                    .read(r::AUTH_KEY + r::AUTH_KEY_STRIDE * i as u32)?
                    .to_le_bytes(),
            );
        }
        let log2 = self.read(r::CT_BUCKETS_LOG2)?;
        if log2 > self.geo.ct_log2_max {
            return Err(FpgaError::Corrupt {
                table: "config",
                index: r::CT_BUCKETS_LOG2,
                what: format!(
                    "ct_buckets_log2 {log2} beyond the synthesised {}",
                    self.geo.ct_log2_max
                ),
            });
        }
        let mut secs = [0u32; 13];
        for (i, s) in secs.iter_mut().enumerate() {
            let lo = self.read(r::TIMEOUT_LO + r::TIMEOUT_LO_STRIDE * i as u32)?;
            let hi = self.read(r::TIMEOUT_HI + r::TIMEOUT_HI_STRIDE * i as u32)?;
            let us = u64::from(lo) | (u64::from(hi) << 32);
            *s = u32::try_from(us / 1_000_000).unwrap_or(u32::MAX);
        }
        Ok(Config {
            uplink_port: self.read(r::UPLINK_PORT)? as u16,
            cpu_port: self.read(r::CPU_PORT)? as u16,
            local_mac,
            gateway_mac,
            local_vtep_ip: self.read(r::LOCAL_VTEP_IP)?.into(),
            vni: self.read(r::VNI)? & 0xff_ffff,
            auth: self.read(r::AUTH_ENABLE)? & 1 != 0,
            auth_key: AuthKey(auth_key),
            tcp_wscale: self.read(r::TCP_WSCALE)? as u8,
            policy_gen: self.read(r::POLICY_GEN)? as u16,
            ct_buckets: 1 << log2,
            timeouts: timeouts_of(secs),
            max_frame: self.read(r::MAX_FRAME)? as u16,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table window as the RTL keeps it (`rtl/ztnic_ctrl.v`): the data
    /// registers hold what was written until a read command loads the slot; a
    /// write command stores all 24 data words in the slot. Counts data writes.
    struct WindowModel {
        regs: HashMap<u32, u32>,
        slots: HashMap<(u32, u32), [u32; 24]>,
        data_writes: usize,
    }

    impl WindowModel {
        fn new() -> WindowModel {
            let mut regs = HashMap::new();
            regs.insert(regmap::id::BASE, regmap::id::TYPE);
            for (a, v) in [
                (regmap::id::PORT_CLASS_LOG2, 8),
                (regmap::id::VPORT_CTX_LOG2, 8),
                (regmap::id::LOCAL_EP_LOG2, 8),
                (regmap::id::CTX_EPOCH_LOG2, 8),
                (regmap::id::REMOTE_EP_ENTRIES, 16),
                (regmap::id::REMOTE_HOST_LOG2, 8),
                (regmap::id::POLICY_LOG2, 8),
                (regmap::id::CT_LOG2_MAX, 12),
                (regmap::id::CT_OVERFLOW_LOG2, 6),
            ] {
                regs.insert(a, v);
            }
            WindowModel {
                regs,
                slots: HashMap::new(),
                data_writes: 0,
            }
        }

        fn data(&self) -> [u32; 24] {
            std::array::from_fn(|i| {
                self.regs
                    .get(&(tables::DATA + 4 * i as u32))
                    .copied()
                    .unwrap_or(0)
            })
        }
    }

    impl RegisterAccess for WindowModel {
        type Error = std::io::Error;

        fn read32(&mut self, addr: u32) -> Result<u32, std::io::Error> {
            Ok(match addr {
                tables::STATUS => 0,
                _ => self.regs.get(&addr).copied().unwrap_or(0),
            })
        }

        fn write32(&mut self, addr: u32, value: u32) -> Result<(), std::io::Error> {
            if addr == tables::CMD {
                let slot = (self.regs[&tables::SELECT], self.regs[&tables::INDEX]);
                if value == table_cmd_enum::WRITE {
                    let data = self.data();
                    self.slots.insert(slot, data);
                } else {
                    let held = self.slots.get(&slot).copied().unwrap_or([0; 24]);
                    for (i, w) in held.iter().enumerate() {
                        self.regs.insert(tables::DATA + 4 * i as u32, *w);
                    }
                }
                return Ok(());
            }
            if (tables::DATA..tables::DATA + 4 * tables::DATA_COUNT).contains(&addr) {
                self.data_writes += 1;
            }
            self.regs.insert(addr, value);
            Ok(())
        }
    }

    fn padded(words: &[u32]) -> [u32; 24] {
        std::array::from_fn(|i| words.get(i).copied().unwrap_or(0))
    }

    #[test]
    fn table_writes_store_the_full_entry_though_unchanged_words_are_skipped() {
        let mut drv = Driver::new(WindowModel::new()).expect("driver");
        let wide = [0xa5a5_5a5au32; 24];
        drv.table_write(table_enum::POLICY, 3, &wide)
            .expect("wide write");
        assert_eq!(drv.access().slots[&(table_enum::POLICY, 3)], wide);

        // a narrow entry after a wide one: the words beyond it are cleared
        let op = |i: u8| {
            Op::SetVportCtx(VportCtx {
                port: 2,
                ip: std::net::IpAddr::from([10, 0, 0, i]),
                ctx: 300 + u32::from(i),
                zone: 0,
            })
        };
        drv.apply(&op(1)).expect("vport_ctx 1");
        let slot = *drv
            .vport_ctx
            .slots
            .get(&(2, to_u128([10, 0, 0, 1].into())))
            .expect("placed");
        let first = drv.access().slots[&(table_enum::VPORT_CTX, slot)];
        let n = layout::vport_ctx::WIDTH.div_ceil(32) as usize;
        assert!(
            first[n..].iter().all(|w| *w == 0),
            "stale words: {first:x?}"
        );
        assert!(first[..n].iter().any(|w| *w != 0));

        // the next entry of the same table writes only the words that differ
        let before = drv.access().data_writes;
        drv.apply(&op(2)).expect("vport_ctx 2");
        let written = drv.access().data_writes - before;
        assert!(
            written < n,
            "{written} data words written for a {n}-word entry"
        );
        let slot2 = *drv
            .vport_ctx
            .slots
            .get(&(2, to_u128([10, 0, 0, 2].into())))
            .expect("placed");
        let mut b = Bits::zero(layout::vport_ctx::WIDTH);
        {
            use layout::vport_ctx as l;
            b.set(l::VALID, 1);
            b.set(l::VPORT, 2);
            b.set(l::ADDR, to_u128([10, 0, 0, 2].into()));
            b.set(l::CTX, 302);
        }
        assert_eq!(
            drv.access().slots[&(table_enum::VPORT_CTX, slot2)],
            padded(b.words())
        );

        // a read loads the window: what follows is written in full again
        let read = drv.read_entry(table_enum::POLICY, 3).expect("read");
        assert_eq!(read.words(), &wide[..]);
        drv.apply(&Op::DeleteVportCtx {
            port: 2,
            ip: [10, 0, 0, 1].into(),
        })
        .expect("delete");
        assert_eq!(drv.access().slots[&(table_enum::VPORT_CTX, slot)], [0; 24]);

        // the register space handed out: nothing is assumed about the window
        drv.access_mut()
            .write32(tables::DATA + 4 * 23, 7)
            .expect("poke");
        drv.table_write(table_enum::PORT_CLASS, 1, &[1])
            .expect("port_class");
        assert_eq!(
            drv.access().slots[&(table_enum::PORT_CLASS, 1)],
            padded(&[1])
        );
    }
}
