//! `ztnic-fleet-bench`: the controller service (`ztnic_controller::service`) over
//! a fleet of agents, with the desired state in etcd — issue 14's fleet figures.
//!
//! - `ZTNIC_FLEET_NICS` agents (default 1,000), all in this process: each a
//!   P4Runtime server on its own loopback port over a register-file device
//!   ([`RegFileDevice`], no Verilator), behind a probe that stamps the device's
//!   register writes;
//! - a policy generated here: one host per NIC, 20 workloads of 100 instances,
//!   instance `j` of workload `k` on host `10 j + k mod 10` (each workload on 100
//!   hosts, two workloads per host), workload `k` may call `k + 1` (tcp/8080);
//! - etcd started here in a temporary directory, the policy and every NIC's
//!   registration written as one transaction, then one controller service.
//!
//! Prints one line per figure:
//!
//! - `fleet relabel: nics=N hosts_with_instances=100 p50_ms=X p99_ms=Y`: `w-0`
//!   (instances on 100 hosts) relabelled `ZTNIC_FLEET_ROUNDS` times (default 5);
//!   per NIC, from the etcd commit returning to the NIC's last register write of
//!   the change (a relabel writes every NIC: the new context's `ctx_epoch` entry
//!   and the policy generation, which is written last). The stamps are read once
//!   the service reports `Converged` at that revision with nothing pending, and
//!   every agent is checked to hold the new context's `ctx_epoch` entry.
//! - `fleet new instance: reachable_ms=X`: an instance of `w-1` added; from the
//!   commit to the last endpoint-table write (`vport_ctx`, `local_ep`,
//!   `remote_ep`, remote host routes) on the last of the NICs whose desired
//!   endpoints changed (its host, and every host with a workload that may call
//!   it or be called by it).
//! - `fleet restart: nics=N resync_s=X writes=W`: the controller killed (its
//!   task dropped: no resignation, its lease runs out), a new one started; from
//!   its election to `Converged` with every NIC connected and nothing pending
//!   (it connects to every NIC and reads each back); `writes` counts the table
//!   and configuration register writes the resync made on all devices (0: it
//!   rewrote nothing).
//!
//! Asserts nothing about time. `cargo bench -p ztnic-agent --no-default-features
//! --bench ztnic-fleet-bench` (`ZTNIC_FLEET_NICS=100` for a smaller fleet;
//! `ZTNIC_FLEET_PARALLEL`, NICs converged at once, default 64;
//! `ZTNIC_BENCH_WORKERS`, the runtime's worker threads, default 2). Progress
//! goes to stderr.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};
use tokio::task::JoinHandle;
use ztnic_agent::{Agent, Device, DeviceError, FpgaBackend, RegFileDevice, regfile::RegFileError};
use ztnic_controller::PipelineSource;
use ztnic_controller::service::{ServiceError, ServiceEvent, ServiceOptions, run};
use ztnic_fpga::regmap::{events, table_cmd_enum, table_enum, tables};
use ztnic_fpga::{Geometry, RegisterAccess};
use ztnic_intent::{Engine, Host, Instance, Intent, Labels, Peer, PolicyFile, Workload};
use ztnic_model::tables::CtxEpoch;
use ztnic_model::{Action, Op, PortRange, ProtoMatch};
use ztnic_p4runtime_server::{Backend, ServerConfig};
use ztnic_store::{DEFAULT_PREFIX, Desired, Store};
use ztnic_testkit::etcd::EtcdServer;

/// Workloads in the policy; each has one instance on every tenth host (100
/// hosts at 1,000 NICs).
const WORKLOADS: usize = 20;
/// Bounds every wait (a hang guard, not a measurement).
const WAIT: Duration = Duration::from_secs(900);

// ------------------------------------------------------------------ the probe

/// When a device's state was last written, and how often.
#[derive(Default)]
struct Stamps {
    /// ns after `epoch` of the last table write or configuration register write.
    last_any: AtomicU64,
    /// ns after `epoch` of the last write to an endpoint table.
    last_ep: AtomicU64,
    /// Table writes and configuration register writes.
    writes: AtomicU64,
}

/// A [`RegFileDevice`] that stamps the writes that change what the device
/// holds: table write commands (the window's data, select and index registers
/// only stage one) and every other register write except the event FIFO's pop.
struct Probe {
    inner: RegFileDevice,
    stamps: Arc<Stamps>,
    epoch: Instant,
}

