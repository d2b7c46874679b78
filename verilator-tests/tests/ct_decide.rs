//! `rtl/ztnic_ct_decide.v` (the engine's stage 24, conntrack decide and write) against
//! the model's `CtTable::track` on the same bucket and packet.
//!
//! The test runs chains of packets through one conntrack bucket: the model holds the
//! bucket as a one-bucket table (its four ways are the module's four ways), the module
//! is shown the bucket as its RAM would read it, and both decide. A chain starts from a
//! random bucket (empty ways, entries of the chain's flows in either direction, other
//! connections, live or expired at the microsecond, assured or not, of the current
//! policy generation or a stale one) and random ct_overflow ways, then sends TCP (with
//! sequence and acknowledgment numbers near the entry's edges so that every tracker
//! outcome is reached), UDP, ICMP echo request / reply, ICMP errors about the flows,
//! other ICMP and other protocols, in both directions, with random policy decisions for
//! both views and a policy generation that changes now and then.
//!
//! Every packet's output is compared field by field with the model's decision: the
//! ct_state, the verdict (pass, ct_invalid, policy deny / default deny, ct_full punt),
//! the rule and its counter slot, the event (ct_new naming the slot, ct_delete of a
//! revoked connection, ct_full), and the write of each way (the entry the model's table
//! holds afterwards: inserted, updated, re-checked, deleted, or no write at all). The
//! rest of the PHV must pass unchanged.
//!
//! Read-modify-write: packets follow one another back to back, as in the pipeline, so
//! the RAM data a packet is shown is the bucket before the previous packet's writes;
//! the module must forward those writes. After a bubble, a decided packet or a stall
//! the RAM data is current. A new chain uses other bucket addresses, so the last write
//! of the previous chain must not be forwarded.
//!
//! A second test runs hand-built cases through the same comparison and asserts the
//! path each is built for: a handshake back to back (the insert forwarded), a RST
//! ending an unanswered SYN, a UDP hit in each way from either side, a full bucket
//! (ct_full), an eviction, an entry expired at the microsecond and one a microsecond
//! short of it, re-checks allowed and revoked (deny, default deny), ICMP errors to the
//! flow's source and elsewhere, overflow hits, a SYN reopening TIME_WAIT.

use ztnic_model::Config;
use ztnic_model::config::Timeouts;
use ztnic_model::conntrack::{
    CtEntry, CtKey, CtState, CtTable, Inserted, OverflowEntry, PacketCtx, ProtoState, Slot,
    TcpLast, TcpState, TcpStep, TcpWindow, TrackResult, Tracked, WAYS, tcp_flags_valid, tcp_packet,
};
use ztnic_model::parse::{Flow, IpPacket, L4, Tcp};
use ztnic_model::policy::Decision;
use ztnic_model::reason::{DropReason, PuntReason};
use ztnic_rtl_sim::unit::{Error, ModuleSim};
use ztnic_verilator_tests::Rng;
use ztnic_verilator_tests::phv::{Bits, Layout};
use ztnic_verilator_tests::tcp_gen::{CLASSES, FLAGS, STATES, near, pick, window};

/// The module's bucket address width (the engine's default CT_LOG2_MAX).
const CT_ADDR_W: usize = 10;
/// Packets compared with the model.
const PACKETS: u32 = 40_000;
/// Source and destination contexts: the policy's forward view asks (SRC_CTX, DST_CTX).
const SRC_CTX: u32 = 0x0a_0001;
const DST_CTX: u32 = 0x0b_0002;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Tcp,
    Udp,
    Echo,
    Other,
}

/// A connection of a chain: endpoints a and b (a sends first, mostly).
#[derive(Clone, Copy, Debug)]
struct FlowT {
    zone: u16,
    kind: Kind,
    proto: u8,
    a: u128,
    b: u128,
    pa: u16,
    pb: u16,
}

impl FlowT {
    fn random(rng: &mut Rng) -> FlowT {
        let kind =
            [Kind::Tcp, Kind::Tcp, Kind::Udp, Kind::Echo, Kind::Other][rng.below(5) as usize];
        let v6 = rng.chance(1, 3);
        let proto = match kind {
            Kind::Tcp => 6,
            Kind::Udp => 17,
            Kind::Echo if v6 => 58,
            Kind::Echo => 1,
            Kind::Other => 47,
        };
        let addr = |rng: &mut Rng| {
            if v6 {
                (u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64())
            } else {
                0xffff_0000_0000 | u128::from(rng.next_u64() as u32)
            }
        };
        let (a, b) = (addr(rng), addr(rng));
        let id = rng.next_u64() as u16;
        let (pa, pb) = match kind {
            Kind::Tcp | Kind::Udp => (rng.next_u64() as u16, rng.next_u64() as u16),
            Kind::Echo => (id, id),
            Kind::Other => (0, 0),
        };
        FlowT {
            zone: rng.below(3) as u16,
            kind,
            proto,
            a,
            b,
            pa,
            pb,
        }
    }

    /// The flow from a (or from b when `rev`).
    fn flow(&self, rev: bool) -> Flow {
        let (src, dst, sport, dport) = if rev {
            (self.b, self.a, self.pb, self.pa)
        } else {
            (self.a, self.b, self.pa, self.pb)
        };
        Flow {
            v6: false,
            src,
            dst,
            proto: self.proto,
            sport,
            dport,
        }
    }

    fn key(&self) -> CtKey {
        CtKey::of_flow(self.zone, &self.flow(false)).0
    }
}

fn timeout_us(e: &CtEntry, t: &Timeouts) -> u64 {
    u64::from(e.timeout_s(t)) * 1_000_000
}

/// A random entry of `f`'s key (or of a random other connection) seen around `now`:
/// live, or expired by a microsecond or more.
fn random_entry(rng: &mut Rng, f: &FlowT, now: u64, cfg: &Config) -> CtEntry {
    let proto = match f.kind {
        Kind::Tcp => {
            let base_o = rng.next_u64() as u32;
            let base_r = rng.next_u64() as u32;
            let mut win = [window(rng, base_o), window(rng, base_r)];
            for d in 0..2 {
                if rng.chance(2, 3) {
                    let peer_end = win[1 - d].end;
                    win[d].maxack = near(rng, peer_end, 3);
                    win[d].maxack_set = true;
                }
            }
            let edges = [win[0].end, win[0].maxend, win[1].end, win[1].maxend];
            ProtoState::Tcp {
                // closed connections often: a SYN may reopen them
                state: if rng.chance(1, 4) {
                    [TcpState::TimeWait, TcpState::Close][rng.below(2) as usize]
                } else {
                    STATES[rng.below(10) as usize]
                },
                win,
                last: TcpLast {
                    class: CLASSES[rng.below(6) as usize],
                    reply: rng.chance(1, 2),
                    seq: 0,
                    ack: pick(rng, &edges),
                    end: pick(rng, &edges),
                    win: rng.next_u64() as u16,
                },
            }
        }
        Kind::Udp => ProtoState::Udp,
        Kind::Echo => ProtoState::Icmp,
        Kind::Other => ProtoState::Other,
    };
    let replied = rng.chance(1, 2);
    let mut e = CtEntry {
        key: f.key(),
        orig_lo: rng.chance(1, 2),
        proto,
        replied,
        assured: replied && rng.chance(2, 3),
        last_seen: 0,
        policy_gen: if rng.chance(3, 4) {
            cfg.policy_gen
        } else {
            cfg.policy_gen ^ 1
        },
    };
    let t = timeout_us(&e, &cfg.timeouts);
    let idle = match rng.below(8) {
        0 => t.saturating_sub(1),
        1 => t,
        2 => t + 1,
        3 => t + rng.below(5_000_000),
        _ => rng.below(t.max(1)),
    };
    e.last_seen = now.saturating_sub(idle);
    if rng.chance(1, 20) {
        // seen "after" now (a clock the entry was written at runs ahead): never idle
        e.last_seen = now + rng.below(100);
    }
    e
}

