//! One connected ztnic device: the P4Runtime session, the program mapping and the
//! record of what the device holds.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use ztnic_model::tables::{LocalEp, PortClass, Prefix, RemoteEp, VportCtx};
use ztnic_model::{Config, Counters, DropReason, Op, OverflowFlow, PacketsBytes, PuntReason};
use ztnic_p4runtime_client::protocol::config::P4Info;
use ztnic_p4runtime_client::protocol::v1::{
    self, CounterData, TableEntry, digest_entry, entity::Entity,
    get_forwarding_pipeline_config_request::ResponseType, update::Type,
};
use ztnic_p4runtime_client::protocol::{P4InfoIndex, text};
use ztnic_p4runtime_client::{Atomicity, ClientConfig, ClientError, P4RuntimeClient, StreamEvent};
use ztnic_p4tables::{Program, Written, names};

use crate::ControllerError;
use ztnic_intent::NicState;

/// Updates per P4Runtime Write.
pub const DEFAULT_BATCH: usize = 500;

/// The pipeline a device must run: the ztnic P4Info and the target's device
/// configuration (bmv2's JSON; empty for a target that needs none, like the
/// in-memory server or an FPGA agent with a fixed program).
#[derive(Clone, Debug, PartialEq)]
pub struct PipelineSource {
    /// The ztnic program's P4Info.
    pub p4info: P4Info,
    /// The opaque device configuration sent with it.
    pub device_config: Vec<u8>,
}

impl PipelineSource {
    /// A source from a P4Info and a device configuration blob.
    pub fn new(p4info: P4Info, device_config: Vec<u8>) -> PipelineSource {
        PipelineSource {
            p4info,
            device_config,
        }
    }

    /// Reads the P4Info text file (`p4/build/ztnic.p4info.txtpb`) and, if given, the
    /// device configuration (`p4/build/ztnic.json` for bmv2).
    pub fn from_files(
        p4info: impl AsRef<Path>,
        device_config: Option<&Path>,
    ) -> Result<PipelineSource, ControllerError> {
        let path = p4info.as_ref();
        let p4info = text::load_p4info(path).map_err(|e| {
            ControllerError::Pipeline(format!("reading P4Info {}: {e}", path.display()))
        })?;
        let device_config = match device_config {
            Some(p) => std::fs::read(p).map_err(|source| ControllerError::Io {
                path: p.to_path_buf(),
                source,
            })?,
            None => Vec::new(),
        };
        Ok(PipelineSource::new(p4info, device_config))
    }

    /// The cookie this pipeline is installed with: a hash of its P4Info and device
    /// configuration, so a restarted controller recognises its own pipeline.
    pub fn cookie(&self) -> u64 {
        let mut bytes = prost::Message::encode_to_vec(&self.p4info);
        bytes.extend_from_slice(&self.device_config);
        // FNV-1a, 64 bits.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        h.max(1)
    }
}

/// Where a NIC is reached: what the state file records for each NIC.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NicInfo {
    /// The host the NIC belongs to (a host name of the policy).
    pub name: String,
    /// gRPC endpoint, e.g. `http://127.0.0.1:9559`.
    pub endpoint: String,
    /// P4Runtime device id.
    pub device_id: u64,
    /// Election id this controller arbitrates with.
    pub election_id: u128,
}

/// What a Write carried out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriteCounts {
    /// Entries inserted.
    pub inserts: usize,
    /// Entries modified.
    pub modifies: usize,
    /// Entries deleted.
    pub deletes: usize,
    /// Default entries of the configuration tables modified (3 per configuration).
    pub config: usize,
}

impl WriteCounts {
    /// Every update.
    pub fn total(&self) -> usize {
        self.inserts + self.modifies + self.deletes + self.config
    }

    /// Adds `o`.
    pub fn add(&mut self, o: WriteCounts) {
        self.inserts += o.inserts;
        self.modifies += o.modifies;
        self.deletes += o.deletes;
        self.config += o.config;
    }
}

