//! The controller as a service (`ztnic controller`): the desired state lives in etcd
//! (`ztnic-store`), one controller of several is the leader (an etcd election held
//! by a lease), and the leader converges every registered NIC and serves their slow
//! path until it stops or loses the lease.
//!
//! ```text
//!  etcd ──watch /ztnic/v1/──▶ leader ──converge (parallel, bounded)──▶ NICs
//!   ▲  election /ztnic/v1-election/ (lease, TTL)   ◀──digests, PacketIn── NICs
//!   └── standby controllers campaign, and take over when the leader's lease ends
//! ```
//!
//! - **Leadership.** Every controller holds a lease (kept alive at a third of its
//!   TTL) and campaigns; the one elected is the leader. Its P4Runtime election id
//!   is the revision at which it was elected, so a newer leader always outranks an
//!   older one at every NIC (the older one, if it still runs, is demoted there); a
//!   device that has seen a higher id than that is taken over with that id + 1.
//!   A leader that stops (Ctrl-C, SIGTERM) resigns and revokes its lease, so a
//!   standby takes over at once; one that is killed is replaced when its lease
//!   expires (the TTL). A leader that cannot keep its lease alive stops leading.
//! - **Start and restart.** The leader reads the whole desired state at one
//!   revision, connects every registered NIC that is a host of the policy (a
//!   pipeline that is already ours is kept, so no connection is dropped) and
//!   reconciles it: reads it back and repairs only the differences. Nothing is
//!   lost in a restart: the state is in etcd, and what a NIC holds is read back.
//! - **Changes.** A watch on the prefix from the snapshot's revision: every change
//!   (coalesced with the changes that follow within [`ServiceOptions::settle`]) is
//!   read again as a whole snapshot and every NIC is synced to it. A snapshot that
//!   does not parse changes nothing (the error names the key) and the last good
//!   state stays in force. NICs registered or unregistered are connected or
//!   dropped.
//! - **Failures.** A NIC that cannot be reached, or whose write failed, is retried
//!   with a reconcile every [`ServiceOptions::retry`]; a NIC whose session comes
//!   back is reconciled.
//! - **Slow path.** Every NIC's digests and PacketIns go to
//!   [`Controller::handle_event`] as they arrive (unknown contexts, stale epochs,
//!   full conntrack tables, the punts it counts).

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::path::Path;
use std::time::{Duration, Instant};

use etcd_client::{Client, LeaderKey, ResignOptions, WatchOptions};
use ztnic_intent::Engine;
use ztnic_model::Config;
use ztnic_p4runtime_client::{ClientConfig, ClientTls};
use ztnic_store::{NicRegistration, Store, StoreError};

use crate::controller::Controller;
use crate::nic::{Nic, NicInfo, PipelineSource};

/// Why the service stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// etcd could not be reached or refused a request.
    #[error("etcd: {0}")]
    Etcd(#[from] etcd_client::Error),
    /// The desired state could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The lease that holds the leadership ended (etcd unreachable for a TTL, or
    /// the lease revoked by someone else).
    #[error("lost the leadership: {0}")]
    LostLeadership(String),
    /// The options are not usable.
    #[error("{0}")]
    Options(String),
}

/// How the service runs.
#[derive(Clone)]
pub struct ServiceOptions {
    /// etcd client URLs.
    pub endpoints: Vec<String>,
    /// The desired state's key prefix (`ztnic_store::DEFAULT_PREFIX`).
    pub prefix: String,
    /// This controller's name: the value it campaigns with (logs say who leads).
    pub name: String,
    /// The lease's time to live in seconds: how long a killed leader holds on.
    pub lease_ttl_s: i64,
    /// The pipeline installed on a NIC that does not run it yet.
    pub pipeline: PipelineSource,
    /// The NICs' configuration before the policy's (VTEP, generation) is applied.
    pub base: Config,
    /// Plaintext P4Runtime beyond loopback (for NICs registered without TLS).
    pub insecure: bool,
    /// NICs converged at once.
    pub parallel: usize,
    /// How often unreachable or failed NICs are tried again.
    pub retry: Duration,
    /// How long after a change further changes are awaited before converging.
    pub settle: Duration,
}

