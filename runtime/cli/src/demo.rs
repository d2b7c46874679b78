//! `ztnic demo`: a microservice deployment (the Sock Shop: 14 services, several
//! instances each, on 3 hosts) on ztnic NICs — Verilated NICs each behind its own
//! P4Runtime agent (`--target sim`, the default) or bmv2 `simple_switch_grpc`
//! instances running the P4 program (`--target bmv2`) — programmed by the same
//! controller from label-based intents. Calls between the services travel as real
//! TCP packets through the NICs and a simulated underlay; one instance is then
//! found running outdated software, relabelled, and quarantined while its
//! connections are live.
//!
//! The demo's clock (`now_us`) drives the Verilated NICs; bmv2 keeps real time.
//! Nothing here waits for a conntrack timeout, so both see the same story.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::Serialize;
use ztnic_controller::{Controller, Nic, PipelineSource};
use ztnic_intent::{Engine, Labels, PolicyFile};
use ztnic_model::policy::{Decision, PolicyQuery, evaluate};
use ztnic_model::tag::CTX_WORLD;
use ztnic_model::{Config, Counters, Tables};
use ztnic_netsim::{End, Fabric, Target, UPLINK};
use ztnic_scenario::packet::{Ipv4Spec, PacketSpec, TcpSpec};

/// One instance of a workload.
#[derive(Clone, Debug, Serialize)]
struct Inst {
    workload: String,
    ip: Ipv4Addr,
    host: String,
    vport: u16,
}

/// Who opens a call.
#[derive(Clone, Debug)]
enum From {
    Internet(Ipv4Addr),
    Inst(Inst),
}

/// What happened to one call.
#[derive(Clone, Debug, Serialize)]
pub struct CallResult {
    from: String,
    to: String,
    service: String,
    /// What the intents say (allow / deny and the intent that decides).
    expected: String,
    /// connected, or where and why it was blocked.
    result: String,
    connected: bool,
    as_expected: bool,
}

/// The compromise episode.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Compromise {
    instance: String,
    labels: String,
    updates_written: usize,
    live_flow_before: String,
    live_flow_after: String,
    cut: bool,
    sibling_flow_after: String,
    sibling_survived: bool,
    new_call: String,
    new_call_blocked: bool,
}

/// A new instance of a known workload: endpoint entries only, no new rule.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ScaleOut {
    instance: String,
    /// Updates written per NIC, and how many were rules or contexts.
    updates: BTreeMap<String, usize>,
    rule_or_context_updates: usize,
    call: String,
    connected: bool,
}

/// One NIC's counters after the run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct NicCounters {
    host: String,
    drops: BTreeMap<String, u64>,
    punts: BTreeMap<String, u64>,
}

/// The whole run, for `--json`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct DemoReport {
    policy: String,
    /// `sim` or `bmv2`.
    target: String,
    hosts: Vec<(String, String, String)>,
    workloads: usize,
    instances: usize,
    contexts: usize,
    rules: usize,
    entries_written: BTreeMap<String, usize>,
    calls: Vec<CallResult>,
    scale_out: ScaleOut,
    compromise: Compromise,
    nics: Vec<NicCounters>,
    /// Packets per intent (rule counters summed over the NICs).
    intents_hit: BTreeMap<String, u64>,
    slow_path: BTreeMap<String, u64>,
    /// Every call went as the intents say and the compromised replica was cut off.
    pub ok: bool,
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A TCP segment from `src`:`sport` to `dst`:`dport` with a `payload`-byte body.
#[allow(clippy::too_many_arguments)]
fn tcp(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    sport: u16,
    dport: u16,
    flags: &str,
    seq: u32,
    ack: u32,
    payload: usize,
) -> Result<Vec<u8>> {
    let spec = PacketSpec {
        ipv4: Some(Ipv4Spec {
            src,
            dst,
            ttl: 64,
            id: 0,
            df: true,
            mf: false,
            frag_offset: 0,
            options: 0,
            proto: None,
        }),
        tcp: Some(TcpSpec {
            sport,
            dport,
            flags: flags.into(),
            seq,
            ack,
            win: 65535,
        }),
        payload,
        ..PacketSpec::default()
    };
    Ok(spec.build(&Config::default())?.bytes)
}

