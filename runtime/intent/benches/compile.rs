//! Policy compile time and table size: 1000 workloads × 20 instances with ztnic contexts,
//! versus the same intents expanded to IP/port ACLs. Run with
//! `cargo bench -p ztnic-intent`.

#![allow(clippy::unwrap_used)] // benchmark set-up: a failure is a broken benchmark

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use ztnic_intent::synthetic::{Shape, deployment};
use ztnic_intent::{Engine, acl_entries};

const SHAPE: Shape = Shape {
    apps: 500,
    versions: 2,
    instances: 20,
    hosts: 100,
    fanout: 5,
};

fn report() {
    let f = deployment(SHAPE);
    let t0 = Instant::now();
    let e = Engine::from_file(&f).unwrap();
    let hosts: Vec<String> = e.hosts().map(|(h, _)| h.clone()).collect();
    let states: Vec<_> = hosts.iter().map(|h| e.nic_state(h)).collect();
    let compile = t0.elapsed();
    let t1 = Instant::now();
    let acl = acl_entries(&f);
    let acl_time = t1.elapsed();
    let policy: usize = states
        .iter()
        .map(|s| s.rules.len() + s.ctx_epoch.len())
        .sum();
    let endpoints: usize = states
        .iter()
        .map(|s| s.vport_ctx.len() + s.local_ep.len() + s.remote_ep.len())
        .sum();
    let workloads = SHAPE.apps * SHAPE.versions;
    println!(
        "deployment: {workloads} workloads × {} instances = {} instances on {} NICs, {} intents",
        SHAPE.instances,
        workloads * SHAPE.instances,
        SHAPE.hosts,
        f.intents.len()
    );
    println!(
        "ztnic: {} contexts, {} rules; over all NICs {} policy entries (rules + ctx_epoch) and {} endpoint entries; compiled in {:.1} ms",
        e.contexts().count(),
        e.rules().len(),
        policy,
        endpoints,
        compile.as_secs_f64() * 1e3
    );
    println!(
        "IP/port ACLs for the same intents: {acl} entries over all NICs (counted in {:.1} ms); {:.1}× the ztnic policy entries",
        acl_time.as_secs_f64() * 1e3,
        acl as f64 / policy as f64
    );
}

fn compile(c: &mut Criterion) {
    report();
    let f = deployment(SHAPE);
    let mut g = c.benchmark_group("intent");
    g.sample_size(10);
    g.bench_function("compile_1000_workloads_x20", |b| {
        b.iter(|| black_box(Engine::from_file(&f).unwrap().rules().len()))
    });
    let e = Engine::from_file(&f).unwrap();
    g.bench_function("nic_state_one_host", |b| {
        b.iter(|| black_box(e.nic_state("node-7").entries()))
    });
    g.finish();
}

criterion_group!(benches, compile);
criterion_main!(benches);
