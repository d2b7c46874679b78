//! # ztnic-intent — the identity policy engine
//!
//! Zero-trust intents are written over workload labels ("allow app=haproxy,
//! sslVersion=1.8 → app=nginx on tcp/443"), not over addresses. This crate turns them
//! into what a ztnic datapath enforces (design §6):
//!
//! - every distinct label set becomes one **context** (ids from 256 up, stable while the
//!   label set exists), with an epoch;
//! - each intent compiles into rules over the contexts its selectors match, so the rule
//!   count grows with the number of contexts, not of instances: a new instance of a
//!   known label set costs endpoint entries only;
//! - each NIC gets its desired tables ([`NicState`]): `ctx_epoch`, the `vport_ctx` and
//!   `local_ep` entries of the instances it hosts, `remote_ep` routes to the others, and
//!   the rules that concern its workloads; [`diff`] turns a change into table operations;
//! - a changed label set moves a workload to another context, bumps the epochs involved
//!   and the policy generation, so live connections are re-checked.
//!
//! All of it is plain synchronous code over serialisable state, so a restarted runtime
//! can reload it and reconcile with what a device holds.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use ztnic_model::tables::{CtxEpoch, LocalEp, Prefix, RemoteAction, RemoteEp, VportCtx};
use ztnic_model::tag::{CTX_FIRST_ALLOCATED, CTX_WORLD};
use ztnic_model::{Action, Op, PortRange, ProtoMatch, Rule};

pub mod synthetic;

/// A workload's labels (`app`, `image`, `version`, `patch`, …).
pub type Labels = BTreeMap<String, String>;

/// One side of an intent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Peer {
    /// Every context (the rule's context field is a wildcard).
    Any,
    /// Untagged traffic from outside the trust domain (context `world`).
    World,
    /// Workloads carrying all these labels (and possibly more).
    Labels(Labels),
}

impl Peer {
    fn matches(&self, labels: &Labels) -> bool {
        match self {
            Peer::Any => true,
            Peer::World => false,
            Peer::Labels(sel) => sel.iter().all(|(k, v)| labels.get(k) == Some(v)),
        }
    }
}

impl Serialize for Peer {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Peer::Any => s.serialize_str("any"),
            Peer::World => s.serialize_str("world"),
            Peer::Labels(l) => l.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Peer {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Word(String),
            Labels(Labels),
        }
        match Raw::deserialize(d)? {
            Raw::Word(w) if w == "any" => Ok(Peer::Any),
            Raw::Word(w) if w == "world" => Ok(Peer::World),
            Raw::Word(w) => Err(serde::de::Error::custom(format!(
                "a peer is `any`, `world` or a map of labels, not {w:?}"
            ))),
            Raw::Labels(l) if l.is_empty() => Err(serde::de::Error::custom(
                "an empty label selector would match everything: write `any`",
            )),
            Raw::Labels(l) => Ok(Peer::Labels(l)),
        }
    }
}

/// "Workloads matching `from` may (not) open connections to workloads matching `to`."
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Intent {
    pub name: String,
    pub from: Peer,
    pub to: Peer,
    #[serde(default)]
    pub proto: ProtoMatch,
    #[serde(default)]
    pub ports: PortRange,
    pub action: Action,
    #[serde(default = "default_priority")]
    pub priority: u16,
}

fn default_priority() -> u16 {
    100
}

/// A NIC: its name and tunnel endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Host {
    pub name: String,
    pub vtep: Ipv4Addr,
}

/// One running instance of a workload: an address behind a vport of a host's NIC.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Instance {
    pub ip: IpAddr,
    pub host: String,
    pub vport: u16,
}

/// A workload: a label set and its instances.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workload {
    pub name: String,
    pub labels: Labels,
    #[serde(default)]
    pub instances: Vec<Instance>,
}

/// A policy file: hosts, workloads and intents.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyFile {
    #[serde(default)]
    pub hosts: Vec<Host>,
    #[serde(default)]
    pub workloads: Vec<Workload>,
    #[serde(default)]
    pub intents: Vec<Intent>,
}

impl PolicyFile {
    /// Parses a YAML policy file.
    pub fn from_yaml(text: &str) -> Result<Self, IntentError> {
        serde_yaml_ng::from_str(text).map_err(|e| IntentError::Parse(e.to_string()))
    }
}