impl ServiceOptions {
    /// Options with the defaults: the default prefix, a 5-second lease, 16 NICs at
    /// once, retries every second, 20 ms to settle.
    pub fn new(endpoints: Vec<String>, name: &str, pipeline: PipelineSource) -> ServiceOptions {
        ServiceOptions {
            endpoints,
            prefix: ztnic_store::DEFAULT_PREFIX.to_string(),
            name: name.to_string(),
            lease_ttl_s: 5,
            pipeline,
            base: Config::default(),
            insecure: false,
            parallel: 16,
            retry: Duration::from_secs(1),
            settle: Duration::from_millis(20),
        }
    }

    fn check(&self) -> Result<(), ServiceError> {
        if self.lease_ttl_s < 2 {
            return Err(ServiceError::Options(format!(
                "lease TTL {} s: at least 2 s (the lease is renewed every third of it)",
                self.lease_ttl_s
            )));
        }
        if self.name.is_empty() {
            return Err(ServiceError::Options("the controller needs a name".into()));
        }
        if self.endpoints.is_empty() {
            return Err(ServiceError::Options("no etcd endpoint".into()));
        }
        Ok(())
    }
}

/// What the service reports as it runs (for tests, benches and `ztnic controller`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServiceEvent {
    /// This controller was elected; `election_id` is its P4Runtime election id.
    Elected { election_id: u128 },
    /// Every connected NIC holds the desired state of `revision`; `nics` were
    /// connected, `pending` were not (unreachable or failed; retried).
    Converged {
        revision: i64,
        nics: usize,
        pending: usize,
    },
    /// The leadership was given up (shutdown) or lost.
    Stepped,
}

/// The election's name: next to the desired state, not under it (the state's
/// snapshot refuses keys outside its layout).
fn election_name(prefix: &str) -> String {
    format!("{}-election", prefix.trim_end_matches('/'))
}

/// The TLS settings a NIC registration's `tls` reference names: a directory with
/// `ca.pem` (the agent's CA) and, for mutual TLS, `client.pem` and `client.key`.
pub fn registration_tls(reference: &str) -> Result<ClientTls, String> {
    let dir = Path::new(reference);
    if !dir.is_dir() {
        return Err(format!("TLS reference {reference:?} is not a directory"));
    }
    let ca = dir.join("ca.pem");
    let cert = dir.join("client.pem");
    let key = dir.join("client.key");
    let (cert, key) = match (cert.exists(), key.exists()) {
        (true, true) => (Some(cert), Some(key)),
        (false, false) => (None, None),
        _ => {
            return Err(format!(
                "TLS reference {reference:?}: client.pem and client.key go together"
            ));
        }
    };
    ClientTls::from_files(Some(&ca), cert.as_deref(), key.as_deref(), None)
        .map_err(|e| format!("TLS reference {reference:?}: {e}"))
}

fn endpoint(p4rt: &str) -> String {
    if p4rt.starts_with("http://") || p4rt.starts_with("https://") {
        p4rt.to_string()
    } else {
        format!("http://{p4rt}")
    }
}