fn ns_since(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_nanos())
        .unwrap_or(u64::MAX)
        .max(1)
}

impl RegisterAccess for Probe {
    type Error = RegFileError;

    fn read32(&mut self, addr: u32) -> Result<u32, RegFileError> {
        self.inner.read32(addr)
    }

    fn write32(&mut self, addr: u32, value: u32) -> Result<(), RegFileError> {
        let staging = addr == tables::SELECT
            || addr == tables::INDEX
            || (tables::DATA..tables::DATA + 4 * tables::DATA_COUNT).contains(&addr)
            || addr == events::POP;
        let table_write = addr == tables::CMD && value == table_cmd_enum::WRITE;
        if table_write || (!staging && addr != tables::CMD) {
            let now = ns_since(self.epoch);
            self.stamps.last_any.store(now, Ordering::Release);
            self.stamps.writes.fetch_add(1, Ordering::Relaxed);
            if table_write {
                let table = self.inner.read32(tables::SELECT)?;
                if matches!(
                    table,
                    table_enum::VPORT_CTX
                        | table_enum::LOCAL_EP
                        | table_enum::REMOTE_EP
                        | table_enum::REMOTE_HOST
                ) {
                    self.stamps.last_ep.store(now, Ordering::Release);
                }
            }
        }
        self.inner.write32(addr, value)
    }

    fn pop_event_words(&mut self) -> Result<Option<[u32; 4]>, RegFileError> {
        self.inner.pop_event_words()
    }
}

impl Device for Probe {
    fn inject(&mut self, frame: &[u8]) -> Result<(), DeviceError> {
        self.inner.inject(frame)
    }

    fn take_punts(&mut self) -> Result<Vec<Vec<u8>>, DeviceError> {
        self.inner.take_punts()
    }

    fn set_cpu_port(&mut self, port: u16) {
        self.inner.set_cpu_port(port);
    }

    fn reset(&mut self) -> Result<bool, DeviceError> {
        self.inner.reset()
    }

    fn describe(&self) -> String {
        format!("{} (probed)", self.inner.describe())
    }

    fn event_signal(&self) -> Option<Arc<Notify>> {
        self.inner.event_signal()
    }
}

/// One NIC of the fleet.
struct Nic {
    name: String,
    agent: Agent<Probe>,
    stamps: Arc<Stamps>,
}

impl Nic {
    fn writes(&self) -> u64 {
        self.stamps.writes.load(Ordering::Relaxed)
    }

    fn last_any(&self, epoch: Instant) -> Instant {
        epoch + Duration::from_nanos(self.stamps.last_any.load(Ordering::Acquire))
    }

    fn last_ep(&self, epoch: Instant) -> Instant {
        epoch + Duration::from_nanos(self.stamps.last_ep.load(Ordering::Acquire))
    }
}

/// The register file's default card with a small `vport_ctx` table (two
/// instances per host; a thousand devices are cleared at pipeline load) and
/// room for a host's routes to every instance it may talk to.
fn geometry() -> Geometry {
    Geometry {
        vport_ctx_log2: 8,
        remote_host_log2: 11,
        ..RegFileDevice::default_geometry()
    }
}

async fn start_nic(i: usize, epoch: Instant) -> Nic {
    let stamps = Arc::new(Stamps::default());
    let dev = Probe {
        inner: RegFileDevice::new(&geometry()),
        stamps: stamps.clone(),
        epoch,
    };
    let agent = Agent::start(
        FpgaBackend::new(dev).unwrap(),
        "127.0.0.1:0".parse().unwrap(),
        ServerConfig::default(),
        false,
    )
    .await
    .unwrap();
    Nic {
        name: host_name(i),
        agent,
        stamps,
    }
}

// ------------------------------------------------------------------ the policy

fn host_name(i: usize) -> String {
    format!("node-{i}")
}

