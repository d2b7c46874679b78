use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use ztnic_model::tables::{CtxEpoch, LocalEp, PortClass, Prefix, RemoteAction, RemoteEp, VportCtx};
use ztnic_model::{Action, Config, CtKey, Op, OverflowFlow, PortRange, ProtoMatch, Rule};
use ztnic_p4runtime_client::protocol::v1::{self, field_match::FieldMatchType, update::Type};
use ztnic_p4runtime_client::protocol::{P4InfoIndex, text};

use super::*;
use crate::digest::{CtEvent, CtEventKind, CtxMiss};
use crate::packet::{PacketInMeta, PacketOutMeta};

fn program() -> Program {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../p4/build/ztnic.p4info.txtpb");
    let p4info = text::load_p4info(&path).unwrap();
    Program::new(Arc::new(P4InfoIndex::new(p4info).unwrap())).unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn rule(id: u32, priority: u16, action: Action) -> Rule {
    Rule {
        id,
        priority,
        src: Some(256),
        dst: Some(257),
        proto: ProtoMatch(Some(6)),
        ports: PortRange { lo: 443, hi: 443 },
        action,
    }
}

/// One of every kind of entry, IPv4 and IPv6, every remote action, wildcards.
fn every_set_op() -> Vec<Op> {
    vec![
        Op::SetPortClass {
            port: 3,
            class: PortClass::Vport,
        },
        Op::SetPortClass {
            port: 255,
            class: PortClass::Cpu,
        },
        Op::SetVportCtx(VportCtx {
            port: 3,
            ip: ip("10.0.0.3"),
            ctx: 300,
            zone: 2,
        }),
        Op::SetVportCtx(VportCtx {
            port: 4,
            ip: ip("fd00::4"),
            ctx: 0xff_ffff,
            zone: 0,
        }),
        Op::SetLocalEp(LocalEp {
            ip: ip("10.0.0.3"),
            vport: 3,
            ctx: 300,
            zone: 2,
        }),
        Op::SetRemoteEp(RemoteEp {
            prefix: Prefix {
                addr: ip("10.2.0.0"),
                len: 16,
            },
            action: RemoteAction::Geneve {
                vtep: "192.168.0.2".parse().unwrap(),
                ctx: 400,
            },
        }),
        Op::SetRemoteEp(RemoteEp {
            prefix: Prefix {
                addr: ip("fd00:1::"),
                len: 64,
            },
            action: RemoteAction::VxlanGbp {
                vtep: "192.168.0.3".parse().unwrap(),
                ctx: 401,
            },
        }),
        Op::SetRemoteEp(RemoteEp {
            prefix: Prefix {
                addr: ip("0.0.0.0"),
                len: 0,
            },
            action: RemoteAction::World,
        }),
        Op::SetRemoteEp(RemoteEp {
            prefix: Prefix {
                addr: ip("::"),
                len: 0,
            },
            action: RemoteAction::World,
        }),
        Op::SetCtxEpoch(CtxEpoch { ctx: 300, epoch: 7 }),
        Op::SetRule(rule(1, 100, Action::Allow)),
        Op::SetRule(rule(2, 100, Action::Deny)),
        Op::SetRule(Rule {
            id: 3,
            priority: 0,
            src: None,
            dst: Some(2),
            proto: ProtoMatch(None),
            ports: PortRange::ANY,
            action: Action::Deny,
        }),
        Op::SetRule(Rule {
            id: u32::MAX,
            priority: u16::MAX,
            src: Some(5),
            dst: None,
            proto: ProtoMatch(Some(17)),
            ports: PortRange { lo: 0, hi: 1023 },
            action: Action::Allow,
        }),
        Op::SetCtOverflow(OverflowFlow {
            zone: 1,
            proto: 6,
            src: ip("10.0.0.9"),
            dst: ip("10.0.0.3"),
            sport: 40000,
            dport: 80,
            idle_timeout_ms: 2500,
        }),
        Op::SetCtOverflow(OverflowFlow {
            zone: 0,
            proto: 17,
            src: ip("fd00::1"),
            dst: ip("fd00::2"),
            sport: 53,
            dport: 5353,
            idle_timeout_ms: 10_000,
        }),
    ]
}

#[test]
fn every_operation_round_trips_through_its_table_entry() {
    let p = program();
    for op in every_set_op() {
        let e = p.entry(&op).unwrap();
        assert_eq!(p.decode(&e).unwrap(), op, "entry {e:?}");
    }
}

#[test]
fn a_rule_entry_carries_its_id_and_the_deny_wins_priority() {
    let p = program();
    let allow = p.rule_entry(&rule(9, 10, Action::Allow)).unwrap();
    let deny = p.rule_entry(&rule(10, 10, Action::Deny)).unwrap();
    assert_eq!((allow.priority, deny.priority), (20, 21));
    assert_eq!(p.rule_id(&allow).unwrap(), 9);
    assert_eq!(p.rule_id(&deny).unwrap(), 10);
    // don't-care fields are omitted: only the three contexts/proto and the range
    assert_eq!(allow.r#match.len(), 4);
    let any = Rule {
        src: None,
        dst: None,
        proto: ProtoMatch(None),
        ports: PortRange::ANY,
        ..rule(11, 1, Action::Allow)
    };
    assert!(p.rule_entry(&any).unwrap().r#match.is_empty());
    // an allow rule of priority 0 cannot be written
    assert!(matches!(
        p.rule_entry(&rule(12, 0, Action::Allow)),
        Err(MapError::Unsupported(_))
    ));
}

#[test]
fn entries_ztnic_cannot_express_are_refused() {
    let p = program();
    let mut e = p.rule_entry(&rule(1, 5, Action::Allow)).unwrap();
    // a partial context mask
    for m in &mut e.r#match {
        if let Some(FieldMatchType::Ternary(t)) = &mut m.field_match_type {
            t.mask = vec![0xff, 0xff, 0x00];
            t.value = vec![0x01, 0x00, 0x00];
            break;
        }
    }
    assert!(matches!(p.decode(&e), Err(MapError::Unsupported(_))));
    // an odd priority on an allow rule
    let mut e = p.rule_entry(&rule(1, 5, Action::Allow)).unwrap();
    e.priority = 11;
    assert!(matches!(p.decode(&e), Err(MapError::Unsupported(_))));
    // an unknown port class
    let mut e = p
        .entry(&Op::SetPortClass {
            port: 1,
            class: PortClass::Uplink,
        })
        .unwrap();
    if let Some(v1::table_action::Type::Action(a)) =
        e.action.as_mut().and_then(|a| a.r#type.as_mut())
    {
        a.params[0].value = vec![9];
    }
    assert!(matches!(p.decode(&e), Err(MapError::Unsupported(_))));
    // a missing action parameter
    let mut e = p
        .entry(&Op::SetCtxEpoch(CtxEpoch { ctx: 1, epoch: 1 }))
        .unwrap();
    if let Some(v1::table_action::Type::Action(a)) =
        e.action.as_mut().and_then(|a| a.r#type.as_mut())
    {
        a.params.clear();
    }
    assert!(matches!(p.decode(&e), Err(MapError::Invalid(_))));
}

#[test]
fn the_configuration_round_trips_through_its_default_entries() {
    let p = program();
    let mut c = Config {
        uplink_port: 7,
        cpu_port: 200,
        local_mac: ztnic_model::MacAddr([2, 1, 2, 3, 4, 5]),
        local_vtep_ip: "192.168.7.7".parse().unwrap(),
        vni: 0xab_cdef,
        auth: true,
        auth_key: ztnic_model::AuthKey(*b"0123456789abcdef"),
        policy_gen: 4242,
        ct_buckets: 256,
        max_frame: 1518,
        ..Config::default()
    };
    c.timeouts.tcp_established = 7200;
    c.timeouts.generic = 1;
    let entries = p.config_entries(&c, 1).unwrap();
    assert_eq!(entries.len(), 3);
    assert!(entries.iter().all(|e| e.is_default_action));
    let mut back = Config::default();
    for e in &entries {
        back = p.apply_config_entry(&back, e).unwrap();
    }
    assert_eq!(back, c);
    // scaled timeouts are not whole seconds: refused, nothing half-applied
    let scaled = p.config_entries(&c, 3).unwrap();
    assert!(matches!(
        p.apply_config_entry(&back, &scaled[2]),
        Err(MapError::Unsupported(_))
    ));
}

fn kinds(u: &[v1::Update]) -> Vec<Type> {
    u.iter()
        .map(|u| Type::try_from(u.r#type).unwrap())
        .collect()
}

#[test]
fn written_chooses_insert_modify_and_finds_rules_by_id() {
    let p = program();
    let mut w = Written::new();
    let set = Op::SetCtxEpoch(CtxEpoch { ctx: 256, epoch: 1 });
    let u = w.updates(&p, &set).unwrap();
    assert_eq!(kinds(&u), [Type::Insert]);
    w.record(&p, &u);
    let u = w
        .updates(&p, &Op::SetCtxEpoch(CtxEpoch { ctx: 256, epoch: 2 }))
        .unwrap();
    assert_eq!(kinds(&u), [Type::Modify]);
    w.record(&p, &u);
    assert_eq!(w.len(), 1);

    let r = rule(5, 10, Action::Allow);
    let u = w.updates(&p, &Op::SetRule(r)).unwrap();
    assert_eq!(kinds(&u), [Type::Insert]);
    w.record(&p, &u);
    // same key: modify; new key (priority changed): delete the old entry, insert
    let u = w
        .updates(
            &p,
            &Op::SetRule(Rule {
                action: Action::Deny,
                ..r
            }),
        )
        .unwrap();
    assert_eq!(kinds(&u), [Type::Delete, Type::Insert]);
    w.record(&p, &u);
    assert_eq!(
        p.decode(w.rule(5).unwrap()).unwrap(),
        Op::SetRule(Rule {
            action: Action::Deny,
            ..r
        })
    );
    assert_eq!(w.len(), 2);
    // another rule on the same key and priority is refused
    assert!(matches!(
        w.updates(
            &p,
            &Op::SetRule(Rule {
                id: 6,
                action: Action::Deny,
                ..r
            })
        ),
        Err(MapError::RuleKeyTaken { id: 6, other: 5 })
    ));
    let u = w.updates(&p, &Op::DeleteRule { id: 5 }).unwrap();
    assert_eq!(kinds(&u), [Type::Delete]);
    w.record(&p, &u);
    assert!(w.rule(5).is_none());
    assert!(matches!(
        w.updates(&p, &Op::DeleteRule { id: 5 }),
        Err(MapError::UnknownRule(5))
    ));
    // learning what a device holds replaces the record
    let held: Vec<_> = every_set_op().iter().map(|o| p.entry(o).unwrap()).collect();
    w.learn(&p, held.clone());
    assert_eq!(w.len(), held.len());
    assert!(w.rule(u32::MAX).is_some());
    let mut ops = w.ops(&p).unwrap();
    let mut want = every_set_op();
    ops.sort_by_key(|o| format!("{o:?}"));
    want.sort_by_key(|o| format!("{o:?}"));
    assert_eq!(ops, want);
}

#[test]
fn digests_round_trip() {
    let m = CtxMiss {
        ctx: 0xab_cdef,
        epoch: 3,
        reason: 2,
        port: 513,
    };
    assert_eq!(CtxMiss::from_data(&m.to_data()).unwrap(), m);
    let e = CtEvent {
        kind: CtEventKind::Evict,
        key: CtKey {
            zone: 9,
            proto: 6,
            lo_addr: u128::MAX - 5,
            hi_addr: u128::MAX,
            lo_port: 1,
            hi_port: 65535,
        },
        slot: 4095,
    };
    assert_eq!(CtEvent::from_data(&e.to_data()).unwrap(), e);
    // a struct of the wrong shape is an error, not a panic
    assert!(CtEvent::from_data(&m.to_data()).is_err());
    assert!(CtxMiss::from_data(&v1::P4Data::default()).is_err());
}

#[test]
fn controller_headers_round_trip() {
    let p = program();
    let m = PacketInMeta {
        ingress_port: 258,
        reason: 4,
    };
    let pi = p.packet_in(m, vec![1, 2, 3]).unwrap();
    assert_eq!(p.packet_in_meta(&pi).unwrap(), m);
    let mut frame = m.header().to_vec();
    frame.extend_from_slice(&[1, 2, 3]);
    assert_eq!(PacketInMeta::split(&frame).unwrap(), (m, &[1u8, 2, 3][..]));
    assert!(PacketInMeta::split(&[1, 2]).is_err());
    let o = PacketOutMeta { port: 7, mode: 1 };
    let po = p.packet_out(o, vec![9]).unwrap();
    assert_eq!(p.packet_out_meta(&po).unwrap(), o);
    assert_eq!(o.header(), [0, 7, 1, 0]);
}

#[test]
fn delete_of_undoes_each_set() {
    use ztnic_p4runtime_client::protocol::entry_key;
    let p = program();
    for op in every_set_op() {
        let d = delete_of(&op).unwrap();
        match (&op, &d) {
            // a rule is deleted by id
            (Op::SetRule(r), Op::DeleteRule { id }) => assert_eq!(r.id, *id),
            // anything else by the key of the entry it wrote
            _ => assert_eq!(
                entry_key(&p.entry(&op).unwrap()),
                entry_key(&p.entry(&d).unwrap()),
                "{op:?} / {d:?}"
            ),
        }
    }
}
