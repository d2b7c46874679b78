//! The context checks alone against the model's own decisions:
//!
//! - `rtl/ztnic_ctx_check.v` (the engine's stage 14, TX) against
//!   `ztnic_model::pipeline::ctx_check_tx`: random ctx_epoch buckets (four ways, some
//!   invalid with a matching context, valid ones with distinct contexts, as the
//!   driver's placement keeps them) in a model `Tables` and the module's read data;
//!   the compare's hit, way and entry must be the valid way holding the source
//!   context, and for a TX packet a miss must punt `ctx_unknown` with the event record
//!   the driver decodes (`ztnic_fpga::Event`) as that, a hit must give the entry's
//!   epoch and count the packet.
//! - `rtl/ztnic_rx_check.v` (stage 22, RX) against `ztnic_model::pipeline::rx_check`:
//!   random tags (Geneve, VXLAN-GBP, untagged) whose MAC is or is not the one
//!   computed, with authentication on or off, a local endpoint found or not, the
//!   context known or not and its epoch current or stale; the verdict, the event
//!   record and the context count must be the model's.
//!
//! A packet already decided, and one of the other direction, must pass unchanged.

use ztnic_fpga::{Event, EventKind};
use ztnic_model::parse::{Stop, Tag};
use ztnic_model::pipeline::{ctx_check_tx, rx_check};
use ztnic_model::tables::{LocalEp, Tables};
use ztnic_model::{DropReason, PuntReason};
use ztnic_rtl_sim::unit::{Error, ModuleSim};
use ztnic_verilator_tests::Rng;
use ztnic_verilator_tests::phv::{Bits, Layout};

fn vd_of(l: &Layout, r: Stop) -> u64 {
    let (kind, code) = match r {
        Stop::Drop(d) => (l.p("V_DROP"), d.code()),
        Stop::Punt(p) => (l.p("V_PUNT"), p.code()),
    };
    1 << 10 | (kind as u64) << 8 | u64::from(code)
}

/// A verdict so far: mostly none, now and then a decided packet.
fn vd_in(rng: &mut Rng) -> u64 {
    if rng.chance(1, 8) {
        1 << 10 | (rng.below(3) << 8) | rng.below(256)
    } else {
        0
    }
}

fn ctx24(rng: &mut Rng) -> u32 {
    match rng.below(3) {
        0 => 2 + rng.below(6) as u32,
        _ => rng.next_u64() as u32 & 0xff_ffff,
    }
}

fn cls_in(rng: &mut Rng, l: &Layout) -> (bool, u64) {
    match rng.below(3) {
        0 | 1 => (true, l.p("PORT_CLASS_VPORT") as u64),
        _ => (false, l.p("PORT_CLASS_UPLINK") as u64),
    }
}

fn event_words(b: &Bits) -> [u32; 4] {
    [b.0[0], b.0[1], b.0[2], b.0[3]]
}

/// The record an event the context checks raise must decode to.
fn event(l: &Layout, reason: PuntReason, port: u16, ctx: u32, epoch: u8, ts: u32) -> Event {
    let kind = match reason {
        PuntReason::CtxUnknown => l.p("EVENT_KIND_CTX_UNKNOWN"),
        PuntReason::CtxStaleEpoch => l.p("EVENT_KIND_CTX_STALE_EPOCH"),
        r => panic!("no event for {r:?}"),
    };
    Event {
        kind: kind as u8,
        reason: reason.code(),
        port,
        ctx,
        epoch,
        hash: 0,
        time: ts,
    }
}

// ---------------------------------------------------------------------------
// stage 14: TX ctx check
// ---------------------------------------------------------------------------

/// What the TX ctx check must answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct TxOut {
    hit: bool,
    way: u64,
    entry: u64,
    vd: u64,
    evp: bool,
    ev: Option<Event>,
    epoch: u64,
    cecnt: bool,
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Clone, Copy)]
enum TxSeen {
    Done,
    Rx,
    Unknown,
    Known,
    InvalidWayMatching,
}

