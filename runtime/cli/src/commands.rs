//! `ztnic agent`, `ztnic apply`, `ztnic counters`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use serde::Serialize;
use tokio::signal::unix::{SignalKind, signal};
use tracing::Instrument;
use ztnic_agent::{Agent, CardDevice, CpuSocket, FpgaBackend};
use ztnic_controller::{Controller, Nic, NicInfo, PipelineSource, Report, read_counters};
use ztnic_intent::{Engine, PolicyFile};
use ztnic_p4runtime_client::P4RuntimeClient;
use ztnic_p4runtime_server::{ServerConfig, ServerSecurity};

use crate::tls::{ClientTlsArgs, ServerTlsArgs, client_config};

/// Which datapath an agent serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DeviceKind {
    /// The Verilated RTL, in-process (builds with the `sim` feature, the default).
    Sim,
    /// A card's PCIe BAR (`--bdf` or `--bar`).
    Card,
}

#[derive(Args, Debug)]
pub struct AgentArgs {
    /// Address to serve P4Runtime on (loopback unless you mean otherwise).
    #[arg(long, default_value = ztnic_agent::DEFAULT_ADDR)]
    listen: SocketAddr,
    /// The datapath behind the agent.
    #[arg(long, value_enum, default_value_t = DeviceKind::Sim)]
    device: DeviceKind,
    /// The card's PCI address (dddd:bb:dd.f); its BAR 0 is mapped through sysfs.
    #[arg(long, conflicts_with = "bar")]
    bdf: Option<String>,
    /// A BAR resource file to map instead of the sysfs one of `--bdf`.
    #[arg(long)]
    bar: Option<PathBuf>,
    /// The host interface of the card's CPU-port queue (PacketIn / PacketOut).
    #[arg(long)]
    cpu_netdev: Option<String>,
    /// Take over a card that is already forwarding: keep its tables and
    /// connections and serve the ztnic pipeline over them.
    #[arg(long)]
    adopt: bool,
    /// The P4Runtime device id.
    #[arg(long, default_value_t = 1)]
    device_id: u64,
    /// How often a device without an event signal (a card until its MSI-X
    /// interrupt is wired) has its event FIFO and punt queue polled, in milliseconds;
    /// the Verilated NIC and the register-file device signal their events instead.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=1000))]
    poll_ms: u64,
    /// Serve Prometheus metrics (`GET /metrics`: drops and punts by reason,
    /// packets and bytes per rule, P4Runtime Write latency, slow-path events) on
    /// this address; off unless given (loopback unless you mean otherwise).
    #[arg(long, value_name = "ADDR")]
    metrics_addr: Option<SocketAddr>,
    #[command(flatten)]
    tls: ServerTlsArgs,
}

pub async fn agent(a: AgentArgs) -> Result<()> {
    let span = tracing::info_span!("agent", listen = %a.listen, device = ?a.device);
    agent_in(a).instrument(span).await
}

async fn agent_in(a: AgentArgs) -> Result<()> {
    let config = ServerConfig {
        device_id: a.device_id,
        tick: std::time::Duration::from_millis(a.poll_ms),
        ..ServerConfig::default()
    };
    // Refuse an insecure listener before touching the device.
    let security = a.tls.security()?;
    security.check_listen(a.listen)?;
    match a.device {
        DeviceKind::Sim => {
            if a.bdf.is_some() || a.bar.is_some() || a.cpu_netdev.is_some() || a.adopt {
                bail!("--bdf, --bar, --cpu-netdev and --adopt are for --device card");
            }
            sim_agent(a.listen, config, security, a.metrics_addr).await
        }
        DeviceKind::Card => {
            let bar = match (&a.bdf, &a.bar) {
                (Some(bdf), None) => ztnic_fpga::PcieBar::for_device(bdf)?,
                (None, Some(path)) => ztnic_fpga::PcieBar::open(path)?,
                _ => bail!("--device card needs --bdf or --bar"),
            };
            let cpu = match &a.cpu_netdev {
                Some(ifname) => Some(
                    CpuSocket::open(ifname)
                        .with_context(|| format!("the CPU-port interface {ifname}"))?,
                ),
                None => None,
            };
            let device = CardDevice::new(bar, cpu);
            let what = ztnic_agent::Device::describe(&device);
            let backend = if a.adopt {
                FpgaBackend::adopt(device)?
            } else {
                FpgaBackend::new(device)?
            };
            let agent = Agent::start_with(backend, a.listen, config, a.adopt, security).await?;
            serve(agent, &what, a.metrics_addr).await
        }
    }
}

#[cfg(feature = "sim")]
async fn sim_agent(
    listen: SocketAddr,
    config: ServerConfig,
    security: ServerSecurity,
    metrics: Option<SocketAddr>,
) -> Result<()> {
    let backend = FpgaBackend::new(ztnic_agent::SimDevice::new())?;
    let agent = Agent::start_with(backend, listen, config, false, security).await?;
    serve(agent, "Verilated ztnic_top (in-process)", metrics).await
}