/// The RTL layout of a conntrack key: {zone, proto, lo_addr, hi_addr, lo_port, hi_port}.
fn set_key(b: &mut Bits, lo: usize, k: &CtKey) {
    b.set(lo, 16, u128::from(k.hi_port));
    b.set(lo + 16, 16, u128::from(k.lo_port));
    b.set(lo + 32, 128, k.hi_addr);
    b.set(lo + 160, 128, k.lo_addr);
    b.set(lo + 288, 8, u128::from(k.proto));
    b.set(lo + 296, 16, u128::from(k.zone));
}

/// A conntrack way as the RTL stores it (all zero for an empty way; a TCP entry's
/// `last.seq` is not kept).
fn encode_entry(l: &Layout, e: Option<&CtEntry>) -> Bits {
    let mut b = Bits::zero(l.p("L_CONNTRACK_W"));
    let Some(e) = e else {
        return b;
    };
    let f = |n: &str| l.p(&format!("L_CONNTRACK_{n}_LSB"));
    b.set(f("VALID"), 1, 1);
    set_key(&mut b, f("KEY"), &e.key);
    b.set(f("ORIG_LO"), 1, u128::from(e.orig_lo));
    b.set(f("ASSURED"), 1, u128::from(e.assured));
    b.set(f("REPLIED"), 1, u128::from(e.replied));
    b.set(f("LAST_SEEN"), 64, u128::from(e.last_seen));
    b.set(f("GEN"), 32, u128::from(e.policy_gen));
    let kind = match e.proto {
        ProtoState::Tcp { .. } => "CT_KIND_TCP",
        ProtoState::Udp => "CT_KIND_UDP",
        ProtoState::Icmp => "CT_KIND_ICMP",
        ProtoState::Other => "CT_KIND_OTHER",
    };
    b.set(f("KIND"), 2, l.p(kind) as u128);
    if let ProtoState::Tcp { state, win, last } = e.proto {
        b.set(f("STATE"), 4, state as u128);
        for (d, w) in ["ORIG", "REPLY"].iter().zip(win.iter()) {
            b.set(f(&format!("{d}_END")), 32, u128::from(w.end));
            b.set(f(&format!("{d}_MAXEND")), 32, u128::from(w.maxend));
            b.set(f(&format!("{d}_MAXWIN")), 32, u128::from(w.maxwin));
            b.set(f(&format!("{d}_MAXACK")), 32, u128::from(w.maxack));
            b.set(f(&format!("{d}_MAXACK_SET")), 1, u128::from(w.maxack_set));
            b.set(f(&format!("{d}_CLOSE_INIT")), 1, u128::from(w.close_init));
        }
        b.set(f("LAST_CLASS"), 3, last.class as u128);
        b.set(f("LAST_REPLY"), 1, u128::from(last.reply));
        b.set(f("LAST_ACK"), 32, u128::from(last.ack));
        b.set(f("LAST_END"), 32, u128::from(last.end));
        b.set(f("LAST_WIN"), 16, u128::from(last.win));
    }
    b
}

/// `count` entries of `width` bits side by side, entry 0 in the low bits.
fn concat(parts: &[Bits], width: usize) -> Bits {
    let mut all = Bits::zero(width * parts.len());
    for (i, p) in parts.iter().enumerate() {
        for w in 0..width.div_ceil(32) {
            let n = (width - 32 * w).min(32);
            all.set(i * width + 32 * w, n, p.get(32 * w, n));
        }
    }
    all
}

fn slice(b: &Bits, lo: usize, width: usize) -> Bits {
    let mut out = Bits::zero(width);
    for w in 0..width.div_ceil(32) {
        let n = (width - 32 * w).min(32);
        out.set(32 * w, n, b.get(lo + 32 * w, n));
    }
    out
}

/// The model's four ways of the (one) bucket.
fn ways(t: &CtTable) -> [Option<CtEntry>; WAYS] {
    std::array::from_fn(|w| {
        t.get(Slot::Way {
            way: w as u8,
            index: 0,
        })
        .copied()
    })
}

/// A one-bucket table holding `cells` in its ways.
fn table_of(cells: &[Option<CtEntry>; WAYS], ovf: &[Option<(CtKey, bool)>; WAYS]) -> CtTable {
    let mut t = CtTable::new(1);
    // no timeout is zero at time 0, so each insert takes the next way
    let none = Timeouts {
        tcp_syn_sent: u32::MAX,
        tcp_syn_recv: u32::MAX,
        tcp_established: u32::MAX,
        tcp_fin_wait: u32::MAX,
        tcp_close_wait: u32::MAX,
        tcp_last_ack: u32::MAX,
        tcp_time_wait: u32::MAX,
        tcp_close: u32::MAX,
        tcp_syn_sent2: u32::MAX,
        udp_unreplied: u32::MAX,
        udp_replied: u32::MAX,
        icmp: u32::MAX,
        generic: u32::MAX,
    };
    for (w, c) in cells.iter().enumerate() {
        let placeholder = CtEntry {
            last_seen: 0,
            ..cells.iter().flatten().next().copied().unwrap_or(CtEntry {
                key: CtKey {
                    zone: 0,
                    proto: 0,
                    lo_addr: 0,
                    hi_addr: 0,
                    lo_port: 0,
                    hi_port: 0,
                },
                orig_lo: true,
                proto: ProtoState::Other,
                replied: false,
                assured: true,
                last_seen: 0,
                policy_gen: 0,
            })
        };
        let e = c.unwrap_or(placeholder);
        let ins = t.insert(e, 0, &none);
        assert_eq!(
            ins.map(|i| i.slot),
            Ok(Slot::Way {
                way: w as u8,
                index: 0
            }),
            "the test's table setup"
        );
    }
    // then the ways meant to be empty are emptied
    for (w, c) in cells.iter().enumerate() {
        if c.is_none()
            && let Some(e) = t
                .get(Slot::Way {
                    way: w as u8,
                    index: 0,
                })
                .copied()
        {
            t.remove(
                &e.key,
                Slot::Way {
                    way: w as u8,
                    index: 0,
                },
            );
        }
    }
    for (k, orig_lo) in ovf.iter().flatten() {
        t.set_overflow(
            *k,
            OverflowEntry {
                orig_lo: *orig_lo,
                last_hit: 0,
                idle_timeout_us: u64::MAX,
            },
        );
    }
    t
}

fn cts_bits(s: &CtState) -> u128 {
    u128::from(s.new)
        | u128::from(s.est) << 1
        | u128::from(s.rel) << 2
        | u128::from(s.rpl) << 3
        | u128::from(s.inv) << 4
        | u128::from(s.trk) << 5
}

