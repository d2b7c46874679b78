//! The whole pipeline (design §4): parse → classify → ctx check → conntrack → policy →
//! act, for TX (from a vport), RX (from an uplink) and packets from the CPU port.

use std::collections::BTreeMap;

use crate::addr::v4_mapped;
use crate::config::{Config, ConfigError, Port};
use crate::conntrack::{CtState, CtTable, PacketCtx, TrackResult, Tracked};
use crate::parse::{IpPacket, Stop, Tag, parse_frame, parse_tunnel};
use crate::policy::evaluate;
use crate::reason::{DropReason, PuntReason};
use crate::tables::{LocalEp, PortClass, RemoteAction, Tables, VportCtx};
use crate::tag::{CTX_WORLD, geneve_encap, tag_mac, tunnel_sport, vxlan_gbp_encap};

/// What happened to a packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Sent out of `port` as `frame`.
    Forward { port: Port, frame: Vec<u8> },
    /// Dropped and counted.
    Drop(DropReason),
    /// Sent to the control runtime with a reason (the packet as received).
    Punt { reason: PuntReason, frame: Vec<u8> },
}

/// A packet's verdict with what conntrack and the policy said about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub verdict: Verdict,
    /// Set when the packet reached conntrack.
    pub ct_state: Option<CtState>,
    /// The rule that decided, when the policy was consulted.
    pub rule: Option<u32>,
}

impl Outcome {
    fn stop(s: Stop, frame: &[u8]) -> Self {
        let verdict = match s {
            Stop::Drop(r) => Verdict::Drop(r),
            Stop::Punt(reason) => Verdict::Punt {
                reason,
                frame: frame.to_vec(),
            },
        };
        Outcome {
            verdict,
            ct_state: None,
            rule: None,
        }
    }
}

/// Packets and bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PacketsBytes {
    pub packets: u64,
    pub bytes: u64,
}

impl PacketsBytes {
    fn add(&mut self, bytes: usize) {
        self.packets += 1;
        self.bytes += bytes as u64;
    }

    /// Adds another count to this one.
    pub fn merge(&mut self, o: PacketsBytes) {
        self.packets += o.packets;
        self.bytes += o.bytes;
    }

    /// This count less `o` (zero where `o` is larger).
    pub fn since(self, o: PacketsBytes) -> PacketsBytes {
        PacketsBytes {
            packets: self.packets.saturating_sub(o.packets),
            bytes: self.bytes.saturating_sub(o.bytes),
        }
    }
}

/// The datapath's counters (docs/datapath.md §8).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    pub drops: BTreeMap<DropReason, u64>,
    pub punts: BTreeMap<PuntReason, u64>,
    /// Per source context (`ctx_epoch` direct counter).
    pub ctx: BTreeMap<u32, PacketsBytes>,
    /// Per rule (`policy` direct counter).
    pub rules: BTreeMap<u32, PacketsBytes>,
}

impl Counters {
    /// Adds `pb` to rule `id`'s count (nothing when `pb` counted no packet).
    pub fn add_rule(&mut self, id: u32, pb: PacketsBytes) {
        if pb.packets != 0 {
            self.rules.entry(id).or_default().merge(pb);
        }
    }

    /// Adds `pb` to context `ctx`'s count (nothing when `pb` counted no packet).
    pub fn add_ctx(&mut self, ctx: u32, pb: PacketsBytes) {
        if pb.packets != 0 {
            self.ctx.entry(ctx).or_default().merge(pb);
        }
    }

    /// Adds every count of `o` to this one. A device's counters plus what its
    /// deleted entries had counted (a rule's and a context's counts outlive their
    /// entries: the runtime keeps them) are the model's counters.
    pub fn merge(&mut self, o: &Counters) {
        for (r, n) in &o.drops {
            *self.drops.entry(*r).or_default() += n;
        }
        for (r, n) in &o.punts {
            *self.punts.entry(*r).or_default() += n;
        }
        for (id, pb) in &o.rules {
            self.add_rule(*id, *pb);
        }
        for (ctx, pb) in &o.ctx {
            self.add_ctx(*ctx, *pb);
        }
    }
}

/// One NIC's datapath: configuration, tables, conntrack and counters.
#[derive(Clone, Debug)]
pub struct Datapath {
    config: Config,
    pub tables: Tables,
    pub ct: CtTable,
    pub counters: Counters,
}

