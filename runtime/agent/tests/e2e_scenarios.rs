//! Every shared scenario end to end over real gRPC on loopback: each control
//! operation goes controller (`ztnic_controller::Nic`) → P4Runtime → agent →
//! Verilated RTL; data-plane frames go into the simulated NIC, CPU-port frames
//! become P4Runtime PacketOuts, counters are read over P4Runtime, and every
//! punted packet must also arrive on the controller's stream as a PacketIn with
//! its reason. Each packet is compared with the reference model as well.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use libtest_mimic::{Arguments, Failed, Trial};
use tokio::runtime::Runtime;
use ztnic_agent::{Agent, FpgaBackend, SimDevice};
use ztnic_controller::{Nic, PipelineSource};
use ztnic_model::{Config, Counters, Outcome, PacketsBytes, Verdict};
use ztnic_p4runtime_client::StreamEvent;
use ztnic_p4runtime_client::protocol::v1::TableEntry;
use ztnic_p4runtime_server::ServerConfig;
use ztnic_p4tables::packet::PacketOutMeta;
use ztnic_scenario::{ModelTarget, Op, Target, TargetError, load_all, run, scenarios_dir};

/// How long a PacketOut's outcome or a punt's PacketIn may take.
const WAIT: Duration = Duration::from_secs(5);

/// The agent over the Verilated NIC, driven through the controller's `Nic`.
struct AgentTarget {
    rt: Runtime,
    agent: Option<Agent<SimDevice>>,
    nic: Option<Nic>,
    cpu_port: u16,
    /// Counts of `policy` / `ctx_epoch` entries deleted (or re-keyed) so far:
    /// a P4Runtime direct counter ends with its entry, the runtime keeps them.
    retired_rules: BTreeMap<u32, PacketsBytes>,
    retired_ctx: BTreeMap<u32, PacketsBytes>,
    /// PacketIns checked against punted packets.
    packet_ins: usize,
}

