//! `rtl/ztnic_policy_key.v` (the engine's stage 13: the decomposed policy keys and
//! their buckets) alone against the driver's decomposition (`ztnic_fpga::policy_key`,
//! the key every rule is stored under) and the model's rule match.
//!
//! For random connections (contexts now and then equal, protocols common or any),
//! variant v of each view must be the decomposed key of (src, dst, proto) with the
//! parts flagged `any` by v left out (the reply view with the contexts swapped), and
//! its bucket the low POLICY_LOG2 bits of the key's CRC-32, the bucket the driver
//! places it in. And against the model: a random rule (each part a context of the
//! connection, another one, or any) is found by the lookup, its stored key equal to
//! the variant of its own flags, exactly when `Rule::matches` says it covers the
//! connection (port range aside, which the compare after the read checks); the same
//! for the reply view and the reversed connection. Swept over POLICY_LOG2 = 1, 6, 9.

use ztnic_fpga::policy_key;
use ztnic_model::conntrack::CRC32;
use ztnic_model::policy::PolicyQuery;
use ztnic_model::{Action, PortRange, ProtoMatch, Rule};
use ztnic_rtl_sim::unit::{Error, ModuleSim};
use ztnic_verilator_tests::Rng;
use ztnic_verilator_tests::phv::Bits;

fn ctx24(rng: &mut Rng) -> u32 {
    match rng.below(3) {
        0 => 1 + rng.below(4) as u32,
        _ => rng.next_u64() as u32 & 0xff_ffff,
    }
}

fn words(m: &mut ModuleSim, port: &str) -> Result<Bits, Error> {
    Ok(Bits(m.get(port)?))
}

/// A rule part: the connection's value, another one, or any.
fn part<T: Copy>(rng: &mut Rng, own: T, other: T) -> Option<T> {
    match rng.below(3) {
        0 => Some(own),
        1 => Some(other),
        _ => None,
    }
}

fn flags(r: &Rule) -> usize {
    usize::from(r.src.is_none())
        | usize::from(r.dst.is_none()) << 1
        | usize::from(r.proto.0.is_none()) << 2
}

fn check(log2: u32, seed: u64) -> Result<(), Error> {
    let mut m = ModuleSim::build("ztnic_policy_key", &[("POLICY_LOG2", log2.into())])?;
    let lw = log2 as usize;
    let mut rng = Rng::new(seed);
    let (mut hits_f, mut hits_r, mut misses) = (0, 0, 0);
    for _ in 0..20_000 {
        let sctx = ctx24(&mut rng);
        let dctx = if rng.chance(1, 8) {
            sctx
        } else {
            ctx24(&mut rng)
        };
        let proto = [6u8, 17, 1, 58, rng.next_u64() as u8][rng.below(5) as usize];
        m.set_u64("sctx", sctx.into())?;
        m.set_u64("dctx", dctx.into())?;
        m.set_u64("proto", proto.into())?;
        m.eval()?;
        let kf = words(&mut m, "m_key_f")?;
        let kr = words(&mut m, "m_key_r")?;
        let bf = words(&mut m, "m_bucket_f")?;
        let br = words(&mut m, "m_bucket_r")?;
        let mask = (1u64 << log2) - 1;
        for v in 0..8usize {
            let pick = |any: bool, x: u32| (!any).then_some(x);
            let want_f = policy_key(
                pick(v & 1 != 0, sctx),
                pick(v & 2 != 0, dctx),
                (v & 4 == 0).then_some(proto),
            );
            let want_r = policy_key(
                pick(v & 1 != 0, dctx),
                pick(v & 2 != 0, sctx),
                (v & 4 == 0).then_some(proto),
            );
            let ctx = format!("{sctx:#x} -> {dctx:#x} proto {proto} variant {v}");
            assert_eq!(kf.get(64 * v, 64) as u64, want_f, "key {ctx}");
            assert_eq!(kr.get(64 * v, 64) as u64, want_r, "reply key {ctx}");
            let bucket = |k: u64| u64::from(CRC32.checksum(&k.to_be_bytes())) & mask;
            assert_eq!(bf.get(lw * v, lw) as u64, bucket(want_f), "bucket {ctx}");
            assert_eq!(
                br.get(lw * v, lw) as u64,
                bucket(want_r),
                "reply bucket {ctx}"
            );
        }
        // a rule is looked up exactly when the model says it covers the connection
        for _ in 0..4 {
            let other = ctx24(&mut rng);
            let rule = Rule {
                id: 1,
                priority: 0,
                src: part(&mut rng, sctx, other),
                dst: part(&mut rng, dctx, other),
                proto: ProtoMatch(part(&mut rng, proto, proto.wrapping_add(1))),
                ports: PortRange::ANY,
                action: Action::Allow,
            };
            let stored = policy_key(rule.src, rule.dst, rule.proto.0);
            let v = flags(&rule);
            let q = PolicyQuery {
                src_ctx: sctx,
                dst_ctx: dctx,
                proto,
                port: 0,
            };
            let qr = PolicyQuery {
                src_ctx: dctx,
                dst_ctx: sctx,
                ..q
            };
            let found_f = kf.get(64 * v, 64) as u64 == stored;
            let found_r = kr.get(64 * v, 64) as u64 == stored;
            assert_eq!(found_f, rule.matches(&q), "{rule:?} for {q:?}");
            assert_eq!(found_r, rule.matches(&qr), "{rule:?} for {qr:?}");
            hits_f += usize::from(found_f);
            hits_r += usize::from(found_r);
            misses += usize::from(!found_f && !found_r);
        }
    }
    assert!(
        hits_f > 1000 && hits_r > 1000 && misses > 1000,
        "{hits_f} {hits_r} {misses}"
    );
    Ok(())
}

#[test]
fn policy_keys_match_the_driver_and_the_model() -> Result<(), Error> {
    check(6, 0x9011_c706)?;
    check(9, 0x9011_c709)?;
    check(1, 0x9011_c701)
}