/// Where a TX packet goes once classified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxAct {
    /// To a local vport (a `local_ep` hit).
    Local(Port),
    /// Natively out of the uplink (a `world` route).
    Native,
    /// Geneve-encapsulated towards a VTEP.
    Geneve(std::net::Ipv4Addr),
    /// VXLAN-GBP-encapsulated towards a VTEP.
    Gbp(std::net::Ipv4Addr),
}

/// A TX packet's classification: its sender's `vport_ctx` entry, the destination's
/// context and where the packet goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxClass {
    pub src: VportCtx,
    pub dst_ctx: u32,
    pub act: TxAct,
}

/// Classifies a TX packet that arrived on vport `in_port` (design §4): the sender must
/// own its source address (`vport_ctx` on (port, src), else `SpoofedSource`); the
/// destination is a local endpoint (`local_ep`), else the longest `remote_ep` prefix
/// holding it, else `NoRoute`.
pub fn classify_tx(
    tables: &Tables,
    in_port: Port,
    src: u128,
    dst: u128,
) -> Result<TxClass, DropReason> {
    let Some(src) = tables.vport_ctx(in_port, src).copied() else {
        return Err(DropReason::SpoofedSource);
    };
    let (dst_ctx, act) = if let Some(l) = tables.local_ep(dst) {
        (l.ctx, TxAct::Local(l.vport))
    } else if let Some(r) = tables.remote_ep(dst) {
        match r.action {
            RemoteAction::Geneve { vtep, ctx } => (ctx, TxAct::Geneve(vtep)),
            RemoteAction::VxlanGbp { vtep, ctx } => (ctx, TxAct::Gbp(vtep)),
            RemoteAction::World => (CTX_WORLD, TxAct::Native),
        }
    } else {
        return Err(DropReason::NoRoute);
    };
    Ok(TxClass { src, dst_ctx, act })
}

/// Where the port class sends a packet (design §4), the pipeline's first step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ingress<'a> {
    /// Dropped: the port has no class, or a bad `packet_out`.
    Drop(DropReason),
    /// `packet_out` mode 0: `frame` leaves by `port` as it is.
    Out { port: Port, frame: &'a [u8] },
    /// TX: `frame` from vport `port`.
    Tx { port: Port, frame: &'a [u8] },
    /// RX: `frame` from an uplink.
    Rx { frame: &'a [u8] },
}

/// The port class of a packet that arrived on `in_port`: a vport's goes to TX, an
/// uplink's to RX, one on a port without a class is dropped (`UnknownPort`). A packet
/// from the CPU port starts with the `packet_out` header (port u16, mode u8, pad u8):
/// mode 0 sends the rest out of `port`, mode 1 runs the rest as if it arrived on `port`
/// (which must not be the CPU port); a short header or another mode is `BadPacketOut`.
pub fn ingress_class<'a>(tables: &Tables, in_port: Port, frame: &'a [u8]) -> Ingress<'a> {
    by_port_class(tables, in_port, frame, true)
}

fn by_port_class<'a>(
    tables: &Tables,
    in_port: Port,
    frame: &'a [u8],
    from_wire: bool,
) -> Ingress<'a> {
    match tables.port_class.get(&in_port) {
        None => Ingress::Drop(DropReason::UnknownPort),
        Some(PortClass::Cpu) if from_wire => packet_out(tables, frame),
        Some(PortClass::Cpu) => Ingress::Drop(DropReason::BadPacketOut),
        Some(PortClass::Vport) => Ingress::Tx {
            port: in_port,
            frame,
        },
        Some(PortClass::Uplink) => Ingress::Rx { frame },
    }
}

/// A packet from the CPU port: `packet_out` header (port u16, mode u8, pad u8).
fn packet_out<'a>(tables: &Tables, frame: &'a [u8]) -> Ingress<'a> {
    if frame.len() < 4 {
        return Ingress::Drop(DropReason::BadPacketOut);
    }
    let port = u16::from_be_bytes([frame[0], frame[1]]);
    let payload = &frame[4..];
    match frame[2] {
        0 => Ingress::Out {
            port,
            frame: payload,
        },
        1 => by_port_class(tables, port, payload, false),
        _ => Ingress::Drop(DropReason::BadPacketOut),
    }
}

/// The TX context check: the sender's context must be one `ctx_epoch` knows (else
/// `CtxUnknown`, a punt); its current epoch.
pub fn ctx_check_tx(tables: &Tables, ctx: u32) -> Result<u8, PuntReason> {
    tables
        .ctx_epoch
        .get(&ctx)
        .copied()
        .ok_or(PuntReason::CtxUnknown)
}

