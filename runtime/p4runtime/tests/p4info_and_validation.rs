//! The P4Info index and entity validation against the shared fixture
//! `testdata/full.p4info.txtpb`.
#![allow(clippy::unwrap_used)]

use tonic::Code;
use ztnic_p4runtime::bytestring;
use ztnic_p4runtime::p4info::MatchKind;
use ztnic_p4runtime::v1::{self, FieldMatch, TableEntry, field_match::FieldMatchType};
use ztnic_p4runtime::validate::{self, WriteOp};
use ztnic_p4runtime::{P4InfoError, P4InfoIndex, text};

fn index() -> P4InfoIndex {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/full.p4info.txtpb");
    P4InfoIndex::new(text::load_p4info(path).unwrap()).unwrap()
}

fn exact(id: u32, v: &[u8]) -> FieldMatch {
    FieldMatch {
        field_id: id,
        field_match_type: Some(FieldMatchType::Exact(v1::field_match::Exact {
            value: v.to_vec(),
        })),
    }
}

fn forward(port: &[u8]) -> v1::TableAction {
    v1::TableAction {
        r#type: Some(v1::table_action::Type::Action(v1::Action {
            action_id: 0x0100_0001,
            params: vec![v1::action::Param {
                param_id: 1,
                value: port.to_vec(),
            }],
        })),
    }
}

fn fwd_entry(port_in: &[u8], port_out: &[u8]) -> TableEntry {
    TableEntry {
        table_id: 0x0200_0001,
        r#match: vec![exact(1, port_in)],
        action: Some(forward(port_out)),
        ..Default::default()
    }
}

fn code(r: Result<TableEntry, validate::ValidationError>) -> Code {
    r.map(|_| Code::Ok).unwrap_or_else(|e| e.code)
}

#[test]
fn names_and_aliases_resolve_to_the_same_objects() {
    let idx = index();
    assert_eq!(
        idx.table_by_name("ingress.port_fwd").unwrap().id,
        0x0200_0001
    );
    assert_eq!(idx.table_by_name("port_fwd").unwrap().id, 0x0200_0001);
    let t = idx.table_by_name("acl").unwrap();
    assert!(t.needs_priority);
    assert_eq!(
        t.field_by_name("hdr.tcp.dst_port").unwrap().kind,
        MatchKind::Range
    );
    assert_eq!(
        idx.action_by_name("forward")
            .unwrap()
            .param_by_name("port")
            .unwrap()
            .bitwidth,
        9
    );
    assert_eq!(idx.counter_by_name("ingress.drops").unwrap().size, 8);
    assert_eq!(
        idx.direct_counter_by_name("port_fwd_hits")
            .unwrap()
            .table_id,
        0x0200_0001
    );
    assert_eq!(idx.meter_by_name("rate").unwrap().size, 4);
    assert_eq!(idx.digest_by_name("mac_learn_t").unwrap().id, 0x1700_0001);
    let r = idx.register_by_name("ingress.flow_state").unwrap();
    assert_eq!((r.id, r.size, r.bitwidth), (0x1600_0001, 16, Some(40)));
    assert_eq!(idx.register_by_name("flow_state").unwrap().id, r.id);
    assert_eq!(
        idx.register(0x1600_0001).unwrap().name,
        "ingress.flow_state"
    );
    assert_eq!(idx.registers().count(), 1);
    assert_eq!(
        idx.packet_out()
            .unwrap()
            .field_by_name("egress_port")
            .unwrap()
            .bitwidth,
        9
    );
    assert_eq!(idx.packet_in().unwrap().fields.len(), 2);
    assert!(matches!(
        idx.table_by_name("nope"),
        Err(P4InfoError::UnknownName { .. })
    ));
    let port_fwd = idx.table(0x0200_0001).unwrap();
    assert_eq!(port_fwd.direct_counter_id, Some(0x1300_0001));
    assert_eq!(port_fwd.direct_meter_id, Some(0x1500_0001));
    assert!(port_fwd.supports_idle_timeout);
}

