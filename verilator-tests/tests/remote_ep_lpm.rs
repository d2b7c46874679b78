//! `rtl/ztnic_remote_ep_lpm.v` alone against the reference model's `remote_ep`
//! longest-prefix match (`ztnic_model::Tables::remote_ep`): random tables of IPv4
//! (v4-mapped) and IPv6 prefixes, many of equal lengths, length 0 among them, written
//! through the module's control port as the driver lays them out (bits below the
//! prefix length left as garbage now and then; freed slots keep garbage with the valid
//! bit clear). Every clock a destination (often inside one of the prefixes) enters
//! stage 10 and a control write may land; the fields the module shows after an
//! advancing clock must be the model's answer over the table as it stood when the
//! packet was matched, and must stay so while the pipeline stalls and later writes
//! land (a write between a packet's two stages is not seen). The control read port
//! must return each slot as last written.

use std::net::Ipv4Addr;

use ztnic_fpga::Bits;
use ztnic_fpga::regmap::layout::remote_ep as l;
use ztnic_fpga::regmap::remote_kind_enum as kind;
use ztnic_model::addr::prefix_mask;
use ztnic_model::{Prefix, RemoteAction, RemoteEp, Tables};
use ztnic_rtl_sim::unit::{Error, ModuleSim};
use ztnic_verilator_tests::Rng;

/// `::ffff:0:0/96`, the IPv4 part of the 128-bit space.
const V4_MAPPED: u128 = 0xffff_0000_0000;

/// One slot as written: the prefix (with `junk` in the bits the length masks off).
#[derive(Clone, Copy, Debug)]
struct Slot {
    addr: u128,
    len: u8,
    junk: u128,
    action: RemoteAction,
}

impl Slot {
    fn key(&self) -> (u128, u8) {
        (self.addr & prefix_mask(self.len), self.len)
    }

    fn bits(&self) -> Bits {
        let (k, vtep, ctx) = fields(Some(self.action));
        let mut b = Bits::zero(l::WIDTH);
        b.set(l::VALID, 1);
        b.set(
            l::PREFIX,
            self.addr & prefix_mask(self.len) | self.junk & !prefix_mask(self.len),
        );
        b.set(l::PREFIX_LEN, self.len.into());
        b.set(l::KIND, k.into());
        b.set(l::VTEP, vtep.into());
        b.set(l::CTX, ctx.into());
        b
    }
}

/// (kind, vtep, ctx) of a route as the driver writes them (a world route: ctx 2).
fn fields(a: Option<RemoteAction>) -> (u32, u32, u32) {
    match a {
        None => (0, 0, 0),
        Some(RemoteAction::Geneve { vtep, ctx }) => (kind::GENEVE, u32::from(vtep), ctx),
        Some(RemoteAction::VxlanGbp { vtep, ctx }) => (kind::VXLAN_GBP, u32::from(vtep), ctx),
        Some(RemoteAction::World) => (kind::WORLD, 0, 2),
    }
}

fn random_slot(rng: &mut Rng) -> Slot {
    // a few lengths most of the time, so that many prefixes share one
    let v4 = rng.chance(1, 2);
    let len = if rng.chance(1, 8) {
        0
    } else if v4 {
        96 + if rng.chance(2, 3) {
            [0u8, 8, 16, 24][rng.below(4) as usize]
        } else {
            rng.below(33) as u8
        }
    } else if rng.chance(2, 3) {
        [16u8, 32, 48, 64][rng.below(4) as usize]
    } else {
        rng.below(128) as u8
    };
    let addr = if v4 {
        // v4-mapped, the top octet from a few values so prefixes nest
        V4_MAPPED
            | u128::from(rng.below(4) as u32) << 24
            | u128::from(rng.next_u64() as u32 & 0xff_ffff)
    } else {
        0xfd00_u128 << 112 | u128::from(rng.below(4)) << 96 | u128::from(rng.next_u64()) << 32
    };
    let junk = if rng.chance(1, 3) {
        u128::from(rng.next_u64()) << 64 | u128::from(rng.next_u64())
    } else {
        0
    };
    let vtep = Ipv4Addr::from(rng.next_u64() as u32);
    let ctx = rng.below(1 << 24) as u32;
    let action = match rng.below(3) {
        0 => RemoteAction::Geneve { vtep, ctx },
        1 => RemoteAction::VxlanGbp { vtep, ctx },
        _ => RemoteAction::World,
    };
    Slot {
        addr,
        len,
        junk,
        action,
    }
}

/// The model's answer over the valid slots.
fn lookup(slots: &[Option<Slot>], dst: u128) -> Option<RemoteAction> {
    let mut t = Tables::default();
    for s in slots.iter().flatten() {
        t.set_remote_ep(RemoteEp {
            prefix: Prefix::from_u128(s.addr, s.len),
            action: s.action,
        });
    }
    t.remote_ep(dst).map(|e| e.action)
}

