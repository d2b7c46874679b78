//! The register space of a ztnic datapath: 32-bit AXI4-Lite reads and writes.

use crate::regmap::events;

/// 32-bit register access to a ztnic datapath's AXI4-Lite space: the Verilated NIC
/// (`ztnic-rtl-sim`) or a card's PCIe BAR. Addresses are byte offsets of
/// `rtl/regmap.toml`.
pub trait RegisterAccess {
    /// The error of one access (a simulation timeout, a failed MMIO mapping, ...).
    type Error: std::error::Error + Send + Sync + 'static;

    /// Reads the 32-bit register at `addr`.
    fn read32(&mut self, addr: u32) -> Result<u32, Self::Error>;

    /// Writes the 32-bit register at `addr`.
    fn write32(&mut self, addr: u32, value: u32) -> Result<(), Self::Error>;

    /// Pops the head of the event FIFO as its four words, or `None` when it is empty.
    /// The default goes through the event block's registers; a card with a DMA event
    /// ring may override it.
    fn pop_event_words(&mut self) -> Result<Option<[u32; 4]>, Self::Error> {
        if self.read32(events::COUNT)? == 0 {
            return Ok(None);
        }
        let mut w = [0u32; 4];
        for (i, x) in w.iter_mut().enumerate() {
            *x = self.read32(events::DATA + 4 * i as u32)?;
        }
        self.write32(events::POP, 1)?;
        Ok(Some(w))
    }
}
