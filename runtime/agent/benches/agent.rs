//! The agent over loopback gRPC, backed by the Verilated NIC:
//! (i) table entries written per second (vport_ctx inserts through the
//! controller's `Nic`), unbatched and in batches, against the agent and against
//! the generic server's in-memory backend; (ii) slow-path latency, from the
//! packet that punts ctx_unknown to the controller's completed ctx_epoch write.
//! Prints figures; asserts nothing about time.
#![allow(clippy::unwrap_used)]

use std::net::IpAddr;
use std::time::{Duration, Instant};
use ztnic_plot::{Chart, Series, cdf, plots_dir};

use ztnic_agent::{Agent, FpgaBackend, SimDevice};
use ztnic_controller::{Controller, Nic, PipelineSource, SlowPathAction};
use ztnic_intent::{Engine, PolicyFile};
use ztnic_model::tables::VportCtx;
use ztnic_model::{Op, PuntReason, Verdict};
use ztnic_p4runtime_server::{InMemoryBackend, P4RuntimeService, ServerConfig};

use ztnic_testkit::fixtures::WEB_DB_POLICY as POLICY;

fn source() -> PipelineSource {
    PipelineSource::new(ztnic_p4tables::ztnic_p4info().unwrap(), Vec::new())
}

async fn agent() -> Agent<SimDevice> {
    Agent::start(
        FpgaBackend::new(SimDevice::new()).unwrap(),
        "127.0.0.1:0".parse().unwrap(),
        ServerConfig::default(),
        false,
    )
    .await
    .unwrap()
}

async fn memory_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service = P4RuntimeService::new(InMemoryBackend::new(), ServerConfig::default());
    tokio::spawn(service.serve(listener, std::future::pending()));
    format!("http://{addr}")
}

fn vport_ops(n: usize) -> Vec<Op> {
    (0..n)
        .map(|i| {
            let i = i as u32;
            Op::SetVportCtx(VportCtx {
                port: 1 + (i % 8) as u16,
                ip: IpAddr::from([10, 2, (i >> 8) as u8, i as u8]),
                ctx: 256 + i % 64,
                zone: 0,
            })
        })
        .collect()
}

/// Writes `ops` into a fresh pipeline at `endpoint` with `batch` updates per
/// Write; entries per second.
async fn write_rate(endpoint: &str, ops: &[Op], batch: usize) -> f64 {
    let mut nic = Nic::connect("bench", endpoint, 1, 1, &source())
        .await
        .unwrap();
    nic.set_batch_size(batch);
    let t = Instant::now();
    let c = nic.apply_ops(ops).await.unwrap();
    let dt = t.elapsed().as_secs_f64();
    assert_eq!(c.inserts, ops.len());
    ops.len() as f64 / dt
}

