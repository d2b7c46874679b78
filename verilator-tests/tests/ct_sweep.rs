//! `rtl/ztnic_ct_sweep.v` alone against the model's aging sweep (`CtTable::sweep`, which
//! removes what `CtEntry::expired` says has timed out). The test is the conntrack's port B:
//! a RAM of four ways mirrored from a model `CtTable` (random TCP, UDP, ICMP and other
//! entries, their last_seen placed at, just before and just after their timeout, and in
//! the future), read one clock after the sweep's enable, cleared when it asks. The
//! timeouts are random seconds, given to the module in microseconds as config.timeout[]
//! holds them. Around the sweep, the clocks are random: a control-plane access takes
//! port B (`en` low), the data plane writes a way (`dp_we`), a packet event takes the
//! event output (`evt_busy`).
//!
//! Every clock: the sweep never uses a way the data plane writes, nor port B without
//! `en`; it clears only the slot it read last, three clocks or more before, with `en` high
//! and no data-plane write of that way in every clock since the read (the entry is what
//! it read), only an entry the model calls expired, and only with a ct_expired record (slot, time) in a clock without a packet
//! event. After enough clocks for whole passes at one time, the RAM must be what the
//! model's sweep leaves, and the records must name exactly the entries it removed, once
//! each. Several rounds, the time moving on and new entries arriving between them.

use std::collections::BTreeSet;

use ztnic_fpga::Bits;
use ztnic_fpga::regmap::Field;
use ztnic_fpga::regmap::layout::{conntrack as l, event as ev};
use ztnic_model::Timeouts;
use ztnic_model::conntrack::{
    CtEntry, CtKey, CtTable, ProtoState, Slot, TcpLast, TcpState, TcpWindow,
};
use ztnic_rtl_sim::unit::{Error, ModuleSim};
use ztnic_verilator_tests::Rng;

const CT_ADDR_W: u32 = 3;
const BUCKETS: u32 = 1 << CT_ADDR_W;
const EVENT_KIND_CT_EXPIRED: u128 = 6;