#[cfg(not(feature = "sim"))]
async fn sim_agent(
    _listen: SocketAddr,
    _config: ServerConfig,
    _security: ServerSecurity,
    _metrics: Option<SocketAddr>,
) -> Result<()> {
    bail!(
        "--device sim needs the Verilated RTL, and this ztnic was built without the `sim` \
         feature: serve a card with --device card, or build with default features (needs Verilator)"
    )
}

async fn serve<D: ztnic_agent::Device>(
    mut agent: Agent<D>,
    what: &str,
    metrics: Option<SocketAddr>,
) -> Result<()> {
    let metrics = match metrics {
        Some(m) => {
            let bound = agent.serve_metrics(m).await?;
            format!("; Prometheus metrics on http://{bound}/metrics")
        }
        None => String::new(),
    };
    // Both handlers are installed before the agent says it serves: a SIGINT or
    // SIGTERM from then on stops it gracefully rather than killing the process.
    let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    tracing::info!(
        "ztnic agent: P4Runtime on {} over {what}{metrics}; Ctrl-C or SIGTERM stops",
        agent.endpoint()
    );
    let why = tokio::select! {
        _ = int.recv() => "SIGINT",
        _ = term.recv() => "SIGTERM",
    };
    let stats = agent.with_backend(|b| b.stats());
    agent.stop().await;
    tracing::info!(
        "ztnic agent: stopped on {why} ({} table writes, {} digests, {} packet-ins, {} packet-outs)",
        stats.writes,
        stats.digests,
        stats.packet_ins,
        stats.packet_outs
    );
    Ok(())
}

#[derive(Args, Debug)]
pub struct ApplyArgs {
    /// The policy file: hosts, workloads and their labels, intents.
    policy: PathBuf,
    /// Where each host's NIC is: HOST=ADDRESS (a ztnic agent or simple_switch_grpc);
    /// every host of the policy needs one.
    #[arg(long = "nic", value_name = "HOST=ADDRESS")]
    nics: Vec<String>,
    /// The controller's state (contexts, rule ids, generation, NICs). If it exists
    /// the NICs are first reconciled with it; it is saved afterwards.
    #[arg(long, default_value = "ztnic-state.json")]
    state: PathBuf,
    /// bmv2 JSON to load with the pipeline (simple_switch_grpc needs it; agents
    /// ignore it).
    #[arg(long)]
    bmv2_json: Option<PathBuf>,
    /// Print machine-readable JSON instead of a summary.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    tls: ClientTlsArgs,
}

/// What one NIC was written.
#[derive(Serialize)]
struct Written {
    inserts: usize,
    modifies: usize,
    deletes: usize,
    config_written: bool,
}

fn written(r: &Report) -> std::collections::BTreeMap<String, Written> {
    r.nics
        .iter()
        .map(|(h, n)| {
            (
                h.clone(),
                Written {
                    inserts: n.inserts,
                    modifies: n.modifies,
                    deletes: n.deletes + n.raw_deletes,
                    config_written: n.config_written,
                },
            )
        })
        .collect()
}

#[derive(Serialize)]
struct ApplyReport {
    reconciled: Option<std::collections::BTreeMap<String, Written>>,
    applied: std::collections::BTreeMap<String, Written>,
    contexts: usize,
    rules: usize,
    policy_gen: u16,
}

pub fn endpoint(addr: &str) -> String {
    if addr.starts_with("http://") || addr.starts_with("https://") {
        addr.to_string()
    } else {
        format!("http://{addr}")
    }
}

fn pipeline(bmv2_json: Option<&Path>) -> Result<PipelineSource> {
    let config = match bmv2_json {
        Some(p) => std::fs::read(p).with_context(|| format!("reading {}", p.display()))?,
        None => Vec::new(),
    };
    Ok(PipelineSource::new(ztnic_p4tables::ztnic_p4info()?, config))
}