/// The running deployment: agents, controller and a clock.
struct Demo {
    fabric: Fabric,
    ctl: Controller,
    engine_rules: Tables,
    now_us: u64,
    next_port: u16,
    quiet: bool,
}

/// A TCP connection in progress: client side (host, port, ip, sport), server
/// side, sequence numbers.
struct Conn {
    c_host: Option<(String, u16)>,
    c_ip: Ipv4Addr,
    sport: u16,
    s: Inst,
    dport: u16,
    seq: u32,
    ack: u32,
}

impl Demo {
    fn tick(&mut self) -> u64 {
        self.now_us += 1_000;
        self.now_us
    }

    /// Sends one segment of `conn` in direction client→server (`to_server`) and
    /// says where it ended, or why it did not arrive.
    async fn segment(
        &mut self,
        conn: &mut Conn,
        to_server: bool,
        flags: &str,
        payload: usize,
    ) -> Result<std::result::Result<(), End>> {
        let at = self.tick();
        let (frame, host, port) = if to_server {
            let f = tcp(
                conn.c_ip, conn.s.ip, conn.sport, conn.dport, flags, conn.seq, conn.ack, payload,
            )?;
            conn.seq = conn
                .seq
                .wrapping_add(payload as u32 + u32::from(flags.contains('S')));
            match &conn.c_host {
                Some((h, p)) => (f, h.clone(), *p),
                // from the internet: arrives untagged on the server's uplink
                None => (f, conn.s.host.clone(), UPLINK),
            }
        } else {
            let f = tcp(
                conn.s.ip, conn.c_ip, conn.dport, conn.sport, flags, conn.ack, conn.seq, payload,
            )?;
            conn.ack = conn
                .ack
                .wrapping_add(payload as u32 + u32::from(flags.contains('S')));
            (f, conn.s.host.clone(), conn.s.vport)
        };
        let path = self.fabric.send(at, &host, port, frame).await?;
        let arrived = match (&path.end, to_server) {
            (End::Delivered { host, port, .. }, true) => {
                *host == conn.s.host && *port == conn.s.vport
            }
            (End::Delivered { host, port, .. }, false) => {
                conn.c_host.as_ref() == Some(&(host.clone(), *port))
            }
            (End::Internet { .. }, false) => conn.c_host.is_none(),
            _ => false,
        };
        Ok(if arrived { Ok(()) } else { Err(path.end) })
    }

    /// Opens a connection (handshake, request, response); the connection if
    /// every segment arrived, else where the first one stopped.
    async fn open(
        &mut self,
        from: &From,
        to: &Inst,
        dport: u16,
    ) -> Result<std::result::Result<Conn, End>> {
        self.next_port += 1;
        let (c_host, c_ip) = match from {
            From::Internet(ip) => (None, *ip),
            From::Inst(i) => (Some((i.host.clone(), i.vport)), i.ip),
        };
        let mut conn = Conn {
            c_host,
            c_ip,
            sport: self.next_port,
            s: to.clone(),
            dport,
            seq: 1000,
            ack: 5000,
        };
        for (to_server, flags, len) in [
            (true, "S", 0),
            (false, "SA", 0),
            (true, "PA", 120),
            (false, "PA", 700),
        ] {
            if let Err(end) = self.segment(&mut conn, to_server, flags, len).await? {
                return Ok(Err(end));
            }
        }
        Ok(Ok(conn))
    }

    /// What the intents say about a call, and the deciding intent's name.
    fn expected(&self, from: &From, to: &Inst, port: u16) -> Result<(bool, String)> {
        let e = self.ctl.engine();
        let ctx_of = |w: &str| e.context_of(w).map(|c| c.id);
        let src = match from {
            From::Internet(_) => CTX_WORLD,
            From::Inst(i) => ctx_of(&i.workload).context("no context")?,
        };
        let dst = ctx_of(&to.workload).context("no context")?;
        let q = PolicyQuery {
            src_ctx: src,
            dst_ctx: dst,
            proto: 6,
            port,
        };
        Ok(match evaluate(self.engine_rules.rules(), &q) {
            Decision::Allow { rule } => (
                true,
                format!("allow ({})", e.intent_of_rule(rule).unwrap_or("?")),
            ),
            Decision::Deny { rule } => (
                false,
                format!("deny ({})", e.intent_of_rule(rule).unwrap_or("?")),
            ),
            Decision::DefaultDeny => (false, "deny (no intent: default deny)".into()),
        })
    }

