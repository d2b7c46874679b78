//! Frames built byte by byte: Ethernet 02:00:00:00:00:bb → 02:00:00:00:00:aa,
//! IPv4 (no options, TTL 64, checksum filled in), then UDP, TCP or nothing.

/// The destination and source MAC addresses of every frame built here.
pub const DST_MAC: [u8; 6] = [2, 0, 0, 0, 0, 0xaa];
pub const SRC_MAC: [u8; 6] = [2, 0, 0, 0, 0, 0xbb];

pub use ztnic_model::parse::{
    TCP_ACK as ACK, TCP_FIN as FIN, TCP_PSH as PSH, TCP_RST as RST, TCP_SYN as SYN,
};

/// Ethernet and IPv4 header of a frame of `len` bytes carrying `proto`.
fn ipv4(len: usize, proto: u8, src: [u8; 4], dst: [u8; 4]) -> Vec<u8> {
    let mut f = vec![0u8; len];
    f[0..6].copy_from_slice(&DST_MAC);
    f[6..12].copy_from_slice(&SRC_MAC);
    f[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
    let ip_len = u16::try_from(len - 14).unwrap_or(u16::MAX);
    f[14] = 0x45;
    f[16..18].copy_from_slice(&ip_len.to_be_bytes());
    f[22] = 64;
    f[23] = proto;
    f[26..30].copy_from_slice(&src);
    f[30..34].copy_from_slice(&dst);
    let csum = !ztnic_model::parse::ipv4_checksum_fold(&f[14..34]);
    f[24..26].copy_from_slice(&csum.to_be_bytes());
    f
}

/// An IPv4/UDP frame of exactly `len` bytes (at least 42) from `src` to `dst`;
/// the payload counts up from 0.
pub fn udp_frame(len: usize, src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16) -> Vec<u8> {
    let len = len.max(42);
    let mut f = ipv4(len, 17, src, dst);
    let udp_len = u16::try_from(len - 34).unwrap_or(u16::MAX);
    f[34..36].copy_from_slice(&sport.to_be_bytes());
    f[36..38].copy_from_slice(&dport.to_be_bytes());
    f[38..40].copy_from_slice(&udp_len.to_be_bytes());
    for (i, b) in f[42..].iter_mut().enumerate() {
        *b = i as u8;
    }
    f
}

/// One TCP segment.
#[derive(Clone, Copy, Debug)]
pub struct Tcp {
    pub src: [u8; 4],
    pub dst: [u8; 4],
    pub sport: u16,
    pub dport: u16,
    pub flags: u8,
    pub seq: u32,
    pub ack: u32,
    pub win: u16,
    /// Payload bytes (counting up from 0).
    pub payload: usize,
}

impl Tcp {
    /// A SYN (sequence number 1, window 65535, no payload).
    pub fn syn(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16) -> Tcp {
        Tcp {
            src,
            dst,
            sport,
            dport,
            flags: SYN,
            seq: 1,
            ack: 0,
            win: 65535,
            payload: 0,
        }
    }

    /// The frame: 60 bytes without payload (the Ethernet minimum), else
    /// 54 + payload.
    pub fn frame(&self) -> Vec<u8> {
        let mut f = ipv4((54 + self.payload).max(60), 6, self.src, self.dst);
        let ip_len = u16::try_from(40 + self.payload).unwrap_or(u16::MAX);
        f[16..18].copy_from_slice(&ip_len.to_be_bytes());
        f[24..26].copy_from_slice(&[0, 0]);
        let csum = !ztnic_model::parse::ipv4_checksum_fold(&f[14..34]);
        f[24..26].copy_from_slice(&csum.to_be_bytes());
        f[34..36].copy_from_slice(&self.sport.to_be_bytes());
        f[36..38].copy_from_slice(&self.dport.to_be_bytes());
        f[38..42].copy_from_slice(&self.seq.to_be_bytes());
        f[42..46].copy_from_slice(&self.ack.to_be_bytes());
        f[46] = 0x50;
        f[47] = self.flags;
        f[48..50].copy_from_slice(&self.win.to_be_bytes());
        for (i, b) in f[54..54 + self.payload].iter_mut().enumerate() {
            *b = i as u8;
        }
        f
    }
}

/// A minimum-size (60-byte) IPv4/TCP segment without payload.
#[allow(clippy::too_many_arguments)]
pub fn tcp_frame(
    src: [u8; 4],
    dst: [u8; 4],
    sport: u16,
    dport: u16,
    flags: u8,
    seq: u32,
    ack: u32,
    win: u16,
) -> Vec<u8> {
    Tcp {
        src,
        dst,
        sport,
        dport,
        flags,
        seq,
        ack,
        win,
        payload: 0,
    }
    .frame()
}

/// An ARP request from 02:00:00:00:00:01 (192.168.0.2) for 192.168.0.1, padded
/// to 60 bytes.
pub fn arp_request() -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&[0xff; 6]);
    f.extend_from_slice(&[2, 0, 0, 0, 0, 1, 0x08, 0x06]);
    f.extend_from_slice(&[0, 1, 0x08, 0, 6, 4, 0, 1]);
    f.extend_from_slice(&[2, 0, 0, 0, 0, 1, 192, 168, 0, 2]);
    f.extend_from_slice(&[0, 0, 0, 0, 0, 0, 192, 168, 0, 1]);
    f.resize(60, 0);
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use ztnic_model::parse::{L4, parse_frame};

    #[test]
    fn frames_parse_as_what_they_say() {
        let u = udp_frame(64, [10, 0, 0, 1], [10, 0, 1, 5], 1000, 53);
        assert_eq!(u.len(), 64);
        let p = parse_frame(&u).expect("udp parses");
        assert!(
            matches!(
                p.l4,
                L4::Udp {
                    sport: 1000,
                    dport: 53,
                    ..
                }
            ),
            "{:?}",
            p.l4
        );
        let t = Tcp {
            payload: 100,
            ..Tcp::syn([10, 0, 0, 1], [10, 0, 0, 2], 40000, 443)
        };
        let f = t.frame();
        assert_eq!(f.len(), 154);
        let p = parse_frame(&f).expect("tcp parses");
        let L4::Tcp(h) = p.l4 else {
            panic!("not TCP: {:?}", p.l4)
        };
        assert_eq!(
            (h.sport, h.dport, h.flags, h.payload_len),
            (40000, 443, SYN, 100)
        );
        assert_eq!(tcp_frame([1; 4], [2; 4], 1, 2, ACK, 5, 6, 7).len(), 60);
        assert_eq!(arp_request().len(), 60);
    }
}