fn random_dst(rng: &mut Rng, slots: &[Option<Slot>]) -> u128 {
    let live: Vec<&Slot> = slots.iter().flatten().collect();
    let noise = u128::from(rng.next_u64()) << 64 | u128::from(rng.next_u64());
    if !live.is_empty() && rng.chance(3, 4) {
        // inside a prefix: its bits, random below them (some land in a longer one)
        let s = live[rng.below(live.len() as u64) as usize];
        let m = prefix_mask(s.len);
        let below = if rng.chance(1, 2) {
            noise
        } else {
            // only the next few bits random, the rest as the prefix's address
            (noise & !prefix_mask(s.len.saturating_add(8).min(128))) ^ s.addr
        };
        s.addr & m | below & !m
    } else if rng.chance(1, 2) {
        V4_MAPPED | (noise & 0xffff_ffff)
    } else {
        noise
    }
}

fn write(m: &mut ModuleSim, index: usize, bits: &Bits) -> Result<(), Error> {
    m.set_bool("wr_en", true)?;
    m.set_u64("wr_index", index as u64)?;
    m.set("wr_data", bits.words())
}

fn run(n: usize, seed: u64) -> Result<(), Error> {
    let mut m = ModuleSim::build("ztnic_remote_ep_lpm", &[("N", n as i64)])?;
    let mut rng = Rng::new(seed);
    let mut slots: Vec<Option<Slot>> = vec![None; n];
    // what each slot reads back
    let mut written: Vec<Bits> = vec![Bits::zero(l::WIDTH); n];
    // the answer the module must show (None: nothing advanced yet)
    let mut want: Option<Option<RemoteAction>> = None;
    let (mut hits, mut misses, mut torn_chances) = (0, 0, 0);
    for clock in 0..3000 {
        let dst = random_dst(&mut rng, &slots);
        m.set(
            "s_dst",
            &[
                dst as u32,
                (dst >> 32) as u32,
                (dst >> 64) as u32,
                (dst >> 96) as u32,
            ],
        )?;
        let adv = clock < 20 || !rng.chance(1, 4);
        m.set_bool("adv", adv)?;
        // a control write now and then: a new route, a freed slot (junk, invalid)
        m.set_bool("wr_en", false)?;
        let mut landed = None;
        if rng.chance(2, 5) {
            let i = rng.below(n as u64) as usize;
            if rng.chance(1, 5) {
                let mut b = Bits::zero(l::WIDTH);
                b.set(l::PREFIX, u128::from(rng.next_u64()));
                b.set(l::PREFIX_LEN, u128::from(rng.below(129)));
                b.set(l::KIND, u128::from(rng.below(4)));
                b.set(l::CTX, u128::from(rng.below(1 << 24)));
                write(&mut m, i, &b)?;
                landed = Some((i, None, b));
            } else {
                let s = random_slot(&mut rng);
                // one slot per prefix, as the driver keeps them
                let dup = slots
                    .iter()
                    .enumerate()
                    .any(|(j, o)| j != i && o.is_some_and(|o| o.key() == s.key()));
                if !dup {
                    let b = s.bits();
                    write(&mut m, i, &b)?;
                    landed = Some((i, Some(s), b));
                }
            }
        }
        let rd = rng.below(n as u64) as usize;
        m.set_u64("rd_index", rd as u64)?;
        m.tick("clk")?;
        if adv {
            // matched against the table before this clock's write
            want = Some(lookup(&slots, dst));
        } else if landed.is_some() && want.is_some() {
            torn_chances += 1;
        }
        if let Some((i, s, b)) = landed {
            slots[i] = s;
            written[i] = b;
        }
        if let Some(w) = want {
            let (k, vtep, ctx) = fields(w);
            let got = (
                m.get_bool("m_hit")?,
                m.get_u64("m_kind")? as u32,
                m.get_u64("m_vtep")? as u32,
                m.get_u64("m_ctx")? as u32,
            );
            assert_eq!(
                got,
                (w.is_some(), k, vtep, ctx),
                "N={n}: clock {clock}: dst {dst:#x} took the wrong route (slots {slots:?})"
            );
            if w.is_some() {
                hits += 1;
            } else {
                misses += 1;
            }
        }
        m.eval()?;
        assert_eq!(
            m.get("rd_data")?,
            written[rd].words(),
            "N={n}: clock {clock}: slot {rd} reads back wrong"
        );
    }
    assert!(
        hits > 1000 && misses > 20,
        "N={n}: {hits} hits, {misses} misses"
    );
    assert!(
        torn_chances > 50,
        "N={n}: only {torn_chances} writes in a stall"
    );
    Ok(())
}

#[test]
fn the_lpm_takes_the_route_the_model_takes() {
    for (i, n) in [16usize, 5, 64].into_iter().enumerate() {
        run(n, 0x1e9_0000 + i as u64).expect("module simulation");
    }
}
