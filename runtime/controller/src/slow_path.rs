//! The slow path: what the controller does about digests, punted packets and idle
//! `ct_overflow` entries.

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::pin::Pin;
use std::task::Poll;
use std::time::{Duration, Instant, SystemTime};

use ztnic_model::addr::{from_u128, to_u128};
use ztnic_model::parse::{IpPacket, Tag, parse_frame, parse_tunnel};
use ztnic_model::tables::{CtxEpoch, Prefix, RemoteAction};
use ztnic_model::{Op, OverflowFlow, PuntReason};
use ztnic_p4runtime_client::StreamEvent;
use ztnic_p4runtime_client::protocol::v1::{DigestList, IdleTimeoutNotification, PacketIn};
use ztnic_p4tables::digest::{CtEvent, CtxMiss};
use ztnic_p4tables::names;
use ztnic_p4tables::packet::{PacketInMeta, PacketOutMeta};

use crate::neighbor::{self, Neighbor};
use crate::{Controller, ControllerError};

/// Records kept for latency measurements (oldest dropped first).
const LOG_CAPACITY: usize = 65_536;

/// What the slow path did about one event (or one entry of a digest list).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SlowPathAction {
    /// Installed the current epoch of a known context on these NICs (a missing entry,
    /// or a table behind after an epoch bump).
    CtxEpochInstalled {
        ctx: u32,
        epoch: u8,
        nics: Vec<String>,
    },
    /// Every NIC concerned already holds the current epoch (the event raced an
    /// earlier install, or the sender is the one behind and will be fixed by its own
    /// event): nothing written.
    CtxEpochCurrent { ctx: u32, epoch: u8 },
    /// A context the engine does not know — possibly a forged tag — or a stale epoch
    /// of a context that no longer exists: counted, nothing installed.
    UnknownContext { ctx: u32, reason: PuntReason },
    /// A punted packet whose context could not be told (no tag, unknown vport
    /// address): counted, not re-injected.
    NoContext { reason: PuntReason },
    /// Installed a `ct_overflow` entry for a flow the full conntrack table refused.
    OverflowInstalled { flow: OverflowFlow },
    /// Re-injected a punted frame through the pipeline as if it arrived on `port`
    /// (PacketOut mode 1).
    Reinjected { port: u16 },
    /// Deleted `ct_overflow` entries that went idle.
    OverflowExpired {
        flows: Vec<OverflowFlow>,
        other: usize,
    },
    /// A `ct_event` digest (the data plane changed conntrack): counted.
    CtEvent { event: CtEvent },
    /// An ARP request answered on `port` (PacketOut mode 0): `ip` is at the NIC's
    /// MAC (proxy ARP).
    ArpAnswered { port: u16, ip: Ipv4Addr },
    /// A Neighbor Solicitation answered on `port` with a Neighbor Advertisement:
    /// `ip` is at the NIC's MAC (proxy ND).
    NdAnswered { port: u16, ip: Ipv6Addr },
    /// An ARP request or Neighbor Solicitation for an address the NIC's endpoint
    /// tables do not hold for an asker on `port`: not answered, counted.
    NeighborUnknown { port: u16, ip: IpAddr },
    /// An ARP or ND message that needs no answer (replies, announcements, probes,
    /// duplicate address detection, router discovery, a request for the asker's own
    /// address, one that came through a tunnel): counted, ignored.
    NeighborIgnored { port: u16, what: &'static str },
    /// An IP fragment (IPv4, or IPv6 with a fragmenting Fragment header; inner or
    /// outer): dropped, counted. The datapath does not reassemble.
    FragmentDropped { port: u16 },
    /// A punt the runtime does not handle (IPv6 extension headers other than
    /// fragments, reasons it does not know): counted.
    PuntIgnored { reason: u8 },
    /// Something that could not be decoded: counted.
    Malformed { what: String },
    /// A session event (arbitration, stream error, reconnect): counted.
    Session { what: String },
}

