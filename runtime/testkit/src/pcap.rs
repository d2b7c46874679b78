//! Classic (libpcap, microsecond, little-endian) capture files, written and read
//! byte by byte: independent of the pcap code `ztnic replay` uses.

use std::path::Path;

/// Writes `frames` to `path`, one per millisecond from t = 100 s.
pub fn write_pcap(path: &Path, frames: &[Vec<u8>]) -> std::io::Result<()> {
    let mut b = Vec::new();
    for v in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 65535, 1] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    for (i, f) in frames.iter().enumerate() {
        let len = u32::try_from(f.len()).unwrap_or(u32::MAX);
        let usec = u32::try_from(1000 * i).unwrap_or(u32::MAX);
        for v in [100u32, usec, len, len] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b.extend_from_slice(f);
    }
    std::fs::write(path, b)
}

/// The frames of the capture at `path` (a truncated last record is left out).
pub fn read_pcap(path: &Path) -> std::io::Result<Vec<Vec<u8>>> {
    let b = std::fs::read(path)?;
    let mut out = Vec::new();
    let mut i = 24;
    while i + 16 <= b.len() {
        let len = u32::from_le_bytes([b[i + 8], b[i + 9], b[i + 10], b[i + 11]]) as usize;
        let Some(f) = b.get(i + 16..i + 16 + len) else {
            break;
        };
        out.push(f.to_vec());
        i += 16 + len;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_frames_read_back() {
        let path = std::env::temp_dir().join(format!("ztnic-testkit-{}.pcap", std::process::id()));
        let frames = vec![vec![1u8; 60], vec![2u8; 1514], vec![]];
        write_pcap(&path, &frames).expect("write");
        assert_eq!(read_pcap(&path).expect("read"), frames);
        let b = std::fs::read(&path).expect("read");
        std::fs::write(&path, &b[..b.len() - 1000]).expect("truncate");
        assert_eq!(read_pcap(&path).expect("read"), frames[..1].to_vec());
        std::fs::remove_file(&path).ok();
    }
}