/// A request the engine refuses; the engine is unchanged when it does.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntentError {
    #[error("policy file: {0}")]
    Parse(String),
    #[error("duplicate {what} {name:?}")]
    Duplicate { what: &'static str, name: String },
    #[error("workload {workload:?}: instance {ip} is on unknown host {host:?}")]
    UnknownHost {
        workload: String,
        ip: IpAddr,
        host: String,
    },
    #[error("address {ip} is used by two instances ({first:?} and {second:?})")]
    AddressInUse {
        ip: IpAddr,
        first: String,
        second: String,
    },
    #[error("unknown workload {0:?}")]
    UnknownWorkload(String),
    #[error("context ids exhausted (24 bits)")]
    ContextsExhausted,
    #[error("state file: {0}")]
    State(String),
}

/// A context the engine allocated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Context {
    pub id: u32,
    pub epoch: u8,
    pub labels: Labels,
}

/// Everything the engine knows; serialisable so a restarted runtime resumes with the
/// same context ids, epochs, rule ids and generation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Engine {
    hosts: BTreeMap<String, Ipv4Addr>,
    workloads: BTreeMap<String, Workload>,
    intents: Vec<Intent>,
    /// Canonical label text → context.
    contexts: BTreeMap<String, Context>,
    next_ctx: u32,
    /// (intent name, src ctx, dst ctx) → rule id (0 stands for "any").
    #[serde(with = "pairs")]
    rule_ids: BTreeMap<(String, u32, u32), u32>,
    next_rule: u32,
    policy_gen: u16,
}

/// A map with structured keys, stored as a list of pairs (JSON keys must be strings).
mod pairs {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<K: Serialize, V: Serialize, S: Serializer>(
        m: &BTreeMap<K, V>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(m.iter())
    }

    pub fn deserialize<'de, K, V, D>(d: D) -> Result<BTreeMap<K, V>, D::Error>
    where
        K: Deserialize<'de> + Ord,
        V: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        Ok(Vec::<(K, V)>::deserialize(d)?.into_iter().collect())
    }
}

fn canonical(labels: &Labels) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The tables one NIC should hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NicState {
    pub ctx_epoch: BTreeMap<u32, u8>,
    pub vport_ctx: BTreeMap<(u16, IpAddr), VportCtx>,
    pub local_ep: BTreeMap<IpAddr, LocalEp>,
    pub remote_ep: BTreeMap<(IpAddr, u8), RemoteEp>,
    pub rules: BTreeMap<u32, Rule>,
    pub policy_gen: u16,
}

impl NicState {
    /// Number of table entries.
    pub fn entries(&self) -> usize {
        self.ctx_epoch.len()
            + self.vport_ctx.len()
            + self.local_ep.len()
            + self.remote_ep.len()
            + self.rules.len()
    }

    /// The state as table operations on an empty device (without the generation).
    pub fn ops(&self) -> Vec<Op> {
        diff(&NicState::default(), self)
    }
}

/// What a change did, for people.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Change {
    pub contexts_added: Vec<u32>,
    pub contexts_removed: Vec<u32>,
    pub epochs_bumped: Vec<u32>,
    pub generation_bumped: bool,
}

impl Engine {
    /// An engine with no hosts, workloads or intents.
    pub fn new() -> Self {
        Engine {
            next_ctx: CTX_FIRST_ALLOCATED,
            next_rule: 1,
            policy_gen: 1,
            ..Engine::default()
        }
    }

    /// Loads a whole policy file into a fresh engine.
    pub fn from_file(f: &PolicyFile) -> Result<Self, IntentError> {
        let mut e = Engine::new();
        e.replace(f)?;
        Ok(e)
    }

