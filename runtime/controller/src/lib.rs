//! # ztnic-controller — the control plane of ztnic NICs
//!
//! Drives one or more ztnic NICs — any P4Runtime server running the ztnic program:
//! bmv2 `simple_switch_grpc` or the FPGA agent — from the identity policy engine
//! ([`ztnic_intent::Engine`]).
//!
//! ```text
//!            PolicyFile / set_labels / add_instance / remove_instance
//!                                   │
//!                      ┌────────────▼────────────┐   save / restore (JSON, atomic)
//!                      │ Controller              │◀──────────────────────────────▶ state file
//!                      │  Engine (contexts,      │
//!                      │  rules, epochs, gen)    │   desired(host) = base config + port
//!                      │  slow path + stats      │   classes + engine.nic_state(host)
//!                      └──┬─────────┬─────────┬──┘
//!                 diff ▼ writes   ▲ events (digests, PacketIn, idle timeouts)
//!                      ┌──┴──┐   ┌──┴──┐   ┌──┴──┐
//!                      │ Nic │   │ Nic │   │ Nic │   Program (ztnic-p4tables): Op ⇄ entries
//!                      └──┬──┘   └──┬──┘   └──┬──┘   Written: what the device holds
//!                     P4Runtime (gRPC, primary by election id)
//! ```
//!
//! - [`Nic`]: one P4Runtime session. On connect it becomes primary, keeps a pipeline
//!   that is already ours (reloading would wipe the tables and conntrack), installs
//!   it otherwise, enables the `ctx_miss` and `ct_event` digests and reads back what
//!   the device holds. Operations ([`ztnic_model::Op`]) are encoded by
//!   [`ztnic_p4tables::Program`] only; [`ztnic_p4tables::Written`] decides INSERT or
//!   MODIFY and records only what the device accepted.
//! - [`Controller`]: the policy engine over several NICs. A change (a whole policy
//!   file, a relabel, an instance added or removed) is compiled by the engine; each
//!   NIC gets the difference between what it holds and what it should hold:
//!   additions and updates first, deletions after, the configuration (the policy
//!   generation) last, so no packet meets a rule about a context the NIC does not
//!   know and connections are re-checked only once the new tables are in place.
//! - Reconcile ([`Controller::reconcile`]): reads a device back and repairs only the
//!   differences. It never reloads the pipeline, never rewrites a configuration
//!   that is already right (a new generation would re-check every connection, a new
//!   `ct_buckets` would empty conntrack) and leaves the slow path's `ct_overflow`
//!   entries alone while one of their endpoints is still a local endpoint.
//! - Persistence ([`Controller::save`], [`Controller::restore`]): the engine (context
//!   ids, epochs, rule ids, generation), the base configuration and the NIC list,
//!   written atomically; a restored controller reconciles every NIC, which writes
//!   nothing when nothing changed behind its back.
//! - Slow path ([`Controller::handle_event`], [`Controller::run_slow_path`]): unknown
//!   contexts and stale epochs install the missing `ctx_epoch` entries (forged or
//!   retired contexts are only counted), a full conntrack table gets a `ct_overflow`
//!   entry for the punted flow and the frame is re-injected through the pipeline,
//!   idle `ct_overflow` entries are deleted. Every action is recorded with the time
//!   the event arrived and the time it was carried out ([`SlowPathRecord`]).
//!
//! Conntrack itself lives in P4 registers, which P4Runtime reads are not used for
//! here: the controller never reads or writes connection state.

mod controller;
mod neighbor;
mod nic;
pub mod service;
mod slow_path;

use std::path::PathBuf;

pub use controller::{Controller, NicReport, Report, StateFile};
pub use nic::{
    DEFAULT_BATCH, DeviceState, Held, Nic, NicInfo, PipelineSource, WriteCounts, read_counters,
};
pub use slow_path::{SlowPathAction, SlowPathRecord, SlowPathStats};

/// Why a controller call failed.
#[derive(Debug, thiserror::Error)]
pub enum ControllerError {
    /// The P4Runtime session failed (connect, RPC, stream).
    #[error("NIC {nic}: {source}")]
    Client {
        nic: String,
        #[source]
        source: ztnic_p4runtime_client::ClientError,
    },
    /// Another controller is primary for the device, or the device has seen a
    /// higher election id (P4Runtime: the primary must hold the highest ever seen).
    #[error("NIC {nic}: not primary ({state})")]
    NotPrimary {
        nic: String,
        state: String,
        /// The highest election id the device reported, if it did.
        highest: Option<u128>,
    },
    /// An operation has no P4Runtime form (or the P4Info is not ztnic's).
    #[error("NIC {nic}: {op}: {source}")]
    Map {
        nic: String,
        op: String,
        #[source]
        source: ztnic_p4tables::MapError,
    },
    /// The device rejected an update; earlier updates were applied and recorded.
    #[error("NIC {nic}: the device rejected {op}: {code:?} {message} ({failed} update(s) failed)")]
    Rejected {
        nic: String,
        /// The operation whose update failed first.
        op: String,
        code: tonic::Code,
        message: String,
        /// Failed updates in that Write.
        failed: usize,
    },
    /// The engine refused a change (nothing changed).
    #[error(transparent)]
    Intent(#[from] ztnic_intent::IntentError),
    /// No NIC of that name.
    #[error("no NIC named {0:?}")]
    UnknownNic(String),
    /// A NIC of that name is already attached.
    #[error("a NIC named {0:?} is already attached")]
    DuplicateNic(String),
    /// A NIC whose name is not a host of the policy.
    #[error("NIC {0:?} is not a host of the policy")]
    UnknownHost(String),
    /// The pipeline could not be loaded.
    #[error("pipeline: {0}")]
    Pipeline(String),
    /// The state file is not a controller state (nothing was changed).
    #[error("state file {path}: {reason}")]
    State { path: PathBuf, reason: String },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}
