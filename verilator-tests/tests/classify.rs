//! `rtl/ztnic_classify.v` (the engine's stage 12) alone against the model's own
//! classification: `ztnic_model::pipeline::classify_tx` for a packet from a vport;
//! `rx_src_ctx`, the tag_ctx_zero step of `rx_check` and `Tables::local_ep` for one
//! from the uplink.
//!
//! A case fills the four ways of the vport_ctx, local_ep and remote_host buckets the
//! module sees, puts the same valid entries in a model `Tables` (the remote_host ones
//! as full-length remote_ep routes, as the driver places them), and adds shorter
//! remote_ep prefixes whose longest match (the model's `Tables::remote_ep` over those
//! alone) is the module's input from the LPM of stages 10-11. Random cases draw
//! entries and packets over a small pool of ports and addresses (IPv4 and IPv6), so
//! hits and near misses are common; now and then a way is invalid with a matching key,
//! which must not hit; valid ways hold distinct keys, as the driver's placement does.
//! Hand-built cases pin the precedence rules. Every output must be the model's
//! decision; a packet already decided must pass with its verdict and every written
//! field zero.

use std::net::{IpAddr, Ipv4Addr};

use ztnic_model::DropReason;
use ztnic_model::addr::to_u128;
use ztnic_model::parse::{Stop, Tag};
use ztnic_model::pipeline::{TxAct, classify_tx, rx_check, rx_src_ctx};
use ztnic_model::tables::{LocalEp, Prefix, RemoteAction, RemoteEp, Tables, VportCtx};
use ztnic_rtl_sim::unit::{Error, ModuleSim};
use ztnic_verilator_tests::Rng;
use ztnic_verilator_tests::phv::{Bits, Layout};

/// One way of a bucket: the entry, and whether its valid bit is set.
#[derive(Clone, Copy, Debug)]
struct Way<T> {
    valid: bool,
    e: T,
}

/// A packet at stage 12 and the table data it meets.
#[derive(Clone, Debug)]
struct Case {
    /// {done, kind, reason} so far
    vd: u64,
    vport: bool,
    /// TUN_* (RX)
    tun: u64,
    port: u16,
    src: IpAddr,
    dst: IpAddr,
    tctx: u32,
    vpc: [Option<Way<VportCtx>>; 4],
    lep: [Option<Way<LocalEp>>; 4],
    /// full-length routes
    rh: [Option<Way<RemoteEp>>; 4],
    /// shorter routes (the LPM's)
    lpm: Vec<RemoteEp>,
}

/// The fields the module writes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Out {
    vd: u64,
    sctx: u64,
    dctx: u64,
    zone: u64,
    ovport: u64,
    act: u64,
    vtep: u64,
    lepmiss: bool,
}

/// What a case exercised, to show the random cases reach every branch.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Clone, Copy)]
enum Seen {
    Done,
    Spoofed,
    NoRoute,
    Local,
    Geneve,
    Gbp,
    Native,
    HostRouteOverLpm,
    LpmOnly,
    RxCtxZero,
    RxLepMiss,
    RxLepHit,
    InvalidWayMatching,
}

/// The (kind, vtep, ctx) the tables hold for a route (the driver's encoding).
fn route_fields(l: &Layout, a: RemoteAction) -> (u64, u64, u64) {
    match a {
        RemoteAction::Geneve { vtep, ctx } => (
            l.p("REMOTE_KIND_GENEVE") as u64,
            u64::from(u32::from(vtep)),
            u64::from(ctx),
        ),
        RemoteAction::VxlanGbp { vtep, ctx } => (
            l.p("REMOTE_KIND_VXLAN_GBP") as u64,
            u64::from(u32::from(vtep)),
            u64::from(ctx),
        ),
        RemoteAction::World => (l.p("REMOTE_KIND_WORLD") as u64, 0, 2),
    }
}

fn full_len(ip: IpAddr) -> u8 {
    if ip.is_ipv4() { 32 } else { 128 }
}

fn vd_of(l: &Layout, r: Stop) -> u64 {
    let (kind, code) = match r {
        Stop::Drop(d) => (l.p("V_DROP"), d.code()),
        Stop::Punt(p) => (l.p("V_PUNT"), p.code()),
    };
    1 << 10 | (kind as u64) << 8 | u64::from(code)
}

