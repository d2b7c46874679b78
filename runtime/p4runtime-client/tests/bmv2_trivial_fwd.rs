//! ztnic's client against a real bmv2 `simple_switch_grpc` running
//! p4/trivial_fwd.p4: pipeline config, writes and their errors, reads,
//! counters, digests with ack, packet-out → pipeline → packet-in, idle
//! timeout. Skips loudly (and does not pass the real check) when bmv2 or the
//! compiled artifacts are absent.
#![allow(clippy::unwrap_used)]

mod bmv2;

use std::path::PathBuf;
use std::time::Duration;

use tonic::Code;
use ztnic_p4runtime::text;
use ztnic_p4runtime::v1::{
    self, CounterData, TableEntry, entity, get_forwarding_pipeline_config_request::ResponseType,
};
use ztnic_p4runtime_client::{
    Atomicity, ClientConfig, ClientError, P4RuntimeClient, StreamEvent, update,
};

const TEST: &str = "client_programs_bmv2_trivial_fwd";

/// The first event matching `pred` within 20 s (other events are skipped).
async fn event(
    c: &mut P4RuntimeClient,
    what: &str,
    pred: impl Fn(&StreamEvent) -> bool,
) -> StreamEvent {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let mut skipped = Vec::new();
    while let Some(left) = deadline.checked_duration_since(tokio::time::Instant::now()) {
        match c.next_event_within(left).await {
            Some(e) if pred(&e) => return e,
            Some(e) => skipped.push(format!("{e:?}")),
            None => break,
        }
    }
    panic!("no {what} from bmv2 within 20 s; other events: {skipped:#?}");
}

/// The tools and artifacts the test needs, or why it cannot run.
fn preconditions() -> Result<(PathBuf, PathBuf, PathBuf), String> {
    let bin = bmv2::on_path("simple_switch_grpc").ok_or("simple_switch_grpc not on PATH")?;
    let (json, p4info) = (
        bmv2::artifact("trivial_fwd.json"),
        bmv2::artifact("trivial_fwd.p4info.txtpb"),
    );
    if !json.is_file() || !p4info.is_file() {
        return Err("p4/build/trivial_fwd.json or .p4info.txtpb missing".into());
    }
    Ok((bin, json, p4info))
}

/// Runs as a libtest-mimic trial so that a missing tool reports the test as
/// ignored (with one SKIP line), never as passed.
fn main() {
    let args = libtest_mimic::Arguments::from_args();
    let trial = match preconditions() {
        Err(reason) => {
            bmv2::skip(TEST, &reason);
            libtest_mimic::Trial::test(TEST, move || Err(reason.into())).with_ignored_flag(true)
        }
        Ok((bin, json, p4info)) => libtest_mimic::Trial::test(TEST, move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()?;
            rt.block_on(client_programs_bmv2_trivial_fwd(bin, json, p4info));
            Ok(())
        }),
    };
    libtest_mimic::run(&args, vec![trial]).exit();
}