#[test]
fn tx_ctx_check_matches_the_model() -> Result<(), Error> {
    let l = Layout::load();
    let mut m = ModuleSim::build("ztnic_ctx_check", &[])?;
    let ew = l.p("L_CTX_EPOCH_W");
    let mut rng = Rng::new(0xc7c_0014);
    let mut seen = Vec::new();
    for _ in 0..20_000 {
        let sctx = ctx24(&mut rng);
        // four ways: empty, invalid or valid; valid ones hold distinct contexts
        let mut rd = Bits::zero(4 * ew);
        let mut t = Tables::default();
        let mut ways: [Option<(bool, u32, u8)>; 4] = [None; 4];
        for (i, way) in ways.iter_mut().enumerate() {
            if rng.chance(1, 5) {
                continue;
            }
            let ctx = if rng.chance(1, 3) {
                sctx
            } else {
                ctx24(&mut rng)
            };
            let epoch = rng.next_u64() as u8;
            let valid = !rng.chance(1, 5);
            if valid && t.ctx_epoch.contains_key(&ctx) {
                continue;
            }
            if valid {
                t.ctx_epoch.insert(ctx, epoch);
            } else if ctx == sctx {
                seen.push(TxSeen::InvalidWayMatching);
            }
            rd.set(i * ew + l.p("L_CTX_EPOCH_VALID_LSB"), 1, valid.into());
            rd.set(i * ew + l.p("L_CTX_EPOCH_CTX_LSB"), 24, ctx.into());
            rd.set(i * ew + l.p("L_CTX_EPOCH_EPOCH_LSB"), 8, epoch.into());
            *way = Some((valid, ctx, epoch));
        }
        let vd = vd_in(&mut rng);
        let (vport, cls) = cls_in(&mut rng, &l);
        let port = rng.next_u64() as u16;
        let ts = rng.next_u64() as u32;

        m.set_u64("ts", ts.into())?;
        m.set_u64("s_vd", vd)?;
        m.set_u64("cls", cls)?;
        m.set_u64("port", port.into())?;
        m.set_u64("sctx", sctx.into())?;
        m.set("ce_rd", &rd.0)?;
        m.eval()?;
        let mut ev = Bits::zero(128);
        ev.0 = m.get("m_ev")?;
        let evp = m.get_bool("m_evp")?;
        let got = TxOut {
            hit: m.get_bool("ce_hit")?,
            way: m.get_u64("ce_way")?,
            entry: m.get_u64("ce_entry")?,
            vd: m.get_u64("m_vd")?,
            evp,
            ev: (evp || ev.0.iter().any(|w| *w != 0)).then(|| Event::from_words(&event_words(&ev))),
            epoch: m.get_u64("m_epoch")?,
            cecnt: m.get_bool("m_cecnt")?,
        };

        // the model: the compare, then the check of a TX packet
        let check = ctx_check_tx(&t, sctx);
        let way = ways
            .iter()
            .position(|w| matches!(w, Some((true, c, _)) if *c == sctx));
        assert_eq!(way.is_some(), check.is_ok());
        let mut want = TxOut {
            hit: check.is_ok(),
            way: way.unwrap_or(0) as u64,
            entry: way.map_or(0, |i| rd.get(i * ew, ew) as u64),
            vd,
            evp: false,
            ev: None,
            epoch: 0,
            cecnt: false,
        };
        if vd >> 10 & 1 != 0 {
            seen.push(TxSeen::Done);
        } else if !vport {
            seen.push(TxSeen::Rx);
        } else {
            match check {
                Err(r) => {
                    seen.push(TxSeen::Unknown);
                    want.vd = vd_of(&l, r.into());
                    want.evp = true;
                    want.ev = Some(event(&l, r, port, sctx, 0, ts));
                }
                Ok(epoch) => {
                    seen.push(TxSeen::Known);
                    want.epoch = epoch.into();
                    want.cecnt = true;
                }
            }
        }
        assert_eq!(
            got, want,
            "sctx {sctx:#x} ways {ways:?} vd {vd:#x} cls {cls}"
        );
        if let Some(e) = got.ev {
            assert_eq!(
                e.kind(),
                EventKind::CtxUnknown,
                "the driver reads the record so"
            );
        }
    }
    seen.sort();
    seen.dedup();
    assert_eq!(
        seen,
        vec![
            TxSeen::Done,
            TxSeen::Rx,
            TxSeen::Unknown,
            TxSeen::Known,
            TxSeen::InvalidWayMatching
        ]
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// stage 22: RX checks
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct RxOut {
    vd: u64,
    evp: bool,
    ev: u128,
    cecnt: bool,
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Clone, Copy)]
enum RxSeen {
    Done,
    Tx,
    BadMac,
    MacOffIgnored,
    NoLocalEp,
    CtxUnknown,
    Stale,
    GbpEpochIgnored,
    PassTagged,
    PassUntagged,
}

/// An event record as the module writes it (the layout of the RTL's regmap header,
/// checked against the driver's decoder).
fn event_bits(l: &Layout, e: Event) -> u128 {
    let mut b = Bits::zero(128);
    b.set(l.p("L_EVENT_KIND_LSB"), 8, e.kind.into());
    b.set(l.p("L_EVENT_REASON_LSB"), 8, e.reason.into());
    b.set(l.p("L_EVENT_PORT_LSB"), 16, e.port.into());
    b.set(l.p("L_EVENT_CTX_LSB"), 24, e.ctx.into());
    b.set(l.p("L_EVENT_EPOCH_LSB"), 8, e.epoch.into());
    b.set(l.p("L_EVENT_HASH_LSB"), 32, e.hash.into());
    b.set(l.p("L_EVENT_TIME_LSB"), 32, e.time.into());
    assert_eq!(
        Event::from_words(&event_words(&b)),
        e,
        "the layout round-trips"
    );
    b.get(0, 128)
}

#[test]
fn rx_check_matches_the_model() -> Result<(), Error> {
    let l = Layout::load();
    let mut m = ModuleSim::build("ztnic_rx_check", &[])?;
    let mut rng = Rng::new(0x5c_0022);
    let dst = 0x0000_0000_0000_0000_0000_ffff_0a00_0002u128;
    let mut seen = Vec::new();
    for _ in 0..20_000 {
        let vd = vd_in(&mut rng);
        let (vport, cls) = cls_in(&mut rng, &l);
        let tun = rng.below(4);
        let tagged = tun == l.p("TUN_GENEVE") as u64 || tun == l.p("TUN_GBP") as u64;
        // what classify left: the tag's context (not 0, or the packet would be
        // decided) for a tagged packet, world's otherwise
        let sctx = if tun == l.p("TUN_GBP") as u64 {
            1 + rng.below(0xffff) as u32
        } else if tagged {
            1 + rng.below(0xff_ffff) as u32
        } else {
            2
        };
        let tepoch = rng.next_u64() as u8;
        let ceepoch = if rng.chance(1, 2) {
            tepoch
        } else {
            rng.next_u64() as u8
        };
        let mac = rng.next_u64() as u32;
        let tmac = if rng.chance(1, 2) {
            mac
        } else {
            rng.next_u64() as u32
        };
        let auth = rng.chance(2, 3);
        let lepmiss = rng.chance(1, 4);
        let cehit = rng.chance(2, 3);
        let s_evp = rng.chance(1, 4);
        let s_ev = u128::from(rng.next_u64()) << 64 | u128::from(rng.next_u64());
        let s_cecnt = rng.chance(1, 4);
        let port = rng.next_u64() as u16;
        let ts = rng.next_u64() as u32;

        m.set_u64("ts", ts.into())?;
        m.set_bool("auth", auth)?;
        m.set_u64("mac", mac.into())?;
        m.set_u64("s_vd", vd)?;
        m.set_bool("s_evp", s_evp)?;
        let mut ev = Bits::zero(128);
        ev.set(0, 128, s_ev);
        m.set("s_ev", &ev.0)?;
        m.set_bool("s_cecnt", s_cecnt)?;
        m.set_u64("cls", cls)?;
        m.set_u64("tun", tun)?;
        m.set_u64("port", port.into())?;
        m.set_u64("sctx", sctx.into())?;
        m.set_u64("tepoch", tepoch.into())?;
        m.set_u64("tmac", tmac.into())?;
        m.set_bool("lepmiss", lepmiss)?;
        m.set_bool("cehit", cehit)?;
        // the ctx_epoch compare leaves the epoch zero on a miss
        m.set_u64("ceepoch", if cehit { ceepoch.into() } else { 0 })?;
        m.eval()?;
        ev.0 = m.get("m_ev")?;
        let got = RxOut {
            vd: m.get_u64("m_vd")?,
            evp: m.get_bool("m_evp")?,
            ev: ev.get(0, 128),
            cecnt: m.get_bool("m_cecnt")?,
        };

        // the model's tables as the flags say, and its checks
        let mut t = Tables::default();
        if !lepmiss {
            t.set_local_ep(LocalEp {
                ip: ztnic_model::addr::from_u128(dst),
                vport: 4,
                ctx: 9,
                zone: 0,
            });
        }
        if cehit {
            t.ctx_epoch.insert(sctx, ceepoch);
        }
        let tag = if tun == l.p("TUN_GENEVE") as u64 {
            Tag::Geneve {
                ctx: sctx,
                epoch: tepoch,
                mac: tmac,
            }
        } else if tun == l.p("TUN_GBP") as u64 {
            Tag::Gbp {
                gpid: u16::try_from(sctx).expect("16 bits"),
            }
        } else {
            Tag::Untagged
        };
        let rx = rx_check(&t, auth, tag, dst, |c, e| {
            assert_eq!(
                (c, e),
                (sctx, tepoch),
                "the MAC covers the tag's context and epoch"
            );
            mac
        });
        let mut want = RxOut {
            vd,
            evp: s_evp,
            ev: s_ev,
            cecnt: s_cecnt,
        };
        if vd >> 10 & 1 != 0 {
            seen.push(RxSeen::Done);
        } else if vport {
            seen.push(RxSeen::Tx);
        } else {
            want.cecnt |= rx.ctx_counted;
            match rx.result {
                Ok(_) => {
                    if !tagged {
                        seen.push(RxSeen::PassUntagged);
                    } else {
                        seen.push(RxSeen::PassTagged);
                        if matches!(tag, Tag::Gbp { .. }) && ceepoch != tepoch {
                            seen.push(RxSeen::GbpEpochIgnored);
                        }
                    }
                    if !auth && matches!(tag, Tag::Geneve { .. }) && tmac != mac {
                        seen.push(RxSeen::MacOffIgnored);
                    }
                }
                Err(s) => {
                    want.vd = vd_of(&l, s);
                    match s {
                        Stop::Punt(r) => {
                            seen.push(if r == PuntReason::CtxUnknown {
                                RxSeen::CtxUnknown
                            } else {
                                RxSeen::Stale
                            });
                            want.evp = true;
                            want.ev = event_bits(&l, event(&l, r, port, sctx, tepoch, ts));
                        }
                        Stop::Drop(DropReason::TagBadMac) => seen.push(RxSeen::BadMac),
                        Stop::Drop(DropReason::NoLocalEp) => seen.push(RxSeen::NoLocalEp),
                        Stop::Drop(d) => panic!("stage 22 does not decide {d:?}"),
                    }
                }
            }
        }
        assert_eq!(
            got, want,
            "cls {cls} tun {tun} sctx {sctx:#x} tepoch {tepoch} ceepoch {ceepoch} cehit {cehit} \
             lepmiss {lepmiss} auth {auth} mac {mac:#x} tmac {tmac:#x} vd {vd:#x}"
        );
    }
    seen.sort();
    seen.dedup();
    assert_eq!(
        seen,
        vec![
            RxSeen::Done,
            RxSeen::Tx,
            RxSeen::BadMac,
            RxSeen::MacOffIgnored,
            RxSeen::NoLocalEp,
            RxSeen::CtxUnknown,
            RxSeen::Stale,
            RxSeen::GbpEpochIgnored,
            RxSeen::PassTagged,
            RxSeen::PassUntagged,
        ]
    );
    Ok(())
}
