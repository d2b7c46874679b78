//! The desired state in etcd: `ztnic policy apply`, `ztnic workload …`,
//! `ztnic nic register` write it (each one guarded etcd transaction, compiled by
//! the intent compiler first: a rejected change writes nothing); `ztnic state
//! show` prints it with key material redacted.

use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use ztnic_intent::PolicyFile;
use ztnic_store::{Commit, DEFAULT_ENDPOINT, DEFAULT_PREFIX, Desired, Store};

/// Where the desired state is.
#[derive(Args, Debug)]
pub struct EtcdArgs {
    /// etcd client URLs, comma-separated (a bare host:port means http://).
    #[arg(long, env = "ZTNIC_ETCD", default_value = DEFAULT_ENDPOINT, value_name = "ENDPOINTS")]
    etcd: String,
    /// The prefix every key lives under.
    #[arg(long, default_value = DEFAULT_PREFIX)]
    etcd_prefix: String,
}

impl EtcdArgs {
    async fn connect(&self) -> Result<Store> {
        let endpoints = Store::endpoints(&self.etcd);
        anyhow::ensure!(!endpoints.is_empty(), "--etcd names no endpoint");
        Ok(Store::connect(&endpoints, &self.etcd_prefix).await?)
    }
}

#[derive(Subcommand)]
pub enum PolicyCmd {
    /// Replaces the policy in etcd (hosts, workloads and their instances, intents)
    /// with a policy file's, after compiling it; NIC registrations and trust keys
    /// stay.
    Apply {
        /// The policy file (YAML, as examples/sockshop/policy.yaml).
        file: PathBuf,
        #[command(flatten)]
        etcd: EtcdArgs,
    },
}

#[derive(Subcommand)]
pub enum WorkloadCmd {
    /// Adds a workload with its labels (instances come with `instance add`).
    Add {
        name: String,
        /// A label, KEY=VALUE; repeat for more.
        #[arg(long = "label", value_name = "KEY=VALUE", required = true, value_parser = parse_label)]
        labels: Vec<(String, String)>,
        #[command(flatten)]
        etcd: EtcdArgs,
    },
    /// Replaces a workload's labels: it moves to the new label set's context and
    /// the contexts' epochs are bumped.
    Relabel {
        name: String,
        /// A label, KEY=VALUE; repeat for more. The set replaces the old one.
        #[arg(long = "label", value_name = "KEY=VALUE", required = true, value_parser = parse_label)]
        labels: Vec<(String, String)>,
        #[command(flatten)]
        etcd: EtcdArgs,
    },
    /// Adds or removes an instance of a workload.
    #[command(subcommand)]
    Instance(InstanceCmd),
}

#[derive(Subcommand)]
pub enum InstanceCmd {
    /// Adds an instance: an address behind a NIC (a host of the policy).
    Add {
        /// The workload.
        name: String,
        /// The NIC (host) it runs behind.
        #[arg(long)]
        nic: String,
        /// Its address.
        #[arg(long)]
        addr: IpAddr,
        /// The NIC's virtual port; default: the lowest one not in use.
        #[arg(long)]
        vport: Option<u16>,
        #[command(flatten)]
        etcd: EtcdArgs,
    },
    /// Removes the instance of a workload at an address behind a NIC.
    Remove {
        /// The workload.
        name: String,
        #[arg(long)]
        nic: String,
        #[arg(long)]
        addr: IpAddr,
        #[command(flatten)]
        etcd: EtcdArgs,
    },
}

#[derive(Subcommand)]
pub enum NicCmd {
    /// Registers (or re-registers) where a NIC's agent serves P4Runtime.
    Register {
        /// The NIC's name (its host in the policy).
        name: String,
        /// The agent's P4Runtime address, HOST:PORT.
        #[arg(long, value_name = "ADDR")]
        p4rt: String,
        /// A reference to the TLS settings the controller uses for this NIC (e.g.
        /// a directory of PEM files); not key material. Omitted: plaintext.
        #[arg(long, value_name = "REF")]
        tls: Option<String>,
        #[command(flatten)]
        etcd: EtcdArgs,
    },
}

