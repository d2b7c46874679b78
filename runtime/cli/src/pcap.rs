//! Classic libpcap files (Ethernet link type), read and written. A malformed file is
//! an error naming the record, never a panic.

use std::io::{self, Read, Write};

/// Ethernet (LINKTYPE_ETHERNET).
const LINKTYPE_ETHERNET: u32 = 1;
const MAGIC_US: u32 = 0xa1b2_c3d4;
const MAGIC_NS: u32 = 0xa1b2_3c4d;
/// Larger records are refused as corrupt (a 256 KiB snap length is tcpdump's).
const MAX_RECORD: u32 = 256 * 1024;

/// One captured frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Capture time, microseconds since the epoch.
    pub ts_us: u64,
    pub data: Vec<u8>,
}

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PcapError {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("not a pcap file (magic {0:#010x}){1}")]
    Magic(u32, &'static str),
    #[error("link type {0} is not Ethernet (1)")]
    LinkType(u32),
    #[error("record {index}: {what}")]
    Record { index: usize, what: String },
}

fn read_exact_or_eof(r: &mut impl Read, buf: &mut [u8]) -> io::Result<bool> {
    let mut got = 0;
    while got < buf.len() {
        let n = r.read(&mut buf[got..])?;
        if n == 0 {
            if got == 0 {
                return Ok(false);
            }
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("truncated ({got} of {} bytes)", buf.len()),
            ));
        }
        got += n;
    }
    Ok(true)
}

/// Reads every record of a pcap stream.
pub fn read(mut r: impl Read) -> Result<Vec<Record>, PcapError> {
    let mut hdr = [0u8; 24];
    if !read_exact_or_eof(&mut r, &mut hdr)? {
        return Err(PcapError::Magic(0, " (empty file)"));
    }
    let le = u32::from_le_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]);
    let (swap, nanos) = match le {
        MAGIC_US => (false, false),
        MAGIC_NS => (false, true),
        m if m.swap_bytes() == MAGIC_US => (true, false),
        m if m.swap_bytes() == MAGIC_NS => (true, true),
        0x0a0d_0d0a => {
            return Err(PcapError::Magic(
                le,
                " (pcapng: convert with `editcap -F pcap`)",
            ));
        }
        m => return Err(PcapError::Magic(m, "")),
    };
    let u32_at = |b: &[u8], i: usize| {
        let v = u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        if swap { v.swap_bytes() } else { v }
    };
    let link = u32_at(&hdr, 20);
    if link != LINKTYPE_ETHERNET {
        return Err(PcapError::LinkType(link));
    }
    let mut out = Vec::new();
    let mut rec = [0u8; 16];
    loop {
        let index = out.len();
        let bad = |what: String| PcapError::Record { index, what };
        match read_exact_or_eof(&mut r, &mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(bad(format!("header: {e}"))),
        }
        let (sec, frac, incl) = (u32_at(&rec, 0), u32_at(&rec, 4), u32_at(&rec, 8));
        if incl > MAX_RECORD {
            return Err(bad(format!("length {incl} exceeds {MAX_RECORD}")));
        }
        let mut data = vec![0u8; incl as usize];
        match read_exact_or_eof(&mut r, &mut data) {
            Ok(true) => {}
            Ok(false) if incl == 0 => {}
            Ok(false) => return Err(bad("data missing".into())),
            Err(e) => return Err(bad(format!("data: {e}"))),
        }
        let frac_us = if nanos {
            u64::from(frac) / 1000
        } else {
            u64::from(frac)
        };
        out.push(Record {
            ts_us: u64::from(sec) * 1_000_000 + frac_us,
            data,
        });
    }
    Ok(out)
}