/// What a device holds, read back over P4Runtime.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DeviceState {
    /// The configuration in the three keyless tables, `None` when they do not hold
    /// a ztnic configuration (never written, or not decodable).
    pub config: Option<Config>,
    /// Every entry of [`names::ENTRY_TABLES`] as the `Op::Set*` that writes it.
    pub ops: Vec<Op>,
    /// Entries the ztnic mapping cannot express (written by someone else), with why.
    pub foreign: Vec<(TableEntry, String)>,
}

/// A device's entries sorted by table, as the controller compares them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Held {
    /// `port_class`.
    pub ports: BTreeMap<u16, PortClass>,
    /// `ctx_epoch`, `vport_ctx`, `local_ep`, `remote_ep`, `policy` (and the
    /// generation of the configuration, 0 when unknown).
    pub state: NicState,
    /// `ct_overflow`.
    pub overflow: Vec<OverflowFlow>,
    /// Entries the mapping cannot express.
    pub foreign: Vec<TableEntry>,
}

impl Held {
    /// Sorts `Op::Set*` operations into tables.
    pub fn from_ops<'a>(ops: impl IntoIterator<Item = &'a Op>, policy_gen: u16) -> Held {
        let mut h = Held {
            state: NicState {
                policy_gen,
                ..NicState::default()
            },
            ..Held::default()
        };
        for op in ops {
            let st = &mut h.state;
            match op {
                Op::SetPortClass { port, class } => {
                    h.ports.insert(*port, *class);
                }
                Op::SetVportCtx(v) => {
                    st.vport_ctx.insert((v.port, v.ip), *v);
                }
                Op::SetLocalEp(l) => {
                    st.local_ep.insert(l.ip, *l);
                }
                Op::SetRemoteEp(r) => {
                    st.remote_ep.insert((r.prefix.addr, r.prefix.len), *r);
                }
                Op::SetCtxEpoch(c) => {
                    st.ctx_epoch.insert(c.ctx, c.epoch);
                }
                Op::SetRule(r) => {
                    st.rules.insert(r.id, *r);
                }
                Op::SetCtOverflow(f) => h.overflow.push(*f),
                _ => {}
            }
        }
        h
    }
}

impl DeviceState {
    /// The entries sorted by table.
    pub fn held(&self) -> Held {
        let mut h = Held::from_ops(&self.ops, self.config.as_ref().map_or(0, |c| c.policy_gen));
        h.foreign = self.foreign.iter().map(|(e, _)| e.clone()).collect();
        h
    }
}

/// One ztnic device driven over P4Runtime.
pub struct Nic {
    info: NicInfo,
    client: P4RuntimeClient,
    program: Program,
    written: Written,
    config: Option<Config>,
    pipeline_set: bool,
    batch: usize,
    updates_sent: u64,
    closed: bool,
    /// What deleted `policy` and `ctx_epoch` entries had counted: a P4Runtime
    /// direct counter ends with its entry, a rule's and a context's counts
    /// outlive it (read just before the delete).
    retired: Counters,
    /// For a rule whose entry was taken over in place from another rule (one
    /// MODIFY, the direct counter carries on): the count the entry had then.
    baseline: BTreeMap<u32, PacketsBytes>,
    /// Conntrack timeouts are written divided by this (1: real time).
    time_scale: u64,
}

/// Whose count an update ends: a `policy` or `ctx_epoch` entry deleted, or a
/// `policy` entry modified over to another rule.
#[derive(Clone, Copy, Debug)]
enum Ends {
    Rule { id: u32, to: Option<u32> },
    Ctx(u32),
}

fn update(kind: Type, e: TableEntry) -> v1::Update {
    ztnic_p4runtime_client::update(kind, Entity::TableEntry(e))
}

