//! A real card's register space: the AXI4-Lite map behind a PCIe BAR, memory-mapped
//! through sysfs (`/sys/bus/pci/devices/<BDF>/resource0`).
//!
//! Every access is a volatile, aligned 32-bit load or store (PCIe is little-endian;
//! values are converted on big-endian hosts), checked against the mapping's length
//! first: a bad address is an error, never undefined behaviour. The mapping goes away
//! when the [`PcieBar`] is dropped. A regular file of the BAR's size, mapped the same
//! way, behaves like the card's registers as far as this type can tell (the tests use
//! one).

use std::fs::OpenOptions;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::ptr::NonNull;

use crate::access::RegisterAccess;
use crate::regmap;

/// Bytes of the register map: one past its highest register. A BAR shorter than this
/// cannot be a ztnic datapath.
pub const REGMAP_EXTENT: usize = {
    let ends = [
        regmap::config::TIMEOUT_HI
            + regmap::config::TIMEOUT_HI_STRIDE * (regmap::config::TIMEOUT_HI_COUNT - 1)
            + 4,
        regmap::tables::DATA + regmap::tables::DATA_STRIDE * regmap::tables::DATA_COUNT,
        regmap::events::DATA + regmap::events::DATA_STRIDE * regmap::events::DATA_COUNT,
        regmap::stats::VERDICTS + 4,
    ];
    let mut max = 0;
    let mut i = 0;
    while i < ends.len() {
        if ends[i] > max {
            max = ends[i];
        }
        i += 1;
    }
    max as usize
};

/// Why a BAR could not be opened or accessed.
#[derive(Debug, thiserror::Error)]
pub enum PcieError {
    /// The PCI address is not of the form `dddd:bb:dd.f` (hex domain, bus and device,
    /// function 0–7).
    #[error("not a PCI address (want dddd:bb:dd.f, e.g. 0000:3b:00.0): {0:?}")]
    BadBdf(String),
    /// The resource file could not be opened or inspected.
    #[error("cannot open {path}: {source}")]
    Open {
        /// The resource file.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The mapping is shorter than the register map.
    #[error("{path}: {len} bytes cannot hold the ztnic register map ({need} bytes)")]
    TooSmall {
        /// The resource file.
        path: PathBuf,
        /// Length asked for (or the file's size).
        len: usize,
        /// [`REGMAP_EXTENT`].
        need: usize,
    },
    /// An explicit length beyond the resource's size (accesses there would fault).
    #[error("{path}: cannot map {len} bytes of a {size}-byte resource")]
    BeyondResource {
        /// The resource file.
        path: PathBuf,
        /// Length asked for.
        len: usize,
        /// The file's size.
        size: u64,
    },
    /// `mmap` refused.
    #[error("cannot map {path}: {source}")]
    Map {
        /// The resource file.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// An access beyond the mapping.
    #[error("register {addr:#x} is beyond the {len}-byte BAR")]
    OutOfRange {
        /// Byte address of the access.
        addr: u32,
        /// Length of the mapping.
        len: usize,
    },
    /// An access not on a 32-bit boundary.
    #[error("register {0:#x} is not 32-bit aligned")]
    Unaligned(u32),
}

/// A PCIe BAR mapped into this process: the ztnic register space of a real card.
pub struct PcieBar {
    base: NonNull<u8>,
    len: usize,
    path: PathBuf,
}

// SAFETY: the mapping is owned by this value alone (it is unmapped on drop and never
// shared), and MMIO through it does not depend on the thread that performs it.
unsafe impl Send for PcieBar {}

impl std::fmt::Debug for PcieBar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PcieBar")
            .field("path", &self.path)
            .field("len", &self.len)
            .finish()
    }
}

/// Checks a PCI address `dddd:bb:dd.f`.
fn valid_bdf(bdf: &str) -> bool {
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    let Some((domain, rest)) = bdf.split_once(':') else {
        return false;
    };
    let Some((bus, rest)) = rest.split_once(':') else {
        return false;
    };
    let Some((dev, func)) = rest.split_once('.') else {
        return false;
    };
    hex(domain, 4)
        && hex(bus, 2)
        && hex(dev, 2)
        && u8::from_str_radix(dev, 16).is_ok_and(|d| d < 32)
        && func.len() == 1
        && matches!(func.as_bytes()[0], b'0'..=b'7')
}

