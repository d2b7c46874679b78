//! The in-memory backend: the reference semantics of a P4Runtime device,
//! without a data plane. It honours table sizes, keeps direct counters with
//! entries, tracks hits for idle timeouts and records injected packets. Tests
//! and simulations drive the "data plane" side through [`InMemoryBackend::hit`],
//! [`InMemoryBackend::punt`] and [`InMemoryBackend::learn`]. Registers have no
//! data plane to write them here: every cell of a bit-string register reads as
//! zero (a wildcard read returns every cell).

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use ztnic_p4runtime::v1::{
    CounterData, MeterConfig, P4Data, PacketIn, PacketOut, TableEntry, p4_data,
    table_entry::IdleTimeout,
};

use crate::backend::{Backend, BackendError, DeviceEvent, EventSink, Pipeline};
use ztnic_p4runtime::entry_key;

#[derive(Debug, Clone)]
struct Stored {
    entry: TableEntry,
    last_hit: Instant,
    idle_reported: bool,
}

#[derive(Debug, Default)]
struct Table {
    /// Entries by [`entry_key`], in key order so reads are deterministic.
    entries: BTreeMap<Vec<u8>, Stored>,
    /// 0 means unbounded.
    capacity: usize,
    default: Option<TableEntry>,
}

/// A device whose tables live in memory.
#[derive(Debug, Default)]
pub struct InMemoryBackend {
    tables: HashMap<u32, Table>,
    counters: HashMap<u32, Vec<CounterData>>,
    meters: HashMap<u32, Vec<Option<MeterConfig>>>,
    /// Register id → (size, cells are bit strings).
    registers: HashMap<u32, (i64, bool)>,
    events: Option<EventSink>,
    transmitted: Vec<PacketOut>,
}

impl InMemoryBackend {
    /// An empty device with no pipeline.
    pub fn new() -> Self {
        Self::default()
    }

    fn table(&self, table_id: u32) -> Result<&Table, BackendError> {
        self.tables
            .get(&table_id)
            .ok_or_else(|| BackendError::Invalid(format!("no table {table_id}")))
    }

    fn table_mut(&mut self, table_id: u32) -> Result<&mut Table, BackendError> {
        self.tables
            .get_mut(&table_id)
            .ok_or_else(|| BackendError::Invalid(format!("no table {table_id}")))
    }

    fn with_hit_time(stored: &Stored, now: Instant) -> TableEntry {
        let mut e = stored.entry.clone();
        let elapsed = now.saturating_duration_since(stored.last_hit);
        e.time_since_last_hit = Some(IdleTimeout {
            elapsed_ns: i64::try_from(elapsed.as_nanos()).unwrap_or(i64::MAX),
        });
        e
    }

    /// Simulates a packet hitting the entry with the key of `key`: its direct
    /// counter (if any) counts one packet of `bytes` bytes and its idle timer
    /// restarts. Returns false if no such entry exists.
    pub fn hit(&mut self, key: &TableEntry, bytes: i64) -> bool {
        let Some(table) = self.tables.get_mut(&key.table_id) else {
            return false;
        };
        let Some(stored) = table.entries.get_mut(&entry_key(key)) else {
            return false;
        };
        stored.last_hit = Instant::now();
        stored.idle_reported = false;
        if let Some(c) = stored.entry.counter_data.as_mut() {
            c.packet_count += 1;
            c.byte_count += bytes;
        }
        true
    }

    /// Simulates the data plane punting a packet to the controller.
    pub fn punt(&self, packet: PacketIn) -> bool {
        self.events
            .as_ref()
            .is_some_and(|s| s.send(DeviceEvent::PacketIn(packet)))
    }

    /// Simulates the data plane emitting one digest message.
    pub fn learn(&self, digest_id: u32, data: P4Data) -> bool {
        self.events
            .as_ref()
            .is_some_and(|s| s.send(DeviceEvent::Digest { digest_id, data }))
    }

    /// Packets the controller injected, oldest first.
    pub fn transmitted(&self) -> &[PacketOut] {
        &self.transmitted
    }

    /// Number of entries in a table (0 for an unknown table).
    pub fn len(&self, table_id: u32) -> usize {
        self.tables.get(&table_id).map_or(0, |t| t.entries.len())
    }

    /// True when no table holds an entry.
    pub fn is_empty(&self) -> bool {
        self.tables.values().all(|t| t.entries.is_empty())
    }
}

impl Backend for InMemoryBackend {
    fn verify_pipeline(&self, _pipeline: &Pipeline) -> Result<(), BackendError> {
        // Any P4Info the core accepted can be held in memory; the device
        // config blob is opaque here.
        Ok(())
    }

    fn set_pipeline(&mut self, pipeline: &Pipeline) -> Result<(), BackendError> {
        let index = &pipeline.index;
        self.tables = index
            .tables()
            .map(|t| {
                let table = Table {
                    capacity: usize::try_from(t.size).unwrap_or(0),
                    ..Default::default()
                };
                (t.id, table)
            })
            .collect();
        self.counters = index
            .counters()
            .map(|c| {
                (
                    c.id,
                    vec![CounterData::default(); usize::try_from(c.size).unwrap_or(0)],
                )
            })
            .collect();
        self.meters = index
            .meters()
            .map(|m| (m.id, vec![None; usize::try_from(m.size).unwrap_or(0)]))
            .collect();
        self.registers = index
            .registers()
            .map(|r| (r.id, (r.size, r.bitwidth.is_some())))
            .collect();
        self.transmitted.clear();
        Ok(())
    }

    fn attach(&mut self, events: EventSink) {
        self.events = Some(events);
    }