async fn client_programs_bmv2_trivial_fwd(bin: PathBuf, json: PathBuf, p4info_path: PathBuf) {
    let switch = bmv2::Bmv2::start(&bin).unwrap();
    let mut c = P4RuntimeClient::connect(ClientConfig::new(switch.endpoint.clone(), 1, 1))
        .await
        .unwrap();
    assert!(c.is_primary());
    assert!(c.capabilities().await.unwrap().starts_with("1."));
    let p4info = text::load_p4info(&p4info_path).unwrap();
    c.set_pipeline(p4info.clone(), std::fs::read(&json).unwrap(), 42)
        .await
        .unwrap();
    let got = c.get_pipeline(ResponseType::P4infoAndCookie).await.unwrap();
    assert_eq!(got.cookie.unwrap().cookie, 42);
    assert_eq!(got.p4info.unwrap().tables.len(), p4info.tables.len());

    // Writes, read-back, per-update errors.
    let fwd = |c: &P4RuntimeClient, port: u16, out: u16| {
        c.table_entry("ingress.port_fwd")
            .unwrap()
            .exact("std.ingress_port", port)
            .action("ingress.forward")
            .param("port", out)
            .build()
            .unwrap()
    };
    let e1 = fwd(&c, 1, 2);
    c.insert(e1.clone()).await.unwrap();
    let batch = (2..=11u16)
        .map(|p| {
            update(
                v1::update::Type::Insert,
                entity::Entity::TableEntry(fwd(&c, p, 1)),
            )
        })
        .collect();
    c.write(batch, Atomicity::ContinueOnError).await.unwrap();
    let read = c.read_table("port_fwd").await.unwrap();
    assert_eq!(read.len(), 11);
    assert!(
        read.contains(&e1),
        "bmv2 returns what was written (canonical)"
    );
    let err = c.insert(e1.clone()).await.unwrap_err();
    assert_eq!(err.code(), Some(Code::AlreadyExists), "{err}");
    let missing = c
        .table_entry("port_fwd")
        .unwrap()
        .exact("std.ingress_port", 99u16)
        .key()
        .unwrap();
    let err = c.delete(missing).await.unwrap_err();
    assert_eq!(err.code(), Some(Code::NotFound), "{err}");
    assert!(
        matches!(
            c.table_entry("port_fwd")
                .unwrap()
                .exact("std.ingress_port", 512u16)
                .key(),
            Err(ClientError::Value { .. })
        ),
        "9-bit width checked client-side"
    );
    c.modify(fwd(&c, 1, 3)).await.unwrap();
    c.delete(fwd(&c, 11, 1)).await.unwrap();
    assert_eq!(
        c.read_entries(TableEntry::default()).await.unwrap().len(),
        10,
        "wildcard read of all tables"
    );

    // Indirect counter.
    c.write_counter(
        "ingress.drops",
        2,
        CounterData {
            byte_count: 0,
            packet_count: 5,
        },
    )
    .await
    .unwrap();
    let cells = c.read_counter("ingress.drops", None).await.unwrap();
    assert_eq!(cells.len(), 8);
    assert_eq!(cells[2].1.packet_count, 5);

    // Digest + packet I/O + direct counter + idle timeout through the pipeline:
    // a PacketOut with egress_port 0 is processed as received on CPU port 255,
    // sends a digest, hits the `punt` entry and comes back as a PacketIn.
    let cfg = v1::digest_entry::Config {
        max_timeout_ns: 0,
        max_list_size: 1,
        ack_timeout_ns: 1_000_000_000,
    };
    c.enable_digest("mac_learn_t", cfg).await.unwrap();
    let punt = c
        .table_entry("port_fwd")
        .unwrap()
        .exact("std.ingress_port", 255u16)
        .action("ingress.punt")
        .idle_timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    c.insert(punt.clone()).await.unwrap();
    let mut frame = vec![0xff; 6];
    frame.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x01, 0x88, 0xb5]);
    frame.extend_from_slice(b"ztnic-bmv2");
    c.packet_out(
        frame.clone(),
        &[("egress_port", 0u16.into()), ("_pad", 0u8.into())],
    )
    .await
    .unwrap();
    // The PacketIn and the DigestList come in either order.
    let (mut pin, mut list) = (None, None);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while pin.is_none() || list.is_none() {
        let left = deadline
            .checked_duration_since(tokio::time::Instant::now())
            .expect("PacketIn and DigestList from bmv2 within 20 s");
        match c.next_event_within(left).await {
            Some(StreamEvent::PacketIn(p)) => pin = Some(p),
            Some(StreamEvent::Digest(d)) => list = Some(d),
            Some(_) => {}
            None => panic!("PacketIn {pin:?} / DigestList {list:?}: not both within 20 s"),
        }
    }
    let (pin, list) = (pin.unwrap(), list.unwrap());
    assert_eq!(pin.payload, frame);
    let md = c.packet_in_metadata(&pin).unwrap();
    assert_eq!(md[0], ("ingress_port".to_string(), vec![0xff]));
    let bits = |d: &v1::P4Data| match &d.data {
        Some(v1::p4_data::Data::Bitstring(b)) => b.clone(),
        other => panic!("bitstring expected, got {other:?}"),
    };
    let Some(v1::p4_data::Data::Struct(learned)) = &list.data[0].data else {
        panic!("digest data is the mac_learn_t struct")
    };
    assert_eq!(list.data.len(), 1);
    assert_eq!(
        bits(&learned.members[0]),
        vec![2, 0, 0, 0, 0, 1],
        "src_addr"
    );
    assert_eq!(bits(&learned.members[1]), vec![0xff], "ingress_port");
    c.ack_digest(&list).await.unwrap();
    let hits = c.read_direct_counter(&punt).await.unwrap();
    assert_eq!(hits.packet_count, 1);
    let StreamEvent::IdleTimeout(note) = event(&mut c, "IdleTimeoutNotification", |e| {
        matches!(e, StreamEvent::IdleTimeout(_))
    })
    .await
    else {
        unreachable!()
    };
    assert!(note.table_entry.iter().any(|e| e.r#match == punt.r#match));
    drop(c);
    drop(switch);
}
