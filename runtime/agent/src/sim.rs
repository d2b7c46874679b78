//! The Verilated RTL datapath as an agent [`Device`], with the data-plane side a
//! simulation needs: frames in on any port, outcomes and frames out.

use std::collections::VecDeque;
use std::sync::Arc;

use tokio::sync::Notify;

use ztnic_fpga::RegisterAccess;
use ztnic_model::{Config, Outcome, Verdict};
use ztnic_rtl_sim::{Frame, Nic, SimError};

use crate::device::{Device, DeviceError};

/// The Verilated NIC in-process. The agent programs it through its registers
/// and exchanges CPU-port packets; a simulation (test, demo) sends data-plane
/// frames with [`SimDevice::send`] and collects what injected packets produced
/// with [`SimDevice::take_output`].
pub struct SimDevice {
    nic: Nic,
    cpu_port: u16,
    now_us: u64,
    punts: VecDeque<Vec<u8>>,
    output: VecDeque<Frame>,
    injected: VecDeque<Outcome>,
    /// Raised after every exchange with the model: the packets may have punted
    /// or queued events (the agent then drains the FIFO and the punts).
    signal: Arc<Notify>,
}

impl Default for SimDevice {
    fn default() -> Self {
        Self::new()
    }
}

impl SimDevice {
    /// A Verilated NIC just out of reset.
    pub fn new() -> SimDevice {
        SimDevice {
            nic: Nic::new(),
            cpu_port: Config::default().cpu_port,
            now_us: 0,
            punts: VecDeque::new(),
            output: VecDeque::new(),
            injected: VecDeque::new(),
            signal: Arc::new(Notify::new()),
        }
    }

    /// The cycle-accurate bench around the model.
    pub fn nic(&mut self) -> &mut Nic {
        &mut self.nic
    }

    /// The device clock (µs) of the last packet.
    pub fn now_us(&self) -> u64 {
        self.now_us
    }

    /// Sends `frames` (port, bytes) back to back at time `at_us` (the datapath's
    /// clock input, which must not go backwards) and returns each packet's
    /// outcome. Punted packets are also queued for the agent, which hands them
    /// to the controller as PacketIn.
    pub fn send(
        &mut self,
        at_us: u64,
        frames: &[(u16, Vec<u8>)],
    ) -> Result<Vec<Outcome>, DeviceError> {
        self.now_us = self.now_us.max(at_us);
        let pairs = self.nic.exchange(self.now_us, frames)?;
        let mut v = Vec::with_capacity(pairs.len());
        for (st, frame) in pairs {
            let raw = frame.as_ref().map(|f| f.data.clone());
            let o = ztnic_rtl_sim::outcome(&st, frame, self.cpu_port)?;
            if let (Verdict::Punt { .. }, Some(raw)) = (&o.verdict, raw) {
                self.punts.push_back(raw);
            }
            v.push(o);
        }
        self.signal.notify_one();
        Ok(v)
    }

    /// Frames that packets injected by the controller (PacketOut) sent out of
    /// data-plane ports since the last call.
    pub fn take_output(&mut self) -> Vec<Frame> {
        self.output.drain(..).collect()
    }

    /// The outcomes of the packets injected by the controller (PacketOut) since
    /// the last call, in order.
    pub fn take_injected(&mut self) -> Vec<Outcome> {
        self.injected.drain(..).collect()
    }
}

impl RegisterAccess for SimDevice {
    type Error = SimError;

    fn read32(&mut self, addr: u32) -> Result<u32, SimError> {
        self.nic.read(addr)
    }

    fn write32(&mut self, addr: u32, value: u32) -> Result<(), SimError> {
        self.nic.write(addr, value)
    }
}

impl Device for SimDevice {
    fn inject(&mut self, frame: &[u8]) -> Result<(), DeviceError> {
        let pairs = self
            .nic
            .exchange(self.now_us, &[(self.cpu_port, frame.to_vec())])?;
        for (st, f) in pairs {
            match &f {
                Some(f) if f.port == self.cpu_port => self.punts.push_back(f.data.clone()),
                Some(f) => self.output.push_back(f.clone()),
                None => {}
            }
            self.injected
                .push_back(ztnic_rtl_sim::outcome(&st, f, self.cpu_port)?);
        }
        self.signal.notify_one();
        Ok(())
    }

    fn take_punts(&mut self) -> Result<Vec<Vec<u8>>, DeviceError> {
        Ok(self.punts.drain(..).collect())
    }

    fn set_cpu_port(&mut self, port: u16) {
        self.cpu_port = port;
    }

    fn reset(&mut self) -> Result<bool, DeviceError> {
        // a fresh model; the agent keeps awaiting the same signal
        let signal = self.signal.clone();
        *self = SimDevice::new();
        self.signal = signal;
        Ok(true)
    }

    fn describe(&self) -> String {
        "Verilated ztnic_top (in-process)".into()
    }

    /// Raised after every [`SimDevice::send`] and PacketOut: the model only
    /// moves when it is clocked, so that is when events and punts can appear.
    fn event_signal(&self) -> Option<Arc<Notify>> {
        Some(self.signal.clone())
    }
}
