//! The ztnic P4 program on a running bmv2 as a scenario [`Target`]: loads the
//! pipeline with the ztnic P4Runtime client, turns control operations into table
//! writes, sends packets through bmv2's packet socket (or P4Runtime PacketOut for
//! the CPU port) and reports what came out: a frame on a port, a PacketIn, or a
//! drop seen as an increment of the `drops` counter.
//!
//! bmv2 keeps its own clock (`ingress_global_timestamp`, µs since start). A
//! scenario's times are replayed in real time divided by `time_scale`, and the
//! conntrack timeouts written to the switch are divided by the same factor, so a
//! 200 s scenario runs in a couple of seconds with the same aging decisions.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::{Duration, Instant};

use ztnic_model::tables::{PortClass, RemoteAction};
use ztnic_model::{Config, Counters, DropReason, Outcome, PacketsBytes, PuntReason, Verdict};
use ztnic_p4runtime_client::protocol::v1::{self, TableEntry};
use ztnic_p4runtime_client::protocol::{P4InfoIndex, text};
use ztnic_p4runtime_client::{
    Atomicity, ClientConfig, P4RuntimeClient, StreamEvent, TableEntryBuilder, update,
};
use ztnic_scenario::{Op, Target, TargetError};

use crate::switch::{CPU_PORT, DEVICE_ID, Switch};

/// Port classes as `port_class.set_class` codes (p4/headers.p4).
fn class_code(c: PortClass) -> u8 {
    match c {
        PortClass::Vport => 1,
        PortClass::Uplink => 2,
        PortClass::Cpu => 3,
    }
}