/// One action with when its event arrived and when it was carried out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlowPathRecord {
    /// The NIC the event came from.
    pub host: String,
    /// When the event was taken from the NIC's stream.
    pub received: Instant,
    /// When the action was complete (entries written, frame sent).
    pub done: Instant,
    /// Wall-clock time of `done`.
    pub at: SystemTime,
    pub action: SlowPathAction,
}

impl SlowPathRecord {
    /// From event to installed entry / re-injected frame.
    pub fn latency(&self) -> Duration {
        self.done.saturating_duration_since(self.received)
    }
}

/// Slow-path actions by kind.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SlowPathStats {
    /// Events handled.
    pub events: u64,
    /// Digest lists acknowledged.
    pub digests_acked: u64,
    /// `ctx_miss` reports with reason `ctx_unknown` / `ctx_stale_epoch` (digests and
    /// punts).
    pub ctx_unknown: u64,
    pub ctx_stale: u64,
    /// `ctx_epoch` entries written by the slow path.
    pub ctx_epoch_installs: u64,
    /// Reports where every NIC was already current.
    pub ctx_current: u64,
    /// Contexts the engine does not know (possibly forged tags) or no longer has.
    pub unknown_contexts: u64,
    /// `ct_overflow` entries installed.
    pub overflow_installs: u64,
    /// Frames re-injected.
    pub reinjections: u64,
    /// `ct_overflow` entries deleted after their idle timeout.
    pub overflow_expired: u64,
    /// `ct_event` digests.
    pub ct_events: u64,
    /// ARP requests answered (proxy ARP).
    pub arp_answered: u64,
    /// Neighbor Solicitations answered (proxy ND).
    pub nd_answered: u64,
    /// ARP requests / Neighbor Solicitations for addresses not known to the asker's
    /// NIC: not answered.
    pub neighbor_unknown: u64,
    /// ARP / ND messages that need no answer.
    pub neighbor_ignored: u64,
    /// IP fragments dropped.
    pub fragments_dropped: u64,
    /// Punts counted and otherwise ignored, by reason name.
    pub punts_ignored: BTreeMap<String, u64>,
    /// Punts whose context could not be told.
    pub no_context: u64,
    /// Undecodable events.
    pub malformed: u64,
    /// Session events.
    pub session: u64,
    /// Events whose handling failed (device errors).
    pub errors: u64,
}

/// The slow path's counters and records.
#[derive(Debug, Default)]
pub(crate) struct SlowPath {
    pub(crate) stats: SlowPathStats,
    pub(crate) log: VecDeque<SlowPathRecord>,
}

fn punt_name(code: u8) -> String {
    PuntReason::from_code(code).map_or_else(|| format!("code_{code}"), |r| r.name().to_string())
}

impl Controller {
    /// The slow path's counters.
    pub fn slow_path_stats(&self) -> &SlowPathStats {
        &self.slow.stats
    }

    /// The slow path's records, oldest first (at most the last 65 536).
    pub fn slow_path_log(&self) -> impl Iterator<Item = &SlowPathRecord> {
        self.slow.log.iter()
    }

    /// Takes the records out (for a bench).
    pub fn take_slow_path_log(&mut self) -> Vec<SlowPathRecord> {
        self.slow.log.drain(..).collect()
    }

    /// Handles one event from host `host`'s NIC, as received now.
    pub async fn handle_event(
        &mut self,
        host: &str,
        event: StreamEvent,
    ) -> Result<Vec<SlowPathAction>, ControllerError> {
        self.handle_event_at(host, event, Instant::now()).await
    }