    /// Replaces hosts, workloads and intents with the file's, keeping the ids of
    /// contexts and rules that remain. Rejected files change nothing.
    pub fn replace(&mut self, f: &PolicyFile) -> Result<Change, IntentError> {
        let mut next = self.clone();
        next.hosts.clear();
        for h in &f.hosts {
            if next.hosts.insert(h.name.clone(), h.vtep).is_some() {
                return Err(IntentError::Duplicate {
                    what: "host",
                    name: h.name.clone(),
                });
            }
        }
        let mut names = BTreeSet::new();
        for i in &f.intents {
            if !names.insert(i.name.clone()) {
                return Err(IntentError::Duplicate {
                    what: "intent",
                    name: i.name.clone(),
                });
            }
        }
        next.intents = f.intents.clone();
        let old: BTreeMap<String, Labels> = self
            .workloads
            .iter()
            .map(|(n, w)| (n.clone(), w.labels.clone()))
            .collect();
        next.workloads.clear();
        for w in &f.workloads {
            if next.workloads.insert(w.name.clone(), w.clone()).is_some() {
                return Err(IntentError::Duplicate {
                    what: "workload",
                    name: w.name.clone(),
                });
            }
        }
        next.validate()?;
        let relabelled: Vec<(Labels, Labels)> = f
            .workloads
            .iter()
            .filter_map(|w| {
                let before = old.get(&w.name)?;
                (before != &w.labels).then(|| (before.clone(), w.labels.clone()))
            })
            .collect();
        let change = next.settle(&relabelled)?;
        *self = next;
        Ok(change)
    }

    /// Adds an instance of a known workload.
    pub fn add_instance(&mut self, workload: &str, i: Instance) -> Result<Change, IntentError> {
        let mut next = self.clone();
        next.workloads
            .get_mut(workload)
            .ok_or_else(|| IntentError::UnknownWorkload(workload.into()))?
            .instances
            .push(i);
        next.validate()?;
        let change = next.settle(&[])?;
        *self = next;
        Ok(change)
    }

    /// Removes an instance (by address) of a workload.
    pub fn remove_instance(&mut self, workload: &str, ip: IpAddr) -> Result<Change, IntentError> {
        let mut next = self.clone();
        let w = next
            .workloads
            .get_mut(workload)
            .ok_or_else(|| IntentError::UnknownWorkload(workload.into()))?;
        w.instances.retain(|i| i.ip != ip);
        let change = next.settle(&[])?;
        *self = next;
        Ok(change)
    }

    /// Changes a workload's labels: it moves to the context of the new label set, the
    /// old and new contexts' epochs are bumped, and so is the policy generation.
    pub fn set_labels(&mut self, workload: &str, labels: Labels) -> Result<Change, IntentError> {
        let mut next = self.clone();
        let w = next
            .workloads
            .get_mut(workload)
            .ok_or_else(|| IntentError::UnknownWorkload(workload.into()))?;
        let before = std::mem::replace(&mut w.labels, labels.clone());
        let moved = if before == labels {
            vec![]
        } else {
            vec![(before, labels)]
        };
        let change = next.settle(&moved)?;
        *self = next;
        Ok(change)
    }

    /// Changes the labels of one instance (a compromised or unpatched replica)
    /// without touching its siblings: it leaves its workload for the workload that
    /// has exactly `labels` (created as `<workload>@<ip>` if none has), so it moves
    /// to that label set's context; epochs and the generation are bumped as for
    /// [`Engine::set_labels`].
    pub fn relabel_instance(&mut self, ip: IpAddr, labels: Labels) -> Result<Change, IntentError> {
        let mut next = self.clone();
        let (from, inst) = next
            .workloads
            .values_mut()
            .find_map(|w| {
                let pos = w.instances.iter().position(|i| i.ip == ip)?;
                Some((w.name.clone(), w.instances.remove(pos)))
            })
            .ok_or_else(|| IntentError::UnknownWorkload(format!("the instance at {ip}")))?;
        let before = next.workloads[&from].labels.clone();
        if before == labels {
            return Ok(Change::default());
        }
        let target = next
            .workloads
            .values()
            .find(|w| w.labels == labels)
            .map(|w| w.name.clone())
            .unwrap_or_else(|| format!("{from}@{ip}"));
        next.workloads
            .entry(target.clone())
            .or_insert_with(|| Workload {
                name: target,
                labels: labels.clone(),
                instances: Vec::new(),
            })
            .instances
            .push(inst);
        next.workloads
            .retain(|_, w| !w.instances.is_empty() || w.name == from);
        next.validate()?;
        let change = next.settle(&[(before, labels)])?;
        *self = next;
        Ok(change)
    }