/// The model's tables for a case: the valid ways and every route; and the LPM's own.
fn tables(c: &Case) -> (Tables, Tables) {
    let mut t = Tables::default();
    let mut lpm = Tables::default();
    for w in c.vpc.iter().flatten().filter(|w| w.valid) {
        t.set_vport_ctx(w.e);
    }
    for w in c.lep.iter().flatten().filter(|w| w.valid) {
        t.set_local_ep(w.e);
    }
    for w in c.rh.iter().flatten().filter(|w| w.valid) {
        t.set_remote_ep(w.e);
    }
    for r in &c.lpm {
        t.set_remote_ep(*r);
        lpm.set_remote_ep(*r);
    }
    (t, lpm)
}

fn expected(l: &Layout, c: &Case, seen: &mut Vec<Seen>) -> Out {
    let (t, lpm) = tables(c);
    let mut o = Out {
        vd: c.vd,
        ..Out::default()
    };
    let src = to_u128(c.src);
    let dst = to_u128(c.dst);
    let invalid_matching = c
        .vpc
        .iter()
        .flatten()
        .any(|w| !w.valid && w.e.port == c.port && to_u128(w.e.ip) == src)
        || c.lep
            .iter()
            .flatten()
            .any(|w| !w.valid && to_u128(w.e.ip) == dst)
        || c.rh
            .iter()
            .flatten()
            .any(|w| !w.valid && w.e.prefix.to_u128().0 == dst);
    if invalid_matching {
        seen.push(Seen::InvalidWayMatching);
    }
    if c.vd >> 10 & 1 != 0 {
        seen.push(Seen::Done);
        return o;
    }
    if c.vport {
        match classify_tx(&t, c.port, src, dst) {
            Err(r) => {
                o.vd = vd_of(l, r.into());
                if r == DropReason::NoRoute {
                    seen.push(Seen::NoRoute);
                    let v = t
                        .vport_ctx(c.port, src)
                        .expect("no_route comes after vport_ctx");
                    o.sctx = u64::from(v.ctx);
                    o.zone = u64::from(v.zone);
                } else {
                    seen.push(Seen::Spoofed);
                }
            }
            Ok(cl) => {
                o.sctx = u64::from(cl.src.ctx);
                o.zone = u64::from(cl.src.zone);
                o.dctx = u64::from(cl.dst_ctx);
                let route = |seen: &mut Vec<Seen>| {
                    let r = t.remote_ep(dst).expect("a route");
                    if r.prefix.len == full_len(r.prefix.addr) {
                        if lpm.remote_ep(dst).is_some() {
                            seen.push(Seen::HostRouteOverLpm);
                        }
                    } else {
                        seen.push(Seen::LpmOnly);
                    }
                    route_fields(l, r.action).1
                };
                match cl.act {
                    TxAct::Local(p) => {
                        seen.push(Seen::Local);
                        o.act = l.p("A_LOCAL") as u64;
                        o.ovport = u64::from(p);
                    }
                    TxAct::Native => {
                        seen.push(Seen::Native);
                        o.act = l.p("A_NATIVE") as u64;
                        o.vtep = route(seen);
                    }
                    TxAct::Geneve(v) => {
                        seen.push(Seen::Geneve);
                        o.act = l.p("A_GENEVE") as u64;
                        o.vtep = route(seen);
                        assert_eq!(o.vtep, u64::from(u32::from(v)));
                    }
                    TxAct::Gbp(v) => {
                        seen.push(Seen::Gbp);
                        o.act = l.p("A_GBP") as u64;
                        o.vtep = route(seen);
                        assert_eq!(o.vtep, u64::from(u32::from(v)));
                    }
                }
            }
        }
    } else {
        let tag = if c.tun == l.p("TUN_GENEVE") as u64 {
            Tag::Geneve {
                ctx: c.tctx,
                epoch: 0,
                mac: 0,
            }
        } else if c.tun == l.p("TUN_GBP") as u64 {
            Tag::Gbp {
                gpid: u16::try_from(c.tctx).expect("a GBP tag's context is 16 bits"),
            }
        } else {
            Tag::Untagged
        };
        o.sctx = u64::from(rx_src_ctx(tag));
        let rx = rx_check(&t, false, tag, dst, |_, _| 0);
        if rx.result == Err(DropReason::TagCtxZero.into()) {
            seen.push(Seen::RxCtxZero);
            o.vd = vd_of(l, DropReason::TagCtxZero.into());
        }
        match t.local_ep(dst) {
            None => {
                seen.push(Seen::RxLepMiss);
                o.lepmiss = true;
            }
            Some(e) => {
                seen.push(Seen::RxLepHit);
                o.dctx = u64::from(e.ctx);
                o.ovport = u64::from(e.vport);
                o.zone = u64::from(e.zone);
            }
        }
    }
    o
}

