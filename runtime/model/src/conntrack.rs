//! Stage 4, conntrack (design §5, docs/datapath.md §5): a 4-way hash table indexed by
//! CRC-32 (ways 0–1) and CRC-16 (ways 2–3) of the normalised key, the Linux TCP state
//! machine with window tracking, UDP / ICMP / generic tracking, timestamp aging driven by
//! the caller's clock, and the controller-managed `ct_overflow` table.

use std::collections::HashMap;
use std::fmt;

use crc::{CRC_16_ARC, CRC_32_ISO_HDLC, Crc};

use crate::config::{Config, Timeouts};
use crate::parse::{Flow, IpPacket, L4, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, TCP_URG, Tcp};
use crate::policy::{Decision, PolicyQuery};
use crate::reason::DropReason;

/// CRC-32/ISO-HDLC (IEEE 802.3, bmv2 `crc32`): indexes conntrack ways 0–1 (and the
/// exact tables of the RTL). `CRC32.checksum(bytes)` is the value `rtl/ztnic_crc_pipe.v`
/// computes at its default parameters.
pub const CRC32: Crc<u32> = Crc::<u32>::new(&CRC_32_ISO_HDLC);
/// CRC-16/ARC (bmv2 `crc16`): indexes conntrack ways 2–3.
pub const CRC16: Crc<u16> = Crc::<u16>::new(&CRC_16_ARC);

/// Number of ways of the hash table.
pub const WAYS: usize = 4;
/// Length of the key's byte serialisation (the hash input).
pub const KEY_BYTES: usize = 39;

/// A direction-normalised conntrack key: the lower (address, port) endpoint first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CtKey {
    pub zone: u16,
    pub proto: u8,
    pub lo_addr: u128,
    pub hi_addr: u128,
    pub lo_port: u16,
    pub hi_port: u16,
}

impl CtKey {
    /// The key of a flow, and whether the flow's source is the `lo` endpoint.
    pub fn of_flow(zone: u16, f: &Flow) -> (CtKey, bool) {
        let src_lo = (f.src, f.sport) <= (f.dst, f.dport);
        let ((lo_addr, lo_port), (hi_addr, hi_port)) = if src_lo {
            ((f.src, f.sport), (f.dst, f.dport))
        } else {
            ((f.dst, f.dport), (f.src, f.sport))
        };
        let key = CtKey {
            zone,
            proto: f.proto,
            lo_addr,
            hi_addr,
            lo_port,
            hi_port,
        };
        (key, src_lo)
    }

    /// The 39 bytes that are hashed: zone ‖ proto ‖ addr_lo ‖ addr_hi ‖ port_lo ‖ port_hi.
    pub fn bytes(&self) -> [u8; KEY_BYTES] {
        let mut b = [0u8; KEY_BYTES];
        b[0..2].copy_from_slice(&self.zone.to_be_bytes());
        b[2] = self.proto;
        b[3..19].copy_from_slice(&self.lo_addr.to_be_bytes());
        b[19..35].copy_from_slice(&self.hi_addr.to_be_bytes());
        b[35..37].copy_from_slice(&self.lo_port.to_be_bytes());
        b[37..39].copy_from_slice(&self.hi_port.to_be_bytes());
        b
    }

    /// The key of its 39 bytes (the inverse of [`CtKey::bytes`]).
    pub fn from_bytes(b: &[u8; KEY_BYTES]) -> CtKey {
        let u16_at = |i: usize| u16::from_be_bytes([b[i], b[i + 1]]);
        let u128_at = |i: usize| {
            let mut a = [0u8; 16];
            a.copy_from_slice(&b[i..i + 16]);
            u128::from_be_bytes(a)
        };
        CtKey {
            zone: u16_at(0),
            proto: b[2],
            lo_addr: u128_at(3),
            hi_addr: u128_at(19),
            lo_port: u16_at(35),
            hi_port: u16_at(37),
        }
    }

    /// CRC-32 (IEEE) of the key bytes: indexes ways 0 and 1.
    pub fn h32(&self) -> u32 {
        CRC32.checksum(&self.bytes())
    }

    /// CRC-16/ARC of the key bytes: indexes ways 2 and 3 and gives the tunnel's UDP
    /// source port.
    pub fn h16(&self) -> u16 {
        CRC16.checksum(&self.bytes())
    }
}

impl fmt::Display for CtKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::addr::from_u128;
        write!(
            f,
            "zone {} proto {} {}:{} <-> {}:{}",
            self.zone,
            self.proto,
            from_u128(self.lo_addr),
            self.lo_port,
            from_u128(self.hi_addr),
            self.hi_port
        )
    }
}

/// TCP connection states, numbered as in Linux `enum tcp_conntrack`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum TcpState {
    None = 0,
    SynSent = 1,
    SynRecv = 2,
    Established = 3,
    FinWait = 4,
    CloseWait = 5,
    LastAck = 6,
    TimeWait = 7,
    Close = 8,
    SynSent2 = 9,
}

impl TcpState {
    const BY_CODE: [TcpState; 10] = [
        TcpState::None,
        TcpState::SynSent,
        TcpState::SynRecv,
        TcpState::Established,
        TcpState::FinWait,
        TcpState::CloseWait,
        TcpState::LastAck,
        TcpState::TimeWait,
        TcpState::Close,
        TcpState::SynSent2,
    ];

    pub fn name(self) -> &'static str {
        match self {
            TcpState::None => "NONE",
            TcpState::SynSent => "SYN_SENT",
            TcpState::SynRecv => "SYN_RECV",
            TcpState::Established => "ESTABLISHED",
            TcpState::FinWait => "FIN_WAIT",
            TcpState::CloseWait => "CLOSE_WAIT",
            TcpState::LastAck => "LAST_ACK",
            TcpState::TimeWait => "TIME_WAIT",
            TcpState::Close => "CLOSE",
            TcpState::SynSent2 => "SYN_SENT2",
        }
    }

    fn timeout(self, t: &Timeouts) -> u32 {
        match self {
            TcpState::None | TcpState::SynSent => t.tcp_syn_sent,
            TcpState::SynRecv => t.tcp_syn_recv,
            TcpState::Established => t.tcp_established,
            TcpState::FinWait => t.tcp_fin_wait,
            TcpState::CloseWait => t.tcp_close_wait,
            TcpState::LastAck => t.tcp_last_ack,
            TcpState::TimeWait => t.tcp_time_wait,
            TcpState::Close => t.tcp_close,
            TcpState::SynSent2 => t.tcp_syn_sent2,
        }
    }
}