    /// Handles one event from host `host`'s NIC that was received at `received`.
    /// Digest lists are always acknowledged.
    pub async fn handle_event_at(
        &mut self,
        host: &str,
        event: StreamEvent,
        received: Instant,
    ) -> Result<Vec<SlowPathAction>, ControllerError> {
        if !self.nics.contains_key(host) {
            return Err(ControllerError::UnknownNic(host.to_string()));
        }
        self.slow.stats.events += 1;
        let result = match event {
            StreamEvent::Digest(list) => self.digest(host, list).await,
            StreamEvent::PacketIn(p) => self.packet_in(host, p).await,
            StreamEvent::IdleTimeout(n) => self.idle_timeout(host, n).await.map(|a| vec![a]),
            StreamEvent::Arbitration(a) => Ok(vec![SlowPathAction::Session {
                what: format!("arbitration: {:?}", a.status),
            }]),
            StreamEvent::Error(e) => Ok(vec![SlowPathAction::Session {
                what: format!("stream error: {}", e.message),
            }]),
            StreamEvent::Disconnected(why) => Ok(vec![SlowPathAction::Session {
                what: format!("disconnected: {why}"),
            }]),
            StreamEvent::Reconnected => Ok(vec![SlowPathAction::Session {
                what: "reconnected".into(),
            }]),
            StreamEvent::Other(any) => Ok(vec![SlowPathAction::Session {
                what: format!("message {}", any.type_url),
            }]),
        };
        let actions = match result {
            Ok(a) => a,
            Err(e) => {
                self.slow.stats.errors += 1;
                return Err(e);
            }
        };
        let done = Instant::now();
        let at = SystemTime::now();
        for a in &actions {
            self.count(a);
            if self.slow.log.len() >= LOG_CAPACITY {
                self.slow.log.pop_front();
            }
            self.slow.log.push_back(SlowPathRecord {
                host: host.to_string(),
                received,
                done,
                at,
                action: a.clone(),
            });
        }
        Ok(actions)
    }

    fn count(&mut self, a: &SlowPathAction) {
        let s = &mut self.slow.stats;
        match a {
            SlowPathAction::CtxEpochInstalled { nics, .. } => {
                s.ctx_epoch_installs += nics.len() as u64
            }
            SlowPathAction::CtxEpochCurrent { .. } => s.ctx_current += 1,
            SlowPathAction::UnknownContext { .. } => s.unknown_contexts += 1,
            SlowPathAction::NoContext { .. } => s.no_context += 1,
            SlowPathAction::OverflowInstalled { .. } => s.overflow_installs += 1,
            SlowPathAction::Reinjected { .. } => s.reinjections += 1,
            SlowPathAction::OverflowExpired { flows, other } => {
                s.overflow_expired += (flows.len() + other) as u64
            }
            SlowPathAction::CtEvent { .. } => s.ct_events += 1,
            SlowPathAction::ArpAnswered { .. } => s.arp_answered += 1,
            SlowPathAction::NdAnswered { .. } => s.nd_answered += 1,
            SlowPathAction::NeighborUnknown { .. } => s.neighbor_unknown += 1,
            SlowPathAction::NeighborIgnored { .. } => s.neighbor_ignored += 1,
            SlowPathAction::FragmentDropped { .. } => s.fragments_dropped += 1,
            SlowPathAction::PuntIgnored { reason } => {
                *s.punts_ignored.entry(punt_name(*reason)).or_default() += 1
            }
            SlowPathAction::Malformed { .. } => s.malformed += 1,
            SlowPathAction::Session { .. } => s.session += 1,
        }
    }

    async fn digest(
        &mut self,
        host: &str,
        list: DigestList,
    ) -> Result<Vec<SlowPathAction>, ControllerError> {
        let (ctx_miss_id, ct_event_id) = {
            let index = self.nic_ref(host)?.index();
            (
                index.digest_by_name(names::CTX_MISS).map(|d| d.id).ok(),
                index.digest_by_name(names::CT_EVENT).map(|d| d.id).ok(),
            )
        };
        let mut actions = Vec::new();
        let mut failure = None;
        for data in &list.data {
            let a = if Some(list.digest_id) == ctx_miss_id {
                match CtxMiss::from_data(data) {
                    Ok(m) => match PuntReason::from_code(m.reason) {
                        Some(r @ (PuntReason::CtxUnknown | PuntReason::CtxStaleEpoch)) => {
                            match self.ctx_miss(host, m.ctx, r).await {
                                Ok(a) => a,
                                Err(e) => {
                                    failure = Some(e);
                                    break;
                                }
                            }
                        }
                        _ => SlowPathAction::Malformed {
                            what: format!("ctx_miss with reason {}", m.reason),
                        },
                    },
                    Err(e) => SlowPathAction::Malformed {
                        what: format!("ctx_miss: {e}"),
                    },
                }
            } else if Some(list.digest_id) == ct_event_id {
                match CtEvent::from_data(data) {
                    Ok(event) => SlowPathAction::CtEvent { event },
                    Err(e) => SlowPathAction::Malformed {
                        what: format!("ct_event: {e}"),
                    },
                }
            } else {
                SlowPathAction::Malformed {
                    what: format!("digest id {}", list.digest_id),
                }
            };
            actions.push(a);
        }
        // Always acknowledge, so the device may report the same data again.
        let nic = self.nic_ref(host)?;
        nic.client_ref()
            .ack_digest(&list)
            .await
            .map_err(|source| ControllerError::Client {
                nic: host.to_string(),
                source,
            })?;
        self.slow.stats.digests_acked += 1;
        match failure {
            Some(e) => Err(e),
            None => Ok(actions),
        }
    }

