//! `ztnic-agent-bench`: the agent over the register-file device
//! ([`RegFileDevice`], no Verilator), through loopback gRPC:
//! (a) slow-path latency, from the device raising a `ctx_unknown` event to the
//! `ctx_epoch` entry the controller installs in answer being written to the
//! device; (b) P4Runtime Write throughput, `vport_ctx` inserts in batches.
//! Prints `slow path: p50_us=X p99_us=Y` and
//! `p4runtime writes: entries_per_s=N batch=B`; asserts nothing about time.
//!
//! `cargo bench -p ztnic-agent --no-default-features --bench ztnic-agent-bench`
//! (arguments: `[slow-path rounds] [write entries] [batch]`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ztnic_agent::{Agent, FpgaBackend, RegFileDevice, RegFileHandle};
use ztnic_controller::{Controller, Nic, PipelineSource, SlowPathAction};
use ztnic_fpga::Event;
use ztnic_fpga::regmap::event_kind_enum;
use ztnic_intent::{Engine, PolicyFile};
use ztnic_model::tables::VportCtx;
use ztnic_model::{Op, PuntReason};
use ztnic_p4runtime::P4InfoIndex;
use ztnic_p4runtime::v1::{ForwardingPipelineConfig, TableEntry, entity::Entity, update::Type};
use ztnic_p4runtime::validate::{self, WriteOp};
use ztnic_p4runtime_client::{Atomicity, ClientConfig, P4RuntimeClient, update};
use ztnic_p4runtime_server::{Backend, Pipeline, ServerConfig};
use ztnic_p4tables::Program;

use ztnic_testkit::fixtures::WEB_DB_POLICY as POLICY;

fn source() -> PipelineSource {
    PipelineSource::new(ztnic_p4tables::ztnic_p4info().unwrap(), Vec::new())
}

async fn agent() -> (Agent<RegFileDevice>, RegFileHandle) {
    let dev = RegFileDevice::new(&RegFileDevice::default_geometry());
    let handle = dev.handle();
    let a = Agent::start(
        FpgaBackend::new(dev).unwrap(),
        "127.0.0.1:0".parse().unwrap(),
        ServerConfig::default(),
        false,
    )
    .await
    .unwrap();
    (a, handle)
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// `rounds` slow-path rounds: latencies in µs (event to entry written; event
/// to the digest in the controller's hands), each sorted.
async fn slow_path(rounds: usize) -> (Vec<f64>, Vec<f64>) {
    let (a, dev) = agent().await;
    let engine = Engine::from_file(&PolicyFile::from_yaml(POLICY).unwrap()).unwrap();
    let mut c = Controller::new(engine);
    c.add_nic(
        "node-1",
        Nic::connect("node-1", &a.endpoint(), 1, 1, &source())
            .await
            .unwrap(),
    )
    .unwrap();
    c.sync_all().await.unwrap();
    let web = c.engine().context_of("web").unwrap().clone();
    let mut lat = Vec::with_capacity(rounds);
    let mut to_controller = Vec::with_capacity(rounds);
    for i in 0..rounds {
        // the controller's record knows the entry is gone (deleted through its
        // own NIC), so the event makes it install the entry again
        c.nic_mut("node-1")
            .unwrap()
            .apply_ops(&[Op::DeleteCtxEpoch { ctx: web.id }])
            .await
            .unwrap();
        c.take_slow_path_log();
        let raised = Instant::now();
        dev.raise_event(&Event {
            kind: event_kind_enum::CTX_UNKNOWN as u8,
            reason: PuntReason::CtxUnknown.code(),
            port: 1 + (i % 1000) as u16,
            ctx: web.id,
            epoch: web.epoch,
            hash: 0,
            time: i as u32,
        });
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut first = None;
        'round: loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(Some((host, ev, received))) = tokio::time::timeout(left, c.next_event()).await
            else {
                panic!("slow path round {i} did not finish");
            };
            first.get_or_insert(received);
            c.handle_event_at(&host, ev, received).await.unwrap();
            for r in c.take_slow_path_log() {
                if matches!(r.action, SlowPathAction::CtxEpochInstalled { ctx, .. } if ctx == web.id)
                {
                    break 'round;
                }
            }
        }
        let written = dev.last_table_write().unwrap();
        lat.push(written.duration_since(raised).as_secs_f64() * 1e6);
        if let Some(r) = first {
            to_controller.push(r.duration_since(raised).as_secs_f64() * 1e6);
        }
    }
    a.stop().await;
    lat.sort_by(f64::total_cmp);
    to_controller.sort_by(f64::total_cmp);
    (lat, to_controller)
}

fn vport_ops(n: usize) -> Vec<Op> {
    (0..n)
        .map(|i| {
            let i = i as u32;
            Op::SetVportCtx(VportCtx {
                port: 1 + (i % 8) as u16,
                ip: IpAddr::from([10, (i >> 16) as u8 | 0x80, (i >> 8) as u8, i as u8]),
                ctx: 256 + i % 64,
                zone: 0,
            })
        })
        .collect()
}