/// Flag classes, the row index of the transition table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum FlagClass {
    Syn = 0,
    SynAck = 1,
    Fin = 2,
    Ack = 3,
    Rst = 4,
    None = 5,
}

impl FlagClass {
    pub fn of(flags: u8) -> FlagClass {
        if flags & TCP_RST != 0 {
            FlagClass::Rst
        } else if flags & TCP_SYN != 0 {
            if flags & TCP_ACK != 0 {
                FlagClass::SynAck
            } else {
                FlagClass::Syn
            }
        } else if flags & TCP_FIN != 0 {
            FlagClass::Fin
        } else if flags & TCP_ACK != 0 {
            FlagClass::Ack
        } else {
            FlagClass::None
        }
    }
}

/// Table cell: a state code 0..=9, or one of these.
const IV: u8 = 10;
const IG: u8 = 11;
const SS: u8 = 1;
const SR: u8 = 2;
const ES: u8 = 3;
const FW: u8 = 4;
const CW: u8 = 5;
const LA: u8 = 6;
const TW: u8 = 7;
const CL: u8 = 8;
const S2: u8 = 9;

/// Linux `tcp_conntracks[dir][flag class][state]` (net/netfilter/nf_conntrack_proto_tcp.c).
#[rustfmt::skip]
const TCP_FSM: [[[u8; 10]; 6]; 2] = [
    [
        // ORIGINAL  NO  SS  SR  ES  FW  CW  LA  TW  CL  S2
        /* syn    */ [SS, SS, IG, IG, IG, IG, IG, SS, SS, S2],
        /* synack */ [IV, IV, SR, IV, IV, IV, IV, IV, IV, SR],
        /* fin    */ [IV, IV, FW, FW, LA, LA, LA, TW, CL, IV],
        /* ack    */ [ES, IV, ES, ES, CW, CW, TW, TW, CL, IV],
        /* rst    */ [IV, CL, CL, CL, CL, CL, CL, CL, CL, CL],
        /* none   */ [IV, IV, IV, IV, IV, IV, IV, IV, IV, IV],
    ],
    [
        // REPLY     NO  SS  SR  ES  FW  CW  LA  TW  CL  S2
        /* syn    */ [IV, S2, IV, IV, IV, IV, IV, SS, IV, S2],
        /* synack */ [IV, SR, IG, IG, IG, IG, IG, IG, IG, SR],
        /* fin    */ [IV, IV, FW, FW, LA, LA, LA, TW, CL, IV],
        /* ack    */ [IV, IG, SR, ES, CW, CW, TW, TW, CL, IG],
        /* rst    */ [IV, CL, CL, CL, CL, CL, CL, CL, CL, CL],
        /* none   */ [IV, IV, IV, IV, IV, IV, IV, IV, IV, IV],
    ],
];

/// Result of one transition-table lookup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    To(TcpState),
    Ignore,
    Invalid,
}

/// Looks up the Linux transition table.
pub fn tcp_transition(reply: bool, class: FlagClass, state: TcpState) -> Transition {
    match TCP_FSM[usize::from(reply)][class as usize][state as usize] {
        IV => Transition::Invalid,
        IG => Transition::Ignore,
        code => Transition::To(TcpState::BY_CODE[usize::from(code)]),
    }
}

/// Linux `tcp_valid_flags`: the only combinations of FIN SYN RST ACK URG a tracked TCP
/// segment may carry. PSH (like ECE and CWR, which the parser already drops) is
/// always valid: it is masked off before the set is judged (`tcp_error`).
pub fn tcp_flags_valid(flags: u8) -> bool {
    const VALID: [u8; 9] = [
        TCP_SYN,
        TCP_SYN | TCP_URG,
        TCP_SYN | TCP_ACK,
        TCP_RST,
        TCP_RST | TCP_ACK,
        TCP_FIN | TCP_ACK,
        TCP_FIN | TCP_ACK | TCP_URG,
        TCP_ACK,
        TCP_ACK | TCP_URG,
    ];
    VALID.contains(&(flags & 0x3f & !TCP_PSH))
}

/// One direction's TCP window data (Linux `ip_ct_tcp_state`, without SACK and scaling
/// options).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpWindow {
    /// Highest sequence number sent plus length.
    pub end: u32,
    /// Highest right edge this direction may send up to.
    pub maxend: u32,
    /// Largest window this direction advertised (0: nothing seen yet).
    pub maxwin: u32,
    /// Highest acknowledgment number this direction sent (valid once `maxack_set`).
    pub maxack: u32,
    pub maxack_set: bool,
    /// This direction started the close (its FIN moved the connection to FIN_WAIT).
    pub close_init: bool,
}

/// The last segment that moved or was ignored by the TCP tracker (Linux `last_index`,
/// `last_dir`, `last_seq`, `last_ack`, `last_end`, `last_win`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpLast {
    pub class: FlagClass,
    pub reply: bool,
    pub seq: u32,
    pub ack: u32,
    pub end: u32,
    pub win: u16,
}

impl Default for TcpLast {
    fn default() -> Self {
        TcpLast {
            class: FlagClass::None,
            reply: false,
            seq: 0,
            ack: 0,
            end: 0,
            win: 0,
        }
    }
}

/// Per-protocol tracking state of an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProtoState {
    /// TCP with its window data, indexed [originator, responder].
    Tcp {
        state: TcpState,
        win: [TcpWindow; 2],
        last: TcpLast,
    },
    Udp,
    Icmp,
    Other,
}

/// A conntrack entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CtEntry {
    pub key: CtKey,
    /// Whether the originator is the key's `lo` endpoint.
    pub orig_lo: bool,
    pub proto: ProtoState,
    /// A reply-direction packet was seen.
    pub replied: bool,
    /// Never evicted by a new connection.
    pub assured: bool,
    /// Time of the last accepted packet, µs.
    pub last_seen: u64,
    /// The policy generation that admitted (or last re-checked) the connection.
    pub policy_gen: u16,
}

