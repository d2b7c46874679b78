//! The ztnic P4 program on a running bmv2 as a scenario [`Target`]. The switch is
//! a `ztnic_bmv2::Bmv2Nic` (started empty; a packet's outcome is what it shows from
//! outside) and the program is driven by the controller's `Nic` over P4Runtime, as
//! a deployment drives it: control operations become table writes, the counts of
//! deleted rules and contexts are kept by the `Nic`, CPU-port frames become
//! PacketOuts, and every punted packet must arrive on the controller's stream as a
//! PacketIn with its reason.
//!
//! bmv2 keeps its own clock (`ingress_global_timestamp`, µs since start). A
//! scenario's times are replayed in real time divided by `time_scale`, and the
//! conntrack timeouts written to the switch are divided by the same factor, so a
//! 200 s scenario runs in a couple of seconds with the same aging decisions.

use std::path::Path;
use std::time::{Duration, Instant};

use ztnic_bmv2::nic::{Bmv2Nic, OUTCOME_TIMEOUT};
use ztnic_bmv2::switch::{CPU_PORT, DEVICE_ID, Switch};
use ztnic_controller::{Nic, PipelineSource};
use ztnic_model::{Config, Counters, Outcome, Verdict};
use ztnic_p4runtime_client::protocol::v1;
use ztnic_p4runtime_client::protocol::{P4InfoIndex, text};
use ztnic_p4runtime_client::{ClientConfig, P4RuntimeClient, TableEntryBuilder};
use ztnic_p4tables::conntrack::CT_BUCKETS_MAX;
use ztnic_p4tables::packet::PacketOutMeta;
use ztnic_scenario::{Op, Target, TargetError};

