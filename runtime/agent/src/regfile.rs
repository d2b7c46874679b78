//! A register-file device: the ztnic register map in host memory, with table
//! memory behind the table window, an event FIFO and a punt queue that a caller
//! fills ([`RegFileHandle`]). It needs no
//! Verilator and no card: the agent's own cost (P4Runtime decoding, the driver's
//! placement, event handling) is what a bench over it measures, and it is how a
//! test raises device events without a datapath.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use tokio::sync::Notify;
use ztnic_fpga::regmap::{events, id, layout, table_cmd_enum, tables};
use ztnic_fpga::{Bits, Event, Geometry, RegisterAccess};

use crate::device::{Device, DeviceError};

/// Words of register space the file holds (byte addresses below `4 * SPACE`).
const SPACE: usize = 0x1000 / 4;

/// An access outside the register file's space.
#[derive(Debug, thiserror::Error)]
#[error("register {0:#x} is outside the register file")]
pub struct RegFileError(pub u32);

#[derive(Default)]
struct Queues {
    events: VecDeque<[u32; 4]>,
    punts: VecDeque<Vec<u8>>,
}

struct Shared {
    queues: Mutex<Queues>,
    signal: Arc<Notify>,
    /// When the last table write command was issued (ns after `epoch`, 0 for
    /// never), and how many there were.
    epoch: Instant,
    last_write_ns: AtomicU64,
    writes: AtomicU64,
}

impl Shared {
    fn queues(&self) -> MutexGuard<'_, Queues> {
        self.queues.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The ztnic register map in memory, like an idle card: the id block reports
/// the geometry it was made with, table commands complete at once (status 0): a
/// write stores the data registers' words at (table, index), a read loads them
/// back (zeros for a slot never written or written all-zero, as after a reset),
/// so the driver's read-back sees what was written; every other register keeps
/// what was written; the event FIFO and the punt
/// queue hold what a [`RegFileHandle`] raised, and raising notifies the agent
/// ([`Device::event_signal`]).
pub struct RegFileDevice {
    regs: Vec<u32>,
    /// Table memory: the non-zero slots, by (table, index).
    slots: HashMap<(u32, u32), [u32; DATA_WORDS]>,
    shared: Arc<Shared>,
}

/// Words of the table window's data registers.
const DATA_WORDS: usize = tables::DATA_COUNT as usize;

/// The outside of a [`RegFileDevice`] (cloneable, usable while the agent owns
/// the device): raises events and punts as the datapath would, and tells when
/// the agent last wrote a table entry.
#[derive(Clone)]
pub struct RegFileHandle {
    shared: Arc<Shared>,
}

impl RegFileDevice {
    /// A register file whose id block reports `geo`.
    pub fn new(geo: &Geometry) -> RegFileDevice {
        let mut regs = vec![0u32; SPACE];
        for (addr, v) in [
            (id::BASE, id::TYPE),
            (id::PORT_CLASS_LOG2, geo.port_class_log2),
            (id::VPORT_CTX_LOG2, geo.vport_ctx_log2),
            (id::LOCAL_EP_LOG2, geo.local_ep_log2),
            (id::CTX_EPOCH_LOG2, geo.ctx_epoch_log2),
            (id::REMOTE_EP_ENTRIES, geo.remote_ep_entries),
            (id::REMOTE_HOST_LOG2, geo.remote_host_log2),
            (id::POLICY_LOG2, geo.policy_log2),
            (id::CT_LOG2_MAX, geo.ct_log2_max),
            (id::CT_OVERFLOW_LOG2, geo.ct_overflow_log2),
        ] {
            regs[addr as usize / 4] = v;
        }
        RegFileDevice {
            regs,
            slots: HashMap::new(),
            shared: Arc::new(Shared {
                queues: Mutex::default(),
                signal: Arc::new(Notify::new()),
                epoch: Instant::now(),
                last_write_ns: AtomicU64::new(0),
                writes: AtomicU64::new(0),
            }),
        }
    }

