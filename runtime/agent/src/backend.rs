//! The P4Runtime server core's [`Backend`] over the FPGA driver: table entries
//! decoded into control operations ([`ztnic_p4tables`]) and written through
//! [`Driver`]; reads answered from the hardware; events and punts turned into
//! digests and PacketIns.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use ztnic_fpga::regmap::{ct_kind_enum, table_enum};
use ztnic_fpga::{Bits, CtEntry, Driver, EventKind, FpgaError};
use ztnic_model::{CtKey, Op, PacketsBytes};
use ztnic_p4runtime::v1::{CounterData, MeterConfig, P4Data, PacketOut, TableEntry, table_action};
use ztnic_p4runtime::{P4InfoIndex, entry_key};
use ztnic_p4runtime_server::{Backend, BackendError, DeviceEvent, EventSink, Pipeline};
use ztnic_p4tables::conntrack::{self, CtInfo, CtWin, CtWindow};
use ztnic_p4tables::digest::{CtEvent, CtEventKind, CtxMiss};
use ztnic_p4tables::packet::{HEADER_BYTES, PacketInMeta};
use ztnic_p4tables::{MapError, Program, delete_of, names};

use crate::device::{Device, DeviceError};

mod ct_keys;
use ct_keys::CtKeyMap;

/// What the agent did, for its log and its callers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AgentStats {
    /// Table entries written (inserted, modified or deleted).
    pub writes: u64,
    /// Digests sent (ctx_miss, ct_event).
    pub digests: u64,
    /// PacketIns sent.
    pub packet_ins: u64,
    /// PacketOuts injected.
    pub packet_outs: u64,
    /// Event records with no P4 counterpart (conntrack expiry, ct_full — the
    /// punt carries it) or whose key was no longer known.
    pub events_dropped: u64,
}

fn fpga_err(e: FpgaError) -> BackendError {
    match e {
        FpgaError::TableFull { .. } => BackendError::Full(e.to_string()),
        FpgaError::Unsupported(_) => BackendError::Unsupported(e.to_string()),
        FpgaError::NotFound(_) => BackendError::NotFound,
        other => BackendError::Internal(other.to_string()),
    }
}

fn map_err(e: MapError) -> BackendError {
    match e {
        MapError::Unsupported(_) => BackendError::Unsupported(e.to_string()),
        MapError::UnknownRule(_) => BackendError::NotFound,
        MapError::RuleKeyTaken { .. } => BackendError::AlreadyExists,
        other => BackendError::Invalid(other.to_string()),
    }
}

fn dev_err(e: DeviceError) -> BackendError {
    match e {
        DeviceError::Unsupported(m) => BackendError::Unsupported(m),
        other => BackendError::Internal(other.to_string()),
    }
}

fn counter_data(pb: PacketsBytes) -> CounterData {
    CounterData {
        byte_count: i64::try_from(pb.bytes).unwrap_or(i64::MAX),
        packet_count: i64::try_from(pb.packets).unwrap_or(i64::MAX),
    }
}

fn packets_bytes(c: &CounterData) -> PacketsBytes {
    PacketsBytes {
        packets: u64::try_from(c.packet_count).unwrap_or(0),
        bytes: u64::try_from(c.byte_count).unwrap_or(0),
    }
}

/// The loaded program and the ids the backend dispatches on.
struct Loaded {
    program: Program,
    index: Arc<P4InfoIndex>,
    config_tables: [u32; 3],
    policy: u32,
    ctx_epoch: u32,
    drops: u32,
    punts: u32,
    ctx_miss: u32,
    ct_event: u32,
    /// The conntrack registers: `ct_key`, `ct_info`, `ct_win`.
    ct_registers: [u32; 3],
}

impl Loaded {
    fn new(index: Arc<P4InfoIndex>) -> Result<Loaded, BackendError> {
        let program = Program::new(index.clone()).map_err(|e| {
            BackendError::Invalid(format!(
                "the FPGA datapath runs the ztnic program only: {e}"
            ))
        })?;
        let t = |n: &str| program.table_id(n).map_err(map_err);
        let counter = |n: &str| {
            index
                .counter_by_name(n)
                .map(|c| c.id)
                .map_err(|e| BackendError::Invalid(e.to_string()))
        };
        let register = |n: &str| {
            index
                .register_by_name(n)
                .map(|r| r.id)
                .map_err(|e| BackendError::Invalid(e.to_string()))
        };
        let digest = |n: &str| {
            index
                .digest_by_name(n)
                .map(|d| d.id)
                .map_err(|e| BackendError::Invalid(e.to_string()))
        };
        Ok(Loaded {
            config_tables: [
                t(names::CONFIG)?,
                t(names::AUTH_KEY)?,
                t(names::CT_TIMEOUTS)?,
            ],
            policy: t(names::POLICY)?,
            ctx_epoch: t(names::CTX_EPOCH)?,
            drops: counter(names::DROPS)?,
            punts: counter(names::PUNTS)?,
            ctx_miss: digest(names::CTX_MISS)?,
            ct_event: digest(names::CT_EVENT)?,
            ct_registers: [
                register(names::CT_KEY)?,
                register(names::CT_INFO)?,
                register(names::CT_WIN)?,
            ],
            program,
            index,
        })
    }
}