/// Entries per second writing `n` vport_ctx entries, `batch` per Write: the
/// updates are encoded before the clock starts (the agent's rate, not the
/// controller's planning), each Write awaits its answer before the next.
async fn write_rate(n: usize, batch: usize) -> f64 {
    let (a, dev) = agent().await;
    let mut client = P4RuntimeClient::connect(ClientConfig::new(a.endpoint(), 1, 1))
        .await
        .unwrap();
    client
        .set_pipeline(ztnic_p4tables::ztnic_p4info().unwrap(), Vec::new(), 1)
        .await
        .unwrap();
    let program = Program::new(client.index().unwrap().clone()).unwrap();
    let updates: Vec<_> = vport_ops(n)
        .iter()
        .map(|op| update(Type::Insert, Entity::TableEntry(program.entry(op).unwrap())))
        .collect();
    let before = dev.table_writes();
    let t = Instant::now();
    client
        .write_batched(updates, batch, Atomicity::ContinueOnError)
        .await
        .unwrap();
    let dt = t.elapsed().as_secs_f64();
    assert!(
        dev.table_writes() - before >= n as u64,
        "every entry reached the device"
    );
    drop(client);
    a.stop().await;
    n as f64 / dt
}

/// Where the agent's own time goes, per entry in ns, on one core and in-process
/// (no gRPC), over `n` vport_ctx entries.
struct Share {
    /// The server core's check of the update (`validate::table_entry`).
    validate: f64,
    /// The backend's insert as a whole (`Backend::insert_entry`) ...
    insert: f64,
    /// ... of which: the entry's key (`entry_key`) ...
    key: f64,
    /// ... the entry decoded into its `Op` (`Program::decode`) ...
    decode: f64,
    /// ... and the driver's placement and register writes (`Driver::apply`).
    driver: f64,
}

fn per_entry(t: Instant, n: usize) -> f64 {
    t.elapsed().as_secs_f64() * 1e9 / n as f64
}

fn agent_share(n: usize) -> Share {
    let info = ztnic_p4tables::ztnic_p4info().unwrap();
    let index = Arc::new(P4InfoIndex::new(info.clone()).unwrap());
    let program = Program::new(index.clone()).unwrap();
    let ops = vport_ops(n);
    let entries: Vec<TableEntry> = ops.iter().map(|op| program.entry(op).unwrap()).collect();
    let t = Instant::now();
    let checked: Vec<TableEntry> = entries
        .iter()
        .map(|e| validate::table_entry(&index, e, WriteOp::Insert).unwrap())
        .collect();
    let validate = per_entry(t, n);
    let pipeline = Pipeline {
        config: ForwardingPipelineConfig {
            p4info: Some(info),
            ..Default::default()
        },
        index,
    };
    let backend = || {
        let dev = RegFileDevice::new(&RegFileDevice::default_geometry());
        let mut b = FpgaBackend::new(dev).unwrap();
        b.set_pipeline(&pipeline).unwrap();
        b
    };
    let mut b = backend();
    let t = Instant::now();
    for e in &checked {
        b.insert_entry(e).unwrap();
    }
    let insert = per_entry(t, n);
    let t = Instant::now();
    let keys: Vec<Vec<u8>> = checked.iter().map(ztnic_p4runtime::entry_key).collect();
    let key = per_entry(t, n);
    let t = Instant::now();
    let decoded: Vec<Op> = checked.iter().map(|e| program.decode(e).unwrap()).collect();
    let decode = per_entry(t, n);
    let mut b = backend();
    let drv = b.driver();
    let t = Instant::now();
    for op in &decoded {
        drv.apply(op).unwrap();
    }
    let driver = per_entry(t, n);
    drop((keys, decoded));
    Share {
        validate,
        insert,
        key,
        decode,
        driver,
    }
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let rounds = args.first().copied().unwrap_or(10_000);
    let entries = args.get(1).copied().unwrap_or(100_000);
    let batch = args.get(2).copied().unwrap_or(10_000);
    // ZTNIC_BENCH_WORKERS: the runtime's worker threads (agent, controller and
    // client share them), 2 by default
    let workers = std::env::var("ZTNIC_BENCH_WORKERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .unwrap();
    // The bench's controller and client run as a task on the runtime's workers,
    // as a service's would, not on the main thread (whose every hand-off to and
    // from the workers is a thread wake-up of its own).
    let bench = async move {
        let (lat, to_controller) = slow_path(rounds).await;
        println!(
            "slow path: p50_us={:.1} p99_us={:.1}",
            pct(&lat, 0.50),
            pct(&lat, 0.99)
        );
        eprintln!(
            "  ({} events; min {:.1} µs, max {:.1} µs)",
            lat.len(),
            lat[0],
            lat[lat.len() - 1]
        );
        eprintln!(
            "  (of which event -> digest at the controller: p50_us={:.1} p99_us={:.1})",
            pct(&to_controller, 0.50),
            pct(&to_controller, 0.99)
        );
        let rate = write_rate(entries, batch).await;
        println!("p4runtime writes: entries_per_s={rate:.0} batch={batch}");
        eprintln!("  ({entries} vport_ctx inserts)");
    };
    rt.block_on(async { tokio::spawn(bench).await.unwrap() });
    let sh = agent_share(entries);
    eprintln!(
        "  (the agent's share, in-process on one core, per entry: validation {:.0} ns + backend insert {:.0} ns = {:.0} entries/s; of the insert: key {:.0} ns, decode {:.0} ns, driver {:.0} ns, the rest the accepted copy stored)",
        sh.validate,
        sh.insert,
        1e9 / (sh.validate + sh.insert),
        sh.key,
        sh.decode,
        sh.driver
    );
}
