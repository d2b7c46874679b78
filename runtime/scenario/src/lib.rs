//! # ztnic-scenario — the shared scenarios, read the same way by every target
//!
//! A scenario (`scenarios/<category>/<name>.yaml`, format in `scenarios/README.md`) is
//! a NIC configuration, its table entries, and a timed sequence of steps: control
//! operations and input packets, each packet with the verdict, reason, output port and
//! bytes expected by the design — written by hand, not produced by the model.
//!
//! This crate loads them, builds their packets ([`packet`]), and replays them against
//! any [`Target`] (the reference model, bmv2, the Verilated RTL), optionally in lockstep
//! with a reference target so that two implementations are compared packet by packet.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_yaml_ng::Value;
pub use ztnic_model::ops::{Op, OverflowFlow};
use ztnic_model::{
    Config, Counters, CtState, CtxEpoch, Datapath, DropReason, LocalEp, Outcome, PortClass,
    PuntReason, RemoteEp, Rule, Verdict, VportCtx,
};

pub mod packet;

use packet::{MacSpec, OuterSpec, PacketSpec};

/// A scenario file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Yaml {
        path: PathBuf,
        source: serde_yaml_ng::Error,
    },
    #[error("{0}")]
    Spec(String),
    #[error("{path}: step {step}: {msg}")]
    Step {
        path: PathBuf,
        step: usize,
        msg: String,
    },
    #[error("invalid configuration: {0}")]
    Config(#[from] ztnic_model::ConfigError),
}

/// Bytes a target must produce, with byte ranges whose value the design leaves to
/// the target (the tunnel UDP source port is flow entropy).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpectedFrame {
    pub bytes: Vec<u8>,
    /// Half-open byte ranges `(start, end)`.
    pub any: Vec<(usize, usize)>,
}

impl ExpectedFrame {
    fn exact(bytes: Vec<u8>) -> Self {
        ExpectedFrame { bytes, any: vec![] }
    }

    /// The first byte where `got` differs outside the `any` ranges, if any.
    pub fn mismatch(&self, got: &[u8]) -> Option<usize> {
        let differs = got
            .iter()
            .zip(&self.bytes)
            .enumerate()
            .position(|(i, (g, e))| g != e && !self.any.iter().any(|&(a, b)| (a..b).contains(&i)));
        differs.or((got.len() != self.bytes.len()).then(|| got.len().min(self.bytes.len())))
    }

    /// Whether `got` equals these bytes outside the `any` ranges.
    pub fn matches(&self, got: &[u8]) -> bool {
        self.mismatch(got).is_none()
    }
}

/// What a step expects of its packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExpectedVerdict {
    Forward { port: u16, frame: ExpectedFrame },
    Drop(DropReason),
    Punt { reason: PuntReason, frame: Vec<u8> },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expected {
    pub verdict: ExpectedVerdict,
    pub ct: Option<CtState>,
    pub rule: Option<u32>,
}

/// One input packet of a step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PacketStep {
    pub port: u16,
    pub frame: Vec<u8>,
    pub expect: Expected,
}

/// One step: control operations, then at most one packet, at a time in µs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub at_us: u64,
    pub ops: Vec<Op>,
    pub send: Option<PacketStep>,
    /// The line of the step in its file, for messages.
    pub index: usize,
}

/// Packet counts a scenario checks at its end; a listed map must match exactly
/// (absent keys are 0).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CounterExpect {
    pub drops: Option<BTreeMap<DropReason, u64>>,
    pub punts: Option<BTreeMap<PuntReason, u64>>,
    pub rules: Option<BTreeMap<u32, u64>>,
    pub ctx: Option<BTreeMap<u32, u64>>,
}

/// A loaded scenario.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// `category/name`.
    pub id: String,
    pub category: String,
    pub path: PathBuf,
    pub description: String,
    /// Configuration at the start.
    pub config: Config,
    /// Table writes before the first step.
    pub setup: Vec<Op>,
    pub steps: Vec<Step>,
    pub counters: Option<CounterExpect>,
}

