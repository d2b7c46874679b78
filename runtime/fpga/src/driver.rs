//! The driver: control operations in, register writes out; counters, conntrack
//! entries, table entries and events read back.

use std::collections::{BTreeMap, HashMap};

use crc::{CRC_32_ISO_HDLC, Crc};
use ztnic_model::addr::{prefix_mask, to_u128};
use ztnic_model::policy::Action;
use ztnic_model::{
    Config, Counters, DropReason, Op, PacketsBytes, PortClass, PuntReason, RemoteAction, Rule,
};

use crate::access::RegisterAccess;
use crate::bits::Bits;
use crate::regmap::{self, event_kind_enum, layout, table_cmd_enum, table_enum, tables};

const CRC32: Crc<u32> = Crc::<u32>::new(&CRC_32_ISO_HDLC);

/// Polls of the table window's busy bit before giving up.
const TABLE_POLLS: u32 = 10_000;

/// Synthesis parameters of the device (its id block reports them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    pub port_class_log2: u32,
    pub vport_ctx_log2: u32,
    pub local_ep_log2: u32,
    pub ctx_epoch_log2: u32,
    pub remote_ep_entries: u32,
    /// Buckets per way of each of the 8 policy key variants.
    pub policy_log2: u32,
    pub ct_log2_max: u32,
    pub ct_overflow_log2: u32,
}

/// What the hardware cannot realise, or a failed access.
#[derive(Debug, thiserror::Error)]
pub enum FpgaError {
    #[error("register access failed: {0}")]
    Access(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("the device is not a ztnic datapath (id block type {0:#010x})")]
    NotZtnic(u32),
    #[error("table {table} rejected index {index} (unknown table or index out of range)")]
    Table { table: u32, index: u32 },
    #[error("the table access window stayed busy")]
    Busy,
    #[error("an entry of {bits} bits does not fit the {words}-word table window")]
    TooWide { bits: usize, words: usize },
    #[error("{table}: all 4 ways of bucket {bucket} are taken")]
    TableFull { table: &'static str, bucket: u32 },
    #[error("{0}: no such entry")]
    NotFound(String),
    #[error("the hardware cannot realise this: {0}")]
    Unsupported(String),
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
    pub kind: u8,
    pub reason: u8,
    pub port: u16,
    pub ctx: u32,
    pub epoch: u8,
    pub hash: u32,
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
    pub assured: bool,
    pub replied: bool,
    /// Last packet, microseconds of the device clock.
    pub last_seen_us: u64,
    /// Policy generation that admitted (or last re-checked) it.
    pub policy_gen: u32,
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
}

/// A policy key entry: the decomposed key and its (up to 4) rules by position.
#[derive(Clone, Default)]
struct PolicyEntry {
    rules: [Option<Rule>; 4],
}

fn add_pb(m: &mut BTreeMap<u32, PacketsBytes>, k: u32, pb: PacketsBytes) {
    if pb.packets != 0 {
        let e = m.entry(k).or_default();
        e.packets += pb.packets;
        e.bytes += pb.bytes;
    }
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
    /// One placement per decomposed-key variant (the policy RAMs are split by variant).
    policy: [Placement<u64>; 8],
    policy_entries: HashMap<u64, PolicyEntry>,
    rule_pos: HashMap<u32, (u64, usize)>,
    overflow: Placement<[u8; 39]>,
    /// Counts of rules and contexts whose hardware counters were freed with their entry.
    retired_rules: BTreeMap<u32, PacketsBytes>,
    retired_ctx: BTreeMap<u32, PacketsBytes>,
}

fn access_err<E: std::error::Error + Send + Sync + 'static>(e: E) -> FpgaError {
    FpgaError::Access(Box::new(e))
}

impl<R: RegisterAccess> Driver<R> {
    /// Takes over a device in its reset state: checks the id block, reads the
    /// geometry and writes the default configuration.
    pub fn new(access: R) -> Result<Driver<R>, FpgaError> {
        let mut d = Driver {
            access,
            geo: Geometry {
                port_class_log2: 0,
                vport_ctx_log2: 0,
                local_ep_log2: 0,
                ctx_epoch_log2: 0,
                remote_ep_entries: 0,
                policy_log2: 0,
                ct_log2_max: 0,
                ct_overflow_log2: 0,
            },
            config: Config::default(),
            vport_ctx: Placement::default(),
            local_ep: Placement::default(),
            ctx_epoch: Placement::default(),
            remote_ep: Vec::new(),
            policy: Default::default(),
            policy_entries: HashMap::new(),
            rule_pos: HashMap::new(),
            overflow: Placement::default(),
            retired_rules: BTreeMap::new(),
            retired_ctx: BTreeMap::new(),
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
            policy_log2: d.read(regmap::id::POLICY_LOG2)?,
            ct_log2_max: d.read(regmap::id::CT_LOG2_MAX)?,
            ct_overflow_log2: d.read(regmap::id::CT_OVERFLOW_LOG2)?,
        };
        d.remote_ep = vec![None; d.geo.remote_ep_entries as usize];
        d.write_config(&Config::default())?;
        Ok(d)
    }

    /// The register space (the simulator's bench, or the card).
    pub fn access(&self) -> &R {
        &self.access
    }