#[test]
fn p4info_with_duplicate_or_misprefixed_ids_is_rejected() {
    let mut p4info = index().p4info().clone();
    let mut dup = p4info.actions[0].clone();
    dup.preamble.as_mut().unwrap().name = "other".into();
    p4info.actions.push(dup);
    assert!(matches!(
        P4InfoIndex::new(p4info),
        Err(P4InfoError::DuplicateId { .. })
    ));

    let mut p4info = index().p4info().clone();
    p4info.tables[0].preamble.as_mut().unwrap().id = 0x0100_0099;
    assert!(matches!(
        P4InfoIndex::new(p4info),
        Err(P4InfoError::WrongPrefix { .. })
    ));

    let mut p4info = index().p4info().clone();
    p4info.tables[0].action_refs[0].id = 0x0100_0099;
    assert!(matches!(
        P4InfoIndex::new(p4info),
        Err(P4InfoError::DanglingReference { .. })
    ));
}

#[test]
fn padded_values_are_accepted_and_stored_canonical() {
    let idx = index();
    let e = validate::table_entry(&idx, &fwd_entry(&[0, 1], &[0, 0, 2]), WriteOp::Insert).unwrap();
    assert!(
        matches!(&e.r#match[0].field_match_type, Some(FieldMatchType::Exact(x)) if x.value == vec![1])
    );
    let Some(v1::table_action::Type::Action(a)) = e.action.unwrap().r#type else {
        panic!("direct action expected")
    };
    assert_eq!(a.params[0].value, vec![2]);
}

#[test]
fn malformed_table_entries_are_invalid_argument() {
    let idx = index();
    let ok = fwd_entry(&[1], &[2]);
    assert_eq!(
        code(validate::table_entry(&idx, &ok, WriteOp::Insert)),
        Code::Ok
    );

    let mut e = ok.clone();
    e.table_id = 0x0200_00ff;
    assert_eq!(
        code(validate::table_entry(&idx, &e, WriteOp::Insert)),
        Code::InvalidArgument,
        "unknown table"
    );
    let e = fwd_entry(&[2, 0], &[2]);
    assert_eq!(
        code(validate::table_entry(&idx, &e, WriteOp::Insert)),
        Code::InvalidArgument,
        "10-bit value in 9-bit field"
    );
    let e = fwd_entry(&[], &[2]);
    assert_eq!(
        code(validate::table_entry(&idx, &e, WriteOp::Insert)),
        Code::InvalidArgument,
        "empty value"
    );
    let e = fwd_entry(&[1], &[4, 0]);
    assert_eq!(
        code(validate::table_entry(&idx, &e, WriteOp::Insert)),
        Code::InvalidArgument,
        "param too wide"
    );
    let mut e = ok.clone();
    e.r#match[0].field_id = 9;
    assert_eq!(
        code(validate::table_entry(&idx, &e, WriteOp::Insert)),
        Code::InvalidArgument,
        "unknown field"
    );
    let mut e = ok.clone();
    e.r#match.clear();
    assert_eq!(
        code(validate::table_entry(&idx, &e, WriteOp::Insert)),
        Code::InvalidArgument,
        "missing exact"
    );
    let mut e = ok.clone();
    e.r#match.push(exact(1, &[3]));
    assert_eq!(
        code(validate::table_entry(&idx, &e, WriteOp::Insert)),
        Code::InvalidArgument,
        "duplicate field"
    );
    let mut e = ok.clone();
    e.action = None;
    assert_eq!(
        code(validate::table_entry(&idx, &e, WriteOp::Insert)),
        Code::InvalidArgument,
        "insert without action"
    );
    let mut e = ok.clone();
    e.priority = 5;
    assert_eq!(
        code(validate::table_entry(&idx, &e, WriteOp::Insert)),
        Code::InvalidArgument,
        "priority on exact table"
    );
    let mut e = ok.clone();
    if let Some(v1::table_action::Type::Action(a)) = &mut e.action.as_mut().unwrap().r#type {
        a.params.clear();
    }
    assert_eq!(
        code(validate::table_entry(&idx, &e, WriteOp::Insert)),
        Code::InvalidArgument,
        "missing param"
    );
    let mut e = ok.clone();
    e.action = Some(v1::TableAction {
        r#type: Some(v1::table_action::Type::Action(v1::Action {
            action_id: 0x0100_0003,
            params: vec![],
        })),
    });
    assert_eq!(
        code(validate::table_entry(&idx, &e, WriteOp::Insert)),
        Code::PermissionDenied,
        "default-only action in entry"
    );
}