impl CtEntry {
    /// The entry's timeout in seconds under `t`.
    pub fn timeout_s(&self, t: &Timeouts) -> u32 {
        match self.proto {
            ProtoState::Tcp { state, .. } => state.timeout(t),
            ProtoState::Udp if self.replied => t.udp_replied,
            ProtoState::Udp => t.udp_unreplied,
            ProtoState::Icmp => t.icmp,
            ProtoState::Other => t.generic,
        }
    }

    /// Whether the entry has timed out at `now` (µs).
    pub fn expired(&self, now: u64, t: &Timeouts) -> bool {
        now.saturating_sub(self.last_seen) >= u64::from(self.timeout_s(t)) * 1_000_000
    }

    /// A short state name for people: the TCP state, or UNREPLIED / REPLIED.
    pub fn state_name(&self) -> &'static str {
        match self.proto {
            ProtoState::Tcp { state, .. } => state.name(),
            _ if self.replied => "REPLIED",
            _ => "UNREPLIED",
        }
    }
}

/// Where an entry lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Slot {
    Way { way: u8, index: u32 },
    Overflow,
}

/// A controller-installed `ct_overflow` entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OverflowEntry {
    pub orig_lo: bool,
    /// Last packet that hit it, µs.
    pub last_hit: u64,
    /// Idle time after which the runtime is told (P4Runtime idle timeout), µs.
    pub idle_timeout_us: u64,
}

/// What an insert did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Inserted {
    pub slot: Slot,
    /// The live non-assured entry that was evicted to make room.
    pub evicted: Option<CtKey>,
}

/// No way had room: all four candidate slots hold live assured entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("conntrack full: every candidate slot holds an assured connection")]
pub struct CtFull;

/// The conntrack hash table and its overflow table.
#[derive(Clone, Debug)]
pub struct CtTable {
    buckets: u32,
    ways: [Vec<Option<CtEntry>>; WAYS],
    overflow: HashMap<CtKey, OverflowEntry>,
}

impl CtTable {
    /// An empty table of `buckets` (a power of two) buckets per way.
    pub fn new(buckets: u32) -> Self {
        assert!(
            buckets.is_power_of_two(),
            "ct_buckets must be a power of two"
        );
        let way = || vec![None; buckets as usize];
        CtTable {
            buckets,
            ways: [way(), way(), way(), way()],
            overflow: HashMap::new(),
        }
    }

    pub fn buckets(&self) -> u32 {
        self.buckets
    }

    /// The four candidate slots of a key, in insertion preference order.
    pub fn candidates(&self, key: &CtKey) -> [(u8, u32); WAYS] {
        let mask = self.buckets - 1;
        let i32_ = key.h32() & mask;
        let i16_ = u32::from(key.h16()) & mask;
        [(0, i32_), (1, i32_), (2, i16_), (3, i16_)]
    }

    fn cell(&self, way: u8, index: u32) -> &Option<CtEntry> {
        &self.ways[usize::from(way)][index as usize]
    }

    fn cell_mut(&mut self, way: u8, index: u32) -> &mut Option<CtEntry> {
        &mut self.ways[usize::from(way)][index as usize]
    }

    /// Finds the live entry (ways first, then overflow) for `key`.
    pub fn lookup(&self, key: &CtKey, now: u64, t: &Timeouts) -> Option<Slot> {
        for (way, index) in self.candidates(key) {
            if let Some(e) = self.cell(way, index)
                && e.key == *key
                && !e.expired(now, t)
            {
                return Some(Slot::Way { way, index });
            }
        }
        self.overflow.contains_key(key).then_some(Slot::Overflow)
    }

    /// The entry in a way slot.
    pub fn get(&self, slot: Slot) -> Option<&CtEntry> {
        match slot {
            Slot::Way { way, index } => self.cell(way, index).as_ref(),
            Slot::Overflow => None,
        }
    }

    fn get_mut(&mut self, slot: Slot) -> Option<&mut CtEntry> {
        match slot {
            Slot::Way { way, index } => self.cell_mut(way, index).as_mut(),
            Slot::Overflow => None,
        }
    }

    /// Inserts a new entry: the first empty or expired candidate slot, else the first
    /// holding a live non-assured entry (evicted), else [`CtFull`].
    pub fn insert(&mut self, entry: CtEntry, now: u64, t: &Timeouts) -> Result<Inserted, CtFull> {
        let cands = self.candidates(&entry.key);
        let free = cands.iter().find(|&&(w, i)| match self.cell(w, i) {
            None => true,
            Some(e) => e.expired(now, t),
        });
        let (way, index, evicted) = match free {
            Some(&(w, i)) => (w, i, None),
            None => {
                let &(w, i) = cands
                    .iter()
                    .find(|&&(w, i)| self.cell(w, i).is_some_and(|e| !e.assured))
                    .ok_or(CtFull)?;
                (w, i, self.cell(w, i).map(|e| e.key))
            }
        };
        *self.cell_mut(way, index) = Some(entry);
        Ok(Inserted {
            slot: Slot::Way { way, index },
            evicted,
        })
    }

    /// Removes an entry.
    pub fn remove(&mut self, key: &CtKey, slot: Slot) {
        match slot {
            Slot::Way { way, index } => *self.cell_mut(way, index) = None,
            Slot::Overflow => {
                self.overflow.remove(key);
            }
        }
    }

    /// Removes every expired entry from the ways; returns their keys (the aging sweep).
    pub fn sweep(&mut self, now: u64, t: &Timeouts) -> Vec<CtKey> {
        let mut gone = Vec::new();
        for way in &mut self.ways {
            for cell in way.iter_mut() {
                if let Some(e) = cell
                    && e.expired(now, t)
                {
                    gone.push(e.key);
                    *cell = None;
                }
            }
        }
        gone
    }