fn ways<T: Copy>(
    l: &Layout,
    name: &str,
    ws: &[Option<Way<T>>; 4],
    fields: impl Fn(&T) -> Vec<(&'static str, u128)>,
) -> Bits {
    let w = l.p(&format!("L_{name}_W"));
    let mut b = Bits::zero(4 * w);
    for (i, way) in ws.iter().enumerate() {
        let Some(way) = way else { continue };
        b.set(
            i * w + l.p(&format!("L_{name}_VALID_LSB")),
            1,
            way.valid.into(),
        );
        for (f, v) in fields(&way.e) {
            let lsb = l.p(&format!("L_{name}_{f}_LSB"));
            let fw = l.p(&format!("L_{name}_{f}_W"));
            b.set(i * w + lsb, fw, v);
        }
    }
    b
}

fn run(m: &mut ModuleSim, l: &Layout, c: &Case) -> Result<Out, Error> {
    let (_, lpm) = tables(c);
    let dst = to_u128(c.dst);
    m.set_u64("s_vd", c.vd)?;
    let cls = if c.vport {
        l.p("PORT_CLASS_VPORT")
    } else {
        l.p("PORT_CLASS_UPLINK")
    };
    m.set_u64("cls", cls as u64)?;
    m.set_u64("tun", c.tun)?;
    m.set_u64("port", c.port.into())?;
    let mut a = Bits::zero(128);
    a.set(0, 128, to_u128(c.src));
    m.set("src", &a.0)?;
    a.set(0, 128, dst);
    m.set("dst", &a.0)?;
    m.set_u64("tctx", c.tctx.into())?;
    let rem = lpm.remote_ep(dst).map(|r| route_fields(l, r.action));
    m.set_bool("rem_hit", rem.is_some())?;
    let (kind, vtep, ctx) = rem.unwrap_or((0, 0, 0));
    m.set_u64("rem_kind", kind)?;
    m.set_u64("rem_vtep", vtep)?;
    m.set_u64("rem_ctx", ctx)?;
    let vpc = ways(l, "VPORT_CTX", &c.vpc, |e| {
        vec![
            ("VPORT", e.port.into()),
            ("ADDR", to_u128(e.ip)),
            ("CTX", e.ctx.into()),
            ("ZONE", e.zone.into()),
        ]
    });
    m.set("vpc_rd", &vpc.0)?;
    let lep = ways(l, "LOCAL_EP", &c.lep, |e| {
        vec![
            ("ADDR", to_u128(e.ip)),
            ("VPORT", e.vport.into()),
            ("CTX", e.ctx.into()),
            ("ZONE", e.zone.into()),
        ]
    });
    m.set("lep_rd", &lep.0)?;
    let rh = ways(l, "REMOTE_HOST", &c.rh, |e| {
        let (kind, vtep, ctx) = route_fields(l, e.action);
        vec![
            ("ADDR", e.prefix.to_u128().0),
            ("KIND", kind.into()),
            ("VTEP", vtep.into()),
            ("CTX", ctx.into()),
        ]
    });
    m.set("rh_rd", &rh.0)?;
    m.eval()?;
    Ok(Out {
        vd: m.get_u64("m_vd")?,
        sctx: m.get_u64("m_sctx")?,
        dctx: m.get_u64("m_dctx")?,
        zone: m.get_u64("m_zone")?,
        ovport: m.get_u64("m_ovport")?,
        act: m.get_u64("m_act")?,
        vtep: m.get_u64("m_vtep")?,
        lepmiss: m.get_bool("m_lepmiss")?,
    })
}

const PORTS: [u16; 3] = [3, 4, 0x0109];

fn addrs() -> Vec<IpAddr> {
    [
        "10.0.0.1",
        "10.0.0.2",
        "10.0.1.7",
        "192.168.5.5",
        "fd00::1",
        "fd00::2",
        "fd00:1::9",
        "::ffff:0:0",
    ]
    .iter()
    .map(|s| s.parse().expect("an address"))
    .collect()
}

fn pick<T: Copy>(rng: &mut Rng, v: &[T]) -> T {
    v[rng.below(v.len() as u64) as usize]
}

fn ctx24(rng: &mut Rng) -> u32 {
    match rng.below(4) {
        0 => 2,
        1 => rng.below(8) as u32,
        _ => rng.next_u64() as u32 & 0xff_ffff,
    }
}

fn action(rng: &mut Rng) -> RemoteAction {
    let vtep = Ipv4Addr::from(rng.next_u64() as u32);
    match rng.below(3) {
        0 => RemoteAction::Geneve {
            vtep,
            ctx: ctx24(rng),
        },
        1 => RemoteAction::VxlanGbp {
            vtep,
            ctx: ctx24(rng),
        },
        _ => RemoteAction::World,
    }
}

/// Four ways, each empty, invalid or valid; valid ones with distinct keys.
fn bucket<T: Copy, K: PartialEq>(
    rng: &mut Rng,
    gen_entry: impl Fn(&mut Rng) -> T,
    key: impl Fn(&T) -> K,
) -> [Option<Way<T>>; 4] {
    let mut out = [None; 4];
    for i in 0..4 {
        if rng.chance(1, 5) {
            continue;
        }
        let e = gen_entry(rng);
        let valid = !rng.chance(1, 6);
        let dup = out
            .iter()
            .flatten()
            .any(|w: &Way<T>| w.valid && key(&w.e) == key(&e));
        if valid && dup {
            continue;
        }
        out[i] = Some(Way { valid, e });
    }
    out
}

fn random_case(rng: &mut Rng, l: &Layout, pool: &[IpAddr]) -> Case {
    let vpc = bucket(
        rng,
        |r| VportCtx {
            port: pick(r, &PORTS),
            ip: pick(r, pool),
            ctx: ctx24(r),
            zone: r.next_u64() as u16,
        },
        |e| (e.port, e.ip),
    );
    let lep = bucket(
        rng,
        |r| LocalEp {
            ip: pick(r, pool),
            vport: r.next_u64() as u16,
            ctx: ctx24(r),
            zone: r.next_u64() as u16,
        },
        |e| e.ip,
    );
    let rh = bucket(
        rng,
        |r| {
            let ip = pick(r, pool);
            RemoteEp {
                prefix: Prefix {
                    addr: ip,
                    len: full_len(ip),
                },
                action: action(r),
            }
        },
        |e| e.prefix,
    );
    let lpm = (0..rng.below(4))
        .map(|_| {
            let ip = pick(rng, pool);
            RemoteEp {
                prefix: Prefix {
                    addr: ip,
                    len: rng.below(u64::from(full_len(ip))) as u8,
                },
                action: action(rng),
            }
        })
        .collect();
    let tun = rng.below(4);
    let tctx = if tun == l.p("TUN_GBP") as u64 {
        ctx24(rng) & 0xffff
    } else {
        ctx24(rng)
    };
    let vd = if rng.chance(1, 10) {
        1 << 10 | (rng.below(3) << 8) | rng.below(256)
    } else {
        // not decided: the kind and reason are zero
        0
    };
    Case {
        vd,
        vport: rng.chance(1, 2),
        tun,
        port: pick(rng, &PORTS),
        src: pick(rng, pool),
        dst: pick(rng, pool),
        tctx,
        vpc,
        lep,
        rh,
        lpm,
    }
}

fn check(m: &mut ModuleSim, l: &Layout, c: &Case, seen: &mut Vec<Seen>) -> Result<(), Error> {
    let want = expected(l, c, seen);
    let got = run(m, l, c)?;
    assert_eq!(got, want, "case {c:#?}");
    Ok(())
}

#[test]
fn classify_matches_the_model_on_random_tables() -> Result<(), Error> {
    let l = Layout::load();
    let mut m = ModuleSim::build("ztnic_classify", &[])?;
    let pool = addrs();
    let mut rng = Rng::new(0x0c1a_5512);
    let mut seen = Vec::new();
    for _ in 0..20_000 {
        let c = random_case(&mut rng, &l, &pool);
        check(&mut m, &l, &c, &mut seen)?;
    }
    seen.sort();
    seen.dedup();
    assert_eq!(
        seen,
        vec![
            Seen::Done,
            Seen::Spoofed,
            Seen::NoRoute,
            Seen::Local,
            Seen::Geneve,
            Seen::Gbp,
            Seen::Native,
            Seen::HostRouteOverLpm,
            Seen::LpmOnly,
            Seen::RxCtxZero,
            Seen::RxLepMiss,
            Seen::RxLepHit,
            Seen::InvalidWayMatching,
        ],
        "the random cases reach every branch"
    );
    Ok(())
}

#[test]
fn classify_precedence_on_hand_built_tables() -> Result<(), Error> {
    let l = Layout::load();
    let mut m = ModuleSim::build("ztnic_classify", &[])?;
    let ip = |s: &str| -> IpAddr { s.parse().expect("an address") };
    let vtep = Ipv4Addr::new(192, 0, 2, 1);
    let sender = VportCtx {
        port: 3,
        ip: ip("10.0.0.1"),
        ctx: 0x10_0001,
        zone: 7,
    };
    let local = LocalEp {
        ip: ip("10.0.0.2"),
        vport: 4,
        ctx: 0x20_0002,
        zone: 9,
    };
    let host = RemoteEp {
        prefix: Prefix {
            addr: ip("10.0.1.7"),
            len: 32,
        },
        action: RemoteAction::VxlanGbp { vtep, ctx: 300 },
    };
    let net = RemoteEp {
        prefix: Prefix {
            addr: ip("10.0.1.0"),
            len: 24,
        },
        action: RemoteAction::Geneve { vtep, ctx: 400 },
    };
    let base = Case {
        vd: 0,
        vport: true,
        tun: l.p("TUN_NONE") as u64,
        port: 3,
        src: sender.ip,
        dst: local.ip,
        tctx: 0,
        vpc: [
            None,
            Some(Way {
                valid: true,
                e: sender,
            }),
            None,
            None,
        ],
        lep: [
            Some(Way {
                valid: true,
                e: local,
            }),
            None,
            None,
            None,
        ],
        rh: [
            None,
            None,
            None,
            Some(Way {
                valid: true,
                e: host,
            }),
        ],
        lpm: vec![net],
    };
    let mut seen = Vec::new();
    let mut invalid = base.clone();
    invalid.vpc[1] = Some(Way {
        valid: false,
        e: sender,
    });
    let mut cases = vec![
        // a local endpoint wins over every route
        base.clone(),
        // the host route wins over the /24 that also holds it
        Case {
            dst: host.prefix.addr,
            ..base.clone()
        },
        // the /24 alone
        Case {
            dst: ip("10.0.1.8"),
            ..base.clone()
        },
        // no route
        Case {
            dst: ip("10.0.2.1"),
            ..base.clone()
        },
        // the sender's address from another port, and its entry made invalid
        Case {
            port: 4,
            ..base.clone()
        },
        invalid,
    ];
    // RX: Geneve ctx 0, GBP, untagged towards the local endpoint and past it
    for (tun, tctx, dst) in [
        ("TUN_GENEVE", 0, local.ip),
        ("TUN_GENEVE", 0x12_3456, local.ip),
        ("TUN_GBP", 0x3456, local.ip),
        ("TUN_GBP", 0, ip("10.0.1.8")),
        ("TUN_UNTAGGED", 0, local.ip),
        ("TUN_NONE", 0x12_3456, ip("10.0.1.8")),
    ] {
        cases.push(Case {
            vport: false,
            tun: l.p(tun) as u64,
            tctx,
            dst,
            ..base.clone()
        });
    }
    for c in &cases {
        check(&mut m, &l, c, &mut seen)?;
    }
    for s in [
        Seen::Local,
        Seen::HostRouteOverLpm,
        Seen::LpmOnly,
        Seen::NoRoute,
        Seen::Spoofed,
        Seen::RxCtxZero,
        Seen::RxLepHit,
        Seen::RxLepMiss,
    ] {
        assert!(seen.contains(&s), "{s:?} not reached");
    }
    Ok(())
}