fn acl(matches: Vec<FieldMatch>, priority: i32) -> TableEntry {
    TableEntry {
        table_id: 0x0200_0002,
        r#match: matches,
        priority,
        action: Some(v1::TableAction {
            r#type: Some(v1::table_action::Type::Action(v1::Action {
                action_id: 0x0100_0002,
                params: vec![],
            })),
        }),
        ..Default::default()
    }
}

fn ternary(v: &[u8], m: &[u8]) -> FieldMatch {
    FieldMatch {
        field_id: 1,
        field_match_type: Some(FieldMatchType::Ternary(v1::field_match::Ternary {
            value: v.to_vec(),
            mask: m.to_vec(),
        })),
    }
}

fn range(lo: &[u8], hi: &[u8]) -> FieldMatch {
    FieldMatch {
        field_id: 2,
        field_match_type: Some(FieldMatchType::Range(v1::field_match::Range {
            low: lo.to_vec(),
            high: hi.to_vec(),
        })),
    }
}

#[test]
fn ternary_range_and_priority_rules_follow_the_spec() {
    let idx = index();
    let ins = |e: TableEntry| code(validate::table_entry(&idx, &e, WriteOp::Insert));
    assert_eq!(
        ins(acl(vec![ternary(&[10, 0, 0, 0], &[255, 0, 0, 0])], 10)),
        Code::Ok
    );
    assert_eq!(ins(acl(vec![], 1)), Code::Ok, "all fields don't-care");
    assert_eq!(
        ins(acl(vec![ternary(&[10, 0, 0, 0], &[255, 0, 0, 0])], 0)),
        Code::InvalidArgument,
        "missing priority"
    );
    assert_eq!(
        ins(acl(vec![ternary(&[10, 0, 0, 1], &[255, 0, 0, 0])], 10)),
        Code::InvalidArgument,
        "value outside mask"
    );
    assert_eq!(
        ins(acl(vec![ternary(&[0], &[0])], 10)),
        Code::InvalidArgument,
        "zero mask must be omitted"
    );
    assert_eq!(ins(acl(vec![range(&[0, 80], &[0, 90])], 10)), Code::Ok);
    assert_eq!(
        ins(acl(vec![range(&[90], &[80])], 10)),
        Code::InvalidArgument,
        "low above high"
    );
    assert_eq!(
        ins(acl(vec![range(&[0], &[0xff, 0xff])], 10)),
        Code::InvalidArgument,
        "full range must be omitted"
    );
    let opt = FieldMatch {
        field_id: 3,
        field_match_type: Some(FieldMatchType::Exact(v1::field_match::Exact {
            value: vec![6],
        })),
    };
    assert_eq!(
        ins(acl(vec![opt], 10)),
        Code::InvalidArgument,
        "wrong match type for optional field"
    );
}

#[test]
fn lpm_prefixes_must_be_positive_fit_the_field_and_cover_the_value() {
    let idx = index();
    let route = |v: &[u8], len: i32| TableEntry {
        table_id: 0x0200_0003,
        r#match: vec![FieldMatch {
            field_id: 1,
            field_match_type: Some(FieldMatchType::Lpm(v1::field_match::Lpm {
                value: v.to_vec(),
                prefix_len: len,
            })),
        }],
        action: Some(forward(&[1])),
        ..Default::default()
    };
    let ins = |e: TableEntry| code(validate::table_entry(&idx, &e, WriteOp::Insert));
    assert_eq!(ins(route(&[10, 0, 0, 0], 8)), Code::Ok);
    assert_eq!(
        ins(route(&[10, 1, 0, 0], 8)),
        Code::InvalidArgument,
        "bits beyond prefix"
    );
    assert_eq!(
        ins(route(&[0], 0)),
        Code::InvalidArgument,
        "zero prefix must be omitted"
    );
    assert_eq!(
        ins(route(&[10, 0, 0, 0], 33)),
        Code::InvalidArgument,
        "prefix longer than field"
    );
}

