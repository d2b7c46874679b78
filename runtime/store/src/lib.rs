//! # ztnic-store — the desired state in etcd
//!
//! What the operator wants, kept in etcd so every controller (and, later, every
//! host) reads the same thing: the policy (hosts and intents), workloads and their
//! labels, workload instances (which NIC, which address), NIC registrations
//! (P4Runtime address, TLS settings reference), the contexts, epochs and rule ids
//! the intent compiler allocated, and the trust domain's keys.
//!
//! Every key lives under a prefix (default [`DEFAULT_PREFIX`], `/ztnic/v1/`):
//!
//! | key                   | value (JSON)                                      |
//! |-----------------------|---------------------------------------------------|
//! | `intents`             | `{"intents": [Intent, …]}` (order kept)           |
//! | `hosts/<name>`        | `{"name", "vtep"}`                                |
//! | `workloads/<name>`    | `{"name", "labels": {k: v}}`                      |
//! | `instances/<ip>`      | `{"workload", "nic", "ip", "vport"}`              |
//! | `nics/<name>`         | `{"name", "p4rt", "tls"}` (`tls`: a reference)    |
//! | `engine`              | the compiler's state: contexts, epochs, rule ids, generation |
//! | `trust/keys`          | `{"domain", "keys": [{"id", "secret"}]}` (secret) |
//!
//! Every value is checked on read (JSON shape, unknown fields refused, the name in
//! the key equal to the name in the value); a bad one is a [`StoreError::Malformed`]
//! naming the key. A change is compiled with the intent compiler before anything is
//! written ([`StoreError::Rejected`] writes nothing), and then written as one etcd
//! transaction guarded by the mod revisions of the `engine` key and of every key it
//! writes or deletes: a second writer that read the same revision gets
//! [`StoreError::Conflict`] and nothing of its change lands.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use etcd_client::{Client, Compare, CompareOp, ConnectOptions, GetOptions, Txn, TxnOp};
use serde::{Deserialize, Serialize};
use ztnic_intent::{Engine, Host, Instance, Intent, IntentError, Labels, PolicyFile, Workload};

/// The prefix every key lives under unless told otherwise.
pub const DEFAULT_PREFIX: &str = "/ztnic/v1/";
/// The etcd the commands talk to unless told otherwise.
pub const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:2379";

/// Why the store refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// etcd could not be reached or failed a request (the client's error,
    /// which carries the transport's cause, is in the message).
    #[error("etcd at {endpoints}: {message}")]
    Etcd { endpoints: String, message: String },
    #[error("etcd key {key}: malformed value: {reason}")]
    Malformed { key: String, reason: String },
    #[error("rejected, nothing written: {0}")]
    Rejected(String),
    #[error(
        "conflict: another writer changed the desired state after revision {revision}; nothing was written (read again and retry)"
    )]
    Conflict { revision: i64 },
}

impl From<IntentError> for StoreError {
    fn from(e: IntentError) -> Self {
        StoreError::Rejected(e.to_string())
    }
}

/// `hosts/<name>`: a NIC's name and tunnel endpoint, from the policy.
pub type HostRecord = Host;

/// `workloads/<name>`: a workload and its labels (its instances are keys of their own).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadRecord {
    pub name: String,
    pub labels: Labels,
}

/// `instances/<ip>`: one running instance: its workload, the NIC it sits behind,
/// its address and the NIC's virtual port.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceRecord {
    pub workload: String,
    pub nic: String,
    pub ip: IpAddr,
    pub vport: u16,
}

/// `nics/<name>`: where a NIC's agent serves P4Runtime.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NicRegistration {
    pub name: String,
    /// `host:port` of the agent's P4Runtime server.
    pub p4rt: String,
    /// A reference to the TLS settings to use (a name the controller resolves,
    /// e.g. a directory of PEM files); never the key material itself. `None`:
    /// plaintext (loopback only, as `ztnic apply` enforces).
    #[serde(default)]
    pub tls: Option<String>,
}