    /// Live entries of the ways, with their slots.
    pub fn entries<'a>(
        &'a self,
        now: u64,
        t: &'a Timeouts,
    ) -> impl Iterator<Item = (Slot, &'a CtEntry)> + 'a {
        self.ways.iter().enumerate().flat_map(move |(w, cells)| {
            cells.iter().enumerate().filter_map(move |(i, c)| {
                c.as_ref().filter(|e| !e.expired(now, t)).map(|e| {
                    (
                        Slot::Way {
                            way: w as u8,
                            index: i as u32,
                        },
                        e,
                    )
                })
            })
        })
    }

    /// Installs or replaces a `ct_overflow` entry (a controller write).
    pub fn set_overflow(&mut self, key: CtKey, e: OverflowEntry) -> Option<OverflowEntry> {
        self.overflow.insert(key, e)
    }

    pub fn remove_overflow(&mut self, key: &CtKey) -> Option<OverflowEntry> {
        self.overflow.remove(key)
    }

    pub fn overflow_entries(&self) -> impl Iterator<Item = (&CtKey, &OverflowEntry)> {
        self.overflow.iter()
    }

    /// Overflow entries idle for at least their idle timeout at `now`: what the target
    /// reports as idle-timeout notifications. They stay until the controller deletes them.
    pub fn idle_overflow(&self, now: u64) -> Vec<CtKey> {
        let mut v: Vec<CtKey> = self
            .overflow
            .iter()
            .filter(|(_, e)| now.saturating_sub(e.last_hit) >= e.idle_timeout_us)
            .map(|(k, _)| *k)
            .collect();
        v.sort();
        v
    }
}

/// Linux/OVS ct_state bits of a packet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct CtState {
    pub new: bool,
    pub est: bool,
    pub rel: bool,
    pub rpl: bool,
    pub inv: bool,
    pub trk: bool,
}

impl CtState {
    fn tracked() -> Self {
        CtState {
            trk: true,
            ..CtState::default()
        }
    }

    fn invalid() -> Self {
        CtState {
            inv: true,
            ..CtState::tracked()
        }
    }

    const FLAGS: [&'static str; 6] = ["new", "est", "rel", "rpl", "inv", "trk"];

    fn bits(&self) -> [bool; 6] {
        [self.new, self.est, self.rel, self.rpl, self.inv, self.trk]
    }
}

impl fmt::Display for CtState {
    /// OVS notation, e.g. `+est+rpl+trk`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, on) in Self::FLAGS.iter().zip(self.bits()) {
            if on {
                write!(f, "+{name}")?;
            }
        }
        Ok(())
    }
}

/// A text that is not a ct_state.
#[derive(Debug, thiserror::Error)]
#[error("not a ct_state (want flags like +trk+est+rpl from new est rel rpl inv trk): {0:?}")]
pub struct BadCtState(String);

impl std::str::FromStr for CtState {
    type Err = BadCtState;
    fn from_str(s: &str) -> Result<Self, BadCtState> {
        let mut st = CtState::default();
        for flag in s.split('+').map(str::trim).filter(|f| !f.is_empty()) {
            match flag {
                "new" => st.new = true,
                "est" => st.est = true,
                "rel" => st.rel = true,
                "rpl" => st.rpl = true,
                "inv" => st.inv = true,
                "trk" => st.trk = true,
                _ => return Err(BadCtState(s.to_string())),
            }
        }
        Ok(st)
    }
}

/// Conntrack's verdict on one packet (policy included, since conntrack asks it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tracked {
    pub state: CtState,
    pub result: TrackResult,
    /// The rule that decided, when the policy was consulted.
    pub rule: Option<u32>,
    /// CRC-16 of the packet's key (the tunnel source-port entropy).
    pub h16: u16,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrackResult {
    Pass,
    Drop(DropReason),
    /// A new allowed connection found no slot.
    Full,
}

/// Sequence-space comparison: `a` is before `b`.
fn before(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

fn after(a: u32, b: u32) -> bool {
    before(b, a)
}

const MAX_ACK_WIN_CONST: u32 = 66_000;

/// What [`tcp_in_window`] concluded (Linux `enum nf_ct_tcp_action`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowVerdict {
    /// In the window: the connection moves on.
    Accept,
    /// Not a threat but no evidence either (a retransmission below the window, an
    /// ACK below the lower bound, a few bytes past the right edge): the packet passes
    /// and the connection does not change (Linux ≥ 6.1).
    Ignore,
    /// Out of window: the packet is invalid.
    Invalid,
}

/// The sequence-space end of a segment: seq + payload + SYN + FIN.
fn segment_end(seg: &Tcp) -> u32 {
    seg.seq
        .wrapping_add(seg.payload_len)
        .wrapping_add(u32::from(seg.flags & TCP_SYN != 0))
        .wrapping_add(u32::from(seg.flags & TCP_FIN != 0))
}

/// Linux `tcp_in_window` (nf_conntrack_proto_tcp.c, 6.x) for a segment of an existing
/// connection in state `state`. Like Linux it updates `win` (indexed [originator,
/// responder]) in place: the sender's data is initialised from its first segment even
/// when the segment then fails the checks. Every segment is judged by its sequence
/// numbers, an empty one too.
pub fn tcp_in_window(
    win: &mut [TcpWindow; 2],
    state: TcpState,
    reply: bool,
    seg: &Tcp,
    wscale: u8,
) -> WindowVerdict {
    let (si, ri) = if reply { (1, 0) } else { (0, 1) };
    let mut s = win[si];
    let mut r = win[ri];
    let v = in_window(&mut s, &mut r, state, reply, seg, wscale);
    win[si] = s;
    win[ri] = r;
    v
}