impl PcieBar {
    /// BAR 0 of the PCI device `bdf` (`dddd:bb:dd.f`, as `lspci -D` prints it), through
    /// `/sys/bus/pci/devices/<bdf>/resource0`.
    pub fn for_device(bdf: &str) -> Result<PcieBar, PcieError> {
        if !valid_bdf(bdf) {
            return Err(PcieError::BadBdf(bdf.to_string()));
        }
        PcieBar::open(
            &Path::new("/sys/bus/pci/devices")
                .join(bdf)
                .join("resource0"),
        )
    }

    /// Maps the whole resource file at `path` (its size is the BAR's size).
    pub fn open(path: &Path) -> Result<PcieBar, PcieError> {
        PcieBar::map(path, None)
    }

    /// Maps the first `len` bytes of the resource file at `path`; `len` must cover the
    /// register map ([`REGMAP_EXTENT`]) and, when the file reports a size, lie within it.
    pub fn open_len(path: &Path, len: usize) -> Result<PcieBar, PcieError> {
        PcieBar::map(path, Some(len))
    }

    fn map(path: &Path, len: Option<usize>) -> Result<PcieBar, PcieError> {
        let open_err = |source| PcieError::Open {
            path: path.to_path_buf(),
            source,
        };
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_SYNC)
            .open(path)
            .map_err(open_err)?;
        let size = file.metadata().map_err(open_err)?.len();
        let len = match len {
            Some(len) => {
                if size != 0 && len as u64 > size {
                    return Err(PcieError::BeyondResource {
                        path: path.to_path_buf(),
                        len,
                        size,
                    });
                }
                len
            }
            None => usize::try_from(size).unwrap_or(usize::MAX),
        };
        if len < REGMAP_EXTENT {
            return Err(PcieError::TooSmall {
                path: path.to_path_buf(),
                len,
                need: REGMAP_EXTENT,
            });
        }
        // SAFETY: a fresh shared mapping chosen by the kernel (null hint), of a length
        // checked to be non-zero and within the file, of a descriptor that is open for
        // reading and writing; the result is checked for MAP_FAILED below. Nothing else
        // in this process refers to the mapping.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(PcieError::Map {
                path: path.to_path_buf(),
                source: std::io::Error::last_os_error(),
            });
        }
        let base = NonNull::new(p.cast::<u8>()).ok_or_else(|| PcieError::Map {
            path: path.to_path_buf(),
            source: std::io::Error::other("mmap returned a null mapping"),
        })?;
        // the mapping stays valid after the descriptor is closed
        drop(file);
        Ok(PcieBar {
            base,
            len,
            path: path.to_path_buf(),
        })
    }

    /// Bytes mapped.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is mapped (never: a mapping covers the register map).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The resource file mapped.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The register at `addr`, checked: within the mapping and 32-bit aligned.
    fn reg(&self, addr: u32) -> Result<*mut u32, PcieError> {
        if addr % 4 != 0 {
            return Err(PcieError::Unaligned(addr));
        }
        let off = addr as usize;
        if off.checked_add(4).is_none_or(|end| end > self.len) {
            return Err(PcieError::OutOfRange {
                addr,
                len: self.len,
            });
        }
        // SAFETY: `off + 4 <= len`, so the offset pointer stays inside the mapping.
        Ok(unsafe { self.base.as_ptr().add(off) }.cast::<u32>())
    }
}

impl RegisterAccess for PcieBar {
    type Error = PcieError;

    fn read32(&mut self, addr: u32) -> Result<u32, PcieError> {
        let p = self.reg(addr)?;
        // SAFETY: `reg` checked that the 4 bytes lie inside the live mapping and that the
        // address is 4-aligned (the mapping itself is page-aligned); the memory is
        // device (or file) memory that no Rust reference points to.
        Ok(u32::from_le(unsafe { p.read_volatile() }))
    }

    fn write32(&mut self, addr: u32, value: u32) -> Result<(), PcieError> {
        let p = self.reg(addr)?;
        // SAFETY: as in `read32`: in bounds, aligned, writable (PROT_WRITE, MAP_SHARED),
        // and not aliased by any Rust reference.
        unsafe { p.write_volatile(value.to_le()) };
        Ok(())
    }
}