impl Nic {
    /// Connects to the device at `endpoint` and becomes its primary controller.
    ///
    /// If the device already runs our P4Info (equal message, or our cookie), it is
    /// kept — reloading would empty every table and conntrack — and what the device
    /// holds is read back; otherwise the pipeline is installed (VERIFY_AND_COMMIT).
    /// The `ctx_miss` and `ct_event` digests are enabled.
    pub async fn connect(
        name: &str,
        endpoint: &str,
        device_id: u64,
        election_id: u128,
        pipeline: &PipelineSource,
    ) -> Result<Nic, ControllerError> {
        let info = NicInfo {
            name: name.to_string(),
            endpoint: endpoint.to_string(),
            device_id,
            election_id,
        };
        Nic::connect_with(
            info,
            ClientConfig::new(endpoint, device_id, election_id),
            pipeline,
        )
        .await
    }

    /// [`Nic::connect`] with a full client configuration (timeouts, reconnects).
    pub async fn connect_with(
        info: NicInfo,
        config: ClientConfig,
        pipeline: &PipelineSource,
    ) -> Result<Nic, ControllerError> {
        let nic_err = |source| ControllerError::Client {
            nic: info.name.clone(),
            source,
        };
        let mut client = P4RuntimeClient::connect(config).await.map_err(nic_err)?;
        if !client.is_primary() {
            let highest = match client.arbitration() {
                ztnic_p4runtime_client::Arbitration::Backup {
                    primary_election_id,
                } => primary_election_id,
                _ => None,
            };
            return Err(ControllerError::NotPrimary {
                nic: info.name.clone(),
                state: format!("{:?}", client.arbitration()),
                highest,
            });
        }
        let cookie = pipeline.cookie();
        let running = match client.get_pipeline(ResponseType::P4infoAndCookie).await {
            Ok(c) => {
                c.p4info.as_ref() == Some(&pipeline.p4info)
                    || c.cookie.is_some_and(|k| k.cookie == cookie)
            }
            Err(e) if e.code() == Some(tonic::Code::FailedPrecondition) => false,
            Err(e) => return Err(nic_err(e)),
        };
        if running {
            client
                .use_p4info(pipeline.p4info.clone())
                .map_err(nic_err)?;
        } else {
            client
                .set_pipeline(
                    pipeline.p4info.clone(),
                    pipeline.device_config.clone(),
                    cookie,
                )
                .await
                .map_err(nic_err)?;
        }
        let index = client.index().map_err(nic_err)?.clone();
        let program = Program::new(index).map_err(|source| ControllerError::Map {
            nic: info.name.clone(),
            op: "the P4Info".into(),
            source,
        })?;
        enable_digests(&mut client).await.map_err(nic_err)?;
        let mut nic = Nic {
            info,
            client,
            program,
            written: Written::new(),
            config: None,
            pipeline_set: !running,
            batch: DEFAULT_BATCH,
            updates_sent: 0,
            closed: false,
            retired: Counters::default(),
            baseline: BTreeMap::new(),
            time_scale: 1,
        };
        if running {
            nic.read_back().await?;
        }
        Ok(nic)
    }

    /// The NIC's name and address.
    pub fn info(&self) -> &NicInfo {
        &self.info
    }

    /// The NIC's name (its host).
    pub fn name(&self) -> &str {
        &self.info.name
    }

    /// The program mapping.
    pub fn program(&self) -> &Program {
        &self.program
    }

    /// What the device holds, as far as this controller knows.
    pub fn written(&self) -> &Written {
        &self.written
    }

    /// The configuration last written or read back.
    pub fn config(&self) -> Option<&Config> {
        self.config.as_ref()
    }

    /// True when `connect` installed the pipeline (false: it kept the running one).
    pub fn pipeline_was_set(&self) -> bool {
        self.pipeline_set
    }

    /// Updates sent and accepted since connecting.
    pub fn updates_sent(&self) -> u64 {
        self.updates_sent
    }

    /// Sets the number of updates per Write (at least 1).
    pub fn set_batch_size(&mut self, n: usize) {
        self.batch = n.max(1);
    }

