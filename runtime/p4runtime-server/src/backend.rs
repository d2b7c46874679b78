//! The contract between the P4Runtime server core and a device.
//!
//! The core validates every request against the P4Info, resolves P4Runtime
//! semantics (what MODIFY keeps, what DELETE ignores, rollback of failed
//! batches) and hands the backend canonical entries: match fields sorted by
//! id and every byte string in canonical form, so two entries with the same
//! key compare equal byte for byte (see [`ztnic_p4runtime::entry_key`]).
//!
//! Calls are synchronous and serialised by the core; a backend never sees two
//! calls at once. Each mutating call returns the state it replaced so the core
//! can roll a batch back.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc;
use ztnic_p4runtime::P4InfoIndex;
use ztnic_p4runtime::v1::{
    CounterData, ForwardingPipelineConfig, MeterConfig, P4Data, PacketIn, PacketOut, TableEntry,
};

/// Why a device refused an operation. Each maps to the canonical code the
/// P4Runtime specification assigns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    /// INSERT of an entry whose key is present (`ALREADY_EXISTS`).
    #[error("entry already exists")]
    AlreadyExists,
    /// MODIFY/DELETE/read of an entry that is not present (`NOT_FOUND`).
    #[error("entry not found")]
    NotFound,
    /// The table or resource is full (`RESOURCE_EXHAUSTED`).
    #[error("{0}")]
    Full(String),
    /// The device cannot realise this request (`UNIMPLEMENTED`); for example
    /// a ternary pattern the hardware's decomposition cannot express.
    #[error("{0}")]
    Unsupported(String),
    /// The request is well-formed for P4Runtime but not for this device, such
    /// as a device config it cannot load (`INVALID_ARGUMENT`).
    #[error("{0}")]
    Invalid(String),
    /// The device failed (`INTERNAL`).
    #[error("{0}")]
    Internal(String),
}

impl BackendError {
    /// The canonical gRPC code for this error.
    pub fn code(&self) -> tonic::Code {
        match self {
            BackendError::AlreadyExists => tonic::Code::AlreadyExists,
            BackendError::NotFound => tonic::Code::NotFound,
            BackendError::Full(_) => tonic::Code::ResourceExhausted,
            BackendError::Unsupported(_) => tonic::Code::Unimplemented,
            BackendError::Invalid(_) => tonic::Code::InvalidArgument,
            BackendError::Internal(_) => tonic::Code::Internal,
        }
    }
}

/// A pipeline the core has validated: the config as the controller sent it
/// and the index over its P4Info.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// P4Info, device blob and cookie.
    pub config: ForwardingPipelineConfig,
    /// Index over `config.p4info`.
    pub index: Arc<P4InfoIndex>,
}

/// Something the data plane tells the controller.
#[derive(Debug, Clone, PartialEq)]
pub enum DeviceEvent {
    /// A packet punted to the CPU port, with its `packet_in` metadata.
    PacketIn(PacketIn),
    /// One digest message (the data of one `digest()` call in P4).
    Digest {
        /// The digest instance.
        digest_id: u32,
        /// The data.
        data: P4Data,
    },
    /// Entries whose idle timeout expired (key fields, action and TTL).
    IdleTimeout(Vec<TableEntry>),
}

/// Where a backend reports [`DeviceEvent`]s. Delivery is best effort, as the
/// specification allows: when the queue is full the event is dropped.
#[derive(Debug, Clone)]
pub struct EventSink {
    tx: mpsc::Sender<DeviceEvent>,
}

impl EventSink {
    pub(crate) fn new(tx: mpsc::Sender<DeviceEvent>) -> Self {
        EventSink { tx }
    }

    /// Queues an event; returns false if it was dropped (queue full or
    /// server gone).
    pub fn send(&self, event: DeviceEvent) -> bool {
        self.tx.try_send(event).is_ok()
    }
}

