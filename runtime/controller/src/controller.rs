//! The policy engine over several NICs: desired state, incremental changes,
//! reconciliation and persistence.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::io::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use ztnic_intent::{Engine, Instance, Labels, NicState, PolicyFile, diff};
use ztnic_model::tables::PortClass;
use ztnic_model::{Config, Op, OverflowFlow};

use crate::ControllerError;
use crate::nic::{Nic, NicInfo, WriteCounts};
use crate::slow_path::SlowPath;

/// What a change wrote to one NIC.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NicReport {
    /// Entries inserted, modified, deleted.
    pub inserts: usize,
    pub modifies: usize,
    pub deletes: usize,
    /// True when the configuration (three default entries) was written.
    pub config_written: bool,
    /// The operations carried out, in order (the configuration last).
    pub ops: Vec<Op>,
    /// Entries deleted that no operation names (foreign entries, port classes).
    pub raw_deletes: usize,
}

impl NicReport {
    /// Every update written.
    pub fn updates(&self) -> usize {
        self.inserts + self.modifies + self.deletes + if self.config_written { 3 } else { 0 }
    }

    fn add(&mut self, c: WriteCounts) {
        self.inserts += c.inserts;
        self.modifies += c.modifies;
        self.deletes += c.deletes;
    }
}

/// What a change wrote, per NIC.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    pub nics: BTreeMap<String, NicReport>,
}

impl Report {
    /// Every update written to every NIC.
    pub fn updates(&self) -> usize {
        self.nics.values().map(NicReport::updates).sum()
    }
}

/// The state file: the engine, the base configuration and the NICs.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateFile {
    /// Format version (1).
    pub version: u32,
    /// The engine as `Engine::save` writes it.
    pub engine: Engine,
    /// The configuration every NIC starts from.
    pub base: Config,
    /// Idle timeout of the slow path's `ct_overflow` entries.
    pub overflow_idle_ms: u64,
    /// The NICs.
    pub nics: Vec<NicInfo>,
}

const STATE_VERSION: u32 = 1;

/// What one NIC should hold.
pub(crate) struct Want {
    pub(crate) config: Config,
    pub(crate) ports: BTreeMap<u16, PortClass>,
    pub(crate) state: NicState,
}

/// The policy engine driving several NICs.
pub struct Controller {
    pub(crate) engine: Engine,
    pub(crate) base: Config,
    pub(crate) nics: BTreeMap<String, Nic>,
    pub(crate) overflow_idle_ms: u64,
    pub(crate) parallel: usize,
    pub(crate) slow: SlowPath,
}

impl Controller {
    /// A controller over `engine` with no NIC; every NIC's configuration starts from
    /// `Config::default()`.
    pub fn new(engine: Engine) -> Controller {
        Controller::with_base(engine, Config::default())
    }