impl Drop for PcieBar {
    fn drop(&mut self) {
        // SAFETY: `base` and `len` are exactly the mapping made in `map`, unmapped only
        // here, once; no pointer into it outlives `self`.
        unsafe {
            libc::munmap(self.base.as_ptr().cast(), self.len);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Seek, SeekFrom, Write};
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::{Driver, FpgaError};

    /// Bytes of the fake BAR (a card's BAR is at least this).
    const BAR: usize = 0x1000;

    /// A temporary regular file standing in for a sysfs resource file; removed on drop.
    struct FakeBar(PathBuf);

    impl FakeBar {
        fn new(len: usize) -> FakeBar {
            static N: AtomicU32 = AtomicU32::new(0);
            let path = std::env::temp_dir().join(format!(
                "ztnic-fake-bar-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            let f = std::fs::File::create(&path).unwrap();
            f.set_len(len as u64).unwrap();
            FakeBar(path)
        }

        fn poke(&self, addr: u32, v: u32) {
            let mut f = OpenOptions::new().write(true).open(&self.0).unwrap();
            f.seek(SeekFrom::Start(addr.into())).unwrap();
            f.write_all(&v.to_le_bytes()).unwrap();
        }

        fn peek(&self, addr: u32) -> u32 {
            let mut f = std::fs::File::open(&self.0).unwrap();
            f.seek(SeekFrom::Start(addr.into())).unwrap();
            let mut b = [0u8; 4];
            f.read_exact(&mut b).unwrap();
            u32::from_le_bytes(b)
        }

        /// The id block of a datapath: TYPE and the geometry registers.
        fn with_id_block(self) -> FakeBar {
            use regmap::id;
            self.poke(id::BASE, id::TYPE);
            self.poke(id::VERSION, id::VERSION);
            self.poke(id::NEXT, id::NEXT);
            for (addr, v) in [
                (id::DATA_WIDTH, 512),
                (id::PORT_CLASS_LOG2, 8),
                (id::VPORT_CTX_LOG2, 6),
                (id::LOCAL_EP_LOG2, 6),
                (id::CTX_EPOCH_LOG2, 6),
                (id::REMOTE_EP_ENTRIES, 16),
                (id::POLICY_LOG2, 6),
                (id::POLICY_RULES_PER_KEY, 4),
                (id::CT_LOG2_MAX, 10),
                (id::CT_OVERFLOW_LOG2, 4),
                (id::TABLE_WAYS, 4),
            ] {
                self.poke(addr, v);
            }
            self
        }
    }

    impl Drop for FakeBar {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    #[test]
    fn writes_read_back_and_reach_the_file() {
        let fake = FakeBar::new(BAR);
        let mut bar = PcieBar::open(&fake.0).unwrap();
        assert_eq!(bar.len(), BAR);
        for (addr, v) in [
            (0u32, 0xdead_beef),
            (4, 1),
            (0x214, 0x1234_5678),
            (BAR as u32 - 4, 7),
        ] {
            bar.write32(addr, v).unwrap();
            assert_eq!(bar.read32(addr).unwrap(), v, "{addr:#x}");
            assert_eq!(fake.peek(addr), v, "{addr:#x} in the file");
        }
        fake.poke(0x100, 42);
        assert_eq!(bar.read32(0x100).unwrap(), 42);
    }

    #[test]
    fn out_of_range_and_unaligned_accesses_are_errors() {
        let fake = FakeBar::new(BAR);
        let mut bar = PcieBar::open(&fake.0).unwrap();
        for addr in [BAR as u32, BAR as u32 + 4, u32::MAX - 3] {
            assert!(
                matches!(bar.read32(addr), Err(PcieError::OutOfRange { .. })),
                "{addr:#x}"
            );
            assert!(matches!(
                bar.write32(addr, 1),
                Err(PcieError::OutOfRange { .. })
            ));
        }
        for addr in [1, 2, 3, 0x102, BAR as u32 - 1] {
            assert!(matches!(bar.read32(addr), Err(PcieError::Unaligned(a)) if a == addr));
            assert!(matches!(bar.write32(addr, 1), Err(PcieError::Unaligned(_))));
        }
    }

    #[test]
    fn a_bar_shorter_than_the_register_map_is_refused() {
        let fake = FakeBar::new(REGMAP_EXTENT - 4);
        let err = PcieBar::open(&fake.0).unwrap_err();
        assert!(
            matches!(
                err,
                PcieError::TooSmall {
                    need: REGMAP_EXTENT,
                    ..
                }
            ),
            "{err}"
        );
        let fake = FakeBar::new(BAR);
        let err = PcieBar::open_len(&fake.0, 0x100).unwrap_err();
        assert!(
            matches!(err, PcieError::TooSmall { len: 0x100, .. }),
            "{err}"
        );
        let err = PcieBar::open_len(&fake.0, 2 * BAR).unwrap_err();
        assert!(matches!(err, PcieError::BeyondResource { .. }), "{err}");
        let bar = PcieBar::open_len(&fake.0, REGMAP_EXTENT).unwrap();
        assert_eq!(bar.len(), REGMAP_EXTENT);
        assert!(REGMAP_EXTENT > regmap::stats::VERDICTS as usize);
    }

    #[test]
    fn pci_addresses_are_checked() {
        for ok in ["0000:3b:00.0", "abcd:FF:1f.7"] {
            assert!(valid_bdf(ok), "{ok}");
        }
        for bad in [
            "",
            "3b:00.0",
            "0000:3b:00",
            "0000:3b:00.8",
            "0000:3b:20.0",
            "000g:3b:00.0",
            "0000:3b:00.0/",
        ] {
            assert!(!valid_bdf(bad), "{bad}");
            let err = PcieBar::for_device(bad).unwrap_err();
            assert!(matches!(err, PcieError::BadBdf(_)), "{err}");
        }
        let err = PcieBar::for_device("ffff:ff:1f.7").unwrap_err();
        assert!(matches!(err, PcieError::Open { .. }), "{err}");
    }

    #[test]
    fn a_zeroed_bar_is_not_a_ztnic() {
        let fake = FakeBar::new(BAR);
        let err = Driver::new(PcieBar::open(&fake.0).unwrap()).err().unwrap();
        assert!(matches!(err, FpgaError::NotZtnic(0)), "{err}");
    }

    #[test]
    fn a_bar_with_the_id_block_gets_the_default_configuration() {
        let fake = FakeBar::new(BAR).with_id_block();
        let mut d = Driver::new(PcieBar::open(&fake.0).unwrap()).unwrap();
        assert_eq!(d.geometry().policy_log2, 6);
        assert_eq!(d.geometry().remote_ep_entries, 16);
        use regmap::config as c;
        assert_eq!(fake.peek(c::CPU_PORT), 255);
        assert_eq!(fake.peek(c::UPLINK_PORT), 0);
        assert_eq!(fake.peek(c::VNI), 1);
        assert_eq!(
            fake.peek(c::LOCAL_VTEP_IP),
            u32::from(std::net::Ipv4Addr::new(192, 168, 0, 1))
        );
        assert_eq!(fake.peek(c::CT_BUCKETS_LOG2), 10);
        assert_eq!(fake.peek(c::POLICY_GEN), 1);
        assert_eq!(fake.peek(c::TCP_WSCALE), 14);
        // the established timeout is 5 days in microseconds, over two registers
        let us = 432_000u64 * 1_000_000;
        assert_eq!(
            fake.peek(c::TIMEOUT_LO + 2 * c::TIMEOUT_LO_STRIDE),
            us as u32
        );
        assert_eq!(
            fake.peek(c::TIMEOUT_HI + 2 * c::TIMEOUT_HI_STRIDE),
            (us >> 32) as u32
        );
        // and the configuration reads back as written
        assert_eq!(d.read_config().unwrap(), ztnic_model::Config::default());
        drop(d);
        // a file already running is adopted without a write to the configuration
        fake.poke(c::VNI, 77);
        let mut d = Driver::adopt(PcieBar::open(&fake.0).unwrap()).unwrap();
        assert_eq!(d.config().vni, 77);
        assert_eq!(fake.peek(c::VNI), 77);
        assert!(d.read_back().unwrap().is_empty());
    }
}