#[derive(Debug, thiserror::Error)]
pub enum Bmv2Error {
    #[error("P4Runtime: {0}")]
    Client(#[from] ztnic_p4runtime_client::ClientError),
    #[error("P4Info: {0}")]
    P4Info(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// One digested item: the digest's name and its struct members as byte strings.
pub type DigestItem = (String, Vec<Vec<u8>>);

/// One running bmv2 with a primary P4Runtime session and a program to load into
/// it (any program: the benchmarks load the trivial forwarding one).
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

/// The ztnic program on one bmv2, driven by the controller's `Nic`.
pub struct Bmv2Target {
    rt: tokio::runtime::Runtime,
    switch: Bmv2Nic,
    nic: Nic,
    pipeline: PipelineSource,
    time_scale: u64,
    t0: Instant,
    /// Digest lists received (and acknowledged) while waiting for PacketIns.
    digests: Vec<v1::DigestList>,
}

impl Bmv2Target {
    /// Starts a switch and connects a controller `Nic` as primary, which loads
    /// the program (given by its bmv2 JSON and P4Info text files) and enables the
    /// `ctx_miss` and `ct_event` digests. [`Target::reset`] reloads it.
    pub fn start(json: &Path, p4info: &Path, time_scale: u64) -> Result<Self, TargetError> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()?;
        let pipeline = PipelineSource::from_files(p4info, Some(json))?;
        let switch = Bmv2Nic::start()?;
        let mut nic = rt.block_on(Nic::connect(
            "bmv2",
            &switch.endpoint(),
            DEVICE_ID,
            1,
            &pipeline,
        ))?;
        let time_scale = time_scale.max(1);
        nic.set_time_scale(time_scale);
        Ok(Bmv2Target {
            rt,
            switch,
            nic,
            pipeline,
            time_scale,
            t0: Instant::now(),
            digests: Vec::new(),
        })
    }

    /// The controller's session with the switch, and the runtime to drive it on.
    pub fn nic(&mut self) -> (&tokio::runtime::Runtime, &mut Nic) {
        (&self.rt, &mut self.nic)
    }

    /// The running switch (its packet socket, its log for diagnosing).
    pub fn switch(&self) -> &Switch {
        self.switch.switch()
    }

    /// The running switch, to send and receive frames directly (benchmarks).
    pub fn switch_mut(&mut self) -> &mut Switch {
        self.switch.switch_mut()
    }

    /// Stops the switch.
    pub fn stop(self) {
        drop(self.nic);
        self.switch.stop();
    }

    /// The digest lists received so far plus those arriving within `wait`, each
    /// acknowledged, as (digest name, members of each data item as byte strings).
    pub fn take_digests(&mut self, wait: Duration) -> Result<Vec<DigestItem>, TargetError> {
        // a PacketIn met meanwhile belongs to no packet of ours: it is an error
        if let Some(p) = self
            .rt
            .block_on(self.nic.next_packet_in(wait, &mut self.digests))?
        {
            return Err(format!("an unexpected PacketIn of {} bytes", p.payload.len()).into());
        }
        let mut out = Vec::new();
        for list in std::mem::take(&mut self.digests) {
            let name = self
                .nic
                .index()
                .digest(list.digest_id)
                .map(|d| d.name.clone())
                .unwrap_or_default();
            for item in &list.data {
                out.push((name.clone(), struct_members(item)));
            }
        }
        Ok(out)
    }

    /// The PacketIn of a packet the switch punted: its reason must be the one the
    /// `punts` counter showed; the verdict's frame becomes the PacketIn's payload.
    fn take_packet_in(&mut self, o: &mut Outcome) -> Result<(), TargetError> {
        let Verdict::Punt { reason, frame } = &mut o.verdict else {
            return Ok(());
        };
        let Some(p) = self
            .rt
            .block_on(self.nic.next_packet_in(OUTCOME_TIMEOUT, &mut self.digests))?
        else {
            return Err(
                format!("no PacketIn within {OUTCOME_TIMEOUT:?} for a {reason} punt").into(),
            );
        };
        let meta = self.nic.program().packet_in_meta(&p)?;
        if meta.reason != reason.code() {
            return Err(format!(
                "PacketIn with reason {}, the punts counter counted {reason}",
                meta.reason
            )
            .into());
        }
        *frame = p.payload;
        Ok(())
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

impl Target for Bmv2Target {
    fn name(&self) -> String {
        "bmv2".into()
    }

    fn reset(&mut self, config: &Config) -> Result<(), TargetError> {
        if config.ct_buckets > CT_BUCKETS_MAX {
            return Err(format!(
                "ct_buckets {} exceeds the program's CT_BUCKETS_MAX {CT_BUCKETS_MAX}",
                config.ct_buckets
            )
            .into());
        }
        // A fresh pipeline: empty tables, registers and counters.
        self.rt.block_on(self.nic.reload_pipeline(&self.pipeline))?;
        self.digests.clear();
        self.rt.block_on(
            self.nic
                .apply_ops(&[Op::SetConfig(Box::new(config.clone()))]),
        )?;
        self.t0 = Instant::now();
        Ok(())
    }

    fn apply(&mut self, op: &Op) -> Result<(), TargetError> {
        if let Op::SetConfig(c) = op
            && Some(c.ct_buckets) != self.nic.config().map(|h| h.ct_buckets)
        {
            return Err("changing ct_buckets while running (the model empties conntrack)".into());
        }
        self.rt
            .block_on(self.nic.apply_ops(std::slice::from_ref(op)))?;
        Ok(())
    }

    fn send(&mut self, at_us: u64, port: u16, frame: &[u8]) -> Result<Outcome, TargetError> {
        let due = self.t0 + Duration::from_micros(at_us / self.time_scale);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        // Frames left over from an earlier packet would be misattributed.
        let stale = self.rt.block_on(self.switch.take_output(Duration::ZERO));
        if !stale.is_empty() {
            return Err(format!("{} unexpected frame(s) from the switch", stale.len()).into());
        }
        let mut o = if port == CPU_PORT && frame.len() >= 4 {
            // From the controller: P4Runtime PacketOut, whose metadata bmv2 turns
            // back into the packet_out header in front of the payload.
            let meta = PacketOutMeta {
                port: u16::from_be_bytes([frame[0], frame[1]]),
                mode: frame[2],
            };
            let p = self.nic.program().packet_out(meta, frame[4..].to_vec())?;
            let nic = &self.nic;
            self.rt
                .block_on(self.switch.observe_injected(frame, async {
                    nic.send_packet_out(p).await.map_err(|e| e.to_string())
                }))?
        } else {
            // Anything else, including a CPU-port packet too short to carry a
            // packet_out header, goes in raw.
            self.rt.block_on(self.switch.send(port, frame))?
        };
        self.take_packet_in(&mut o)?;
        Ok(o)
    }

    fn counters(&mut self) -> Result<Counters, TargetError> {
        // the controller's counters: those of deleted or re-keyed rules and
        // contexts included
        Ok(self.rt.block_on(self.nic.counters())?)
    }
}
