//! Client ↔ server over loopback gRPC: every RPC and every error case of the
//! server core, through the real ztnic client and the in-memory backend.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use tonic::Code;
use ztnic_p4runtime::v1::{
    self, CounterData, Entity, FieldMatch, MeterConfig, TableEntry, entity,
    field_match::FieldMatchType, get_forwarding_pipeline_config_request::ResponseType,
    set_forwarding_pipeline_config_request::Action as PipelineAction, update::Type as UpdateType,
};
use ztnic_p4runtime_client::{
    Arbitration, Atomicity, ClientError, P4RuntimeClient, StreamEvent, update,
};

const PORT_FWD: u32 = 0x0200_0001;
const ACL: u32 = 0x0200_0002;
const ROUTE: u32 = 0x0200_0003;
const FORWARD: u32 = 0x0100_0001;
const DROP: u32 = 0x0100_0002;
const MISS: u32 = 0x0100_0003;

fn exact(id: u32, v: &[u8]) -> FieldMatch {
    FieldMatch {
        field_id: id,
        field_match_type: Some(FieldMatchType::Exact(v1::field_match::Exact {
            value: v.to_vec(),
        })),
    }
}

fn act(action_id: u32, params: &[(u32, &[u8])]) -> Option<v1::TableAction> {
    Some(v1::TableAction {
        r#type: Some(v1::table_action::Type::Action(v1::Action {
            action_id,
            params: params
                .iter()
                .map(|(id, v)| v1::action::Param {
                    param_id: *id,
                    value: v.to_vec(),
                })
                .collect(),
        })),
    })
}

/// A raw port_fwd entry, as a third-party client might send it.
fn fwd(port_in: &[u8], port_out: &[u8]) -> TableEntry {
    TableEntry {
        table_id: PORT_FWD,
        r#match: vec![exact(1, port_in)],
        action: act(FORWARD, &[(1, port_out)]),
        ..Default::default()
    }
}

fn ins(e: TableEntry) -> v1::Update {
    update(UpdateType::Insert, entity::Entity::TableEntry(e))
}
fn modi(e: TableEntry) -> v1::Update {
    update(UpdateType::Modify, entity::Entity::TableEntry(e))
}
fn del(e: TableEntry) -> v1::Update {
    update(UpdateType::Delete, entity::Entity::TableEntry(e))
}

fn codes(err: ClientError) -> Vec<(usize, Code)> {
    match err {
        ClientError::Write { errors } => errors.into_iter().map(|e| (e.index, e.code)).collect(),
        other => panic!("expected per-update errors, got {other}"),
    }
}

fn rpc_code(err: ClientError) -> Code {
    match err {
        ClientError::Rpc(s) => s.code(),
        other => panic!("expected an RPC-wide error, got {other}"),
    }
}