fn decision(valid: bool, allow: bool, id: u32) -> Decision {
    match (valid, allow) {
        (true, true) => Decision::Allow { rule: id },
        (true, false) => Decision::Deny { rule: id },
        _ => Decision::DefaultDeny,
    }
}

/// The policy results of the two views as the PHV carries them.
#[derive(Clone, Copy, Debug)]
struct View {
    valid: bool,
    allow: bool,
    id: u32,
    slot: u16,
}

struct Rtl {
    m: ModuleSim,
}

impl Rtl {
    fn set_bits(&mut self, port: &str, b: &Bits) -> Result<(), Error> {
        self.m.set(port, &b.0)
    }

    fn get_bits(&mut self, port: &str) -> Result<Bits, Error> {
        Ok(Bits(self.m.get(port)?))
    }
}

#[derive(Default, Debug)]
struct Seen {
    by_result: [u32; 6],
    tcp_steps: [u32; 5],
    inserts: u32,
    evictions: u32,
    full: u32,
    revoked: u32,
    rechecked: u32,
    reopened: u32,
    overflow_hits: u32,
    expired_skipped: u32,
    forwarded: u32,
    icmp_rel: u32,
    stalls: u32,
}

/// A conntrack bucket as the module and the model see it.
struct Bucket {
    /// The model's table of one bucket: its ways are the module's ways.
    table: CtTable,
    ovf_keys: [Option<(CtKey, bool)>; WAYS],
    ovf_bits: Bits,
    addr_lo: u32,
    addr_hi: u32,
    /// The bucket before the last packet, when that packet wrote (back to back): what
    /// the RAM shows the next packet.
    before_prev: Option<[Option<CtEntry>; WAYS]>,
}

impl Bucket {
    /// A bucket at `addr_lo` / `addr_hi` holding `cells`, its overflow ways `ovf`
    /// (key, originator is lo), the RAM up to date.
    fn new(
        l: &Layout,
        cells: &[Option<CtEntry>; WAYS],
        ovf_keys: [Option<(CtKey, bool)>; WAYS],
        addr_lo: u32,
        addr_hi: u32,
    ) -> Bucket {
        let ovf_w = l.p("L_CT_OVERFLOW_W");
        let ob: Vec<Bits> = ovf_keys
            .iter()
            .map(|o| {
                let mut w = Bits::zero(ovf_w);
                if let Some((k, orig_lo)) = o {
                    w.set(l.p("L_CT_OVERFLOW_VALID_LSB"), 1, 1);
                    set_key(&mut w, l.p("L_CT_OVERFLOW_KEY_LSB"), k);
                    w.set(l.p("L_CT_OVERFLOW_ORIG_LO_LSB"), 1, u128::from(*orig_lo));
                }
                w
            })
            .collect();
        Bucket {
            table: table_of(cells, &ovf_keys),
            ovf_keys,
            ovf_bits: concat(&ob, ovf_w),
            addr_lo,
            addr_hi,
            before_prev: None,
        }
    }
}

/// A packet in stage 23 and what comes with it.
struct Packet {
    pkt: IpPacket,
    zone: u16,
    /// The policy's forward and reverse views.
    pf: View,
    pr: View,
    /// Decided upstream (passes unchanged).
    done: bool,
    /// A bubble (s_valid low).
    bubble: bool,
    /// A clock with adv low before the packet moves.
    stall: bool,
}

/// What the model decided, when the packet reached conntrack.
struct Decided {
    tr: Tracked,
    wr_en: u64,
    /// The way of a new entry.
    inserted: Option<u32>,
    revoked: bool,
}

