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

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use ztnic_model::{Config, Counters, DropReason, Outcome, PacketsBytes, PuntReason, Verdict};
use ztnic_p4runtime_client::protocol::v1::{self, TableEntry};
use ztnic_p4runtime_client::protocol::{P4InfoIndex, text};
use ztnic_p4runtime_client::{
    Atomicity, ClientConfig, P4RuntimeClient, StreamEvent, TableEntryBuilder, update,
};
use ztnic_p4tables::packet::{PacketInMeta, PacketOutMeta};
use ztnic_p4tables::{MapError, Program, Written, names};
use ztnic_scenario::{Op, Target, TargetError};

use ztnic_bmv2::switch::{CPU_PORT, DEVICE_ID, Switch};

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
    Packets(#[from] ztnic_bmv2::nanomsg::NnError),
    #[error("no outcome within {OUTCOME_TIMEOUT:?} for the packet sent to port {0}")]
    NoOutcome(u16),
    #[error("{0}")]
    Unsupported(String),
    #[error(transparent)]
    Map(#[from] MapError),
}

/// One digested item: the digest's name and its struct members as byte strings.
pub type DigestItem = (String, Vec<Vec<u8>>);

/// One running bmv2 with a P4Runtime session and a program to load into it.
pub struct Bmv2 {
    pub rt: tokio::runtime::Runtime,
    pub switch: Switch,
    pub client: P4RuntimeClient,
    pub index: std::sync::Arc<P4InfoIndex>,
    /// The ztnic program's tables (when the loaded program is ztnic).
    pub program: Option<Program>,
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
        let program = Program::new(index.clone()).ok();
        let endpoint = format!("http://{}", switch.grpc_addr);
        let client = rt.block_on(P4RuntimeClient::connect(ClientConfig::new(
            endpoint, DEVICE_ID, 1,
        )))?;
        Ok(Bmv2 {
            rt,
            switch,
            client,
            index,
            program,
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
    program: Program,
    /// What the switch holds: INSERT or MODIFY, a rule's entry by id.
    written: Written,
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
        let bmv2 = Bmv2::start(json, p4info)?;
        let program = Program::new(bmv2.index.clone()).map_err(Bmv2Error::from)?;
        Ok(Bmv2Target {
            bmv2,
            time_scale: time_scale.max(1),
            t0: Instant::now(),
            config: Config::default(),
            program,
            written: Written::new(),
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
        let entries = self.program.config_entries(c, self.time_scale)?;
        let updates = entries
            .into_iter()
            .map(|e| update(v1::update::Type::Modify, v1::entity::Entity::TableEntry(e)))
            .collect();
        self.bmv2
            .rt
            .block_on(self.bmv2.client.write(updates, Atomicity::ContinueOnError))?;
        self.config = c.clone();
        Ok(())
    }

    /// Writes the updates that carry out `op` and records them.
    fn write_op(&mut self, op: &Op) -> Result<(), Bmv2Error> {
        let updates = self.written.updates(&self.program, op)?;
        self.bmv2.rt.block_on(
            self.bmv2
                .client
                .write(updates.clone(), Atomicity::ContinueOnError),
        )?;
        self.written.record(&self.program, &updates);
        Ok(())
    }

    fn apply_op(&mut self, op: &Op) -> Result<(), Bmv2Error> {
        match op {
            Op::SetConfig(c) => {
                if c.ct_buckets != self.config.ct_buckets {
                    return Err(Bmv2Error::Unsupported(
                        "changing ct_buckets while running (the model empties conntrack)".into(),
                    ));
                }
                self.write_config(c)
            }
            // A rule's and a context's counts outlive their entries (the runtime
            // keeps them): read what the entry counted before it goes.
            Op::SetRule(r) => {
                if let Some(old) = self.written.rule(r.id).cloned() {
                    self.retire_rule(r.id, &old)?;
                    self.write_op(&Op::DeleteRule { id: r.id })?;
                }
                self.write_op(op)
            }
            Op::DeleteRule { id } => match self.written.rule(*id).cloned() {
                Some(old) => {
                    self.retire_rule(*id, &old)?;
                    self.write_op(op)
                }
                None => Ok(()),
            },
            Op::DeleteCtxEpoch { ctx } => {
                let key = self.program.entry(op)?;
                if let Some(old) = self.written.get(&key).cloned() {
                    let pb = self.direct_counter(&old)?;
                    add(self.retired_ctxs.entry(*ctx).or_default(), pb);
                }
                self.write_op(op)
            }
            _ => self.write_op(op),
        }
    }

    async fn read_drops(client: &mut P4RuntimeClient) -> Result<BTreeMap<i64, i64>, Bmv2Error> {
        let cells = client.read_counter(names::DROPS, None).await?;
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
                    let PacketInMeta { reason, .. } = self.program.packet_in_meta(&p)?;
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
            let meta = PacketOutMeta {
                port: u16::from_be_bytes([frame[0], frame[1]]),
                mode: frame[2],
            };
            let p = self.program.packet_out(meta, frame[4..].to_vec())?;
            self.bmv2.rt.block_on(self.bmv2.client.send_packet_out(p))?;
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

impl Target for Bmv2Target {
    fn name(&self) -> String {
        "bmv2".into()
    }

    fn reset(&mut self, config: &Config) -> Result<(), TargetError> {
        // A fresh pipeline: empty tables, registers and counters.
        self.bmv2.load()?;
        self.written.clear();
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
        let b = &mut self.bmv2;
        let mut c =
            b.rt.block_on(ztnic_controller::read_counters(
                &mut b.client,
                &self.program,
            ))
            .map_err(Bmv2Error::from)?;
        // the counts of deleted or re-keyed rules and contexts, read before they went
        for (id, pb) in &self.retired_rules {
            add(c.rules.entry(*id).or_default(), *pb);
        }
        for (ctx, pb) in &self.retired_ctxs {
            add(c.ctx.entry(*ctx).or_default(), *pb);
        }
        c.rules.retain(|_, pb| pb.packets > 0);
        c.ctx.retain(|_, pb| pb.packets > 0);
        Ok(c)
    }
}