/// A ztnic FPGA datapath behind the P4Runtime server core.
///
/// Writes: each entry is decoded into the control operation it stands for and
/// applied by the driver, which places it in the hardware tables; what the
/// hardware cannot realise is refused with the driver's reason. Reads: wildcard
/// reads decode the hardware tables themselves (cached until the next write);
/// direct counters come from the hardware counter RAMs. The entries as accepted
/// are kept too, for what the hardware does not store (idle timeouts, controller
/// metadata) and to answer single-entry lookups without a table scan.
pub struct FpgaBackend<D: Device> {
    drv: RefCell<Driver<D>>,
    loaded: Option<Loaded>,
    /// The accepted entries by their canonical key ([`entry_key`]); looked up by
    /// key only, never walked in order.
    entries: HashMap<Vec<u8>, Box<TableEntry>>,
    /// Rule id → key of its policy entry.
    rules: HashMap<u32, Vec<u8>>,
    defaults: HashMap<u32, TableEntry>,
    events: Option<EventSink>,
    readback: RefCell<Option<Vec<Op>>>,
    /// Conntrack keys by hardware slot, from insert events, to name deleted entries
    /// (bounded by the table's slots: [`CtKeyMap`]).
    ct_keys: CtKeyMap,
    stats: AgentStats,
}

impl<D: Device> FpgaBackend<D> {
    /// Takes over `device` in its power-on state (writes the default
    /// configuration).
    pub fn new(device: D) -> Result<FpgaBackend<D>, FpgaError> {
        Ok(Self::with_driver(Driver::new(device)?))
    }

    /// Takes over a device that is already running, keeping its tables and
    /// connections; serve it with `P4RuntimeService::resume_pipeline`.
    pub fn adopt(device: D) -> Result<FpgaBackend<D>, FpgaError> {
        Ok(Self::with_driver(Driver::adopt(device)?))
    }

    fn with_driver(drv: Driver<D>) -> FpgaBackend<D> {
        let ct_keys = CtKeyMap::new(ct_capacity(&drv));
        FpgaBackend {
            drv: RefCell::new(drv),
            loaded: None,
            entries: HashMap::new(),
            rules: HashMap::new(),
            defaults: HashMap::new(),
            events: None,
            readback: RefCell::new(None),
            ct_keys,
            stats: AgentStats::default(),
        }
    }

    /// The driver (and through it the device). Tables changed through it
    /// directly are what later reads report (the hardware is read back).
    pub fn driver(&mut self) -> &mut Driver<D> {
        *self.readback.get_mut() = None;
        self.drv.get_mut()
    }

    /// The device (a simulation sends its data-plane frames here).
    pub fn device(&mut self) -> &mut D {
        self.drv.get_mut().access_mut()
    }

    /// Every counter of the device (drops and punts by reason, packets and
    /// bytes per rule and per context) read now.
    pub fn counters(&mut self) -> Result<ztnic_model::Counters, FpgaError> {
        self.drv.get_mut().counters()
    }

    /// What the agent has done so far.
    pub fn stats(&self) -> AgentStats {
        self.stats
    }

    /// Conntrack keys the agent knows, to name deleted entries in digests: never
    /// more than the hardware table's slots.
    pub fn ct_keys_known(&self) -> usize {
        self.ct_keys.len()
    }

    fn loaded(&self) -> Result<&Loaded, BackendError> {
        self.loaded
            .as_ref()
            .ok_or_else(|| BackendError::Invalid("no forwarding pipeline is loaded".into()))
    }

    fn apply(&mut self, op: &Op) -> Result<(), BackendError> {
        *self.readback.get_mut() = None;
        self.drv.get_mut().apply(op).map_err(fpga_err)?;
        self.stats.writes += 1;
        Ok(())
    }