/// Writes records as a microsecond pcap with Ethernet link type.
pub fn write(mut w: impl Write, records: &[Record]) -> io::Result<()> {
    let mut hdr = Vec::with_capacity(24);
    hdr.extend_from_slice(&MAGIC_US.to_le_bytes());
    hdr.extend_from_slice(&2u16.to_le_bytes());
    hdr.extend_from_slice(&4u16.to_le_bytes());
    hdr.extend_from_slice(&0i32.to_le_bytes());
    hdr.extend_from_slice(&0u32.to_le_bytes());
    hdr.extend_from_slice(&65535u32.to_le_bytes());
    hdr.extend_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
    w.write_all(&hdr)?;
    for r in records {
        let len = u32::try_from(r.data.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame too long"))?;
        w.write_all(&((r.ts_us / 1_000_000) as u32).to_le_bytes())?;
        w.write_all(&((r.ts_us % 1_000_000) as u32).to_le_bytes())?;
        w.write_all(&len.to_le_bytes())?;
        w.write_all(&len.to_le_bytes())?;
        w.write_all(&r.data)?;
    }
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<Record> {
        vec![
            Record {
                ts_us: 1_700_000_000_123_456,
                data: vec![1, 2, 3, 4],
            },
            Record {
                ts_us: 1_700_000_001_000_000,
                data: vec![0xff; 60],
            },
        ]
    }

    #[test]
    fn written_files_read_back() {
        let mut buf = Vec::new();
        write(&mut buf, &sample()).unwrap();
        assert_eq!(read(&buf[..]).unwrap(), sample());
    }

    #[test]
    fn big_endian_and_nanosecond_files_are_read() {
        let mut buf = Vec::new();
        write(&mut buf, &sample()).unwrap();
        // nanosecond variant of the same file
        let mut ns = buf.clone();
        ns[0..4].copy_from_slice(&MAGIC_NS.to_le_bytes());
        ns[24 + 4..24 + 8].copy_from_slice(&123_456_789u32.to_le_bytes());
        assert_eq!(read(&ns[..]).unwrap()[0].ts_us, 1_700_000_000_123_456);
        // byte-swapped header and records
        let mut be = Vec::new();
        be.extend_from_slice(&MAGIC_US.to_be_bytes());
        be.extend_from_slice(&2u16.to_be_bytes());
        be.extend_from_slice(&4u16.to_be_bytes());
        be.extend_from_slice(&[0; 8]);
        be.extend_from_slice(&65535u32.to_be_bytes());
        be.extend_from_slice(&1u32.to_be_bytes());
        be.extend_from_slice(&7u32.to_be_bytes());
        be.extend_from_slice(&8u32.to_be_bytes());
        be.extend_from_slice(&2u32.to_be_bytes());
        be.extend_from_slice(&2u32.to_be_bytes());
        be.extend_from_slice(&[9, 9]);
        assert_eq!(
            read(&be[..]).unwrap(),
            vec![Record {
                ts_us: 7_000_008,
                data: vec![9, 9]
            }]
        );
    }

    #[test]
    fn malformed_files_are_errors_not_panics() {
        let mut buf = Vec::new();
        write(&mut buf, &sample()).unwrap();
        // every truncation point is an error or a shorter valid file, never a panic
        for cut in 0..buf.len() {
            let r = read(&buf[..cut]);
            if let Ok(v) = &r {
                assert!(v.len() < 2, "cut at {cut}");
            }
        }
        assert!(matches!(
            read(&buf[..30]),
            Err(PcapError::Record { index: 0, .. })
        ));
        assert!(matches!(read(&[0u8; 24][..]), Err(PcapError::Magic(0, _))));
        let mut pcapng = buf.clone();
        pcapng[0..4].copy_from_slice(&0x0a0d_0d0au32.to_le_bytes());
        assert!(
            read(&pcapng[..])
                .unwrap_err()
                .to_string()
                .contains("pcapng")
        );
        let mut raw_ip = buf.clone();
        raw_ip[20..24].copy_from_slice(&101u32.to_le_bytes());
        assert!(matches!(read(&raw_ip[..]), Err(PcapError::LinkType(101))));
        let mut huge = buf.clone();
        huge[24 + 8..24 + 12].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            read(&huge[..]),
            Err(PcapError::Record { index: 0, .. })
        ));
    }
}