/// The source context an RX packet's tag names (`world` when untagged).
pub fn rx_src_ctx(tag: Tag) -> u32 {
    match tag {
        Tag::Geneve { ctx, .. } => ctx,
        Tag::Gbp { gpid } => u32::from(gpid),
        Tag::Untagged => CTX_WORLD,
    }
}

/// What the RX checks decided: the source context and the local endpoint, or why the
/// packet stops; and whether the source context's counter counts the packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RxCheck {
    pub result: Result<(u32, LocalEp), Stop>,
    pub ctx_counted: bool,
}

/// The RX checks after parse (design §4), in order: the tag's context is not 0
/// (`TagCtxZero`); with authentication on, a Geneve tag's MAC is `mac(ctx, epoch)`
/// (`TagBadMac`); the inner destination is a local endpoint (`NoLocalEp`); a tagged
/// packet's context is one `ctx_epoch` knows (`CtxUnknown`, counted from here on) and
/// a Geneve tag carries its current epoch (`CtxStaleEpoch`).
pub fn rx_check(
    tables: &Tables,
    auth: bool,
    tag: Tag,
    dst: u128,
    mac: impl FnOnce(u32, u8) -> u32,
) -> RxCheck {
    let stop = |s: Stop, ctx_counted| RxCheck {
        result: Err(s),
        ctx_counted,
    };
    let src_ctx = rx_src_ctx(tag);
    if src_ctx == 0 {
        return stop(DropReason::TagCtxZero.into(), false);
    }
    if let Tag::Geneve {
        ctx,
        epoch,
        mac: wire,
    } = tag
        && auth
        && wire != mac(ctx, epoch)
    {
        return stop(DropReason::TagBadMac.into(), false);
    }
    let Some(local) = tables.local_ep(dst).copied() else {
        return stop(DropReason::NoLocalEp.into(), false);
    };
    if !matches!(tag, Tag::Untagged) {
        let Some(&epoch) = tables.ctx_epoch.get(&src_ctx) else {
            return stop(PuntReason::CtxUnknown.into(), false);
        };
        // the context's entry counts every packet that finds it, a stale one too
        if let Tag::Geneve { epoch: wire, .. } = tag
            && wire != epoch
        {
            return stop(PuntReason::CtxStaleEpoch.into(), true);
        }
        return RxCheck {
            result: Ok((src_ctx, local)),
            ctx_counted: true,
        };
    }
    RxCheck {
        result: Ok((src_ctx, local)),
        ctx_counted: false,
    }
}