/// Key material: printed, logged and `Debug`-formatted only as `<redacted>`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps hex key material (at least 128 bits).
    pub fn from_hex(hex: &str) -> Result<Secret, StoreError> {
        check_hex(hex).map_err(StoreError::Rejected)?;
        Ok(Secret(hex.to_owned()))
    }

    /// The key material, hex; for the code that uses the key, never for output.
    pub fn expose_hex(&self) -> &str {
        &self.0
    }
}

fn check_hex(hex: &str) -> Result<(), String> {
    if hex.len() < 32 || hex.len() % 2 != 0 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("a trust-domain key must be at least 128 bits, written as hex".into());
    }
    Ok(())
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// One key of the trust domain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustKey {
    pub id: String,
    pub secret: Secret,
}

/// `trust/keys`: the trust domain's name and keys.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustKeys {
    pub domain: String,
    pub keys: Vec<TrustKey>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct IntentsRecord {
    intents: Vec<Intent>,
}

/// The whole desired state, as read from (or to be written to) etcd.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Desired {
    pub intents: Vec<Intent>,
    pub hosts: BTreeMap<String, HostRecord>,
    pub workloads: BTreeMap<String, WorkloadRecord>,
    pub instances: BTreeMap<IpAddr, InstanceRecord>,
    pub nics: BTreeMap<String, NicRegistration>,
    /// The compiler's allocations (contexts, epochs, rule ids, generation);
    /// `None` before the first write. Recomputed by every commit.
    pub engine: Option<Engine>,
    pub trust: Option<TrustKeys>,
}

/// The desired state at one etcd revision, with what a guarded write needs.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub desired: Desired,
    /// The etcd revision it was read at.
    pub revision: i64,
    /// Full key → mod revision, for every key read.
    mod_revs: BTreeMap<String, i64>,
}

impl Snapshot {
    /// The mod revision of a key (relative to the prefix) when read; 0 if absent.
    pub fn mod_revision(&self, prefix: &str, key: &str) -> i64 {
        self.mod_revs
            .get(&format!("{prefix}{key}"))
            .copied()
            .unwrap_or(0)
    }
}

/// What a commit did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Commit {
    /// The etcd revision after the write (the read revision if nothing changed).
    pub revision: i64,
    /// Keys put and deleted.
    pub puts: usize,
    pub deletes: usize,
}

fn labels_of(pairs: &[(String, String)]) -> Result<Labels, StoreError> {
    if pairs.is_empty() {
        return Err(StoreError::Rejected(
            "a workload needs at least one label".into(),
        ));
    }
    let mut l = Labels::new();
    for (k, v) in pairs {
        if l.insert(k.clone(), v.clone()).is_some() {
            return Err(StoreError::Rejected(format!("label {k:?} given twice")));
        }
    }
    Ok(l)
}

impl Desired {
    /// Replaces hosts, workloads, instances and intents with a policy file's
    /// (declarative: workloads and instances not in the file are removed); NIC
    /// registrations and trust keys stay.
    pub fn apply_policy(&mut self, f: &PolicyFile) -> Result<(), StoreError> {
        // The compiler's own checks (duplicates, unknown hosts, addresses in use)
        // run on the file as written, before it is split into keys.
        Engine::from_file(f)?;
        self.intents = f.intents.clone();
        self.hosts = f
            .hosts
            .iter()
            .map(|h| (h.name.clone(), h.clone()))
            .collect();
        self.workloads.clear();
        self.instances.clear();
        for w in &f.workloads {
            self.workloads.insert(
                w.name.clone(),
                WorkloadRecord {
                    name: w.name.clone(),
                    labels: w.labels.clone(),
                },
            );
            for i in &w.instances {
                self.instances.insert(
                    i.ip,
                    InstanceRecord {
                        workload: w.name.clone(),
                        nic: i.host.clone(),
                        ip: i.ip,
                        vport: i.vport,
                    },
                );
            }
        }
        Ok(())
    }

    /// Adds a workload with these labels (no instances yet).
    pub fn add_workload(
        &mut self,
        name: &str,
        labels: &[(String, String)],
    ) -> Result<(), StoreError> {
        let labels = labels_of(labels)?;
        if self.workloads.contains_key(name) {
            return Err(StoreError::Rejected(format!(
                "workload {name:?} already exists (use relabel)"
            )));
        }
        self.workloads.insert(
            name.to_owned(),
            WorkloadRecord {
                name: name.to_owned(),
                labels,
            },
        );
        Ok(())
    }