    /// A small card's geometry with a `vport_ctx` table large enough for a
    /// bench's entries (2^16 buckets).
    pub fn default_geometry() -> Geometry {
        Geometry {
            port_class_log2: 8,
            vport_ctx_log2: 16,
            local_ep_log2: 10,
            ctx_epoch_log2: 10,
            remote_ep_entries: 1024,
            remote_host_log2: 8,
            policy_log2: 10,
            ct_log2_max: 12,
            ct_overflow_log2: 6,
        }
    }

    /// The handle that raises this device's events.
    pub fn handle(&self) -> RegFileHandle {
        RegFileHandle {
            shared: self.shared.clone(),
        }
    }

    /// Carries out a table command on the slot that `select` and `index` name.
    fn table_cmd(&mut self, cmd: u32) {
        let key = (
            self.regs[tables::SELECT as usize / 4],
            self.regs[tables::INDEX as usize / 4],
        );
        let data = tables::DATA as usize / 4;
        let window = data..data + DATA_WORDS;
        if cmd == table_cmd_enum::WRITE {
            let mut words = [0u32; DATA_WORDS];
            words.copy_from_slice(&self.regs[window]);
            if words.iter().all(|w| *w == 0) {
                self.slots.remove(&key);
            } else {
                self.slots.insert(key, words);
            }
        } else if cmd == table_cmd_enum::READ {
            let words = self.slots.get(&key).copied().unwrap_or_default();
            self.regs[window].copy_from_slice(&words);
        }
    }

    fn slot(&mut self, addr: u32) -> Result<&mut u32, RegFileError> {
        if addr % 4 != 0 {
            return Err(RegFileError(addr));
        }
        self.regs
            .get_mut(addr as usize / 4)
            .ok_or(RegFileError(addr))
    }
}

impl RegFileHandle {
    /// Queues `ev` in the event FIFO (as the datapath's event record) and
    /// notifies the agent.
    pub fn raise_event(&self, ev: &Event) {
        let l = &layout::event::WIDTH;
        let mut b = Bits::zero(*l);
        {
            use layout::event as e;
            b.set(e::KIND, ev.kind.into());
            b.set(e::REASON, ev.reason.into());
            b.set(e::PORT, ev.port.into());
            b.set(e::CTX, ev.ctx.into());
            b.set(e::EPOCH, ev.epoch.into());
            b.set(e::HASH, ev.hash.into());
            b.set(e::TIME, ev.time.into());
        }
        let w = b.words();
        let words = [w[0], w[1], w[2], w[3]];
        self.shared.queues().events.push_back(words);
        self.shared.signal.notify_one();
    }

    /// Queues `frame` (the 4-byte `packet_in` header and the packet) as a
    /// CPU-port punt and notifies the agent.
    pub fn punt(&self, frame: Vec<u8>) {
        self.shared.queues().punts.push_back(frame);
        self.shared.signal.notify_one();
    }

    /// When the agent last issued a table write command, if ever.
    pub fn last_table_write(&self) -> Option<Instant> {
        match self.shared.last_write_ns.load(Ordering::Acquire) {
            0 => None,
            ns => Some(self.shared.epoch + std::time::Duration::from_nanos(ns)),
        }
    }

    /// Table write commands issued so far.
    pub fn table_writes(&self) -> u64 {
        self.shared.writes.load(Ordering::Relaxed)
    }

    /// Events raised and not yet taken by the agent.
    pub fn pending_events(&self) -> usize {
        self.shared.queues().events.len()
    }
}

impl RegisterAccess for RegFileDevice {
    type Error = RegFileError;

    fn read32(&mut self, addr: u32) -> Result<u32, RegFileError> {
        match addr {
            tables::STATUS => Ok(0),
            events::COUNT => Ok(self.shared.queues().events.len() as u32),
            _ => self.slot(addr).map(|r| *r),
        }
    }

