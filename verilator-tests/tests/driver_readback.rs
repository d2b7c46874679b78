//! The FPGA driver reading state back from the Verilated NIC: `read_back` decodes every
//! table slot into the operations that produced it, `adopt` takes over a running NIC
//! (forwarding continues, later updates and deletes hit the adopted slots), and the
//! per-entry direct counters.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::net::IpAddr;

use ztnic_fpga::{Driver, FpgaError};
use ztnic_model::policy::Action;
use ztnic_model::{
    AuthKey, Config, CtxEpoch, DropReason, LocalEp, MacAddr, Op, OverflowFlow, PacketsBytes,
    PortClass, PortRange, Prefix, ProtoMatch, PuntReason, RemoteAction, RemoteEp, Rule, VportCtx,
};
use ztnic_rtl_sim::{Nic, Status, regmap};
use ztnic_testkit::fixtures::world_udp_setup;
use ztnic_testkit::frames::udp_frame;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn prefix(s: &str) -> Prefix {
    s.parse().unwrap()
}

fn rule(id: u32, priority: u16, src: Option<u32>, dst: Option<u32>, proto: Option<u8>) -> Rule {
    Rule {
        id,
        priority,
        src,
        dst,
        proto: ProtoMatch(proto),
        ports: PortRange::ANY,
        action: Action::Allow,
    }
}

fn flow(src: &str, sport: u16, dst: &str, dport: u16, proto: u8, idle: u64) -> OverflowFlow {
    OverflowFlow {
        zone: 2,
        proto,
        src: ip(src),
        dst: ip(dst),
        sport,
        dport,
        idle_timeout_ms: idle,
    }
}

/// The identity of the entry an operation sets or deletes.
fn entry_of(op: &Op) -> String {
    match op {
        Op::SetPortClass { port, .. } | Op::DeletePortClass { port } => {
            format!("port_class {port}")
        }
        Op::SetVportCtx(e) => format!("vport_ctx {} {}", e.port, e.ip),
        Op::DeleteVportCtx { port, ip } => format!("vport_ctx {port} {ip}"),
        Op::SetLocalEp(e) => format!("local_ep {}", e.ip),
        Op::DeleteLocalEp { ip } => format!("local_ep {ip}"),
        Op::SetRemoteEp(e) => format!("remote_ep {}", e.prefix),
        Op::DeleteRemoteEp { prefix } => format!("remote_ep {prefix}"),
        Op::SetCtxEpoch(e) => format!("ctx_epoch {}", e.ctx),
        Op::DeleteCtxEpoch { ctx } => format!("ctx_epoch {ctx}"),
        Op::SetRule(r) => format!("rule {}", r.id),
        Op::DeleteRule { id } => format!("rule {id}"),
        Op::SetCtOverflow(f) | Op::DeleteCtOverflow(f) => format!("ct_overflow {}", f.key().0),
        Op::SetConfig(_) => "config".into(),
    }
}

/// What the tables should hold: the last `Set*` of every entry not deleted since.
#[derive(Default)]
struct Expected(BTreeMap<String, Op>);

impl Expected {
    fn apply(&mut self, d: &mut Driver<Nic>, op: Op) {
        d.apply(&op).unwrap_or_else(|e| panic!("{op:?}: {e}"));
        let k = entry_of(&op);
        match op {
            Op::DeleteVportCtx { .. }
            | Op::DeleteLocalEp { .. }
            | Op::DeleteRemoteEp { .. }
            | Op::DeleteCtxEpoch { .. }
            | Op::DeleteRule { .. }
            | Op::DeleteCtOverflow(_) => {
                assert!(self.0.remove(&k).is_some(), "{k} was not set");
            }
            Op::SetConfig(_) => {}
            op => {
                self.0.insert(k, op);
            }
        }
    }

    /// The expected operations, normalised (sorted by their text); `idle`, when given,
    /// replaces every overflow flow's idle timeout (the hardware does not store it).
    fn sorted(&self, idle: Option<u64>) -> Vec<String> {
        normalise(self.0.values().cloned().collect(), idle)
    }
}

fn normalise(ops: Vec<Op>, idle: Option<u64>) -> Vec<String> {
    let mut v: Vec<String> = ops
        .into_iter()
        .map(|op| match (op, idle) {
            (Op::SetCtOverflow(mut f), Some(ms)) => {
                f.idle_timeout_ms = ms;
                format!("{:?}", Op::SetCtOverflow(f))
            }
            (op, _) => format!("{op:?}"),
        })
        .collect();
    v.sort();
    v
}