#[derive(Subcommand)]
pub enum StateCmd {
    /// Prints the desired state (key material redacted).
    Show {
        /// Print machine-readable JSON instead of tables.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        etcd: EtcdArgs,
    },
}

fn parse_label(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() && !v.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(format!("{s:?} is not KEY=VALUE")),
    }
}

fn summary(what: &str, c: &Commit, d: &Desired) {
    let (contexts, generation) = d
        .engine
        .as_ref()
        .map(|e| (e.contexts().count(), e.policy_gen()))
        .unwrap_or((0, 0));
    println!(
        "{what}: {} keys written, {} deleted; etcd revision {}; {} hosts, {} workloads, {} instances, {} intents, {} NICs registered; {contexts} contexts, generation {generation}",
        c.puts,
        c.deletes,
        c.revision,
        d.hosts.len(),
        d.workloads.len(),
        d.instances.len(),
        d.intents.len(),
        d.nics.len(),
    );
}

async fn write<F>(etcd: &EtcdArgs, what: &str, change: F) -> Result<()>
where
    F: FnOnce(&mut Desired) -> Result<(), ztnic_store::StoreError>,
{
    let mut store = etcd.connect().await?;
    let (commit, desired) = store.update(change).await.context(what.to_owned())?;
    summary(what, &commit, &desired);
    Ok(())
}

pub async fn policy(cmd: PolicyCmd) -> Result<()> {
    match cmd {
        PolicyCmd::Apply { file, etcd } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let f = PolicyFile::from_yaml(&text)
                .with_context(|| format!("{} is not a policy file", file.display()))?;
            write(&etcd, &format!("policy {}", file.display()), |d| {
                d.apply_policy(&f)
            })
            .await
        }
    }
}

pub async fn workload(cmd: WorkloadCmd) -> Result<()> {
    match cmd {
        WorkloadCmd::Add { name, labels, etcd } => {
            write(&etcd, &format!("workload {name} added"), |d| {
                d.add_workload(&name, &labels)
            })
            .await
        }
        WorkloadCmd::Relabel { name, labels, etcd } => {
            write(&etcd, &format!("workload {name} relabelled"), |d| {
                d.relabel(&name, &labels)
            })
            .await
        }
        WorkloadCmd::Instance(InstanceCmd::Add {
            name,
            nic,
            addr,
            vport,
            etcd,
        }) => {
            write(
                &etcd,
                &format!("instance {addr} of {name} on {nic} added"),
                |d| d.add_instance(&name, &nic, addr, vport),
            )
            .await
        }
        WorkloadCmd::Instance(InstanceCmd::Remove {
            name,
            nic,
            addr,
            etcd,
        }) => {
            write(
                &etcd,
                &format!("instance {addr} of {name} on {nic} removed"),
                |d| d.remove_instance(&name, &nic, addr),
            )
            .await
        }
    }
}

pub async fn nic(cmd: NicCmd) -> Result<()> {
    match cmd {
        NicCmd::Register {
            name,
            p4rt,
            tls,
            etcd,
        } => {
            write(&etcd, &format!("NIC {name} registered"), |d| {
                d.register_nic(&name, &p4rt, tls)
            })
            .await
        }
    }
}

