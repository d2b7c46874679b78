//! `ztnic replay`: a pcap through a ztnic NIC.
//!
//! `--target sim` (the default) starts the Verilated NIC of one host of a policy
//! file behind its agent, has the controller program it over P4Runtime, sends every
//! frame into `--port` at its capture time and writes the frames that left the NIC
//! (any port) to `--out`, with a tally of verdicts and reasons. `--target bmv2`
//! does the same with a `simple_switch_grpc` into which the controller loads the P4
//! program (bmv2 keeps real time: frames are sent one after the other, the capture
//! times are not replayed). A P4Runtime address
//! as `--target` replays into a NIC that is already programmed, through PacketOut
//! (mode 1: the frame runs through the pipeline as if it had arrived on `--port`);
//! there only what the controller can see is reported: the punted frames (written
//! to `--out`) and the drop counters' increments.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use ztnic_controller::{Controller, Nic, PipelineSource, read_counters};
use ztnic_intent::{Engine, PolicyFile};
use ztnic_model::Verdict;
use ztnic_netsim::{Fabric, Target};
use ztnic_p4runtime_client::{P4RuntimeClient, StreamEvent};
use ztnic_p4tables::packet::PacketOutMeta;

use crate::pcap::{self, Record};

#[derive(Args, Debug)]
pub struct ReplayArgs {
    /// The capture to replay (classic pcap, Ethernet).
    pcap: PathBuf,
    /// `sim` (the Verilated NIC in-process) or `bmv2` (a simple_switch_grpc), each
    /// programmed from --policy, or the P4Runtime address of a programmed ztnic NIC.
    #[arg(long, default_value = "sim")]
    target: String,
    /// With `--target sim|bmv2`: the policy whose tables the NIC gets.
    #[arg(long, default_value = "examples/sockshop/policy.yaml")]
    policy: PathBuf,
    /// With `--target sim|bmv2`: which host of the policy the NIC belongs to
    /// (default: the first).
    #[arg(long)]
    host: Option<String>,
    /// The port the frames arrive on (0 is the uplink).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Where to write the frames that came out.
    #[arg(long, default_value = "replay-out.pcap")]
    out: PathBuf,
    /// With an address target: the P4Runtime election id (PacketOut needs the
    /// primary session).
    #[arg(long, default_value_t = 1)]
    election_id: u128,
    /// Print machine-readable JSON instead of a summary.
    #[arg(long)]
    json: bool,
    /// With an address target: how to reach it (TLS, or plaintext to loopback).
    #[command(flatten)]
    tls: crate::tls::ClientTlsArgs,
}

#[derive(Serialize, Default)]
struct ReplayReport {
    target: String,
    packets: usize,
    /// Frames written to the output, by egress port (sim) or punted (address).
    out_frames: usize,
    forwarded: BTreeMap<u16, u64>,
    dropped: BTreeMap<String, u64>,
    punted: BTreeMap<String, u64>,
}