fn labels(pairs: &[(&str, String)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

/// The fleet's policy over `nics` hosts: [`WORKLOADS`] workloads, each with
/// `nics / 10` instances on as many hosts (every host has two workloads).
fn policy(nics: usize) -> PolicyFile {
    let hosts: Vec<Host> = (0..nics)
        .map(|h| Host {
            name: host_name(h),
            vtep: Ipv4Addr::new(192, 168, (h / 250) as u8, (h % 250 + 1) as u8),
        })
        .collect();
    let per = (nics / 10).max(1);
    let workloads = (0..WORKLOADS)
        .map(|k| Workload {
            name: format!("w-{k}"),
            labels: labels(&[("app", format!("w-{k}"))]),
            instances: (0..per)
                .map(|j| {
                    let host = (10 * j + k % 10) % nics;
                    Instance {
                        ip: IpAddr::V4(Ipv4Addr::new(
                            10,
                            k as u8,
                            (j / 250) as u8,
                            (j % 250 + 1) as u8,
                        )),
                        host: host_name(host),
                        vport: 1 + (k / 10) as u16,
                    }
                })
                .collect(),
        })
        .collect();
    let intents = (0..WORKLOADS)
        .map(|k| Intent {
            name: format!("w-{k}-calls-w-{}", (k + 1) % WORKLOADS),
            from: Peer::Labels(labels(&[("app", format!("w-{k}"))])),
            to: Peer::Labels(labels(&[("app", format!("w-{}", (k + 1) % WORKLOADS))])),
            proto: ProtoMatch(Some(6)),
            ports: PortRange { lo: 8080, hi: 8080 },
            action: Action::Allow,
            priority: 100,
        })
        .collect();
    PolicyFile {
        hosts,
        workloads,
        intents,
    }
}

// ------------------------------------------------------------------ the service

struct Running {
    task: JoinHandle<Result<(), ServiceError>>,
    events: UnboundedReceiver<ServiceEvent>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

fn start_controller(etcd: &EtcdServer, name: &str, parallel: usize) -> Running {
    let pipeline = PipelineSource::new(ztnic_p4tables::ztnic_p4info().unwrap(), Vec::new());
    let mut opts = ServiceOptions::new(vec![etcd.endpoint()], name, pipeline);
    opts.lease_ttl_s = 2;
    opts.parallel = parallel;
    let (tx, events) = unbounded_channel();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(run(opts, Some(tx), async {
        let _ = stopped.await;
    }));
    Running {
        task,
        events,
        stop: Some(stop),
    }
}

impl Running {
    async fn next(&mut self) -> ServiceEvent {
        tokio::time::timeout(WAIT, self.events.recv())
            .await
            .expect("a service event in time")
            .expect("the service is running")
    }

    async fn elected(&mut self) -> Instant {
        match self.next().await {
            ServiceEvent::Elected { .. } => Instant::now(),
            e => panic!("expected an election, got {e:?}"),
        }
    }

    /// Waits until all `nics` hold the state of `revision` or later.
    async fn converged(&mut self, revision: i64, nics: usize) -> Instant {
        loop {
            match self.next().await {
                ServiceEvent::Converged {
                    revision: r,
                    nics: n,
                    pending,
                } => {
                    if r >= revision && n == nics && pending == 0 {
                        return Instant::now();
                    }
                    eprintln!("  (converged at revision {r}: {n} NICs, {pending} pending)");
                }
                ServiceEvent::Stepped => panic!("the controller stepped down"),
                ServiceEvent::Elected { .. } => {}
            }
        }
    }

    async fn shutdown(mut self) {
        let _ = self.stop.take().map(|s| s.send(()));
        let r = tokio::time::timeout(WAIT, self.task)
            .await
            .expect("the service stops in time")
            .expect("the service task");
        assert!(r.is_ok(), "a stopped service ends cleanly: {r:?}");
    }
}

// ------------------------------------------------------------------ the bench

fn pct(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Reports on stderr every 2 s until `done` is dropped: how many NICs have had
/// state written since `base` (per NIC write counts).
fn progress(what: &'static str, nics: &Arc<Vec<Nic>>) -> tokio::sync::oneshot::Sender<()> {
    let (tx, mut rx) = tokio::sync::oneshot::channel::<()>();
    let nics = nics.clone();
    let base: Vec<u64> = nics.iter().map(Nic::writes).collect();
    let started = Instant::now();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = &mut rx => return,
                _ = tokio::time::sleep(Duration::from_secs(2)) => {}
            }
            let touched = nics
                .iter()
                .zip(&base)
                .filter(|(n, b)| n.writes() > **b)
                .count();
            let writes: u64 = nics.iter().zip(&base).map(|(n, b)| n.writes() - b).sum();
            eprintln!(
                "  {what}: {:.0} s, {touched}/{} NICs written, {writes} register writes",
                started.elapsed().as_secs_f64(),
                nics.len()
            );
        }
    });
    tx
}

