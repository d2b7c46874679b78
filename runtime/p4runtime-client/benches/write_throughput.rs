//! Table entries written per second, client → server over loopback gRPC:
//! unbatched (one update per Write, each awaited) and in batches of 100 and
//! 1000; then client → bmv2 `simple_switch_grpc` when it is on PATH.
//! Prints figures; asserts nothing about time.
//!
//! `cargo bench -p ztnic-p4runtime-client --bench write_throughput`
//! Scale with ZTNIC_BENCH_ENTRIES (entries per batched run, default 200000).

#![allow(clippy::unwrap_used)]

#[path = "../tests/bmv2/mod.rs"]
mod bmv2;

use std::time::{Duration, Instant};

use ztnic_p4runtime::text;
use ztnic_p4runtime::v1::{self, FieldMatch, TableEntry, entity, field_match::FieldMatchType};
use ztnic_p4runtime_client::{Atomicity, ClientConfig, P4RuntimeClient, update};
use ztnic_p4runtime_server::{InMemoryBackend, P4RuntimeService, ServerConfig};

/// Best published P4Runtime write rate we know of (entries/s).
const REFERENCE: f64 = 107_000.0;

fn bulk_entry(table_id: u32, field_bits: u32, i: u32, action_id: u32) -> v1::Update {
    let bytes = i.to_be_bytes();
    let width = field_bits.div_ceil(8) as usize;
    let e = TableEntry {
        table_id,
        r#match: vec![FieldMatch {
            field_id: 1,
            field_match_type: Some(FieldMatchType::Exact(v1::field_match::Exact {
                value: ztnic_p4runtime::bytestring::canonicalize(&bytes[4 - width.min(4)..]),
            })),
        }],
        action: Some(v1::TableAction {
            r#type: Some(v1::table_action::Type::Action(v1::Action {
                action_id,
                params: vec![],
            })),
        }),
        ..Default::default()
    };
    update(v1::update::Type::Insert, entity::Entity::TableEntry(e))
}

async fn run(c: &mut P4RuntimeClient, updates: Vec<v1::Update>, batch: usize) -> f64 {
    let n = updates.len();
    let start = Instant::now();
    c.write_batched(updates, batch, Atomicity::ContinueOnError)
        .await
        .unwrap();
    n as f64 / start.elapsed().as_secs_f64()
}

fn row(target: &str, mode: &str, entries: usize, rate: f64) {
    println!(
        "{target:<22} {mode:<16} {entries:>9} {rate:>14.0} {:>9.2}x",
        rate / REFERENCE
    );
}

async fn loopback(total: usize) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service = P4RuntimeService::new(InMemoryBackend::new(), ServerConfig::default());
    tokio::spawn(service.serve(listener, std::future::pending()));
    let mut c = P4RuntimeClient::connect(ClientConfig::new(format!("http://{addr}"), 1, 1))
        .await
        .unwrap();
    let p4info = text::load_p4info(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../p4runtime/testdata/full.p4info.txtpb"
    ))
    .unwrap();
    c.set_pipeline(p4info.clone(), vec![], 1).await.unwrap();
    let bulk = c.index().unwrap().table_by_name("ingress.bulk").unwrap().id;
    for (mode, batch, n) in [
        ("unbatched", 1, (total / 40).max(1000)),
        ("batch 100", 100, total),
        ("batch 1000", 1000, total),
    ] {
        // A fresh pipeline empties the table before each run.
        c.set_pipeline(p4info.clone(), vec![], 1).await.unwrap();
        let updates: Vec<v1::Update> = (0..n as u32)
            .map(|i| bulk_entry(bulk, 32, i, 0x0100_0002))
            .collect();
        let rate = run(&mut c, updates, batch).await;
        row("ztnic server (mem)", mode, n, rate);
    }
}

async fn against_bmv2() {
    let Some(bin) = bmv2::on_path("simple_switch_grpc") else {
        println!("SKIP client -> bmv2: simple_switch_grpc not on PATH");
        return;
    };
    let (json, p4info_path) = (
        bmv2::artifact("trivial_fwd.json"),
        bmv2::artifact("trivial_fwd.p4info.txtpb"),
    );
    if !json.is_file() || !p4info_path.is_file() {
        println!("SKIP client -> bmv2: p4/build/trivial_fwd.{{json,p4info.txtpb}} missing");
        return;
    }
    let switch = match bmv2::Bmv2::start(&bin) {
        Ok(s) => s,
        Err(e) => {
            println!("SKIP client -> bmv2: {e}");
            return;
        }
    };
    let mut c = P4RuntimeClient::connect(ClientConfig::new(switch.endpoint.clone(), 1, 1))
        .await
        .unwrap();
    let p4info = text::load_p4info(&p4info_path).unwrap();
    c.set_pipeline(p4info, std::fs::read(&json).unwrap(), 1)
        .await
        .unwrap();
    let table = c
        .index()
        .unwrap()
        .table_by_name("ingress.port_fwd")
        .unwrap()
        .id;
    let drop = c
        .index()
        .unwrap()
        .action_by_name("ingress.drop")
        .unwrap()
        .id;
    // port_fwd has a 9-bit key: rounds of 500 inserts, each followed by
    // deleting them again (only the inserts are timed).
    for (mode, batch, rounds) in [
        ("unbatched", 1, 4),
        ("batch 100", 100, 20),
        ("batch 500", 500, 20),
    ] {
        let mut elapsed = Duration::ZERO;
        let mut n = 0;
        for _ in 0..rounds {
            let inserts: Vec<v1::Update> = (1..=500u32)
                .map(|i| bulk_entry(table, 9, i, drop))
                .collect();
            let deletes: Vec<v1::Update> = inserts
                .iter()
                .map(|u| v1::Update {
                    r#type: v1::update::Type::Delete as i32,
                    ..u.clone()
                })
                .collect();
            n += inserts.len();
            let start = Instant::now();
            c.write_batched(inserts, batch, Atomicity::ContinueOnError)
                .await
                .unwrap();
            elapsed += start.elapsed();
            c.write_batched(deletes, 500, Atomicity::ContinueOnError)
                .await
                .unwrap();
        }
        row(
            "bmv2 simple_switch",
            mode,
            n,
            n as f64 / elapsed.as_secs_f64(),
        );
    }
}

fn main() {
    let total: usize = std::env::var("ZTNIC_BENCH_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!("P4Runtime Write throughput (table entries inserted per second, loopback 127.0.0.1)");
    println!(
        "{:<22} {:<16} {:>9} {:>14} {:>10}",
        "target", "mode", "entries", "entries/s", "vs 107k/s"
    );
    rt.block_on(async {
        loopback(total).await;
        against_bmv2().await;
    });
}