fn progress(n: usize, quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(n as u64);
    pb.set_style(
        ProgressStyle::with_template("{prefix} [{bar:40}] {pos}/{len} packets {per_sec} {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    pb.set_prefix("replay");
    pb
}

pub async fn replay(a: ReplayArgs) -> Result<()> {
    let file =
        std::fs::File::open(&a.pcap).with_context(|| format!("opening {}", a.pcap.display()))?;
    let records = pcap::read(std::io::BufReader::new(file))
        .with_context(|| format!("reading {}", a.pcap.display()))?;
    if records.is_empty() {
        bail!("{} holds no packets", a.pcap.display());
    }
    let (report, out) = if let Ok(target) = a.target.parse::<Target>() {
        replay_local(&a, target, &records).await?
    } else {
        replay_remote(&a, &records).await?
    };
    let f =
        std::fs::File::create(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    pcap::write(std::io::BufWriter::new(f), &out)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!(
        "{} packets replayed into {} port {}",
        report.packets, report.target, a.port
    );
    for (port, n) in &report.forwarded {
        println!("  forwarded to port {port:<5} {n:>8}");
    }
    for (r, n) in &report.dropped {
        println!("  dropped: {r:<24} {n:>6}");
    }
    for (r, n) in &report.punted {
        println!("  punted: {r:<25} {n:>6}");
    }
    println!(
        "{} frames written to {}",
        report.out_frames,
        a.out.display()
    );
    Ok(())
}

async fn replay_local(
    a: &ReplayArgs,
    target: Target,
    records: &[Record],
) -> Result<(ReplayReport, Vec<Record>)> {
    target.check()?;
    let source = PipelineSource::new(ztnic_p4tables::ztnic_p4info()?, target.device_config()?);
    let text = std::fs::read_to_string(&a.policy)
        .with_context(|| format!("reading {}", a.policy.display()))?;
    let policy =
        PolicyFile::from_yaml(&text).with_context(|| format!("parsing {}", a.policy.display()))?;
    let engine = Engine::from_file(&policy)?;
    let host = match &a.host {
        Some(h) => h.clone(),
        None => policy
            .hosts
            .first()
            .map(|h| h.name.clone())
            .context("the policy has no host")?,
    };
    let vtep = engine
        .hosts()
        .find(|(n, _)| **n == host)
        .map(|(_, v)| *v)
        .with_context(|| format!("the policy has no host {host}"))?;
    let mut fabric = Fabric::start(&[(host.clone(), vtep)], target).await?;
    let h = fabric.host_mut(&host)?;
    let mut ctl = Controller::new(engine);
    ctl.add_nic(
        &host,
        Nic::connect(&host, &h.datapath.endpoint(), 1, 1, &source).await?,
    )?;
    ctl.apply(&policy).await?;
    let mut report = ReplayReport {
        target: match target {
            Target::Sim => format!("the Verilated NIC of {host}"),
            Target::Bmv2 => format!("the bmv2 NIC of {host}"),
        },
        packets: records.len(),
        ..ReplayReport::default()
    };
    let t0 = records[0].ts_us;
    let pb = progress(records.len(), a.json);
    let mut out = Vec::new();
    for r in records {
        let at = 1_000_000 + r.ts_us.saturating_sub(t0);
        let o = h.datapath.send(at, a.port, r.data.clone()).await?;
        {
            match o.verdict {
                Verdict::Forward { port, frame } => {
                    *report.forwarded.entry(port).or_default() += 1;
                    out.push(Record {
                        ts_us: r.ts_us,
                        data: frame,
                    });
                }
                Verdict::Drop(reason) => {
                    *report.dropped.entry(reason.name().into()).or_default() += 1
                }
                Verdict::Punt { reason, .. } => {
                    *report.punted.entry(reason.name().into()).or_default() += 1
                }
            }
        }
        pb.inc(1);
    }
    pb.finish_and_clear();
    report.out_frames = out.len();
    fabric.stop().await;
    Ok((report, out))
}

async fn replay_remote(a: &ReplayArgs, records: &[Record]) -> Result<(ReplayReport, Vec<Record>)> {
    let endpoint = crate::commands::endpoint(&a.target);
    let config = crate::tls::client_config(
        &endpoint,
        1,
        a.election_id,
        a.tls.tls()?.as_ref(),
        a.tls.insecure,
    );
    let mut client = P4RuntimeClient::connect(config)
        .await
        .with_context(|| format!("connecting to {}", a.target))?;
    if !client.is_primary() {
        bail!(
            "another controller is primary on {}: PacketOut needs the primary session (--election-id)",
            a.target
        );
    }
    client
        .fetch_p4info()
        .await
        .context("the device runs no pipeline")?;
    let program = ztnic_p4tables::Program::new(client.index()?.clone())
        .context("the device does not run the ztnic program")?;
    let before = read_counters(&mut client, &program).await?;
    let pb = progress(records.len(), a.json);
    let mut out = Vec::new();
    let mut report = ReplayReport {
        target: a.target.clone(),
        packets: records.len(),
        ..ReplayReport::default()
    };
    let take = |ev: Option<StreamEvent>, report: &mut ReplayReport, out: &mut Vec<Record>| {
        if let Some(StreamEvent::PacketIn(p)) = ev
            && let Ok(m) = program.packet_in_meta(&p)
        {
            let name = ztnic_model::PuntReason::from_code(m.reason).map_or("unknown", |r| r.name());
            *report.punted.entry(name.into()).or_default() += 1;
            out.push(Record {
                ts_us: 0,
                data: p.payload,
            });
        }
    };
    for r in records {
        let po = program.packet_out(
            PacketOutMeta {
                port: a.port,
                mode: 1,
            },
            r.data.clone(),
        )?;
        client.send_packet_out(po).await?;
        while let Some(ev) = client.next_event_within(Duration::from_millis(0)).await {
            take(Some(ev), &mut report, &mut out);
        }
        pb.inc(1);
    }
    pb.finish_and_clear();
    while let Some(ev) = client.next_event_within(Duration::from_millis(200)).await {
        take(Some(ev), &mut report, &mut out);
    }
    let after = read_counters(&mut client, &program).await?;
    for (r, n) in &after.drops {
        let d = n - before.drops.get(r).copied().unwrap_or(0);
        if d > 0 {
            report.dropped.insert(r.name().into(), d);
        }
    }
    report.out_frames = out.len();
    Ok((report, out))
}