impl AgentTarget {
    fn new() -> Result<AgentTarget, TargetError> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        Ok(AgentTarget {
            rt,
            agent: None,
            nic: None,
            cpu_port: Config::default().cpu_port,
            retired_rules: BTreeMap::new(),
            retired_ctx: BTreeMap::new(),
            packet_ins: 0,
        })
    }

    fn parts(&mut self) -> Result<(&Runtime, &Agent<SimDevice>, &mut Nic), TargetError> {
        match (&self.agent, &mut self.nic) {
            (Some(a), Some(n)) => Ok((&self.rt, a, n)),
            _ => Err("the target was not reset".into()),
        }
    }

    /// Reads the direct counter of a held entry over P4Runtime.
    fn direct_counter(&mut self, e: &TableEntry) -> Result<PacketsBytes, TargetError> {
        let (rt, _, nic) = self.parts()?;
        let d = rt.block_on(nic.client().read_direct_counter(e))?;
        Ok(PacketsBytes {
            packets: u64::try_from(d.packet_count).unwrap_or(0),
            bytes: u64::try_from(d.byte_count).unwrap_or(0),
        })
    }

    /// Keeps the count of an entry `op` is about to take off the device.
    fn retire(&mut self, op: &Op) -> Result<(), TargetError> {
        let (_, _, nic) = self.parts()?;
        let program = nic.program().clone();
        let held = match op {
            Op::DeleteRule { id } => nic.written().rule(*id).cloned().map(|e| (Some(*id), e)),
            Op::SetRule(r) => {
                // a rule whose key changes is deleted and inserted again
                let new_key = program.rule_entry(r)?;
                match nic.written().rule(r.id) {
                    Some(old)
                        if ztnic_p4runtime_client::protocol::entry_key(old)
                            != ztnic_p4runtime_client::protocol::entry_key(&new_key) =>
                    {
                        Some((Some(r.id), old.clone()))
                    }
                    _ => None,
                }
            }
            Op::DeleteCtxEpoch { .. } => {
                let key = program.entry(op)?;
                nic.written().get(&key).cloned().map(|e| (None, e))
            }
            _ => None,
        };
        let Some((rule, entry)) = held else {
            return Ok(());
        };
        let pb = self.direct_counter(&entry)?;
        let slot = match (rule, program.decode(&entry)?) {
            (Some(id), _) => self.retired_rules.entry(id).or_default(),
            (None, Op::SetCtxEpoch(c)) => self.retired_ctx.entry(c.ctx).or_default(),
            _ => return Ok(()),
        };
        slot.packets += pb.packets;
        slot.bytes += pb.bytes;
        Ok(())
    }

    /// Waits for the PacketIn of a punted packet on the controller's stream
    /// (acknowledging digests met on the way) and checks its reason and bytes.
    fn expect_packet_in(&mut self, o: &Outcome) -> Result<(), TargetError> {
        let Verdict::Punt { reason, frame } = &o.verdict else {
            return Ok(());
        };
        let (rt, _, nic) = self.parts()?;
        let program = nic.program().clone();
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(format!("no PacketIn within {WAIT:?} for a {reason} punt").into());
            }
            match rt.block_on(nic.client().next_event_within(left)) {
                Some(StreamEvent::PacketIn(p)) => {
                    let meta = program.packet_in_meta(&p)?;
                    if meta.reason != reason.code() {
                        return Err(format!(
                            "PacketIn with reason {}, the packet was punted {reason}",
                            meta.reason
                        )
                        .into());
                    }
                    if &p.payload != frame {
                        return Err("the PacketIn's payload differs from the punted frame".into());
                    }
                    self.packet_ins += 1;
                    return Ok(());
                }
                Some(StreamEvent::Digest(d)) => {
                    rt.block_on(nic.client().ack_digest(&d))?;
                }
                Some(_) => {}
                None => {}
            }
        }
    }

    /// A controller PacketOut (the scenario's CPU-port frame: `packet_out`
    /// header, then the packet) and what the SimDevice made of it.
    fn packet_out(&mut self, at_us: u64, frame: &[u8]) -> Result<Outcome, TargetError> {
        let (rt, agent, nic) = self.parts()?;
        // the device clock follows the scenario's time as for a data-plane frame
        agent.with_backend(|b| b.device().send(at_us, &[]))?;
        agent.with_backend(|b| b.device().take_injected());
        let meta = PacketOutMeta {
            port: u16::from_be_bytes([frame[0], frame[1]]),
            mode: frame[2],
        };
        let p = nic.program().packet_out(meta, frame[4..].to_vec())?;
        rt.block_on(nic.send_packet_out(p))?;
        let deadline = Instant::now() + WAIT;
        loop {
            let mut got = agent.with_backend(|b| b.device().take_injected());
            if got.len() > 1 {
                return Err(format!("{} outcomes for one PacketOut", got.len()).into());
            }
            if let Some(o) = got.pop() {
                // frames the injected packet sent out are reported in the outcome
                agent.with_backend(|b| b.device().take_output());
                return Ok(o);
            }
            if Instant::now() >= deadline {
                return Err(format!("no outcome within {WAIT:?} for the PacketOut").into());
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

impl Drop for AgentTarget {
    fn drop(&mut self) {
        self.nic = None;
        if let Some(a) = self.agent.take() {
            self.rt.block_on(a.stop());
        }
    }
}

impl Target for AgentTarget {
    fn name(&self) -> String {
        "agent".into()
    }

    fn reset(&mut self, config: &Config) -> Result<(), TargetError> {
        self.nic = None;
        if let Some(a) = self.agent.take() {
            self.rt.block_on(a.stop());
        }
        self.retired_rules.clear();
        self.retired_ctx.clear();
        let backend = FpgaBackend::new(SimDevice::new())?;
        let agent = self.rt.block_on(Agent::start(
            backend,
            "127.0.0.1:0".parse()?,
            ServerConfig::default(),
            false,
        ))?;
        let source = PipelineSource::new(ztnic_p4tables::ztnic_p4info()?, Vec::new());
        let mut nic = self
            .rt
            .block_on(Nic::connect("agent", &agent.endpoint(), 1, 1, &source))?;
        if !nic.pipeline_was_set() {
            return Err("a fresh agent already ran a pipeline".into());
        }
        self.rt
            .block_on(nic.apply_ops(&[Op::SetConfig(Box::new(config.clone()))]))?;
        self.cpu_port = config.cpu_port;
        self.agent = Some(agent);
        self.nic = Some(nic);
        Ok(())
    }

    fn apply(&mut self, op: &Op) -> Result<(), TargetError> {
        self.retire(op)?;
        let (rt, _, nic) = self.parts()?;
        rt.block_on(nic.apply_ops(std::slice::from_ref(op)))?;
        if let Op::SetConfig(c) = op {
            self.cpu_port = c.cpu_port;
        }
        Ok(())
    }

    fn send(&mut self, at_us: u64, port: u16, frame: &[u8]) -> Result<Outcome, TargetError> {
        let o = if port == self.cpu_port && frame.len() >= 4 {
            self.packet_out(at_us, frame)?
        } else {
            let (_, agent, _) = self.parts()?;
            let mut v =
                agent.with_backend(|b| b.device().send(at_us, &[(port, frame.to_vec())]))?;
            if v.len() != 1 {
                return Err(format!("{} outcomes for one frame", v.len()).into());
            }
            v.remove(0)
        };
        self.expect_packet_in(&o)?;
        Ok(o)
    }

    fn counters(&mut self) -> Result<Counters, TargetError> {
        let (rt, _, nic) = self.parts()?;
        let mut c = rt.block_on(nic.counters())?;
        for (id, pb) in &self.retired_rules {
            let e = c.rules.entry(*id).or_default();
            e.packets += pb.packets;
            e.bytes += pb.bytes;
        }
        for (ctx, pb) in &self.retired_ctx {
            let e = c.ctx.entry(*ctx).or_default();
            e.packets += pb.packets;
            e.bytes += pb.bytes;
        }
        c.rules.retain(|_, pb| pb.packets > 0);
        c.ctx.retain(|_, pb| pb.packets > 0);
        Ok(c)
    }
}

fn main() {
    let args = Arguments::from_args();
    let scenarios = match load_all(&scenarios_dir()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cannot load the scenarios: {e}");
            std::process::exit(1);
        }
    };
    let trials = scenarios
        .into_iter()
        .map(|s| {
            Trial::test(format!("agent_scenario::{}", s.id), move || {
                let mut target = AgentTarget::new().map_err(|e| Failed::from(e.to_string()))?;
                let mut model = ModelTarget::default();
                let summary = run(&s, &mut target, Some(&mut model))
                    .map_err(|e| Failed::from(e.to_string()))?;
                if summary.unobserved != 0 {
                    return Err(
                        "the RTL behind the agent must observe every ct_state and rule".into(),
                    );
                }
                if target.packet_ins != summary.punted {
                    return Err(format!(
                        "{} PacketIns checked for {} punted packets",
                        target.packet_ins, summary.punted
                    )
                    .into());
                }
                Ok(())
            })
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