    fn nic_ref(&self, host: &str) -> Result<&crate::Nic, ControllerError> {
        self.nics
            .get(host)
            .ok_or_else(|| ControllerError::UnknownNic(host.to_string()))
    }

    /// A context unknown to host `host`'s NIC, or a stale epoch it met.
    async fn ctx_miss(
        &mut self,
        host: &str,
        ctx: u32,
        reason: PuntReason,
    ) -> Result<SlowPathAction, ControllerError> {
        if reason == PuntReason::CtxStaleEpoch {
            self.slow.stats.ctx_stale += 1;
        } else {
            self.slow.stats.ctx_unknown += 1;
        }
        let Some(epoch) = self.engine.context(ctx).map(|c| c.epoch) else {
            return Ok(SlowPathAction::UnknownContext { ctx, reason });
        };
        let targets: Vec<String> = if reason == PuntReason::CtxStaleEpoch {
            self.nics
                .iter()
                .filter(|(_, n)| n.held_epoch(ctx) != Some(epoch))
                .map(|(h, _)| h.clone())
                .collect()
        } else {
            let nic = self
                .nics
                .get_mut(host)
                .ok_or_else(|| ControllerError::UnknownNic(host.to_string()))?;
            if nic.held_epoch(ctx).is_none() {
                // The record agrees with the device that it lacks the context:
                // install it at once, without reading the device first (one round
                // trip less on the slow path). Refused (the entry was written
                // behind the controller's back), the device is checked below.
                let op = Op::SetCtxEpoch(CtxEpoch { ctx, epoch });
                if nic.apply_ops(std::slice::from_ref(&op)).await.is_ok() {
                    return Ok(SlowPathAction::CtxEpochInstalled {
                        ctx,
                        epoch,
                        nics: vec![host.to_string()],
                    });
                }
            }
            // The device says it lacks the context the record says it holds: check
            // the device, not only the record (the entry may have been removed
            // behind the controller's back).
            match nic.refresh_entry(&Op::DeleteCtxEpoch { ctx }).await? {
                Some(Op::SetCtxEpoch(c)) if c.epoch == epoch => vec![],
                _ => vec![host.to_string()],
            }
        };
        if targets.is_empty() {
            return Ok(SlowPathAction::CtxEpochCurrent { ctx, epoch });
        }
        let op = Op::SetCtxEpoch(CtxEpoch { ctx, epoch });
        for t in &targets {
            if let Some(nic) = self.nics.get_mut(t) {
                nic.apply_ops(std::slice::from_ref(&op)).await?;
            }
        }
        Ok(SlowPathAction::CtxEpochInstalled {
            ctx,
            epoch,
            nics: targets,
        })
    }

