//! # ztnic-bmv2-tests — the P4 datapath on bmv2
//!
//! Support for the tests in `tests/`: compiling `p4/ztnic.p4`, generating the P4
//! reason constants from the reference model's enums, and the ztnic program on a
//! running switch as a scenario target. The switch process, its packet socket and
//! the tool lookup (with the loud skip line) live in `ztnic-bmv2`.

pub mod p4c;
pub mod reasons;
pub mod target;