fn in_window(
    s: &mut TcpWindow,
    r: &mut TcpWindow,
    state: TcpState,
    reply: bool,
    seg: &Tcp,
    wscale: u8,
) -> WindowVerdict {
    let syn = seg.flags & TCP_SYN != 0;
    let has_ack = seg.flags & TCP_ACK != 0;
    let rst = seg.flags & TCP_RST != 0;
    let mut seq = seg.seq;
    let mut ack = seg.ack;
    let mut win = u32::from(seg.window);
    let mut end = segment_end(seg);
    if s.maxwin == 0 {
        if syn {
            // SYN/ACK answering a SYN, or the responder's SYN of a simultaneous open.
            s.end = end;
            s.maxend = end;
            s.maxwin = win.max(1);
            if !has_ack {
                return WindowVerdict::Accept;
            }
        } else {
            // Picked up mid-stream in this direction.
            s.end = end;
            s.maxwin = (win << wscale).max(1);
            s.maxend = end.wrapping_add(s.maxwin);
            if r.maxwin == 0 {
                r.end = ack;
                r.maxend = ack;
            } else if ack == r.end.wrapping_add(1) {
                r.end = r.end.wrapping_add(1);
            }
        }
    } else if syn && after(end, s.end) && matches!(state, TcpState::SynSent | TcpState::SynRecv) {
        // RFC 793: a reinitialised TCP only has to use higher sequence numbers.
        s.end = end;
        s.maxend = end;
        s.maxwin = win.max(1);
        if reply && !has_ack {
            return WindowVerdict::Accept;
        }
    }
    if !has_ack || (rst && ack == 0) {
        ack = r.end;
    }
    if rst && seq == 0 && state == TcpState::SynSent {
        // A RST answering a SYN.
        seq = s.end;
        end = s.end;
    }
    let max_ack_win = s.maxwin.max(MAX_ACK_WIN_CONST);
    if !before(seq, s.maxend.wrapping_add(1)) {
        let overshot = end.wrapping_sub(s.maxend).wrapping_add(1);
        let ack_ok = after(ack, r.end.wrapping_sub(max_ack_win).wrapping_sub(1));
        let in_recv_win = r.maxwin != 0 && after(end, s.end.wrapping_sub(r.maxwin).wrapping_sub(1));
        if in_recv_win && ack_ok && overshot <= r.maxwin && before(ack, r.end.wrapping_add(1)) {
            // More bytes than the receive window allows: passes, and its end is
            // noted so that the peer's ACK of it is in the window.
            s.end = end;
            return WindowVerdict::Ignore;
        }
        return WindowVerdict::Invalid;
    }
    if !before(ack, r.end.wrapping_add(1)) {
        // ACK of data not seen yet.
        return WindowVerdict::Invalid;
    }
    if r.maxwin != 0 && !after(end, s.end.wrapping_sub(r.maxwin).wrapping_sub(1)) {
        // Already acknowledged data retransmitted.
        return WindowVerdict::Ignore;
    }
    if !after(ack, r.end.wrapping_sub(max_ack_win).wrapping_sub(1)) {
        // An overly delayed ACK.
        return WindowVerdict::Ignore;
    }
    if !syn {
        win <<= wscale;
    }
    s.maxwin = s.maxwin.max(win);
    if after(end, s.end) {
        s.end = end;
    }
    if has_ack {
        if !s.maxack_set {
            s.maxack = ack;
            s.maxack_set = true;
        } else if after(ack, s.maxack) {
            s.maxack = ack;
        }
    }
    if r.maxwin != 0 && after(end, s.maxend) {
        r.maxwin = r.maxwin.wrapping_add(end.wrapping_sub(s.maxend));
    }
    let edge = ack.wrapping_add(win);
    if after(edge, r.maxend.wrapping_sub(1)) {
        r.maxend = edge.wrapping_add(u32::from(win == 0));
    }
    WindowVerdict::Accept
}

/// The context pair and protocol facts conntrack needs to consult the policy.
#[derive(Clone, Copy, Debug)]
pub struct PacketCtx {
    pub zone: u16,
    pub src_ctx: u32,
    pub dst_ctx: u32,
}