    /// Writes conntrack timeouts divided by `k` (at least 1): for a device whose
    /// clock runs `k` times faster than the time a configuration means, as when a
    /// test replays recorded time faster on a switch that keeps real time.
    pub fn set_time_scale(&mut self, k: u64) {
        self.time_scale = k.max(1);
    }

    /// Installs the pipeline afresh (VERIFY_AND_COMMIT) even though the device
    /// runs it: every table, register and counter is emptied, and so are the
    /// record, the configuration and the counts kept of deleted entries. The
    /// digests are enabled again.
    pub async fn reload_pipeline(
        &mut self,
        pipeline: &PipelineSource,
    ) -> Result<(), ControllerError> {
        let r = self
            .client
            .set_pipeline(
                pipeline.p4info.clone(),
                pipeline.device_config.clone(),
                pipeline.cookie(),
            )
            .await;
        // Whatever the outcome, what was recorded may be gone.
        self.written.clear();
        self.config = None;
        self.retired = Counters::default();
        self.baseline.clear();
        r.map_err(|e| self.client_err(e))?;
        enable_digests(&mut self.client)
            .await
            .map_err(|e| self.client_err(e))?;
        self.pipeline_set = true;
        Ok(())
    }

    /// Waits up to `wait` for the next PacketIn on the session's stream; digest
    /// lists met on the way are acknowledged and handed to `digests`.
    pub async fn next_packet_in(
        &mut self,
        wait: Duration,
        digests: &mut Vec<v1::DigestList>,
    ) -> Result<Option<v1::PacketIn>, ControllerError> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            match self.client.next_event_within(left).await {
                Some(StreamEvent::PacketIn(p)) => return Ok(Some(p)),
                Some(StreamEvent::Digest(d)) => {
                    self.client
                        .ack_digest(&d)
                        .await
                        .map_err(|e| self.client_err(e))?;
                    digests.push(d);
                }
                Some(_) | None => {}
            }
        }
    }

    /// The P4Runtime session (for what this type does not wrap).
    pub fn client(&mut self) -> &mut P4RuntimeClient {
        &mut self.client
    }

    pub(crate) fn client_ref(&self) -> &P4RuntimeClient {
        &self.client
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed
    }

    pub(crate) fn mark_closed(&mut self) {
        self.closed = true;
    }

    fn client_err(&self, source: ClientError) -> ControllerError {
        ControllerError::Client {
            nic: self.info.name.clone(),
            source,
        }
    }

    fn map_err(&self, op: &Op, source: ztnic_p4tables::MapError) -> ControllerError {
        ControllerError::Map {
            nic: self.info.name.clone(),
            op: format!("{op:?}"),
            source,
        }
    }

    /// The entries the record holds sorted by table.
    pub fn held(&self) -> Held {
        let mut ops = Vec::new();
        let mut foreign = Vec::new();
        for e in self.written.entries() {
            match self.program.decode(e) {
                Ok(op) => ops.push(op),
                Err(_) => foreign.push(e.clone()),
            }
        }
        let mut h = Held::from_ops(&ops, self.config.as_ref().map_or(0, |c| c.policy_gen));
        h.foreign = foreign;
        h
    }

    /// Carries out `ops` in order, in Writes of at most the batch size. Only what
    /// the device accepted is recorded; a rejected update ends the call with
    /// [`ControllerError::Rejected`] naming its operation (later batches are not
    /// sent). A new rule taking the key of a rule that a later operation deletes
    /// replaces it in place (one MODIFY; the entry's direct counter carries on). A
    /// delete of an entry the device no longer holds
    /// counts as done.
    pub async fn apply_ops(&mut self, ops: &[Op]) -> Result<WriteCounts, ControllerError> {
        let mut scratch = self.written.clone();
        let mut planned: Vec<(usize, v1::Update)> = Vec::new();
        let mut done = vec![false; ops.len()];
        for i in 0..ops.len() {
            if done[i] {
                continue;
            }
            let ups = match (&ops[i], scratch.updates(&self.program, &ops[i])) {
                (Op::SetConfig(c), Ok(_)) if self.time_scale != 1 => self
                    .program
                    .config_entries(c, self.time_scale)
                    .map_err(|e| self.map_err(&ops[i], e))?
                    .into_iter()
                    .map(|e| update(Type::Modify, e))
                    .collect(),
                (_, Ok(u)) => u,
                (_, Err(ztnic_p4tables::MapError::RuleKeyTaken { id, other })) => {
                    // The rule that holds the key goes later in this list: the
                    // entry is modified in place to the new rule (no moment
                    // without a rule for that key) and the delete is subsumed.
                    let del = Op::DeleteRule { id: other };
                    let (Some(j), Op::SetRule(r)) = (
                        (i + 1..ops.len()).find(|&j| !done[j] && ops[j] == del),
                        &ops[i],
                    ) else {
                        return Err(self.map_err(
                            &ops[i],
                            ztnic_p4tables::MapError::RuleKeyTaken { id, other },
                        ));
                    };
                    done[j] = true;
                    let e = self
                        .program
                        .rule_entry(r)
                        .map_err(|e| self.map_err(&ops[i], e))?;
                    vec![update(Type::Modify, e)]
                }
                (_, Err(e)) => return Err(self.map_err(&ops[i], e)),
            };
            scratch.record(&self.program, &ups);
            planned.extend(ups.into_iter().map(|u| (i, u)));
            done[i] = true;
        }
        self.write_planned(ops, planned).await
    }

    /// Deletes entries by key (entries the ops cannot name: foreign ones, a port's
    /// class).
    pub async fn delete_entries(
        &mut self,
        entries: &[TableEntry],
    ) -> Result<WriteCounts, ControllerError> {
        let planned = entries
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let key = TableEntry {
                    table_id: e.table_id,
                    r#match: e.r#match.clone(),
                    priority: e.priority,
                    ..Default::default()
                };
                (i, update(Type::Delete, key))
            })
            .collect();
        self.write_planned(&[], planned).await
    }

    async fn write_planned(
        &mut self,
        ops: &[Op],
        planned: Vec<(usize, v1::Update)>,
    ) -> Result<WriteCounts, ControllerError> {
        let mut counts = WriteCounts::default();
        let mut config_ok: Option<(Config, usize)> = None;
        let batch = self.batch;
        let mut rest = planned.into_iter().peekable();
        while rest.peek().is_some() {
            let chunk: Vec<(usize, v1::Update)> = rest.by_ref().take(batch).collect();
            let updates: Vec<v1::Update> = chunk.iter().map(|(_, u)| u.clone()).collect();
            let mut ending = BTreeMap::new();
            for (k, (_, u)) in chunk.iter().enumerate() {
                if let Some(x) = self.count_ending(u).await? {
                    ending.insert(k, x);
                }
            }
            let result = self.client.write(updates, Atomicity::ContinueOnError).await;
            let failed: BTreeMap<usize, (tonic::Code, String)> = match result {
                Ok(()) => BTreeMap::new(),
                Err(ClientError::Write { errors }) => errors
                    .into_iter()
                    .map(|e| (e.index, (e.code, e.message)))
                    .collect(),
                Err(e) => return Err(self.client_err(e)),
            };
            let mut first_failure = None;
            for (k, (i, u)) in chunk.iter().enumerate() {
                let gone = matches!(failed.get(&k), Some((tonic::Code::NotFound, _)))
                    && u.r#type == Type::Delete as i32;
                if let Some((code, message)) = failed.get(&k)
                    && !gone
                {
                    if first_failure.is_none() {
                        first_failure = Some((*i, *code, message.clone()));
                    }
                    continue;
                }
                self.written.record(&self.program, std::slice::from_ref(u));
                if gone {
                    continue;
                }
                if let Some((ends, pb)) = ending.remove(&k) {
                    self.retire(ends, pb);
                }
                self.updates_sent += 1;
                match ops.get(*i) {
                    Some(Op::SetConfig(c)) => {
                        counts.config += 1;
                        let n = config_ok.as_ref().map_or(0, |(_, n)| *n);
                        config_ok = Some(((**c).clone(), n + 1));
                    }
                    _ if u.r#type == Type::Insert as i32 => counts.inserts += 1,
                    _ if u.r#type == Type::Modify as i32 => counts.modifies += 1,
                    _ => counts.deletes += 1,
                }
            }
            if let Some((i, code, message)) = first_failure {
                if config_ok.is_some() || ops.iter().any(|o| matches!(o, Op::SetConfig(_))) {
                    // Part of a configuration may have been applied: unknown now.
                    self.config = None;
                }
                return Err(ControllerError::Rejected {
                    nic: self.info.name.clone(),
                    op: ops
                        .get(i)
                        .map_or_else(|| format!("delete #{i}"), |o| format!("{o:?}")),
                    code,
                    message,
                    failed: failed.len(),
                });
            }
        }
        if let Some((c, n)) = config_ok
            && n == ztnic_p4tables::names::CONFIG_TABLES.len()
        {
            self.config = Some(c);
        }
        Ok(counts)
    }

    /// Reads back every entry of [`names::ENTRY_TABLES`] (wildcard reads) and the
    /// default entries of the configuration tables, and makes the record equal to
    /// what the device holds.
    pub async fn read_back(&mut self) -> Result<DeviceState, ControllerError> {
        let mut entries = Vec::new();
        for t in names::ENTRY_TABLES {
            let got = self
                .client
                .read_table(t)
                .await
                .map_err(|e| self.client_err(e))?;
            entries.extend(got.into_iter().filter(|e| !e.is_default_action));
        }
        let mut config = Some(Config::default());
        for t in names::CONFIG_TABLES {
            let table_id = self
                .program
                .table_id(t)
                .map_err(|e| self.map_err(&Op::SetConfig(Box::default()), e))?;
            let got = self
                .client
                .read_entries(TableEntry {
                    table_id,
                    is_default_action: true,
                    ..Default::default()
                })
                .await
                .map_err(|e| self.client_err(e))?;
            config = match (config, got.first()) {
                (Some(c), Some(e)) => self.program.apply_config_entry(&c, e).ok(),
                _ => None,
            };
        }
        let mut ops = Vec::new();
        let mut foreign = Vec::new();
        for e in &entries {
            match self.program.decode(e) {
                Ok(op) => ops.push(op),
                Err(err) => foreign.push((e.clone(), err.to_string())),
            }
        }
        self.written.learn(&self.program, entries);
        self.config = config.clone();
        Ok(DeviceState {
            config,
            ops,
            foreign,
        })
    }

    /// The device's counters: `drops` and `punts` by reason, and per context and
    /// per rule id what the `ctx_epoch` and `policy` entries counted, those this
    /// controller deleted included (the model's counters).
    pub async fn counters(&mut self) -> Result<Counters, ControllerError> {
        let mut c = read_counters(&mut self.client, &self.program)
            .await
            .map_err(|e| self.client_err(e))?;
        for (id, pb) in c.rules.iter_mut() {
            if let Some(b) = self.baseline.get(id) {
                *pb = pb.since(*b);
            }
        }
        c.merge(&self.retired);
        c.rules.retain(|_, pb| pb.packets > 0);
        c.ctx.retain(|_, pb| pb.packets > 0);
        Ok(c)
    }

    /// What the entries this controller deleted had counted, per rule and context.
    pub fn retired_counters(&self) -> &Counters {
        &self.retired
    }

    /// If `u` ends the count of a held `policy` or `ctx_epoch` entry: whose, and
    /// the entry's direct counter now (read from the device).
    async fn count_ending(
        &mut self,
        u: &v1::Update,
    ) -> Result<Option<(Ends, PacketsBytes)>, ControllerError> {
        let Some(Entity::TableEntry(e)) = u.entity.as_ref().and_then(|x| x.entity.as_ref()) else {
            return Ok(None);
        };
        let Some(held) = self.written.get(e) else {
            return Ok(None);
        };
        let ends = match (self.program.decode(held), u.r#type) {
            (Ok(Op::SetRule(old)), t) if t == Type::Delete as i32 => Ends::Rule {
                id: old.id,
                to: None,
            },
            (Ok(Op::SetRule(old)), t) if t == Type::Modify as i32 => match self.program.decode(e) {
                Ok(Op::SetRule(new)) if new.id != old.id => Ends::Rule {
                    id: old.id,
                    to: Some(new.id),
                },
                _ => return Ok(None),
            },
            (Ok(Op::SetCtxEpoch(c)), t) if t == Type::Delete as i32 => Ends::Ctx(c.ctx),
            _ => return Ok(None),
        };
        let held = held.clone();
        match self.client.read_direct_counter(&held).await {
            Ok(d) => Ok(Some((
                ends,
                PacketsBytes {
                    packets: u64::try_from(d.packet_count).unwrap_or(0),
                    bytes: u64::try_from(d.byte_count).unwrap_or(0),
                },
            ))),
            // gone from the device already: nothing left to keep
            Err(e) if e.code() == Some(tonic::Code::NotFound) => Ok(None),
            Err(e) => Err(self.client_err(e)),
        }
    }

    /// Keeps what an entry counted once the update that ends it was accepted.
    fn retire(&mut self, ends: Ends, pb: PacketsBytes) {
        match ends {
            Ends::Rule { id, to } => {
                let own = self.baseline.remove(&id).map_or(pb, |b| pb.since(b));
                self.retired.add_rule(id, own);
                if let Some(to) = to {
                    self.baseline.insert(to, pb);
                }
            }
            Ends::Ctx(ctx) => self.retired.add_ctx(ctx, pb),
        }
    }

    fn held_entry(&self, key_op: &Op) -> Option<Op> {
        let key = self.program.entry(key_op).ok()?;
        let e = self.written.get(&key)?;
        self.program.decode(e).ok()
    }

    /// Reads the entry `key_op` names from the device itself and brings the record
    /// in line with it (the entry may have been changed behind the controller's
    /// back); returns the entry as the device holds it.
    pub async fn refresh_entry(&mut self, key_op: &Op) -> Result<Option<Op>, ControllerError> {
        let key = self
            .program
            .entry(key_op)
            .map_err(|e| self.map_err(key_op, e))?;
        let found = self
            .client
            .read_entries(key.clone())
            .await
            .map_err(|e| self.client_err(e))?
            .into_iter()
            .next();
        let update = |kind: v1::update::Type, e: TableEntry| v1::Update {
            r#type: kind as i32,
            entity: Some(v1::Entity {
                entity: Some(v1::entity::Entity::TableEntry(e)),
            }),
        };
        match found {
            Some(e) => {
                let op = self
                    .program
                    .decode(&e)
                    .map_err(|err| self.map_err(key_op, err))?;
                self.written
                    .record(&self.program, &[update(v1::update::Type::Insert, e)]);
                Ok(Some(op))
            }
            None => {
                self.written
                    .record(&self.program, &[update(v1::update::Type::Delete, key)]);
                Ok(None)
            }
        }
    }

    /// The epoch the device holds for `ctx`.
    pub fn held_epoch(&self, ctx: u32) -> Option<u8> {
        match self.held_entry(&Op::DeleteCtxEpoch { ctx })? {
            Op::SetCtxEpoch(c) => Some(c.epoch),
            _ => None,
        }
    }

    /// The `vport_ctx` entry the device holds for (`port`, `ip`).
    pub fn held_vport_ctx(&self, port: u16, ip: IpAddr) -> Option<VportCtx> {
        match self.held_entry(&Op::DeleteVportCtx { port, ip })? {
            Op::SetVportCtx(v) => Some(v),
            _ => None,
        }
    }

    /// The `local_ep` entry the device holds for `ip`.
    pub fn held_local_ep(&self, ip: IpAddr) -> Option<LocalEp> {
        match self.held_entry(&Op::DeleteLocalEp { ip })? {
            Op::SetLocalEp(l) => Some(l),
            _ => None,
        }
    }

    /// The `remote_ep` entry the device holds for exactly `prefix`.
    pub fn held_remote_ep(&self, prefix: Prefix) -> Option<RemoteEp> {
        match self.held_entry(&Op::DeleteRemoteEp { prefix })? {
            Op::SetRemoteEp(r) => Some(r),
            _ => None,
        }
    }

    /// True when the device holds a `ct_overflow` entry for `f`'s flow.
    pub fn holds_overflow(&self, f: &OverflowFlow) -> bool {
        self.held_entry(&Op::DeleteCtOverflow(*f)).is_some()
    }

    /// The P4Info index of the program.
    pub fn index(&self) -> &Arc<P4InfoIndex> {
        self.program.index()
    }

    /// Sends a packet into the device (PacketOut).
    pub async fn send_packet_out(&self, packet: v1::PacketOut) -> Result<(), ControllerError> {
        self.client
            .send_packet_out(packet)
            .await
            .map_err(|e| self.client_err(e))
    }
}

