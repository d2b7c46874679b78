//! # ztnic-fpga — the driver of the ztnic FPGA datapath
//!
//! Turns the model's control operations ([`ztnic_model::Op`]: table writes and
//! configuration) into the hardware's table layouts and register writes, and reads
//! counters, conntrack entries, table entries and events back. It talks to the device
//! only through [`RegisterAccess`] (32-bit AXI4-Lite reads and writes), so the same
//! driver serves the Verilated NIC (`ztnic-rtl-sim` implements the trait) and a real
//! card's PCIe BAR ([`PcieBar`], an mmap of `/sys/bus/pci/devices/<BDF>/resource0`).
//! Entries the hardware cannot realise (a fifth rule on one decomposed policy key, a
//! context wider than 24 bits, a port beyond the `port_class` table, `ct_buckets`
//! beyond the synthesised maximum, a full hash bucket) are refused with a typed
//! [`FpgaError`], never approximated.
//!
//! State reads back from the device itself: [`Driver::read_back`] decodes every valid
//! table slot into the `Op::Set*` that produces it, [`Driver::read_config`] the
//! configuration registers, and [`Driver::adopt`] takes over a card that is already
//! forwarding (an agent restart) without writing anything, rebuilding the driver's
//! placement mirrors from the hardware so that later updates and deletes hit the right
//! slots. Per-entry direct counters ([`Driver::rule_counter`], [`Driver::ctx_counter`],
//! their setters) and single drop / punt cells serve a P4Runtime agent.
//!
//! ```no_run
//! # fn demo<R: ztnic_fpga::RegisterAccess>(card: R) -> Result<(), ztnic_fpga::FpgaError> {
//! use ztnic_fpga::Driver;
//! let mut nic = Driver::new(card)?;
//! nic.apply(&ztnic_model::Op::SetPortClass { port: 1, class: ztnic_model::PortClass::Vport })?;
//! let counters = nic.counters()?;
//! let flows = nic.conntrack_entries()?;
//! while let Some(ev) = nic.pop_event()? { println!("{ev:?}"); }
//! // later, after a restart: take the running card over and list what it holds
//! let card = nic.into_access();
//! let mut nic = Driver::adopt(card)?;
//! for op in nic.read_back()? { println!("{op:?}"); }
//! # let _ = (counters, flows); Ok(()) }
//! ```

#![warn(missing_docs)]

mod access;
mod bits;
mod decode;
mod driver;
#[cfg(unix)]
pub mod pcie;
#[rustfmt::skip]
#[allow(missing_docs)]
pub mod regmap;

pub use access::RegisterAccess;
pub use bits::Bits;
pub use driver::{CtEntry, Driver, Event, EventKind, FpgaError, Geometry, policy_key};
#[cfg(unix)]
pub use pcie::{PcieBar, PcieError};