fn read_back(d: &mut Driver<Nic>) -> Vec<String> {
    normalise(d.read_back().unwrap(), None)
}

/// A varied table set: every table, IPv4 and IPv6, every remote action, rules with
/// wildcards, port ranges, shared keys, deny and allow, overflow flows both ways round.
fn varied_ops() -> Vec<Op> {
    let mut ops = world_udp_setup();
    ops.extend([
        Op::SetPortClass {
            port: 2,
            class: PortClass::Vport,
        },
        Op::SetPortClass {
            port: 7,
            class: PortClass::Uplink,
        },
        Op::SetVportCtx(VportCtx {
            port: 2,
            ip: ip("fd00::1"),
            ctx: 300,
            zone: 1,
        }),
        Op::SetVportCtx(VportCtx {
            port: 2,
            ip: ip("10.0.0.3"),
            ctx: 0xff_ffff,
            zone: 0xffff,
        }),
        Op::SetLocalEp(LocalEp {
            ip: ip("10.0.0.2"),
            vport: 2,
            ctx: 400,
            zone: 0,
        }),
        Op::SetLocalEp(LocalEp {
            ip: ip("fd00::2"),
            vport: 2,
            ctx: 401,
            zone: 3,
        }),
        Op::SetRemoteEp(RemoteEp {
            prefix: prefix("10.1.0.0/16"),
            action: RemoteAction::Geneve {
                vtep: "192.168.0.2".parse().unwrap(),
                ctx: 500,
            },
        }),
        Op::SetRemoteEp(RemoteEp {
            prefix: prefix("fd00:100::/48"),
            action: RemoteAction::VxlanGbp {
                vtep: "192.168.0.3".parse().unwrap(),
                ctx: 501,
            },
        }),
        Op::SetRemoteEp(RemoteEp {
            prefix: prefix("10.9.9.9/32"),
            action: RemoteAction::Geneve {
                vtep: "192.168.0.4".parse().unwrap(),
                ctx: 502,
            },
        }),
        Op::SetRemoteEp(RemoteEp {
            prefix: prefix("::/0"),
            action: RemoteAction::World,
        }),
        Op::SetCtxEpoch(CtxEpoch { ctx: 300, epoch: 7 }),
        Op::SetCtxEpoch(CtxEpoch {
            ctx: 0xff_fffe,
            epoch: 255,
        }),
        Op::SetRule(Rule {
            ports: PortRange { lo: 443, hi: 443 },
            action: Action::Deny,
            ..rule(10, 100, None, Some(400), Some(6))
        }),
        Op::SetRule(Rule {
            ports: PortRange { lo: 8000, hi: 8080 },
            ..rule(11, u16::MAX, Some(300), Some(401), None)
        }),
        Op::SetRule(Rule {
            action: Action::Deny,
            ..rule(12, 0, None, None, None)
        }),
        // shares rule 10's decomposed key
        Op::SetRule(Rule {
            ports: PortRange { lo: 80, hi: 80 },
            ..rule(13, 100, None, Some(400), Some(6))
        }),
        Op::SetRule(rule(14, 3, Some(256), Some(500), Some(1))),
        Op::SetRule(rule(15, 4, Some(0xff_ffff), None, None)),
        // an update in place: rule 15 gets another key
        Op::SetRule(Rule {
            ports: PortRange { lo: 1, hi: 1023 },
            ..rule(15, 9, None, Some(0xff_ffff), Some(17))
        }),
        Op::SetCtOverflow(flow("10.0.0.1", 5000, "10.0.0.2", 80, 6, 2500)),
        Op::SetCtOverflow(flow("10.0.0.9", 40000, "10.0.0.2", 443, 6, 10_000)),
        Op::SetCtOverflow(flow("fd00::9", 53, "fd00::2", 9999, 17, 777)),
    ]);
    ops
}

fn deletions() -> Vec<Op> {
    vec![
        Op::DeleteRule { id: 13 },
        Op::DeleteRule { id: 12 },
        Op::DeleteLocalEp { ip: ip("fd00::2") },
        Op::DeleteRemoteEp {
            prefix: prefix("10.1.0.0/16"),
        },
        Op::DeleteCtxEpoch { ctx: 300 },
        Op::DeleteCtOverflow(flow("fd00::9", 53, "fd00::2", 9999, 17, 777)),
        Op::DeleteVportCtx {
            port: 2,
            ip: ip("fd00::1"),
        },
    ]
}