/// Enables the `ctx_miss` and `ct_event` digests: one digest per list, sent at
/// once, acknowledged within a second.
async fn enable_digests(client: &mut P4RuntimeClient) -> Result<(), ClientError> {
    for digest in [names::CTX_MISS, names::CT_EVENT] {
        let cfg = digest_entry::Config {
            max_timeout_ns: 0,
            max_list_size: 1,
            ack_timeout_ns: 1_000_000_000,
        };
        match client.enable_digest(digest, cfg).await {
            Ok(()) => {}
            // Still configured from before a controller restart.
            Err(e) if e.code() == Some(tonic::Code::AlreadyExists) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// A ztnic device's counters read over P4Runtime by any session (a backup may
/// read): `drops` and `punts` by reason, and the direct counters of `ctx_epoch`
/// (per context) and `policy` (per rule id).
pub async fn read_counters(
    client: &mut P4RuntimeClient,
    program: &Program,
) -> Result<Counters, ClientError> {
    let mut c = Counters::default();
    let n = |v: i64| u64::try_from(v).unwrap_or(0);
    for (idx, d) in client.read_counter(names::DROPS, None).await? {
        if let Some(r) = u8::try_from(idx).ok().and_then(DropReason::from_code)
            && d.packet_count > 0
        {
            c.drops.insert(r, n(d.packet_count));
        }
    }
    for (idx, d) in client.read_counter(names::PUNTS, None).await? {
        if let Some(r) = u8::try_from(idx).ok().and_then(PuntReason::from_code)
            && d.packet_count > 0
        {
            c.punts.insert(r, n(d.packet_count));
        }
    }
    for table in [names::CTX_EPOCH, names::POLICY] {
        let Ok(table_id) = program.table_id(table) else {
            continue;
        };
        let entries = client
            .read_entries(TableEntry {
                table_id,
                counter_data: Some(CounterData::default()),
                ..Default::default()
            })
            .await?;
        for e in entries {
            let data = match e.counter_data {
                Some(d) => d,
                None => client.read_direct_counter(&e).await?,
            };
            let pb = PacketsBytes {
                packets: n(data.packet_count),
                bytes: n(data.byte_count),
            };
            match program.decode(&e) {
                Ok(Op::SetCtxEpoch(x)) => {
                    c.ctx.insert(x.ctx, pb);
                }
                Ok(Op::SetRule(r)) => {
                    c.rules.insert(r.id, pb);
                }
                _ => {}
            }
        }
    }
    Ok(c)
}