    fn write32(&mut self, addr: u32, value: u32) -> Result<(), RegFileError> {
        if addr == tables::CMD && value == table_cmd_enum::WRITE {
            let ns = self.shared.epoch.elapsed().as_nanos();
            let ns = u64::try_from(ns).unwrap_or(u64::MAX).max(1);
            self.shared.last_write_ns.store(ns, Ordering::Release);
            self.shared.writes.fetch_add(1, Ordering::Relaxed);
        }
        if addr == events::POP {
            self.shared.queues().events.pop_front();
            return Ok(());
        }
        *self.slot(addr)? = value;
        if addr == tables::CMD {
            self.table_cmd(value);
        }
        Ok(())
    }

    fn pop_event_words(&mut self) -> Result<Option<[u32; 4]>, RegFileError> {
        Ok(self.shared.queues().events.pop_front())
    }
}

impl Device for RegFileDevice {
    fn inject(&mut self, _frame: &[u8]) -> Result<(), DeviceError> {
        Err(DeviceError::Unsupported(
            "a register file has no data plane to inject into".into(),
        ))
    }

    fn take_punts(&mut self) -> Result<Vec<Vec<u8>>, DeviceError> {
        Ok(self.shared.queues().punts.drain(..).collect())
    }

    fn set_cpu_port(&mut self, _port: u16) {}

    fn reset(&mut self) -> Result<bool, DeviceError> {
        // like a card: cleared entry by entry through the registers
        Ok(false)
    }

    fn describe(&self) -> String {
        "register file (in memory)".into()
    }

    fn event_signal(&self) -> Option<Arc<Notify>> {
        Some(self.shared.signal.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ztnic_fpga::Driver;
    use ztnic_fpga::regmap::event_kind_enum;

    #[test]
    fn raised_events_pop_through_the_driver_in_order_and_notify() {
        let dev = RegFileDevice::new(&RegFileDevice::default_geometry());
        let h = dev.handle();
        let signal = dev.event_signal().expect("a register file signals");
        let mut drv = Driver::new(dev).expect("the id block is a ztnic's");
        assert!(drv.pop_event().expect("pop").is_none());
        for ctx in [7u32, 9] {
            h.raise_event(&Event {
                kind: event_kind_enum::CTX_UNKNOWN as u8,
                reason: 3,
                port: 2,
                ctx,
                epoch: 1,
                hash: 0,
                time: 5,
            });
        }
        // a permit is stored: the next await returns at once
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        rt.block_on(signal.notified());
        let a = drv.pop_event().expect("pop").expect("first event");
        let b = drv.pop_event().expect("pop").expect("second event");
        assert_eq!((a.ctx, a.port, a.reason, a.epoch), (7, 2, 3, 1));
        assert_eq!(b.ctx, 9);
        assert!(drv.pop_event().expect("pop").is_none());
        assert_eq!(h.pending_events(), 0);
    }

    #[test]
    fn table_writes_are_counted_and_stamped() {
        let dev = RegFileDevice::new(&RegFileDevice::default_geometry());
        let h = dev.handle();
        let mut drv = Driver::new(dev).expect("driver");
        let before = h.table_writes();
        drv.table_write(ztnic_fpga::regmap::table_enum::PORT_CLASS, 1, &[1])
            .expect("write");
        assert_eq!(h.table_writes(), before + 1);
        assert!(h.last_table_write().is_some());
        // the slot holds what was written; others read as zeros
        assert_eq!(
            drv.table_read(ztnic_fpga::regmap::table_enum::PORT_CLASS, 1, 2)
                .expect("read"),
            vec![1, 0]
        );
        assert_eq!(
            drv.table_read(ztnic_fpga::regmap::table_enum::PORT_CLASS, 2, 2)
                .expect("read"),
            vec![0, 0]
        );
        drv.table_write(ztnic_fpga::regmap::table_enum::PORT_CLASS, 1, &[])
            .expect("clear");
        assert_eq!(
            drv.table_read(ztnic_fpga::regmap::table_enum::PORT_CLASS, 1, 1)
                .expect("read"),
            vec![0]
        );
        assert!(drv.access_mut().read32(0x2000).is_err());
    }
}