    fn insert_entry(&mut self, entry: &TableEntry) -> Result<(), BackendError> {
        let table = self.table_mut(entry.table_id)?;
        let key = entry_key(entry);
        if table.entries.contains_key(&key) {
            return Err(BackendError::AlreadyExists);
        }
        if table.capacity > 0 && table.entries.len() >= table.capacity {
            return Err(BackendError::Full(format!(
                "table {} holds its {} entries",
                entry.table_id, table.capacity
            )));
        }
        table.entries.insert(
            key,
            Stored {
                entry: entry.clone(),
                last_hit: Instant::now(),
                idle_reported: false,
            },
        );
        Ok(())
    }

    fn replace_entry(&mut self, entry: &TableEntry) -> Result<TableEntry, BackendError> {
        let table = self.table_mut(entry.table_id)?;
        let stored = table
            .entries
            .get_mut(&entry_key(entry))
            .ok_or(BackendError::NotFound)?;
        stored.idle_reported = false;
        Ok(std::mem::replace(&mut stored.entry, entry.clone()))
    }

    fn delete_entry(&mut self, key: &TableEntry) -> Result<TableEntry, BackendError> {
        let table = self.table_mut(key.table_id)?;
        table
            .entries
            .remove(&entry_key(key))
            .map(|s| s.entry)
            .ok_or(BackendError::NotFound)
    }

    fn entry(&self, key: &TableEntry) -> Option<TableEntry> {
        let now = Instant::now();
        self.tables
            .get(&key.table_id)?
            .entries
            .get(&entry_key(key))
            .map(|s| Self::with_hit_time(s, now))
    }

    fn entries(&self, table_id: u32) -> Vec<TableEntry> {
        let now = Instant::now();
        self.tables
            .get(&table_id)
            .map(|t| {
                t.entries
                    .values()
                    .map(|s| Self::with_hit_time(s, now))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn default_entry(&self, table_id: u32) -> Option<TableEntry> {
        self.table(table_id).ok()?.default.clone()
    }

    fn set_default_entry(
        &mut self,
        entry: &TableEntry,
    ) -> Result<Option<TableEntry>, BackendError> {
        let table = self.table_mut(entry.table_id)?;
        Ok(table.default.replace(entry.clone()))
    }

    fn counter(&self, counter_id: u32, index: i64) -> Result<CounterData, BackendError> {
        let cells = self
            .counters
            .get(&counter_id)
            .ok_or(BackendError::NotFound)?;
        usize::try_from(index)
            .ok()
            .and_then(|i| cells.get(i))
            .copied()
            .ok_or(BackendError::NotFound)
    }

    fn set_counter(
        &mut self,
        counter_id: u32,
        index: i64,
        data: CounterData,
    ) -> Result<CounterData, BackendError> {
        let cells = self
            .counters
            .get_mut(&counter_id)
            .ok_or(BackendError::NotFound)?;
        let cell = usize::try_from(index)
            .ok()
            .and_then(|i| cells.get_mut(i))
            .ok_or(BackendError::NotFound)?;
        Ok(std::mem::replace(cell, data))
    }

    fn meter(&self, meter_id: u32, index: i64) -> Result<Option<MeterConfig>, BackendError> {
        let cells = self.meters.get(&meter_id).ok_or(BackendError::NotFound)?;
        usize::try_from(index)
            .ok()
            .and_then(|i| cells.get(i))
            .copied()
            .ok_or(BackendError::NotFound)
    }

    fn set_meter(
        &mut self,
        meter_id: u32,
        index: i64,
        config: Option<MeterConfig>,
    ) -> Result<Option<MeterConfig>, BackendError> {
        let cells = self
            .meters
            .get_mut(&meter_id)
            .ok_or(BackendError::NotFound)?;
        let cell = usize::try_from(index)
            .ok()
            .and_then(|i| cells.get_mut(i))
            .ok_or(BackendError::NotFound)?;
        Ok(std::mem::replace(cell, config))
    }

    fn register(
        &self,
        register_id: u32,
        index: Option<i64>,
    ) -> Result<Vec<(i64, P4Data)>, BackendError> {
        let &(size, bits) = self
            .registers
            .get(&register_id)
            .ok_or(BackendError::NotFound)?;
        if !bits {
            return Err(BackendError::Unsupported(
                "only registers of bit-string cells are supported".into(),
            ));
        }
        let zero = || P4Data {
            data: Some(p4_data::Data::Bitstring(vec![0])),
        };
        Ok(match index {
            Some(i) if (0..size).contains(&i) => vec![(i, zero())],
            Some(_) => return Err(BackendError::NotFound),
            None => (0..size).map(|i| (i, zero())).collect(),
        })
    }

    fn packet_out(&mut self, packet: &PacketOut) -> Result<(), BackendError> {
        self.transmitted.push(packet.clone());
        Ok(())
    }

    fn supports_dataplane_atomic(&self) -> bool {
        // Reads and writes are serialised by the core, so no observer ever
        // sees a half-applied batch.
        true
    }

    fn tick(&mut self, now: Instant) {
        let Some(events) = self.events.as_ref() else {
            return;
        };
        let mut expired = Vec::new();
        for table in self.tables.values_mut() {
            for stored in table.entries.values_mut() {
                let ttl = stored.entry.idle_timeout_ns;
                if ttl <= 0 || stored.idle_reported {
                    continue;
                }
                let ttl = Duration::from_nanos(ttl.unsigned_abs());
                if now.saturating_duration_since(stored.last_hit) >= ttl {
                    stored.idle_reported = true;
                    let mut e = stored.entry.clone();
                    e.counter_data = None;
                    e.meter_config = None;
                    e.meter_counter_data = None;
                    expired.push(e);
                }
            }
        }
        if !expired.is_empty() {
            events.send(DeviceEvent::IdleTimeout(expired));
        }
    }
}