    /// The hardware's direct counter of a policy or ctx_epoch entry.
    fn direct_counter(&self, op: &Op) -> Result<Option<CounterData>, BackendError> {
        let mut drv = self.drv.borrow_mut();
        let pb = match op {
            Op::SetRule(r) => drv.rule_counter(r.id).map_err(fpga_err)?,
            Op::SetCtxEpoch(c) => drv.ctx_counter(c.ctx).map_err(fpga_err)?,
            _ => return Ok(None),
        };
        Ok(pb.map(counter_data))
    }

    fn set_direct_counter(&mut self, op: &Op, c: &CounterData) -> Result<(), BackendError> {
        let drv = self.drv.get_mut();
        match op {
            Op::SetRule(r) => drv
                .set_rule_counter(r.id, packets_bytes(c))
                .map_err(fpga_err),
            Op::SetCtxEpoch(x) => drv
                .set_ctx_counter(x.ctx, packets_bytes(c))
                .map_err(fpga_err),
            _ => Ok(()),
        }
    }

    /// `stored` with its current hardware counter.
    fn with_counter(&self, stored: &TableEntry) -> TableEntry {
        let mut e = stored.clone();
        let Ok(l) = self.loaded() else { return e };
        if e.table_id != l.policy && e.table_id != l.ctx_epoch {
            return e;
        }
        match l
            .program
            .decode(&e)
            .map_err(map_err)
            .and_then(|op| self.direct_counter(&op))
        {
            Ok(c) => e.counter_data = c,
            Err(err) => tracing::error!("reading a direct counter: {err}"),
        }
        e
    }

    fn decode(&self, e: &TableEntry) -> Result<Op, BackendError> {
        self.loaded()?.program.decode(e).map_err(map_err)
    }

    fn rule_id(&self, e: &TableEntry) -> Option<u32> {
        let l = self.loaded.as_ref()?;
        (e.table_id == l.policy)
            .then(|| l.program.rule_id(e).ok())
            .flatten()
    }

    fn store(&mut self, e: &TableEntry) {
        self.store_keyed(entry_key(e), e);
    }

    /// [`Self::store`] with the entry's key already computed.
    fn store_keyed(&mut self, k: Vec<u8>, e: &TableEntry) {
        // boxed: the map moves a pointer, not the entry, when it grows
        let mut e = Box::new(e.clone());
        e.counter_data = None;
        e.time_since_last_hit = None;
        if let Some(id) = self.rule_id(&e) {
            self.rules.insert(id, k.clone());
        }
        self.entries.insert(k, e);
    }

    fn unstore(&mut self, key: &[u8]) -> Option<TableEntry> {
        let old = *self.entries.remove(key)?;
        if let Some(id) = self.rule_id(&old) {
            self.rules.remove(&id);
        }
        Some(old)
    }

    /// The operation that takes an entry out of the hardware.
    fn removal(&self, old: &TableEntry) -> Result<Op, BackendError> {
        let l = self.loaded()?;
        let op = l.program.decode(old).map_err(map_err)?;
        delete_of(&op).ok_or_else(|| BackendError::Internal(format!("no removal for {op:?}")))
    }

    /// Every entry the hardware holds, decoded (cached until the next write).
    fn hardware_ops(&self) -> Result<Vec<Op>, BackendError> {
        if let Some(ops) = self.readback.borrow().as_ref() {
            return Ok(ops.clone());
        }
        let ops = self.drv.borrow_mut().read_back().map_err(fpga_err)?;
        *self.readback.borrow_mut() = Some(ops.clone());
        Ok(ops)
    }

    /// Empties every table and counter and conntrack.
    fn clear_device(&mut self) -> Result<(), BackendError> {
        *self.readback.get_mut() = None;
        self.entries.clear();
        self.rules.clear();
        self.defaults.clear();
        self.ct_keys.clear();
        let drv = self.drv.get_mut();
        if drv.access_mut().reset().map_err(dev_err)? {
            // a fresh device: the driver forgets its placements
            drv.reinit().map_err(fpga_err)?;
        } else {
            drv.clear_all().map_err(fpga_err)?;
        }
        self.ct_keys = CtKeyMap::new(ct_capacity(self.drv.get_mut()));
        Ok(())
    }

    fn send(&mut self, ev: DeviceEvent) {
        let Some(sink) = &self.events else { return };
        if !sink.send(ev) {
            tracing::warn!("event queue full: an event was dropped");
        }
    }