    async fn packet_in(
        &mut self,
        host: &str,
        p: PacketIn,
    ) -> Result<Vec<SlowPathAction>, ControllerError> {
        let meta = match self.nic_ref(host)?.program().packet_in_meta(&p) {
            Ok(m) => m,
            Err(e) => {
                return Ok(vec![SlowPathAction::Malformed {
                    what: format!("packet_in: {e}"),
                }]);
            }
        };
        match PuntReason::from_code(meta.reason) {
            Some(PuntReason::CtFull) => self.ct_full(host, meta, p.payload).await,
            Some(r @ (PuntReason::CtxUnknown | PuntReason::CtxStaleEpoch)) => {
                self.ctx_punt(host, meta, r, p.payload).await
            }
            Some(PuntReason::Arp) => self.arp(host, meta.ingress_port, &p.payload).await,
            Some(PuntReason::Nd) => self.nd(host, meta.ingress_port, &p.payload).await,
            Some(PuntReason::IpFragment) => Ok(vec![SlowPathAction::FragmentDropped {
                port: meta.ingress_port,
            }]),
            Some(PuntReason::Ipv6ExtHeader)
                if neighbor::is_fragment(self.inner_frame(
                    host,
                    meta.ingress_port,
                    &p.payload,
                )?) =>
            {
                Ok(vec![SlowPathAction::FragmentDropped {
                    port: meta.ingress_port,
                }])
            }
            _ => Ok(vec![SlowPathAction::PuntIgnored {
                reason: meta.reason,
            }]),
        }
    }

    /// The uplink port and the local VTEP of host `host`'s NIC.
    fn uplink_of(&self, host: &str) -> Result<(u16, Ipv4Addr), ControllerError> {
        let (uplink, vtep, _) = self.link_of(host)?;
        Ok((uplink, vtep))
    }

    /// The uplink port, the local VTEP and the MAC of host `host`'s NIC (as written
    /// to the device, else as the engine wants it).
    fn link_of(&self, host: &str) -> Result<(u16, Ipv4Addr, [u8; 6]), ControllerError> {
        let nic = self.nic_ref(host)?;
        Ok(match nic.config() {
            Some(c) => (c.uplink_port, c.local_vtep_ip, c.local_mac.0),
            None => {
                let w = self.want(host)?;
                let c = w.config;
                (c.uplink_port, c.local_vtep_ip, c.local_mac.0)
            }
        })
    }