#[test]
fn default_const_and_keyless_tables_are_guarded() {
    let idx = index();
    let default = TableEntry {
        table_id: 0x0200_0001,
        is_default_action: true,
        ..Default::default()
    };
    assert_eq!(
        code(validate::table_entry(&idx, &default, WriteOp::Modify)),
        Code::Ok
    );
    assert_eq!(
        code(validate::table_entry(&idx, &default, WriteOp::Insert)),
        Code::InvalidArgument
    );
    assert_eq!(
        code(validate::table_entry(&idx, &default, WriteOp::Delete)),
        Code::InvalidArgument
    );
    let mut punt_default = default.clone();
    punt_default.action = Some(v1::TableAction {
        r#type: Some(v1::table_action::Type::Action(v1::Action {
            action_id: 0x0100_0004,
            params: vec![],
        })),
    });
    assert_eq!(
        code(validate::table_entry(&idx, &punt_default, WriteOp::Modify)),
        Code::PermissionDenied,
        "table-only as default"
    );
    let fixed = TableEntry {
        table_id: 0x0200_0004,
        r#match: vec![exact(1, &[0x08, 0x00])],
        action: Some(v1::TableAction {
            r#type: Some(v1::table_action::Type::Action(v1::Action {
                action_id: 0x0100_0002,
                params: vec![],
            })),
        }),
        ..Default::default()
    };
    assert_eq!(
        code(validate::table_entry(&idx, &fixed, WriteOp::Insert)),
        Code::PermissionDenied,
        "const table"
    );
    let fixed_default = TableEntry {
        table_id: 0x0200_0004,
        is_default_action: true,
        ..Default::default()
    };
    assert_eq!(
        code(validate::table_entry(&idx, &fixed_default, WriteOp::Modify)),
        Code::PermissionDenied
    );
    let keyless = TableEntry {
        table_id: 0x0200_0005,
        action: Some(forward(&[1])),
        ..Default::default()
    };
    assert_eq!(
        code(validate::table_entry(&idx, &keyless, WriteOp::Insert)),
        Code::InvalidArgument,
        "keyless insert"
    );
}

#[test]
fn delete_checks_only_the_key() {
    let idx = index();
    let mut e = fwd_entry(&[1], &[0xff, 0xff]);
    e.action = Some(v1::TableAction { r#type: None });
    let key = validate::table_entry(&idx, &e, WriteOp::Delete).unwrap();
    assert!(key.action.is_none());
    assert_eq!(key.r#match, vec![exact(1, &[1])]);
}

#[test]
fn packet_metadata_needs_every_field_once_within_width() {
    let idx = index();
    let hdr = idx.packet_out().unwrap();
    let md = |id, v: &[u8]| v1::PacketMetadata {
        metadata_id: id,
        value: v.to_vec(),
    };
    let ok = validate::packet_metadata(hdr, &[md(2, &[0]), md(1, &[0, 3])]).unwrap();
    assert_eq!(ok, vec![md(1, &[3]), md(2, &[0])]);
    assert!(
        validate::packet_metadata(hdr, &[md(1, &[3])]).is_err(),
        "missing _pad"
    );
    assert!(
        validate::packet_metadata(hdr, &[md(1, &[2, 0]), md(2, &[0])]).is_err(),
        "too wide"
    );
    assert!(
        validate::packet_metadata(hdr, &[md(1, &[1]), md(2, &[0]), md(3, &[0])]).is_err(),
        "unknown id"
    );
    assert_eq!(bytestring::encode(511, 9).unwrap(), vec![1, 0xff]);
}