impl Datapath {
    /// A datapath with empty tables.
    pub fn new(config: Config) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Datapath {
            ct: CtTable::new(config.ct_buckets),
            config,
            tables: Tables::default(),
            counters: Counters::default(),
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Replaces the configuration. A new conntrack geometry starts an empty table
    /// (its overflow entries are kept); everything else takes effect on the next packet.
    pub fn set_config(&mut self, config: Config) -> Result<(), ConfigError> {
        config.validate()?;
        if config.ct_buckets != self.ct.buckets() {
            let mut ct = CtTable::new(config.ct_buckets);
            for (k, e) in self.ct.overflow_entries() {
                ct.set_overflow(*k, *e);
            }
            self.ct = ct;
        }
        self.config = config;
        Ok(())
    }

    /// Processes one packet that arrived on `in_port` at time `now` (µs).
    pub fn process(&mut self, now: u64, in_port: Port, frame: &[u8]) -> Outcome {
        let out = if frame.len() > usize::from(self.config.max_frame) {
            Outcome::stop(Stop::Drop(DropReason::Oversize), frame)
        } else {
            self.ingress(now, in_port, frame)
        };
        match &out.verdict {
            Verdict::Drop(r) => *self.counters.drops.entry(*r).or_default() += 1,
            Verdict::Punt { reason, .. } => *self.counters.punts.entry(*reason).or_default() += 1,
            Verdict::Forward { .. } => {}
        }
        out
    }

    fn ingress(&mut self, now: u64, in_port: Port, frame: &[u8]) -> Outcome {
        match ingress_class(&self.tables, in_port, frame) {
            Ingress::Drop(r) => Outcome::stop(Stop::Drop(r), frame),
            Ingress::Out { port, frame } => Outcome {
                verdict: Verdict::Forward {
                    port,
                    frame: frame.to_vec(),
                },
                ct_state: None,
                rule: None,
            },
            Ingress::Tx { port, frame } => self.tx(now, port, frame),
            Ingress::Rx { frame } => self.rx(now, frame),
        }
    }

    fn count_ctx(&mut self, ctx: u32, len: usize) {
        self.counters.ctx.entry(ctx).or_default().add(len);
    }

    fn track(&mut self, now: u64, pkt: &IpPacket, cx: PacketCtx, len: usize) -> Tracked {
        let rules = self.tables.rules();
        let tr = self
            .ct
            .track(now, &self.config, pkt, cx, |q| evaluate(rules, q));
        if let Some(rule) = tr.rule {
            self.counters.rules.entry(rule).or_default().add(len);
        }
        tr
    }

    fn tx(&mut self, now: u64, in_port: Port, frame: &[u8]) -> Outcome {
        let pkt = match parse_frame(frame) {
            Ok(p) => p,
            Err(s) => return Outcome::stop(s, frame),
        };
        let TxClass { src, dst_ctx, act } =
            match classify_tx(&self.tables, in_port, pkt.src, pkt.dst) {
                Ok(c) => c,
                Err(r) => return Outcome::stop(Stop::Drop(r), frame),
            };
        let epoch = match ctx_check_tx(&self.tables, src.ctx) {
            Ok(e) => e,
            Err(r) => return Outcome::stop(r.into(), frame),
        };
        self.count_ctx(src.ctx, frame.len());
        let cx = PacketCtx {
            zone: src.zone,
            src_ctx: src.ctx,
            dst_ctx,
        };
        let tr = self.track(now, &pkt, cx, frame.len());
        let stopped = match tr.result {
            TrackResult::Pass => None,
            TrackResult::Drop(r) => Some(Stop::Drop(r)),
            TrackResult::Full => Some(Stop::Punt(PuntReason::CtFull)),
        };
        let verdict = match stopped {
            Some(s) => Outcome::stop(s, frame).verdict,
            None => {
                let cfg = &self.config;
                let sport = tunnel_sport(tr.h16);
                let (port, frame) = match act {
                    TxAct::Local(vport) => (vport, frame.to_vec()),
                    TxAct::Native => (cfg.uplink_port, frame.to_vec()),
                    TxAct::Geneve(vtep) => {
                        let mac = if cfg.auth {
                            tag_mac(&cfg.auth_key, src.ctx, epoch, &pkt)
                        } else {
                            0
                        };
                        let tag = (src.ctx, epoch, mac);
                        (cfg.uplink_port, geneve_encap(cfg, vtep, sport, tag, frame))
                    }
                    TxAct::Gbp(vtep) => {
                        let gpid = src.ctx as u16;
                        (
                            cfg.uplink_port,
                            vxlan_gbp_encap(cfg, vtep, sport, gpid, frame),
                        )
                    }
                };
                Verdict::Forward { port, frame }
            }
        };
        Outcome {
            verdict,
            ct_state: Some(tr.state),
            rule: tr.rule,
        }
    }

    fn rx(&mut self, now: u64, frame: &[u8]) -> Outcome {
        let stop = |s| Outcome::stop(s, frame);
        let outer = match parse_frame(frame) {
            Ok(p) => p,
            Err(s) => return stop(s),
        };
        let local_vtep = v4_mapped(u32::from(self.config.local_vtep_ip));
        let (pkt, tag, inner) = match parse_tunnel(frame, &outer, local_vtep) {
            Err(s) => return stop(s),
            Ok(None) => (outer, Tag::Untagged, frame),
            Ok(Some(t)) => {
                let inner = &frame[t.inner];
                match parse_frame(inner) {
                    Ok(p) => (p, t.tag, inner),
                    Err(s) => return stop(s),
                }
            }
        };
        let key = &self.config.auth_key;
        let checked = rx_check(
            &self.tables,
            self.config.auth,
            tag,
            pkt.dst,
            |ctx, epoch| tag_mac(key, ctx, epoch, &pkt),
        );
        if checked.ctx_counted {
            self.count_ctx(rx_src_ctx(tag), frame.len());
        }
        let (src_ctx, local) = match checked.result {
            Ok(v) => v,
            Err(s) => return stop(s),
        };
        let cx = PacketCtx {
            zone: local.zone,
            src_ctx,
            dst_ctx: local.ctx,
        };
        let tr = self.track(now, &pkt, cx, frame.len());
        let verdict = match tr.result {
            TrackResult::Pass => Verdict::Forward {
                port: local.vport,
                frame: inner.to_vec(),
            },
            TrackResult::Drop(r) => Verdict::Drop(r),
            TrackResult::Full => Verdict::Punt {
                reason: PuntReason::CtFull,
                frame: frame.to_vec(),
            },
        };
        Outcome {
            verdict,
            ct_state: Some(tr.state),
            rule: tr.rule,
        }
    }
}
