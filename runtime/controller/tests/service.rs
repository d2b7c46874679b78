//! The controller service against a real etcd (started per test on loopback in a
//! temporary directory; `SKIPPED: etcd not installed` without one) and in-memory
//! P4Runtime devices: a leader converges every registered NIC and follows changes,
//! a standby takes over when the leader dies, and a controller killed in the middle
//! of a change leaves nothing that a restart does not repair.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};
use tokio::task::JoinHandle;
use ztnic_controller::service::{ServiceError, ServiceEvent, ServiceOptions, run};
use ztnic_controller::{Controller, NicInfo};
use ztnic_store::{DEFAULT_PREFIX, Store};
use ztnic_testkit::etcd::EtcdServer;

use common::{HOSTS, Server, connect_info, pipeline, sockshop};

/// Far above any etcd revision: the checker outranks every controller; each check
/// takes a new, higher one (a controller that took a NIC over after a check holds
/// that check's id + 1).
static CHECKS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

fn checker_election_id() -> u128 {
    let n = CHECKS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    (u128::from(n) << 64) + (1 << 32)
}
/// Bounds every wait (a hang guard, not a measurement).
const WAIT: Duration = Duration::from_secs(60);

struct Running {
    task: JoinHandle<Result<(), ServiceError>>,
    events: UnboundedReceiver<ServiceEvent>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

fn start(etcd: &EtcdServer, name: &str) -> Running {
    start_ttl(etcd, name, 2)
}

fn start_ttl(etcd: &EtcdServer, name: &str, ttl_s: i64) -> Running {
    let mut opts = ServiceOptions::new(vec![etcd.endpoint()], name, pipeline());
    opts.lease_ttl_s = ttl_s;
    opts.retry = Duration::from_millis(200);
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

    async fn elected(&mut self) -> u128 {
        match self.next().await {
            ServiceEvent::Elected { election_id } => election_id,
            e => panic!("expected an election, got {e:?}"),
        }
    }

    /// Waits until every NIC holds the state of `revision` or later.
    async fn converged(&mut self, revision: i64, nics: usize) {
        loop {
            if let ServiceEvent::Converged {
                revision: r,
                nics: n,
                pending,
            } = self.next().await
                && r >= revision
                && n == nics
                && pending == 0
            {
                return;
            }
        }
    }

    /// A crash: the task is dropped mid-flight (no resignation, no lease revoke).
    fn kill(self) {
        self.task.abort();
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

async fn store(etcd: &EtcdServer) -> Store {
    Store::connect(&[etcd.endpoint()], DEFAULT_PREFIX)
        .await
        .expect("connect to the test etcd")
}

fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The Sock Shop in etcd, its three NICs registered; returns the revision.
async fn provision(s: &mut Store, servers: &[Server]) -> i64 {
    let f = sockshop();
    s.update(|d| d.apply_policy(&f))
        .await
        .expect("policy apply");
    let mut rev = 0;
    for (h, srv) in HOSTS.iter().zip(servers) {
        let (c, _) = s
            .update(|d| d.register_nic(h, &srv.addr.to_string(), None))
            .await
            .expect("nic register");
        rev = c.revision;
    }
    rev
}

/// Every device holds exactly the desired state in etcd: a controller that
/// outranks the service reads each back and finds nothing to repair.
async fn assert_devices_are_desired(s: &mut Store, servers: &[Server]) {
    tokio::time::timeout(WAIT, check_devices(s, servers))
        .await
        .expect("the check finishes in time");
}

async fn check_devices(s: &mut Store, servers: &[Server]) {
    let snap = s.snapshot().await.expect("read the desired state");
    let mut c = Controller::new(snap.desired.engine.expect("a compiled engine"));
    let election_id = checker_election_id();
    for (h, srv) in HOSTS.iter().zip(servers) {
        let nic = connect_info(NicInfo {
            name: h.to_string(),
            endpoint: srv.endpoint(),
            device_id: 1,
            election_id,
        })
        .await
        .expect("the checker connects");
        assert!(
            !nic.pipeline_was_set(),
            "{h}: the pipeline was already installed (the service never reloads it)"
        );
        c.add_nic(h, nic).unwrap();
    }
    let r = c.reconcile_all().await.expect("reconcile");
    for (h, n) in &r.nics {
        assert_eq!(
            n.updates(),
            0,
            "{h} differs from the desired state: {:?}",
            n.ops
        );
        assert!(!n.config_written, "{h}: configuration differs");
    }
    assert_eq!(r.nics.len(), HOSTS.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_converges_follows_changes_and_a_standby_takes_over() {
    let Some(etcd) = EtcdServer::start() else {
        return;
    };
    let servers: Vec<Server> = HOSTS.iter().map(|_| Server::start()).collect();
    let mut s = store(&etcd).await;
    let rev = provision(&mut s, &servers).await;

    let mut a = start(&etcd, "ctl-a");
    let id_a = a.elected().await;
    a.converged(rev, HOSTS.len()).await;

    // A standby campaigns and waits: it is not elected while the leader lives.
    let mut b = start(&etcd, "ctl-b");
    let (c, _) = s
        .update(|d| {
            d.relabel(
                "carts",
                &labels(&[("app", "carts"), ("tier", "service"), ("patch", "outdated")]),
            )
        })
        .await
        .expect("relabel");
    a.converged(c.revision, HOSTS.len()).await;
    assert!(
        b.events.try_recv().is_err(),
        "the standby must not act while the leader lives"
    );
    // A controller with a far higher election id takes the NICs over and leaves
    // (P4Runtime: the primary must hold the highest id a device has ever seen).
    assert_devices_are_desired(&mut s, &servers).await;

    // The leader dies without resigning: the standby is elected when its lease
    // (2 s) ends, takes every NIC over (above the checker's id, which the devices
    // remember) and converges them.
    let killed = Instant::now();
    a.kill();
    let id_b = b.elected().await;
    let elected_ms = killed.elapsed().as_millis();
    assert!(id_b > id_a, "a newer leader has a higher election id");
    b.converged(c.revision, HOSTS.len()).await;
    println!(
        "handover: elected_after_ms={elected_ms} converged_after_ms={} (lease TTL 2 s)",
        killed.elapsed().as_millis()
    );

    // The new leader follows changes: a new instance on node-2.
    let ip: IpAddr = "10.1.2.99".parse().unwrap();
    let (c, _) = s
        .update(|d| d.add_instance("carts", "node-2", ip, None))
        .await
        .expect("add instance");
    b.converged(c.revision, HOSTS.len()).await;
    b.shutdown().await;
    assert_devices_are_desired(&mut s, &servers).await;
    let snap = s.snapshot().await.unwrap();
    let engine = snap.desired.engine.unwrap();
    assert!(
        engine.nic_state("node-2").local_ep.contains_key(&ip),
        "the new instance is a local endpoint of node-2"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_in_the_middle_of_a_change_a_restart_converges() {
    let Some(etcd) = EtcdServer::start() else {
        return;
    };
    let servers: Vec<Server> = HOSTS.iter().map(|_| Server::start()).collect();
    let mut s = store(&etcd).await;
    let rev = provision(&mut s, &servers).await;
    let mut a = start(&etcd, "ctl-a");
    a.elected().await;
    a.converged(rev, HOSTS.len()).await;

    // A change that touches every NIC (a relabel bumps epochs and the policy
    // generation); the leader is killed as soon as it has seen it, before it
    // could finish writing.
    let (c, _) = s
        .update(|d| {
            d.relabel(
                "orders",
                &labels(&[
                    ("app", "orders"),
                    ("tier", "service"),
                    ("patch", "outdated"),
                ]),
            )
        })
        .await
        .expect("relabel");
    tokio::time::sleep(Duration::from_millis(5)).await;
    a.kill();

    // A new controller (a restart) is elected once the lease ends and repairs
    // every NIC to the latest desired state, without reloading any pipeline.
    let mut r = start(&etcd, "ctl-a-restarted");
    r.elected().await;
    r.converged(c.revision, HOSTS.len()).await;
    r.shutdown().await;
    assert_devices_are_desired(&mut s, &servers).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_leader_hands_over_at_once_and_bad_options_are_refused() {
    let Some(etcd) = EtcdServer::start() else {
        return;
    };
    let servers: Vec<Server> = HOSTS.iter().map(|_| Server::start()).collect();
    let mut s = store(&etcd).await;
    let rev = provision(&mut s, &servers).await;
    // Leases of an hour: only a resignation can hand over within the test.
    let mut a = start_ttl(&etcd, "ctl-a", 3600);
    a.elected().await;
    a.converged(rev, HOSTS.len()).await;
    let mut b = start_ttl(&etcd, "ctl-b", 3600);
    // A graceful stop resigns and revokes the lease: the standby is elected at
    // once, not after the lease's hour.
    let stopped = Instant::now();
    a.shutdown().await;
    b.elected().await;
    println!(
        "graceful handover: elected_after_ms={}",
        stopped.elapsed().as_millis()
    );
    b.converged(rev, HOSTS.len()).await;
    b.shutdown().await;

    let mut opts = ServiceOptions::new(vec![etcd.endpoint()], "x", pipeline());
    opts.lease_ttl_s = 1;
    let e = run(opts, None, std::future::pending()).await.unwrap_err();
    assert!(e.to_string().contains("lease TTL"), "{e}");
}