    /// Drains the event FIFO and the CPU port into digests and PacketIns.
    fn drain(&mut self) -> Result<(), BackendError> {
        let Some(l) = self.loaded.as_ref() else {
            return Ok(());
        };
        let (ctx_miss, ct_event) = (l.ctx_miss, l.ct_event);
        loop {
            let ev = self.drv.get_mut().pop_event().map_err(fpga_err)?;
            let Some(ev) = ev else { break };
            let digest = match ev.kind() {
                EventKind::CtxUnknown | EventKind::CtxStaleEpoch => Some((
                    ctx_miss,
                    CtxMiss {
                        ctx: ev.ctx,
                        epoch: ev.epoch,
                        reason: ev.reason,
                        port: ev.port,
                    }
                    .to_data(),
                )),
                EventKind::CtNew => self.ct_inserted(ev.hash)?.map(|e| (ct_event, e)),
                EventKind::CtDelete => self.ct_removed(ev.hash)?.map(|key| {
                    let slot = 0;
                    (
                        ct_event,
                        CtEvent {
                            kind: CtEventKind::Delete,
                            key,
                            slot,
                        }
                        .to_data(),
                    )
                }),
                EventKind::CtExpired => {
                    // regmap: the record names the slot the aging sweep cleared; a
                    // later ct_new for the slot comes after this record in the FIFO
                    self.ct_keys.remove(ev.hash);
                    None
                }
                EventKind::CtFull | EventKind::Other(_) => None,
            };
            match digest {
                Some((digest_id, data)) => {
                    self.stats.digests += 1;
                    self.send(DeviceEvent::Digest { digest_id, data });
                }
                None => self.stats.events_dropped += 1,
            }
        }
        let punts = self
            .drv
            .get_mut()
            .access_mut()
            .take_punts()
            .map_err(dev_err)?;
        for frame in punts {
            let Ok((meta, payload)) = PacketInMeta::split(&frame) else {
                tracing::warn!("a {}-byte punt without packet_in header", frame.len());
                continue;
            };
            let l = self.loaded()?;
            let p = l
                .program
                .packet_in(meta, payload.to_vec())
                .map_err(map_err)?;
            self.stats.packet_ins += 1;
            self.send(DeviceEvent::PacketIn(p));
        }
        Ok(())
    }

    /// The `ct_event` insert digest of the entry the data plane put in `slot` (the
    /// event record names the slot; the key is read from it). The key is kept by
    /// slot, replacing the key of an entry evicted from it; later `ct_delete`
    /// records name it by its h32.
    fn ct_inserted(&mut self, slot: u32) -> Result<Option<P4Data>, BackendError> {
        if slot >= self.ct_keys.capacity() {
            return Err(BackendError::Internal(format!(
                "a ct_new record names conntrack slot {slot}, beyond the table's {} slots",
                self.ct_keys.capacity()
            )));
        }
        let Some(e) = self.drv.get_mut().conntrack_slot(slot).map_err(fpga_err)? else {
            // gone again before the agent looked (a later packet, the sweep)
            self.ct_keys.remove(slot);
            return Ok(None);
        };
        let key = CtKey::from_bytes(&e.key);
        if let Ok(Some(old)) = self.ct_keys.insert(slot, key)
            && old != key
        {
            tracing::debug!("conntrack slot {slot}: {key} replaces {old} (evicted or expired)");
        }
        // the digest names the slot as the P4 program's registers index it
        let log2 = self.drv.borrow().geometry().ct_log2_max;
        let index = self.ct_p4_index(log2, e.slot)?;
        Ok(Some(
            CtEvent {
                kind: CtEventKind::Insert,
                key,
                slot: u32::try_from(index).unwrap_or(u32::MAX),
            }
            .to_data(),
        ))
    }

    /// The key a `ct_delete` or `ct_expired` record names by `h32`, forgotten: of the
    /// slots whose known key has that h32, the first whose hardware slot no longer
    /// holds it (both records follow the slot's clearing). A slot still holding its
    /// key was not what the record named (another key with the same h32, or a field
    /// that is not an h32).
    fn ct_removed(&mut self, h32: u32) -> Result<Option<CtKey>, BackendError> {
        for slot in self.ct_keys.named_by(h32) {
            let now = self.drv.get_mut().conntrack_slot(slot).map_err(fpga_err)?;
            let held = now.map(|e| CtKey::from_bytes(&e.key));
            if held.as_ref() != self.ct_keys.get(slot) {
                return Ok(self.ct_keys.remove(slot));
            }
        }
        Ok(None)
    }

    fn is_config_table(&self, table_id: u32) -> bool {
        self.loaded
            .as_ref()
            .is_some_and(|l| l.config_tables.contains(&table_id))
    }

    fn counter_table(&self, counter_id: u32) -> Result<u32, BackendError> {
        let l = self.loaded()?;
        if counter_id == l.drops {
            Ok(table_enum::DROP_COUNTER)
        } else if counter_id == l.punts {
            Ok(table_enum::PUNT_COUNTER)
        } else {
            Err(BackendError::NotFound)
        }
    }