    /// Replaces a workload's labels (it moves to the new label set's context).
    pub fn relabel(&mut self, name: &str, labels: &[(String, String)]) -> Result<(), StoreError> {
        let labels = labels_of(labels)?;
        let w = self
            .workloads
            .get_mut(name)
            .ok_or_else(|| StoreError::Rejected(format!("unknown workload {name:?}")))?;
        w.labels = labels;
        Ok(())
    }

    /// Adds an instance of a workload behind a NIC; `vport` `None` takes the
    /// NIC's lowest unused virtual port.
    pub fn add_instance(
        &mut self,
        workload: &str,
        nic: &str,
        ip: IpAddr,
        vport: Option<u16>,
    ) -> Result<(), StoreError> {
        if !self.workloads.contains_key(workload) {
            return Err(StoreError::Rejected(format!(
                "unknown workload {workload:?}"
            )));
        }
        if let Some(i) = self.instances.get(&ip) {
            return Err(StoreError::Rejected(format!(
                "address {ip} is already used by an instance of {:?} on {:?}",
                i.workload, i.nic
            )));
        }
        let used: Vec<u16> = self
            .instances
            .values()
            .filter(|i| i.nic == nic)
            .map(|i| i.vport)
            .collect();
        let vport = match vport {
            Some(v) if used.contains(&v) => {
                return Err(StoreError::Rejected(format!(
                    "vport {v} of NIC {nic:?} is already used"
                )));
            }
            Some(v) => v,
            None => (1..=u16::MAX)
                .find(|v| !used.contains(v))
                .ok_or_else(|| StoreError::Rejected(format!("NIC {nic:?} has no free vport")))?,
        };
        self.instances.insert(
            ip,
            InstanceRecord {
                workload: workload.to_owned(),
                nic: nic.to_owned(),
                ip,
                vport,
            },
        );
        Ok(())
    }

    /// Removes the instance of `workload` at `ip` behind `nic`.
    pub fn remove_instance(
        &mut self,
        workload: &str,
        nic: &str,
        ip: IpAddr,
    ) -> Result<(), StoreError> {
        match self.instances.get(&ip) {
            Some(i) if i.workload == workload && i.nic == nic => {
                self.instances.remove(&ip);
                Ok(())
            }
            Some(i) => Err(StoreError::Rejected(format!(
                "the instance at {ip} is {:?} on {:?}, not {workload:?} on {nic:?}",
                i.workload, i.nic
            ))),
            None => Err(StoreError::Rejected(format!(
                "{workload:?} has no instance at {ip}"
            ))),
        }
    }

    /// Registers (or re-registers) a NIC's P4Runtime address and TLS reference.
    pub fn register_nic(
        &mut self,
        name: &str,
        p4rt: &str,
        tls: Option<String>,
    ) -> Result<(), StoreError> {
        if name.is_empty() || name.contains('/') {
            return Err(StoreError::Rejected(format!("bad NIC name {name:?}")));
        }
        p4rt.parse::<std::net::SocketAddr>()
            .map(|_| ())
            .or_else(|_| match p4rt.rsplit_once(':') {
                Some((h, p)) if !h.is_empty() && p.parse::<u16>().is_ok() => Ok(()),
                _ => Err(StoreError::Rejected(format!(
                    "P4Runtime address {p4rt:?} is not host:port"
                ))),
            })?;
        self.nics.insert(
            name.to_owned(),
            NicRegistration {
                name: name.to_owned(),
                p4rt: p4rt.to_owned(),
                tls,
            },
        );
        Ok(())
    }

