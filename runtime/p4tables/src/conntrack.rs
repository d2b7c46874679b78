//! The conntrack table as the P4 program keeps it (`p4/conntrack.p4`): three
//! register arrays of `4 · CT_BUCKETS_MAX` cells, way `w`, bucket `b` at index
//! `w · CT_BUCKETS_MAX + b`, read over P4Runtime as `RegisterEntry` bit strings.
//!
//! - `ct_key` (`bit<312>`): zone 16 ‖ proto 8 ‖ addr_lo 128 ‖ addr_hi 128 ‖
//!   port_lo 16 ‖ port_hi 16 — [`CtKey::bytes`];
//! - `ct_info` (`bit<128>`): `[127:64]` last seen (µs) ‖ `[63:48]` policy
//!   generation ‖ `[47:40]` TCP state ‖ `[39:32]` kind ([`KIND_EMPTY`] ..
//!   [`KIND_OTHER`]) ‖ `[26]` assured ‖ `[25]` replied ‖ `[24]` orig_lo ‖ zeros —
//!   [`CtInfo`];
//! - `ct_win` (`bit<192>`): originator end ‖ maxend ‖ maxwin, then responder end ‖
//!   maxend ‖ maxwin, 32 bits each — [`CtWin`].
//!
//! A slot is empty when its info's kind is [`KIND_EMPTY`] (a deleted entry keeps
//! its key). [`cells`] joins a read of `ct_key` and `ct_info` into the live
//! entries, [`CtCell::flow`] names their endpoints and state.

use std::net::IpAddr;

use ztnic_model::CtKey;
use ztnic_model::addr::from_u128;
use ztnic_model::conntrack::{KEY_BYTES, TcpState};
use ztnic_p4runtime_client::protocol::bytestring;
use ztnic_p4runtime_client::protocol::v1::{P4Data, p4_data::Data};

use crate::MapError;

/// Buckets per way of the P4 program's table (`CT_BUCKETS_MAX`, `p4/config.p4`):
/// the stride of the way in a register index.
pub const CT_BUCKETS_MAX: u32 = 4096;
/// Ways of the hash table.
pub const CT_WAYS: u32 = 4;
/// Cells of each conntrack register.
pub const CT_SLOTS: u32 = CT_WAYS * CT_BUCKETS_MAX;

/// Width of a `ct_key` cell.
pub const KEY_BITS: u32 = 312;
/// Width of a `ct_info` cell.
pub const INFO_BITS: u32 = 128;
/// Width of a `ct_win` cell.
pub const WIN_BITS: u32 = 192;

/// `ct_info` kind of an empty slot.
pub const KIND_EMPTY: u8 = 0;
/// `ct_info` kind of a TCP entry (state machine and window tracking).
pub const KIND_TCP: u8 = 1;
/// `ct_info` kind of a UDP entry.
pub const KIND_UDP: u8 = 2;
/// `ct_info` kind of an ICMP entry.
pub const KIND_ICMP: u8 = 3;
/// `ct_info` kind of an entry of any other protocol.
pub const KIND_OTHER: u8 = 4;

/// The register index of way `way`, bucket `bucket`; `None` outside the table.
pub fn index(way: u32, bucket: u32) -> Option<i64> {
    (way < CT_WAYS && bucket < CT_BUCKETS_MAX)
        .then(|| i64::from(way) * i64::from(CT_BUCKETS_MAX) + i64::from(bucket))
}

/// The (way, bucket) of a register index; `None` outside the table.
pub fn way_bucket(index: i64) -> Option<(u32, u32)> {
    let i = u32::try_from(index).ok().filter(|i| *i < CT_SLOTS)?;
    Some((i / CT_BUCKETS_MAX, i % CT_BUCKETS_MAX))
}

/// The name of a `ct_info` kind.
pub fn kind_name(kind: u8) -> &'static str {
    match kind {
        KIND_EMPTY => "empty",
        KIND_TCP => "tcp",
        KIND_UDP => "udp",
        KIND_ICMP => "icmp",
        KIND_OTHER => "other",
        _ => "unknown",
    }
}

