//! The packets of a sequence and their bytes (etherparse computes every checksum).

use std::fmt;
use std::net::IpAddr;

use etherparse::PacketBuilder;

/// TCP flag bits as on the wire.
pub const FIN: u8 = 0x01;
pub const SYN: u8 = 0x02;
pub const RST: u8 = 0x04;
pub const PSH: u8 = 0x08;
pub const ACK: u8 = 0x10;
pub const URG: u8 = 0x20;
pub const ECE: u8 = 0x40;
pub const CWR: u8 = 0x80;

/// Flags from letters `FSRPAUEC` (as in the scenario files).
pub fn flags(s: &str) -> u8 {
    s.chars()
        .map(|c| match c {
            'F' => FIN,
            'S' => SYN,
            'R' => RST,
            'P' => PSH,
            'A' => ACK,
            'U' => URG,
            'E' => ECE,
            'C' => CWR,
            other => panic!("unknown TCP flag letter {other:?} in a sequence definition"),
        })
        .fold(0, |a, b| a | b)
}

fn flag_letters(f: u8) -> String {
    let names = [
        (FIN, 'F'),
        (SYN, 'S'),
        (RST, 'R'),
        (PSH, 'P'),
        (ACK, 'A'),
        (URG, 'U'),
        (ECE, 'E'),
        (CWR, 'C'),
    ];
    let s: String = names
        .iter()
        .filter(|(b, _)| f & b != 0)
        .map(|(_, c)| *c)
        .collect();
    if s.is_empty() { "none".into() } else { s }
}

/// The transport part of a packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum L4 {
    Tcp {
        sport: u16,
        dport: u16,
        flags: u8,
        seq: u32,
        ack: u32,
        win: u16,
        len: usize,
    },
    Udp {
        sport: u16,
        dport: u16,
        len: usize,
    },
    /// ICMP / ICMPv6 echo.
    Echo {
        request: bool,
        id: u16,
        seq: u16,
    },
    /// A destination-unreachable error (port unreachable) quoting `quote`'s IP header and
    /// first 8 transport bytes.
    Unreachable {
        quote: Box<Pkt>,
    },
    /// Any other ICMP / ICMPv6 message: type, code, the 4 bytes after the checksum, and
    /// `len` bytes of body.
    IcmpRaw {
        ty: u8,
        code: u8,
        rest: [u8; 4],
        len: usize,
    },
}

/// One IP packet of a sequence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pkt {
    /// Sent by the server side (injected on the server's link) rather than the client's.
    pub from_server: bool,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub l4: L4,
}

impl Pkt {
    pub fn v6(&self) -> bool {
        self.src.is_ipv6()
    }

    /// The IP packet's bytes (no Ethernet header).
    pub fn ip_bytes(&self) -> Vec<u8> {
        let mut f = self.frame([0; 6], [0; 6]);
        f.drain(..14);
        f
    }