    /// Rebuilds the accepted entries from the hardware (after adopting a
    /// running device).
    fn learn_from_hardware(&mut self) -> Result<(), BackendError> {
        let ops = self.hardware_ops()?;
        let l = self.loaded()?;
        let mut learned = Vec::new();
        for op in &ops {
            learned.push(l.program.entry(op).map_err(map_err)?);
        }
        let config = self.drv.get_mut().config().clone();
        let l = self.loaded()?;
        let defaults = l.program.config_entries(&config, 1).map_err(map_err)?;
        self.entries.clear();
        self.rules.clear();
        for e in learned {
            self.store(&e);
        }
        for e in defaults {
            self.defaults.insert(e.table_id, e);
        }
        Ok(())
    }
}

/// Which conntrack register a read names.
#[derive(Clone, Copy, PartialEq, Eq)]
enum CtRegister {
    Key,
    Info,
    Win,
}

/// Slots of the hardware conntrack table: 4 ways of 2^CT_LOG2_MAX buckets.
fn ct_capacity<D: Device>(drv: &Driver<D>) -> u32 {
    u32::try_from(4u64 << drv.geometry().ct_log2_max.min(32)).unwrap_or(u32::MAX)
}

/// The P4 `ct_info` of a hardware conntrack entry: the RTL's `ct_kind` enum
/// (tcp 0 .. other 3) becomes the P4 program's kind (tcp 1 .. other 4, 0 being an
/// empty slot); TCP states are numbered alike on both sides (Linux
/// `tcp_conntrack`); the RTL's 32-bit policy generation is cut to the P4 cell's
/// 16 bits.
fn ct_info(e: &CtEntry) -> CtInfo {
    let kind = match u32::from(e.kind) {
        ct_kind_enum::TCP => conntrack::KIND_TCP,
        ct_kind_enum::UDP => conntrack::KIND_UDP,
        ct_kind_enum::ICMP => conntrack::KIND_ICMP,
        _ => conntrack::KIND_OTHER,
    };
    CtInfo {
        last_seen_us: e.last_seen_us,
        policy_gen: (e.policy_gen & 0xffff) as u16,
        tcp_state: if kind == conntrack::KIND_TCP {
            e.tcp_state
        } else {
            0
        },
        kind,
        assured: e.assured,
        replied: e.replied,
        orig_lo: e.orig_lo,
    }
}

/// The windows of a hardware conntrack entry's bits.
fn ct_win(b: &Bits) -> CtWin {
    use ztnic_fpga::regmap::layout::conntrack as l;
    let w = |f| b.get(f) as u32;
    CtWin {
        orig: CtWindow {
            end: w(l::ORIG_END),
            maxend: w(l::ORIG_MAXEND),
            maxwin: w(l::ORIG_MAXWIN),
        },
        reply: CtWindow {
            end: w(l::REPLY_END),
            maxend: w(l::REPLY_MAXEND),
            maxwin: w(l::REPLY_MAXWIN),
        },
    }
}

impl<D: Device> FpgaBackend<D> {
    /// The P4 register index of a hardware conntrack slot
    /// (`way << ct_log2_max | bucket` → `way · CT_BUCKETS_MAX + bucket`).
    fn ct_p4_index(&self, log2: u32, slot: u32) -> Result<i64, BackendError> {
        let bucket = slot & ((1u32 << log2) - 1);
        conntrack::index(slot >> log2, bucket).ok_or_else(|| {
            BackendError::Internal(format!(
                "conntrack slot {slot}: bucket {bucket} is beyond the P4 program's CT_BUCKETS_MAX"
            ))
        })
    }

    /// One conntrack register cell: the hardware slot of P4 index `index`.
    fn ct_cell(&self, which: CtRegister, index: i64) -> Result<P4Data, BackendError> {
        let log2 = self.drv.borrow().geometry().ct_log2_max;
        let (way, bucket) = conntrack::way_bucket(index).ok_or(BackendError::NotFound)?;
        let entry = if bucket >> log2 == 0 {
            let slot = (way << log2) | bucket;
            let b = self
                .drv
                .borrow_mut()
                .read_entry(table_enum::CONNTRACK, slot)
                .map_err(fpga_err)?;
            CtEntry::from_bits(slot, &b).map(|e| (e, ct_win(&b)))
        } else {
            // a bucket the hardware does not have: always empty
            None
        };
        Ok(match (which, entry) {
            (CtRegister::Key, Some((e, _))) => conntrack::key_to_data(&CtKey::from_bytes(&e.key)),
            (CtRegister::Info, Some((e, _))) => ct_info(&e).to_data(),
            (CtRegister::Win, Some((_, w))) => w.to_data(),
            (CtRegister::Key, None) => conntrack::key_to_data(&CtKey::from_bytes(&[0; 39])),
            (CtRegister::Info, None) => CtInfo::default().to_data(),
            (CtRegister::Win, None) => CtWin::default().to_data(),
        })
    }