/// The TCP state of a `ct_info` state code (Linux `enum tcp_conntrack`
/// numbering, datapath.md §5).
pub fn tcp_state(code: u8) -> Option<TcpState> {
    Some(match code {
        0 => TcpState::None,
        1 => TcpState::SynSent,
        2 => TcpState::SynRecv,
        3 => TcpState::Established,
        4 => TcpState::FinWait,
        5 => TcpState::CloseWait,
        6 => TcpState::LastAck,
        7 => TcpState::TimeWait,
        8 => TcpState::Close,
        9 => TcpState::SynSent2,
        _ => return None,
    })
}

/// A fixed-width register cell as a canonical P4Runtime bit string.
fn bits_data(bytes: &[u8]) -> P4Data {
    P4Data {
        data: Some(Data::Bitstring(bytestring::canonicalize(bytes))),
    }
}

/// The big-endian bytes of a bit-string cell of `bits` bits, left-padded to its
/// full width (targets may send the canonical or the padded form).
fn cell_bytes<const N: usize>(d: &P4Data, what: &str, bits: u32) -> Result<[u8; N], MapError> {
    let Some(Data::Bitstring(b)) = &d.data else {
        return Err(MapError::Invalid(format!("{what}: not a bit string")));
    };
    let canonical =
        bytestring::check(b, bits).map_err(|e| MapError::Invalid(format!("{what}: {e}")))?;
    let padded = bytestring::pad(&canonical, bits);
    padded
        .try_into()
        .map_err(|_| MapError::Invalid(format!("{what}: not {bits} bits")))
}

/// A `ct_key` cell.
pub fn key_to_data(k: &CtKey) -> P4Data {
    bits_data(&k.bytes())
}

/// The key of a `ct_key` cell.
pub fn key_from_data(d: &P4Data) -> Result<CtKey, MapError> {
    let b: [u8; KEY_BYTES] = cell_bytes(d, "ct_key", KEY_BITS)?;
    Ok(CtKey::from_bytes(&b))
}

/// A `ct_info` cell: the state of a connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CtInfo {
    /// Last packet, microseconds of the device clock.
    pub last_seen_us: u64,
    /// Policy generation that admitted (or last re-checked) the connection.
    pub policy_gen: u16,
    /// TCP state code ([`tcp_state`]); 0 for other kinds.
    pub tcp_state: u8,
    /// [`KIND_EMPTY`] .. [`KIND_OTHER`].
    pub kind: u8,
    /// Traffic was seen both ways (TCP: established); no longer evictable.
    pub assured: bool,
    /// The responder has answered.
    pub replied: bool,
    /// The lower endpoint of the key (`addr_lo`, `port_lo`) originated.
    pub orig_lo: bool,
}

impl CtInfo {
    /// The 128-bit cell value.
    pub fn to_u128(&self) -> u128 {
        (u128::from(self.last_seen_us) << 64)
            | (u128::from(self.policy_gen) << 48)
            | (u128::from(self.tcp_state) << 40)
            | (u128::from(self.kind) << 32)
            | (u128::from(self.assured) << 26)
            | (u128::from(self.replied) << 25)
            | (u128::from(self.orig_lo) << 24)
    }

    /// The info of a 128-bit cell value (the zero low bits are ignored).
    pub fn from_u128(v: u128) -> CtInfo {
        CtInfo {
            last_seen_us: (v >> 64) as u64,
            policy_gen: (v >> 48) as u16,
            tcp_state: (v >> 40) as u8,
            kind: (v >> 32) as u8,
            assured: (v >> 26) & 1 == 1,
            replied: (v >> 25) & 1 == 1,
            orig_lo: (v >> 24) & 1 == 1,
        }
    }

    /// The cell as a P4Runtime bit string.
    pub fn to_data(&self) -> P4Data {
        bits_data(&self.to_u128().to_be_bytes())
    }

    /// The info of a `ct_info` cell.
    pub fn from_data(d: &P4Data) -> Result<CtInfo, MapError> {
        let b: [u8; 16] = cell_bytes(d, "ct_info", INFO_BITS)?;
        Ok(CtInfo::from_u128(u128::from_be_bytes(b)))
    }