    /// A controller whose NICs' configuration starts from `base` (the VTEP address
    /// and the policy generation are always the engine's).
    pub fn with_base(engine: Engine, base: Config) -> Controller {
        Controller {
            engine,
            base,
            nics: BTreeMap::new(),
            overflow_idle_ms: 10_000,
            parallel: 16,
            slow: SlowPath::default(),
        }
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The base configuration.
    pub fn base(&self) -> &Config {
        &self.base
    }

    /// Sets the idle timeout of the `ct_overflow` entries the slow path installs.
    pub fn set_overflow_idle_ms(&mut self, ms: u64) {
        self.overflow_idle_ms = ms;
    }

    /// Attaches a connected NIC as host `host`'s. Nothing is written: call
    /// [`Controller::reconcile`] (or a change) to bring it in line.
    pub fn add_nic(&mut self, host: &str, nic: Nic) -> Result<(), ControllerError> {
        if self.nics.contains_key(host) {
            return Err(ControllerError::DuplicateNic(host.to_string()));
        }
        self.nics.insert(host.to_string(), nic);
        Ok(())
    }

    /// Detaches a NIC (its session closes when dropped).
    pub fn remove_nic(&mut self, host: &str) -> Option<Nic> {
        self.nics.remove(host)
    }

    /// The NIC of `host`.
    pub fn nic(&self, host: &str) -> Option<&Nic> {
        self.nics.get(host)
    }

    /// The NIC of `host`, mutably.
    pub fn nic_mut(&mut self, host: &str) -> Option<&mut Nic> {
        self.nics.get_mut(host)
    }

    /// The attached NICs' names.
    pub fn nic_names(&self) -> Vec<String> {
        self.nics.keys().cloned().collect()
    }

    pub(crate) fn want(&self, host: &str) -> Result<Want, ControllerError> {
        let vtep = self
            .engine
            .hosts()
            .find(|(n, _)| n.as_str() == host)
            .map(|(_, v)| *v)
            .ok_or_else(|| ControllerError::UnknownHost(host.to_string()))?;
        let mut config = self.base.clone();
        config.local_vtep_ip = vtep;
        config.policy_gen = self.engine.policy_gen();
        let mut ports = BTreeMap::new();
        for w in self.engine.workloads() {
            for i in w.instances.iter().filter(|i| i.host == host) {
                ports.insert(i.vport, PortClass::Vport);
            }
        }
        ports.insert(config.uplink_port, PortClass::Uplink);
        ports.insert(config.cpu_port, PortClass::Cpu);
        Ok(Want {
            config,
            ports,
            state: self.engine.nic_state(host),
        })
    }

    /// What host `host`'s NIC should hold: its configuration (the base with the
    /// host's VTEP and the engine's generation) and the operations that fill an
    /// empty device (port classes: uplink, CPU, every vport of its instances; then
    /// the engine's tables for the host).
    pub fn desired(&self, host: &str) -> Result<(Config, Vec<Op>), ControllerError> {
        let w = self.want(host)?;
        let mut ops: Vec<Op> = w
            .ports
            .iter()
            .map(|(p, c)| Op::SetPortClass {
                port: *p,
                class: *c,
            })
            .collect();
        ops.extend(w.state.ops());
        Ok((w.config, ops))
    }

    /// Replaces the policy (hosts, workloads, intents) and brings every NIC in line.
    /// A file the engine refuses changes nothing. NICs are written one after the
    /// other; on a device error the rest are not written (a reconcile repairs them).
    pub async fn apply(&mut self, f: &PolicyFile) -> Result<Report, ControllerError> {
        self.engine.replace(f)?;
        self.sync_all().await
    }

    /// Changes a workload's labels (new context, epochs and generation bumped) and
    /// brings every NIC in line.
    pub async fn set_labels(
        &mut self,
        workload: &str,
        labels: Labels,
    ) -> Result<Report, ControllerError> {
        self.engine.set_labels(workload, labels)?;
        self.sync_all().await
    }

    /// Changes the labels of one instance (a compromised replica): it moves to
    /// the context of its new label set (epochs and generation bumped, so its live
    /// connections are re-checked) and every NIC is brought in line.
    pub async fn relabel_instance(
        &mut self,
        ip: IpAddr,
        labels: Labels,
    ) -> Result<Report, ControllerError> {
        self.engine.relabel_instance(ip, labels)?;
        self.sync_all().await
    }

    /// Adds an instance of a workload and brings every NIC in line.
    pub async fn add_instance(
        &mut self,
        workload: &str,
        instance: Instance,
    ) -> Result<Report, ControllerError> {
        self.engine.add_instance(workload, instance)?;
        self.sync_all().await
    }

    /// Removes an instance of a workload and brings every NIC in line.
    pub async fn remove_instance(
        &mut self,
        workload: &str,
        ip: IpAddr,
    ) -> Result<Report, ControllerError> {
        self.engine.remove_instance(workload, ip)?;
        self.sync_all().await
    }

    /// Brings every NIC from what the controller knows it holds to what it should
    /// hold (no read-back). The NICs are written concurrently, at most
    /// [`Controller::set_parallel`] at a time; a NIC's error does not stop the
    /// others (the first error, in host order, is returned once all are done; a
    /// reconcile repairs the failed one).
    pub async fn sync_all(&mut self) -> Result<Report, ControllerError> {
        self.converge_all(false).await
    }

    /// Brings one NIC from what the controller knows it holds to what it should hold.
    pub async fn sync(&mut self, host: &str) -> Result<NicReport, ControllerError> {
        let want = self.want(host)?;
        let nic = self
            .nics
            .get_mut(host)
            .ok_or_else(|| ControllerError::UnknownNic(host.to_string()))?;
        converge(host, nic, want, false).await
    }

    /// Reads back what host `host`'s NIC holds and repairs the differences to what
    /// it should hold, writing nothing else. Never reloads the pipeline; writes the
    /// configuration only when it differs; keeps `ct_overflow` entries while one of
    /// their addresses is a local endpoint of the NIC.
    pub async fn reconcile(&mut self, host: &str) -> Result<NicReport, ControllerError> {
        let want = self.want(host)?;
        let nic = self
            .nics
            .get_mut(host)
            .ok_or_else(|| ControllerError::UnknownNic(host.to_string()))?;
        converge(host, nic, want, true).await
    }

    /// Reconciles every NIC, concurrently as [`Controller::sync_all`] does.
    pub async fn reconcile_all(&mut self) -> Result<Report, ControllerError> {
        self.converge_all(true).await
    }

    /// Reconciles the attached NICs among `hosts` concurrently (at most
    /// [`Controller::set_parallel`] at once): the report of those that succeeded
    /// and the error of each that failed.
    pub async fn reconcile_hosts(
        &mut self,
        hosts: &BTreeSet<String>,
    ) -> (Report, BTreeMap<String, ControllerError>) {
        self.converge_each(Some(hosts), true).await
    }

    /// How many NICs [`Controller::sync_all`] and [`Controller::reconcile_all`]
    /// write at once (at least 1; default 16).
    pub fn set_parallel(&mut self, n: usize) {
        self.parallel = n.max(1);
    }

    /// Replaces the engine by one compiled elsewhere (the desired state in etcd,
    /// `ztnic-store`). Nothing is written: call [`Controller::sync_all`].
    pub fn set_engine(&mut self, engine: Engine) {
        self.engine = engine;
    }

    async fn converge_all(&mut self, read_back: bool) -> Result<Report, ControllerError> {
        let (report, errors) = self.converge_each(None, read_back).await;
        match errors.into_iter().next() {
            Some((_, e)) => Err(e),
            None => Ok(report),
        }
    }

    /// Converges the attached NICs (those among `only`, if given) concurrently.
    async fn converge_each(
        &mut self,
        only: Option<&BTreeSet<String>>,
        read_back: bool,
    ) -> (Report, BTreeMap<String, ControllerError>) {
        use futures::StreamExt as _;
        let mut wants = BTreeMap::new();
        let mut errors = BTreeMap::new();
        for host in self
            .nics
            .keys()
            .filter(|h| only.is_none_or(|o| o.contains(*h)))
        {
            match self.want(host) {
                Ok(w) => {
                    wants.insert(host.clone(), w);
                }
                Err(e) => {
                    errors.insert(host.clone(), e);
                }
            }
        }
        // boxed as `Send` here: a closure returning these would defeat the
        // compiler's proof that the caller's future is `Send`
        type Job<'a> = std::pin::Pin<
            Box<dyn Future<Output = (String, Result<NicReport, ControllerError>)> + Send + 'a>,
        >;
        let mut jobs: Vec<Job<'_>> = Vec::new();
        for (host, nic) in self.nics.iter_mut() {
            if let Some(want) = wants.remove(host) {
                jobs.push(Box::pin(async move {
                    (host.clone(), converge(host, nic, want, read_back).await)
                }));
            }
        }
        let done: Vec<(String, Result<NicReport, ControllerError>)> = futures::stream::iter(jobs)
            .buffer_unordered(self.parallel.max(1))
            .collect()
            .await;
        let mut report = Report::default();
        for (host, r) in done {
            match r {
                Ok(r) => {
                    report.nics.insert(host, r);
                }
                Err(e) => {
                    tracing::warn!(nic = %host, "converge: {e}");
                    errors.insert(host, e);
                }
            }
        }
        (report, errors)
    }

    // ------------------------------------------------------------ persistence

    /// The state as the state file holds it.
    pub fn state(&self) -> StateFile {
        StateFile {
            version: STATE_VERSION,
            engine: self.engine.clone(),
            base: self.base.clone(),
            overflow_idle_ms: self.overflow_idle_ms,
            nics: self.nics.values().map(|n| n.info().clone()).collect(),
        }
    }

    /// Writes the engine, the base configuration and the NIC list to `path`
    /// atomically (a temporary file in the same directory, then a rename).
    pub fn save(&self, path: &Path) -> Result<(), ControllerError> {
        let text =
            serde_json::to_string_pretty(&self.state()).map_err(|e| ControllerError::State {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
        let io = |source| ControllerError::Io {
            path: path.to_path_buf(),
            source,
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "state".into());
        let tmp: PathBuf = path.with_file_name(format!(".{name}.tmp.{}", std::process::id()));
        let result = (|| {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&tmp, path)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result.map_err(io)
    }

    /// Reads a state file; a file that does not parse is an error.
    pub fn load_state(path: &Path) -> Result<StateFile, ControllerError> {
        let text = std::fs::read_to_string(path).map_err(|source| ControllerError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let st: StateFile = serde_json::from_str(&text).map_err(|e| ControllerError::State {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        if st.version != STATE_VERSION {
            return Err(ControllerError::State {
                path: path.to_path_buf(),
                reason: format!("version {} (expected {STATE_VERSION})", st.version),
            });
        }
        Ok(st)
    }

    /// Restores a controller from a state file: connects every NIC with `connect`
    /// and reconciles it. A state file that does not parse is an error before any
    /// NIC is contacted.
    pub async fn restore<F, Fut>(
        path: &Path,
        mut connect: F,
    ) -> Result<(Controller, Report), ControllerError>
    where
        F: FnMut(NicInfo) -> Fut,
        Fut: Future<Output = Result<Nic, ControllerError>>,
    {
        let st = Controller::load_state(path)?;
        let mut c = Controller::with_base(st.engine, st.base);
        c.overflow_idle_ms = st.overflow_idle_ms;
        for info in st.nics {
            let name = info.name.clone();
            let nic = connect(info).await?;
            c.add_nic(&name, nic)?;
        }
        let report = c.reconcile_all().await?;
        Ok((c, report))
    }
}

/// A slow-path overflow entry stays while one of its addresses is a local endpoint.
fn overflow_alive(f: &OverflowFlow, local: &BTreeSet<IpAddr>) -> bool {
    local.contains(&f.src) || local.contains(&f.dst)
}

/// Brings `nic` from what it holds (what the session knows, or what a read-back
/// finds) to `want`: additions and updates first, deletions after, the
/// configuration last.
async fn converge(
    host: &str,
    nic: &mut Nic,
    want: Want,
    read_back: bool,
) -> Result<NicReport, ControllerError> {
    let (have, have_config) = if read_back {
        let st = nic.read_back().await?;
        (st.held(), st.config)
    } else {
        (nic.held(), nic.config().cloned())
    };
    let mut ops: Vec<Op> = want
        .ports
        .iter()
        .filter(|(p, c)| have.ports.get(p) != Some(c))
        .map(|(p, c)| Op::SetPortClass {
            port: *p,
            class: *c,
        })
        .collect();
    ops.extend(diff(&have.state, &want.state));
    let local: BTreeSet<IpAddr> = want.state.local_ep.keys().copied().collect();
    ops.extend(
        have.overflow
            .iter()
            .filter(|f| !overflow_alive(f, &local))
            .map(|f| Op::DeleteCtOverflow(*f)),
    );
    let mut report = NicReport::default();
    if !ops.is_empty() {
        let c = nic.apply_ops(&ops).await?;
        report.add(c);
        report.ops = ops;
    }
    let mut raw = have.foreign.clone();
    for (port, class) in &have.ports {
        if !want.ports.contains_key(port) {
            let key = nic
                .program()
                .entry(&Op::SetPortClass {
                    port: *port,
                    class: *class,
                })
                .map_err(|source| ControllerError::Map {
                    nic: host.to_string(),
                    op: format!("port_class {port}"),
                    source,
                })?;
            raw.push(key);
        }
    }
    if !raw.is_empty() {
        let c = nic.delete_entries(&raw).await?;
        report.raw_deletes = c.deletes;
        report.add(c);
    }
    if have_config.as_ref() != Some(&want.config) {
        let op = Op::SetConfig(Box::new(want.config));
        nic.apply_ops(std::slice::from_ref(&op)).await?;
        report.config_written = true;
        report.ops.push(op);
    }
    Ok(report)
}
