//! # ztnic-fpga — the driver of the ztnic FPGA datapath
//!
//! Turns the model's control operations ([`ztnic_model::Op`]: table writes and
//! configuration) into the hardware's table layouts and register writes, and reads
//! counters, conntrack entries, table entries and events back. It talks to the device
//! only through [`RegisterAccess`] (32-bit AXI4-Lite reads and writes), so the same
//! driver serves the Verilated NIC (`ztnic-rtl-sim` implements the trait) and a real
//! card's PCIe BAR. Entries the hardware cannot realise (a fifth rule on one decomposed
//! policy key, a context wider than 24 bits, a port beyond the `port_class` table,
//! `ct_buckets` beyond the synthesised maximum, a full hash bucket) are refused with a
//! typed [`FpgaError`], never approximated.
//!
//! ```no_run
//! # fn demo<R: ztnic_fpga::RegisterAccess>(card: R) -> Result<(), ztnic_fpga::FpgaError> {
//! use ztnic_fpga::Driver;
//! let mut nic = Driver::new(card)?;
//! nic.apply(&ztnic_model::Op::SetPortClass { port: 1, class: ztnic_model::PortClass::Vport })?;
//! let counters = nic.counters()?;
//! let flows = nic.conntrack_entries()?;
//! while let Some(ev) = nic.pop_event()? { println!("{ev:?}"); }
//! # let _ = (counters, flows); Ok(()) }
//! ```

mod access;
mod bits;
mod driver;
#[rustfmt::skip]
pub mod regmap;

pub use access::RegisterAccess;
pub use bits::Bits;
pub use driver::{CtEntry, Driver, Event, EventKind, FpgaError, Geometry, policy_key};