    /// The frame a punt is about: the inner frame of a tunnel packet from the
    /// uplink, else the frame itself.
    fn inner_frame<'f>(
        &self,
        host: &str,
        port: u16,
        frame: &'f [u8],
    ) -> Result<&'f [u8], ControllerError> {
        Ok(self.tunnel_inner(host, port, frame)?.unwrap_or(frame))
    }

    /// The inner frame when `frame`, from `port`, is a tunnel packet addressed to
    /// host `host`'s VTEP.
    fn tunnel_inner<'f>(
        &self,
        host: &str,
        port: u16,
        frame: &'f [u8],
    ) -> Result<Option<&'f [u8]>, ControllerError> {
        let (uplink, vtep) = self.uplink_of(host)?;
        if port != uplink {
            return Ok(None);
        }
        let Ok(outer) = parse_frame(frame) else {
            return Ok(None);
        };
        Ok(
            match parse_tunnel(frame, &outer, to_u128(IpAddr::V4(vtep))) {
                Ok(Some(t)) => frame.get(t.inner),
                _ => None,
            },
        )
    }

    /// Whether host `host`'s NIC answers for `ip` to an asker on `port`: from the
    /// uplink, for its local endpoints and its VTEP address; from a vport, for its
    /// local endpoints and the remote endpoints it has a host route to, but not for
    /// the asker's own address (`None`: ignore). Read from the NIC's tables as
    /// written, i.e. what the datapath will do with the traffic that follows.
    fn answers_for(
        &self,
        host: &str,
        port: u16,
        ip: IpAddr,
    ) -> Result<Option<bool>, ControllerError> {
        let (uplink, vtep, _) = self.link_of(host)?;
        let nic = self.nic_ref(host)?;
        let local = nic.held_local_ep(ip).is_some();
        if port == uplink {
            return Ok(Some(local || ip == IpAddr::V4(vtep)));
        }
        if nic.held_vport_ctx(port, ip).is_some() {
            return Ok(None);
        }
        let len = if ip.is_ipv4() { 32 } else { 128 };
        let remote = nic
            .held_remote_ep(Prefix { addr: ip, len })
            .is_some_and(|r| r.action != RemoteAction::World);
        Ok(Some(local || remote))
    }

    /// Sends `frame` out of `port` of host `host`'s NIC as it is (PacketOut mode 0).
    async fn send_out(&self, host: &str, port: u16, frame: Vec<u8>) -> Result<(), ControllerError> {
        let nic = self.nic_ref(host)?;
        let out = nic
            .program()
            .packet_out(PacketOutMeta { port, mode: 0 }, frame)
            .map_err(|source| ControllerError::Map {
                nic: host.to_string(),
                op: "packet_out".into(),
                source,
            })?;
        nic.send_packet_out(out).await
    }

    /// A punted ARP frame: a request for an address the NIC answers for gets an ARP
    /// reply from the NIC's MAC on the port it came from.
    async fn arp(
        &mut self,
        host: &str,
        port: u16,
        frame: &[u8],
    ) -> Result<Vec<SlowPathAction>, ControllerError> {
        if self.tunnel_inner(host, port, frame)?.is_some() {
            return Ok(vec![SlowPathAction::NeighborIgnored {
                port,
                what: "arp through a tunnel",
            }]);
        }
        let req = match neighbor::parse_arp(frame) {
            Neighbor::Request(r) => r,
            Neighbor::Ignore(what) => {
                return Ok(vec![SlowPathAction::NeighborIgnored { port, what }]);
            }
            Neighbor::Malformed(what) => return Ok(vec![SlowPathAction::Malformed { what }]),
        };
        let ip = req.target_ip;
        match self.answers_for(host, port, IpAddr::V4(ip))? {
            None => Ok(vec![SlowPathAction::NeighborIgnored {
                port,
                what: "arp for the asker's own address",
            }]),
            Some(false) => Ok(vec![SlowPathAction::NeighborUnknown {
                port,
                ip: IpAddr::V4(ip),
            }]),
            Some(true) => {
                let (_, _, mac) = self.link_of(host)?;
                self.send_out(host, port, neighbor::arp_reply(&req, mac))
                    .await?;
                Ok(vec![SlowPathAction::ArpAnswered { port, ip }])
            }
        }
    }

    /// A punted ND frame: a Neighbor Solicitation for an address the NIC answers for
    /// gets a Neighbor Advertisement from the NIC's MAC on the port it came from.
    async fn nd(
        &mut self,
        host: &str,
        port: u16,
        frame: &[u8],
    ) -> Result<Vec<SlowPathAction>, ControllerError> {
        if self.tunnel_inner(host, port, frame)?.is_some() {
            return Ok(vec![SlowPathAction::NeighborIgnored {
                port,
                what: "nd through a tunnel",
            }]);
        }
        let req = match neighbor::parse_nd(frame) {
            Neighbor::Request(r) => r,
            Neighbor::Ignore(what) => {
                return Ok(vec![SlowPathAction::NeighborIgnored { port, what }]);
            }
            Neighbor::Malformed(what) => return Ok(vec![SlowPathAction::Malformed { what }]),
        };
        let ip = req.target;
        match self.answers_for(host, port, IpAddr::V6(ip))? {
            None => Ok(vec![SlowPathAction::NeighborIgnored {
                port,
                what: "nd for the asker's own address",
            }]),
            Some(false) => Ok(vec![SlowPathAction::NeighborUnknown {
                port,
                ip: IpAddr::V6(ip),
            }]),
            Some(true) => {
                let (_, _, mac) = self.link_of(host)?;
                self.send_out(host, port, neighbor::neighbor_advert(&req, mac))
                    .await?;
                Ok(vec![SlowPathAction::NdAnswered { port, ip }])
            }
        }
    }

    /// The packet a punted frame carries (the inner one of a tunnel from the uplink)
    /// and its tag, if any.
    fn punted_packet(
        &self,
        host: &str,
        port: u16,
        frame: &[u8],
    ) -> Result<Option<(IpPacket, Option<Tag>)>, ControllerError> {
        let (uplink, vtep) = self.uplink_of(host)?;
        let Ok(outer) = parse_frame(frame) else {
            return Ok(None);
        };
        if port != uplink {
            return Ok(Some((outer, None)));
        }
        match parse_tunnel(frame, &outer, to_u128(IpAddr::V4(vtep))) {
            Ok(Some(t)) => {
                let inner = frame.get(t.inner.clone()).unwrap_or_default();
                Ok(parse_frame(inner).ok().map(|p| (p, Some(t.tag))))
            }
            Ok(None) => Ok(Some((outer, None))),
            Err(_) => Ok(None),
        }
    }

    async fn reinject(
        &mut self,
        host: &str,
        port: u16,
        frame: Vec<u8>,
    ) -> Result<SlowPathAction, ControllerError> {
        let nic = self.nic_ref(host)?;
        let out = nic
            .program()
            .packet_out(PacketOutMeta { port, mode: 1 }, frame)
            .map_err(|source| ControllerError::Map {
                nic: host.to_string(),
                op: "packet_out".into(),
                source,
            })?;
        nic.send_packet_out(out).await?;
        Ok(SlowPathAction::Reinjected { port })
    }

    /// A frame punted for an unknown context or a stale epoch: install what is
    /// missing, then re-inject it if this NIC now admits its context.
    async fn ctx_punt(
        &mut self,
        host: &str,
        meta: PacketInMeta,
        reason: PuntReason,
        frame: Vec<u8>,
    ) -> Result<Vec<SlowPathAction>, ControllerError> {
        let Some((pkt, tag)) = self.punted_packet(host, meta.ingress_port, &frame)? else {
            return Ok(vec![SlowPathAction::NoContext { reason }]);
        };
        let (ctx, wire_epoch) = match tag {
            Some(Tag::Geneve { ctx, epoch, .. }) => (Some(ctx), Some(epoch)),
            Some(Tag::Gbp { gpid }) => (
                self.engine
                    .contexts()
                    .find(|c| c.id & 0xffff == u32::from(gpid))
                    .map(|c| c.id),
                None,
            ),
            Some(Tag::Untagged) => (None, None),
            None => (
                self.nic_ref(host)?
                    .held_vport_ctx(meta.ingress_port, from_u128(pkt.src))
                    .map(|v| v.ctx),
                None,
            ),
        };
        let Some(ctx) = ctx else {
            return Ok(vec![SlowPathAction::NoContext { reason }]);
        };
        let a = self.ctx_miss(host, ctx, reason).await?;
        let admitted = match (self.nic_ref(host)?.held_epoch(ctx), wire_epoch) {
            (Some(held), Some(wire)) => held == wire,
            (Some(_), None) => true,
            (None, _) => false,
        };
        let mut actions = vec![a];
        if admitted && self.engine.context(ctx).is_some() {
            actions.push(self.reinject(host, meta.ingress_port, frame).await?);
        }
        Ok(actions)
    }

    /// A new connection the full conntrack table refused: a `ct_overflow` entry for
    /// its flow, then the frame again through the pipeline.
    async fn ct_full(
        &mut self,
        host: &str,
        meta: PacketInMeta,
        frame: Vec<u8>,
    ) -> Result<Vec<SlowPathAction>, ControllerError> {
        let Some((pkt, tag)) = self.punted_packet(host, meta.ingress_port, &frame)? else {
            return Ok(vec![SlowPathAction::Malformed {
                what: "ct_full punt: no IP flow in the frame".into(),
            }]);
        };
        let f = pkt.flow();
        let (src, dst) = (from_u128(f.src), from_u128(f.dst));
        let nic = self.nic_ref(host)?;
        let zone = if tag.is_some() {
            nic.held_local_ep(dst).map_or(0, |l| l.zone)
        } else {
            nic.held_vport_ctx(meta.ingress_port, src)
                .map_or(0, |v| v.zone)
        };
        let flow = OverflowFlow {
            zone,
            proto: f.proto,
            src,
            dst,
            sport: f.sport,
            dport: f.dport,
            idle_timeout_ms: self.overflow_idle_ms,
        };
        let mut actions = Vec::new();
        if !nic.holds_overflow(&flow) {
            let nic = self
                .nics
                .get_mut(host)
                .ok_or_else(|| ControllerError::UnknownNic(host.to_string()))?;
            nic.apply_ops(&[Op::SetCtOverflow(flow)]).await?;
            actions.push(SlowPathAction::OverflowInstalled { flow });
        }
        actions.push(self.reinject(host, meta.ingress_port, frame).await?);
        Ok(actions)
    }

    async fn idle_timeout(
        &mut self,
        host: &str,
        n: IdleTimeoutNotification,
    ) -> Result<SlowPathAction, ControllerError> {
        let nic = self
            .nics
            .get_mut(host)
            .ok_or_else(|| ControllerError::UnknownNic(host.to_string()))?;
        let overflow_id = nic.program().table_id(names::CT_OVERFLOW).ok();
        let mut flows = Vec::new();
        let mut raw = Vec::new();
        for e in n.table_entry {
            if Some(e.table_id) != overflow_id {
                continue;
            }
            let decoded = nic.program().decode(&e).ok().or_else(|| {
                nic.written()
                    .get(&e)
                    .and_then(|w| nic.program().decode(w).ok())
            });
            match decoded {
                Some(Op::SetCtOverflow(f)) => flows.push(f),
                _ => raw.push(e),
            }
        }
        let ops: Vec<Op> = flows.iter().map(|f| Op::DeleteCtOverflow(*f)).collect();
        if !ops.is_empty() {
            nic.apply_ops(&ops).await?;
        }
        if !raw.is_empty() {
            nic.delete_entries(&raw).await?;
        }
        Ok(SlowPathAction::OverflowExpired {
            flows,
            other: raw.len(),
        })
    }

    /// Waits for the next event of any attached NIC: (host, event, when received).
    /// `None` once every NIC's session is closed.
    pub async fn next_event(&mut self) -> Option<(String, StreamEvent, Instant)> {
        type Next<'a> = Pin<Box<dyn Future<Output = Option<StreamEvent>> + Send + 'a>>;
        let mut names = Vec::new();
        let mut futs: Vec<Next<'_>> = Vec::new();
        for (h, nic) in self.nics.iter_mut().filter(|(_, n)| !n.is_closed()) {
            names.push(h.clone());
            futs.push(Box::pin(nic.client().next_event()));
        }
        if futs.is_empty() {
            return None;
        }
        let got = std::future::poll_fn(|cx| {
            for (i, f) in futs.iter_mut().enumerate() {
                if let Poll::Ready(e) = f.as_mut().poll(cx) {
                    return Poll::Ready((i, e));
                }
            }
            Poll::Pending
        })
        .await;
        drop(futs);
        let (i, event) = got;
        let host = names.swap_remove(i);
        match event {
            Some(e) => Some((host, e, Instant::now())),
            None => {
                if let Some(n) = self.nics.get_mut(&host) {
                    n.mark_closed();
                }
                Some((
                    host,
                    StreamEvent::Disconnected("session closed".into()),
                    Instant::now(),
                ))
            }
        }
    }

    /// Runs the slow path until `shutdown` completes or every session is closed:
    /// takes events from all NICs, handles them (errors are counted and logged, the
    /// loop goes on) and reconciles a NIC whose session was re-established.
    pub async fn run_slow_path(&mut self, shutdown: impl Future<Output = ()>) -> SlowPathStats {
        tokio::pin!(shutdown);
        loop {
            let next = tokio::select! {
                _ = &mut shutdown => break,
                n = self.next_event() => n,
            };
            let Some((host, event, received)) = next else {
                break;
            };
            let reconnected = matches!(event, StreamEvent::Reconnected);
            if let Err(e) = self.handle_event_at(&host, event, received).await {
                tracing::warn!(nic = %host, "slow path: {e}");
            }
            if reconnected && let Err(e) = self.reconcile(&host).await {
                self.slow.stats.errors += 1;
                tracing::warn!(nic = %host, "reconcile after reconnect: {e}");
            }
        }
        self.slow.stats.clone()
    }
}