    /// True for a free slot.
    pub fn is_empty(&self) -> bool {
        self.kind == KIND_EMPTY
    }

    /// The TCP state, for a TCP entry.
    pub fn tcp(&self) -> Option<TcpState> {
        (self.kind == KIND_TCP).then(|| tcp_state(self.tcp_state))?
    }
}

/// One direction's window tracking (Linux `ip_ct_tcp_state`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CtWindow {
    /// Highest sequence number sent plus length.
    pub end: u32,
    /// Highest acknowledged end plus window.
    pub maxend: u32,
    /// Largest window advertised; 0 until the direction sent something.
    pub maxwin: u32,
}

/// A `ct_win` cell: the TCP windows of both directions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CtWin {
    /// The originator's direction.
    pub orig: CtWindow,
    /// The responder's direction.
    pub reply: CtWindow,
}

impl CtWin {
    /// The 24 big-endian bytes of the cell.
    pub fn to_bytes(&self) -> [u8; 24] {
        let mut b = [0u8; 24];
        let words = [
            self.orig.end,
            self.orig.maxend,
            self.orig.maxwin,
            self.reply.end,
            self.reply.maxend,
            self.reply.maxwin,
        ];
        for (i, w) in words.iter().enumerate() {
            b[4 * i..4 * i + 4].copy_from_slice(&w.to_be_bytes());
        }
        b
    }

    /// The windows of the cell's 24 big-endian bytes.
    pub fn from_bytes(b: &[u8; 24]) -> CtWin {
        let w = |i: usize| u32::from_be_bytes([b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]]);
        CtWin {
            orig: CtWindow {
                end: w(0),
                maxend: w(1),
                maxwin: w(2),
            },
            reply: CtWindow {
                end: w(3),
                maxend: w(4),
                maxwin: w(5),
            },
        }
    }

    /// The cell as a P4Runtime bit string.
    pub fn to_data(&self) -> P4Data {
        bits_data(&self.to_bytes())
    }

    /// The windows of a `ct_win` cell.
    pub fn from_data(d: &P4Data) -> Result<CtWin, MapError> {
        Ok(CtWin::from_bytes(&cell_bytes(d, "ct_win", WIN_BITS)?))
    }
}

/// One slot of the table: its key and its state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CtCell {
    /// The direction-normalised key.
    pub key: CtKey,
    /// The state.
    pub info: CtInfo,
}

/// A connection as people read it: who opened it to whom, and how it stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CtFlow {
    /// Conntrack zone.
    pub zone: u16,
    /// IP protocol number.
    pub proto: u8,
    /// Tracking kind ([`kind_name`]).
    pub kind: &'static str,
    /// The endpoint that sent the first packet.
    pub originator: (IpAddr, u16),
    /// The endpoint it was sent to.
    pub responder: (IpAddr, u16),
    /// TCP state name (datapath.md §5), for TCP entries.
    pub tcp_state: Option<&'static str>,
    /// Traffic both ways; no longer evictable.
    pub assured: bool,
    /// The responder answered.
    pub replied: bool,
    /// Last packet, microseconds of the device clock.
    pub last_seen_us: u64,
    /// Policy generation that admitted it.
    pub policy_gen: u16,
}

impl CtCell {
    /// The originating endpoint (address, port) per `orig_lo`.
    pub fn originator(&self) -> (IpAddr, u16) {
        if self.info.orig_lo {
            (from_u128(self.key.lo_addr), self.key.lo_port)
        } else {
            (from_u128(self.key.hi_addr), self.key.hi_port)
        }
    }

    /// The responding endpoint (address, port) per `orig_lo`.
    pub fn responder(&self) -> (IpAddr, u16) {
        if self.info.orig_lo {
            (from_u128(self.key.hi_addr), self.key.hi_port)
        } else {
            (from_u128(self.key.lo_addr), self.key.lo_port)
        }
    }