/// How long a packet may take before the target gives up on seeing its outcome.
const OUTCOME_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum Bmv2Error {
    #[error("P4Runtime: {0}")]
    Client(#[from] ztnic_p4runtime_client::ClientError),
    #[error("P4Info: {0}")]
    P4Info(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("bmv2 packet socket: {0}")]
    Packets(#[from] crate::nanomsg::NnError),
    #[error("no outcome within {OUTCOME_TIMEOUT:?} for the packet sent to port {0}")]
    NoOutcome(u16),
    #[error("{0}")]
    Unsupported(String),
}

/// One digested item: the digest's name and its struct members as byte strings.
pub type DigestItem = (String, Vec<Vec<u8>>);

/// A key of a written entry, to tell INSERT from MODIFY and find it again.
type EntryKey = (String, Vec<u8>);

/// One running bmv2 with a P4Runtime session and a program to load into it.
pub struct Bmv2 {
    pub rt: tokio::runtime::Runtime,
    pub switch: Switch,
    pub client: P4RuntimeClient,
    pub index: std::sync::Arc<P4InfoIndex>,
    p4info: ztnic_p4runtime_client::protocol::config::P4Info,
    json: Vec<u8>,
}

impl Bmv2 {
    /// Starts a switch and connects as primary; [`Bmv2::load`] loads the program
    /// given by its bmv2 JSON and P4Info text files.
    pub fn start(json: &Path, p4info: &Path) -> Result<Self, TargetError> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()?;
        let switch = Switch::start(std::env::var_os("ZTNIC_BMV2_TRACE").is_some())?;
        let p4info = text::load_p4info(p4info).map_err(|e| Bmv2Error::P4Info(e.to_string()))?;
        let index = std::sync::Arc::new(
            P4InfoIndex::new(p4info.clone()).map_err(|e| Bmv2Error::P4Info(e.to_string()))?,
        );
        let json = std::fs::read(json)?;
        let endpoint = format!("http://{}", switch.grpc_addr);
        let client = rt.block_on(P4RuntimeClient::connect(ClientConfig::new(
            endpoint, DEVICE_ID, 1,
        )))?;
        Ok(Bmv2 {
            rt,
            switch,
            client,
            index,
            p4info,
            json,
        })
    }

    /// (Re)loads the program: empty tables, registers and counters.
    pub fn load(&mut self) -> Result<(), Bmv2Error> {
        let p4info = self.p4info.clone();
        let json = self.json.clone();
        self.rt
            .block_on(self.client.set_pipeline(p4info, json, 1))?;
        Ok(())
    }

    /// An entry builder for `table` of the program.
    pub fn entry(&self, table: &str) -> Result<TableEntryBuilder, Bmv2Error> {
        Ok(TableEntryBuilder::new(self.index.clone(), table)?)
    }

    /// Stops the switch.
    pub fn stop(self) {
        drop(self.client);
        self.switch.stop();
    }
}

/// The ztnic program on one bmv2.
pub struct Bmv2Target {
    bmv2: Bmv2,
    time_scale: u64,
    t0: Instant,
    config: Config,
    /// Written entries by (table, encoded key) → the entry, for modify/delete/counters.
    entries: HashMap<EntryKey, TableEntry>,
    /// Policy entries by rule id, and context entries by ctx, for the direct counters.
    rules: BTreeMap<u32, TableEntry>,
    ctxs: BTreeMap<u32, TableEntry>,
    /// What deleted or replaced policy / ctx_epoch entries had counted: a rule's
    /// and a context's counts outlive their entries (the runtime keeps them).
    retired_rules: BTreeMap<u32, PacketsBytes>,
    retired_ctxs: BTreeMap<u32, PacketsBytes>,
    /// Last `drops` counter values read, by index.
    drops_seen: BTreeMap<i64, i64>,
    /// Digest lists received (and acknowledged) while waiting for outcomes.
    digests: Vec<v1::DigestList>,
}

impl Bmv2Target {
    /// Starts a switch and connects; the pipeline is loaded by [`Target::reset`].
    pub fn start(json: &Path, p4info: &Path, time_scale: u64) -> Result<Self, TargetError> {
        Ok(Bmv2Target {
            bmv2: Bmv2::start(json, p4info)?,
            time_scale: time_scale.max(1),
            t0: Instant::now(),
            config: Config::default(),
            entries: HashMap::new(),
            rules: BTreeMap::new(),
            ctxs: BTreeMap::new(),
            retired_rules: BTreeMap::new(),
            retired_ctxs: BTreeMap::new(),
            drops_seen: BTreeMap::new(),
            digests: Vec::new(),
        })
    }

    /// The underlying switch session.
    pub fn bmv2(&mut self) -> &mut Bmv2 {
        &mut self.bmv2
    }

    /// The running switch (its log, for diagnosing).
    pub fn switch(&self) -> &Switch {
        &self.bmv2.switch
    }

    /// Stops the switch.
    pub fn stop(self) {
        self.bmv2.stop();
    }

    fn entry(&self, table: &str) -> Result<TableEntryBuilder, Bmv2Error> {
        self.bmv2.entry(table)
    }

    /// Turns on DigestList generation for `digest`, one message per digest, sent at once.
    pub fn enable_digest(&mut self, digest: &str) -> Result<(), Bmv2Error> {
        let config = v1::digest_entry::Config {
            max_timeout_ns: 0,
            max_list_size: 1,
            ack_timeout_ns: 1_000_000_000,
        };
        self.bmv2
            .rt
            .block_on(self.bmv2.client.enable_digest(digest, config))?;
        Ok(())
    }

    /// The digest lists received so far plus those arriving within `wait`, each
    /// acknowledged, as (digest name, members of each data item as byte strings).
    pub fn take_digests(&mut self, wait: Duration) -> Result<Vec<DigestItem>, Bmv2Error> {
        let deadline = Instant::now() + wait;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            let client = &mut self.bmv2.client;
            match self.bmv2.rt.block_on(client.next_event_within(left)) {
                Some(StreamEvent::Digest(list)) => {
                    self.bmv2.rt.block_on(self.bmv2.client.ack_digest(&list))?;
                    self.digests.push(list);
                }
                Some(_) => {}
                None => break,
            }
        }
        let mut out = Vec::new();
        for list in std::mem::take(&mut self.digests) {
            let name = self
                .bmv2
                .index
                .digest(list.digest_id)
                .map(|d| d.name.clone())
                .unwrap_or_default();
            for item in &list.data {
                out.push((name.clone(), struct_members(item)));
            }
        }
        Ok(out)
    }

    fn write_config(&mut self, c: &Config) -> Result<(), Bmv2Error> {
        if c.ct_buckets > 4096 {
            return Err(Bmv2Error::Unsupported(format!(
                "ct_buckets {} exceeds the program's CT_BUCKETS_MAX 4096",
                c.ct_buckets
            )));
        }
        let cfg = self
            .entry("config")?
            .default_entry()
            .action("set_config")
            .param("uplink_port", c.uplink_port)
            .param("cpu_port", c.cpu_port)
            .param("local_mac", c.local_mac.0)
            .param("gateway_mac", c.gateway_mac.0)
            .param("local_vtep_ip", c.local_vtep_ip)
            .param("vni", c.vni)
            .param("auth", u8::from(c.auth))
            .param("tcp_wscale", c.tcp_wscale)
            .param("policy_gen", c.policy_gen)
            .param("ct_buckets_mask", c.ct_buckets - 1)
            .build()?;
        let key = self
            .entry("auth_key")?
            .default_entry()
            .action("set_auth_key")
            .param("key", c.auth_key.0)
            .build()?;
        let t = &c.timeouts;
        let us = |s: u32| u64::from(s) * 1_000_000 / self.time_scale;
        let timeouts = self
            .entry("ct_timeouts")?
            .default_entry()
            .action("set_ct_timeouts")
            .param("syn_sent", us(t.tcp_syn_sent))
            .param("syn_recv", us(t.tcp_syn_recv))
            .param("established", us(t.tcp_established))
            .param("fin_wait", us(t.tcp_fin_wait))
            .param("close_wait", us(t.tcp_close_wait))
            .param("last_ack", us(t.tcp_last_ack))
            .param("time_wait", us(t.tcp_time_wait))
            .param("close", us(t.tcp_close))
            .param("syn_sent2", us(t.tcp_syn_sent2))
            .param("udp", us(t.udp_unreplied))
            .param("udp_replied", us(t.udp_replied))
            .param("icmp", us(t.icmp))
            .param("other", us(t.generic))
            .build()?;
        let updates = [cfg, key, timeouts]
            .into_iter()
            .map(|e| update(v1::update::Type::Modify, v1::entity::Entity::TableEntry(e)))
            .collect();
        self.bmv2
            .rt
            .block_on(self.bmv2.client.write(updates, Atomicity::ContinueOnError))?;
        self.config = c.clone();
        Ok(())
    }

    /// Inserts `e`, or modifies the entry with its key.
    fn upsert(&mut self, table: &str, e: TableEntry) -> Result<(), Bmv2Error> {
        let k = (table.to_string(), key_bytes(&e));
        if self.entries.contains_key(&k) {
            self.bmv2.rt.block_on(self.bmv2.client.modify(e.clone()))?;
        } else {
            self.bmv2.rt.block_on(self.bmv2.client.insert(e.clone()))?;
        }
        self.entries.insert(k, e);
        Ok(())
    }

    fn remove(&mut self, table: &str, e: TableEntry) -> Result<(), Bmv2Error> {
        let k = (table.to_string(), key_bytes(&e));
        self.bmv2.rt.block_on(self.bmv2.client.delete(e))?;
        self.entries.remove(&k);
        Ok(())
    }

    fn apply_op(&mut self, op: &Op) -> Result<(), Bmv2Error> {
        use ztnic_model::addr::to_u128;
        match op {
            Op::SetPortClass { port, class } => {
                let e = self
                    .entry("port_class")?
                    .exact("port", *port)
                    .action("set_class")
                    .param("class", class_code(*class))
                    .build()?;
                self.upsert("port_class", e)
            }
            Op::SetVportCtx(v) => {
                let e = self
                    .entry("vport_ctx")?
                    .exact("vport", v.port)
                    .exact("src", to_u128(v.ip))
                    .action("set_src")
                    .param("ctx", v.ctx)
                    .param("zone", v.zone)
                    .build()?;
                self.upsert("vport_ctx", e)
            }
            Op::DeleteVportCtx { port, ip } => {
                let e = self
                    .entry("vport_ctx")?
                    .exact("vport", *port)
                    .exact("src", to_u128(*ip))
                    .key()?;
                self.remove("vport_ctx", e)
            }
            Op::SetLocalEp(l) => {
                let e = self
                    .entry("local_ep")?
                    .exact("dst", to_u128(l.ip))
                    .action("deliver")
                    .param("vport", l.vport)
                    .param("ctx", l.ctx)
                    .param("zone", l.zone)
                    .build()?;
                self.upsert("local_ep", e)
            }
            Op::DeleteLocalEp { ip } => {
                let e = self.entry("local_ep")?.exact("dst", to_u128(*ip)).key()?;
                self.remove("local_ep", e)
            }
            Op::SetRemoteEp(r) => {
                let (addr, len) = r.prefix.to_u128();
                let b = self.entry("remote_ep")?.lpm("dst", addr, u32::from(len));
                let b = match r.action {
                    RemoteAction::Geneve { vtep, ctx } => {
                        b.action("geneve").param("vtep", vtep).param("ctx", ctx)
                    }
                    RemoteAction::VxlanGbp { vtep, ctx } => {
                        b.action("vxlan_gbp").param("vtep", vtep).param("ctx", ctx)
                    }
                    RemoteAction::World => b.action("world"),
                };
                self.upsert("remote_ep", b.build()?)
            }
            Op::DeleteRemoteEp { prefix } => {
                let (addr, len) = prefix.to_u128();
                let e = self
                    .entry("remote_ep")?
                    .lpm("dst", addr, u32::from(len))
                    .key()?;
                self.remove("remote_ep", e)
            }
            Op::SetCtxEpoch(c) => {
                let e = self
                    .entry("ctx_epoch")?
                    .exact("ctx", c.ctx)
                    .action("set")
                    .param("epoch", c.epoch)
                    .build()?;
                self.ctxs.insert(c.ctx, e.clone());
                self.upsert("ctx_epoch", e)
            }
            Op::DeleteCtxEpoch { ctx } => {
                let e = self.entry("ctx_epoch")?.exact("ctx", *ctx).key()?;
                if let Some(old) = self.ctxs.remove(ctx) {
                    let pb = self.direct_counter(&old)?;
                    add(self.retired_ctxs.entry(*ctx).or_default(), pb);
                }
                self.remove("ctx_epoch", e)
            }
            Op::SetRule(r) => {
                if let Some(old) = self.rules.remove(&r.id) {
                    self.retire_rule(r.id, &old)?;
                    self.remove("policy", old)?;
                }
                let deny = r.action == ztnic_model::Action::Deny;
                let priority = 2 * i32::from(r.priority) + i32::from(deny);
                if priority == 0 {
                    return Err(Bmv2Error::Unsupported(format!(
                        "rule {}: an allow rule of priority 0 has P4Runtime priority 0",
                        r.id
                    )));
                }
                let mut b = self.entry("policy")?.priority(priority);
                if let Some(src) = r.src {
                    b = b.ternary("src_ctx", src, 0xff_ffffu32);
                }
                if let Some(dst) = r.dst {
                    b = b.ternary("dst_ctx", dst, 0xff_ffffu32);
                }
                if let Some(p) = r.proto.0 {
                    b = b.ternary("proto", p, 0xffu8);
                }
                if r.ports != ztnic_model::PortRange::ANY {
                    b = b.range("port", r.ports.lo, r.ports.hi);
                }
                let action = if deny { "deny" } else { "allow" };
                let e = b.action(action).build()?;
                self.rules.insert(r.id, e.clone());
                self.upsert("policy", e)
            }
            Op::DeleteRule { id } => match self.rules.remove(id) {
                Some(e) => {
                    self.retire_rule(*id, &e)?;
                    self.remove("policy", e)
                }
                None => Ok(()),
            },
            Op::SetCtOverflow(f) => {
                let (k, orig_lo) = f.key();
                let e = self
                    .entry("ct_overflow")?
                    .exact("zone", k.zone)
                    .exact("proto", k.proto)
                    .exact("addr_lo", k.lo_addr)
                    .exact("addr_hi", k.hi_addr)
                    .exact("port_lo", k.lo_port)
                    .exact("port_hi", k.hi_port)
                    .action("track")
                    .param("orig_lo", u8::from(orig_lo))
                    .idle_timeout(Duration::from_millis(f.idle_timeout_ms))
                    .build()?;
                self.upsert("ct_overflow", e)
            }
            Op::DeleteCtOverflow(f) => {
                let (k, _) = f.key();
                let e = self
                    .entry("ct_overflow")?
                    .exact("zone", k.zone)
                    .exact("proto", k.proto)
                    .exact("addr_lo", k.lo_addr)
                    .exact("addr_hi", k.hi_addr)
                    .exact("port_lo", k.lo_port)
                    .exact("port_hi", k.hi_port)
                    .key()?;
                self.remove("ct_overflow", e)
            }
            Op::SetConfig(c) => {
                if c.ct_buckets != self.config.ct_buckets {
                    return Err(Bmv2Error::Unsupported(
                        "changing ct_buckets while running (the model empties conntrack)".into(),
                    ));
                }
                self.write_config(c)
            }
        }
    }

    async fn read_drops(client: &mut P4RuntimeClient) -> Result<BTreeMap<i64, i64>, Bmv2Error> {
        let cells = client.read_counter("drops", None).await?;
        Ok(cells
            .into_iter()
            .map(|(i, d)| (i, d.packet_count))
            .filter(|&(_, n)| n > 0)
            .collect())
    }

    fn outcome(&mut self, port: u16) -> Result<Verdict, Bmv2Error> {
        let deadline = Instant::now() + OUTCOME_TIMEOUT;
        let mut polls = 0u32;
        loop {
            if let Some(f) = self
                .bmv2
                .switch
                .packets()
                .recv_timeout(Duration::from_millis(1))
            {
                return Ok(Verdict::Forward {
                    port: f.port,
                    frame: f.frame,
                });
            }
            let client = &mut self.bmv2.client;
            let event = self
                .bmv2
                .rt
                .block_on(client.next_event_within(Duration::from_millis(1)));
            match event {
                Some(StreamEvent::PacketIn(p)) => {
                    let md = self.bmv2.client.packet_in_metadata(&p)?;
                    let reason = md
                        .iter()
                        .find(|(n, _)| n == "reason")
                        .and_then(|(_, v)| v.last().copied())
                        .unwrap_or(0);
                    let reason = PuntReason::from_code(reason).ok_or_else(|| {
                        Bmv2Error::Unsupported(format!("packet_in with unknown reason {reason}"))
                    })?;
                    return Ok(Verdict::Punt {
                        reason,
                        frame: p.payload,
                    });
                }
                Some(StreamEvent::Digest(list)) => {
                    self.bmv2.rt.block_on(self.bmv2.client.ack_digest(&list))?;
                    self.digests.push(list);
                }
                _ => {}
            }
            polls += 1;
            if polls % 4 == 0 {
                let now = self
                    .bmv2
                    .rt
                    .block_on(Self::read_drops(&mut self.bmv2.client))?;
                let grew = now
                    .iter()
                    .find(|&(i, n)| self.drops_seen.get(i).copied().unwrap_or(0) < *n)
                    .map(|(i, _)| *i);
                if let Some(i) = grew {
                    self.drops_seen = now;
                    let code = u8::try_from(i).unwrap_or(0);
                    let r = DropReason::from_code(code).ok_or_else(|| {
                        Bmv2Error::Unsupported(format!("drop counted under unknown reason {i}"))
                    })?;
                    return Ok(Verdict::Drop(r));
                }
            }
            if Instant::now() >= deadline {
                return Err(Bmv2Error::NoOutcome(port));
            }
        }
    }

    fn send_packet(&mut self, port: u16, frame: &[u8]) -> Result<(), Bmv2Error> {
        if port == CPU_PORT && frame.len() >= 4 {
            // From the controller: P4Runtime PacketOut, whose metadata bmv2 turns
            // back into the packet_out header in front of the payload.
            let md = [
                ("port", u16::from_be_bytes([frame[0], frame[1]]).into()),
                ("mode", frame[2].into()),
                ("pad", frame[3].into()),
            ];
            self.bmv2
                .rt
                .block_on(self.bmv2.client.packet_out(frame[4..].to_vec(), &md))?;
        } else {
            // Anything else, including a CPU-port packet too short to carry a
            // packet_out header, goes in raw.
            self.bmv2.switch.packets().send(port, frame)?;
        }
        Ok(())
    }

    fn retire_rule(&mut self, id: u32, e: &TableEntry) -> Result<(), Bmv2Error> {
        let pb = self.direct_counter(e)?;
        add(self.retired_rules.entry(id).or_default(), pb);
        Ok(())
    }

    fn direct_counter(&mut self, e: &TableEntry) -> Result<PacketsBytes, Bmv2Error> {
        let d = self
            .bmv2
            .rt
            .block_on(self.bmv2.client.read_direct_counter(e))?;
        Ok(PacketsBytes {
            packets: u64::try_from(d.packet_count).unwrap_or(0),
            bytes: u64::try_from(d.byte_count).unwrap_or(0),
        })
    }
}

