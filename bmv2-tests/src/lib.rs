//! # ztnic-bmv2-tests — the P4 datapath on bmv2
//!
//! Support for the tests in `tests/`: finding the P4 toolchain on `PATH` (and
//! saying loudly when it is absent), compiling `p4/ztnic.p4`, generating the
//! P4 reason constants from the reference model's enums.

pub mod nanomsg;
pub mod p4c;
pub mod reasons;
pub mod switch;
pub mod target;
pub mod tools;