    /// The connection as people read it.
    pub fn flow(&self) -> CtFlow {
        CtFlow {
            zone: self.key.zone,
            proto: self.key.proto,
            kind: kind_name(self.info.kind),
            originator: self.originator(),
            responder: self.responder(),
            tcp_state: self.info.tcp().map(TcpState::name),
            assured: self.info.assured,
            replied: self.info.replied,
            last_seen_us: self.info.last_seen_us,
            policy_gen: self.info.policy_gen,
        }
    }
}

/// The live entries of a read of `ct_key` and `ct_info` (wildcard or not, in
/// any order), by register index: cells are joined by index and empty slots
/// (kind 0) are left out. An info cell without its key cell is an error.
pub fn cells(
    keys: &[(i64, P4Data)],
    infos: &[(i64, P4Data)],
) -> Result<Vec<(i64, CtCell)>, MapError> {
    let keys: std::collections::HashMap<i64, &P4Data> = keys.iter().map(|(i, d)| (*i, d)).collect();
    let mut out = Vec::new();
    for (i, d) in infos {
        let info = CtInfo::from_data(d).map_err(|e| at(*i, e))?;
        if info.is_empty() {
            continue;
        }
        let k = keys.get(i).ok_or_else(|| {
            MapError::Invalid(format!("conntrack index {i}: ct_info without ct_key"))
        })?;
        let key = key_from_data(k).map_err(|e| at(*i, e))?;
        out.push((*i, CtCell { key, info }));
    }
    out.sort_by_key(|(i, _)| *i);
    Ok(out)
}