    /// The desired state as the intent compiler's policy file.
    pub fn policy_file(&self) -> PolicyFile {
        let mut workloads: BTreeMap<&str, Workload> = self
            .workloads
            .values()
            .map(|w| {
                (
                    w.name.as_str(),
                    Workload {
                        name: w.name.clone(),
                        labels: w.labels.clone(),
                        instances: Vec::new(),
                    },
                )
            })
            .collect();
        for i in self.instances.values() {
            if let Some(w) = workloads.get_mut(i.workload.as_str()) {
                w.instances.push(Instance {
                    ip: i.ip,
                    host: i.nic.clone(),
                    vport: i.vport,
                });
            }
        }
        PolicyFile {
            hosts: self.hosts.values().cloned().collect(),
            workloads: workloads.into_values().collect(),
            intents: self.intents.clone(),
        }
    }

    /// Compiles the desired state, keeping the stored allocations (context ids
    /// stay, relabelled contexts' epochs and the generation are bumped).
    pub fn compile(&mut self) -> Result<(), StoreError> {
        for i in self.instances.values() {
            if !self.workloads.contains_key(&i.workload) {
                return Err(StoreError::Rejected(format!(
                    "the instance at {} belongs to unknown workload {:?}",
                    i.ip, i.workload
                )));
            }
        }
        // `Engine::new`, not `Engine::default`: a fresh engine starts its context,
        // rule and generation counters at their first allocated values.
        let mut engine = match &self.engine {
            Some(e) => e.clone(),
            None => Engine::new(),
        };
        engine.replace(&self.policy_file())?;
        self.engine = Some(engine);
        Ok(())
    }

    /// Every key (relative to the prefix) and its JSON value.
    fn to_kvs(&self) -> Result<BTreeMap<String, String>, StoreError> {
        fn json<T: Serialize>(v: &T) -> Result<String, StoreError> {
            serde_json::to_string(v).map_err(|e| StoreError::Rejected(e.to_string()))
        }
        let mut kvs = BTreeMap::new();
        if !self.intents.is_empty() || self.engine.is_some() {
            kvs.insert(
                "intents".to_owned(),
                json(&IntentsRecord {
                    intents: self.intents.clone(),
                })?,
            );
        }
        for (n, h) in &self.hosts {
            kvs.insert(format!("hosts/{n}"), json(h)?);
        }
        for (n, w) in &self.workloads {
            kvs.insert(format!("workloads/{n}"), json(w)?);
        }
        for (ip, i) in &self.instances {
            kvs.insert(format!("instances/{ip}"), json(i)?);
        }
        for (n, r) in &self.nics {
            kvs.insert(format!("nics/{n}"), json(r)?);
        }
        if let Some(e) = &self.engine {
            kvs.insert("engine".to_owned(), json(e)?);
        }
        if let Some(t) = &self.trust {
            kvs.insert("trust/keys".to_owned(), json(t)?);
        }
        Ok(kvs)
    }

    /// The desired state for people and scripts, with key material replaced by
    /// `<redacted>`.
    pub fn redacted_json(&self) -> serde_json::Value {
        let contexts: Vec<serde_json::Value> = self
            .engine
            .iter()
            .flat_map(|e| e.contexts())
            .map(|c| serde_json::json!({"id": c.id, "epoch": c.epoch, "labels": c.labels}))
            .collect();
        serde_json::json!({
            "intents": self.intents,
            "hosts": self.hosts.values().collect::<Vec<_>>(),
            "workloads": self.workloads.values().collect::<Vec<_>>(),
            "instances": self.instances.values().collect::<Vec<_>>(),
            "nics": self.nics.values().collect::<Vec<_>>(),
            "contexts": contexts,
            "generation": self.engine.as_ref().map(|e| e.policy_gen()),
            "trust": self.trust.as_ref().map(|t| serde_json::json!({
                "domain": t.domain,
                "keys": t.keys.iter().map(|k| serde_json::json!({"id": k.id, "secret": "<redacted>"})).collect::<Vec<_>>(),
            })),
        })
    }
}

fn parse<T: for<'de> Deserialize<'de>>(key: &str, value: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(value).map_err(|e| StoreError::Malformed {
        key: key.to_owned(),
        reason: e.to_string(),
    })
}

fn name_matches(key: &str, in_key: &str, in_value: &str) -> Result<(), StoreError> {
    if in_key == in_value {
        Ok(())
    } else {
        Err(StoreError::Malformed {
            key: key.to_owned(),
            reason: format!("the value names {in_value:?}, the key {in_key:?}"),
        })
    }
}