fn tcp_syn(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16) -> Vec<u8> {
    ztnic_testkit::frames::Tcp::syn(src, dst, sport, dport).frame()
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn slow_path(k: usize) -> (Vec<f64>, Vec<f64>) {
    let a = agent().await;
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
    let web = c.engine().context_of("web").unwrap().id;
    let (mut record, mut wall) = (Vec::new(), Vec::new());
    for i in 0..k {
        // the controller's record knows the entry is gone (deleted through its
        // own NIC): a delete it does not know of is not repaired (see e2e_control)
        c.nic_mut("node-1")
            .unwrap()
            .apply_ops(&[Op::DeleteCtxEpoch { ctx: web }])
            .await
            .unwrap();
        c.take_slow_path_log();
        let syn = tcp_syn([10, 1, 0, 1], [10, 1, 0, 9], 20_000 + i as u16, 5432);
        let sent = Instant::now();
        let o = a.with_backend(|b| {
            b.device()
                .send(1_000 * (i as u64 + 1), &[(1, syn.clone())])
                .unwrap()
        });
        assert!(matches!(
            o[0].verdict,
            Verdict::Punt {
                reason: PuntReason::CtxUnknown,
                ..
            }
        ));
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut installed = None;
        let mut reinjected = false;
        while installed.is_none() || !reinjected {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(Some((host, ev, received))) = tokio::time::timeout(left, c.next_event()).await
            else {
                panic!("slow path round {i} did not finish");
            };
            c.handle_event_at(&host, ev, received).await.unwrap();
            for r in c.take_slow_path_log() {
                match r.action {
                    SlowPathAction::CtxEpochInstalled { ctx, .. } if ctx == web => {
                        installed = Some(r.clone())
                    }
                    SlowPathAction::Reinjected { .. } => reinjected = true,
                    _ => {}
                }
            }
        }
        let r = installed.unwrap();
        record.push(r.latency().as_secs_f64() * 1e3);
        wall.push(r.done.duration_since(sent).as_secs_f64() * 1e3);
        // the re-injected SYN's outcome
        let until = Instant::now() + Duration::from_secs(5);
        loop {
            let got = a.with_backend(|b| b.device().take_injected());
            if !got.is_empty() {
                assert!(matches!(got[0].verdict, Verdict::Forward { port: 3, .. }));
                break;
            }
            assert!(Instant::now() < until, "the re-injected SYN had no outcome");
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        a.with_backend(|b| b.device().take_output());
        if (i + 1) % 50 == 0 {
            eprintln!("  slow path: {}/{k} rounds", i + 1);
        }
    }
    a.stop().await;
    (record, wall)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let started = Instant::now();
    rt.block_on(async {
        let geo = {
            let a = agent().await;
            let g = a.with_backend(|b| b.driver().geometry());
            a.stop().await;
            g
        };
        let capacity = 4usize << geo.vport_ctx_log2;
        let n = (capacity * 3 / 8).min(2000);
        eprintln!(
            "vport_ctx: 4 ways x 2^{} buckets = {capacity} entries; writing {n} per run",
            geo.vport_ctx_log2
        );
        let ops = vport_ops(n);
        let mut rows = Vec::new();
        let mut clocks_per_entry = 0.0;
        for batch in [1usize, 100, 500] {
            let a = agent().await;
            eprintln!("  writing {n} entries into the agent, batch {batch} ...");
            let c0 = a.with_backend(|b| b.device().nic().cycles());
            let fpga = write_rate(&a.endpoint(), &ops, batch).await;
            let c1 = a.with_backend(|b| b.device().nic().cycles());
            clocks_per_entry = (c1 - c0) as f64 / n as f64;
            let held = a.with_backend(|b| b.driver().read_back().unwrap().len());
            assert!(held >= n, "the agent holds {held} entries");
            a.stop().await;
            eprintln!(
                "  writing {n} entries into the agent over a register file, batch {batch} ..."
            );
            let file = Agent::start(
                FpgaBackend::new(ztnic_agent::RegFileDevice::new(&geo)).unwrap(),
                "127.0.0.1:0".parse().unwrap(),
                ServerConfig::default(),
                false,
            )
            .await
            .unwrap();
            let soft = write_rate(&file.endpoint(), &ops, batch).await;
            file.stop().await;
            eprintln!("  writing {n} entries into the in-memory server, batch {batch} ...");
            let mem = write_rate(&memory_server().await, &ops, batch).await;
            rows.push((batch, fpga, soft, mem));
        }
        println!();
        println!("(i) vport_ctx entries written over loopback gRPC (controller Nic), N = {n}");
        println!(
            "{:<12} {:>16} {:>20} {:>15} {:>12}",
            "batch", "agent (RTL) e/s", "agent (reg file) e/s", "in-memory e/s", "mem/regfile"
        );
        for (b, f, r, m) in &rows {
            let label = if *b == 1 {
                "unbatched".to_string()
            } else {
                b.to_string()
            };
            println!("{label:<12} {f:>16.0} {r:>20.0} {m:>15.0} {:>11.1}x", m / r);
        }
        println!(
            "the Verilated NIC spends {clocks_per_entry:.0} simulated clocks per entry written \
             (AXI4-Lite accesses and the table window): at 250 MHz that is {:.2} µs, so the \
             RTL column is bound by simulation speed; the register-file column is the agent's \
             and the driver's own cost",
            clocks_per_entry / 250.0
        );

        let k = 200;
        eprintln!("  slow path: {k} rounds ...");
        let (mut rec, mut wall) = slow_path(k).await;
        rec.sort_by(f64::total_cmp);
        wall.sort_by(f64::total_cmp);
        println!();
        println!("(ii) slow path, ctx_unknown punt → ctx_epoch installed, K = {k} (ms)");
        println!("{:<36} {:>8} {:>8} {:>8}", "", "p50", "p99", "max");
        for (what, v) in [
            ("controller: event received → done", &rec),
            ("wall clock: packet sent → done", &wall),
        ] {
            println!(
                "{what:<36} {:>8.2} {:>8.2} {:>8.2}",
                pct(v, 0.5),
                pct(v, 0.99),
                v[v.len() - 1]
            );
        }
        let chart = Chart::new(
            format!("Slow path over the Verilated agent: ctx_unknown punt to ctx_epoch installed (K = {k})"),
            "milliseconds",
            "fraction of rounds done",
        )
        .with(Series::new("controller: event received to entry written", cdf(&rec)))
        .with(Series::new("wall clock: packet sent to entry written", cdf(&wall)));
        let path = plots_dir().join("slow-path-latency.svg");
        chart.write(&path).unwrap();
        println!("chart: {}", path.display());
    });
    println!();
    println!("total bench time {:.1} s", started.elapsed().as_secs_f64());
}
