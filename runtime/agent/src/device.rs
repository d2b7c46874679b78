//! What the agent needs from a ztnic FPGA datapath beyond its registers: the CPU
//! port's packets, and a way back to the power-on state.

use std::sync::Arc;

use tokio::sync::Notify;
use ztnic_fpga::RegisterAccess;

/// A failure of the device outside register access.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[cfg(feature = "sim")]
    #[error(transparent)]
    Sim(#[from] ztnic_rtl_sim::SimError),
    #[error("CPU port: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Unsupported(String),
}

/// A ztnic datapath: the AXI4-Lite register space ([`RegisterAccess`], through
/// which the driver programs tables and reads counters and events) plus the CPU
/// port's packet stream.
pub trait Device: RegisterAccess + Send + 'static {
    /// Sends a frame into the datapath's CPU port: the 4-byte `packet_out` header,
    /// then the packet.
    fn inject(&mut self, frame: &[u8]) -> Result<(), DeviceError>;

    /// Frames the datapath sent out of its CPU port since the last call, each the
    /// 4-byte `packet_in` header and the packet.
    fn take_punts(&mut self) -> Result<Vec<Vec<u8>>, DeviceError>;

    /// Tells the device which port is the CPU port (the configuration's
    /// `cpu_port`), for devices that see every output port.
    fn set_cpu_port(&mut self, port: u16);

    /// Puts the datapath back into its power-on state (empty tables, counters
    /// and conntrack). Returns false if the device has no such reset; the agent
    /// then clears it entry by entry.
    fn reset(&mut self) -> Result<bool, DeviceError>;

    /// A one-line description for logs.
    fn describe(&self) -> String;

    /// The device's event signal: notified (`Notify::notify_one`) whenever its
    /// event FIFO or its CPU-port punt queue may have become non-empty. The
    /// agent awaits it and drains the device at once — no polling tick (the
    /// server core then calls the backend after `ServerConfig::wake_timeout` at
    /// the latest, a safety net). A device that can raise it returns the same
    /// `Arc` every time; `None` means the device cannot tell, and the agent
    /// polls it every `ServerConfig::tick` (the default).
    fn event_signal(&self) -> Option<Arc<Notify>> {
        None
    }
}