/// Runs one packet through the module and the model and compares every output.
#[allow(clippy::too_many_arguments)]
fn step(
    rtl: &mut Rtl,
    l: &Layout,
    rng: &mut Rng,
    seen: &mut Seen,
    i: u32,
    now: u64,
    cfg: &Config,
    b: &mut Bucket,
    p: &Packet,
) -> Result<Option<Decided>, Error> {
    let phv_w = l.p("PHV_W");
    let ct_w = l.p("L_CONNTRACK_W");
    let (pkt, pf, pr, done, bubble) = (p.pkt, p.pf, p.pr, p.done, p.bubble);
    let (key, src_lo) = match pkt.l4 {
        L4::IcmpError { embedded } => (
            CtKey::of_flow(p.zone, &embedded).0,
            CtKey::of_flow(p.zone, &pkt.flow()).1,
        ),
        _ => CtKey::of_flow(p.zone, &pkt.flow()),
    };
    let hit_before = b.table.lookup(&key, now, &cfg.timeouts);

    // the PHV in stage 23
    let mut s = Bits::zero(phv_w);
    for w in 0..phv_w.div_ceil(32) {
        let n = (phv_w - 32 * w).min(32);
        s.set(32 * w, n, u128::from(rng.next_u64() as u32));
    }
    s.set(l.p("F_DONE"), 1, u128::from(done));
    if !done {
        s.set(l.p("F_EVP"), 1, 0);
        s.set(l.p("F_RULEV"), 1, 0);
    }
    let kind_code = match pkt.l4 {
        L4::Tcp(_) => "K_TCP",
        L4::Udp { .. } => "K_UDP",
        L4::IcmpEcho { request: true, .. } => "K_ECHO_REQ",
        L4::IcmpEcho { request: false, .. } => "K_ECHO_REP",
        L4::IcmpError { .. } => "K_ICMP_ERR",
        L4::IcmpOther { .. } => "K_ICMP_OTHER",
        L4::Other => "K_OTHER",
    };
    s.set(l.p("F_KIND"), 3, l.p(kind_code) as u128);
    set_key(&mut s, l.p("F_KEY"), &key);
    s.set(l.p("F_SRCLO"), 1, u128::from(src_lo));
    if let L4::Tcp(seg) = pkt.l4 {
        s.set(l.p("F_FLAGS"), 6, u128::from(seg.flags));
        s.set(l.p("F_SEQ"), 32, u128::from(seg.seq));
        s.set(l.p("F_ACK"), 32, u128::from(seg.ack));
        s.set(l.p("F_PAYLEN"), 16, u128::from(seg.payload_len));
        s.set(l.p("F_WIN"), 16, u128::from(seg.window));
    }
    s.set(l.p("F_DST"), 128, pkt.dst);
    if let L4::IcmpError { embedded } = pkt.l4 {
        s.set(l.p("F_ESRC"), 128, embedded.src);
    }
    for (p, v) in [("F", pf), ("R", pr)] {
        s.set(l.p(&format!("F_P{p}V")), 1, u128::from(v.valid));
        s.set(l.p(&format!("F_P{p}A")), 1, u128::from(v.allow));
        s.set(l.p(&format!("F_P{p}ID")), 32, u128::from(v.id));
        s.set(l.p(&format!("F_P{p}SLOT")), 16, u128::from(v.slot));
    }
    let h32 = s.get(l.p("F_H32"), 32) as u32;

    // the RAM data: before the last packet's writes when it wrote, else current
    let current = ways(&b.table);
    let ram = b.before_prev.unwrap_or(current);
    let forwarded = b.before_prev.is_some_and(|b| b != current);
    let ct_rd = concat(
        &ram.iter()
            .map(|c| encode_entry(l, c.as_ref()))
            .collect::<Vec<_>>(),
        ct_w,
    );
    let mut tbits = Bits::zero(64 * 16);
    let to = &cfg.timeouts;
    for (name, v) in [
        ("TIMEOUT_TCP_SYN_SENT", to.tcp_syn_sent),
        ("TIMEOUT_TCP_SYN_RECV", to.tcp_syn_recv),
        ("TIMEOUT_TCP_ESTABLISHED", to.tcp_established),
        ("TIMEOUT_TCP_FIN_WAIT", to.tcp_fin_wait),
        ("TIMEOUT_TCP_CLOSE_WAIT", to.tcp_close_wait),
        ("TIMEOUT_TCP_LAST_ACK", to.tcp_last_ack),
        ("TIMEOUT_TCP_TIME_WAIT", to.tcp_time_wait),
        ("TIMEOUT_TCP_CLOSE", to.tcp_close),
        ("TIMEOUT_TCP_SYN_SENT2", to.tcp_syn_sent2),
        ("TIMEOUT_UDP_UNREPLIED", to.udp_unreplied),
        ("TIMEOUT_UDP_REPLIED", to.udp_replied),
        ("TIMEOUT_ICMP", to.icmp),
        ("TIMEOUT_OTHER", to.generic),
    ] {
        tbits.set(64 * l.p(name), 64, u128::from(v) * 1_000_000);
    }

    rtl.m.set_u64("ts_us", now)?;
    rtl.m.set_u64("cfg_policy_gen", u64::from(cfg.policy_gen))?;
    rtl.m.set_u64("cfg_tcp_wscale", u64::from(cfg.tcp_wscale))?;
    rtl.set_bits("cfg_timeouts", &tbits)?;
    rtl.m.set_bool("s_valid", !bubble)?;
    rtl.set_bits("s_phv", &s)?;
    rtl.m.set_u64("addr_lo", u64::from(b.addr_lo))?;
    rtl.m.set_u64("addr_hi", u64::from(b.addr_hi))?;
    rtl.set_bits("ct_rd", &ct_rd)?;
    rtl.set_bits("ovf_rd", &b.ovf_bits)?;

    // a stall now and then: nothing is written, nothing moves
    if p.stall {
        rtl.m.set_bool("adv", false)?;
        rtl.m.eval()?;
        assert_eq!(rtl.m.get_u64("wr_en")?, 0, "#{i}: a write while adv is low");
        rtl.m.tick("clk")?;
        seen.stalls += 1;
    }
    rtl.m.set_bool("adv", true)?;
    rtl.m.eval()?;

    let m_phv = rtl.get_bits("m_phv")?;
    let wr_en = rtl.m.get_u64("wr_en")?;
    let wr_data = rtl.get_bits("wr_data")?;
    let wr_addr = rtl.get_bits("wr_addr")?;
    for w in 0..WAYS {
        let want = if w < 2 { b.addr_lo } else { b.addr_hi };
        assert_eq!(
            wr_addr.get(w * CT_ADDR_W, CT_ADDR_W) as u32,
            want,
            "#{i}: the address of way {w}"
        );
    }

    if done || bubble {
        assert_eq!(
            m_phv.0, s.0,
            "#{i}: a decided packet or a bubble must pass unchanged"
        );
        assert_eq!(
            wr_en, 0,
            "#{i}: a decided packet or a bubble writes nothing"
        );
        rtl.m.tick("clk")?;
        b.before_prev = None;
        return Ok(None);
    }

    // the model's decision on the same bucket
    let cx = PacketCtx {
        zone: p.zone,
        src_ctx: SRC_CTX,
        dst_ctx: DST_CTX,
    };
    let before = b.table.clone();
    let tr = b.table.track(now, cfg, &pkt, cx, |q| {
        if q.src_ctx == SRC_CTX {
            decision(pf.valid, pf.allow, pf.id)
        } else {
            decision(pr.valid, pr.allow, pr.id)
        }
    });
    let after = ways(&b.table);
    let ctx = || {
        format!(
            "#{i}: now {now} gen {} {pkt:?} key {key} fwd {pf:?} rev {pr:?}\n bucket {:#?}\n ram {ram:?}\n ovf {:?}\n model {tr:?}\n after {after:#?}",
            cfg.policy_gen,
            ways(&before),
            b.ovf_keys
        )
    };

    // facts of the model's path
    let way_hit = match hit_before {
        Some(Slot::Way { way, .. })
            if !matches!(pkt.l4, L4::IcmpError { .. } | L4::IcmpOther { .. }) =>
        {
            Some(usize::from(way))
        }
        _ => None,
    };
    let step = match (way_hit.and_then(|w| ways(&before)[w]), pkt.l4) {
        (
            Some(
                mut e @ CtEntry {
                    proto: ProtoState::Tcp { .. },
                    ..
                },
            ),
            L4::Tcp(seg),
        ) if tcp_flags_valid(seg.flags) => {
            let reply = e.orig_lo != src_lo;
            Some(tcp_packet(&mut e, reply, &seg, cfg))
        }
        _ => None,
    };
    let reopen = step == Some(TcpStep::Reopen);
    let policy_drop = matches!(
        tr.result,
        TrackResult::Drop(DropReason::PolicyDeny | DropReason::PolicyDefaultDeny)
    );
    let revoked = policy_drop && !reopen && way_hit.is_some_and(|w| after[w].is_none());
    let inserted = tr.result == TrackResult::Pass && tr.state.new && (way_hit.is_none() || reopen);

    // verdict
    let (vk, why) = match tr.result {
        TrackResult::Pass => (s.get(l.p("F_VK"), 2) as usize, s.get(l.p("F_WHY"), 8) as u8),
        TrackResult::Drop(r) => (l.p("V_DROP"), r.code()),
        TrackResult::Full => (l.p("V_PUNT"), PuntReason::CtFull.code()),
    };
    let mut want = s.clone();
    want.set(l.p("F_DONE"), 1, u128::from(tr.result != TrackResult::Pass));
    want.set(l.p("F_VK"), 2, vk as u128);
    want.set(l.p("F_WHY"), 8, u128::from(why));
    want.set(l.p("F_CTV"), 1, 1);
    want.set(l.p("F_CTS"), 6, cts_bits(&tr.state));
    match tr.rule {
        Some(id) => {
            let v = if id == pf.id { pf } else { pr };
            assert_eq!(id, v.id, "{}: the model's rule is one of the views'", ctx());
            want.set(l.p("F_RULEV"), 1, 1);
            want.set(l.p("F_RULE"), 32, u128::from(id));
            want.set(l.p("F_RSLOT"), 16, u128::from(v.slot));
        }
        None => {
            // no rule decided: the id and slot are those the packet came with, or
            // those of a view without a rule (the policy said default deny)
            let got = (
                m_phv.get(l.p("F_RULE"), 32) as u32,
                m_phv.get(l.p("F_RSLOT"), 16) as u16,
            );
            let mut ok = vec![(
                s.get(l.p("F_RULE"), 32) as u32,
                s.get(l.p("F_RSLOT"), 16) as u16,
            )];
            ok.extend([pf, pr].iter().filter(|v| !v.valid).map(|v| (v.id, v.slot)));
            assert!(
                ok.contains(&got),
                "{}: rule and slot {got:?} of no rule",
                ctx()
            );
            want.set(l.p("F_RULE"), 32, u128::from(got.0));
            want.set(l.p("F_RSLOT"), 16, u128::from(got.1));
        }
    }
    let event = |kind: &str, reason: u8, hash: u32| {
        let mut ev = Bits::zero(128);
        ev.set(l.p("L_EVENT_KIND_LSB"), 8, l.p(kind) as u128);
        ev.set(l.p("L_EVENT_REASON_LSB"), 8, u128::from(reason));
        ev.set(l.p("L_EVENT_PORT_LSB"), 16, s.get(l.p("F_PORT"), 16));
        ev.set(l.p("L_EVENT_CTX_LSB"), 24, s.get(l.p("F_SCTX"), 24));
        ev.set(l.p("L_EVENT_HASH_LSB"), 32, u128::from(hash));
        ev.set(l.p("L_EVENT_TIME_LSB"), 32, u128::from(now as u32));
        ev.get(0, 128)
    };
    let inserted_way = if inserted {
        // the slot the model's insert takes (after a reopen's delete): the way an
        // insert into the bucket as it was picks
        let mut probe = before.clone();
        if reopen && let Some(w) = way_hit {
            probe.remove(
                &key,
                Slot::Way {
                    way: w as u8,
                    index: 0,
                },
            );
        }
        let marker = CtEntry {
            policy_gen: cfg.policy_gen,
            last_seen: now,
            ..after
                .iter()
                .flatten()
                .next()
                .copied()
                .unwrap_or_else(|| panic!("{}: the model inserted no entry", ctx()))
        };
        let Ok(Inserted {
            slot: Slot::Way { way, .. },
            ..
        }) = probe.insert(marker, now, &cfg.timeouts)
        else {
            panic!("{}: no slot for the model's insert", ctx());
        };
        let way = u32::from(way);
        assert_eq!(
            after[way as usize].map(|e| e.key),
            Some(key),
            "{}: the model's insert is not in way {way}",
            ctx()
        );
        Some(way)
    } else {
        None
    };
    let ev = if tr.result == TrackResult::Full {
        Some(event("EVENT_KIND_CT_FULL", PuntReason::CtFull.code(), h32))
    } else if revoked {
        let TrackResult::Drop(r) = tr.result else {
            unreachable!("a policy drop");
        };
        Some(event("EVENT_KIND_CT_DELETE", r.code(), h32))
    } else if let Some(way) = inserted_way {
        let addr = if way < 2 { b.addr_lo } else { b.addr_hi };
        Some(event("EVENT_KIND_CT_NEW", 0, way << CT_ADDR_W | addr))
    } else {
        None
    };
    if let Some(ev) = ev {
        want.set(l.p("F_EVP"), 1, 1);
        want.set(l.p("F_EV"), 128, ev);
    }
    for (name, lo, w) in [
        ("done/vk/why", l.p("F_DONE"), 11),
        (
            "ctv/cts/rulev/rule/rslot",
            l.p("F_CTV"),
            1 + 6 + 1 + 32 + 16,
        ),
        ("evp", l.p("F_EVP"), 1),
        ("event", l.p("F_EV"), 128),
    ] {
        assert_eq!(m_phv.get(lo, w), want.get(lo, w), "{}: {name}", ctx());
    }
    assert_eq!(m_phv.0, want.0, "{}: the rest of the PHV", ctx());

    // the writes: every way the model changed, with the model's entry
    let was = ways(&before);
    for w in 0..WAYS {
        let wrote = wr_en >> w & 1 == 1;
        let data = slice(&wr_data, w * ct_w, ct_w);
        let model = encode_entry(l, after[w].as_ref());
        if wrote {
            assert_eq!(data.0, model.0, "{}: the write of way {w}", ctx());
        } else {
            assert_eq!(
                after[w],
                was[w],
                "{}: way {w} changed without a write",
                ctx()
            );
        }
    }

    // what was reached
    let k = match tr.result {
        TrackResult::Pass if tr.state.new => 0,
        TrackResult::Pass if tr.state.rel => 1,
        TrackResult::Pass => 2,
        TrackResult::Drop(DropReason::CtInvalid) => 3,
        TrackResult::Drop(_) => 4,
        TrackResult::Full => 5,
    };
    seen.by_result[k] += 1;
    if let Some(st) = step {
        seen.tcp_steps[st as usize] += 1;
    }
    seen.inserts += u32::from(inserted);
    if inserted
        && was
            .iter()
            .all(|c| c.is_some_and(|e| !e.expired(now, &cfg.timeouts)))
    {
        seen.evictions += 1;
    }
    seen.full += u32::from(tr.result == TrackResult::Full);
    seen.revoked += u32::from(revoked);
    seen.reopened += u32::from(reopen && tr.result == TrackResult::Pass);
    if let Some(w) = way_hit
        && was[w].is_some_and(|e| e.policy_gen != cfg.policy_gen)
        && !revoked
        && !reopen
    {
        seen.rechecked += 1;
    }
    seen.overflow_hits += u32::from(hit_before == Some(Slot::Overflow) && tr.state.est);
    seen.icmp_rel += u32::from(tr.state.rel);
    seen.expired_skipped += u32::from(
        was.iter()
            .flatten()
            .any(|e| e.key == key && e.expired(now, &cfg.timeouts)),
    );
    seen.forwarded += u32::from(forwarded);

    rtl.m.tick("clk")?;
    b.before_prev = (wr_en != 0).then_some(was);
    Ok(Some(Decided {
        tr,
        wr_en,
        inserted: inserted_way,
        revoked,
    }))
}