/// Runs a controller until `shutdown` completes: campaigns, and while leader
/// converges the NICs and serves their slow path. Returns `Ok` after a shutdown
/// (having resigned), an error when etcd fails or the leadership is lost.
/// `events` hears what happens (see [`ServiceEvent`]).
pub async fn run(
    opts: ServiceOptions,
    events: Option<tokio::sync::mpsc::UnboundedSender<ServiceEvent>>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServiceError> {
    opts.check()?;
    tokio::pin!(shutdown);
    let mut client = Client::connect(&opts.endpoints, None).await?;
    let lease = client.lease_grant(opts.lease_ttl_s, None).await?.id();
    let (lost_tx, mut lost_rx) = tokio::sync::watch::channel(None::<String>);
    // aborted when `run` returns or is dropped (a crashed controller's lease ends)
    let keeper = AbortOnDrop(tokio::spawn(keep_alive(
        client.clone(),
        lease,
        Duration::from_millis(opts.lease_ttl_s as u64 * 1000 / 3),
        lost_tx,
    )));
    let lost = async move {
        loop {
            if let Some(why) = lost_rx.borrow().clone() {
                return why;
            }
            if lost_rx.changed().await.is_err() {
                return "the lease keeper stopped".to_string();
            }
        }
    };
    tokio::pin!(lost);
    let name = election_name(&opts.prefix);
    tracing::info!(controller = %opts.name, election = %name, lease, "campaigning");
    let campaign = async {
        let mut c = client.clone();
        c.campaign(name.clone(), opts.name.clone(), lease).await
    };
    let leader: LeaderKey = tokio::select! {
        _ = &mut shutdown => {
            drop(keeper);
            let _ = client.lease_revoke(lease).await;
            return Ok(());
        }
        why = &mut lost => {
            return Err(ServiceError::LostLeadership(why));
        }
        r = campaign => match r?.leader() {
            Some(l) => l.clone(),
            None => {
                return Err(ServiceError::Options("etcd elected no leader key".into()));
            }
        },
    };
    let election_id = u128::try_from(leader.rev()).unwrap_or(0).max(1);
    tracing::info!(controller = %opts.name, election_id, "elected leader");
    if let Some(tx) = &events {
        let _ = tx.send(ServiceEvent::Elected { election_id });
    }
    let result = lead(&opts, election_id, &events, &mut shutdown, &mut lost).await;
    drop(keeper);
    if let Some(tx) = &events {
        let _ = tx.send(ServiceEvent::Stepped);
    }
    // Hand over at once: resign, then end the lease (a standby's campaign returns).
    let _ = client
        .resign(Some(ResignOptions::new().with_leader(leader)))
        .await;
    let _ = client.lease_revoke(lease).await;
    tracing::info!(controller = %opts.name, "stepped down");
    result
}

/// A task aborted when this is dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Keeps the lease alive; reports why it ended.
async fn keep_alive(
    mut client: Client,
    lease: i64,
    every: Duration,
    lost: tokio::sync::watch::Sender<Option<String>>,
) {
    let why = match client.lease_keep_alive(lease).await {
        Err(e) => format!("lease keep-alive: {e}"),
        Ok((mut keeper, mut stream)) => loop {
            if let Err(e) = keeper.keep_alive().await {
                break format!("lease keep-alive: {e}");
            }
            match stream.message().await {
                Ok(Some(r)) if r.ttl() > 0 => {}
                Ok(Some(_)) => break "the lease expired".to_string(),
                Ok(None) => break "the lease keep-alive stream ended".to_string(),
                Err(e) => break format!("lease keep-alive: {e}"),
            }
            tokio::time::sleep(every).await;
        },
    };
    let _ = lost.send(Some(why));
}

/// What the leader's loop waits for.
enum Wake {
    Shutdown,
    Lost(String),
    Changed,
    WatchEnded(String),
    Event(String, ztnic_p4runtime_client::StreamEvent, Instant),
    Retry,
}

/// The leader's work until shutdown or loss.
async fn lead(
    opts: &ServiceOptions,
    election_id: u128,
    events: &Option<tokio::sync::mpsc::UnboundedSender<ServiceEvent>>,
    shutdown: &mut (impl Future<Output = ()> + Unpin),
    lost: &mut (impl Future<Output = String> + Unpin),
) -> Result<(), ServiceError> {
    let mut store = Store::connect(&opts.endpoints, &opts.prefix).await?;
    let mut ctl = Controller::with_base(Engine::new(), opts.base.clone());
    ctl.set_parallel(opts.parallel);
    let snap = store.snapshot().await?;
    let mut revision = snap.revision;
    ctl.set_engine(snap.desired.engine.clone().unwrap_or_default());
    let wanted = snap.desired.nics.clone();
    // a restart (or a first start) reads every NIC back and repairs the differences
    let mut nics = Nics {
        opts,
        election_id,
        events,
        regs: BTreeMap::new(),
        pending: BTreeSet::new(),
        wanted,
    };
    nics.bring_in_line(&mut ctl, revision).await;

    let mut watch_client = store.client().clone();
    let mut watch = open_watch(&mut watch_client, &opts.prefix, revision).await?;
    let mut retry = tokio::time::interval(opts.retry);
    retry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let wake = tokio::select! {
            _ = &mut *shutdown => Wake::Shutdown,
            why = &mut *lost => Wake::Lost(why),
            m = watch.message() => match m {
                Ok(Some(r)) if r.canceled() => Wake::WatchEnded(format!(
                    "watch canceled: {} (compacted at {})",
                    r.cancel_reason(),
                    r.compact_revision()
                )),
                Ok(Some(r)) if r.events().is_empty() => continue,
                Ok(Some(_)) => Wake::Changed,
                Ok(None) => Wake::WatchEnded("watch stream ended".into()),
                Err(e) => Wake::WatchEnded(format!("watch: {e}")),
            },
            e = next_event(&mut ctl) => match e {
                Some((h, ev, at)) => Wake::Event(h, ev, at),
                None => continue,
            },
            _ = retry.tick() => Wake::Retry,
        };
        match wake {
            Wake::Shutdown => return Ok(()),
            Wake::Lost(why) => return Err(ServiceError::LostLeadership(why)),
            Wake::Event(host, ev, at) => {
                let reconnected = matches!(ev, ztnic_p4runtime_client::StreamEvent::Reconnected);
                if let Err(e) = ctl.handle_event_at(&host, ev, at).await {
                    tracing::warn!(nic = %host, "slow path: {e}");
                }
                if reconnected {
                    nics.pending.insert(host);
                }
            }
            Wake::Retry => {
                if nics.pending.is_empty() {
                    continue;
                }
                nics.bring_in_line(&mut ctl, revision).await;
            }
            Wake::Changed | Wake::WatchEnded(_) => {
                if let Wake::WatchEnded(why) = &wake {
                    tracing::warn!("{why}; reading the whole state again");
                }
                // coalesce the changes that follow at once
                let settle = tokio::time::sleep(opts.settle);
                tokio::pin!(settle);
                loop {
                    tokio::select! {
                        _ = &mut settle => break,
                        m = watch.message() => if !matches!(m, Ok(Some(_))) { break },
                    }
                }
                let snap = match store.snapshot().await {
                    Ok(s) => s,
                    Err(e) => {
                        // a bad value changes nothing: the last good state stays
                        tracing::error!("desired state refused, nothing changed: {e}");
                        continue;
                    }
                };
                if snap.revision != revision || matches!(wake, Wake::WatchEnded(_)) {
                    revision = snap.revision;
                    ctl.set_engine(snap.desired.engine.clone().unwrap_or_default());
                    nics.wanted.clone_from(&snap.desired.nics);
                    nics.attach(&mut ctl).await;
                    if let Err(e) = ctl.sync_all().await {
                        tracing::warn!("sync: {e}; the failed NICs are reconciled again");
                        nics.pending.extend(nics.regs.keys().cloned());
                    }
                    nics.reconcile(&mut ctl).await;
                    nics.converged(revision);
                }
                if matches!(wake, Wake::WatchEnded(_)) {
                    watch = open_watch(&mut watch_client, &opts.prefix, revision).await?;
                }
            }
        }
    }
}