pub async fn apply(a: ApplyArgs) -> Result<()> {
    let text = std::fs::read_to_string(&a.policy)
        .with_context(|| format!("reading {}", a.policy.display()))?;
    let policy =
        PolicyFile::from_yaml(&text).with_context(|| format!("parsing {}", a.policy.display()))?;
    // Check everything before touching any NIC.
    Engine::from_file(&policy).with_context(|| format!("compiling {}", a.policy.display()))?;
    let mut addrs = std::collections::BTreeMap::new();
    for n in &a.nics {
        let (host, addr) = n
            .split_once('=')
            .with_context(|| format!("--nic {n:?}: want HOST=ADDRESS"))?;
        if addrs.insert(host.to_string(), addr.to_string()).is_some() {
            bail!("--nic {host} given twice");
        }
    }
    for h in &policy.hosts {
        if !addrs.contains_key(&h.name) {
            bail!(
                "host {} of the policy has no --nic {}=ADDRESS",
                h.name,
                h.name
            );
        }
    }
    if let Some(extra) = addrs
        .keys()
        .find(|k| !policy.hosts.iter().any(|h| &h.name == *k))
    {
        bail!("--nic {extra}: the policy has no such host");
    }
    let source = pipeline(a.bmv2_json.as_deref())?;
    let tls = a.tls.tls()?;
    let insecure = a.tls.insecure;
    let (mut ctl, reconciled) = if a.state.exists() {
        let (ctl, report) = Controller::restore(&a.state, |info: NicInfo| {
            let source = source.clone();
            let config = client_config(
                &info.endpoint,
                info.device_id,
                info.election_id,
                tls.as_ref(),
                insecure,
            );
            async move { Nic::connect_with(info, config, &source).await }
        })
        .await
        .with_context(|| format!("restoring {}", a.state.display()))?;
        (ctl, Some(report))
    } else {
        (Controller::new(Engine::new()), None)
    };
    for (host, addr) in &addrs {
        if ctl.nic(host).is_none() {
            let endpoint = endpoint(addr);
            let info = NicInfo {
                name: host.clone(),
                endpoint: endpoint.clone(),
                device_id: 1,
                election_id: 1,
            };
            let config = client_config(&endpoint, 1, 1, tls.as_ref(), insecure);
            let nic = Nic::connect_with(info, config, &source)
                .await
                .with_context(|| format!("connecting to {host} at {addr}"))?;
            ctl.add_nic(host, nic)?;
        }
    }
    let applied = ctl.apply(&policy).await?;
    ctl.save(&a.state)
        .with_context(|| format!("saving {}", a.state.display()))?;
    let r = ApplyReport {
        reconciled: reconciled.as_ref().map(written),
        applied: written(&applied),
        contexts: ctl.engine().contexts().count(),
        rules: ctl.engine().rules().len(),
        policy_gen: ctl.engine().policy_gen(),
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(());
    }
    if let Some(rec) = &r.reconciled {
        for (h, n) in rec {
            println!(
                "reconciled {h}: {} repairs",
                n.inserts + n.modifies + n.deletes
            );
        }
    }
    println!(
        "{} contexts, {} rules, policy generation {}",
        r.contexts, r.rules, r.policy_gen
    );
    for (h, n) in &r.applied {
        println!(
            "{h}: {} inserted, {} modified, {} deleted{}",
            n.inserts,
            n.modifies,
            n.deletes,
            if n.config_written {
                ", configuration written"
            } else {
                ""
            }
        );
    }
    println!("state saved to {}", a.state.display());
    Ok(())
}

#[derive(Args, Debug)]
pub struct CountersArgs {
    /// The NIC's P4Runtime address (a ztnic agent or simple_switch_grpc).
    #[arg(long)]
    target: String,
    #[arg(long, default_value_t = 1)]
    device_id: u64,
    /// Print machine-readable JSON instead of tables.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    tls: ClientTlsArgs,
}

#[derive(Serialize, Default)]
struct CountersReport {
    drops: std::collections::BTreeMap<String, u64>,
    punts: std::collections::BTreeMap<String, u64>,
    /// Rule id → (packets, bytes).
    rules: std::collections::BTreeMap<u32, (u64, u64)>,
    /// Context → (packets, bytes).
    contexts: std::collections::BTreeMap<u32, (u64, u64)>,
}

/// A read-only session with the ztnic NIC at `target` (no election id: it never
/// becomes primary over a running controller) and the program it runs.
pub async fn read_only_session(
    target: &str,
    device_id: u64,
    tls: &ClientTlsArgs,
) -> Result<(P4RuntimeClient, ztnic_p4tables::Program)> {
    let mut cfg = client_config(
        &endpoint(target),
        device_id,
        0,
        tls.tls()?.as_ref(),
        tls.insecure,
    );
    cfg.election_id = None;
    let mut client = P4RuntimeClient::connect(cfg)
        .await
        .with_context(|| format!("connecting to {target}"))?;
    client
        .fetch_p4info()
        .await
        .context("the device runs no pipeline")?;
    let program = ztnic_p4tables::Program::new(client.index()?.clone())
        .context("the device does not run the ztnic program")?;
    Ok((client, program))
}

pub async fn counters(a: CountersArgs) -> Result<()> {
    let (mut client, program) = read_only_session(&a.target, a.device_id, &a.tls).await?;
    let c = read_counters(&mut client, &program).await?;
    let mut r = CountersReport::default();
    for (k, v) in &c.drops {
        r.drops.insert(k.name().to_string(), *v);
    }
    for (k, v) in &c.punts {
        r.punts.insert(k.name().to_string(), *v);
    }
    for (k, v) in &c.rules {
        r.rules.insert(*k, (v.packets, v.bytes));
    }
    for (k, v) in &c.ctx {
        r.contexts.insert(*k, (v.packets, v.bytes));
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(());
    }
    println!("dropped, by reason:");
    for (k, v) in &r.drops {
        println!("  {k:<24} {v:>10}");
    }
    println!("punted, by reason:");
    for (k, v) in &r.punts {
        println!("  {k:<24} {v:>10}");
    }
    println!("per rule (packets, bytes):");
    for (k, (p, b)) in &r.rules {
        println!("  rule {k:<19} {p:>10} {b:>12}");
    }
    println!("per context (packets, bytes):");
    for (k, (p, b)) in &r.contexts {
        println!("  ctx {k:<20} {p:>10} {b:>12}");
    }
    Ok(())
}