impl CtTable {
    /// Runs conntrack (and, for `new` packets and re-checks, the policy via `policy`) on
    /// one parsed IP packet at time `now` (µs).
    pub fn track(
        &mut self,
        now: u64,
        cfg: &Config,
        pkt: &IpPacket,
        cx: PacketCtx,
        mut policy: impl FnMut(&PolicyQuery) -> Decision,
    ) -> Tracked {
        let t = &cfg.timeouts;
        let flow = pkt.flow();
        let (key, src_lo) = CtKey::of_flow(cx.zone, &flow);
        let h16 = key.h16();
        let done = |state, result, rule| Tracked {
            state,
            result,
            rule,
            h16,
        };
        let invalid = done(
            CtState::invalid(),
            TrackResult::Drop(DropReason::CtInvalid),
            None,
        );

        match pkt.l4 {
            L4::IcmpError { embedded } => {
                let (ekey, _) = CtKey::of_flow(cx.zone, &embedded);
                // Linux: an error about a flow goes to the flow's own address, the
                // source of the quoted packet; sent anywhere else it is invalid.
                if pkt.dst != embedded.src {
                    return invalid;
                }
                return match self.lookup(&ekey, now, t) {
                    Some(slot) => {
                        // An error about an overflow flow hits its `ct_overflow`
                        // entry, which restarts the entry's idle timer (as any table
                        // hit does under P4Runtime idle timeouts); a conntrack entry
                        // is left as it is.
                        if slot == Slot::Overflow
                            && let Some(o) = self.overflow.get_mut(&ekey)
                        {
                            o.last_hit = now;
                        }
                        let st = CtState {
                            rel: true,
                            ..CtState::tracked()
                        };
                        done(st, TrackResult::Pass, None)
                    }
                    None => invalid,
                };
            }
            L4::IcmpOther { .. } => return invalid,
            L4::Tcp(seg) if !tcp_flags_valid(seg.flags) => return invalid,
            _ => {}
        }

        let (sport, dport) = pkt.l4_ports();
        let query = |orig_is_src: bool| {
            if orig_is_src {
                PolicyQuery {
                    src_ctx: cx.src_ctx,
                    dst_ctx: cx.dst_ctx,
                    proto: pkt.proto,
                    port: dport,
                }
            } else {
                PolicyQuery {
                    src_ctx: cx.dst_ctx,
                    dst_ctx: cx.src_ctx,
                    proto: pkt.proto,
                    port: sport,
                }
            }
        };
        let deny_reason = |d: Decision| match d {
            Decision::DefaultDeny => DropReason::PolicyDefaultDeny,
            _ => DropReason::PolicyDeny,
        };

        let mut slot = self.lookup(&key, now, t);
        if slot == Some(Slot::Overflow) {
            let Some(o) = self.overflow.get_mut(&key) else {
                return invalid;
            };
            o.last_hit = now;
            let st = CtState {
                est: true,
                rpl: src_lo != o.orig_lo,
                ..CtState::tracked()
            };
            return done(st, TrackResult::Pass, None);
        }

        let mut rule = None;
        if let Some(s) = slot {
            let Some(e) = self.get(s).copied() else {
                return invalid;
            };
            let reply = src_lo != e.orig_lo;
            let mut rechecked = false;
            // A SYN reopening a closed connection starts a new one: only the new
            // connection is checked against the policy (below), the dead one is
            // not re-checked first.
            let reopens = reopens(&e, reply, pkt);
            if e.policy_gen != cfg.policy_gen && !reopens {
                let d = policy(&query(!reply));
                rule = d.rule();
                if let Decision::Allow { .. } = d {
                    if let Some(m) = self.get_mut(s) {
                        m.policy_gen = cfg.policy_gen;
                    }
                    rechecked = true;
                } else {
                    self.remove(&key, s);
                    let st = CtState {
                        est: e.replied,
                        new: !e.replied && !reply,
                        rpl: reply,
                        ..CtState::tracked()
                    };
                    return done(st, TrackResult::Drop(deny_reason(d)), rule);
                }
            }
            let update = if reopens {
                Update::Reopen
            } else {
                self.update_existing(s, reply, pkt, now, cfg)
            };
            match update {
                Update::Invalid => {
                    return done(
                        CtState::invalid(),
                        TrackResult::Drop(DropReason::CtInvalid),
                        rule,
                    );
                }
                Update::Reopen => {
                    self.remove(&key, s);
                    slot = None;
                }
                Update::Kill => {
                    self.remove(&key, s);
                    let st = CtState {
                        new: !reply,
                        rpl: reply,
                        ..CtState::tracked()
                    };
                    return done(st, TrackResult::Pass, rule);
                }
                Update::Accepted { replied } => {
                    let st = CtState {
                        est: replied,
                        new: !replied && !reply,
                        rpl: reply,
                        ..CtState::tracked()
                    };
                    if st.new && !rechecked {
                        let d = policy(&query(true));
                        rule = d.rule();
                        if !matches!(d, Decision::Allow { .. }) {
                            return done(st, TrackResult::Drop(deny_reason(d)), rule);
                        }
                    }
                    return done(st, TrackResult::Pass, rule);
                }
            }
        }
        debug_assert!(slot.is_none());

        // No live entry: only a pure SYN, a UDP datagram, an echo request or another
        // protocol's packet opens one.
        let proto = match pkt.l4 {
            L4::Tcp(seg) if FlagClass::of(seg.flags) == FlagClass::Syn => {
                let mut win = [TcpWindow::default(); 2];
                let end = segment_end(&seg);
                win[0] = TcpWindow {
                    end,
                    maxend: end,
                    maxwin: u32::from(seg.window).max(1),
                    ..TcpWindow::default()
                };
                ProtoState::Tcp {
                    state: TcpState::SynSent,
                    win,
                    last: TcpLast {
                        class: FlagClass::Syn,
                        ..TcpLast::default()
                    },
                }
            }
            L4::Tcp(_) | L4::IcmpEcho { request: false, .. } => return invalid,
            L4::Udp { .. } => ProtoState::Udp,
            L4::IcmpEcho { .. } => ProtoState::Icmp,
            _ => ProtoState::Other,
        };
        let st = CtState {
            new: true,
            ..CtState::tracked()
        };
        let d = policy(&query(true));
        rule = d.rule();
        if !matches!(d, Decision::Allow { .. }) {
            return done(st, TrackResult::Drop(deny_reason(d)), rule);
        }
        let entry = CtEntry {
            key,
            orig_lo: src_lo,
            proto,
            replied: false,
            assured: false,
            last_seen: now,
            policy_gen: cfg.policy_gen,
        };
        match self.insert(entry, now, t) {
            Ok(_) => done(st, TrackResult::Pass, rule),
            Err(CtFull) => done(st, TrackResult::Full, rule),
        }
    }

    fn update_existing(
        &mut self,
        slot: Slot,
        reply: bool,
        pkt: &IpPacket,
        now: u64,
        cfg: &Config,
    ) -> Update {
        let Some(e) = self.get_mut(slot) else {
            return Update::Invalid;
        };
        match (e.proto, pkt.l4) {
            (ProtoState::Tcp { .. }, L4::Tcp(seg)) => match tcp_packet(e, reply, &seg, cfg) {
                TcpStep::Invalid => Update::Invalid,
                TcpStep::Reopen => Update::Reopen,
                TcpStep::Pass => {
                    e.replied |= reply;
                    Update::Accepted { replied: e.replied }
                }
                TcpStep::Moved => {
                    e.last_seen = now;
                    e.replied |= reply;
                    Update::Accepted { replied: e.replied }
                }
                TcpStep::Kill => Update::Kill,
            },
            (ProtoState::Tcp { .. }, _) => Update::Invalid,
            (ProtoState::Udp | ProtoState::Other, _) => {
                e.last_seen = now;
                if reply {
                    e.replied = true;
                    e.assured = true;
                }
                Update::Accepted { replied: e.replied }
            }
            (ProtoState::Icmp, _) => {
                e.last_seen = now;
                e.replied |= reply;
                Update::Accepted { replied: e.replied }
            }
        }
    }
}

enum Update {
    Invalid,
    Reopen,
    Accepted {
        replied: bool,
    },
    /// The packet passes and the connection is gone (a RST to an unanswered SYN).
    Kill,
}

/// True when `pkt` is a SYN that reopens entry `e`'s closed connection (TIME_WAIT
/// or CLOSE, RFC 1122): the entry is replaced by a new connection. Linux reopens only
/// a connection that was closed with a FIN or aborted by a RST from this direction;
/// otherwise the SYN is ignored (it passes and changes nothing).
fn reopens(e: &CtEntry, reply: bool, pkt: &IpPacket) -> bool {
    match (e.proto, pkt.l4) {
        (ProtoState::Tcp { state, win, last }, L4::Tcp(seg)) => {
            matches!(state, TcpState::TimeWait | TcpState::Close)
                && tcp_transition(reply, FlagClass::of(seg.flags), state)
                    == Transition::To(TcpState::SynSent)
                && (win[0].close_init
                    || win[1].close_init
                    || (last.reply == reply && last.class == FlagClass::Rst))
        }
        _ => false,
    }
}