/// The desired state in one etcd cluster, under one prefix.
pub struct Store {
    client: Client,
    prefix: String,
    endpoints: String,
}

fn etcd_error(endpoints: &str, e: etcd_client::Error) -> StoreError {
    StoreError::Etcd {
        endpoints: endpoints.to_owned(),
        message: e.to_string(),
    }
}

impl Store {
    /// Connects to etcd (`endpoints`: URLs such as `http://127.0.0.1:2379`).
    pub async fn connect(endpoints: &[String], prefix: &str) -> Result<Store, StoreError> {
        if !prefix.starts_with('/') || !prefix.ends_with('/') {
            return Err(StoreError::Rejected(format!(
                "prefix {prefix:?} must start and end with '/'"
            )));
        }
        let opts = ConnectOptions::new()
            .with_connect_timeout(Duration::from_secs(5))
            .with_timeout(Duration::from_secs(10));
        let joined = endpoints.join(",");
        let client = Client::connect(endpoints, Some(opts))
            .await
            .map_err(|e| etcd_error(&joined, e))?;
        Ok(Store {
            client,
            prefix: prefix.to_owned(),
            endpoints: joined,
        })
    }

    /// Splits `a,b,c` into endpoint URLs (a bare `host:port` gets `http://`).
    pub fn endpoints(list: &str) -> Vec<String> {
        list.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                if s.contains("://") {
                    s.to_owned()
                } else {
                    format!("http://{s}")
                }
            })
            .collect()
    }

    /// The prefix keys live under.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The etcd client (for tests and tools that need raw access).
    pub fn client(&mut self) -> &mut Client {
        &mut self.client
    }

    /// Reads the whole desired state at one revision, checking every value.
    pub async fn snapshot(&mut self) -> Result<Snapshot, StoreError> {
        let resp = self
            .client
            .get(self.prefix.as_str(), Some(GetOptions::new().with_prefix()))
            .await
            .map_err(|e| etcd_error(&self.endpoints, e))?;
        let revision = resp.header().map(|h| h.revision()).unwrap_or(0);
        let mut d = Desired::default();
        let mut mod_revs = BTreeMap::new();
        for kv in resp.kvs() {
            let key = String::from_utf8_lossy(kv.key()).into_owned();
            mod_revs.insert(key.clone(), kv.mod_revision());
            let rel = &key[self.prefix.len()..];
            let v = kv.value();
            match rel.split_once('/') {
                None if rel == "intents" => {
                    d.intents = parse::<IntentsRecord>(&key, v)?.intents;
                }
                None if rel == "engine" => {
                    let text = std::str::from_utf8(v).map_err(|e| StoreError::Malformed {
                        key: key.clone(),
                        reason: e.to_string(),
                    })?;
                    d.engine = Some(Engine::load(text).map_err(|e| StoreError::Malformed {
                        key: key.clone(),
                        reason: e.to_string(),
                    })?);
                }
                Some(("hosts", n)) => {
                    let h: HostRecord = parse(&key, v)?;
                    name_matches(&key, n, &h.name)?;
                    d.hosts.insert(h.name.clone(), h);
                }
                Some(("workloads", n)) => {
                    let w: WorkloadRecord = parse(&key, v)?;
                    name_matches(&key, n, &w.name)?;
                    d.workloads.insert(w.name.clone(), w);
                }
                Some(("instances", ip)) => {
                    let i: InstanceRecord = parse(&key, v)?;
                    name_matches(&key, ip, &i.ip.to_string())?;
                    d.instances.insert(i.ip, i);
                }
                Some(("nics", n)) => {
                    let r: NicRegistration = parse(&key, v)?;
                    name_matches(&key, n, &r.name)?;
                    d.nics.insert(r.name.clone(), r);
                }
                Some(("trust", "keys")) => {
                    // serde's message can quote the value: say only where it broke.
                    let t: TrustKeys =
                        serde_json::from_slice(v).map_err(|e| StoreError::Malformed {
                            key: key.clone(),
                            reason: format!(
                                "not a trust-keys record ({:?} error at line {} column {}; details withheld: the value holds key material)",
                                e.classify(),
                                e.line(),
                                e.column()
                            ),
                        })?;
                    for k in &t.keys {
                        check_hex(k.secret.expose_hex()).map_err(|reason| {
                            StoreError::Malformed {
                                key: key.clone(),
                                reason: format!("key {:?}: {reason}", k.id),
                            }
                        })?;
                    }
                    d.trust = Some(t);
                }
                _ => {
                    return Err(StoreError::Malformed {
                        key,
                        reason: "not a key of the ztnic desired-state layout".into(),
                    });
                }
            }
        }
        Ok(Snapshot {
            desired: d,
            revision,
            mod_revs,
        })
    }

    /// Writes `next` (compiled first: a rejected state writes nothing) as one
    /// transaction that succeeds only if the `engine` key and every key it puts
    /// or deletes are still as `base` read them.
    pub async fn commit(
        &mut self,
        base: &Snapshot,
        mut next: Desired,
    ) -> Result<Commit, StoreError> {
        next.compile()?;
        let old = base.desired.to_kvs()?;
        let new = next.to_kvs()?;
        let full = |k: &str| format!("{}{k}", self.prefix);
        let mut compares = Vec::new();
        let mut ops = Vec::new();
        let (mut puts, mut deletes) = (0, 0);
        for (k, v) in &new {
            if old.get(k) != Some(v) {
                let key = full(k);
                compares.push(Compare::mod_revision(
                    key.clone(),
                    CompareOp::Equal,
                    base.mod_revision(&self.prefix, k),
                ));
                ops.push(TxnOp::put(key, v.clone(), None));
                puts += 1;
            }
        }
        for k in old.keys().filter(|k| !new.contains_key(*k)) {
            let key = full(k);
            compares.push(Compare::mod_revision(
                key.clone(),
                CompareOp::Equal,
                base.mod_revision(&self.prefix, k),
            ));
            ops.push(TxnOp::delete(key, None));
            deletes += 1;
        }
        if ops.is_empty() {
            return Ok(Commit {
                revision: base.revision,
                puts: 0,
                deletes: 0,
            });
        }
        if !new.contains_key("engine") || old.get("engine") == new.get("engine") {
            // Every change goes through the engine key, so two writers that
            // read the same state always contend on it.
            compares.push(Compare::mod_revision(
                full("engine"),
                CompareOp::Equal,
                base.mod_revision(&self.prefix, "engine"),
            ));
        }
        let resp = self
            .client
            .txn(Txn::new().when(compares).and_then(ops))
            .await
            .map_err(|e| etcd_error(&self.endpoints, e))?;
        if !resp.succeeded() {
            return Err(StoreError::Conflict {
                revision: base.revision,
            });
        }
        Ok(Commit {
            revision: resp.header().map(|h| h.revision()).unwrap_or(0),
            puts,
            deletes,
        })
    }

    /// Reads, changes and writes the desired state once (no retry: a conflict is
    /// returned to the caller).
    pub async fn update<F>(&mut self, change: F) -> Result<(Commit, Desired), StoreError>
    where
        F: FnOnce(&mut Desired) -> Result<(), StoreError>,
    {
        let base = self.snapshot().await?;
        let mut next = base.desired.clone();
        change(&mut next)?;
        let commit = self.commit(&base, next.clone()).await?;
        next.compile()?;
        Ok((commit, next))
    }

    /// Sets the trust domain's keys.
    pub async fn set_trust_keys(&mut self, keys: TrustKeys) -> Result<Commit, StoreError> {
        for k in &keys.keys {
            check_hex(k.secret.expose_hex()).map_err(StoreError::Rejected)?;
        }
        self.update(|d| {
            d.trust = Some(keys);
            Ok(())
        })
        .await
        .map(|(c, _)| c)
    }
}

/// A host's tunnel endpoint, for callers that build [`HostRecord`]s.
pub fn host(name: &str, vtep: Ipv4Addr) -> HostRecord {
    Host {
        name: name.to_owned(),
        vtep,
    }
}