/// The members of a digest's struct, as byte strings.
fn struct_members(d: &v1::P4Data) -> Vec<Vec<u8>> {
    use v1::p4_data::Data;
    match &d.data {
        Some(Data::Struct(s)) => s
            .members
            .iter()
            .map(|m| match &m.data {
                Some(Data::Bitstring(b)) => b.clone(),
                _ => Vec::new(),
            })
            .collect(),
        Some(Data::Bitstring(b)) => vec![b.clone()],
        _ => Vec::new(),
    }
}

fn add(acc: &mut PacketsBytes, pb: PacketsBytes) {
    acc.packets += pb.packets;
    acc.bytes += pb.bytes;
}

/// The match part of an entry, encoded, as an identity for INSERT vs MODIFY.
fn key_bytes(e: &TableEntry) -> Vec<u8> {
    let mut k = e.table_id.to_be_bytes().to_vec();
    k.extend_from_slice(&e.priority.to_be_bytes());
    for m in &e.r#match {
        k.extend_from_slice(&prost::Message::encode_to_vec(m));
    }
    k
}

impl Target for Bmv2Target {
    fn name(&self) -> String {
        "bmv2".into()
    }

    fn reset(&mut self, config: &Config) -> Result<(), TargetError> {
        // A fresh pipeline: empty tables, registers and counters.
        self.bmv2.load()?;
        self.entries.clear();
        self.rules.clear();
        self.ctxs.clear();
        self.retired_rules.clear();
        self.retired_ctxs.clear();
        self.drops_seen.clear();
        self.write_config(config)?;
        self.t0 = Instant::now();
        Ok(())
    }