/// What the TCP tracker did with a segment of a live connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TcpStep {
    /// Invalid: dropped, the connection unchanged.
    Invalid,
    /// A SYN reopening a closed connection.
    Reopen,
    /// Passes without moving the connection (ignored, or judged harmless by the
    /// window check); its timer is not restarted.
    Pass,
    /// Passes and moved the connection (state, windows, timer).
    Moved,
    /// Passes and ends the connection.
    Kill,
}

/// Linux `nf_conntrack_tcp_packet` (6.x) on entry `e` for a segment in direction
/// `reply`: the transition table, the ignore / resync rules for SYN, SYN/ACK and
/// challenge ACKs, the RST rules (an RST must carry the sequence number the peer
/// acknowledged last; an inexact in-window one keeps an ESTABLISHED connection open
/// for the challenge ACK), then the window check.
pub fn tcp_packet(e: &mut CtEntry, reply: bool, seg: &Tcp, cfg: &Config) -> TcpStep {
    let ProtoState::Tcp {
        state: old,
        mut win,
        mut last,
    } = e.proto
    else {
        return TcpStep::Invalid;
    };
    let (d, o) = if reply { (1, 0) } else { (0, 1) };
    let class = FlagClass::of(seg.flags);
    let mut old_state = old;
    let mut new = tcp_transition(reply, class, old);
    let mut skip_window = false;
    if new == Transition::To(TcpState::SynSent)
        && matches!(old, TcpState::TimeWait | TcpState::Close)
    {
        if win[0].close_init
            || win[1].close_init
            || (last.reply == reply && last.class == FlagClass::Rst)
        {
            return TcpStep::Reopen;
        }
        new = Transition::Ignore;
    }
    match new {
        Transition::Invalid => return TcpStep::Invalid,
        Transition::Ignore => {
            if class == FlagClass::SynAck
                && last.class == FlagClass::Syn
                && last.reply != reply
                && seg.ack == last.end
            {
                // This SYN/ACK answers a SYN that was ignored: client and server are
                // in sync, the tracker is not. Resync from the SYN.
                old_state = TcpState::SynSent;
                new = Transition::To(TcpState::SynRecv);
                let l = usize::from(last.reply);
                win[l] = TcpWindow {
                    end: last.end,
                    maxend: last.end,
                    maxwin: u32::from(last.win).max(1),
                    ..TcpWindow::default()
                };
                win[1 - l] = TcpWindow::default();
            } else {
                last.class = class;
                last.reply = reply;
                last.seq = seg.seq;
                last.end = segment_end(seg);
                last.win = seg.window;
                if old == TcpState::SynSent && class == FlagClass::Ack && reply {
                    // a possible challenge ACK answering the SYN
                    last.ack = seg.ack;
                }
                e.proto = ProtoState::Tcp {
                    state: old,
                    win,
                    last,
                };
                return TcpStep::Pass;
            }
        }
        Transition::To(TcpState::Close) if class == FlagClass::Rst => {
            let mut keep = false;
            if matches!(
                old,
                TcpState::FinWait
                    | TcpState::LastAck
                    | TcpState::TimeWait
                    | TcpState::Close
                    | TcpState::CloseWait
            ) {
                // already closing: no sequence check
                skip_window = true;
            } else if win[o].maxack_set && last.class != FlagClass::Syn {
                let established = old == TcpState::Established && e.assured;
                if seg.seq != 0 || established {
                    if before(seg.seq, win[o].maxack) {
                        // below what the peer acknowledged: a blind RST (a seq of 0 on a
                        // connection not yet established answers a SYN let through)
                        return TcpStep::Invalid;
                    }
                    let exact = seg.seq == win[o].maxack
                        || (last.class == FlagClass::Ack
                            && last.reply == reply
                            && seg.seq == last.end);
                    if established && !exact {
                        // inexact but in the window: keep the connection for the
                        // challenge ACK
                        keep = true;
                    }
                }
            }
            if !skip_window {
                if ((e.replied && last.class == FlagClass::Syn)
                    || (!e.assured && last.class == FlagClass::Ack))
                    && seg.ack == last.end
                {
                    // RST to a SYN or ACK that was let through unchecked
                    skip_window = true;
                } else if old == TcpState::SynSent
                    && last.class == FlagClass::Ack
                    && last.reply
                    && seg.seq == last.ack
                {
                    // RST answering a challenge ACK let through earlier
                    skip_window = true;
                }
            }
            if keep {
                new = Transition::To(old);
            }
        }
        Transition::To(_) => {}
    }
    let Transition::To(next) = new else {
        return TcpStep::Invalid;
    };
    if !skip_window {
        match tcp_in_window(&mut win, old_state, reply, seg, cfg.tcp_wscale) {
            WindowVerdict::Accept => {}
            WindowVerdict::Ignore => {
                e.proto = ProtoState::Tcp {
                    state: old,
                    win,
                    last,
                };
                return TcpStep::Pass;
            }
            WindowVerdict::Invalid => {
                if e.assured && matches!(class, FlagClass::Rst | FlagClass::Fin) {
                    let answers_close = last.reply != reply
                        && matches!(last.class, FlagClass::Fin | FlagClass::Rst);
                    if !answers_close {
                        last.class = class;
                        last.reply = reply;
                    }
                }
                e.proto = ProtoState::Tcp {
                    state: old,
                    win,
                    last,
                };
                return TcpStep::Invalid;
            }
        }
    }
    last.class = class;
    last.reply = reply;
    if old_state != next && next == TcpState::FinWait {
        win[d].close_init = true;
    }
    e.proto = ProtoState::Tcp {
        state: next,
        win,
        last,
    };
    if !e.replied && class == FlagClass::Rst {
        // the only answer was a RST: nothing was established
        return TcpStep::Kill;
    }
    if !e.assured
        && matches!(old_state, TcpState::SynRecv | TcpState::Established)
        && next == TcpState::Established
    {
        e.assured = true;
    }
    TcpStep::Moved
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u32) -> CtKey {
        CtKey {
            zone: 0,
            proto: crate::parse::PROTO_UDP,
            lo_addr: crate::addr::v4_mapped(0x0a00_0000 + n),
            hi_addr: crate::addr::v4_mapped(0x0a01_0000),
            lo_port: 1000,
            hi_port: 53,
        }
    }

    #[test]
    fn an_icmp_error_about_an_overflow_flow_restarts_its_idle_timer() {
        use crate::parse::{IpPacket, L4};
        let cfg = Config::default();
        let flow = Flow {
            v6: false,
            src: crate::addr::v4_mapped(0x0a00_0001),
            dst: crate::addr::v4_mapped(0x0a00_0102),
            proto: 17,
            sport: 4000,
            dport: 53,
        };
        let (k, lo) = CtKey::of_flow(0, &flow);
        let mut ct = CtTable::new(cfg.ct_buckets);
        ct.set_overflow(
            k,
            OverflowEntry {
                orig_lo: lo,
                last_hit: 0,
                idle_timeout_us: 1_000_000,
            },
        );
        let cx = PacketCtx {
            zone: 0,
            src_ctx: 257,
            dst_ctx: 256,
        };
        let error = IpPacket {
            v6: false,
            src: flow.dst,
            dst: flow.src,
            proto: 1,
            l4: L4::IcmpError { embedded: flow },
        };
        assert_eq!(ct.idle_overflow(900_000), Vec::<CtKey>::new());
        let tr = ct.track(900_000, &cfg, &error, cx, |_| Decision::DefaultDeny);
        assert_eq!(tr.result, TrackResult::Pass);
        assert!(tr.state.rel);
        // idle since 0.9 s, not since 0
        assert_eq!(ct.idle_overflow(1_500_000), Vec::<CtKey>::new());
        assert_eq!(ct.idle_overflow(1_900_000), vec![k]);
    }

    #[test]
    fn key_bytes_decode_back_to_the_key() {
        let k = CtKey {
            zone: 0xbeef,
            proto: 6,
            lo_addr: u128::MAX - 7,
            hi_addr: 0x1234,
            lo_port: 1,
            hi_port: 0xfffe,
        };
        assert_eq!(CtKey::from_bytes(&k.bytes()), k);
        assert_eq!(CtKey::from_bytes(&key(5).bytes()), key(5));
    }

    #[test]
    fn key_is_direction_independent() {
        let f = Flow {
            v6: false,
            src: 5,
            dst: 3,
            proto: 6,
            sport: 10,
            dport: 20,
        };
        let r = Flow {
            src: 3,
            dst: 5,
            sport: 20,
            dport: 10,
            ..f
        };
        let (k1, lo1) = CtKey::of_flow(7, &f);
        let (k2, lo2) = CtKey::of_flow(7, &r);
        assert_eq!(k1, k2);
        assert_ne!(lo1, lo2);
        assert_eq!(k1.lo_addr, 3);
    }

    #[test]
    fn hash_functions_are_the_standard_crcs() {
        // The check values of the catalogue (CRC RevEng) for "123456789".
        assert_eq!(CRC32.checksum(b"123456789"), 0xcbf4_3926);
        assert_eq!(CRC16.checksum(b"123456789"), 0xbb3d);
    }

    #[test]
    fn transition_table_follows_linux_for_a_normal_lifecycle() {
        use FlagClass::*;
        use TcpState::*;
        assert_eq!(
            tcp_transition(true, SynAck, SynSent),
            Transition::To(SynRecv)
        );
        assert_eq!(
            tcp_transition(false, Ack, SynRecv),
            Transition::To(Established)
        );
        assert_eq!(
            tcp_transition(false, Fin, Established),
            Transition::To(FinWait)
        );
        assert_eq!(
            tcp_transition(true, Ack, FinWait),
            Transition::To(CloseWait)
        );
        assert_eq!(
            tcp_transition(true, Fin, CloseWait),
            Transition::To(LastAck)
        );
        assert_eq!(
            tcp_transition(false, Ack, LastAck),
            Transition::To(TimeWait)
        );
        assert_eq!(
            tcp_transition(false, Rst, Established),
            Transition::To(Close)
        );
        assert_eq!(tcp_transition(false, Ack, SynSent), Transition::Invalid);
        assert_eq!(
            tcp_transition(true, SynAck, Established),
            Transition::Ignore
        );
    }

    #[test]
    fn invalid_flag_sets_are_rejected() {
        for bad in [0x00, 0x3f, 0x29, 0x03, 0x06, 0x01, 0x05, 0x07, 0x0b] {
            assert!(!tcp_flags_valid(bad), "{bad:#04x}");
        }
        // SYN|ACK|URG and RST|URG are not Linux flag sets
        for bad in [0x32, 0x24] {
            assert!(!tcp_flags_valid(bad), "{bad:#04x}");
        }
        // PSH is masked before the set is judged: SYN|PSH, RST|PSH, SYN|ACK|PSH pass
        for good in [0x02, 0x12, 0x10, 0x11, 0x04, 0x14, 0x18, 0x0a, 0x0c, 0x1a] {
            assert!(tcp_flags_valid(good), "{good:#04x}");
        }
    }

    #[test]
    fn full_bucket_evicts_non_assured_but_never_assured() {
        let t = Timeouts::default();
        let mut ct = CtTable::new(1);
        let entry = |n, assured| CtEntry {
            key: key(n),
            orig_lo: true,
            proto: ProtoState::Udp,
            replied: assured,
            assured,
            last_seen: 0,
            policy_gen: 1,
        };
        for n in 0..4 {
            assert_eq!(
                ct.insert(entry(n, true), 0, &t).map(|i| i.evicted),
                Ok(None)
            );
        }
        assert_eq!(ct.insert(entry(9, false), 0, &t), Err(CtFull));
        ct.remove(&key(2), Slot::Way { way: 2, index: 0 });
        ct.insert(entry(2, false), 0, &t).unwrap();
        let ins = ct.insert(entry(10, false), 0, &t).unwrap();
        assert_eq!(ins.evicted, Some(key(2)));
        // Once the unreplied UDP timeout passes, the slot of an expired entry is free again.
        let later = 121 * 1_000_000;
        assert_eq!(ct.lookup(&key(0), later, &t), None);
        assert!(
            ct.insert(entry(11, false), later, &t)
                .unwrap()
                .evicted
                .is_none()
        );
    }

    #[test]
    fn ct_state_text_round_trips() {
        let s: CtState = "+trk+est+rpl".parse().unwrap();
        assert!(s.trk && s.est && s.rpl && !s.new);
        assert_eq!(s.to_string(), "+est+rpl+trk");
        assert!("+trk+bogus".parse::<CtState>().is_err());
    }
}