impl Scenario {
    /// Number of packets the scenario sends.
    pub fn packets(&self) -> usize {
        self.steps.iter().filter(|s| s.send.is_some()).count()
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Defaults {
    #[serde(default)]
    ports: BTreeMap<u16, PortClass>,
    #[serde(default)]
    config: Option<Value>,
    /// Entries every scenario starts with (unless it says `base_tables: false`).
    #[serde(default)]
    tables: TablesFile,
}

#[derive(Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct TablesFile {
    #[serde(default)]
    ctx_epoch: Vec<CtxEpoch>,
    #[serde(default)]
    vport_ctx: Vec<VportCtx>,
    #[serde(default)]
    local_ep: Vec<LocalEp>,
    #[serde(default)]
    remote_ep: Vec<RemoteEp>,
    #[serde(default)]
    policy: Vec<Rule>,
    #[serde(default)]
    ct_overflow: Vec<OverflowFlow>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioFile {
    description: String,
    #[serde(default)]
    config: Option<Value>,
    #[serde(default)]
    ports: BTreeMap<u16, PortClass>,
    #[serde(default = "yes")]
    base_tables: bool,
    #[serde(default)]
    tables: TablesFile,
    steps: Vec<StepFile>,
    #[serde(default)]
    counters: Option<CounterExpect>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepFile {
    at: Option<Value>,
    #[serde(default, rename = "do")]
    ops: Vec<OpFile>,
    port: Option<u16>,
    send: Option<PacketSpec>,
    expect: Option<ExpectFile>,
}

/// An operation as written: `set_config` carries a partial configuration.
#[derive(Deserialize)]
#[serde(untagged)]
enum OpFile {
    Config { set_config: Value },
    Op(Op),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectFile {
    forward: Option<u16>,
    frame: Option<FrameFile>,
    drop: Option<DropReason>,
    punt: Option<PuntReason>,
    ct: Option<String>,
    rule: Option<u32>,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum FrameFile {
    /// The frame as sent.
    Same,
    /// The frame the sent packet encapsulates.
    Decap,
    /// The sent frame, encapsulated by this NIC in Geneve.
    Geneve {
        to: Ipv4Addr,
        ctx: u32,
        epoch: u8,
        #[serde(default)]
        mac: MacSpec,
    },
    /// The sent frame, encapsulated by this NIC in VXLAN-GBP.
    Vxlan { to: Ipv4Addr, gbp: u16 },
    /// An explicit packet.
    Packet(Box<PacketSpec>),
}

fn yes() -> bool {
    true
}

/// The repository's `scenarios/` directory.
pub fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios")
}

/// Parses `10ms`, `1.5s`, `250us` or a number of milliseconds into µs.
pub fn parse_time(v: &Value) -> Result<u64, String> {
    let us = |ms: f64| (ms * 1000.0).round() as u64;
    match v {
        Value::Number(n) => n
            .as_f64()
            .filter(|x| *x >= 0.0)
            .map(us)
            .ok_or_else(|| format!("bad time {n}")),
        Value::String(s) => {
            let s = s.trim();
            let (num, scale) = if let Some(x) = s.strip_suffix("us") {
                (x, 0.001)
            } else if let Some(x) = s.strip_suffix("ms") {
                (x, 1.0)
            } else if let Some(x) = s.strip_suffix('s') {
                (x, 1000.0)
            } else {
                (s, 1.0)
            };
            num.trim()
                .parse::<f64>()
                .ok()
                .filter(|x| *x >= 0.0)
                .map(|x| us(x * scale))
                .ok_or_else(|| format!("bad time {s:?} (want e.g. 10ms, 1.5s, 250us)"))
        }
        other => Err(format!("bad time {other:?}")),
    }
}

/// Overlays `patch` on `base` (mappings merge recursively, everything else replaces).
fn merge(base: &mut Value, patch: &Value) {
    match (base, patch) {
        (Value::Mapping(b), Value::Mapping(p)) => {
            for (k, v) in p {
                match b.get_mut(k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (b, p) => *b = p.clone(),
    }
}

fn patched_config(base: &Config, patch: &Value) -> Result<Config, String> {
    let mut v = serde_yaml_ng::to_value(base).map_err(|e| e.to_string())?;
    merge(&mut v, patch);
    let cfg: Config = serde_yaml_ng::from_value(v).map_err(|e| format!("config: {e}"))?;
    cfg.validate().map_err(|e| e.to_string())?;
    Ok(cfg)
}

fn read_yaml<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, ScenarioError> {
    let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    // Enums are written as single-key maps (`set_rule: {...}`, `geneve: {...}`).
    let de = serde_yaml_ng::Deserializer::from_str(&text);
    serde_yaml_ng::with::singleton_map_recursive::deserialize(de).map_err(|source| {
        ScenarioError::Yaml {
            path: path.to_path_buf(),
            source,
        }
    })
}

/// Loads every scenario under `dir` (one subdirectory per category), sorted by id.
pub fn load_all(dir: &Path) -> Result<Vec<Scenario>, ScenarioError> {
    let defaults: Defaults = read_yaml(&dir.join("defaults.yaml"))?;
    let mut out = Vec::new();
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ScenarioError::Io { path, source }
    };
    for cat in std::fs::read_dir(dir).map_err(io(dir))? {
        let cat = cat.map_err(io(dir))?.path();
        if !cat.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&cat).map_err(io(&cat))? {
            let f = f.map_err(io(&cat))?.path();
            if f.extension().is_some_and(|e| e == "yaml") {
                out.push(load_with(&f, &defaults)?);
            }
        }
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

/// Loads one scenario file (with `defaults.yaml` from its parent's parent).
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    let dir = path.parent().and_then(Path::parent).ok_or_else(|| {
        ScenarioError::Spec(format!("{}: not in scenarios/<category>/", path.display()))
    })?;
    let defaults: Defaults = read_yaml(&dir.join("defaults.yaml"))?;
    load_with(path, &defaults)
}

fn load_with(path: &Path, defaults: &Defaults) -> Result<Scenario, ScenarioError> {
    let file: ScenarioFile = read_yaml(path)?;
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let category = path
        .parent()
        .and_then(Path::file_name)
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let spec_err = |msg: String| ScenarioError::Spec(format!("{}: {msg}", path.display()));

    let mut config = Config::default();
    if let Some(p) = &defaults.config {
        config = patched_config(&config, p).map_err(spec_err)?;
    }
    if let Some(p) = &file.config {
        config = patched_config(&config, p).map_err(spec_err)?;
    }

    let mut ports = defaults.ports.clone();
    ports.extend(file.ports.iter().map(|(k, v)| (*k, *v)));
    let mut setup: Vec<Op> = ports
        .into_iter()
        .map(|(port, class)| Op::SetPortClass { port, class })
        .collect();
    let base = if file.base_tables {
        Some(defaults.tables.clone())
    } else {
        None
    };
    for t in base.into_iter().chain([file.tables]) {
        setup.extend(t.ctx_epoch.into_iter().map(Op::SetCtxEpoch));
        setup.extend(t.vport_ctx.into_iter().map(Op::SetVportCtx));
        setup.extend(t.local_ep.into_iter().map(Op::SetLocalEp));
        setup.extend(t.remote_ep.into_iter().map(Op::SetRemoteEp));
        setup.extend(t.policy.into_iter().map(Op::SetRule));
        setup.extend(t.ct_overflow.into_iter().map(Op::SetCtOverflow));
    }

    let start_config = config.clone();
    let mut steps = Vec::new();
    let mut now = 0u64;
    for (i, s) in file.steps.into_iter().enumerate() {
        let step_err = |msg: String| ScenarioError::Step {
            path: path.to_path_buf(),
            step: i + 1,
            msg,
        };
        if let Some(at) = &s.at {
            let t = parse_time(at).map_err(step_err)?;
            if t < now {
                return Err(step_err(format!("time goes backwards ({t} µs < {now} µs)")));
            }
            now = t;
        }
        let mut ops = Vec::new();
        for op in s.ops {
            ops.push(match op {
                OpFile::Op(op) => op,
                OpFile::Config { set_config } => {
                    config = patched_config(&config, &set_config).map_err(step_err)?;
                    Op::SetConfig(Box::new(config.clone()))
                }
            });
        }
        let send = match (s.send, s.port, s.expect) {
            (None, None, None) => None,
            (Some(spec), Some(port), Some(expect)) => {
                let built = spec.build(&config).map_err(|e| step_err(e.to_string()))?;
                let expect = resolve_expect(&config, &spec, &built, expect).map_err(step_err)?;
                Some(PacketStep {
                    port,
                    frame: built.bytes,
                    expect,
                })
            }
            _ => return Err(step_err("a packet step needs port, send and expect".into())),
        };
        if ops.is_empty() && send.is_none() {
            return Err(step_err("a step needs `do` or a packet".into()));
        }
        steps.push(Step {
            at_us: now,
            ops,
            send,
            index: i + 1,
        });
    }

    Ok(Scenario {
        id: format!("{category}/{name}"),
        category,
        path: path.to_path_buf(),
        description: file.description.trim().to_string(),
        config: start_config,
        setup,
        steps,
        counters: file.counters,
    })
}

fn resolve_expect(
    cfg: &Config,
    spec: &PacketSpec,
    built: &packet::Built,
    e: ExpectFile,
) -> Result<Expected, String> {
    let ct =
        e.ct.map(|s| s.parse::<CtState>().map_err(|x| x.to_string()))
            .transpose()?;
    let sent = || {
        // A packet from the CPU port is punted and forwarded without its packet_out header.
        if spec.packet_out.is_some() {
            built.bytes[4..].to_vec()
        } else {
            built.bytes.clone()
        }
    };
    let verdict = match (e.forward, e.drop, e.punt) {
        (Some(port), None, None) => {
            let frame = match e.frame {
                None if built.inner.is_some() => FrameFile::Decap,
                None => FrameFile::Same,
                Some(f) => f,
            };
            let frame = match frame {
                FrameFile::Same => ExpectedFrame::exact(sent()),
                FrameFile::Decap => ExpectedFrame::exact(
                    built
                        .inner
                        .clone()
                        .ok_or("frame: decap, but the packet sent is not encapsulated")?,
                ),
                FrameFile::Geneve {
                    to,
                    ctx,
                    epoch,
                    mac,
                } => {
                    let inner = sent();
                    let mac = match mac {
                        MacSpec::Zero => 0,
                        MacSpec::Value(v) => v,
                        MacSpec::Auto => packet::tag_mac_of(cfg, ctx, epoch, &inner)
                            .map_err(|x| x.to_string())?,
                    };
                    let hdr = packet::tx_geneve_header(cfg, ctx, epoch, mac);
                    tx_encap(cfg, to, 6081, &hdr, &inner)
                }
                FrameFile::Vxlan { to, gbp } => {
                    let hdr = packet::tx_vxlan_header(cfg, gbp);
                    tx_encap(cfg, to, 4789, &hdr, &sent())
                }
                FrameFile::Packet(p) => {
                    ExpectedFrame::exact(p.build(cfg).map_err(|x| x.to_string())?.bytes)
                }
            };
            ExpectedVerdict::Forward { port, frame }
        }
        (None, Some(r), None) => ExpectedVerdict::Drop(r),
        (None, None, Some(reason)) => ExpectedVerdict::Punt {
            reason,
            frame: sent(),
        },
        _ => return Err("expect exactly one of forward, drop and punt".into()),
    };
    Ok(Expected {
        verdict,
        ct,
        rule: e.rule,
    })
}

/// The frame this NIC sends towards `to`: the UDP source port (bytes 34..36) is entropy.
fn tx_encap(cfg: &Config, to: Ipv4Addr, dport: u16, hdr: &[u8], inner: &[u8]) -> ExpectedFrame {
    let outer = OuterSpec {
        src_mac: cfg.local_mac,
        dst_mac: cfg.gateway_mac,
        src: cfg.local_vtep_ip,
        dst: to,
        sport: 0,
        dport,
    };
    ExpectedFrame {
        bytes: outer.wrap(hdr, inner),
        any: vec![(34, 36)],
    }
}

/// A datapath implementation that scenarios can drive.
pub trait Target {
    /// A short name for messages (`model`, `bmv2`, `rtl`).
    fn name(&self) -> String;
    /// Starts afresh with empty tables, empty conntrack, zero counters and `config`.
    fn reset(&mut self, config: &Config) -> Result<(), TargetError>;
    /// Applies one control operation.
    fn apply(&mut self, op: &Op) -> Result<(), TargetError>;
    /// Sends one packet into `port` at time `at_us` and reports what came out.
    /// `ct_state` and `rule` are `None` where the target cannot observe them.
    fn send(&mut self, at_us: u64, port: u16, frame: &[u8]) -> Result<Outcome, TargetError>;
    /// Reads the counters.
    fn counters(&mut self) -> Result<Counters, TargetError>;
}

pub type TargetError = Box<dyn std::error::Error + Send + Sync>;

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{target}: step {step} (t={at_us} µs): {msg}")]
    Mismatch {
        target: String,
        step: usize,
        at_us: u64,
        msg: String,
    },
    #[error("{target}: {source}")]
    Target { target: String, source: TargetError },
}

/// What a run checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunSummary {
    pub packets: usize,
    /// Expected ct_state / rule values the target could not observe.
    pub unobserved: usize,
    /// Packets also compared byte for byte with the reference target.
    pub compared: usize,
    pub forwarded: usize,
    pub dropped: usize,
    pub punted: usize,
}

fn hex(b: &[u8]) -> String {
    let mut s = String::new();
    for (i, x) in b.iter().enumerate() {
        if i > 0 && i % 16 == 0 {
            s.push('\n');
        } else if i > 0 {
            s.push(' ');
        }
        let _ = write!(s, "{x:02x}");
    }
    s
}

fn first_diff(a: &[u8], b: &[u8]) -> String {
    match a.iter().zip(b).position(|(x, y)| x != y) {
        Some(i) => format!("first difference at byte {i}"),
        None => format!("lengths {} and {}", a.len(), b.len()),
    }
}

fn describe(v: &Verdict) -> String {
    match v {
        Verdict::Forward { port, frame } => {
            format!("forward to port {port} ({} bytes)", frame.len())
        }
        Verdict::Drop(r) => format!("drop ({r})"),
        Verdict::Punt { reason, frame } => format!("punt ({reason}, {} bytes)", frame.len()),
    }
}

/// Compares one outcome with a step's expectation.
pub fn check(exp: &Expected, got: &Outcome, summary: &mut RunSummary) -> Result<(), String> {
    match (&exp.verdict, &got.verdict) {
        (ExpectedVerdict::Forward { port, frame }, Verdict::Forward { port: p, frame: f }) => {
            if port != p {
                return Err(format!("forwarded to port {p}, expected port {port}"));
            }
            if let Some(at) = frame.mismatch(f) {
                return Err(format!(
                    "forwarded bytes differ from byte {at} ({} bytes, expected {}):\n got:\n{}\n expected:\n{}",
                    f.len(),
                    frame.bytes.len(),
                    hex(f),
                    hex(&frame.bytes)
                ));
            }
        }
        (ExpectedVerdict::Drop(r), Verdict::Drop(g)) if r == g => {}
        (
            ExpectedVerdict::Punt { reason, frame },
            Verdict::Punt {
                reason: r,
                frame: f,
            },
        ) if reason == r => {
            if frame != f {
                return Err(format!("punted bytes differ ({})", first_diff(f, frame)));
            }
        }
        (e, _) => {
            let want = match e {
                ExpectedVerdict::Forward { port, .. } => format!("forward to port {port}"),
                ExpectedVerdict::Drop(r) => format!("drop ({r})"),
                ExpectedVerdict::Punt { reason, .. } => format!("punt ({reason})"),
            };
            return Err(format!("got {}, expected {want}", describe(&got.verdict)));
        }
    }
    if let Some(ct) = exp.ct {
        match got.ct_state {
            Some(g) if g == ct => {}
            Some(g) => return Err(format!("ct_state {g}, expected {ct}")),
            None => summary.unobserved += 1,
        }
    }
    if let Some(rule) = exp.rule {
        match got.rule {
            Some(g) if g == rule => {}
            Some(g) => return Err(format!("decided by rule {g}, expected rule {rule}")),
            None => summary.unobserved += 1,
        }
    }
    Ok(())
}

fn check_counters(exp: &CounterExpect, got: &Counters) -> Result<(), String> {
    fn cmp<K: Ord + Copy + std::fmt::Display>(
        what: &str,
        exp: &Option<BTreeMap<K, u64>>,
        got: &BTreeMap<K, u64>,
    ) -> Result<(), String> {
        let Some(exp) = exp else { return Ok(()) };
        let keys: std::collections::BTreeSet<K> = exp.keys().chain(got.keys()).copied().collect();
        for k in keys {
            let (e, g) = (
                exp.get(&k).copied().unwrap_or(0),
                got.get(&k).copied().unwrap_or(0),
            );
            if e != g {
                return Err(format!("counter {what}[{k}] is {g}, expected {e}"));
            }
        }
        Ok(())
    }
    let rules: BTreeMap<u32, u64> = got.rules.iter().map(|(k, v)| (*k, v.packets)).collect();
    let ctx: BTreeMap<u32, u64> = got.ctx.iter().map(|(k, v)| (*k, v.packets)).collect();
    cmp("drops", &exp.drops, &got.drops)?;
    cmp("punts", &exp.punts, &got.punts)?;
    cmp("rules", &exp.rules, &rules)?;
    cmp("ctx", &exp.ctx, &ctx)
}

fn same_outcome(a: &Outcome, b: &Outcome) -> Result<(), String> {
    if a.verdict != b.verdict {
        let detail = match (&a.verdict, &b.verdict) {
            (Verdict::Forward { frame: x, .. }, Verdict::Forward { frame: y, .. }) => {
                format!(" ({})", first_diff(x, y))
            }
            _ => String::new(),
        };
        return Err(format!(
            "differs from the reference: {} vs {}{detail}",
            describe(&a.verdict),
            describe(&b.verdict)
        ));
    }
    for (what, x, y) in [(
        "ct_state",
        a.ct_state.map(|s| s.to_string()),
        b.ct_state.map(|s| s.to_string()),
    )] {
        if let (Some(x), Some(y)) = (&x, &y)
            && x != y
        {
            return Err(format!("{what} {x} differs from the reference's {y}"));
        }
    }
    Ok(())
}

/// Replays a scenario on `target`, checking every packet against the expectation and,
/// when `reference` is given, against the reference target's outcome byte for byte.
pub fn run(
    s: &Scenario,
    target: &mut dyn Target,
    mut reference: Option<&mut dyn Target>,
) -> Result<RunSummary, RunError> {
    let tname = target.name();
    let terr = |t: &str| {
        let t = t.to_string();
        move |source| RunError::Target { target: t, source }
    };
    target.reset(&s.config).map_err(terr(&tname))?;
    for op in &s.setup {
        target.apply(op).map_err(terr(&tname))?;
    }
    if let Some(r) = reference.as_deref_mut() {
        let rname = r.name();
        r.reset(&s.config).map_err(terr(&rname))?;
        for op in &s.setup {
            r.apply(op).map_err(terr(&rname))?;
        }
    }
    let mut summary = RunSummary::default();
    for step in &s.steps {
        let mismatch = |msg: String| RunError::Mismatch {
            target: tname.clone(),
            step: step.index,
            at_us: step.at_us,
            msg,
        };
        for op in &step.ops {
            target.apply(op).map_err(terr(&tname))?;
            if let Some(r) = reference.as_deref_mut() {
                let rname = r.name();
                r.apply(op).map_err(terr(&rname))?;
            }
        }
        let Some(send) = &step.send else { continue };
        let got = target
            .send(step.at_us, send.port, &send.frame)
            .map_err(terr(&tname))?;
        match got.verdict {
            Verdict::Forward { .. } => summary.forwarded += 1,
            Verdict::Drop(_) => summary.dropped += 1,
            Verdict::Punt { .. } => summary.punted += 1,
        }
        check(&send.expect, &got, &mut summary).map_err(mismatch)?;
        if let Some(r) = reference.as_deref_mut() {
            let rname = r.name();
            let want = r
                .send(step.at_us, send.port, &send.frame)
                .map_err(terr(&rname))?;
            same_outcome(&got, &want).map_err(mismatch)?;
            summary.compared += 1;
        }
        summary.packets += 1;
    }
    if let Some(exp) = &s.counters {
        let got = target.counters().map_err(terr(&tname))?;
        check_counters(exp, &got).map_err(|msg| RunError::Mismatch {
            target: tname.clone(),
            step: s.steps.len(),
            at_us: s.steps.last().map_or(0, |x| x.at_us),
            msg,
        })?;
    }
    Ok(summary)
}

/// The reference model as a [`Target`].
#[derive(Debug)]
pub struct ModelTarget {
    pub dp: Datapath,
}

impl Default for ModelTarget {
    fn default() -> Self {
        ModelTarget {
            dp: Datapath::new(Config::default()).expect("the default configuration is valid"),
        }
    }
}

impl Target for ModelTarget {
    fn name(&self) -> String {
        "model".into()
    }

    fn reset(&mut self, config: &Config) -> Result<(), TargetError> {
        self.dp = Datapath::new(config.clone())?;
        Ok(())
    }

    fn apply(&mut self, op: &Op) -> Result<(), TargetError> {
        Ok(self.dp.apply(op)?)
    }

    fn send(&mut self, at_us: u64, port: u16, frame: &[u8]) -> Result<Outcome, TargetError> {
        Ok(self.dp.process(at_us, port, frame))
    }

    fn counters(&mut self) -> Result<Counters, TargetError> {
        Ok(self.dp.counters.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_with_units() {
        let v = |s: &str| Value::String(s.into());
        assert_eq!(parse_time(&v("10ms")), Ok(10_000));
        assert_eq!(parse_time(&v("1.5s")), Ok(1_500_000));
        assert_eq!(parse_time(&v("250us")), Ok(250));
        assert_eq!(parse_time(&Value::Number(3.into())), Ok(3_000));
        assert!(parse_time(&v("-1s")).is_err());
        assert!(parse_time(&v("soon")).is_err());
    }

    #[test]
    fn expected_frames_ignore_only_the_any_ranges() {
        let e = ExpectedFrame {
            bytes: vec![1, 2, 3, 4],
            any: vec![(1, 3)],
        };
        assert!(e.matches(&[1, 9, 9, 4]));
        assert!(!e.matches(&[1, 9, 9, 5]));
        assert!(!e.matches(&[1, 2, 3]));
    }

    #[test]
    fn partial_config_patches_merge_into_nested_fields() {
        let patch: Value =
            serde_yaml_ng::from_str("{timeouts: {udp_unreplied: 2}, auth: true}").unwrap();
        let c = patched_config(&Config::default(), &patch).unwrap();
        assert_eq!(c.timeouts.udp_unreplied, 2);
        assert_eq!(c.timeouts.udp_replied, 120);
        assert!(c.auth);
        let typo: Value = serde_yaml_ng::from_str("{timeout: {udp: 2}}").unwrap();
        assert!(patched_config(&Config::default(), &typo).is_err());
    }
}