/// Waits (bounded) until the backend has transmitted `n` packets.
async fn wait_transmitted(server: &Server, n: usize) {
    for _ in 0..500 {
        if server.service.with_backend(|b| b.transmitted().len()) >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("backend did not transmit {n} packet(s)");
}

async fn all_entries(c: &mut P4RuntimeClient) -> Vec<TableEntry> {
    c.read_entries(TableEntry::default()).await.unwrap()
}

async fn next_matching(
    c: &mut P4RuntimeClient,
    pred: impl Fn(&StreamEvent) -> bool,
) -> StreamEvent {
    for _ in 0..100 {
        match c.next_event_within(Duration::from_secs(5)).await {
            Some(e) if pred(&e) => return e,
            Some(_) => continue,
            None => break,
        }
    }
    panic!("expected stream event did not arrive");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capabilities_reports_the_api_version() {
    let server = Server::start();
    let mut c = client(&server, 1).await;
    assert_eq!(c.capabilities().await.unwrap(), "1.5.0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipeline_config_round_trips_for_every_response_type() {
    let (_server, mut c) = primary().await;
    let all = c.get_pipeline(ResponseType::All).await.unwrap();
    assert_eq!(all.p4info.unwrap(), fixture_p4info());
    assert_eq!(all.p4_device_config, b"{}".to_vec());
    assert_eq!(all.cookie.unwrap().cookie, 7);
    let cookie = c.get_pipeline(ResponseType::CookieOnly).await.unwrap();
    assert!(cookie.p4info.is_none() && cookie.p4_device_config.is_empty());
    assert_eq!(cookie.cookie.unwrap().cookie, 7);
    let p4 = c.get_pipeline(ResponseType::P4infoAndCookie).await.unwrap();
    assert!(p4.p4info.is_some() && p4.p4_device_config.is_empty());
    let dev = c
        .get_pipeline(ResponseType::DeviceConfigAndCookie)
        .await
        .unwrap();
    assert!(dev.p4info.is_none() && dev.p4_device_config == b"{}".to_vec());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipeline_actions_verify_save_commit_and_reject_bad_p4info() {
    let server = Server::start();
    let mut c = client(&server, 10).await;
    assert_eq!(
        rpc_code(c.get_pipeline(ResponseType::All).await.unwrap_err()),
        Code::FailedPrecondition
    );
    let config = v1::ForwardingPipelineConfig {
        p4info: Some(fixture_p4info()),
        p4_device_config: vec![1],
        cookie: Some(v1::forwarding_pipeline_config::Cookie { cookie: 3 }),
    };
    c.set_pipeline_with(PipelineAction::Verify, Some(config.clone()))
        .await
        .unwrap();
    assert_eq!(
        rpc_code(c.get_pipeline(ResponseType::All).await.unwrap_err()),
        Code::FailedPrecondition,
        "VERIFY changes nothing"
    );
    assert_eq!(
        rpc_code(
            c.set_pipeline_with(PipelineAction::Commit, None)
                .await
                .unwrap_err()
        ),
        Code::FailedPrecondition
    );
    c.set_pipeline_with(PipelineAction::VerifyAndSave, Some(config.clone()))
        .await
        .unwrap();
    c.set_pipeline_with(PipelineAction::Commit, None)
        .await
        .unwrap();
    assert_eq!(
        c.get_pipeline(ResponseType::CookieOnly)
            .await
            .unwrap()
            .cookie
            .unwrap()
            .cookie,
        3
    );

    let mut bad = fixture_p4info();
    bad.tables[1].preamble.as_mut().unwrap().id = PORT_FWD;
    let bad_config = v1::ForwardingPipelineConfig {
        p4info: Some(bad),
        ..config.clone()
    };
    assert_eq!(
        rpc_code(
            c.set_pipeline_with(PipelineAction::VerifyAndCommit, Some(bad_config))
                .await
                .unwrap_err()
        ),
        Code::InvalidArgument
    );
    assert_eq!(
        rpc_code(
            c.set_pipeline_with(PipelineAction::Unspecified, Some(config))
                .await
                .unwrap_err()
        ),
        Code::InvalidArgument
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_with_the_same_p4info_keeps_entries_and_a_new_pipeline_clears_them() {
    let (_server, mut c) = primary().await;
    c.write(vec![ins(fwd(&[1], &[2]))], Atomicity::ContinueOnError)
        .await
        .unwrap();
    let config = v1::ForwardingPipelineConfig {
        p4info: Some(fixture_p4info()),
        p4_device_config: vec![],
        cookie: Some(v1::forwarding_pipeline_config::Cookie { cookie: 8 }),
    };
    c.set_pipeline_with(PipelineAction::ReconcileAndCommit, Some(config))
        .await
        .unwrap();
    assert_eq!(all_entries(&mut c).await.len(), 1);
    c.set_pipeline(fixture_p4info(), vec![], 9).await.unwrap();
    assert!(all_entries(&mut c).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_before_a_pipeline_fail_with_failed_precondition() {
    let server = Server::start();
    let mut c = client(&server, 10).await;
    let err = c
        .write(vec![ins(fwd(&[1], &[2]))], Atomicity::ContinueOnError)
        .await
        .unwrap_err();
    assert_eq!(rpc_code(err), Code::FailedPrecondition);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_primary_may_write_and_a_higher_election_id_takes_over() {
    let (server, mut first) = primary().await;
    let mut backup = client(&server, 5).await;
    assert_eq!(
        backup.arbitration(),
        Arbitration::Backup {
            primary_election_id: Some(10)
        }
    );
    backup.use_p4info(fixture_p4info()).unwrap();
    let err = backup
        .write(vec![ins(fwd(&[1], &[2]))], Atomicity::ContinueOnError)
        .await
        .unwrap_err();
    assert_eq!(rpc_code(err), Code::PermissionDenied);
    let err = backup
        .set_pipeline(fixture_p4info(), vec![], 1)
        .await
        .unwrap_err();
    assert_eq!(rpc_code(err), Code::PermissionDenied);
    assert!(
        all_entries(&mut backup).await.is_empty(),
        "a rejected write changes nothing; reads need no arbitration"
    );

    let mut usurper = client(&server, 20).await;
    assert!(usurper.is_primary());
    first
        .wait_arbitration(
            |a| matches!(a, Arbitration::Backup { .. }),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    assert_eq!(
        first.arbitration(),
        Arbitration::Backup {
            primary_election_id: Some(20)
        }
    );
    let err = first
        .write(vec![ins(fwd(&[1], &[2]))], Atomicity::ContinueOnError)
        .await
        .unwrap_err();
    assert_eq!(rpc_code(err), Code::PermissionDenied);
    usurper.use_p4info(fixture_p4info()).unwrap();
    usurper
        .write(vec![ins(fwd(&[1], &[2]))], Atomicity::ContinueOnError)
        .await
        .unwrap();

    // The primary leaves: backups are told there is no primary.
    drop(usurper);
    let e = next_matching(&mut first, |e| matches!(e, StreamEvent::Arbitration(a) if a.status.as_ref().unwrap().code == Code::NotFound as i32)).await;
    assert!(matches!(e, StreamEvent::Arbitration(_)));
    // Re-arbitrating above the highest id seen makes it primary again.
    assert_eq!(
        first.set_election_id(Some(30)).await.unwrap(),
        Arbitration::Primary
    );
    first
        .write(vec![ins(fwd(&[2], &[3]))], Atomicity::ContinueOnError)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arbitration_refuses_duplicate_election_ids_and_unknown_devices() {
    let server = Server::start();
    let _first = client(&server, 10).await;
    let err = P4RuntimeClient::connect(config(&server, Some(10)))
        .await
        .err()
        .unwrap();
    assert!(
        matches!(err, ClientError::Arbitration(ref m) if m.contains("InvalidArgument") || m.contains("already used")),
        "{err}"
    );
    let mut wrong = config(&server, Some(11));
    wrong.device_id = 99;
    let err = P4RuntimeClient::connect(wrong).await.err().unwrap();
    assert!(matches!(err, ClientError::Arbitration(_)), "{err}");
    let unset = P4RuntimeClient::connect(config(&server, None))
        .await
        .unwrap();
    assert!(
        matches!(unset.arbitration(), Arbitration::Backup { .. }),
        "an unset election id never wins"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_have_independent_primaries() {
    let (server, _default) = primary().await;
    let mut cfg = config(&server, Some(1));
    cfg.role = "telemetry".into();
    let mut role_client = P4RuntimeClient::connect(cfg).await.unwrap();
    assert!(
        role_client.is_primary(),
        "primary of its own role despite a lower id"
    );
    role_client.use_p4info(fixture_p4info()).unwrap();
    role_client
        .write(vec![ins(fwd(&[4], &[5]))], Atomicity::ContinueOnError)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_round_trip_canonically_through_insert_read_modify_delete() {
    let (_server, mut c) = primary().await;
    // Padded values are accepted; reads return the canonical form.
    c.write(vec![ins(fwd(&[0, 1], &[0, 2]))], Atomicity::ContinueOnError)
        .await
        .unwrap();
    let read = all_entries(&mut c).await;
    assert_eq!(read, vec![fwd(&[1], &[2])]);

    let built = c
        .table_entry("port_fwd")
        .unwrap()
        .exact("standard_metadata.ingress_port", 1u16)
        .action("forward")
        .param("port", 7u16)
        .build()
        .unwrap();
    c.modify(built.clone()).await.unwrap();
    assert_eq!(all_entries(&mut c).await, vec![built.clone()]);
    // MODIFY without an action keeps the action.
    let key = c
        .table_entry("port_fwd")
        .unwrap()
        .exact("standard_metadata.ingress_port", 1u16)
        .key()
        .unwrap();
    let mut with_meta = key.clone();
    with_meta.metadata = b"cookie".to_vec();
    c.modify(with_meta).await.unwrap();
    let read = all_entries(&mut c).await;
    assert_eq!(read[0].action, built.action);
    assert_eq!(read[0].metadata, b"cookie".to_vec());
    c.delete(key).await.unwrap();
    assert!(all_entries(&mut c).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn existing_and_missing_entries_get_already_exists_and_not_found() {
    let (_server, mut c) = primary().await;
    c.write(vec![ins(fwd(&[1], &[2]))], Atomicity::ContinueOnError)
        .await
        .unwrap();
    let err = c
        .write(
            vec![
                ins(fwd(&[1], &[3])),
                ins(fwd(&[2], &[3])),
                modi(fwd(&[9], &[3])),
                del(fwd(&[8], &[3])),
            ],
            Atomicity::ContinueOnError,
        )
        .await
        .unwrap_err();
    assert_eq!(
        codes(err),
        vec![
            (0, Code::AlreadyExists),
            (2, Code::NotFound),
            (3, Code::NotFound)
        ]
    );
    let read = all_entries(&mut c).await;
    assert_eq!(
        read,
        vec![fwd(&[1], &[2]), fwd(&[2], &[3])],
        "CONTINUE_ON_ERROR applies the good update; the duplicate leaves the original"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_malformed_write_is_invalid_argument_and_changes_nothing() {
    let (_server, mut c) = primary().await;
    let ternary = |v: &[u8], m: &[u8]| FieldMatch {
        field_id: 1,
        field_match_type: Some(FieldMatchType::Ternary(v1::field_match::Ternary {
            value: v.to_vec(),
            mask: m.to_vec(),
        })),
    };
    let lpm = |v: &[u8], l: i32| FieldMatch {
        field_id: 1,
        field_match_type: Some(FieldMatchType::Lpm(v1::field_match::Lpm {
            value: v.to_vec(),
            prefix_len: l,
        })),
    };
    let range = |lo: &[u8], hi: &[u8]| FieldMatch {
        field_id: 2,
        field_match_type: Some(FieldMatchType::Range(v1::field_match::Range {
            low: lo.to_vec(),
            high: hi.to_vec(),
        })),
    };
    let acl = |m: Vec<FieldMatch>, p: i32| TableEntry {
        table_id: ACL,
        r#match: m,
        priority: p,
        action: act(DROP, &[]),
        ..Default::default()
    };
    let route = |m: FieldMatch| TableEntry {
        table_id: ROUTE,
        r#match: vec![m],
        action: act(DROP, &[]),
        ..Default::default()
    };
    let cases: Vec<(&str, TableEntry)> = vec![
        (
            "unknown table id",
            TableEntry {
                table_id: 0x0200_0999,
                ..fwd(&[1], &[2])
            },
        ),
        (
            "unknown field id",
            TableEntry {
                r#match: vec![exact(7, &[1])],
                ..fwd(&[1], &[2])
            },
        ),
        ("value wider than the field", fwd(&[2, 0], &[2])),
        ("empty value", fwd(&[], &[2])),
        ("param wider than its width", fwd(&[1], &[2, 0])),
        (
            "missing exact field",
            TableEntry {
                r#match: vec![],
                ..fwd(&[1], &[2])
            },
        ),
        (
            "unknown action",
            TableEntry {
                action: act(0x0100_0999, &[]),
                ..fwd(&[1], &[2])
            },
        ),
        (
            "missing param",
            TableEntry {
                action: act(FORWARD, &[]),
                ..fwd(&[1], &[2])
            },
        ),
        (
            "unknown param",
            TableEntry {
                action: act(FORWARD, &[(1, &[1]), (2, &[1])]),
                ..fwd(&[1], &[2])
            },
        ),
        (
            "action not in table",
            TableEntry {
                table_id: ROUTE,
                r#match: vec![lpm(&[10, 0, 0, 0], 8)],
                action: act(MISS, &[]),
                ..Default::default()
            },
        ),
        (
            "priority on exact table",
            TableEntry {
                priority: 3,
                ..fwd(&[1], &[2])
            },
        ),
        (
            "missing priority",
            acl(vec![ternary(&[10, 0, 0, 0], &[255, 0, 0, 0])], 0),
        ),
        ("zero ternary mask", acl(vec![ternary(&[0], &[0])], 1)),
        (
            "value bits outside mask",
            acl(vec![ternary(&[10, 0, 0, 1], &[255, 0, 0, 0])], 1),
        ),
        (
            "range low above high",
            acl(vec![range(&[0, 90], &[0, 80])], 1),
        ),
        ("full range", acl(vec![range(&[0], &[255, 255])], 1)),
        ("zero prefix", route(lpm(&[0], 0))),
        ("prefix beyond the field", route(lpm(&[10, 0, 0, 0], 40))),
        ("bits beyond prefix", route(lpm(&[10, 0, 0, 1], 24))),
        (
            "idle timeout on a table without it",
            TableEntry {
                table_id: ROUTE,
                r#match: vec![lpm(&[10, 0, 0, 0], 8)],
                action: act(DROP, &[]),
                idle_timeout_ns: 5,
                ..Default::default()
            },
        ),
        (
            "keyless table insert",
            TableEntry {
                table_id: 0x0200_0005,
                action: act(DROP, &[]),
                ..Default::default()
            },
        ),
    ];
    for (what, entry) in cases {
        let err = c
            .write(vec![ins(entry)], Atomicity::ContinueOnError)
            .await
            .unwrap_err();
        assert_eq!(codes(err), vec![(0, Code::InvalidArgument)], "{what}");
    }
    let untyped = v1::Update {
        r#type: 0,
        entity: Some(Entity {
            entity: Some(entity::Entity::TableEntry(fwd(&[1], &[2]))),
        }),
    };
    assert_eq!(
        codes(
            c.write(vec![untyped], Atomicity::ContinueOnError)
                .await
                .unwrap_err()
        ),
        vec![(0, Code::InvalidArgument)],
        "UNSPECIFIED update type"
    );
    assert!(all_entries(&mut c).await.is_empty(), "nothing was written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn program_restrictions_are_permission_denied_or_resource_exhausted() {
    let (_server, mut c) = primary().await;
    let fixed = TableEntry {
        table_id: 0x0200_0004,
        r#match: vec![exact(1, &[8, 0])],
        action: act(DROP, &[]),
        ..Default::default()
    };
    assert_eq!(
        codes(
            c.write(vec![ins(fixed)], Atomicity::ContinueOnError)
                .await
                .unwrap_err()
        ),
        vec![(0, Code::PermissionDenied)],
        "const table"
    );
    let default_only = TableEntry {
        action: act(MISS, &[]),
        ..fwd(&[1], &[2])
    };
    assert_eq!(
        codes(
            c.write(vec![ins(default_only)], Atomicity::ContinueOnError)
                .await
                .unwrap_err()
        ),
        vec![(0, Code::PermissionDenied)],
        "@defaultonly action in an entry"
    );
    let register = update(
        UpdateType::Modify,
        entity::Entity::RegisterEntry(v1::RegisterEntry::default()),
    );
    assert_eq!(
        codes(
            c.write(vec![register], Atomicity::ContinueOnError)
                .await
                .unwrap_err()
        ),
        vec![(0, Code::Unimplemented)]
    );
    // port_fwd holds 1024 entries.
    let fill: Vec<v1::Update> = (0..512u16)
        .map(|p| ins(fwd(&p.to_be_bytes(), &[1])))
        .collect();
    c.write_batched(fill, 256, Atomicity::ContinueOnError)
        .await
        .unwrap();
    assert_eq!(c.read_table("port_fwd").await.unwrap().len(), 512);
    let big = TableEntry {
        table_id: 0x0200_0006,
        ..Default::default()
    };
    let many: Vec<v1::Update> = (0..2u32)
        .map(|i| {
            ins(TableEntry {
                r#match: vec![exact(1, &i.to_be_bytes())],
                action: act(DROP, &[]),
                ..big.clone()
            })
        })
        .collect();
    c.write(many, Atomicity::ContinueOnError).await.unwrap();
}

fn acl_drop(i: u32) -> TableEntry {
    TableEntry {
        table_id: ACL,
        r#match: vec![FieldMatch {
            field_id: 1,
            field_match_type: Some(FieldMatchType::Ternary(v1::field_match::Ternary {
                value: i.to_be_bytes().to_vec(),
                mask: vec![255; 4],
            })),
        }],
        priority: 1,
        action: act(DROP, &[]),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_table_answers_resource_exhausted() {
    let (server, mut c) = primary().await;
    // ingress.acl holds 256 entries.
    let fill: Vec<v1::Update> = (1..=256u32).map(|i| ins(acl_drop(i))).collect();
    c.write(fill, Atomicity::ContinueOnError).await.unwrap();
    let err = c
        .write(vec![ins(acl_drop(999))], Atomicity::ContinueOnError)
        .await
        .unwrap_err();
    assert_eq!(codes(err), vec![(0, Code::ResourceExhausted)]);
    assert_eq!(server.service.with_backend(|b| b.len(ACL)), 256);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_failed_updates_are_all_reported() {
    let (_server, mut c) = primary().await;
    // Ports 512.. do not fit the 9-bit field: every update fails.
    let bad: Vec<v1::Update> = (512..1512u16)
        .map(|p| ins(fwd(&p.to_be_bytes(), &[1])))
        .collect();
    let errs = codes(c.write(bad, Atomicity::ContinueOnError).await.unwrap_err());
    assert_eq!(errs.len(), 1000);
    assert!(
        errs.iter()
            .enumerate()
            .all(|(i, (idx, code))| *idx == i && *code == Code::InvalidArgument)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn atomic_batches_apply_nothing_when_one_update_fails() {
    let (_server, mut c) = primary().await;
    c.write(vec![ins(fwd(&[1], &[1]))], Atomicity::ContinueOnError)
        .await
        .unwrap();
    for mode in [Atomicity::RollbackOnError, Atomicity::DataplaneAtomic] {
        // Fails while applying: modify and delete are undone.
        let batch = vec![
            modi(fwd(&[1], &[9])),
            ins(fwd(&[2], &[2])),
            del(fwd(&[1], &[0])),
            ins(fwd(&[2], &[3])),
        ];
        let err = c.write(batch, mode).await.unwrap_err();
        let ClientError::Write { errors } = err else {
            panic!("per-update errors expected")
        };
        let got: Vec<(usize, Code)> = errors.iter().map(|e| (e.index, e.code)).collect();
        assert_eq!(
            got,
            vec![
                (0, Code::Aborted),
                (1, Code::Aborted),
                (2, Code::Aborted),
                (3, Code::AlreadyExists)
            ],
            "{mode:?}"
        );
        assert_eq!(
            all_entries(&mut c).await,
            vec![fwd(&[1], &[1])],
            "{mode:?}: state restored"
        );
        // Fails validation: nothing is attempted.
        let batch = vec![ins(fwd(&[3], &[3])), ins(fwd(&[4, 0], &[3]))];
        let got = codes(c.write(batch, mode).await.unwrap_err());
        assert_eq!(
            got,
            vec![(0, Code::Aborted), (1, Code::InvalidArgument)],
            "{mode:?}"
        );
        assert_eq!(all_entries(&mut c).await.len(), 1, "{mode:?}");
    }
    c.write(vec![ins(fwd(&[5], &[5]))], Atomicity::ContinueOnError)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wildcard_reads_filter_by_table_priority_action_key_and_default() {
    let (_server, mut c) = primary().await;
    let acl = |dst: u8, p: i32, action: u32| TableEntry {
        table_id: ACL,
        r#match: vec![FieldMatch {
            field_id: 1,
            field_match_type: Some(FieldMatchType::Ternary(v1::field_match::Ternary {
                value: vec![dst, 0, 0, 0],
                mask: vec![255, 0, 0, 0],
            })),
        }],
        priority: p,
        action: if action == FORWARD {
            act(FORWARD, &[(1, &[1])])
        } else {
            act(DROP, &[])
        },
        ..Default::default()
    };
    let batch = vec![
        ins(fwd(&[1], &[2])),
        ins(fwd(&[2], &[3])),
        ins(acl(10, 5, DROP)),
        ins(acl(11, 6, FORWARD)),
        ins(acl(12, 6, DROP)),
    ];
    c.write(batch, Atomicity::ContinueOnError).await.unwrap();
    assert_eq!(
        all_entries(&mut c).await.len(),
        5,
        "table_id 0 reads every table"
    );
    assert_eq!(c.read_table("acl").await.unwrap().len(), 3);
    let by_priority = c
        .read_entries(TableEntry {
            table_id: ACL,
            priority: 6,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(by_priority.len(), 2);
    let by_action = c
        .read_entries(TableEntry {
            table_id: ACL,
            action: act(DROP, &[]),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(by_action.len(), 2);
    let by_key = c
        .read_entries(TableEntry {
            table_id: PORT_FWD,
            r#match: vec![exact(1, &[0, 2])],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        by_key,
        vec![fwd(&[2], &[3])],
        "padded key in the filter finds the canonical entry"
    );
    let by_key_no_priority = c
        .read_entries(TableEntry {
            r#match: acl(11, 0, DROP).r#match,
            table_id: ACL,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(by_key_no_priority.len(), 1);
    // Default entry: the program's initial default, then modified and reset.
    let default = TableEntry {
        table_id: PORT_FWD,
        is_default_action: true,
        ..Default::default()
    };
    let read = c.read_entries(default.clone()).await.unwrap();
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].action, act(MISS, &[]));
    c.modify(TableEntry {
        action: act(DROP, &[]),
        ..default.clone()
    })
    .await
    .unwrap();
    assert_eq!(
        c.read_entries(default.clone()).await.unwrap()[0].action,
        act(DROP, &[])
    );
    c.modify(default.clone()).await.unwrap();
    assert_eq!(
        c.read_entries(default).await.unwrap()[0].action,
        act(MISS, &[]),
        "unset action resets the default"
    );
    let err = c
        .read_entries(TableEntry {
            table_id: 0x0200_0999,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(rpc_code(err), Code::NotFound);
    let unsupported = c
        .read(vec![Entity {
            entity: Some(entity::Entity::ValueSetEntry(v1::ValueSetEntry::default())),
        }])
        .await
        .unwrap_err();
    assert_eq!(rpc_code(unsupported), Code::Unimplemented);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_reads_stream_in_several_responses() {
    let (_server, mut c) = primary().await;
    let fill: Vec<v1::Update> = (0..2500u32)
        .map(|i| {
            ins(TableEntry {
                table_id: 0x0200_0006,
                r#match: vec![exact(1, &i.to_be_bytes())],
                action: act(DROP, &[]),
                ..Default::default()
            })
        })
        .collect();
    c.write_batched(fill, 1000, Atomicity::ContinueOnError)
        .await
        .unwrap();
    let mut stream = c
        .read_stream(vec![Entity {
            entity: Some(entity::Entity::TableEntry(TableEntry {
                table_id: 0x0200_0006,
                ..Default::default()
            })),
        }])
        .await
        .unwrap();
    let mut messages = 0;
    let mut entities = 0;
    while let Some(resp) = stream.message().await.unwrap() {
        messages += 1;
        entities += resp.entities.len();
    }
    assert_eq!(entities, 2500);
    assert_eq!(messages, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn indirect_and_direct_counters_read_and_write() {
    let (server, mut c) = primary().await;
    let cells = c.read_counter("ingress.drops", None).await.unwrap();
    assert_eq!(cells.len(), 8);
    c.write_counter(
        "drops",
        3,
        CounterData {
            byte_count: 0,
            packet_count: 42,
        },
    )
    .await
    .unwrap();
    assert_eq!(
        c.read_counter("drops", Some(3)).await.unwrap(),
        vec![(
            3,
            CounterData {
                byte_count: 0,
                packet_count: 42
            }
        )]
    );
    assert_eq!(
        rpc_code(c.read_counter("drops", Some(8)).await.unwrap_err()),
        Code::OutOfRange
    );
    let err = c
        .write_counter("drops", 8, CounterData::default())
        .await
        .unwrap_err();
    assert_eq!(codes(err), vec![(0, Code::OutOfRange)]);
    let insert_counter = update(
        UpdateType::Insert,
        entity::Entity::CounterEntry(v1::CounterEntry {
            counter_id: 0x1200_0001,
            index: Some(v1::Index { index: 0 }),
            data: None,
        }),
    );
    assert_eq!(
        codes(
            c.write(vec![insert_counter], Atomicity::ContinueOnError)
                .await
                .unwrap_err()
        ),
        vec![(0, Code::InvalidArgument)]
    );

    let entry = c
        .table_entry("port_fwd")
        .unwrap()
        .exact("standard_metadata.ingress_port", 1u16)
        .action("forward")
        .param("port", 2u16)
        .build()
        .unwrap();
    c.insert(entry.clone()).await.unwrap();
    assert!(
        server
            .service
            .with_backend(|b| b.hit(&entry, 100) && b.hit(&entry, 60))
    );
    assert_eq!(
        c.read_direct_counter(&entry).await.unwrap(),
        CounterData {
            byte_count: 160,
            packet_count: 2
        }
    );
    c.write_direct_counter(
        &entry,
        CounterData {
            byte_count: 1,
            packet_count: 1,
        },
    )
    .await
    .unwrap();
    let with_counter = c
        .read_entries(TableEntry {
            counter_data: Some(CounterData::default()),
            ..entry.clone()
        })
        .await
        .unwrap();
    assert_eq!(
        with_counter[0].counter_data,
        Some(CounterData {
            byte_count: 1,
            packet_count: 1
        })
    );
    let without = c.read_entries(entry.clone()).await.unwrap();
    assert_eq!(
        without[0].counter_data, None,
        "counter data only when asked for"
    );
    let missing = c
        .table_entry("port_fwd")
        .unwrap()
        .exact("standard_metadata.ingress_port", 9u16)
        .key()
        .unwrap();
    let err = c
        .write_direct_counter(&missing, CounterData::default())
        .await
        .unwrap_err();
    assert_eq!(codes(err), vec![(0, Code::NotFound)]);
}

fn register_read(register_id: u32, index: Option<i64>) -> Vec<Entity> {
    vec![Entity {
        entity: Some(entity::Entity::RegisterEntry(v1::RegisterEntry {
            register_id,
            index: index.map(|index| v1::Index { index }),
            data: None,
        })),
    }]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registers_read_by_cell_or_wildcard_and_refuse_bad_ids_indexes_and_writes() {
    let (_server, mut c) = primary().await;
    let zero = v1::P4Data {
        data: Some(v1::p4_data::Data::Bitstring(vec![0])),
    };
    // the in-memory device holds no register state: every cell is zero
    let all = c.read_register("ingress.flow_state", None).await.unwrap();
    assert_eq!(
        all.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
        (0..16).collect::<Vec<_>>()
    );
    assert!(all.iter().all(|(_, d)| *d == zero));
    assert_eq!(
        c.read_register("flow_state", Some(5)).await.unwrap(),
        vec![(5, zero.clone())]
    );
    // register id 0 reads every register
    let every = c.read(register_read(0, Some(15))).await.unwrap();
    assert_eq!(every.len(), 1);
    for bad in [16, -1] {
        assert_eq!(
            rpc_code(c.read_register("flow_state", Some(bad)).await.unwrap_err()),
            Code::OutOfRange,
            "index {bad}"
        );
    }
    assert_eq!(
        rpc_code(c.read(register_read(0x1600_0099, None)).await.unwrap_err()),
        Code::NotFound
    );
    assert!(matches!(
        c.read_register("nope", None).await.unwrap_err(),
        ClientError::P4Info(_)
    ));
    let write = update(
        UpdateType::Modify,
        entity::Entity::RegisterEntry(v1::RegisterEntry {
            register_id: 0x1600_0001,
            index: Some(v1::Index { index: 1 }),
            data: Some(zero),
        }),
    );
    assert_eq!(
        codes(
            c.write(vec![write], Atomicity::ContinueOnError)
                .await
                .unwrap_err()
        ),
        vec![(0, Code::Unimplemented)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn meters_and_direct_meters_are_configured_and_read_back() {
    let (_server, mut c) = primary().await;
    let cfg = MeterConfig {
        cir: 1000,
        cburst: 100,
        pir: 2000,
        pburst: 200,
        eburst: 0,
    };
    c.write_meter("ingress.rate", 2, Some(cfg)).await.unwrap();
    let cells = c.read_meter("rate", None).await.unwrap();
    assert_eq!(cells.len(), 4);
    assert_eq!(cells[2], (2, Some(cfg)));
    assert_eq!(cells[0], (0, None));
    let bad = MeterConfig { cir: -1, ..cfg };
    assert_eq!(
        codes(c.write_meter("rate", 1, Some(bad)).await.unwrap_err()),
        vec![(0, Code::InvalidArgument)]
    );
    let entry = c
        .table_entry("port_fwd")
        .unwrap()
        .exact("standard_metadata.ingress_port", 1u16)
        .action("forward")
        .param("port", 2u16)
        .meter(cfg)
        .build()
        .unwrap();
    c.insert(entry.clone()).await.unwrap();
    assert_eq!(c.read_direct_meter(&entry).await.unwrap(), Some(cfg));
    c.write_direct_meter(&entry, None).await.unwrap();
    assert_eq!(c.read_direct_meter(&entry).await.unwrap(), None);
    let on_route = TableEntry {
        table_id: ROUTE,
        ..Default::default()
    };
    assert!(
        c.write_direct_meter(&on_route, Some(cfg)).await.is_err(),
        "route has no direct meter"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digests_are_batched_deduplicated_and_acknowledged() {
    let (server, mut c) = primary().await;
    let cfg = v1::digest_entry::Config {
        max_timeout_ns: 1_000_000_000,
        max_list_size: 2,
        ack_timeout_ns: 60_000_000_000,
    };
    c.enable_digest("mac_learn_t", cfg).await.unwrap();
    assert_eq!(
        codes(c.enable_digest("mac_learn_t", cfg).await.unwrap_err()),
        vec![(0, Code::AlreadyExists)]
    );
    let read = c
        .read(vec![Entity {
            entity: Some(entity::Entity::DigestEntry(v1::DigestEntry::default())),
        }])
        .await
        .unwrap();
    assert_eq!(read.len(), 1);
    let learn = |mac: u8, port: u8| v1::P4Data {
        data: Some(v1::p4_data::Data::Struct(v1::P4StructLike {
            members: vec![
                v1::P4Data {
                    data: Some(v1::p4_data::Data::Bitstring(vec![mac])),
                },
                v1::P4Data {
                    data: Some(v1::p4_data::Data::Bitstring(vec![port])),
                },
            ],
        })),
    };
    let digest_id = 0x1700_0001;
    server.service.with_backend(|b| {
        assert!(b.learn(digest_id, learn(1, 1)));
        assert!(b.learn(digest_id, learn(1, 1)));
        assert!(b.learn(digest_id, learn(2, 1)));
    });
    let StreamEvent::Digest(list) =
        next_matching(&mut c, |e| matches!(e, StreamEvent::Digest(_))).await
    else {
        unreachable!()
    };
    assert_eq!(
        list.data,
        vec![learn(1, 1), learn(2, 1)],
        "distinct messages, list full at 2"
    );
    // Unacknowledged data is not reported again; after the ack it is.
    server
        .service
        .with_backend(|b| b.learn(digest_id, learn(1, 1)));
    assert!(
        c.next_event_within(Duration::from_millis(300))
            .await
            .is_none()
    );
    c.ack_digest(&list).await.unwrap();
    // The session handles stream messages in order: once a PacketOut sent
    // after the ack has gone out, the ack has been processed.
    c.packet_out(
        b"marker".to_vec(),
        &[("egress_port", 1u16.into()), ("_pad", 0u8.into())],
    )
    .await
    .unwrap();
    wait_transmitted(&server, 1).await;
    server.service.with_backend(|b| {
        b.learn(digest_id, learn(1, 1));
        b.learn(digest_id, learn(3, 1));
    });
    let StreamEvent::Digest(again) =
        next_matching(&mut c, |e| matches!(e, StreamEvent::Digest(_))).await
    else {
        unreachable!()
    };
    assert_eq!(again.data, vec![learn(1, 1), learn(3, 1)]);
    assert!(again.list_id > list.list_id);
    c.disable_digest("mac_learn_t").await.unwrap();
    assert_eq!(
        codes(c.disable_digest("mac_learn_t").await.unwrap_err()),
        vec![(0, Code::NotFound)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_entries_are_reported_and_hits_reset_the_timer() {
    let (server, mut c) = primary().await;
    let entry = c
        .table_entry("port_fwd")
        .unwrap()
        .exact("standard_metadata.ingress_port", 3u16)
        .action("forward")
        .param("port", 4u16)
        .idle_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    c.insert(entry.clone()).await.unwrap();
    server.service.with_backend(|b| b.hit(&entry, 64));
    let asked = TableEntry {
        time_since_last_hit: Some(v1::table_entry::IdleTimeout::default()),
        ..entry.clone()
    };
    let read = c.read_entries(asked).await.unwrap();
    let elapsed = read[0].time_since_last_hit.unwrap().elapsed_ns;
    assert!(
        (0..60_000_000_000).contains(&elapsed),
        "time since last hit is reported when asked: {elapsed}"
    );
    assert_eq!(read[0].idle_timeout_ns, 200_000_000);
    let StreamEvent::IdleTimeout(note) =
        next_matching(&mut c, |e| matches!(e, StreamEvent::IdleTimeout(_))).await
    else {
        unreachable!()
    };
    assert_eq!(note.table_entry.len(), 1);
    assert_eq!(note.table_entry[0].r#match, entry.r#match);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn packets_flow_out_and_in_with_checked_metadata() {
    let (server, mut c) = primary().await;
    c.packet_out(
        b"frame-out".to_vec(),
        &[("egress_port", 5u16.into()), ("_pad", 0u8.into())],
    )
    .await
    .unwrap();
    c.packet_out(b"bad".to_vec(), &[("egress_port", 5u16.into())])
        .await
        .err()
        .unwrap();
    let backup_cfg = config(&server, Some(3));
    let mut backup = P4RuntimeClient::connect(backup_cfg).await.unwrap();
    backup.use_p4info(fixture_p4info()).unwrap();
    backup
        .packet_out(
            b"from-backup".to_vec(),
            &[("egress_port", 1u16.into()), ("_pad", 0u8.into())],
        )
        .await
        .unwrap();
    let StreamEvent::Error(e) =
        next_matching(&mut backup, |e| matches!(e, StreamEvent::Error(_))).await
    else {
        unreachable!()
    };
    assert_eq!(e.canonical_code, Code::PermissionDenied as i32);

    wait_transmitted(&server, 1).await;
    let sent = server.service.with_backend(|b| b.transmitted().to_vec());
    assert_eq!(sent.len(), 1, "only the primary's valid packet went out");
    assert_eq!(sent[0].payload, b"frame-out".to_vec());
    assert_eq!(sent[0].metadata[0].value, vec![5]);

    let pin = v1::PacketIn {
        payload: b"frame-in".to_vec(),
        metadata: vec![
            v1::PacketMetadata {
                metadata_id: 1,
                value: vec![0, 7],
            },
            v1::PacketMetadata {
                metadata_id: 2,
                value: vec![0],
            },
        ],
    };
    assert!(server.service.with_backend(|b| b.punt(pin)));
    let StreamEvent::PacketIn(p) =
        next_matching(&mut c, |e| matches!(e, StreamEvent::PacketIn(_))).await
    else {
        unreachable!()
    };
    assert_eq!(p.payload, b"frame-in".to_vec());
    let md = c.packet_in_metadata(&p).unwrap();
    assert_eq!(md[0], ("ingress_port".to_string(), vec![7]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_packet_out_gets_a_stream_error_and_is_dropped() {
    let (server, _c) = primary().await;
    // A raw stream, bypassing the client's own checks.
    let mut raw = raw_grpc(&server).await;
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    let arbitration = v1::MasterArbitrationUpdate {
        device_id: DEVICE,
        election_id: Some(ztnic_p4runtime::ElectionId(11).to_proto()),
        ..Default::default()
    };
    tx.send(v1::StreamMessageRequest {
        update: Some(v1::stream_message_request::Update::Arbitration(arbitration)),
    })
    .await
    .unwrap();
    let mut inbound = raw
        .stream_channel(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    let first = inbound.message().await.unwrap().unwrap();
    assert!(
        matches!(first.update, Some(v1::stream_message_response::Update::Arbitration(ref a)) if a.status.as_ref().unwrap().code == 0)
    );
    let wide = v1::PacketOut {
        payload: b"wide".to_vec(),
        metadata: vec![
            v1::PacketMetadata {
                metadata_id: 1,
                value: vec![4, 0],
            },
            v1::PacketMetadata {
                metadata_id: 2,
                value: vec![0],
            },
        ],
    };
    tx.send(v1::StreamMessageRequest {
        update: Some(v1::stream_message_request::Update::Packet(wide.clone())),
    })
    .await
    .unwrap();
    let reply = tokio::time::timeout(Duration::from_secs(5), inbound.message())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let Some(v1::stream_message_response::Update::Error(e)) = reply.update else {
        panic!("stream error expected")
    };
    assert_eq!(e.canonical_code, Code::InvalidArgument as i32);
    assert!(
        matches!(e.details, Some(v1::stream_error::Details::PacketOut(ref p)) if p.packet_out.as_ref() == Some(&wide))
    );
    assert!(server.service.with_backend(|b| b.transmitted().is_empty()));
    // A packet before arbitration closes the stream with FAILED_PRECONDITION.
    let (tx2, rx2) = tokio::sync::mpsc::channel(8);
    tx2.send(v1::StreamMessageRequest {
        update: Some(v1::stream_message_request::Update::Packet(wide)),
    })
    .await
    .unwrap();
    let mut inbound2 = raw
        .stream_channel(tokio_stream::wrappers::ReceiverStream::new(rx2))
        .await
        .unwrap()
        .into_inner();
    let err = inbound2.message().await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
}

async fn raw_grpc(
    server: &Server,
) -> v1::p4_runtime_client::P4RuntimeClient<tonic::transport::Channel> {
    let channel = tonic::transport::Endpoint::from_shared(server.endpoint())
        .unwrap()
        .connect()
        .await
        .unwrap();
    v1::p4_runtime_client::P4RuntimeClient::new(channel)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_reconnects_and_re_arbitrates_after_the_server_restarts() {
    let mut server = Server::start();
    let addr = server.addr;
    let mut c = client(&server, 10).await;
    c.set_pipeline(fixture_p4info(), vec![], 1).await.unwrap();
    c.write(vec![ins(fwd(&[1], &[2]))], Atomicity::ContinueOnError)
        .await
        .unwrap();
    server.kill();
    next_matching(&mut c, |e| matches!(e, StreamEvent::Disconnected(_))).await;
    assert!(!c.is_primary());
    let _again = Server::start_on(addr);
    next_matching(&mut c, |e| matches!(e, StreamEvent::Reconnected)).await;
    c.wait_arbitration(|a| *a == Arbitration::Primary, Duration::from_secs(10))
        .await
        .unwrap();
    // A restarted device has no pipeline: push it again and write.
    c.set_pipeline(fixture_p4info(), vec![], 1).await.unwrap();
    c.write(vec![ins(fwd(&[1], &[2]))], Atomicity::ContinueOnError)
        .await
        .unwrap();
    assert_eq!(all_entries(&mut c).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_for_another_device_id_are_not_found() {
    let (server, _c) = primary().await;
    let mut raw = raw_grpc(&server).await;
    let err = raw
        .get_forwarding_pipeline_config(v1::GetForwardingPipelineConfigRequest {
            device_id: 2,
            response_type: 0,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = raw
        .write(v1::WriteRequest {
            device_id: 2,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = raw
        .write(v1::WriteRequest {
            device_id: 1,
            election_id: Some(ztnic_p4runtime::ElectionId(10).to_proto()),
            atomicity: 9,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "unknown atomicity mode");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_inserts_modifies_and_deletes_agree_with_a_map_model() {
    let (_server, mut c) = primary().await;
    let mut model = std::collections::BTreeMap::<u16, u16>::new();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..400 {
        let r = next();
        let port = (r % 32) as u16;
        let out = ((r >> 8) % 511) as u16;
        let entry = fwd(&port.to_be_bytes(), &out.to_be_bytes());
        let (u, expected) = match (r >> 20) % 3 {
            0 => (
                ins(entry),
                if model.contains_key(&port) {
                    Code::AlreadyExists
                } else {
                    Code::Ok
                },
            ),
            1 => (
                modi(entry),
                if model.contains_key(&port) {
                    Code::Ok
                } else {
                    Code::NotFound
                },
            ),
            _ => (
                del(entry),
                if model.contains_key(&port) {
                    Code::Ok
                } else {
                    Code::NotFound
                },
            ),
        };
        let kind = u.r#type;
        let got = match c.write(vec![u], Atomicity::ContinueOnError).await {
            Ok(()) => Code::Ok,
            Err(e) => codes(e)[0].1,
        };
        assert_eq!(got, expected);
        if got == Code::Ok {
            if kind == UpdateType::Delete as i32 {
                model.remove(&port);
            } else {
                model.insert(port, out);
            }
        }
    }
    let mut read: Vec<(u16, u16)> = all_entries(&mut c)
        .await
        .into_iter()
        .map(|e| {
            let Some(FieldMatchType::Exact(k)) = &e.r#match[0].field_match_type else {
                panic!("exact")
            };
            let Some(v1::table_action::Type::Action(a)) = e.action.unwrap().r#type else {
                panic!("action")
            };
            let num = |b: &[u8]| b.iter().fold(0u16, |acc, x| (acc << 8) | u16::from(*x));
            (num(&k.value), num(&a.params[0].value))
        })
        .collect();
    read.sort_unstable();
    assert_eq!(read, model.into_iter().collect::<Vec<_>>());
}