    fn refresh_rules(&mut self) {
        let mut t = Tables::default();
        for r in self.ctl.engine().rules() {
            t.set_rule(r);
        }
        self.engine_rules = t;
    }

    /// Lets the controller answer what the NICs reported (digests, punts), until
    /// none came for 30 ms.
    async fn slow_path(&mut self) {
        self.slow_path_within(Duration::from_millis(30)).await
    }

    /// Lets the controller answer what the NICs reported, until none came for
    /// `idle`.
    async fn slow_path_within(&mut self, idle: Duration) {
        while let Ok(Some((host, ev, at))) = tokio::time::timeout(idle, self.ctl.next_event()).await
        {
            if let Err(e) = self.ctl.handle_event_at(&host, ev, at).await {
                if !self.quiet {
                    eprintln!("slow path ({host}): {e}");
                }
            }
        }
    }
}

/// Where a packet ended, with the intent that denied it.
fn describe_end(e: &End, engine: &Engine) -> String {
    match e {
        End::Dropped {
            rule: Some(id),
            reason: ztnic_model::DropReason::PolicyDeny,
            ..
        } => format!(
            "{} ({})",
            e.describe(),
            engine.intent_of_rule(*id).unwrap_or("?")
        ),
        _ => e.describe(),
    }
}

fn name_of(from: &From) -> String {
    match from {
        From::Internet(ip) => format!("internet {ip}"),
        From::Inst(i) => format!("{} {}", i.workload, i.ip),
    }
}

fn instances(engine: &Engine) -> Vec<Inst> {
    let mut v = Vec::new();
    for w in engine.workloads() {
        for i in &w.instances {
            if let IpAddr::V4(ip) = i.ip {
                v.push(Inst {
                    workload: w.name.clone(),
                    ip,
                    host: i.host.clone(),
                    vport: i.vport,
                });
            }
        }
    }
    v
}

/// The calls of the demo: what the shop does, and what it must not.
const CALLS: &[(&str, &str, u16)] = &[
    ("internet", "edge-router", 80),
    ("edge-router", "front-end", 8079),
    ("front-end", "catalogue", 80),
    ("front-end", "carts", 80),
    ("front-end", "orders", 80),
    ("front-end", "user", 80),
    ("catalogue", "catalogue-db", 3306),
    ("carts", "carts-db", 27017),
    ("orders", "orders-db", 27017),
    ("orders", "payment", 80),
    ("orders", "shipping", 80),
    ("user", "user-db", 27017),
    ("shipping", "rabbitmq", 5672),
    ("queue-master", "rabbitmq", 5672),
    // what must not happen
    ("front-end", "catalogue-db", 3306),
    ("front-end", "user-db", 27017),
    ("internet", "front-end", 8079),
    ("edge-router", "orders", 80),
    ("payment", "user-db", 27017),
    ("carts", "payment", 80),
    ("catalogue", "user", 22),
];