    fn validate(&self) -> Result<(), IntentError> {
        let mut owners: BTreeMap<IpAddr, &str> = BTreeMap::new();
        for w in self.workloads.values() {
            for i in &w.instances {
                if !self.hosts.contains_key(&i.host) {
                    return Err(IntentError::UnknownHost {
                        workload: w.name.clone(),
                        ip: i.ip,
                        host: i.host.clone(),
                    });
                }
                if let Some(first) = owners.insert(i.ip, &w.name) {
                    return Err(IntentError::AddressInUse {
                        ip: i.ip,
                        first: first.into(),
                        second: w.name.clone(),
                    });
                }
            }
        }
        Ok(())
    }

    /// Allocates contexts for new label sets, frees those no workload uses, bumps the
    /// epochs of relabelled workloads' contexts and, when anything that decides
    /// admission changed, the generation; keeps rule ids stable.
    fn settle(&mut self, moved: &[(Labels, Labels)]) -> Result<Change, IntentError> {
        let mut change = Change::default();
        let live: BTreeSet<String> = self
            .workloads
            .values()
            .map(|w| canonical(&w.labels))
            .collect();
        let gone: Vec<String> = self
            .contexts
            .keys()
            .filter(|k| !live.contains(*k))
            .cloned()
            .collect();
        for k in gone {
            if let Some(c) = self.contexts.remove(&k) {
                change.contexts_removed.push(c.id);
            }
        }
        for w in self.workloads.values() {
            let key = canonical(&w.labels);
            if !self.contexts.contains_key(&key) {
                if self.next_ctx >= 1 << 24 {
                    return Err(IntentError::ContextsExhausted);
                }
                let id = self.next_ctx;
                self.next_ctx += 1;
                self.contexts.insert(
                    key,
                    Context {
                        id,
                        epoch: 1,
                        labels: w.labels.clone(),
                    },
                );
                change.contexts_added.push(id);
            }
        }
        for (before, after) in moved {
            for labels in [before, after] {
                if let Some(c) = self.contexts.get_mut(&canonical(labels)) {
                    c.epoch = c.epoch.wrapping_add(1).max(1);
                    change.epochs_bumped.push(c.id);
                }
            }
        }
        let before_rules = self.rule_ids.clone();
        self.assign_rule_ids();
        if !moved.is_empty() || self.rule_ids != before_rules || !change.contexts_removed.is_empty()
        {
            self.policy_gen = self.policy_gen.wrapping_add(1).max(1);
            change.generation_bumped = true;
        }
        Ok(change)
    }

    fn side(&self, p: &Peer) -> Vec<u32> {
        match p {
            Peer::Any => vec![0],
            Peer::World => vec![CTX_WORLD],
            Peer::Labels(_) => self
                .contexts
                .values()
                .filter(|c| p.matches(&c.labels))
                .map(|c| c.id)
                .collect(),
        }
    }

    fn assign_rule_ids(&mut self) {
        let mut wanted = BTreeSet::new();
        for i in &self.intents {
            for s in self.side(&i.from) {
                for d in self.side(&i.to) {
                    wanted.insert((i.name.clone(), s, d));
                }
            }
        }
        self.rule_ids.retain(|k, _| wanted.contains(k));
        for k in wanted {
            if !self.rule_ids.contains_key(&k) {
                self.rule_ids.insert(k, self.next_rule);
                self.next_rule += 1;
            }
        }
    }

    /// Every compiled rule.
    pub fn rules(&self) -> Vec<Rule> {
        let by_name: BTreeMap<&str, &Intent> =
            self.intents.iter().map(|i| (i.name.as_str(), i)).collect();
        self.rule_ids
            .iter()
            .filter_map(|((name, s, d), id)| {
                let i = by_name.get(name.as_str())?;
                Some(Rule {
                    id: *id,
                    priority: i.priority,
                    src: (*s != 0).then_some(*s),
                    dst: (*d != 0).then_some(*d),
                    proto: i.proto,
                    ports: i.ports,
                    action: i.action,
                })
            })
            .collect()
    }