#[test]
fn ct_decide_matches_the_model() -> Result<(), Error> {
    let mut rtl = Rtl {
        m: ModuleSim::build("ztnic_ct_decide", &[("CT_ADDR_W", CT_ADDR_W as i64)])?,
    };
    let l = Layout::load();
    let mut rng = Rng::new(0xc7de_c1de);
    let mut seen = Seen::default();

    rtl.m.set_bool("rst", true)?;
    rtl.m.tick("clk")?;
    rtl.m.set_bool("rst", false)?;

    let mut cfg = Config::default();
    let mut now: u64 = 1_000_000_000;
    let mut flows: Vec<FlowT> = Vec::new();
    let mut b = Bucket::new(&l, &[None; WAYS], [None; WAYS], 0, 0);
    let mut chain_left = 0u32;

    for i in 0..PACKETS {
        if chain_left == 0 {
            // a new chain: other addresses, timeouts, flows, bucket and overflow ways
            chain_left = 1 + rng.below(40) as u32;
            let mask = (1u32 << CT_ADDR_W) - 1;
            let (lo, hi) = (b.addr_lo, b.addr_hi);
            while b.addr_lo == lo || b.addr_hi == hi {
                b.addr_lo = rng.next_u64() as u32 & mask;
                b.addr_hi = rng.next_u64() as u32 & mask;
            }
            let t = |rng: &mut Rng| {
                if rng.chance(1, 40) {
                    0
                } else {
                    1 + rng.below(6) as u32
                }
            };
            cfg.timeouts = Timeouts {
                tcp_syn_sent: t(&mut rng),
                tcp_syn_recv: t(&mut rng),
                tcp_established: t(&mut rng) + 20,
                tcp_fin_wait: t(&mut rng),
                tcp_close_wait: t(&mut rng),
                tcp_last_ack: t(&mut rng),
                tcp_time_wait: t(&mut rng),
                tcp_close: t(&mut rng),
                tcp_syn_sent2: t(&mut rng),
                udp_unreplied: t(&mut rng),
                udp_replied: t(&mut rng),
                icmp: t(&mut rng),
                generic: t(&mut rng),
            };
            cfg.tcp_wscale = rng.below(15) as u8;
            cfg.policy_gen = 1 + rng.below(3) as u16;
            flows = (0..1 + rng.below(3))
                .map(|_| FlowT::random(&mut rng))
                .collect();
            // a crowded bucket now and then: four live connections of others, all
            // assured (a new connection finds no room) or some not (one is evicted)
            let crowded = rng.chance(1, 5);
            let all_assured = rng.chance(1, 2);
            let cells: [Option<CtEntry>; WAYS] = std::array::from_fn(|_| {
                if crowded {
                    let f = FlowT::random(&mut rng);
                    let mut e = random_entry(&mut rng, &f, now, &cfg);
                    e.last_seen = now;
                    e.assured = all_assured || rng.chance(1, 2);
                    e.replied |= e.assured;
                    return Some(e);
                }
                match rng.below(10) {
                    0..=2 => None,
                    3..=6 => {
                        let f = flows[rng.below(flows.len() as u64) as usize];
                        Some(random_entry(&mut rng, &f, now, &cfg))
                    }
                    _ => {
                        let f = FlowT::random(&mut rng);
                        Some(random_entry(&mut rng, &f, now, &cfg))
                    }
                }
            });
            let mut ovf_keys = [None; WAYS];
            for w in 0..WAYS {
                ovf_keys[w] = match rng.below(6) {
                    0 => {
                        let k = flows[rng.below(flows.len() as u64) as usize].key();
                        (!ovf_keys.iter().flatten().any(|(o, _)| *o == k))
                            .then_some((k, rng.chance(1, 2)))
                    }
                    1 => Some((FlowT::random(&mut rng).key(), rng.chance(1, 2))),
                    _ => None,
                };
            }
            // the RAM holds the new bucket; the previous chain's last write is at other
            // addresses and must not be forwarded
            b = Bucket::new(&l, &cells, ovf_keys, b.addr_lo, b.addr_hi);
        }
        chain_left -= 1;

        // time moves on: mostly a little, now and then past timeouts
        now += match rng.below(10) {
            0 => rng.below(8_000_000),
            1 => 1_000_000 * (1 + rng.below(6)),
            2 => 0,
            _ => rng.below(2_000),
        };
        if rng.chance(1, 12) {
            cfg.policy_gen = 1 + rng.below(3) as u16;
        }

        // the packet
        let f = flows[rng.below(flows.len() as u64) as usize];
        let rev = rng.chance(2, 5);
        let fl = f.flow(rev);
        let (key, _) = CtKey::of_flow(f.zone, &fl);
        let hit_entry = b
            .table
            .lookup(&key, now, &cfg.timeouts)
            .and_then(|s| b.table.get(s).copied());
        let syn_den = match hit_entry.map(|e| e.proto) {
            None
            | Some(ProtoState::Tcp {
                state: TcpState::TimeWait | TcpState::Close,
                ..
            }) => 2,
            _ => 5,
        };
        let icmp_err = rng.chance(1, 12);
        let icmp_other = !icmp_err && rng.chance(1, 40);
        let pkt = if icmp_err {
            let router = u128::from(rng.next_u64());
            IpPacket {
                v6: false,
                src: router,
                dst: if rng.chance(5, 6) { fl.src } else { fl.dst },
                proto: 1,
                l4: L4::IcmpError { embedded: fl },
            }
        } else if icmp_other {
            IpPacket {
                v6: false,
                src: fl.src,
                dst: fl.dst,
                proto: 1,
                l4: L4::IcmpOther { icmp_type: 13 },
            }
        } else {
            let l4 = match f.kind {
                Kind::Tcp => {
                    let mut seg = Tcp {
                        sport: fl.sport,
                        dport: fl.dport,
                        seq: rng.next_u64() as u32,
                        ack: rng.next_u64() as u32,
                        // a SYN: often without an entry or on a closed connection
                        flags: if rng.chance(1, syn_den) {
                            0x02
                        } else {
                            FLAGS[rng.below(FLAGS.len() as u64) as usize]
                        },
                        window: if rng.chance(1, 5) {
                            0
                        } else {
                            rng.next_u64() as u16
                        },
                        payload_len: match rng.below(4) {
                            0 => rng.below(65_536) as u32,
                            1 => rng.below(3) as u32,
                            _ => 0,
                        },
                    };
                    if rng.chance(1, 4) {
                        seg.flags |= 0x08;
                    }
                    if let Some(CtEntry {
                        proto: ProtoState::Tcp { win, last, .. },
                        ..
                    }) = hit_entry
                    {
                        let edges = [
                            win[0].end,
                            win[0].maxend,
                            win[1].end,
                            win[1].maxend,
                            win[0].maxack,
                            win[1].maxack,
                            last.end,
                            last.ack,
                        ];
                        seg.seq = pick(&mut rng, &edges);
                        seg.ack = pick(&mut rng, &edges);
                    }
                    L4::Tcp(seg)
                }
                Kind::Udp => L4::Udp {
                    sport: fl.sport,
                    dport: fl.dport,
                    payload: (0, 0),
                },
                Kind::Echo => L4::IcmpEcho {
                    request: if rev {
                        rng.chance(1, 4)
                    } else {
                        rng.chance(3, 4)
                    },
                    id: fl.sport,
                },
                Kind::Other => L4::Other,
            };
            IpPacket {
                v6: false,
                src: fl.src,
                dst: fl.dst,
                proto: f.proto,
                l4,
            }
        };
        let views = [0u32, 1].map(|odd| {
            let valid = rng.chance(7, 8);
            View {
                valid,
                allow: valid && rng.chance(4, 5),
                id: (rng.next_u64() as u32) << 1 | odd,
                slot: (rng.next_u64() as u16) << 1 | odd as u16,
            }
        });
        let [pf, pr] = views;
        let done = rng.chance(1, 25);
        let p = Packet {
            pkt,
            zone: f.zone,
            pf,
            pr,
            done,
            bubble: !done && rng.chance(1, 25),
            stall: rng.chance(1, 10),
        };
        step(&mut rtl, &l, &mut rng, &mut seen, i, now, &cfg, &mut b, &p)?;
    }

    eprintln!("{seen:?}");
    for (k, n) in seen.by_result.iter().enumerate() {
        assert!(*n >= 50, "result kind {k} reached only {n} times: {seen:?}");
    }
    for (k, n) in seen.tcp_steps.iter().enumerate() {
        assert!(*n >= 20, "TCP step {k} reached only {n} times: {seen:?}");
    }
    for (what, n) in [
        ("inserts", seen.inserts),
        ("evictions", seen.evictions),
        ("ct_full", seen.full),
        ("revocations", seen.revoked),
        ("re-checks", seen.rechecked),
        ("reopens", seen.reopened),
        ("overflow hits", seen.overflow_hits),
        ("ICMP errors related", seen.icmp_rel),
        ("expired entries of the key", seen.expired_skipped),
        ("forwarded writes", seen.forwarded),
        ("stalls", seen.stalls),
    ] {
        assert!(n >= 20, "{what} reached only {n} times: {seen:?}");
    }
    Ok(())
}