    /// Every cell of a conntrack register (empty slots as zero cells), from one
    /// scan of the hardware table.
    fn ct_all(&self, which: CtRegister) -> Result<Vec<(i64, P4Data)>, BackendError> {
        let log2 = self.drv.borrow().geometry().ct_log2_max;
        let live = self
            .drv
            .borrow_mut()
            .conntrack_entries()
            .map_err(fpga_err)?;
        let mut cells: Vec<(i64, P4Data)> = Vec::with_capacity(conntrack::CT_SLOTS as usize);
        let zero = match which {
            CtRegister::Key => conntrack::key_to_data(&CtKey::from_bytes(&[0; 39])),
            CtRegister::Info => CtInfo::default().to_data(),
            CtRegister::Win => CtWin::default().to_data(),
        };
        for i in 0..i64::from(conntrack::CT_SLOTS) {
            cells.push((i, zero.clone()));
        }
        for e in live {
            let i = self.ct_p4_index(log2, e.slot)?;
            let data = match which {
                CtRegister::Key => conntrack::key_to_data(&CtKey::from_bytes(&e.key)),
                CtRegister::Info => ct_info(&e).to_data(),
                CtRegister::Win => {
                    let b = self
                        .drv
                        .borrow_mut()
                        .read_entry(table_enum::CONNTRACK, e.slot)
                        .map_err(fpga_err)?;
                    ct_win(&b).to_data()
                }
            };
            if let Some(c) = usize::try_from(i).ok().and_then(|i| cells.get_mut(i)) {
                c.1 = data;
            }
        }
        Ok(cells)
    }
}

impl<D: Device> Backend for FpgaBackend<D> {
    fn verify_pipeline(&self, pipeline: &Pipeline) -> Result<(), BackendError> {
        Loaded::new(pipeline.index.clone()).map(|_| ())
    }

    fn set_pipeline(&mut self, pipeline: &Pipeline) -> Result<(), BackendError> {
        let loaded = Loaded::new(pipeline.index.clone())?;
        self.clear_device()?;
        self.loaded = Some(loaded);
        Ok(())
    }

    fn resume_pipeline(&mut self, pipeline: &Pipeline) -> Result<(), BackendError> {
        self.loaded = Some(Loaded::new(pipeline.index.clone())?);
        if let Err(e) = self.learn_from_hardware() {
            self.loaded = None;
            return Err(e);
        }
        Ok(())
    }

    fn attach(&mut self, events: EventSink) {
        self.events = Some(events);
    }

    fn insert_entry(&mut self, entry: &TableEntry) -> Result<(), BackendError> {
        let key = entry_key(entry);
        if self.entries.contains_key(&key) {
            return Err(BackendError::AlreadyExists);
        }
        let op = self.decode(entry)?;
        if let Op::SetRule(r) = &op
            && self.rules.contains_key(&r.id)
        {
            return Err(BackendError::Invalid(format!(
                "rule_id {} is already used by another policy entry",
                r.id
            )));
        }
        self.apply(&op)?;
        if let Some(c) = &entry.counter_data {
            self.set_direct_counter(&op, c)?;
        }
        self.store_keyed(key, entry);
        Ok(())
    }

    fn replace_entry(&mut self, entry: &TableEntry) -> Result<TableEntry, BackendError> {
        let key = entry_key(entry);
        let old = self
            .entries
            .get(&key)
            .cloned()
            .ok_or(BackendError::NotFound)?;
        let old = self.with_counter(&old);
        let op = self.decode(entry)?;
        let old_op = self.decode(&old)?;
        if let (Op::SetRule(new), Op::SetRule(prev)) = (&op, &old_op)
            && new.id != prev.id
        {
            if self.rules.contains_key(&new.id) {
                return Err(BackendError::Invalid(format!(
                    "rule_id {} is already used by another policy entry",
                    new.id
                )));
            }
            self.apply(&Op::DeleteRule { id: prev.id })?;
        }
        if let Err(e) = self.apply(&op) {
            // put the previous rule back if it was taken out above
            if let Op::SetRule(_) = old_op {
                let _ = self.apply(&old_op);
            }
            return Err(e);
        }
        if let Some(c) = &entry.counter_data {
            self.set_direct_counter(&op, c)?;
        }
        self.unstore(&key);
        self.store(entry);
        Ok(old)
    }