    pub fn access_mut(&mut self) -> &mut R {
        &mut self.access
    }

    /// The configuration last written.
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
        self.write(tables::SELECT, table)?;
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
            self.write(tables::DATA + 4 * i as u32, w)?;
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

    /// Every live entry of the conntrack table (valid slots; entries past their
    /// timeout that the aging sweep has not reached yet are included).
    pub fn conntrack_entries(&mut self) -> Result<Vec<CtEntry>, FpgaError> {
        use layout::conntrack as l;
        let words = l::WIDTH.div_ceil(32) as usize;
        let mut v = Vec::new();
        for slot in 0..(4u32 << self.geo.ct_log2_max) {
            let b = Bits::from_words(&self.table_read(table_enum::CONNTRACK, slot, words)?);
            if b.get(l::VALID) == 0 {
                continue;
            }
            let mut key = [0u8; 39];
            key.copy_from_slice(&b.get_bytes_be(l::KEY));
            v.push(CtEntry {
                slot,
                key,
                orig_lo: b.get(l::ORIG_LO) != 0,
                kind: b.get(l::KIND) as u8,
                tcp_state: b.get(l::STATE) as u8,
                assured: b.get(l::ASSURED) != 0,
                replied: b.get(l::REPLIED) != 0,
                last_seen_us: b.get(l::LAST_SEEN) as u64,
                policy_gen: b.get(l::GEN) as u32,
            });
        }
        Ok(v)
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
        let t = &c.timeouts;
        let secs = [
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
        ];
        for (i, s) in secs.iter().enumerate() {
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
            add_pb(&mut self.retired_rules, id, pb);
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
                add_pb(&mut self.retired_ctx, *ctx, pb);
                self.table_write(table_enum::CTX_COUNTER, slot, &[])?;
            }
            Op::SetRemoteEp(e) => {
                let (addr, len) = e.prefix.to_u128();
                let idx = match self.remote_ep.iter().position(|x| *x == Some((addr, len))) {
                    Some(i) => i,
                    None => self
                        .remote_ep
                        .iter()
                        .position(Option::is_none)
                        .ok_or_else(|| {
                            FpgaError::Unsupported(format!(
                                "remote_ep holds {} prefixes",
                                self.remote_ep.len()
                            ))
                        })?,
                };
                use layout::remote_ep as l;
                let mut b = Bits::zero(l::WIDTH);
                b.set(l::VALID, 1);
                b.set(l::PREFIX, addr & prefix_mask(len));
                b.set(l::PREFIX_LEN, len.into());
                let (kind, vtep, ctx) = match e.action {
                    RemoteAction::Geneve { vtep, ctx } => {
                        (regmap::remote_kind_enum::GENEVE, u32::from(vtep), ctx)
                    }
                    RemoteAction::VxlanGbp { vtep, ctx } => {
                        (regmap::remote_kind_enum::VXLAN_GBP, u32::from(vtep), ctx)
                    }
                    RemoteAction::World => (regmap::remote_kind_enum::WORLD, 0, 2),
                };
                b.set(l::KIND, kind.into());
                b.set(l::VTEP, vtep.into());
                b.set(l::CTX, Self::ctx24(ctx, "remote_ep")?);
                self.remote_ep[idx] = Some((addr, len));
                self.write_entry(table_enum::REMOTE_EP, idx as u32, &b)?;
            }
            Op::DeleteRemoteEp { prefix } => {
                let (addr, len) = prefix.to_u128();
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
            }
            Op::DeleteCtOverflow(f) => {
                let (key, _) = f.key();
                let slot = self
                    .overflow
                    .remove(&Self::overflow_key(&key))
                    .ok_or_else(|| FpgaError::NotFound(format!("ct_overflow {key}")))?;
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
            let w = self.table_read(table_enum::DROP_COUNTER, r.code().into(), 2)?;
            let n = u64::from(w[0]) | (u64::from(w[1]) << 32);
            if n != 0 {
                c.drops.insert(*r, n);
            }
        }
        for r in PuntReason::ALL {
            let w = self.table_read(table_enum::PUNT_COUNTER, r.code().into(), 2)?;
            let n = u64::from(w[0]) | (u64::from(w[1]) << 32);
            if n != 0 {
                c.punts.insert(*r, n);
            }
        }
        c.ctx = self.retired_ctx.clone();
        c.rules = self.retired_rules.clone();
        let ctxs: BTreeMap<u32, u32> = self.ctx_epoch.slots.iter().map(|(c, s)| (*c, *s)).collect();
        for (ctx, slot) in ctxs {
            let pb = self.read_pb(table_enum::CTX_COUNTER, slot)?;
            add_pb(&mut c.ctx, ctx, pb);
        }
        let rules: Vec<(u32, (u64, usize))> = self.rule_pos.iter().map(|(k, v)| (*k, *v)).collect();
        for (id, (key, pos)) in rules {
            if let Some(slot) = self.policy_slot(key) {
                let pb = self.read_pb(table_enum::RULE_COUNTER, slot * 4 + pos as u32)?;
                add_pb(&mut c.rules, id, pb);
            }
        }
        Ok(c)
    }
}