    /// The Ethernet frame.
    pub fn frame(&self, src_mac: [u8; 6], dst_mac: [u8; 6]) -> Vec<u8> {
        let eth = PacketBuilder::ethernet2(src_mac, dst_mac);
        let ip = match (self.src, self.dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => eth.ipv4(s.octets(), d.octets(), 64),
            (IpAddr::V6(s), IpAddr::V6(d)) => eth.ipv6(s.octets(), d.octets(), 64),
            _ => panic!("a sequence mixes IPv4 and IPv6 addresses in one packet"),
        };
        let v6 = self.v6();
        let mut out = Vec::new();
        let body = |n: usize| (0..n).map(|i| (i % 251) as u8).collect::<Vec<u8>>();
        let written = match &self.l4 {
            L4::Tcp {
                sport,
                dport,
                flags,
                seq,
                ack,
                win,
                len,
            } => {
                let mut b = ip.tcp(*sport, *dport, *seq, *win);
                if flags & FIN != 0 {
                    b = b.fin();
                }
                if flags & SYN != 0 {
                    b = b.syn();
                }
                if flags & RST != 0 {
                    b = b.rst();
                }
                if flags & PSH != 0 {
                    b = b.psh();
                }
                if flags & ACK != 0 {
                    b = b.ack(*ack);
                }
                if flags & URG != 0 {
                    b = b.urg(0);
                }
                if flags & ECE != 0 {
                    b = b.ece();
                }
                if flags & CWR != 0 {
                    b = b.cwr();
                }
                b.write(&mut out, &body(*len))
            }
            L4::Udp { sport, dport, len } => ip.udp(*sport, *dport).write(&mut out, &body(*len)),
            L4::Echo { request, id, seq } => {
                let ty = match (v6, request) {
                    (false, true) => 8,
                    (false, false) => 0,
                    (true, true) => 128,
                    (true, false) => 129,
                };
                let [a, b] = id.to_be_bytes();
                let [c, d] = seq.to_be_bytes();
                let rest = [a, b, c, d];
                if v6 {
                    ip.icmpv6_raw(ty, 0, rest).write(&mut out, &body(8))
                } else {
                    ip.icmpv4_raw(ty, 0, rest).write(&mut out, &body(8))
                }
            }
            L4::Unreachable { quote } => {
                let mut q = quote.ip_bytes();
                let hdr = if quote.v6() {
                    40
                } else {
                    usize::from(q[0] & 0x0f) * 4
                };
                q.truncate(hdr + 8);
                if v6 {
                    ip.icmpv6_raw(1, 4, [0; 4]).write(&mut out, &q)
                } else {
                    ip.icmpv4_raw(3, 3, [0; 4]).write(&mut out, &q)
                }
            }
            L4::IcmpRaw {
                ty,
                code,
                rest,
                len,
            } => {
                if v6 {
                    ip.icmpv6_raw(*ty, *code, *rest)
                        .write(&mut out, &body(*len))
                } else {
                    ip.icmpv4_raw(*ty, *code, *rest)
                        .write(&mut out, &body(*len))
                }
            }
        };
        written.expect("a sequence's packet is small enough to build");
        out
    }
}

impl fmt::Display for Pkt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let side = if self.from_server { "S>" } else { "C>" };
        match &self.l4 {
            L4::Tcp {
                sport,
                dport,
                flags,
                seq,
                ack,
                win,
                len,
            } => write!(
                f,
                "{side} tcp {}:{sport}->{}:{dport} {} seq {seq} ack {ack} win {win} len {len}",
                self.src,
                self.dst,
                flag_letters(*flags)
            ),
            L4::Udp { sport, dport, len } => write!(
                f,
                "{side} udp {}:{sport}->{}:{dport} len {len}",
                self.src, self.dst
            ),
            L4::Echo { request, id, seq } => write!(
                f,
                "{side} echo-{} {}->{} id {id} seq {seq}",
                if *request { "request" } else { "reply" },
                self.src,
                self.dst
            ),
            L4::Unreachable { quote } => write!(
                f,
                "{side} unreachable {}->{} quoting [{quote}]",
                self.src, self.dst
            ),
            L4::IcmpRaw { ty, code, .. } => write!(
                f,
                "{side} icmp type {ty} code {code} {}->{}",
                self.src, self.dst
            ),
        }
    }
}

/// The part of a frame that identifies a packet after forwarding (addresses, protocol
/// and transport bytes; TTL, MACs and the IPv4 header checksum change on the way).
pub fn signature(frame: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let ethertype = u16::from_be_bytes([*frame.get(12)?, *frame.get(13)?]);
    let ip = frame.get(14..)?;
    match ethertype {
        0x0800 => {
            let ihl = usize::from(ip.first()? & 0x0f) * 4;
            let total = usize::from(u16::from_be_bytes([*ip.get(2)?, *ip.get(3)?]));
            let mut id = ip.get(12..20)?.to_vec();
            id.push(*ip.get(9)?);
            Some((id, ip.get(ihl..total)?.to_vec()))
        }
        0x86dd => {
            let plen = usize::from(u16::from_be_bytes([*ip.get(4)?, *ip.get(5)?]));
            let mut id = ip.get(8..40)?.to_vec();
            id.push(*ip.get(6)?);
            Some((id, ip.get(40..40 + plen)?.to_vec()))
        }
        _ => None,
    }
}
