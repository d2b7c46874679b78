//! The data plane's digests on bmv2: `ctx_miss` when a sender's context is not in
//! `ctx_epoch`, `ct_event` when conntrack inserts an entry by itself. Without
//! `simple_switch_grpc` on PATH each test is reported as ignored, loudly.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use libtest_mimic::{Arguments, Failed, Trial};
use ztnic_bmv2::tools::{SIMPLE_SWITCH_GRPC, find, repo_root, skip};
use ztnic_bmv2_tests::p4c::{ZTNIC_JSON, ZTNIC_P4INFO};
use ztnic_bmv2_tests::target::Bmv2Target;
use ztnic_model::tables::{CtxEpoch, PortClass, Prefix, RemoteAction, RemoteEp, VportCtx};
use ztnic_model::{Action, Config, PortRange, ProtoMatch, PuntReason, Rule, Verdict};
use ztnic_p4tables::names;
use ztnic_scenario::{Op, Target};

fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

/// A switch with vport 1 (10.0.0.1, context 256) routed to 10.0.1.0/24 over Geneve.
fn switch() -> Result<Bmv2Target, Failed> {
    let root = repo_root();
    let mut t = Bmv2Target::start(&root.join(ZTNIC_JSON), &root.join(ZTNIC_P4INFO), 1)?;
    t.reset(&Config::default())?;
    for op in [
        Op::SetPortClass {
            port: 0,
            class: PortClass::Uplink,
        },
        Op::SetPortClass {
            port: 1,
            class: PortClass::Vport,
        },
        Op::SetPortClass {
            port: 255,
            class: PortClass::Cpu,
        },
        Op::SetVportCtx(VportCtx {
            port: 1,
            ip: v4(10, 0, 0, 1),
            ctx: 256,
            zone: 0,
        }),
        Op::SetRemoteEp(RemoteEp {
            prefix: Prefix {
                addr: v4(10, 0, 1, 0),
                len: 24,
            },
            action: RemoteAction::Geneve {
                vtep: Ipv4Addr::new(192, 168, 0, 2),
                ctx: 257,
            },
        }),
    ] {
        t.apply(&op)?;
    }
    Ok(t)
}

/// Ethernet / IPv4 / UDP 10.0.0.1:1000 → 10.0.1.5:53.
fn udp_frame() -> Vec<u8> {
    ztnic_testkit::frames::udp_frame(50, [10, 0, 0, 1], [10, 0, 1, 5], 1000, 53)
}

fn be(b: &[u8]) -> u128 {
    b.iter().fold(0u128, |acc, x| (acc << 8) | u128::from(*x))
}

fn ctx_miss_digest_names_the_unknown_context_and_the_port() -> Result<(), Failed> {
    let mut t = switch()?;
    let out = t.send(0, 1, &udp_frame())?;
    if !matches!(
        out.verdict,
        Verdict::Punt {
            reason: PuntReason::CtxUnknown,
            ..
        }
    ) {
        return Err(format!("expected a ctx_unknown punt, got {:?}", out.verdict).into());
    }
    let digests = t.take_digests(Duration::from_secs(2))?;
    t.stop();
    let Some((_, m)) = digests.iter().find(|(n, _)| n == names::CTX_MISS) else {
        return Err(format!("no ctx_miss digest (got {digests:?})").into());
    };
    // {ctx, epoch, reason, port}
    let got: Vec<u128> = m.iter().map(|b| be(b)).collect();
    let want = vec![256, 0, u128::from(PuntReason::CtxUnknown.code()), 1];
    if got != want {
        return Err(format!("ctx_miss carried {got:?}, expected {want:?}").into());
    }
    Ok(())
}

fn ct_event_digest_reports_a_data_plane_insert() -> Result<(), Failed> {
    let mut t = switch()?;
    t.apply(&Op::SetCtxEpoch(CtxEpoch { ctx: 256, epoch: 1 }))?;
    t.apply(&Op::SetRule(Rule {
        id: 1,
        priority: 10,
        src: Some(256),
        dst: Some(257),
        proto: ProtoMatch(Some(17)),
        ports: PortRange { lo: 53, hi: 53 },
        action: Action::Allow,
    }))?;
    let out = t.send(0, 1, &udp_frame())?;
    if !matches!(out.verdict, Verdict::Forward { port: 0, .. }) {
        return Err(format!("expected a forward to the uplink, got {:?}", out.verdict).into());
    }
    let digests = t.take_digests(Duration::from_secs(2))?;
    t.stop();
    let Some((_, m)) = digests.iter().find(|(n, _)| n == names::CT_EVENT) else {
        return Err(format!("no ct_event digest (got {digests:?})").into());
    };
    // {event, zone, proto, addr_lo, addr_hi, port_lo, port_hi, slot}
    let got: Vec<u128> = m.iter().map(|b| be(b)).collect();
    let lo = ztnic_model::addr::v4_mapped(0x0a00_0001);
    let hi = ztnic_model::addr::v4_mapped(0x0a00_0105);
    if got.len() != 8 || got[..7] != [1, 0, 17, lo, hi, 1000, 53] {
        return Err(format!("ct_event carried {got:?}").into());
    }
    Ok(())
}

/// One digest check.
type Check = fn() -> Result<(), Failed>;

fn main() {
    let args = Arguments::from_args();
    let tests: [(&str, Check); 2] = [
        (
            "ctx_miss_digest_names_the_unknown_context_and_the_port",
            ctx_miss_digest_names_the_unknown_context_and_the_port,
        ),
        (
            "ct_event_digest_reports_a_data_plane_insert",
            ct_event_digest_reports_a_data_plane_insert,
        ),
    ];
    let missing = find(SIMPLE_SWITCH_GRPC).is_none();
    let trials = tests
        .into_iter()
        .map(|(name, f)| {
            let trial = Trial::test(name, f);
            if missing {
                skip(name, &format!("{SIMPLE_SWITCH_GRPC} is not on PATH"));
                trial.with_ignored_flag(true)
            } else {
                trial
            }
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