/// A watch on the prefix from the revision after `revision`.
async fn open_watch(
    client: &mut Client,
    prefix: &str,
    revision: i64,
) -> Result<etcd_client::WatchStream, etcd_client::Error> {
    client
        .watch(
            prefix.to_string(),
            Some(
                WatchOptions::new()
                    .with_prefix()
                    .with_start_revision(revision + 1),
            ),
        )
        .await
}

/// The leader's NICs: what is registered, what is connected, what needs work.
struct Nics<'a> {
    opts: &'a ServiceOptions,
    election_id: u128,
    events: &'a Option<tokio::sync::mpsc::UnboundedSender<ServiceEvent>>,
    /// Connected NICs by name: what their registration said when they were connected.
    regs: BTreeMap<String, NicRegistration>,
    /// NICs to connect or reconcile on the next retry.
    pending: BTreeSet<String>,
    /// The registrations in the desired state.
    wanted: BTreeMap<String, NicRegistration>,
}

impl Nics<'_> {
    async fn attach(&mut self, ctl: &mut Controller) {
        attach(
            self.opts,
            self.election_id,
            ctl,
            &mut self.regs,
            &self.wanted,
            &mut self.pending,
        )
        .await;
    }

    async fn reconcile(&mut self, ctl: &mut Controller) {
        reconcile(ctl, &self.regs, &mut self.pending).await;
    }

    fn converged(&self, revision: i64) {
        converged(self.events, revision, &self.regs, &self.pending);
    }

    /// Connects what is missing, reconciles what is pending, reports.
    async fn bring_in_line(&mut self, ctl: &mut Controller, revision: i64) {
        self.attach(ctl).await;
        self.reconcile(ctl).await;
        self.converged(revision);
    }
}