fn at(i: i64, e: MapError) -> MapError {
    MapError::Invalid(format!("conntrack index {i}: {e}"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn key() -> CtKey {
        CtKey {
            zone: 0x1234,
            proto: 6,
            lo_addr: to(&"10.0.0.1".parse().unwrap()),
            hi_addr: to(&"2001:db8::7".parse().unwrap()),
            lo_port: 40000,
            hi_port: 443,
        }
    }

    fn to(a: &IpAddr) -> u128 {
        ztnic_model::addr::to_u128(*a)
    }

    fn info() -> CtInfo {
        CtInfo {
            last_seen_us: 0x0123_4567_89ab_cdef,
            policy_gen: 0xbeef,
            tcp_state: 3,
            kind: KIND_TCP,
            assured: true,
            replied: true,
            orig_lo: false,
        }
    }

    #[test]
    fn index_and_way_bucket_are_inverse_and_bounded() {
        assert_eq!(index(0, 0), Some(0));
        assert_eq!(index(1, 5), Some(4096 + 5));
        assert_eq!(index(3, 4095), Some(16383));
        assert_eq!(index(4, 0), None);
        assert_eq!(index(0, 4096), None);
        for i in [0, 1, 4095, 4096, 8191, 12288, 16383] {
            let (w, b) = way_bucket(i).unwrap();
            assert_eq!(index(w, b), Some(i));
        }
        assert_eq!(way_bucket(16384), None);
        assert_eq!(way_bucket(-1), None);
    }

    #[test]
    fn info_round_trips_and_matches_the_documented_layout() {
        let i = info();
        let v = i.to_u128();
        assert_eq!(v >> 64, 0x0123_4567_89ab_cdef);
        assert_eq!((v >> 48) & 0xffff, 0xbeef);
        assert_eq!((v >> 40) & 0xff, 3);
        assert_eq!((v >> 32) & 0xff, 1);
        assert_eq!((v >> 24) & 0x7, 0b110, "assured, replied, not orig_lo");
        assert_eq!(v & 0xff_ffff, 0);
        assert_eq!(CtInfo::from_u128(v), i);
        assert_eq!(CtInfo::from_data(&i.to_data()).unwrap(), i);
        let o = CtInfo {
            orig_lo: true,
            assured: false,
            replied: false,
            ..i
        };
        assert_eq!((o.to_u128() >> 24) & 0x7, 0b001);
        assert_eq!(CtInfo::from_data(&o.to_data()).unwrap(), o);
        // an empty slot is a zero cell, sent canonically as one byte
        assert_eq!(
            CtInfo::default().to_data().data,
            Some(Data::Bitstring(vec![0]))
        );
        assert!(
            CtInfo::from_data(&CtInfo::default().to_data())
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn key_and_window_round_trip() {
        let k = key();
        let d = key_to_data(&k);
        let Some(Data::Bitstring(b)) = &d.data else {
            panic!("not a bit string")
        };
        assert_eq!(b[..2], [0x12, 0x34], "zone first, most significant");
        assert_eq!(key_from_data(&d).unwrap(), k);
        let zone0 = CtKey { zone: 0, ..k };
        let d0 = key_to_data(&zone0);
        let Some(Data::Bitstring(b0)) = &d0.data else {
            panic!("not a bit string")
        };
        assert_eq!(b0.len(), 37, "canonical: the zero zone's bytes dropped");
        assert_eq!(key_from_data(&d0).unwrap(), zone0);

        let w = CtWin {
            orig: CtWindow {
                end: 1,
                maxend: 2,
                maxwin: 3,
            },
            reply: CtWindow {
                end: 0xffff_fff4,
                maxend: 5,
                maxwin: 6,
            },
        };
        let b = w.to_bytes();
        assert_eq!(b[..4], [0, 0, 0, 1], "originator end is the top word");
        assert_eq!(b[20..], [0, 0, 0, 6]);
        assert_eq!(CtWin::from_data(&w.to_data()).unwrap(), w);
    }

    #[test]
    fn bmv2_style_padded_cells_decode() {
        // bmv2 answers with the full byte width of the register (39 / 16 bytes)
        let k = CtKey { zone: 0, ..key() };
        let mut padded = vec![0u8];
        padded.extend_from_slice(&k.bytes()[1..]);
        assert_eq!(padded.len(), 39);
        let kd = P4Data {
            data: Some(Data::Bitstring(padded)),
        };
        assert_eq!(key_from_data(&kd).unwrap(), k);
        let i = CtInfo {
            last_seen_us: 0,
            ..info()
        };
        let id = P4Data {
            data: Some(Data::Bitstring(i.to_u128().to_be_bytes().to_vec())),
        };
        assert_eq!(CtInfo::from_data(&id).unwrap(), i);
        let zero = P4Data {
            data: Some(Data::Bitstring(vec![0; 16])),
        };
        assert!(CtInfo::from_data(&zero).unwrap().is_empty());
        // too wide, or not a bit string
        let wide = P4Data {
            data: Some(Data::Bitstring(vec![1; 17])),
        };
        assert!(CtInfo::from_data(&wide).is_err());
        assert!(key_from_data(&P4Data::default()).is_err());
    }

    #[test]
    fn cells_join_by_index_skip_empty_slots_and_name_the_endpoints() {
        let k = key();
        let live = info();
        let keys = vec![
            (7, key_to_data(&k)),
            (4096, key_to_data(&CtKey { zone: 9, ..k })),
            (3, key_to_data(&k)),
        ];
        let infos = vec![
            (
                4096,
                CtInfo {
                    orig_lo: true,
                    kind: KIND_UDP,
                    tcp_state: 0,
                    ..live
                }
                .to_data(),
            ),
            (7, live.to_data()),
            (3, CtInfo::default().to_data()),
        ];
        let c = cells(&keys, &infos).unwrap();
        assert_eq!(c.iter().map(|(i, _)| *i).collect::<Vec<_>>(), vec![7, 4096]);
        let tcp = c[0].1.flow();
        // orig_lo false: the higher endpoint opened the connection
        assert_eq!(tcp.originator, ("2001:db8::7".parse().unwrap(), 443));
        assert_eq!(tcp.responder, ("10.0.0.1".parse().unwrap(), 40000));
        assert_eq!((tcp.kind, tcp.tcp_state), ("tcp", Some("ESTABLISHED")));
        assert!(tcp.assured && tcp.replied);
        let udp = c[1].1.flow();
        assert_eq!(udp.originator, ("10.0.0.1".parse().unwrap(), 40000));
        assert_eq!((udp.zone, udp.kind, udp.tcp_state), (9, "udp", None));
        // an info cell whose key cell is missing
        assert!(cells(&keys[..1], &infos).is_err());
    }
}