const STATES: [TcpState; 10] = [
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

/// The timeouts in the order of `regmap::timeout_enum` (config.timeout[] indexes).
fn timeout_secs(t: &Timeouts) -> [u32; 13] {
    [
        t.tcp_syn_sent,
        t.tcp_syn_recv,
        t.tcp_established,
        t.tcp_fin_wait,
        t.tcp_close_wait,
        t.tcp_last_ack,
        t.tcp_time_wait,
        t.tcp_close,
        t.tcp_syn_sent2,
        t.udp_unreplied,
        t.udp_replied,
        t.icmp,
        t.generic,
    ]
}

fn random_timeouts(rng: &mut Rng) -> Timeouts {
    let mut s = || 1 + rng.below(4) as u32;
    Timeouts {
        tcp_syn_sent: s(),
        tcp_syn_recv: s(),
        tcp_established: s(),
        tcp_fin_wait: s(),
        tcp_close_wait: s(),
        tcp_last_ack: s(),
        tcp_time_wait: s(),
        tcp_close: s(),
        tcp_syn_sent2: s(),
        udp_unreplied: s(),
        udp_replied: s(),
        icmp: s(),
        generic: s(),
    }
}

/// A random entry whose idle time at `now` is at, around or far from its timeout.
fn random_entry(rng: &mut Rng, now: u64, t: &Timeouts) -> CtEntry {
    let (proto, ip) = match rng.below(4) {
        0 => (
            ProtoState::Tcp {
                state: STATES[rng.below(10) as usize],
                win: [TcpWindow::default(); 2],
                last: TcpLast::default(),
            },
            6,
        ),
        1 => (ProtoState::Udp, 17),
        2 => (ProtoState::Icmp, 1),
        _ => (ProtoState::Other, 47),
    };
    let key = CtKey {
        zone: rng.below(4) as u16,
        proto: ip,
        lo_addr: u128::from(rng.next_u64()),
        hi_addr: u128::from(rng.next_u64()) << 64 | u128::from(rng.next_u64()),
        lo_port: rng.next_u64() as u16,
        hi_port: rng.next_u64() as u16,
    };
    let mut e = CtEntry {
        key,
        orig_lo: rng.chance(1, 2),
        proto,
        replied: rng.chance(1, 2),
        assured: rng.chance(1, 2),
        last_seen: 0,
        policy_gen: rng.next_u64() as u16,
    };
    let timeout = u64::from(e.timeout_s(t)) * 1_000_000;
    e.last_seen = match rng.below(6) {
        0 => now - timeout,
        1 => now - timeout + 1,
        2 => now - timeout - 1,
        3 => now + rng.below(3_000_000),
        _ => now - rng.below(6_000_000),
    };
    e
}

/// The entry's bits (regmap layout `conntrack`); the window fields, which the sweep
/// never reads, hold noise.
fn entry_bits(rng: &mut Rng, e: &CtEntry) -> Bits {
    let mut b = Bits::zero(l::WIDTH);
    let (kind, state) = match e.proto {
        ProtoState::Tcp { state, .. } => (0, state as u128),
        ProtoState::Udp => (1, 0),
        ProtoState::Icmp => (2, 0),
        ProtoState::Other => (3, 0),
    };
    b.set(l::VALID, 1);
    b.set_bytes_be(l::KEY, &e.key.bytes());
    b.set(l::ORIG_LO, u128::from(e.orig_lo));
    b.set(l::STATE, state);
    b.set(l::ASSURED, u128::from(e.assured));
    b.set(l::REPLIED, u128::from(e.replied));
    b.set(l::LAST_SEEN, u128::from(e.last_seen));
    b.set(l::GEN, u128::from(e.policy_gen));
    b.set(l::KIND, kind);
    b.set(l::ORIG_END, u128::from(rng.next_u64()));
    b.set(l::LAST_WIN, u128::from(rng.next_u64()));
    b
}

fn slot_of(way: u32, index: u32) -> Slot {
    Slot::Way {
        way: way as u8,
        index,
    }
}

struct Bench {
    m: ModuleSim,
    /// ram[way][index]
    ram: Vec<Vec<Bits>>,
    /// port B output register of each way
    out: Vec<Bits>,
    /// the slot read last, while every clock since had `en` and no data-plane write
    /// of its way, and how many clocks ago it was read
    last_read: Option<(u32, u32)>,
    read_age: u32,
    clears: u64,
    dropped_checks: u64,
}

impl Bench {
    fn new() -> Result<Bench, Error> {
        let mut m = ModuleSim::build("ztnic_ct_sweep", &[("CT_ADDR_W", i64::from(CT_ADDR_W))])?;
        assert_eq!(m.bits("b_rdata")?, 4 * l::WIDTH);
        m.set_bool("rst", true)?;
        m.tick("clk")?;
        m.set_bool("rst", false)?;
        let zero = Bits::zero(l::WIDTH);
        Ok(Bench {
            m,
            ram: vec![vec![zero.clone(); BUCKETS as usize]; 4],
            out: vec![zero; 4],
            last_read: None,
            read_age: 0,
            clears: 0,
            dropped_checks: 0,
        })
    }

    /// Writes the model's entries into the RAM, as control-plane accesses would (a
    /// clock without `en`, which drops a pending check).
    fn mirror(&mut self, rng: &mut Rng, ct: &CtTable) -> Result<(), Error> {
        self.m.set_bool("en", false)?;
        self.m.set_u64("dp_we", 0)?;
        self.m.eval()?;
        assert_eq!(
            self.m.get_u64("b_en")?,
            0,
            "port B used during a control access"
        );
        self.m.tick("clk")?;
        self.last_read = None;
        for way in 0..4 {
            for index in 0..BUCKETS {
                self.ram[way as usize][index as usize] = match ct.get(slot_of(way, index)) {
                    Some(e) => entry_bits(rng, e),
                    None => Bits::zero(l::WIDTH),
                };
            }
        }
        Ok(())
    }

    /// `clocks` random clocks at time `now`; the slots cleared, with their entries' keys.
    fn run(
        &mut self,
        rng: &mut Rng,
        clocks: u32,
        now: u64,
        ct: &CtTable,
        t: &Timeouts,
    ) -> Result<Vec<(Slot, Vec<u8>)>, Error> {
        let mut cleared = Vec::new();
        self.m.set_u64("ts_us", now)?;
        for _ in 0..clocks {
            let en = rng.chance(4, 5);
            let dp_we = (0..4).fold(0u64, |acc, w| acc | (u64::from(rng.chance(1, 6)) << w));
            let busy = rng.chance(1, 5);
            let mut rd = Vec::with_capacity(4 * self.out[0].words().len());
            let mut all = Bits::zero(4 * l::WIDTH);
            for (w, o) in self.out.iter().enumerate() {
                for bit_word in 0..l::WIDTH.div_ceil(32) {
                    let width = (l::WIDTH - 32 * bit_word).min(32);
                    let f = Field {
                        lsb: 32 * bit_word,
                        width,
                    };
                    all.set(
                        Field {
                            lsb: w as u32 * l::WIDTH + 32 * bit_word,
                            width,
                        },
                        o.get(f),
                    );
                }
            }
            rd.extend_from_slice(all.words());
            self.m.set_bool("en", en)?;
            self.m.set_u64("dp_we", dp_we)?;
            self.m.set_bool("evt_busy", busy)?;
            self.m.set("b_rdata", &rd)?;
            self.m.eval()?;
            let b_en = self.m.get_u64("b_en")?;
            let clear = self.m.get_bool("b_clear")?;
            let addr = self.m.get_u64("b_addr")? as u32;
            let evt_valid = self.m.get_bool("evt_valid")?;
            assert_eq!(
                b_en & dp_we,
                0,
                "the sweep took a way the data plane writes"
            );
            assert!(b_en.count_ones() <= 1, "one way at a time: {b_en:#x}");
            if !en {
                assert_eq!(b_en, 0, "port B used during a control access");
            }
            assert_eq!(evt_valid, clear, "a record exactly with each clear");
            if evt_valid {
                assert!(!busy, "a ct_expired record in the clock of a packet event");
            }
            let way = b_en.trailing_zeros();
            // a clock without `en` or with a write of the read slot's way voids the read
            if let Some((w, _)) = self.last_read
                && (!en || (dp_we >> w) & 1 == 1)
            {
                self.last_read = None;
                self.dropped_checks += 1;
            }
            if clear {
                assert_eq!(
                    self.last_read,
                    Some((way, addr)),
                    "a clear of a slot not read last, or changed since"
                );
                // read_age counts the clocks between the read's and this one: the
                // fields are taken and compared in between
                assert!(
                    self.read_age >= 2,
                    "a clear {} clock(s) after the read: the check takes three",
                    self.read_age + 1
                );
                let bits = &self.ram[way as usize][addr as usize];
                assert_eq!(bits.get(l::VALID), 1, "cleared an empty slot");
                let e = ct
                    .get(slot_of(way, addr))
                    .expect("the model holds what the RAM holds");
                assert!(
                    e.expired(now, t),
                    "cleared a live entry {e:?} at {now} (timeout {} s)",
                    e.timeout_s(t)
                );
                let rec = Bits::from_words(&self.m.get("evt_data")?);
                assert_eq!(rec.get(ev::KIND), EVENT_KIND_CT_EXPIRED);
                assert_eq!(
                    rec.get(ev::HASH),
                    u128::from(way << CT_ADDR_W | addr),
                    "record slot"
                );
                assert_eq!(rec.get(ev::TIME), u128::from(now as u32), "record time");
                assert_eq!(
                    rec.get(ev::REASON) | rec.get(ev::PORT) | rec.get(ev::CTX),
                    0
                );
                cleared.push((slot_of(way, addr), bits.get_bytes_be(l::KEY)));
                self.clears += 1;
            }
            self.m.tick("clk")?;
            self.read_age += 1;
            if b_en != 0 {
                self.out[way as usize] = self.ram[way as usize][addr as usize].clone();
                if clear {
                    self.ram[way as usize][addr as usize] = Bits::zero(l::WIDTH);
                    self.last_read = None;
                } else {
                    self.last_read = Some((way, addr));
                    self.read_age = 0;
                }
            }
        }
        Ok(cleared)
    }
}

#[test]
fn sweep_matches_the_model() -> Result<(), Error> {
    let mut rng = Rng::new(0x005e_edc7);
    let mut b = Bench::new()?;
    let mut ct = CtTable::new(BUCKETS);
    // far enough that the record's time is the low 32 bits of a larger clock
    let mut now: u64 = 10_000_000_000;
    let mut removed_total = 0;
    for round in 0..12 {
        let t = random_timeouts(&mut rng);
        let mut regs = Bits::zero(64 * 16);
        for (i, s) in timeout_secs(&t).iter().enumerate() {
            regs.set(
                Field {
                    lsb: 64 * i as u32,
                    width: 64,
                },
                u128::from(*s) * 1_000_000,
            );
        }
        // indexes 13..15 name no timeout: noise
        for i in 13..16 {
            regs.set(
                Field {
                    lsb: 64 * i,
                    width: 64,
                },
                u128::from(rng.next_u64() % 3),
            );
        }
        b.m.set("cfg_timeouts", regs.words())?;
        now += rng.below(2_000_000);
        for _ in 0..20 {
            let e = random_entry(&mut rng, now, &t);
            // a full bucket refuses it; the table stays as it was
            let _ = ct.insert(e, now, &t);
        }
        b.mirror(&mut rng, &ct)?;
        let mut cleared = b.run(&mut rng, 800, now, &ct, &t)?;
        let mut model = ct.clone();
        let gone: BTreeSet<Vec<u8>> = model
            .sweep(now, &t)
            .iter()
            .map(|k| k.bytes().to_vec())
            .collect();
        let slots: BTreeSet<(u8, u32)> = cleared
            .iter()
            .map(|c| match c.0 {
                Slot::Way { way, index } => (way, index),
                Slot::Overflow => unreachable!("the sweep names way slots"),
            })
            .collect();
        assert_eq!(
            slots.len(),
            cleared.len(),
            "round {round}: a slot cleared twice"
        );
        let keys: BTreeSet<Vec<u8>> = cleared.drain(..).map(|c| c.1).collect();
        assert_eq!(keys, gone, "round {round}: the entries removed");
        for way in 0..4 {
            for index in 0..BUCKETS {
                let bits = &b.ram[way as usize][index as usize];
                match model.get(slot_of(way, index)) {
                    Some(e) => {
                        assert_eq!(
                            bits.get(l::VALID),
                            1,
                            "round {round}: slot {way}/{index} lost"
                        );
                        assert_eq!(bits.get_bytes_be(l::KEY), e.key.bytes().to_vec());
                    }
                    None => assert_eq!(
                        bits.get(l::VALID),
                        0,
                        "round {round}: slot {way}/{index} kept"
                    ),
                }
            }
        }
        removed_total += gone.len();
        ct = model;
    }
    assert!(removed_total > 40, "{removed_total} entries expired");
    assert!(b.clears as usize == removed_total);
    assert!(
        b.dropped_checks > 20,
        "{} checks given up",
        b.dropped_checks
    );
    Ok(())
}