    fn delete_entry(&mut self, key: &TableEntry) -> Result<TableEntry, BackendError> {
        let k = entry_key(key);
        let old = self
            .entries
            .get(&k)
            .cloned()
            .ok_or(BackendError::NotFound)?;
        let old = self.with_counter(&old);
        let removal = self.removal(&old)?;
        self.apply(&removal)?;
        self.unstore(&k);
        Ok(old)
    }

    fn entry(&self, key: &TableEntry) -> Option<TableEntry> {
        self.entries
            .get(&entry_key(key))
            .map(|e| self.with_counter(e))
    }

    fn entries(&self, table_id: u32) -> Vec<TableEntry> {
        let Ok(l) = self.loaded() else {
            return Vec::new();
        };
        let ops = match self.hardware_ops() {
            Ok(ops) => ops,
            Err(e) => {
                tracing::error!("reading the tables back from the hardware: {e}");
                return Vec::new();
            }
        };
        let mut out = Vec::new();
        for op in ops {
            let Ok(mut e) = l.program.entry(&op) else {
                tracing::error!("the hardware holds an entry P4Runtime cannot express: {op:?}");
                continue;
            };
            if e.table_id != table_id {
                continue;
            }
            // what the hardware does not store: the controller's idle timeout
            // and metadata
            if let Some(stored) = self.entries.get(&entry_key(&e)) {
                e.idle_timeout_ns = stored.idle_timeout_ns;
                e.metadata = stored.metadata.clone();
            }
            out.push(self.with_counter(&e));
        }
        out
    }

    fn default_entry(&self, table_id: u32) -> Option<TableEntry> {
        self.defaults.get(&table_id).cloned()
    }