    /// The name of the intent rule `id` was compiled from.
    pub fn intent_of_rule(&self, id: u32) -> Option<&str> {
        self.rule_ids
            .iter()
            .find(|(_, r)| **r == id)
            .map(|((name, _, _), _)| name.as_str())
    }

    /// The contexts in use.
    pub fn contexts(&self) -> impl Iterator<Item = &Context> {
        self.contexts.values()
    }

    /// The context of a workload.
    pub fn context_of(&self, workload: &str) -> Option<&Context> {
        let w = self.workloads.get(workload)?;
        self.contexts.get(&canonical(&w.labels))
    }

    /// The context with this id.
    pub fn context(&self, id: u32) -> Option<&Context> {
        self.contexts.values().find(|c| c.id == id)
    }

    pub fn workloads(&self) -> impl Iterator<Item = &Workload> {
        self.workloads.values()
    }

    pub fn hosts(&self) -> impl Iterator<Item = (&String, &Ipv4Addr)> {
        self.hosts.iter()
    }

    pub fn policy_gen(&self) -> u16 {
        self.policy_gen
    }

    /// The tables host `host`'s NIC should hold: every context's epoch, its own
    /// instances' endpoints, the rules whose source or destination is one of its
    /// workloads (or a wildcard / `world`), and host routes to the remote instances that
    /// one of those rules allows a local workload to reach or to be reached by (the
    /// replies go back through the tunnel too), and the default routes (IPv4 and IPv6)
    /// to the world; the policy decides who may use them.
    pub fn nic_state(&self, host: &str) -> NicState {
        let mut st = NicState {
            policy_gen: self.policy_gen,
            ..NicState::default()
        };
        for c in self.contexts.values() {
            st.ctx_epoch.insert(c.id, c.epoch);
        }
        let ctx_of = |w: &Workload| self.contexts.get(&canonical(&w.labels)).map(|c| c.id);
        let mut local_ctx = BTreeSet::new();
        for w in self.workloads.values() {
            let Some(ctx) = ctx_of(w) else { continue };
            for i in w.instances.iter().filter(|i| i.host == host) {
                local_ctx.insert(ctx);
                st.vport_ctx.insert(
                    (i.vport, i.ip),
                    VportCtx {
                        port: i.vport,
                        ip: i.ip,
                        ctx,
                        zone: 0,
                    },
                );
                st.local_ep.insert(
                    i.ip,
                    LocalEp {
                        ip: i.ip,
                        vport: i.vport,
                        ctx,
                        zone: 0,
                    },
                );
            }
        }
        let concerns = |c: Option<u32>| c.is_none_or(|c| c == CTX_WORLD || local_ctx.contains(&c));
        let mut reachable = BTreeSet::new();
        let mut reach_all = false;
        for r in self.rules() {
            if concerns(r.src) || concerns(r.dst) {
                st.rules.insert(r.id, r);
            }
            if r.action == Action::Allow && r.src.is_none_or(|c| local_ctx.contains(&c)) {
                match r.dst {
                    Some(d) => {
                        reachable.insert(d);
                    }
                    None => reach_all = true,
                }
            }
            // the replies of connections a remote peer may open to a local workload
            if r.action == Action::Allow && r.dst.is_none_or(|c| local_ctx.contains(&c)) {
                match r.src {
                    Some(s) => {
                        reachable.insert(s);
                    }
                    None => reach_all = true,
                }
            }
        }
        for w in self.workloads.values() {
            let Some(ctx) = ctx_of(w) else { continue };
            if !reach_all && !reachable.contains(&ctx) {
                continue;
            }
            for i in w.instances.iter().filter(|i| i.host != host) {
                let Some(vtep) = self.hosts.get(&i.host) else {
                    continue;
                };
                let len = if i.ip.is_ipv4() { 32 } else { 128 };
                st.remote_ep.insert(
                    (i.ip, len),
                    RemoteEp {
                        prefix: Prefix { addr: i.ip, len },
                        action: RemoteAction::Geneve { vtep: *vtep, ctx },
                    },
                );
            }
        }
        // Everything else is the world, reached natively through the uplink; the
        // policy decides whether a workload may (a rule to `world` or `any`).
        for addr in [IpAddr::V4(Ipv4Addr::UNSPECIFIED), IpAddr::V6(0.into())] {
            st.remote_ep.insert(
                (addr, 0),
                RemoteEp {
                    prefix: Prefix { addr, len: 0 },
                    action: RemoteAction::World,
                },
            );
        }
        st
    }