fn config() -> Config {
    let mut c = Config {
        vni: 77,
        auth: true,
        auth_key: AuthKey(*b"0123456789abcdef"),
        local_mac: MacAddr([0x02, 0x11, 0x22, 0x33, 0x44, 0x55]),
        gateway_mac: MacAddr([0x02, 0x66, 0x77, 0x88, 0x99, 0xaa]),
        local_vtep_ip: "192.168.7.1".parse().unwrap(),
        tcp_wscale: 7,
        policy_gen: 3,
        ..Config::default()
    };
    c.timeouts.udp_unreplied = 45;
    c.timeouts.tcp_established = 86_400;
    c
}

/// Sends one frame at `at_us` and returns its verdict record, discarding output frames.
fn send(d: &mut Driver<Nic>, at_us: u64, port: u16, frame: &[u8]) -> Status {
    let nic = d.access_mut();
    nic.set_time_us(at_us);
    nic.send(port, frame);
    nic.run_until_idle(200_000).unwrap();
    nic.take_frames();
    let mut st = nic.take_statuses();
    assert_eq!(st.len(), 1, "one verdict per packet");
    st.remove(0)
}

fn assert_forwarded_to(st: &Status, port: u16) {
    assert_eq!(
        u32::from(st.verdict),
        regmap::verdict_enum::FORWARD,
        "verdict {} reason {}",
        st.verdict,
        st.reason
    );
    assert_eq!(st.port, port);
}

#[test]
fn read_back_returns_what_was_applied_and_what_deletes_left() {
    let mut d = Driver::new(Nic::new()).unwrap();
    assert!(
        d.read_back().unwrap().is_empty(),
        "a fresh NIC holds nothing"
    );
    let mut want = Expected::default();
    for op in varied_ops() {
        want.apply(&mut d, op);
    }
    assert_eq!(read_back(&mut d), want.sorted(None));
    for op in deletions() {
        want.apply(&mut d, op);
    }
    assert_eq!(read_back(&mut d), want.sorted(None));
}

#[test]
fn configuration_reads_back() {
    let mut d = Driver::new(Nic::new()).unwrap();
    assert_eq!(d.read_config().unwrap(), Config::default());
    d.apply(&Op::SetConfig(Box::new(config()))).unwrap();
    assert_eq!(d.read_config().unwrap(), config());
}

#[test]
fn an_adopted_nic_keeps_its_tables_and_flows_and_takes_updates_in_place() {
    let mut d = Driver::new(Nic::new()).unwrap();
    let mut want = Expected::default();
    want.apply(&mut d, Op::SetConfig(Box::new(config())));
    for op in varied_ops().into_iter().chain(deletions()) {
        want.apply(&mut d, op);
    }
    // an established flow: vport 1 to the world, UDP
    let out = udp_frame(60, [10, 0, 0, 1], [8, 8, 4, 4], 1234, 53);
    assert_forwarded_to(&send(&mut d, 10, 1, &out), 0);
    let flows = d.conntrack_entries().unwrap();
    assert_eq!(flows.len(), 1);
    let before = read_back(&mut d);
    assert_eq!(before, want.sorted(None));

    // the agent restarts; the card keeps its state
    let mut d = Driver::adopt(d.into_access()).unwrap();
    assert_eq!(d.config(), &config());
    assert_eq!(
        read_back(&mut d),
        want.sorted(Some(10_000)),
        "idle timeouts are not in hardware"
    );
    let again = d.conntrack_entries().unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].key, flows[0].key);
    assert_forwarded_to(&send(&mut d, 20, 1, &out), 0);
    assert_eq!(
        d.conntrack_entries().unwrap().len(),
        1,
        "the same connection"
    );

    // updates and deletes address the adopted slots
    let mut want = Expected(
        want.0
            .into_iter()
            .map(|(k, op)| match op {
                Op::SetCtOverflow(mut f) => {
                    f.idle_timeout_ms = 10_000;
                    (k, Op::SetCtOverflow(f))
                }
                op => (k, op),
            })
            .collect(),
    );
    for op in [
        Op::DeleteRule { id: 10 },
        Op::SetRule(Rule {
            ports: PortRange { lo: 9000, hi: 9100 },
            action: Action::Deny,
            ..rule(11, 50, Some(300), Some(401), None)
        }),
        Op::SetRule(Rule {
            priority: 2,
            ..rule(14, 3, Some(256), Some(500), Some(1))
        }),
        Op::SetCtxEpoch(CtxEpoch { ctx: 256, epoch: 2 }),
        Op::SetRemoteEp(RemoteEp {
            prefix: prefix("10.9.9.9/32"),
            action: RemoteAction::VxlanGbp {
                vtep: "192.168.0.9".parse().unwrap(),
                ctx: 503,
            },
        }),
        Op::SetVportCtx(VportCtx {
            port: 2,
            ip: ip("10.0.0.3"),
            ctx: 17,
            zone: 5,
        }),
        Op::SetLocalEp(LocalEp {
            ip: ip("10.0.0.2"),
            vport: 3,
            ctx: 402,
            zone: 0,
        }),
        Op::DeleteCtOverflow(flow("10.0.0.9", 40000, "10.0.0.2", 443, 6, 10_000)),
        Op::SetCtOverflow(flow("10.0.0.1", 5000, "10.0.0.2", 80, 6, 1234)),
        Op::SetPortClass {
            port: 7,
            class: PortClass::Cpu,
        },
        // a rule that takes the policy slot rule 10 and 13 freed, and a new one
        Op::SetRule(rule(16, 1, None, Some(400), Some(6))),
        Op::SetRule(rule(17, 1, Some(1), Some(2), Some(3))),
    ] {
        want.apply(&mut d, op);
    }
    assert_eq!(read_back(&mut d), want.sorted(None));
    assert!(matches!(
        d.apply(&Op::DeleteRule { id: 10 }),
        Err(FpgaError::NotFound(_))
    ));

    // and a second adoption sees the same
    let mut d = Driver::adopt(d.into_access()).unwrap();
    assert_eq!(read_back(&mut d), want.sorted(Some(10_000)));
}