pub async fn state(cmd: StateCmd) -> Result<()> {
    let StateCmd::Show { json, etcd } = cmd;
    let mut store = etcd.connect().await?;
    let snap = store.snapshot().await?;
    let d = &snap.desired;
    if json {
        let mut v = d.redacted_json();
        v["revision"] = snap.revision.into();
        v["prefix"] = store.prefix().into();
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    println!(
        "desired state under {} at etcd revision {}",
        store.prefix(),
        snap.revision
    );
    println!("\nhosts:");
    for h in d.hosts.values() {
        println!("  {:<16} vtep {}", h.name, h.vtep);
    }
    println!("\nNICs registered:");
    for n in d.nics.values() {
        let tls = n.tls.as_deref().unwrap_or("plaintext");
        println!("  {:<16} p4rt {:<24} tls {tls}", n.name, n.p4rt);
    }
    println!("\nworkloads:");
    let ctx = |w: &str| {
        d.engine
            .as_ref()
            .and_then(|e| e.context_of(w))
            .map(|c| format!("ctx {} epoch {}", c.id, c.epoch))
            .unwrap_or_default()
    };
    for w in d.workloads.values() {
        let labels: Vec<String> = w.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        println!("  {:<16} {:<22} {}", w.name, ctx(&w.name), labels.join(","));
        for i in d.instances.values().filter(|i| i.workload == w.name) {
            println!("      {:<15} on {} vport {}", i.ip, i.nic, i.vport);
        }
    }
    println!("\nintents:");
    for i in &d.intents {
        println!("  {:<28} {:?} priority {}", i.name, i.action, i.priority);
    }
    if let Some(e) = &d.engine {
        println!("\npolicy generation {}", e.policy_gen());
    }
    match &d.trust {
        Some(t) => {
            let ids: Vec<&str> = t.keys.iter().map(|k| k.id.as_str()).collect();
            println!(
                "trust domain {}: keys {} (material redacted)",
                t.domain,
                ids.join(", ")
            );
        }
        None => println!("trust domain: no keys"),
    }
    Ok(())
}

/// `ztnic controller`: the controller service over the desired state in etcd.
#[derive(Args, Debug)]
pub struct ControllerArgs {
    #[command(flatten)]
    etcd: EtcdArgs,
    /// This controller's name in the leader election (default: the host name and
    /// process id).
    #[arg(long)]
    name: Option<String>,
    /// Lease time to live in seconds: how long a killed leader is waited for
    /// before a standby takes over (a stopped one hands over at once).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(i64).range(2..=3600))]
    lease_ttl: i64,
    /// NICs converged at once.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..=4096))]
    parallel: u64,
    /// Seconds between retries of unreachable or failed NICs.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=3600))]
    retry_s: u64,
    /// bmv2 JSON to install on a NIC that does not run the ztnic pipeline yet
    /// (bmv2 targets; the FPGA agent needs none).
    #[arg(long)]
    bmv2_json: Option<PathBuf>,
    /// Allow plaintext P4Runtime to NICs registered without TLS beyond loopback.
    #[arg(long)]
    insecure: bool,
}

pub async fn controller(a: ControllerArgs) -> Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    use ztnic_controller::service::{ServiceEvent, ServiceOptions, run};
    let endpoints = Store::endpoints(&a.etcd.etcd);
    anyhow::ensure!(!endpoints.is_empty(), "--etcd names no endpoint");
    let config = match &a.bmv2_json {
        Some(p) => std::fs::read(p).with_context(|| format!("reading {}", p.display()))?,
        None => Vec::new(),
    };
    let pipeline = ztnic_controller::PipelineSource::new(ztnic_p4tables::ztnic_p4info()?, config);
    let name = a.name.clone().unwrap_or_else(|| {
        let host = std::fs::read_to_string("/etc/hostname")
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| "controller".into());
        format!("{host}-{}", std::process::id())
    });
    let mut opts = ServiceOptions::new(endpoints, &name, pipeline);
    opts.prefix.clone_from(&a.etcd.etcd_prefix);
    opts.lease_ttl_s = a.lease_ttl;
    opts.parallel = usize::try_from(a.parallel).unwrap_or(16);
    opts.retry = std::time::Duration::from_secs(a.retry_s);
    opts.insecure = a.insecure;
    let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    // progress on standard output, one line per event
    let printer = tokio::spawn(async move {
        while let Some(e) = rx.recv().await {
            match e {
                ServiceEvent::Elected { election_id } => {
                    println!("leader (P4Runtime election id {election_id})")
                }
                ServiceEvent::Converged {
                    revision,
                    nics,
                    pending,
                } => println!("converged revision {revision}: {nics} NICs, {pending} pending"),
                ServiceEvent::Stepped => println!("stepped down"),
            }
        }
    });
    println!(
        "ztnic controller {name}: campaigning for {}; Ctrl-C or SIGTERM stops",
        a.etcd.etcd_prefix
    );
    let shutdown = async {
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
    };
    let r = run(opts, Some(tx), shutdown).await;
    let _ = printer.await;
    r?;
    println!("ztnic controller {name}: stopped");
    Ok(())
}