    /// Serialises the engine's state (JSON).
    pub fn save(&self) -> Result<String, IntentError> {
        serde_json::to_string_pretty(self).map_err(|e| IntentError::State(e.to_string()))
    }

    /// Restores a saved state.
    pub fn load(text: &str) -> Result<Self, IntentError> {
        serde_json::from_str(text).map_err(|e| IntentError::State(e.to_string()))
    }
}

/// The operations that turn `have` into `want`: additions and updates first (epochs,
/// rules, endpoints), then removals (endpoints, rules, epochs), so that no packet ever
/// meets a rule about a context the NIC does not know. The generation is not included:
/// the caller writes it last, with its configuration.
pub fn diff(have: &NicState, want: &NicState) -> Vec<Op> {
    let mut ops = Vec::new();
    for (ctx, epoch) in &want.ctx_epoch {
        if have.ctx_epoch.get(ctx) != Some(epoch) {
            ops.push(Op::SetCtxEpoch(CtxEpoch {
                ctx: *ctx,
                epoch: *epoch,
            }));
        }
    }
    for (id, r) in &want.rules {
        if have.rules.get(id) != Some(r) {
            ops.push(Op::SetRule(*r));
        }
    }
    for (k, e) in &want.vport_ctx {
        if have.vport_ctx.get(k) != Some(e) {
            ops.push(Op::SetVportCtx(*e));
        }
    }
    for (k, e) in &want.local_ep {
        if have.local_ep.get(k) != Some(e) {
            ops.push(Op::SetLocalEp(*e));
        }
    }
    for (k, e) in &want.remote_ep {
        if have.remote_ep.get(k) != Some(e) {
            ops.push(Op::SetRemoteEp(*e));
        }
    }
    for (k, e) in &have.remote_ep {
        if !want.remote_ep.contains_key(k) {
            ops.push(Op::DeleteRemoteEp { prefix: e.prefix });
        }
    }
    for (ip, _) in have
        .local_ep
        .iter()
        .filter(|(k, _)| !want.local_ep.contains_key(*k))
    {
        ops.push(Op::DeleteLocalEp { ip: *ip });
    }
    for ((port, ip), _) in have
        .vport_ctx
        .iter()
        .filter(|(k, _)| !want.vport_ctx.contains_key(*k))
    {
        ops.push(Op::DeleteVportCtx {
            port: *port,
            ip: *ip,
        });
    }
    for id in have.rules.keys().filter(|k| !want.rules.contains_key(*k)) {
        ops.push(Op::DeleteRule { id: *id });
    }
    for ctx in have
        .ctx_epoch
        .keys()
        .filter(|k| !want.ctx_epoch.contains_key(*k))
    {
        ops.push(Op::DeleteCtxEpoch { ctx: *ctx });
    }
    ops
}

/// The same intents expanded to IP/port ACL entries, as an address-based firewall
/// needs them: one entry per intent × source instance × destination instance, held on
/// the NIC of each end (once when both are on the same NIC). A side that is `any` or
/// `world` is one wildcard prefix. The total over all NICs.
pub fn acl_entries(f: &PolicyFile) -> u64 {
    // `None` stands for a wildcard prefix, which lives on no particular host.
    let ends = |p: &Peer| -> Vec<Option<&str>> {
        match p {
            Peer::Any | Peer::World => vec![None],
            Peer::Labels(_) => f
                .workloads
                .iter()
                .filter(|w| p.matches(&w.labels))
                .flat_map(|w| w.instances.iter().map(|i| Some(i.host.as_str())))
                .collect(),
        }
    };
    let mut total = 0u64;
    for i in &f.intents {
        let (src, dst) = (ends(&i.from), ends(&i.to));
        for s in &src {
            for d in &dst {
                total += match (s, d) {
                    (Some(a), Some(b)) if a != b => 2,
                    (None, None) => f.hosts.len() as u64,
                    _ => 1,
                };
            }
        }
    }
    total
}

#[cfg(test)]
mod tests;