/// The next slow-path event of any NIC; pending forever without an open session.
async fn next_event(
    ctl: &mut Controller,
) -> Option<(String, ztnic_p4runtime_client::StreamEvent, Instant)> {
    match ctl.next_event().await {
        Some(e) => Some(e),
        // no NIC, or every session closed: nothing to wait for here
        None => std::future::pending().await,
    }
}

fn converged(
    events: &Option<tokio::sync::mpsc::UnboundedSender<ServiceEvent>>,
    revision: i64,
    regs: &BTreeMap<String, NicRegistration>,
    pending: &BTreeSet<String>,
) {
    let nics = regs.keys().filter(|k| !pending.contains(*k)).count();
    tracing::info!(revision, nics, pending = pending.len(), "converged");
    if let Some(tx) = events {
        let _ = tx.send(ServiceEvent::Converged {
            revision,
            nics,
            pending: pending.len(),
        });
    }
}

/// Brings the set of connected NICs in line with the registrations that are hosts
/// of the policy: drops the ones gone or changed, connects the missing ones (at
/// most `parallel` at once). A NIC that cannot be connected is left pending.
async fn attach(
    opts: &ServiceOptions,
    election_id: u128,
    ctl: &mut Controller,
    regs: &mut BTreeMap<String, NicRegistration>,
    wanted: &BTreeMap<String, NicRegistration>,
    pending: &mut BTreeSet<String>,
) {
    use futures::StreamExt as _;
    let hosts: BTreeSet<String> = ctl.engine().hosts().map(|(n, _)| n.clone()).collect();
    let gone: Vec<String> = regs
        .iter()
        .filter(|(n, r)| wanted.get(*n) != Some(*r) || !hosts.contains(*n))
        .map(|(n, _)| n.clone())
        .collect();
    for n in gone {
        regs.remove(&n);
        ctl.remove_nic(&n);
        pending.remove(&n);
        tracing::info!(nic = %n, "NIC detached (unregistered, changed, or no longer a host)");
    }
    let mut todo = Vec::new();
    for (n, r) in wanted {
        if regs.contains_key(n) {
            continue;
        }
        if !hosts.contains(n) {
            tracing::warn!(nic = %n, "registered NIC is not a host of the policy; not connected");
            continue;
        }
        let tls = match r.tls.as_deref().map(registration_tls).transpose() {
            Ok(t) => t,
            Err(e) => {
                tracing::error!(nic = %n, "{e}; not connected");
                continue;
            }
        };
        let endpoint = endpoint(&r.p4rt);
        let info = NicInfo {
            name: n.clone(),
            endpoint: endpoint.clone(),
            device_id: 1,
            election_id,
        };
        let config = ClientConfig {
            tls,
            insecure: opts.insecure,
            ..ClientConfig::new(&endpoint, 1, election_id)
        };
        todo.push((r.clone(), info, config));
    }
    type Job = std::pin::Pin<
        Box<
            dyn Future<Output = (String, NicRegistration, Result<Nic, crate::ControllerError>)>
                + Send,
        >,
    >;
    let jobs: Vec<Job> = todo
        .into_iter()
        .map(|(r, info, config)| {
            let pipeline = opts.pipeline.clone();
            Box::pin(async move {
                let name = info.name.clone();
                let nic = connect(info, config, &pipeline).await;
                (name, r, nic)
            }) as Job
        })
        .collect();
    let connected: Vec<_> = futures::stream::iter(jobs)
        .buffer_unordered(opts.parallel.max(1))
        .collect()
        .await;
    for (name, r, nic) in connected {
        match nic {
            Ok(nic) => {
                if ctl.add_nic(&name, nic).is_ok() {
                    tracing::info!(nic = %name, p4rt = %r.p4rt, "NIC connected");
                    regs.insert(name.clone(), r);
                    // a new session: read back and repair
                    pending.insert(name);
                }
            }
            Err(e) => {
                tracing::warn!(nic = %name, "connect: {e}; retrying");
                pending.insert(name);
            }
        }
    }
}