/// A connection of `kind` between two IPv4 endpoints, in zone 1.
fn flow_t(kind: Kind, a: u32, pa: u16, b: u32, pb: u16) -> FlowT {
    FlowT {
        zone: 1,
        kind,
        proto: match kind {
            Kind::Tcp => 6,
            Kind::Udp => 17,
            Kind::Echo => 1,
            Kind::Other => 47,
        },
        a: 0xffff_0000_0000 | u128::from(a),
        b: 0xffff_0000_0000 | u128::from(b),
        pa,
        pb,
    }
}

fn tcp_pkt(f: &FlowT, rev: bool, flags: u8, seq: u32, ack: u32) -> IpPacket {
    let fl = f.flow(rev);
    IpPacket {
        v6: false,
        src: fl.src,
        dst: fl.dst,
        proto: 6,
        l4: L4::Tcp(Tcp {
            sport: fl.sport,
            dport: fl.dport,
            seq,
            ack,
            flags,
            window: 1000,
            payload_len: 0,
        }),
    }
}

fn udp_pkt(f: &FlowT, rev: bool) -> IpPacket {
    let fl = f.flow(rev);
    IpPacket {
        v6: false,
        src: fl.src,
        dst: fl.dst,
        proto: 17,
        l4: L4::Udp {
            sport: fl.sport,
            dport: fl.dport,
            payload: (0, 0),
        },
    }
}