/// Commits `change` to the desired state: the commit's revision, when the
/// commit returned, and the engines before and after.
async fn commit(
    store: &mut Store,
    change: impl FnOnce(&mut Desired),
) -> (i64, Instant, Engine, Engine) {
    let base = store.snapshot().await.unwrap();
    let mut next = base.desired.clone();
    change(&mut next);
    let c = store.commit(&base, next.clone()).await.unwrap();
    let at = Instant::now();
    next.compile().unwrap();
    (
        c.revision,
        at,
        base.desired.engine.unwrap_or_default(),
        next.engine.unwrap(),
    )
}

async fn bench(nics_n: usize, rounds: usize, parallel: usize) {
    let epoch = Instant::now();
    let Some(etcd) = EtcdServer::start_with(&[
        "--max-txn-ops",
        "100000",
        "--max-request-bytes",
        "67108864",
        "--quota-backend-bytes",
        "8589934592",
    ]) else {
        eprintln!("ztnic-fleet-bench needs etcd (tools/setup installs etcd-server)");
        std::process::exit(2);
    };
    eprintln!("etcd at {}; starting {nics_n} agents", etcd.endpoint());
    let t = Instant::now();
    let mut nics = Vec::with_capacity(nics_n);
    for i in 0..nics_n {
        nics.push(start_nic(i, epoch).await);
    }
    let nics = Arc::new(nics);
    eprintln!(
        "  {nics_n} agents listening ({:.1} s)",
        t.elapsed().as_secs_f64()
    );

    // the policy and every registration in one transaction
    let mut store = Store::connect(&[etcd.endpoint()], DEFAULT_PREFIX)
        .await
        .unwrap();
    let f = policy(nics_n);
    let hosts_with_w0: BTreeSet<String> = f.workloads[0]
        .instances
        .iter()
        .map(|i| i.host.clone())
        .collect();
    let t = Instant::now();
    let (rev, _, _, engine) = commit(&mut store, |d| {
        d.apply_policy(&f).unwrap();
        for n in nics.iter() {
            d.register_nic(&n.name, &n.agent.addr().to_string(), None)
                .unwrap();
        }
    })
    .await;
    let entries: usize = nics
        .iter()
        .map(|n| engine.nic_state(&n.name).entries())
        .sum();
    eprintln!(
        "desired state written at revision {rev} ({:.1} s): {} hosts, {} instances, {entries} entries over all NICs",
        t.elapsed().as_secs_f64(),
        f.hosts.len(),
        f.workloads.iter().map(|w| w.instances.len()).sum::<usize>()
    );

    // the first controller connects and converges every NIC
    let t = Instant::now();
    let done = progress("initial sync", &nics);
    let mut ctl = start_controller(&etcd, "ctl-a", parallel);
    ctl.elected().await;
    ctl.converged(rev, nics_n).await;
    drop(done);
    eprintln!(
        "initial sync: {nics_n} NICs converged ({:.1} s)",
        t.elapsed().as_secs_f64()
    );

    // relabels of w-0
    let program = ztnic_p4tables::ztnic_program().unwrap();
    let mut lat = Vec::new();
    for round in 0..rounds {
        let before: Vec<u64> = nics.iter().map(Nic::writes).collect();
        let done = progress("relabel", &nics);
        let (rev, at, _, engine) = commit(&mut store, |d| {
            d.relabel(
                "w-0",
                &[
                    ("app".to_string(), "w-0".to_string()),
                    ("rollout".to_string(), format!("r{round}")),
                ],
            )
            .unwrap();
        })
        .await;
        let converged = ctl.converged(rev, nics_n).await;
        drop(done);
        let ctx = engine.context_of("w-0").unwrap().clone();
        let key = program
            .entry(&Op::SetCtxEpoch(CtxEpoch {
                ctx: ctx.id,
                epoch: ctx.epoch,
            }))
            .unwrap();
        let mut written = 0;
        for (n, b) in nics.iter().zip(&before) {
            assert!(
                n.agent.with_backend(|be| be.entry(&key)).is_some(),
                "{} holds the new context {} of w-0",
                n.name,
                ctx.id
            );
            if n.writes() > *b {
                written += 1;
                lat.push(n.last_any(epoch).duration_since(at).as_secs_f64() * 1e3);
            }
        }
        eprintln!(
            "relabel {}/{rounds}: revision {rev}, context {}, {written} NICs written, converged event after {:.0} ms",
            round + 1,
            ctx.id,
            converged.duration_since(at).as_secs_f64() * 1e3
        );
    }
    lat.sort_by(f64::total_cmp);
    println!(
        "fleet relabel: nics={nics_n} hosts_with_instances={} p50_ms={:.1} p99_ms={:.1}",
        hosts_with_w0.len(),
        pct(&lat, 0.50),
        pct(&lat, 0.99)
    );
    eprintln!(
        "  ({} per-NIC samples over {rounds} relabels; min {:.1} ms, max {:.1} ms)",
        lat.len(),
        lat[0],
        lat[lat.len() - 1]
    );

    // a new instance of w-1 on a host that has none of it
    let host = host_name(5 % nics_n);
    let ip = IpAddr::V4(Ipv4Addr::new(10, 99, 0, 1));
    let (rev, at, old, new) = commit(&mut store, |d| {
        d.add_instance("w-1", &host, ip, None).unwrap();
    })
    .await;
    ctl.converged(rev, nics_n).await;
    let need: Vec<&Nic> = nics
        .iter()
        .filter(|n| {
            let (a, b) = (old.nic_state(&n.name), new.nic_state(&n.name));
            a.remote_ep != b.remote_ep || a.local_ep != b.local_ep || a.vport_ctx != b.vport_ctx
        })
        .collect();
    let mut reachable = Duration::ZERO;
    for n in &need {
        let last = n.last_ep(epoch);
        assert!(last > at, "{} got its new endpoint entries", n.name);
        reachable = reachable.max(last.duration_since(at));
    }
    println!(
        "fleet new instance: reachable_ms={:.1}",
        reachable.as_secs_f64() * 1e3
    );
    eprintln!(
        "  ({ip} of w-1 on {host}: {} NICs needed entries)",
        need.len()
    );

    // a restart: the leader dies, a new controller takes over and resyncs
    let before: u64 = nics.iter().map(Nic::writes).sum();
    let killed = Instant::now();
    ctl.task.abort();
    let done = progress("restart", &nics);
    let mut ctl = start_controller(&etcd, "ctl-b", parallel);
    let elected = ctl.elected().await;
    eprintln!(
        "restart: new controller elected {:.1} s after the kill (lease TTL 2 s)",
        elected.duration_since(killed).as_secs_f64()
    );
    let converged = ctl.converged(rev, nics_n).await;
    drop(done);
    let writes: u64 = nics.iter().map(Nic::writes).sum::<u64>() - before;
    println!(
        "fleet restart: nics={nics_n} resync_s={:.2} writes={writes}",
        converged.duration_since(elected).as_secs_f64()
    );
    eprintln!(
        "  (kill to converged: {:.2} s)",
        converged.duration_since(killed).as_secs_f64()
    );
    ctl.shutdown().await;
    // the agents stop with the runtime; etcd is killed and its directory removed
    drop(nics);
    drop(etcd);
}

fn main() {
    let nics = env("ZTNIC_FLEET_NICS", 1000).max(10);
    let rounds = env("ZTNIC_FLEET_ROUNDS", 5).max(1);
    let parallel = env("ZTNIC_FLEET_PARALLEL", 64).max(1);
    let workers = env("ZTNIC_BENCH_WORKERS", 2).max(1);
    raise_fd_limit(nics);
    // RUST_LOG=info (or finer) shows the service's and the agents' logs on stderr
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(bench(nics, rounds, parallel));
}

/// Every NIC takes a listening socket and two ends of a connection: raises the
/// soft limit on open files to the hard limit when that is short.
fn raise_fd_limit(nics: usize) {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a valid pointer to an rlimit.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return;
        }
        let want = (nics as libc::rlim_t) * 4 + 256;
        if lim.rlim_cur < want && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = want.min(lim.rlim_max);
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}