    fn set_default_entry(
        &mut self,
        entry: &TableEntry,
    ) -> Result<Option<TableEntry>, BackendError> {
        let action = entry.action.as_ref().and_then(|a| a.r#type.as_ref());
        if action.is_none() {
            // The program's own default (what the core sets when a pipeline is
            // loaded and the P4Info names no initial default action): the hardware's
            // reset behaviour, a miss for match tables, the configuration as it is.
        } else if self.is_config_table(entry.table_id) {
            let current = self.drv.get_mut().config().clone();
            let l = self.loaded()?;
            let next = l
                .program
                .apply_config_entry(&current, entry)
                .map_err(map_err)?;
            next.validate()
                .map_err(|e| BackendError::Invalid(e.to_string()))?;
            let cpu_port = next.cpu_port;
            self.apply(&Op::SetConfig(Box::new(next)))?;
            self.device().set_cpu_port(cpu_port);
        } else {
            // Match tables have a fixed miss behaviour in hardware (NoAction in the
            // P4 program): only that default can be set.
            let l = self.loaded()?;
            let no_action = l.index.action_by_name("NoAction").ok().map(|a| a.id);
            let given = match action {
                Some(table_action::Type::Action(a)) if a.params.is_empty() => Some(a.action_id),
                _ => None,
            };
            if given.is_none() || given != no_action {
                return Err(BackendError::Unsupported(
                    "the FPGA datapath's default action of this table is fixed (NoAction)".into(),
                ));
            }
        }
        Ok(self.defaults.insert(entry.table_id, entry.clone()))
    }

    fn counter(&self, counter_id: u32, index: i64) -> Result<CounterData, BackendError> {
        let table = self.counter_table(counter_id)?;
        let idx = u32::try_from(index).map_err(|_| BackendError::NotFound)?;
        let w = self
            .drv
            .borrow_mut()
            .table_read(table, idx, 2)
            .map_err(fpga_err)?;
        let n = u64::from(w[0]) | (u64::from(w[1]) << 32);
        Ok(CounterData {
            byte_count: 0,
            packet_count: i64::try_from(n).unwrap_or(i64::MAX),
        })
    }

    fn set_counter(
        &mut self,
        counter_id: u32,
        index: i64,
        data: CounterData,
    ) -> Result<CounterData, BackendError> {
        let old = self.counter(counter_id, index)?;
        let table = self.counter_table(counter_id)?;
        let idx = u32::try_from(index).map_err(|_| BackendError::NotFound)?;
        let n = u64::try_from(data.packet_count).unwrap_or(0);
        self.drv
            .get_mut()
            .table_write(table, idx, &[n as u32, (n >> 32) as u32])
            .map_err(fpga_err)?;
        Ok(old)
    }

    fn meter(&self, _meter_id: u32, _index: i64) -> Result<Option<MeterConfig>, BackendError> {
        Err(BackendError::Unsupported(
            "the ztnic program has no meters".into(),
        ))
    }

    fn set_meter(
        &mut self,
        _meter_id: u32,
        _index: i64,
        _config: Option<MeterConfig>,
    ) -> Result<Option<MeterConfig>, BackendError> {
        Err(BackendError::Unsupported(
            "the ztnic program has no meters".into(),
        ))
    }

    /// The conntrack registers `ct_key`, `ct_info`, `ct_win`, read from the
    /// hardware table (hardware slot `way << ct_log2_max | bucket` is P4 index
    /// `way · 4096 + bucket`): a wildcard answers every cell (16384, empty slots
    /// as zero cells) from one scan of the table; one index reads its slot only.
    fn register(
        &self,
        register_id: u32,
        index: Option<i64>,
    ) -> Result<Vec<(i64, P4Data)>, BackendError> {
        let l = self.loaded()?;
        let which = match l.ct_registers.iter().position(|r| *r == register_id) {
            Some(0) => CtRegister::Key,
            Some(1) => CtRegister::Info,
            Some(2) => CtRegister::Win,
            _ => return Err(BackendError::NotFound),
        };
        match index {
            Some(i) => Ok(vec![(i, self.ct_cell(which, i)?)]),
            None => self.ct_all(which),
        }
    }

    fn packet_out(&mut self, packet: &PacketOut) -> Result<(), BackendError> {
        let l = self.loaded()?;
        let meta = l.program.packet_out_meta(packet).map_err(map_err)?;
        let mut frame = Vec::with_capacity(HEADER_BYTES + packet.payload.len());
        frame.extend_from_slice(&meta.header());
        frame.extend_from_slice(&packet.payload);
        self.device().inject(&frame).map_err(dev_err)?;
        self.stats.packet_outs += 1;
        self.drain()
    }

    fn supports_dataplane_atomic(&self) -> bool {
        false
    }

    fn wakeup(&self) -> Option<Arc<tokio::sync::Notify>> {
        self.drv.borrow().access().event_signal()
    }

    fn tick(&mut self, _now: Instant) {
        if let Err(e) = self.drain() {
            tracing::error!("draining device events: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ztnic_fpga::regmap::tcp_state_enum;
    use ztnic_model::conntrack::TcpState;

    fn entry(kind: u32, tcp_state: u32) -> CtEntry {
        CtEntry {
            slot: 0,
            key: [0; 39],
            orig_lo: true,
            kind: kind as u8,
            tcp_state: tcp_state as u8,
            assured: false,
            replied: true,
            last_seen_us: 77,
            policy_gen: 0x0003_0002,
        }
    }

    #[test]
    fn hardware_kinds_and_states_become_the_p4_codes() {
        // the RTL numbers kinds from 0 (tcp), the P4 program from 1 (0 is empty)
        for (rtl, p4) in [
            (ct_kind_enum::TCP, conntrack::KIND_TCP),
            (ct_kind_enum::UDP, conntrack::KIND_UDP),
            (ct_kind_enum::ICMP, conntrack::KIND_ICMP),
            (ct_kind_enum::OTHER, conntrack::KIND_OTHER),
        ] {
            assert_eq!(ct_info(&entry(rtl, 0)).kind, p4);
        }
        // TCP states are Linux's numbering on both sides
        for (rtl, state) in [
            (tcp_state_enum::NONE, TcpState::None),
            (tcp_state_enum::SYN_SENT, TcpState::SynSent),
            (tcp_state_enum::SYN_RECV, TcpState::SynRecv),
            (tcp_state_enum::ESTABLISHED, TcpState::Established),
            (tcp_state_enum::FIN_WAIT, TcpState::FinWait),
            (tcp_state_enum::CLOSE_WAIT, TcpState::CloseWait),
            (tcp_state_enum::LAST_ACK, TcpState::LastAck),
            (tcp_state_enum::TIME_WAIT, TcpState::TimeWait),
            (tcp_state_enum::CLOSE, TcpState::Close),
            (tcp_state_enum::SYN_SENT2, TcpState::SynSent2),
        ] {
            assert_eq!(ct_info(&entry(ct_kind_enum::TCP, rtl)).tcp(), Some(state));
        }
        let udp = ct_info(&entry(ct_kind_enum::UDP, 5));
        assert_eq!(udp.tcp_state, 0, "no TCP state outside TCP");
        assert_eq!(
            (udp.orig_lo, udp.replied, udp.assured, udp.last_seen_us),
            (true, true, false, 77)
        );
        assert_eq!(udp.policy_gen, 2, "the low 16 bits of the generation");
    }
}