pub async fn run(policy_path: &Path, target: &str, json: bool) -> Result<DemoReport> {
    let target: Target = target.parse()?;
    // Before anything else: a build without the simulator, a missing switch.
    target.check()?;
    let text = std::fs::read_to_string(policy_path)
        .with_context(|| format!("reading {}", policy_path.display()))?;
    let policy = PolicyFile::from_yaml(&text)
        .with_context(|| format!("parsing {}", policy_path.display()))?;
    let engine = Engine::from_file(&policy)?;
    let quiet = json;
    let say = |s: String| {
        if !quiet {
            println!("{s}");
        }
    };
    let mut report = DemoReport {
        policy: policy_path.display().to_string(),
        target: target.name().to_string(),
        workloads: engine.workloads().count(),
        instances: engine.workloads().map(|w| w.instances.len()).sum(),
        ..DemoReport::default()
    };
    let hosts: Vec<(String, Ipv4Addr)> = engine.hosts().map(|(n, v)| (n.clone(), *v)).collect();
    let (kind, what) = match target {
        Target::Sim => (
            "Verilated ztnic",
            "each a Verilated ztnic_top behind its own P4Runtime agent",
        ),
        Target::Bmv2 => (
            "bmv2 (simple_switch_grpc) ztnic",
            "each a simple_switch_grpc; the controller loads p4/build/ztnic.json over P4Runtime",
        ),
    };
    let source = PipelineSource::new(ztnic_p4tables::ztnic_p4info()?, target.device_config()?);
    say(format!(
        "ztnic demo — {} ({} workloads, {} instances) on {} {kind} NICs\n",
        policy_path.display(),
        report.workloads,
        report.instances,
        hosts.len()
    ));
    let fabric = Fabric::start(&hosts, target).await?;
    say(format!("== NICs: {what} =="));
    let mut ctl = Controller::new(engine);
    for h in fabric.hosts() {
        say(format!(
            "  {:<8} vtep {:<13} {}",
            h.name,
            h.vtep,
            h.datapath.describe()
        ));
        report
            .hosts
            .push((h.name.clone(), h.vtep.to_string(), h.datapath.addr()));
    }
    for h in fabric.hosts() {
        let nic = match Nic::connect(&h.name, &h.datapath.endpoint(), 1, 1, &source).await {
            Ok(nic) => nic,
            Err(e) => {
                fabric.stop().await;
                return Err(e.into());
            }
        };
        ctl.add_nic(&h.name, nic)?;
    }
    let applied = ctl.apply(&policy).await?;
    report.contexts = ctl.engine().contexts().count();
    report.rules = ctl.engine().rules().len();
    say(format!(
        "\n== the controller compiled {} intents into {} contexts and {} rules and wrote, over P4Runtime ==",
        policy.intents.len(),
        report.contexts,
        report.rules
    ));
    for (h, r) in &applied.nics {
        say(format!(
            "  {h:<8} {:>4} table entries + configuration",
            r.inserts + r.modifies
        ));
        report.entries_written.insert(h.clone(), r.updates());
    }
    let mut d = Demo {
        fabric,
        ctl,
        engine_rules: Tables::default(),
        now_us: 1_000_000,
        next_port: 40000,
        quiet,
    };
    d.refresh_rules();

    let all = instances(d.ctl.engine());
    let first = |w: &str| all.iter().find(|i| i.workload == w).cloned();
    say(
        "\n== calls (TCP handshake, request, response through the NICs and the underlay) ==".into(),
    );
    say(format!(
        "  {:<28} {:<28} {:<10} {:<44} result",
        "from", "to", "service", "intents say"
    ));
    for (from, to, port) in CALLS {
        let to_i = first(to).with_context(|| format!("no workload {to}"))?;
        let sources: Vec<From> = if *from == "internet" {
            vec![From::Internet(Ipv4Addr::new(203, 0, 113, 7))]
        } else {
            // every instance of the caller, to the first instance of the callee
            all.iter()
                .filter(|i| i.workload == *from)
                .cloned()
                .map(From::Inst)
                .collect()
        };
        for src in sources {
            let (allow, why) = d.expected(&src, &to_i, *port)?;
            let got = d.open(&src, &to_i, *port).await?;
            d.slow_path().await;
            let (connected, result) = match &got {
                Ok(_) => (true, "connected".to_string()),
                Err(end) => (
                    false,
                    format!("blocked: {}", describe_end(end, d.ctl.engine())),
                ),
            };
            let r = CallResult {
                from: name_of(&src),
                to: format!("{} {}", to_i.workload, to_i.ip),
                service: format!("tcp/{port}"),
                expected: why,
                result,
                connected,
                as_expected: connected == allow,
            };
            say(format!(
                "  {:<28} {:<28} {:<10} {:<44} {}{}",
                r.from,
                r.to,
                r.service,
                r.expected,
                r.result,
                if r.as_expected {
                    ""
                } else {
                    "   <-- NOT AS INTENDED"
                }
            ));
            report.calls.push(r);
        }
    }

    // Scale-out: a third catalogue instance starts on node-3.
    let new_ip = Ipv4Addr::new(10, 1, 3, 30);
    let new_host = "node-3";
    let vport = all
        .iter()
        .filter(|i| i.host == new_host)
        .map(|i| i.vport)
        .max()
        .unwrap_or(0)
        + 1;
    let mut so = ScaleOut {
        instance: format!("catalogue {new_ip} on {new_host} (vport {vport})"),
        ..ScaleOut::default()
    };
    say(format!("\n== scale-out: a new {} starts ==", so.instance));
    let rep = d
        .ctl
        .add_instance(
            "catalogue",
            ztnic_intent::Instance {
                ip: IpAddr::V4(new_ip),
                host: new_host.into(),
                vport,
            },
        )
        .await?;
    for (h, r) in &rep.nics {
        so.updates.insert(h.clone(), r.updates());
        so.rule_or_context_updates += r
            .ops
            .iter()
            .filter(|o| {
                matches!(
                    o,
                    ztnic_model::Op::SetRule(_)
                        | ztnic_model::Op::DeleteRule { .. }
                        | ztnic_model::Op::SetCtxEpoch(_)
                        | ztnic_model::Op::DeleteCtxEpoch { .. }
                )
            })
            .count();
    }
    let per_nic: Vec<String> = so.updates.iter().map(|(h, n)| format!("{h} {n}")).collect();
    say(format!(
        "  same labels, same context: the controller wrote endpoint entries only ({}), {} rules or contexts",
        per_nic.join(", "),
        so.rule_or_context_updates
    ));
    let new_inst = Inst {
        workload: "catalogue".into(),
        ip: new_ip,
        host: new_host.into(),
        vport,
    };
    let fe = first("front-end").context("front-end")?;
    let got = d.open(&From::Inst(fe.clone()), &new_inst, 80).await?;
    so.connected = got.is_ok();
    so.call = format!(
        "front-end {} → new catalogue {new_ip}: {}",
        fe.ip,
        match &got {
            Ok(_) => "connected".to_string(),
            Err(end) => format!("blocked: {}", describe_end(end, d.ctl.engine())),
        }
    );
    say(format!("  {}", so.call));
    report.scale_out = so;

    // The compromise: one front-end replica runs outdated software.
    let victim = all
        .iter()
        .find(|i| i.workload == "front-end" && i.host != "node-1")
        .cloned()
        .context("no front-end instance outside node-1")?;
    let sibling = all
        .iter()
        .find(|i| i.workload == "front-end" && i.ip != victim.ip)
        .cloned()
        .context("a second front-end instance")?;
    let catalogue = first("catalogue").context("catalogue")?;
    let mut c = Compromise {
        instance: format!("front-end {} on {}", victim.ip, victim.host),
        ..Compromise::default()
    };
    let mut live = match d.open(&From::Inst(victim.clone()), &catalogue, 80).await? {
        Ok(conn) => conn,
        Err(end) => bail!("the victim's connection did not open: {}", end.describe()),
    };
    let mut sib = match d.open(&From::Inst(sibling.clone()), &catalogue, 80).await? {
        Ok(conn) => conn,
        Err(end) => bail!("the sibling's connection did not open: {}", end.describe()),
    };
    c.live_flow_before = format!(
        "front-end {} → catalogue {}: established",
        victim.ip, catalogue.ip
    );
    let new_labels = labels(&[("app", "front-end"), ("tier", "web"), ("patch", "outdated")]);
    c.labels = "app=front-end,tier=web,patch=outdated".into();
    say(format!(
        "\n== {} is found running outdated software: relabelled {} ==",
        c.instance, c.labels
    ));
    say(format!("  before: {}", c.live_flow_before));
    let rep = d
        .ctl
        .relabel_instance(IpAddr::V4(victim.ip), new_labels)
        .await?;
    d.refresh_rules();
    c.updates_written = rep.updates();
    say(format!(
        "  the controller moved it to its own context, bumped the epochs and the policy generation: {} updates over P4Runtime",
        c.updates_written
    ));
    let after = d.segment(&mut live, true, "PA", 80).await?;
    c.cut = after.is_err();
    c.live_flow_after = match &after {
        Ok(()) => "still passing".into(),
        Err(end) => format!("next packet {}", describe_end(end, d.ctl.engine())),
    };
    say(format!(
        "  its live connection to catalogue: {}",
        c.live_flow_after
    ));
    let sib_after = d.segment(&mut sib, true, "PA", 80).await?;
    c.sibling_survived = sib_after.is_ok();
    c.sibling_flow_after = match &sib_after {
        Ok(()) => format!("front-end {} → catalogue: still established", sibling.ip),
        Err(end) => format!("front-end {} → catalogue: {}", sibling.ip, end.describe()),
    };
    say(format!("  the other replica: {}", c.sibling_flow_after));
    let fresh = d
        .open(
            &From::Inst(victim.clone()),
            &first("carts").context("carts")?,
            80,
        )
        .await?;
    c.new_call_blocked = fresh.is_err();
    c.new_call = match &fresh {
        Ok(_) => "a new call to carts connected".into(),
        Err(end) => format!("a new call to carts: {}", describe_end(end, d.ctl.engine())),
    };
    say(format!("  {}", c.new_call));
    // The last events. bmv2 can hold a digest back until the digest acknowledgement
    // timeout the controller configures (1 s) has run out: wait longer there, so
    // both targets report the same events.
    d.slow_path_within(match target {
        Target::Sim => Duration::from_millis(30),
        Target::Bmv2 => Duration::from_millis(1500),
    })
    .await;
    report.compromise = c;

    // Counters, read back over P4Runtime.
    say("\n== counters (read over P4Runtime) ==".into());
    let names = d.ctl.nic_names();
    let mut rules_total: BTreeMap<u32, u64> = BTreeMap::new();
    for h in &names {
        let nic = d.ctl.nic_mut(h).context("nic")?;
        let cnt: Counters = nic.counters().await?;
        let mut n = NicCounters {
            host: h.clone(),
            ..NicCounters::default()
        };
        for (r, v) in &cnt.drops {
            n.drops.insert(r.name().to_string(), *v);
        }
        for (r, v) in &cnt.punts {
            n.punts.insert(r.name().to_string(), *v);
        }
        for (id, pb) in &cnt.rules {
            *rules_total.entry(*id).or_default() += pb.packets;
        }
        let drops: Vec<String> = n.drops.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let punts: Vec<String> = n.punts.iter().map(|(k, v)| format!("{k} {v}")).collect();
        say(format!(
            "  {h:<8} dropped: {}   punted: {}",
            if drops.is_empty() {
                "none".into()
            } else {
                drops.join(", ")
            },
            if punts.is_empty() {
                "none".into()
            } else {
                punts.join(", ")
            }
        ));
        report.nics.push(n);
    }
    for (id, n) in rules_total.into_iter().filter(|(_, n)| *n > 0) {
        let name = d
            .ctl
            .engine()
            .intent_of_rule(id)
            .unwrap_or("(removed)")
            .to_string();
        *report.intents_hit.entry(name).or_default() += n;
    }
    say("  packets decided, by intent (all NICs; rules deleted since included):".into());
    for (name, n) in &report.intents_hit {
        say(format!("    {name:<26} {n:>5}"));
    }
    let st = d.ctl.slow_path_stats().clone();
    report.slow_path = [
        ("events", st.events),
        ("ct_events", st.ct_events),
        ("session", st.session),
        ("ctx_unknown", st.ctx_unknown),
        ("ctx_stale_epoch", st.ctx_stale),
        ("ctx_epoch_installs", st.ctx_epoch_installs),
        ("overflow_installs", st.overflow_installs),
        ("reinjections", st.reinjections),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    say(format!(
        "  slow path: {} events, {} epoch installs, {} re-injections",
        st.events, st.ctx_epoch_installs, st.reinjections
    ));
    let c = &report.compromise;
    report.ok = report.calls.iter().all(|c| c.as_expected)
        && report.scale_out.connected
        && report.scale_out.rule_or_context_updates == 0
        && c.cut
        && c.sibling_survived
        && c.new_call_blocked;
    let allowed = report.calls.iter().filter(|c| c.connected).count();
    say(format!(
        "\n{} calls: {} connected, {} blocked, {} as the intents say; the compromised replica was cut off: {}",
        report.calls.len(),
        allowed,
        report.calls.len() - allowed,
        if report.calls.iter().all(|c| c.as_expected) {
            "all"
        } else {
            "NOT all"
        },
        if c.cut && c.new_call_blocked && c.sibling_survived {
            "yes"
        } else {
            "NO"
        }
    ));
    d.fabric.stop().await;
    Ok(report)
}
