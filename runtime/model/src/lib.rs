//! # ztnic-model — the reference datapath
//!
//! A plain, synchronous Rust implementation of the ztnic pipeline (design §4–6,
//! `docs/datapath.md`): the golden semantics that the P4 program on bmv2 and the
//! Verilog datapath are checked against, packet by packet, through the shared scenarios.
//!
//! It keeps no wall clock: every call takes the time in microseconds, so aging is
//! reproducible. It never panics on packet input.
//!
//! ```
//! use ztnic_model::{Config, Datapath, Verdict, DropReason};
//! let mut dp = Datapath::new(Config::default()).unwrap();
//! // No port is classified yet: the packet is dropped and counted.
//! let out = dp.process(0, 1, &[0u8; 60]);
//! assert_eq!(out.verdict, Verdict::Drop(DropReason::UnknownPort));
//! assert_eq!(dp.counters.drops[&DropReason::UnknownPort], 1);
//! ```

pub mod addr;
pub mod config;
pub mod conntrack;
pub mod ct_place;
pub mod ops;
pub mod parse;
pub mod pipeline;
pub mod policy;
pub mod reason;
pub mod tables;
pub mod tag;

pub use config::{
    AuthKey, Config, ConfigError, MAX_FRAME_DEFAULT, MAX_FRAME_RANGE, MacAddr, Port, Timeouts,
};
pub use conntrack::{CtKey, CtState, CtTable};
pub use ops::{ApplyError, Op, OverflowFlow};
pub use pipeline::{Counters, Datapath, Outcome, PacketsBytes, Verdict};
pub use policy::{Action, PortRange, ProtoMatch, Rule};
pub use reason::{DropReason, PuntReason};
pub use tables::{CtxEpoch, LocalEp, PortClass, Prefix, RemoteAction, RemoteEp, Tables, VportCtx};