/// Connects a NIC as its primary. P4Runtime makes primary only the holder of the
/// highest election id the device has ever seen: a device that saw a higher one
/// (an earlier deployment, a tool, a controller that is still connected after it
/// lost the election) is taken over with that id + 1 — this controller is the one
/// etcd elected, so it must win.
async fn connect(
    mut info: NicInfo,
    mut config: ClientConfig,
    pipeline: &PipelineSource,
) -> Result<Nic, crate::ControllerError> {
    match Nic::connect_with(info.clone(), config.clone(), pipeline).await {
        Err(crate::ControllerError::NotPrimary {
            highest: Some(h), ..
        }) if h >= info.election_id && h < u128::MAX => {
            tracing::warn!(
                nic = %info.name,
                seen = h,
                ours = info.election_id,
                "the device has seen a higher election id; taking over with it + 1"
            );
            info.election_id = h + 1;
            config.election_id = Some(h + 1);
            Nic::connect_with(info, config, pipeline).await
        }
        r => r,
    }
}

/// Reconciles the pending NICs that are connected; the ones that fail stay pending.
async fn reconcile(
    ctl: &mut Controller,
    regs: &BTreeMap<String, NicRegistration>,
    pending: &mut BTreeSet<String>,
) {
    let todo: BTreeSet<String> = pending
        .iter()
        .filter(|n| regs.contains_key(*n))
        .cloned()
        .collect();
    if todo.is_empty() {
        return;
    }
    let (report, errors) = ctl.reconcile_hosts(&todo).await;
    for (n, r) in &report.nics {
        tracing::info!(nic = %n, repairs = r.updates(), "reconciled");
        pending.remove(n);
    }
    for (n, e) in errors {
        tracing::warn!(nic = %n, "reconcile: {e}; retrying");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `run` can be spawned on a multi-threaded runtime.
    #[allow(dead_code)]
    fn run_is_send(opts: ServiceOptions) {
        fn is_send<T: Send>(_: T) {}
        is_send(run(opts, None, std::future::pending()));
    }
}
