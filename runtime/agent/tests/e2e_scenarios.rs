//! Every shared scenario end to end over real gRPC on loopback: each control
//! operation goes controller (`ztnic_controller::Nic`) → P4Runtime → agent →
//! Verilated RTL; data-plane frames go into the simulated NIC, CPU-port frames
//! become P4Runtime PacketOuts, counters are read over P4Runtime, and every
//! punted packet must also arrive on the controller's stream as a PacketIn with
//! its reason. Each packet is compared with the reference model as well.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use libtest_mimic::{Arguments, Failed, Trial};
use tokio::runtime::Runtime;
use ztnic_agent::{Agent, FpgaBackend, SimDevice};
use ztnic_controller::{Nic, PipelineSource};
use ztnic_model::{Config, Counters, Outcome, Verdict};
use ztnic_p4runtime_client::StreamEvent;
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
            packet_ins: 0,
        })
    }

    fn parts(&mut self) -> Result<(&Runtime, &Agent<SimDevice>, &mut Nic), TargetError> {
        match (&self.agent, &mut self.nic) {
            (Some(a), Some(n)) => Ok((&self.rt, a, n)),
            _ => Err("the target was not reset".into()),
        }
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
        // the controller's counters: those of deleted rules and contexts included
        Ok(rt.block_on(nic.counters())?)
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