/// A device that stores P4 tables, counters and meters and carries packets.
pub trait Backend: Send + 'static {
    /// Checks that the device can run `pipeline` without changing anything.
    fn verify_pipeline(&self, pipeline: &Pipeline) -> Result<(), BackendError>;

    /// Makes `pipeline` live. All table entries, counters and meters of the
    /// previous pipeline are gone afterwards; default entries are then set by
    /// the core through [`Backend::set_default_entry`].
    fn set_pipeline(&mut self, pipeline: &Pipeline) -> Result<(), BackendError>;

    /// Makes `pipeline` live over the state the device already holds (an agent
    /// restarted while the hardware kept forwarding): nothing is cleared, the
    /// backend takes its entries from the device. Devices that cannot read their
    /// state back refuse (the default).
    fn resume_pipeline(&mut self, pipeline: &Pipeline) -> Result<(), BackendError> {
        let _ = pipeline;
        Err(BackendError::Unsupported(
            "this device cannot resume a pipeline over its current state".into(),
        ))
    }

    /// Gives the backend the sink for packet-ins, digests and idle timeouts.
    /// Called once, before any other call.
    fn attach(&mut self, events: EventSink);

    /// Adds an entry; `AlreadyExists` if its key is present.
    fn insert_entry(&mut self, entry: &TableEntry) -> Result<(), BackendError>;

    /// Replaces the entry with the same key by `entry` (its complete new
    /// state, direct counter and meter values included) and returns the
    /// previous state; `NotFound` if absent.
    fn replace_entry(&mut self, entry: &TableEntry) -> Result<TableEntry, BackendError>;

    /// Removes the entry with the key of `key` and returns it; `NotFound` if
    /// absent.
    fn delete_entry(&mut self, key: &TableEntry) -> Result<TableEntry, BackendError>;

    /// The stored entry with the key of `key`, with its current direct counter
    /// value and, where the device tracks hits, `time_since_last_hit`.
    fn entry(&self, key: &TableEntry) -> Option<TableEntry>;

    /// Every entry of a table, as [`Backend::entry`] returns them.
    fn entries(&self, table_id: u32) -> Vec<TableEntry>;

    /// The default entry of a table.
    fn default_entry(&self, table_id: u32) -> Option<TableEntry>;

    /// Sets the default entry of a table (`is_default_action` is true) and
    /// returns the previous one.
    fn set_default_entry(&mut self, entry: &TableEntry)
    -> Result<Option<TableEntry>, BackendError>;

    /// Reads a cell of an indexed counter (index checked by the core).
    fn counter(&self, counter_id: u32, index: i64) -> Result<CounterData, BackendError>;

    /// Writes a cell of an indexed counter and returns the previous value.
    fn set_counter(
        &mut self,
        counter_id: u32,
        index: i64,
        data: CounterData,
    ) -> Result<CounterData, BackendError>;

    /// Reads the configuration of a meter cell; `None` is the default
    /// (every packet green).
    fn meter(&self, meter_id: u32, index: i64) -> Result<Option<MeterConfig>, BackendError>;

    /// Configures a meter cell (`None` resets it) and returns the previous
    /// configuration.
    fn set_meter(
        &mut self,
        meter_id: u32,
        index: i64,
        config: Option<MeterConfig>,
    ) -> Result<Option<MeterConfig>, BackendError>;

    /// Reads register cells: the one at `index`, or with `None` the cells the
    /// device holds (every cell, or only the non-zero ones for a device whose
    /// registers are large and sparse; the backend documents which). The core
    /// has checked the register id and that `index` is within the register's
    /// size. Cells are `P4Data` of the register's type (a bit string for
    /// `bit<W>` registers), in index order. Devices without registers refuse
    /// (the default).
    fn register(
        &self,
        register_id: u32,
        index: Option<i64>,
    ) -> Result<Vec<(i64, P4Data)>, BackendError> {
        let _ = (register_id, index);
        Err(BackendError::Unsupported(
            "this device cannot read registers".into(),
        ))
    }

    /// Injects a packet from the controller (metadata already validated
    /// against the `packet_out` header).
    fn packet_out(&mut self, packet: &PacketOut) -> Result<(), BackendError>;

    /// True if the device can apply a batch so that packets see either the
    /// state before it or after it (`DATAPLANE_ATOMIC`).
    fn supports_dataplane_atomic(&self) -> bool;

    /// Called by the core when the backend's [`Backend::wakeup`] is notified,
    /// or, for a backend without one, periodically (see `ServerConfig::tick`);
    /// a device polls hit bits, ages entries or drains queues here.
    fn tick(&mut self, now: Instant);

    /// The device's "something happened" signal, for a backend whose device
    /// says when it has events (an event FIFO or a punt queue became non-empty,
    /// an interrupt fired): the core's event task then awaits it and calls
    /// [`Backend::tick`] at once, instead of polling on a fixed tick
    /// (`ServerConfig::tick`); without a notification it still calls `tick`
    /// after `ServerConfig::wake_timeout`, a safety net. The signal must be
    /// raised with `Notify::notify_one` (a notification raised while the core
    /// is busy is kept, not lost). `None` (the default): polled on the tick.
    fn wakeup(&self) -> Option<std::sync::Arc<tokio::sync::Notify>> {
        None
    }
}
