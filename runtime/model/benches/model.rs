//! Reference-model speed: packets per second through the whole pipeline for the mixed
//! scenario trace and for a steady state of established flows, and conntrack table
//! operations per second. Run with `cargo bench -p ztnic-model`.

#![allow(clippy::unwrap_used)] // benchmark set-up: a failure is a broken benchmark

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ztnic_model::Timeouts;
use ztnic_model::conntrack::{CtEntry, CtKey, CtTable, ProtoState, Slot};
use ztnic_scenario::{ModelTarget, Scenario, Target, load_all, scenarios_dir};

fn scenarios() -> Vec<Scenario> {
    load_all(&scenarios_dir()).expect("scenarios load")
}

/// Every scenario replayed from a fresh datapath: all header variants, drops, punts,
/// connection set-up and teardown.
fn mixed_trace(c: &mut Criterion) {
    let all = scenarios();
    let packets: usize = all.iter().map(Scenario::packets).sum();
    let mut g = c.benchmark_group("pipeline");
    g.throughput(Throughput::Elements(packets as u64));
    g.bench_function(format!("scenario_trace_{packets}_packets"), |b| {
        b.iter(|| {
            for s in &all {
                let mut t = ModelTarget::default();
                t.reset(&s.config).unwrap();
                for op in &s.setup {
                    t.apply(op).unwrap();
                }
                for step in &s.steps {
                    for op in &step.ops {
                        t.apply(op).unwrap();
                    }
                    if let Some(p) = &step.send {
                        black_box(t.dp.process(step.at_us, p.port, &p.frame));
                    }
                }
            }
        })
    });
    g.finish();
}

/// 4096 established connections, then their data segments in both directions.
fn steady_state(c: &mut Criterion) {
    let all = scenarios();
    let base = all
        .iter()
        .find(|s| s.id == "tcp/lifecycle_fin_close")
        .expect("base scenario");
    let mut t = ModelTarget::default();
    let mut cfg = base.config.clone();
    cfg.ct_buckets = 4096;
    t.reset(&cfg).unwrap();
    for op in &base.setup {
        t.apply(op).unwrap();
    }
    // Build the handshake and data frames from the scenario's own packets by rewriting
    // the client port: the first three steps are SYN, SYN-ACK, ACK; step 4 is data.
    let steps: Vec<_> = base.steps.iter().filter_map(|s| s.send.clone()).collect();
    let with_port = |frame: &[u8], port_at: usize, port: u16| {
        let mut f = frame.to_vec();
        f[port_at..port_at + 2].copy_from_slice(&port.to_be_bytes());
        f
    };
    // Client port offsets: TX frame sport at 34; RX (Geneve, 62 bytes outer) dport at 62 + 36.
    const FLOWS: u16 = 4096;
    for i in 0..FLOWS {
        let p = 10_000 + i;
        t.dp.process(0, 1, &with_port(&steps[0].frame, 34, p));
        t.dp.process(1, 0, &with_port(&steps[1].frame, 98, p));
        t.dp.process(2, 1, &with_port(&steps[2].frame, 34, p));
    }
    let trace: Vec<(u16, Vec<u8>)> = (0..FLOWS)
        .flat_map(|i| {
            let p = 10_000 + i;
            [
                (1, with_port(&steps[3].frame, 34, p)),
                (0, with_port(&steps[4].frame, 98, p)),
            ]
        })
        .collect();
    for (port, f) in &trace {
        let out = t.dp.process(3, *port, f);
        assert!(
            matches!(out.verdict, ztnic_model::Verdict::Forward { .. }),
            "steady-state packets must be forwarded, got {:?}",
            out.verdict
        );
    }
    let mut g = c.benchmark_group("pipeline");
    g.throughput(Throughput::Elements(trace.len() as u64));
    g.bench_function("established_4096_flows", |b| {
        b.iter(|| {
            for (port, f) in &trace {
                black_box(t.dp.process(3, *port, f));
            }
        })
    });
    g.finish();
}

fn key(n: u32) -> CtKey {
    CtKey {
        zone: 0,
        proto: 6,
        lo_addr: ztnic_model::addr::v4_mapped(0x0a00_0000 | n),
        hi_addr: ztnic_model::addr::v4_mapped(0x0a80_0001),
        lo_port: (n % 50_000) as u16,
        hi_port: 443,
    }
}

/// Insert, look up and delete 50 000 keys in a 65 536-bucket table (load 19 %).
fn conntrack_ops(c: &mut Criterion) {
    const N: u32 = 50_000;
    let t = Timeouts::default();
    let keys: Vec<CtKey> = (0..N).map(key).collect();
    let mut g = c.benchmark_group("conntrack");
    g.throughput(Throughput::Elements(3 * u64::from(N)));
    g.bench_function("insert_lookup_delete_50k", |b| {
        let mut ct = CtTable::new(1 << 16);
        b.iter(|| {
            for k in &keys {
                let e = CtEntry {
                    key: *k,
                    orig_lo: true,
                    proto: ProtoState::Udp,
                    replied: true,
                    assured: true,
                    last_seen: 0,
                    policy_gen: 1,
                };
                black_box(ct.insert(e, 0, &t).ok());
            }
            for k in &keys {
                let s: Option<Slot> = ct.lookup(k, 0, &t);
                if let Some(s) = s {
                    ct.remove(k, s);
                }
            }
        })
    });
    g.finish();
    // The load factor a 4-way table of this geometry reaches before its first failed insert.
    let mut ct = CtTable::new(1 << 12);
    let mut n = 0u32;
    loop {
        let e = CtEntry {
            key: key(n),
            orig_lo: true,
            proto: ProtoState::Udp,
            replied: true,
            assured: true,
            last_seen: 0,
            policy_gen: 1,
        };
        if ct.insert(e, 0, &t).is_err() {
            break;
        }
        n += 1;
    }
    println!(
        "conntrack: first insert failure after {n} entries of {} slots (load factor {:.1} %)",
        4 << 12,
        100.0 * f64::from(n) / f64::from(4u32 << 12)
    );
}

criterion_group!(benches, mixed_trace, steady_state, conntrack_ops);
criterion_main!(benches);