/// A live entry of `f` (its originator a) seen at `seen`, of generation `gen`.
fn entry_of(f: &FlowT, proto: ProtoState, assured: bool, seen: u64, gen_: u16) -> CtEntry {
    let (key, a_lo) = CtKey::of_flow(f.zone, &f.flow(false));
    CtEntry {
        key,
        orig_lo: a_lo,
        proto,
        replied: assured,
        assured,
        last_seen: seen,
        policy_gen: gen_,
    }
}

/// Hand-built cases, each compared with the model as in the random test, and each
/// asserting the path it is built for.
#[test]
fn ct_decide_hand_built_cases() -> Result<(), Error> {
    let mut rtl = Rtl {
        m: ModuleSim::build("ztnic_ct_decide", &[("CT_ADDR_W", CT_ADDR_W as i64)])?,
    };
    let l = Layout::load();
    let mut rng = Rng::new(0x4a4d_b017);
    let mut seen = Seen::default();
    rtl.m.set_bool("rst", true)?;
    rtl.m.tick("clk")?;
    rtl.m.set_bool("rst", false)?;

    let cfg = Config::default();
    let t0: u64 = 50_000_000_000;
    let allow = [
        View {
            valid: true,
            allow: true,
            id: 10,
            slot: 20,
        },
        View {
            valid: true,
            allow: true,
            id: 11,
            slot: 21,
        },
    ];
    let a = flow_t(Kind::Tcp, 0x0a00_0001, 40_000, 0x0a00_0002, 80);
    let u = flow_t(Kind::Udp, 0x0a00_0003, 5353, 0x0a00_0004, 53);
    let others: Vec<CtEntry> = (0..4)
        .map(|n| {
            let o = flow_t(Kind::Udp, 0x0b00_0000 + n, 1, 0x0c00_0000, 2);
            entry_of(&o, ProtoState::Udp, true, t0, cfg.policy_gen)
        })
        .collect();
    let mut addr = 0u32;
    let mut fresh = |cells: [Option<CtEntry>; WAYS], ovf: [Option<(CtKey, bool)>; WAYS]| {
        // each case at its own addresses: the last write of the case before is not
        // forwarded
        addr += 1;
        Bucket::new(&l, &cells, ovf, addr, 1000 - addr)
    };
    let pkt = |pkt: IpPacket, views: [View; 2]| Packet {
        pkt,
        zone: 1,
        pf: views[0],
        pr: views[1],
        done: false,
        bubble: false,
        stall: false,
    };
    let mut i = 0u32;
    let mut run = |rtl: &mut Rtl, now: u64, b: &mut Bucket, p: Packet| {
        i += 1;
        let d = step(rtl, &l, &mut rng, &mut seen, i, now, &cfg, b, &p)?;
        Ok::<Decided, Error>(d.expect("a packet of this test reaches conntrack"))
    };

    // a SYN into an empty bucket: new, inserted in way 0, the forward rule
    let mut b = fresh([None; WAYS], [None; WAYS]);
    let d = run(
        &mut rtl,
        t0,
        &mut b,
        pkt(tcp_pkt(&a, false, 0x02, 1000, 0), allow),
    )?;
    assert!(d.tr.state.new && d.tr.result == TrackResult::Pass);
    assert_eq!((d.inserted, d.wr_en, d.tr.rule), (Some(0), 1, Some(10)));
    // back to back, the SYN/ACK: the RAM still shows the empty way, the insert is
    // forwarded
    assert!(b.before_prev.is_some());
    let d = run(
        &mut rtl,
        t0 + 5,
        &mut b,
        pkt(tcp_pkt(&a, true, 0x12, 7000, 1001), allow),
    )?;
    assert!(d.tr.state.est && d.tr.state.rpl && d.tr.result == TrackResult::Pass);
    assert_eq!(d.wr_en, 1);
    // and the ACK: established
    let d = run(
        &mut rtl,
        t0 + 9,
        &mut b,
        pkt(tcp_pkt(&a, false, 0x10, 1001, 7001), allow),
    )?;
    assert!(d.tr.state.est && !d.tr.state.rpl && d.tr.result == TrackResult::Pass);
    let ways_now = ways(&b.table);
    assert!(matches!(
        ways_now[0].map(|e| e.proto),
        Some(ProtoState::Tcp {
            state: TcpState::Established,
            ..
        })
    ));
    // a RST from the originator with the exact sequence number: passes, the entry moves to CLOSE
    let d = run(
        &mut rtl,
        t0 + 20,
        &mut b,
        pkt(tcp_pkt(&a, false, 0x04, 1001, 0), allow),
    )?;
    assert_eq!(d.tr.result, TrackResult::Pass);
    // a flag set Linux refuses (SYN+FIN): invalid, nothing written
    let d = run(
        &mut rtl,
        t0 + 30,
        &mut b,
        pkt(tcp_pkt(&a, false, 0x03, 1001, 0), allow),
    )?;
    assert_eq!(d.tr.result, TrackResult::Drop(DropReason::CtInvalid));
    assert_eq!(d.wr_en, 0);

    // a RST answering an unanswered SYN: passes and deletes the entry
    let mut b = fresh([None; WAYS], [None; WAYS]);
    run(
        &mut rtl,
        t0,
        &mut b,
        pkt(tcp_pkt(&a, false, 0x02, 5000, 0), allow),
    )?;
    let d = run(
        &mut rtl,
        t0 + 1,
        &mut b,
        pkt(tcp_pkt(&a, true, 0x14, 0, 5001), allow),
    )?;
    assert_eq!(d.tr.result, TrackResult::Pass);
    assert_eq!((d.wr_en, ways(&b.table)[0]), (1, None), "the RST deletes");

    // a UDP flow hit in each way, from either side
    for w in 0..WAYS {
        for rev in [false, true] {
            let mut cells: [Option<CtEntry>; WAYS] = std::array::from_fn(|k| Some(others[k]));
            cells[w] = Some(entry_of(&u, ProtoState::Udp, false, t0, cfg.policy_gen));
            let mut b = fresh(cells, [None; WAYS]);
            let d = run(&mut rtl, t0 + 100, &mut b, pkt(udp_pkt(&u, rev), allow))?;
            assert_eq!(d.tr.result, TrackResult::Pass);
            assert_eq!((d.tr.state.rpl, d.tr.state.est), (rev, rev), "way {w}");
            assert_eq!(d.wr_en, 1 << w, "way {w}: the update");
            assert_eq!(ways(&b.table)[w].map(|e| e.assured), Some(rev));
        }
    }

    // a full bucket (four live assured connections): a new one is punted as ct_full
    let full: [Option<CtEntry>; WAYS] = std::array::from_fn(|k| Some(others[k]));
    let mut b = fresh(full, [None; WAYS]);
    let d = run(&mut rtl, t0 + 1, &mut b, pkt(udp_pkt(&u, false), allow))?;
    assert_eq!((d.tr.result, d.wr_en), (TrackResult::Full, 0));
    // one of them not assured: evicted
    let mut crowded = full;
    crowded[2] = Some(CtEntry {
        assured: false,
        ..others[2]
    });
    let mut b = fresh(crowded, [None; WAYS]);
    let d = run(&mut rtl, t0 + 1, &mut b, pkt(udp_pkt(&u, false), allow))?;
    assert_eq!((d.inserted, d.wr_en), (Some(2), 1 << 2));
    // one of them expired at this microsecond: its way is free
    let mut old = full;
    let t_udp = u64::from(cfg.timeouts.udp_replied) * 1_000_000;
    old[1] = Some(CtEntry {
        last_seen: t0 + 1 - t_udp,
        ..others[1]
    });
    let mut b = fresh(old, [None; WAYS]);
    let d = run(&mut rtl, t0 + 1, &mut b, pkt(udp_pkt(&u, false), allow))?;
    assert_eq!(d.inserted, Some(1));
    // ... and a microsecond earlier it is not
    let mut b = fresh(old, [None; WAYS]);
    let d = run(&mut rtl, t0, &mut b, pkt(udp_pkt(&u, false), allow))?;
    assert_eq!(d.tr.result, TrackResult::Full);
    // the flow's own entry expired: a new connection in its way
    let mut own = full;
    own[3] = Some(entry_of(
        &u,
        ProtoState::Udp,
        true,
        t0 - t_udp,
        cfg.policy_gen,
    ));
    let mut b = fresh(own, [None; WAYS]);
    let d = run(&mut rtl, t0, &mut b, pkt(udp_pkt(&u, false), allow))?;
    assert_eq!((d.inserted, d.tr.state.new), (Some(3), true));

    // a stale generation: re-checked and allowed (the generation written), or revoked
    let stale = [
        None,
        Some(entry_of(&u, ProtoState::Udp, true, t0, cfg.policy_gen + 1)),
        None,
        None,
    ];
    let mut b = fresh(stale, [None; WAYS]);
    let d = run(&mut rtl, t0 + 1, &mut b, pkt(udp_pkt(&u, false), allow))?;
    assert_eq!(
        (d.tr.result, d.tr.rule, d.wr_en),
        (TrackResult::Pass, Some(10), 2)
    );
    assert_eq!(
        ways(&b.table)[1].map(|e| e.policy_gen),
        Some(cfg.policy_gen)
    );
    let deny = [
        View {
            allow: false,
            ..allow[0]
        },
        View {
            valid: false,
            allow: false,
            ..allow[1]
        },
    ];
    for (rev, why) in [
        (false, DropReason::PolicyDeny),
        (true, DropReason::PolicyDefaultDeny),
    ] {
        let mut b = fresh(stale, [None; WAYS]);
        let d = run(&mut rtl, t0 + 1, &mut b, pkt(udp_pkt(&u, rev), deny))?;
        assert_eq!(d.tr.result, TrackResult::Drop(why));
        assert!(d.revoked && d.wr_en == 2 && ways(&b.table)[1].is_none());
    }

    // an ICMP error about the flow, to the flow's source: related; to elsewhere: invalid
    let cells = [
        Some(entry_of(&u, ProtoState::Udp, true, t0, cfg.policy_gen)),
        None,
        None,
        None,
    ];
    for (to_src, ok) in [(true, true), (false, false)] {
        let mut b = fresh(cells, [None; WAYS]);
        let emb = u.flow(false);
        let err = IpPacket {
            v6: false,
            src: 0xffff_0a00_00fe,
            dst: if to_src { emb.src } else { emb.dst },
            proto: 1,
            l4: L4::IcmpError { embedded: emb },
        };
        let d = run(&mut rtl, t0 + 1, &mut b, pkt(err, allow))?;
        assert_eq!((d.tr.state.rel, d.wr_en), (ok, 0));
    }

    // an overflow entry: established, in the right direction, nothing written
    let (ukey, u_lo) = CtKey::of_flow(1, &u.flow(false));
    for rev in [false, true] {
        let mut b = fresh(full, [None, None, Some((ukey, u_lo)), None]);
        let d = run(&mut rtl, t0 + 1, &mut b, pkt(udp_pkt(&u, rev), allow))?;
        assert!(d.tr.state.est && d.tr.state.rpl == rev && d.wr_en == 0);
    }

    // a SYN reopening a TIME_WAIT connection closed by a FIN: deleted and inserted again
    // in the same way (the lowest free one after the delete)
    let tw = entry_of(
        &a,
        ProtoState::Tcp {
            state: TcpState::TimeWait,
            win: [
                TcpWindow {
                    end: 2000,
                    maxend: 3000,
                    maxwin: 1000,
                    maxack: 8000,
                    maxack_set: true,
                    close_init: true,
                },
                TcpWindow {
                    end: 8000,
                    maxend: 9000,
                    maxwin: 1000,
                    maxack: 2000,
                    maxack_set: true,
                    close_init: false,
                },
            ],
            last: TcpLast::default(),
        },
        true,
        t0,
        cfg.policy_gen,
    );
    let mut b = fresh(
        [Some(others[0]), Some(others[1]), Some(tw), None],
        [None; WAYS],
    );
    let d = run(
        &mut rtl,
        t0 + 1,
        &mut b,
        pkt(tcp_pkt(&a, false, 0x02, 90_000, 0), allow),
    )?;
    assert!(d.tr.state.new && d.tr.result == TrackResult::Pass);
    assert_eq!((d.inserted, d.wr_en), (Some(2), 1 << 2));
    // denied by the policy, the dead connection is still deleted (no ct_delete event)
    let mut b = fresh(
        [Some(others[0]), Some(others[1]), Some(tw), None],
        [None; WAYS],
    );
    let d = run(
        &mut rtl,
        t0 + 1,
        &mut b,
        pkt(tcp_pkt(&a, false, 0x02, 90_000, 0), deny),
    )?;
    assert!(!d.revoked && d.wr_en == 1 << 2 && ways(&b.table)[2].is_none());
    Ok(())
}
