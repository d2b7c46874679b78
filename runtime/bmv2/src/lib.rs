//! # ztnic-bmv2 — bmv2 `simple_switch_grpc` as a ztnic NIC
//!
//! - [`switch`]: starts and stops one `simple_switch_grpc` on 127.0.0.1 (free gRPC
//!   port, IPC packet socket and log in a private directory);
//! - [`nanomsg`]: bmv2's packet socket, spoken directly (no C library);
//! - [`nic`]: [`Bmv2Nic`], a switch a controller programs over P4Runtime, with each
//!   packet's outcome seen from outside (a frame out, or a `punts` / `drops`
//!   counter increment);
//! - [`tools`]: finding `simple_switch_grpc` and `p4c-bm2-ss` on `PATH`, the loud
//!   skip line of a test that cannot run, the committed P4 artifacts.

pub mod nanomsg;
pub mod nic;
pub mod switch;
pub mod tools;

pub use nic::{Bmv2Nic, Bmv2NicError};
pub use switch::{Switch, SwitchError};