#[test]
fn direct_counters_count_per_rule_and_context_and_can_be_set() {
    let mut d = Driver::new(Nic::new()).unwrap();
    for op in world_udp_setup() {
        d.apply(&op).unwrap();
    }
    let f = udp_frame(100, [10, 0, 0, 1], [8, 8, 4, 4], 1234, 53);
    for t in 0..3 {
        assert_forwarded_to(&send(&mut d, 10 + t, 1, &f), 0);
    }
    let c = d.counters().unwrap();
    let r = d.rule_counter(1).unwrap().expect("rule 1 is live");
    assert_eq!(r.packets, 3);
    assert_eq!(Some(&r), c.rules.get(&1));
    let x = d
        .ctx_counter(256)
        .unwrap()
        .expect("ctx 256 has an epoch entry");
    assert!(x.packets > 0);
    assert_eq!(Some(&x), c.ctx.get(&256));
    assert_eq!(d.rule_counter(99).unwrap(), None);
    assert_eq!(d.ctx_counter(12345).unwrap(), None);

    // P4Runtime writes direct counters
    d.set_rule_counter(
        1,
        PacketsBytes {
            packets: 1 << 40,
            bytes: 7,
        },
    )
    .unwrap();
    d.set_ctx_counter(256, PacketsBytes::default()).unwrap();
    assert_forwarded_to(&send(&mut d, 20, 1, &f), 0);
    let r2 = d.rule_counter(1).unwrap().unwrap();
    assert_eq!(r2.packets, (1 << 40) + 1);
    assert_eq!(r2.bytes, 7 + r.bytes / 3);
    let x2 = d.ctx_counter(256).unwrap().unwrap();
    assert_eq!(x2.packets, x.packets / 3);
    assert!(matches!(
        d.set_rule_counter(99, PacketsBytes::default()),
        Err(FpgaError::NotFound(_))
    ));
    assert!(matches!(
        d.set_ctx_counter(12345, PacketsBytes::default()),
        Err(FpgaError::NotFound(_))
    ));

    // a spoofed source (no vport_ctx entry) is counted by reason, cell by cell
    let spoof = udp_frame(60, [10, 0, 0, 99], [8, 8, 4, 4], 1, 2);
    send(&mut d, 30, 1, &spoof);
    let c = d.counters().unwrap();
    assert!(!c.drops.is_empty() || !c.punts.is_empty());
    for r in DropReason::ALL {
        let n = d.drop_counter(r.code()).unwrap();
        assert_eq!(n, c.drops.get(r).copied().unwrap_or(0), "{r:?}");
    }
    for r in PuntReason::ALL {
        let n = d.punt_counter(r.code()).unwrap();
        assert_eq!(n, c.punts.get(r).copied().unwrap_or(0), "{r:?}");
    }

    // an adopted NIC reads the same hardware counts
    let mut d = Driver::adopt(d.into_access()).unwrap();
    assert_eq!(d.rule_counter(1).unwrap(), Some(r2));
    assert_eq!(d.ctx_counter(256).unwrap(), Some(x2));
}
