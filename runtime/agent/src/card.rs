//! A real card: registers through the PCIe BAR ([`PcieBar`]), the CPU port's
//! packets through the host network interface its DMA queue appears as (an
//! `AF_PACKET` socket bound to that interface).

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use ztnic_fpga::{PcieBar, PcieError, RegisterAccess};

use crate::device::{Device, DeviceError};

/// Largest frame read from the CPU interface (jumbo frames plus the header).
const MAX_FRAME: usize = 9216 + 64;

/// A raw `AF_PACKET` socket on one interface, non-blocking.
pub struct CpuSocket {
    fd: OwnedFd,
    ifname: String,
}

impl CpuSocket {
    /// Opens a raw socket bound to interface `ifname` (needs CAP_NET_RAW).
    pub fn open(ifname: &str) -> io::Result<CpuSocket> {
        let name = CString::new(ifname)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "interface name has a NUL"))?;
        // SAFETY: if_nametoindex reads a NUL-terminated string we own.
        let ifindex = unsafe { libc::if_nametoindex(name.as_ptr()) };
        if ifindex == 0 {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("no network interface {ifname:?}"),
            ));
        }
        let proto = (libc::ETH_P_ALL as u16).to_be();
        // SAFETY: plain socket(2) call; the result is checked before use.
        let raw = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                i32::from(proto),
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: raw is a fresh descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value.
        let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        addr.sll_family = libc::AF_PACKET as u16;
        addr.sll_protocol = proto;
        addr.sll_ifindex = ifindex as i32;
        // SAFETY: addr is a valid sockaddr_ll and the length matches it.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&addr as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(CpuSocket {
            fd,
            ifname: ifname.to_string(),
        })
    }

    /// Sends one frame.
    pub fn send(&self, frame: &[u8]) -> io::Result<()> {
        // SAFETY: the buffer is valid for frame.len() bytes.
        let n = unsafe { libc::send(self.fd.as_raw_fd(), frame.as_ptr().cast(), frame.len(), 0) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Every frame waiting, without blocking.
    pub fn recv_all(&self) -> io::Result<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        let mut buf = vec![0u8; MAX_FRAME];
        loop {
            // SAFETY: the buffer is valid for buf.len() bytes.
            let n =
                unsafe { libc::recv(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::WouldBlock {
                    return Ok(out);
                }
                return Err(e);
            }
            out.push(buf[..n as usize].to_vec());
        }
    }

    /// The interface name.
    pub fn ifname(&self) -> &str {
        &self.ifname
    }
}

/// A ztnic card: registers through its BAR, CPU-port packets through `cpu` (if
/// given; without it PacketOut is refused and punts stay on the card).
pub struct CardDevice {
    bar: PcieBar,
    cpu: Option<CpuSocket>,
}

impl CardDevice {
    /// The card whose BAR is `bar`, with the CPU port on interface `cpu`.
    pub fn new(bar: PcieBar, cpu: Option<CpuSocket>) -> CardDevice {
        CardDevice { bar, cpu }
    }
}

impl RegisterAccess for CardDevice {
    type Error = PcieError;

    fn read32(&mut self, addr: u32) -> Result<u32, PcieError> {
        self.bar.read32(addr)
    }

    fn write32(&mut self, addr: u32, value: u32) -> Result<(), PcieError> {
        self.bar.write32(addr, value)
    }
}

impl Device for CardDevice {
    fn inject(&mut self, frame: &[u8]) -> Result<(), DeviceError> {
        match &self.cpu {
            Some(s) => Ok(s.send(frame)?),
            None => Err(DeviceError::Unsupported(
                "no CPU-port interface was given (agent --cpu-netdev)".into(),
            )),
        }
    }

    fn take_punts(&mut self) -> Result<Vec<Vec<u8>>, DeviceError> {
        match &self.cpu {
            Some(s) => Ok(s.recv_all()?),
            None => Ok(Vec::new()),
        }
    }

    fn set_cpu_port(&mut self, _port: u16) {
        // the card's CPU port is its DMA queue, whatever its number
    }

    fn reset(&mut self) -> Result<bool, DeviceError> {
        // no soft reset in the register map: the agent clears entry by entry
        Ok(false)
    }

    /// `None`: the agent polls the card every `ServerConfig::tick` (`ztnic agent
    /// --poll-ms`), a bounded fallback because this card has no interrupt source
    /// wired to the host: its BAR is mapped through sysfs `resource0`, which
    /// carries no interrupts, and the event FIFO raises none in the register map.
    ///
    /// How an interrupt plugs in: open the card through VFIO instead
    /// (`/dev/vfio/<group>`, `VFIO_GROUP_GET_DEVICE_FD`), map BAR0 from the device
    /// fd, create an `eventfd(2)` and bind it to MSI-X vector 0 with
    /// `VFIO_DEVICE_SET_IRQS` (`VFIO_IRQ_SET_DATA_EVENTFD |
    /// VFIO_IRQ_SET_ACTION_TRIGGER`), the vector the RTL would raise when the
    /// event FIFO goes non-empty. A task holds the eventfd in a
    /// `tokio::io::unix::AsyncFd`, and on each readable edge reads the 8-byte
    /// count and calls `notify_one` on an `Arc<Notify>` that this method returns.
    /// The CPU-port socket joins the same `Notify` through its own `AsyncFd`.
    /// The agent's loop is unchanged: it awaits the signal and drains.
    fn event_signal(&self) -> Option<std::sync::Arc<tokio::sync::Notify>> {
        None
    }

    fn describe(&self) -> String {
        match &self.cpu {
            Some(s) => format!(
                "card at {} (CPU port on {})",
                self.bar.path().display(),
                s.ifname()
            ),
            None => format!(
                "card at {} (no CPU-port interface)",
                self.bar.path().display()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_interface_is_a_clear_error() {
        let e = CpuSocket::open("ztnic-no-such-if0").err().unwrap();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert!(e.to_string().contains("ztnic-no-such-if0"));
        assert!(CpuSocket::open("bad\0name").is_err());
    }

    #[test]
    fn frames_sent_on_loopback_come_back() {
        // Needs CAP_NET_RAW (the project's tests run as root).
        let s = CpuSocket::open("lo").expect("a raw socket on lo (needs CAP_NET_RAW)");
        let _ = s.recv_all().unwrap();
        let mut frame = vec![0u8; 64];
        frame[12..14].copy_from_slice(&0x88b5u16.to_be_bytes()); // local experimental
        frame[14..22].copy_from_slice(b"ztnic-lo");
        s.send(&frame).unwrap();
        let mut got = Vec::new();
        for _ in 0..100 {
            got.extend(s.recv_all().unwrap());
            if got.iter().any(|f| f.get(14..22) == Some(b"ztnic-lo")) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(got.iter().any(|f| f.get(14..22) == Some(b"ztnic-lo")));
    }
}