    fn apply(&mut self, op: &Op) -> Result<(), TargetError> {
        Ok(self.apply_op(op)?)
    }

    fn send(&mut self, at_us: u64, port: u16, frame: &[u8]) -> Result<Outcome, TargetError> {
        let due = self.t0 + Duration::from_micros(at_us / self.time_scale);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        // Frames left over from an earlier packet would be misattributed.
        let stale = self.bmv2.switch.packets().drain();
        if !stale.is_empty() {
            return Err(format!("{} unexpected frame(s) from the switch", stale.len()).into());
        }
        self.send_packet(port, frame)?;
        let verdict = self.outcome(port)?;
        Ok(Outcome {
            verdict,
            ct_state: None,
            rule: None,
        })
    }

    fn counters(&mut self) -> Result<Counters, TargetError> {
        let mut c = Counters::default();
        let drops = self
            .bmv2
            .rt
            .block_on(self.bmv2.client.read_counter("drops", None))
            .map_err(Bmv2Error::from)?;
        for (i, d) in drops {
            if let Some(r) = u8::try_from(i).ok().and_then(DropReason::from_code)
                && d.packet_count > 0
            {
                c.drops
                    .insert(r, u64::try_from(d.packet_count).unwrap_or(0));
            }
        }
        let punts = self
            .bmv2
            .rt
            .block_on(self.bmv2.client.read_counter("punts", None))
            .map_err(Bmv2Error::from)?;
        for (i, d) in punts {
            if let Some(r) = u8::try_from(i).ok().and_then(PuntReason::from_code)
                && d.packet_count > 0
            {
                c.punts
                    .insert(r, u64::try_from(d.packet_count).unwrap_or(0));
            }
        }
        c.rules = self.retired_rules.clone();
        let rules: Vec<(u32, TableEntry)> =
            self.rules.iter().map(|(k, e)| (*k, e.clone())).collect();
        for (id, e) in rules {
            let pb = self.direct_counter(&e)?;
            add(c.rules.entry(id).or_default(), pb);
        }
        c.ctx = self.retired_ctxs.clone();
        let ctxs: Vec<(u32, TableEntry)> = self.ctxs.iter().map(|(k, e)| (*k, e.clone())).collect();
        for (ctx, e) in ctxs {
            let pb = self.direct_counter(&e)?;
            add(c.ctx.entry(ctx).or_default(), pb);
        }
        c.rules.retain(|_, pb| pb.packets > 0);
        c.ctx.retain(|_, pb| pb.packets > 0);
        Ok(c)
    }
}
