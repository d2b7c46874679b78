//! # ztnic-verilator-tests — the Verilated datapath as a scenario [`Target`]
//!
//! [`RtlTarget`] drives [`ztnic_rtl_sim::Nic`]: it writes the configuration registers,
//! compiles table operations into the hardware layouts of `rtl/regmap.toml` (hash-table
//! slot placement, decomposed policy keys with port ranges), sends packets cycle by
//! cycle and turns the output stream and the verdict side-band into [`Outcome`]s.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use crc::{CRC_32_ISO_HDLC, Crc};
use ztnic_model::addr::{prefix_mask, to_u128};
use ztnic_model::policy::Action;
use ztnic_model::{
    Config, Counters, CtState, DropReason, Outcome, PacketsBytes, PortClass, PuntReason,
    RemoteAction, Rule, Verdict,
};
use ztnic_rtl_sim::regmap::{self, layout, table_enum};
use ztnic_rtl_sim::{Bits, Nic, SimError};
use ztnic_scenario::{Op, Target, TargetError};

const CRC32: Crc<u32> = Crc::<u32>::new(&CRC_32_ISO_HDLC);

/// Synthesis parameters of the Verilated model (the id block reports them).
#[derive(Clone, Copy, Debug)]
pub struct Geometry {
    pub port_class_log2: u32,
    pub vport_ctx_log2: u32,
    pub local_ep_log2: u32,
    pub ctx_epoch_log2: u32,
    pub remote_ep_entries: u32,
    pub policy_log2: u32,
    pub ct_log2_max: u32,
    pub ct_overflow_log2: u32,
}

/// What the hardware cannot realise, or a failed access.
#[derive(Debug, thiserror::Error)]
pub enum RtlError {
    #[error(transparent)]
    Sim(#[from] SimError),
    #[error("{table}: all 4 ways of bucket {bucket} are taken")]
    TableFull { table: &'static str, bucket: u32 },
    #[error("{0}: no such entry")]
    NotFound(String),
    #[error("the hardware cannot realise this: {0}")]
    Unsupported(String),
    #[error("the datapath produced {0}")]
    Output(String),
}

/// A 4-way hash table mirrored in software to place entries.
struct Placement<K: std::hash::Hash + Eq> {
    slots: HashMap<K, u32>,
    used: HashMap<u32, K>,
}

impl<K: std::hash::Hash + Eq> Default for Placement<K> {
    fn default() -> Self {
        Placement {
            slots: HashMap::new(),
            used: HashMap::new(),
        }
    }
}

impl<K: std::hash::Hash + Eq + Clone> Placement<K> {
    fn place(
        &mut self,
        key: &K,
        hash: u32,
        log2: u32,
        table: &'static str,
    ) -> Result<u32, RtlError> {
        if let Some(&s) = self.slots.get(key) {
            return Ok(s);
        }
        let bucket = hash & ((1 << log2) - 1);
        for way in 0..4 {
            let slot = (way << log2) | bucket;
            if !self.used.contains_key(&slot) {
                self.slots.insert(key.clone(), slot);
                self.used.insert(slot, key.clone());
                return Ok(slot);
            }
        }
        Err(RtlError::TableFull { table, bucket })
    }

    fn remove(&mut self, key: &K) -> Option<u32> {
        let s = self.slots.remove(key)?;
        self.used.remove(&s);
        Some(s)
    }
}

/// A policy key entry: the decomposed key and its (up to 4) rules by position.
#[derive(Clone, Default)]
struct PolicyEntry {
    rules: [Option<Rule>; 4],
}

/// The Verilated NIC as a scenario target.
pub struct RtlTarget {
    pub nic: Nic,
    geo: Geometry,
    config: Config,
    vport_ctx: Placement<(u16, u128)>,
    local_ep: Placement<u128>,
    ctx_epoch: Placement<u32>,
    remote_ep: Vec<Option<(u128, u8)>>,
    /// One placement per decomposed-key variant (the policy RAMs are split by variant).
    policy: [Placement<u64>; 8],
    policy_entries: HashMap<u64, PolicyEntry>,
    rule_pos: HashMap<u32, (u64, usize)>,
    overflow: Placement<[u8; 39]>,
    /// Counts of rules and contexts whose hardware counters were freed with their entry.
    retired_rules: BTreeMap<u32, PacketsBytes>,
    retired_ctx: BTreeMap<u32, PacketsBytes>,
}

fn add_pb(m: &mut BTreeMap<u32, PacketsBytes>, k: u32, pb: PacketsBytes) {
    if pb.packets != 0 {
        let e = m.entry(k).or_default();
        e.packets += pb.packets;
        e.bytes += pb.bytes;
    }
}

fn read_pb(nic: &mut Nic, table: u32, idx: u32) -> Result<PacketsBytes, RtlError> {
    let w = nic.table_read(table, idx, 4)?;
    Ok(PacketsBytes {
        packets: u64::from(w[0]) | (u64::from(w[1]) << 32),
        bytes: u64::from(w[2]) | (u64::from(w[3]) << 32),
    })
}

fn be_bytes(v: u128, n: usize) -> Vec<u8> {
    v.to_be_bytes()[16 - n..].to_vec()
}

/// The decomposed policy key of a rule (flags, src, dst, proto) as a big-endian u64.
pub fn policy_key(src: Option<u32>, dst: Option<u32>, proto: Option<u8>) -> u64 {
    let flags = u64::from(src.is_none())
        | (u64::from(dst.is_none()) << 1)
        | (u64::from(proto.is_none()) << 2);
    (flags << 56)
        | (u64::from(src.unwrap_or(0) & 0xff_ffff) << 32)
        | (u64::from(dst.unwrap_or(0) & 0xff_ffff) << 8)
        | u64::from(proto.unwrap_or(0))
}

impl RtlTarget {
    /// A fresh Verilated NIC with the default configuration.
    pub fn new() -> Result<RtlTarget, RtlError> {
        let mut nic = Nic::new();
        let geo = Geometry {
            port_class_log2: nic.read(regmap::id::PORT_CLASS_LOG2)?,
            vport_ctx_log2: nic.read(regmap::id::VPORT_CTX_LOG2)?,
            local_ep_log2: nic.read(regmap::id::LOCAL_EP_LOG2)?,
            ctx_epoch_log2: nic.read(regmap::id::CTX_EPOCH_LOG2)?,
            remote_ep_entries: nic.read(regmap::id::REMOTE_EP_ENTRIES)?,
            policy_log2: nic.read(regmap::id::POLICY_LOG2)?,
            ct_log2_max: nic.read(regmap::id::CT_LOG2_MAX)?,
            ct_overflow_log2: nic.read(regmap::id::CT_OVERFLOW_LOG2)?,
        };
        let mut t = RtlTarget {
            nic,
            geo,
            config: Config::default(),
            vport_ctx: Placement::default(),
            local_ep: Placement::default(),
            ctx_epoch: Placement::default(),
            remote_ep: vec![None; geo.remote_ep_entries as usize],
            policy: Default::default(),
            policy_entries: HashMap::new(),
            rule_pos: HashMap::new(),
            overflow: Placement::default(),
            retired_rules: BTreeMap::new(),
            retired_ctx: BTreeMap::new(),
        };
        t.write_config(&Config::default())?;
        Ok(t)
    }

    pub fn geometry(&self) -> Geometry {
        self.geo
    }

    /// Writes every configuration register.
    pub fn write_config(&mut self, c: &Config) -> Result<(), RtlError> {
        use regmap::config as r;
        let log2 = c.ct_buckets.trailing_zeros();
        if log2 > self.geo.ct_log2_max {
            return Err(RtlError::Unsupported(format!(
                "ct_buckets {} exceeds the synthesised 2^{}",
                c.ct_buckets, self.geo.ct_log2_max
            )));
        }
        let n = &mut self.nic;
        n.write(r::UPLINK_PORT, c.uplink_port.into())?;
        n.write(r::CPU_PORT, c.cpu_port.into())?;
        n.write(r::LOCAL_VTEP_IP, u32::from(c.local_vtep_ip))?;
        let mac = |m: [u8; 6]| {
            (
                u32::from(u16::from_be_bytes([m[0], m[1]])),
                u32::from_be_bytes([m[2], m[3], m[4], m[5]]),
            )
        };
        let (hi, lo) = mac(c.local_mac.0);
        n.write(r::LOCAL_MAC_HI, hi)?;
        n.write(r::LOCAL_MAC_LO, lo)?;
        let (hi, lo) = mac(c.gateway_mac.0);
        n.write(r::GATEWAY_MAC_HI, hi)?;
        n.write(r::GATEWAY_MAC_LO, lo)?;
        n.write(r::VNI, c.vni)?;
        n.write(r::AUTH_ENABLE, c.auth.into())?;
        for i in 0..4 {
            let k = &c.auth_key.0[4 * i..4 * i + 4];
            n.write(
                r::AUTH_KEY + 4 * i as u32,
                u32::from_le_bytes([k[0], k[1], k[2], k[3]]),
            )?;
        }
        n.write(r::CT_BUCKETS_LOG2, log2)?;
        n.write(r::POLICY_GEN, c.policy_gen.into())?;
        n.write(r::TCP_WSCALE, c.tcp_wscale.into())?;
        let t = &c.timeouts;
        let secs = [
            t.tcp_syn_sent,
            t.tcp_syn_recv,
            t.tcp_established,
            t.tcp_fin_wait,
            t.tcp_close_wait,
            t.tcp_last_ack,
            t.tcp_time_wait,
            t.tcp_close,
            t.tcp_syn_sent2,
            t.udp_unreplied,
            t.udp_replied,
            t.icmp,
            t.generic,
        ];
        for (i, s) in secs.iter().enumerate() {
            let us = u64::from(*s) * 1_000_000;
            n.write(r::TIMEOUT_LO + 8 * i as u32, us as u32)?;
            n.write(r::TIMEOUT_HI + 8 * i as u32, (us >> 32) as u32)?;
        }
        Ok(())
    }

    fn write_entry(&mut self, table: u32, index: u32, b: &Bits) -> Result<(), RtlError> {
        Ok(self.nic.table_write(table, index, b.words())?)
    }

    fn clear_entry(&mut self, table: u32, index: u32) -> Result<(), RtlError> {
        Ok(self.nic.table_write(table, index, &[])?)
    }

    fn ctx24(ctx: u32, what: &str) -> Result<u128, RtlError> {
        if ctx >= 1 << 24 {
            return Err(RtlError::Unsupported(format!(
                "{what} context {ctx} is wider than 24 bits"
            )));
        }
        Ok(ctx.into())
    }

    /// The variant of a decomposed policy key (its flags byte): which policy RAMs hold it.
    fn policy_variant(key: u64) -> usize {
        ((key >> 56) & 7) as usize
    }

    /// The table index of a placed policy key: variant, way, bucket.
    fn policy_slot(&self, key: u64) -> Option<u32> {
        let v = Self::policy_variant(key);
        let s = *self.policy[v].slots.get(&key)?;
        Some(((v as u32) << (self.geo.policy_log2 + 2)) | s)
    }

    fn write_policy_key(&mut self, key: u64) -> Result<(), RtlError> {
        let slot = self
            .policy_slot(key)
            .ok_or_else(|| RtlError::NotFound(format!("policy key {key:#x}")))?;
        let entry = self.policy_entries.get(&key).cloned().unwrap_or_default();
        if entry.rules.iter().all(Option::is_none) {
            self.policy[Self::policy_variant(key)].remove(&key);
            self.policy_entries.remove(&key);
            return self.clear_entry(table_enum::POLICY, slot);
        }
        use layout::policy as l;
        let mut b = Bits::zero(l::WIDTH);
        b.set(l::VALID, 1);
        b.set(l::KEY, key.into());
        for (i, r) in entry.rules.iter().enumerate() {
            let Some(r) = r else { continue };
            let base = l::RULE_BASE + i as u32 * l::RULE_STRIDE;
            b.set_at(base, l::rule::VALID, 1);
            b.set_at(base, l::rule::ALLOW, u128::from(r.action == Action::Allow));
            b.set_at(base, l::rule::PORT_LO, r.ports.lo.into());
            b.set_at(base, l::rule::PORT_HI, r.ports.hi.into());
            b.set_at(base, l::rule::PRIORITY, r.priority.into());
            b.set_at(base, l::rule::ID, r.id.into());
        }
        self.write_entry(table_enum::POLICY, slot, &b)
    }

    fn remove_rule(&mut self, id: u32) -> Result<bool, RtlError> {
        let Some((key, pos)) = self.rule_pos.remove(&id) else {
            return Ok(false);
        };
        if let Some(e) = self.policy_entries.get_mut(&key) {
            e.rules[pos] = None;
        }
        let slot = self.policy_slot(key);
        self.write_policy_key(key)?;
        if let Some(slot) = slot {
            // the rule's hardware counter is freed; its count is kept in software
            let idx = slot * 4 + pos as u32;
            let pb = read_pb(&mut self.nic, table_enum::RULE_COUNTER, idx)?;
            add_pb(&mut self.retired_rules, id, pb);
            self.nic.table_write(table_enum::RULE_COUNTER, idx, &[])?;
        }
        Ok(true)
    }

    fn set_rule(&mut self, r: &Rule) -> Result<(), RtlError> {
        self.remove_rule(r.id)?;
        let src = r
            .src
            .map(|c| Self::ctx24(c, "rule src").map(|_| c))
            .transpose()?;
        let dst = r
            .dst
            .map(|c| Self::ctx24(c, "rule dst").map(|_| c))
            .transpose()?;
        let key = policy_key(src, dst, r.proto.0);
        let hash = CRC32.checksum(&key.to_be_bytes());
        self.policy[Self::policy_variant(key)].place(&key, hash, self.geo.policy_log2, "policy")?;
        let entry = self.policy_entries.entry(key).or_default();
        let Some(pos) = entry.rules.iter().position(Option::is_none) else {
            return Err(RtlError::Unsupported(format!(
                "rule {}: more than 4 rules share the key (src {:?}, dst {:?}, proto {})",
                r.id, r.src, r.dst, r.proto
            )));
        };
        entry.rules[pos] = Some(*r);
        self.rule_pos.insert(r.id, (key, pos));
        self.write_policy_key(key)
    }

    fn overflow_key(key: &ztnic_model::CtKey) -> [u8; 39] {
        key.bytes()
    }

    /// Applies one control operation.
    pub fn apply_op(&mut self, op: &Op) -> Result<(), RtlError> {
        match op {
            Op::SetPortClass { port, class } => {
                if u32::from(*port) >= 1 << self.geo.port_class_log2 {
                    return Err(RtlError::Unsupported(format!(
                        "port {port} is beyond the port_class table"
                    )));
                }
                let c = match class {
                    PortClass::Vport => regmap::port_class_enum::VPORT,
                    PortClass::Uplink => regmap::port_class_enum::UPLINK,
                    PortClass::Cpu => regmap::port_class_enum::CPU,
                };
                self.nic
                    .table_write(table_enum::PORT_CLASS, (*port).into(), &[c])?;
            }
            Op::SetVportCtx(e) => {
                let addr = to_u128(e.ip);
                let mut kb = e.port.to_be_bytes().to_vec();
                kb.extend_from_slice(&addr.to_be_bytes());
                let slot = self.vport_ctx.place(
                    &(e.port, addr),
                    CRC32.checksum(&kb),
                    self.geo.vport_ctx_log2,
                    "vport_ctx",
                )?;
                use layout::vport_ctx as l;
                let mut b = Bits::zero(l::WIDTH);
                b.set(l::VALID, 1);
                b.set(l::VPORT, e.port.into());
                b.set(l::ADDR, addr);
                b.set(l::CTX, Self::ctx24(e.ctx, "vport_ctx")?);
                b.set(l::ZONE, e.zone.into());
                self.write_entry(table_enum::VPORT_CTX, slot, &b)?;
            }
            Op::DeleteVportCtx { port, ip } => {
                let slot = self
                    .vport_ctx
                    .remove(&(*port, to_u128(*ip)))
                    .ok_or_else(|| RtlError::NotFound(format!("vport_ctx {port} {ip}")))?;
                self.clear_entry(table_enum::VPORT_CTX, slot)?;
            }
            Op::SetLocalEp(e) => {
                let addr = to_u128(e.ip);
                let slot = self.local_ep.place(
                    &addr,
                    CRC32.checksum(&addr.to_be_bytes()),
                    self.geo.local_ep_log2,
                    "local_ep",
                )?;
                use layout::local_ep as l;
                let mut b = Bits::zero(l::WIDTH);
                b.set(l::VALID, 1);
                b.set(l::ADDR, addr);
                b.set(l::VPORT, e.vport.into());
                b.set(l::CTX, Self::ctx24(e.ctx, "local_ep")?);
                b.set(l::ZONE, e.zone.into());
                self.write_entry(table_enum::LOCAL_EP, slot, &b)?;
            }
            Op::DeleteLocalEp { ip } => {
                let slot = self
                    .local_ep
                    .remove(&to_u128(*ip))
                    .ok_or_else(|| RtlError::NotFound(format!("local_ep {ip}")))?;
                self.clear_entry(table_enum::LOCAL_EP, slot)?;
            }
            Op::SetCtxEpoch(e) => {
                let c = Self::ctx24(e.ctx, "ctx_epoch")? as u32;
                let slot = self.ctx_epoch.place(
                    &c,
                    CRC32.checksum(&be_bytes(c.into(), 3)),
                    self.geo.ctx_epoch_log2,
                    "ctx_epoch",
                )?;
                use layout::ctx_epoch as l;
                let mut b = Bits::zero(l::WIDTH);
                b.set(l::VALID, 1);
                b.set(l::CTX, c.into());
                b.set(l::EPOCH, e.epoch.into());
                self.write_entry(table_enum::CTX_EPOCH, slot, &b)?;
            }
            Op::DeleteCtxEpoch { ctx } => {
                let slot = self
                    .ctx_epoch
                    .remove(ctx)
                    .ok_or_else(|| RtlError::NotFound(format!("ctx_epoch {ctx}")))?;
                self.clear_entry(table_enum::CTX_EPOCH, slot)?;
                let pb = read_pb(&mut self.nic, table_enum::CTX_COUNTER, slot)?;
                add_pb(&mut self.retired_ctx, *ctx, pb);
                self.nic.table_write(table_enum::CTX_COUNTER, slot, &[])?;
            }
            Op::SetRemoteEp(e) => {
                let (addr, len) = e.prefix.to_u128();
                let idx = match self.remote_ep.iter().position(|x| *x == Some((addr, len))) {
                    Some(i) => i,
                    None => self
                        .remote_ep
                        .iter()
                        .position(Option::is_none)
                        .ok_or_else(|| {
                            RtlError::Unsupported(format!(
                                "remote_ep holds {} prefixes",
                                self.remote_ep.len()
                            ))
                        })?,
                };
                use layout::remote_ep as l;
                let mut b = Bits::zero(l::WIDTH);
                b.set(l::VALID, 1);
                b.set(l::PREFIX, addr & prefix_mask(len));
                b.set(l::PREFIX_LEN, len.into());
                let (kind, vtep, ctx) = match e.action {
                    RemoteAction::Geneve { vtep, ctx } => {
                        (regmap::remote_kind_enum::GENEVE, u32::from(vtep), ctx)
                    }
                    RemoteAction::VxlanGbp { vtep, ctx } => {
                        (regmap::remote_kind_enum::VXLAN_GBP, u32::from(vtep), ctx)
                    }
                    RemoteAction::World => (regmap::remote_kind_enum::WORLD, 0, 2),
                };
                b.set(l::KIND, kind.into());
                b.set(l::VTEP, vtep.into());
                b.set(l::CTX, Self::ctx24(ctx, "remote_ep")?);
                self.remote_ep[idx] = Some((addr, len));
                self.write_entry(table_enum::REMOTE_EP, idx as u32, &b)?;
            }
            Op::DeleteRemoteEp { prefix } => {
                let (addr, len) = prefix.to_u128();
                let idx = self
                    .remote_ep
                    .iter()
                    .position(|x| *x == Some((addr, len)))
                    .ok_or_else(|| RtlError::NotFound(format!("remote_ep {prefix}")))?;
                self.remote_ep[idx] = None;
                self.clear_entry(table_enum::REMOTE_EP, idx as u32)?;
            }
            Op::SetRule(r) => self.set_rule(r)?,
            Op::DeleteRule { id } => {
                if !self.remove_rule(*id)? {
                    return Err(RtlError::NotFound(format!("policy rule {id}")));
                }
            }
            Op::SetCtOverflow(f) => {
                let (key, orig_lo) = f.key();
                let kb = Self::overflow_key(&key);
                let slot = self.overflow.place(
                    &kb,
                    key.h32(),
                    self.geo.ct_overflow_log2,
                    "ct_overflow",
                )?;
                use layout::ct_overflow as l;
                let mut b = Bits::zero(l::WIDTH);
                b.set(l::VALID, 1);
                b.set_bytes_be(l::KEY, &kb);
                b.set(l::ORIG_LO, orig_lo.into());
                self.write_entry(table_enum::CT_OVERFLOW, slot, &b)?;
            }
            Op::DeleteCtOverflow(f) => {
                let (key, _) = f.key();
                let slot = self
                    .overflow
                    .remove(&Self::overflow_key(&key))
                    .ok_or_else(|| RtlError::NotFound(format!("ct_overflow {key}")))?;
                self.clear_entry(table_enum::CT_OVERFLOW, slot)?;
            }
            Op::SetConfig(c) => {
                if c.ct_buckets != self.config.ct_buckets {
                    // a new geometry starts an empty table, as in the model
                    for slot in 0..(4u32 << self.geo.ct_log2_max) {
                        self.clear_entry(table_enum::CONNTRACK, slot)?;
                    }
                }
                self.write_config(c)?;
                self.config = (**c).clone();
            }
        }
        Ok(())
    }

    /// Sends one frame at `at_us` and collects what came out.
    pub fn send_frame(&mut self, at_us: u64, port: u16, frame: &[u8]) -> Result<Outcome, RtlError> {
        let mut v = self.send_burst(at_us, &[(port, frame.to_vec())])?;
        v.pop()
            .ok_or_else(|| RtlError::Output("no verdict for the packet".into()))
    }

    /// Sends frames back to back (as fast as the input accepts them) at `at_us` and
    /// returns their outcomes in order: the verdict side-band pairs with the output
    /// frames in order, since forwarded and punted frames leave in arrival order.
    pub fn send_burst(
        &mut self,
        at_us: u64,
        frames: &[(u16, Vec<u8>)],
    ) -> Result<Vec<Outcome>, RtlError> {
        self.nic.set_time_us(at_us);
        for (port, f) in frames {
            self.nic.send(*port, f);
        }
        self.nic
            .run_until_idle(200_000 + 1_000 * frames.len() as u64)?;
        let statuses = self.nic.take_statuses();
        let out = self.nic.take_frames();
        if statuses.len() != frames.len() {
            return Err(RtlError::Output(format!(
                "{} verdicts for {} packets",
                statuses.len(),
                frames.len()
            )));
        }
        let mut out = out.into_iter();
        let v = statuses
            .iter()
            .map(|st| self.outcome(st, &mut out))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(f) = out.next() {
            return Err(RtlError::Output(format!(
                "a frame without a verdict left port {}",
                f.port
            )));
        }
        Ok(v)
    }

    /// The outcome of one verdict record, taking its frame (if any) from `frames`.
    fn outcome(
        &self,
        st: &ztnic_rtl_sim::Status,
        frames: &mut impl Iterator<Item = ztnic_rtl_sim::Frame>,
    ) -> Result<Outcome, RtlError> {
        let ct_state = st.ct_state.map(|b| CtState {
            new: b & 1 != 0,
            est: b & 2 != 0,
            rel: b & 4 != 0,
            rpl: b & 8 != 0,
            inv: b & 16 != 0,
            trk: b & 32 != 0,
        });
        let verdict = match u32::from(st.verdict) {
            regmap::verdict_enum::DROP => Verdict::Drop(
                DropReason::from_code(st.reason)
                    .ok_or_else(|| RtlError::Output(format!("unknown drop code {}", st.reason)))?,
            ),
            regmap::verdict_enum::PUNT => {
                let f = frames
                    .next()
                    .ok_or_else(|| RtlError::Output("a punt left no frame".into()))?;
                if f.port != self.config.cpu_port || f.data.len() < 4 {
                    return Err(RtlError::Output(format!(
                        "punt on port {} of {} bytes",
                        f.port,
                        f.data.len()
                    )));
                }
                if f.data[2] != st.reason {
                    return Err(RtlError::Output(
                        "packet_in reason differs from the verdict".into(),
                    ));
                }
                Verdict::Punt {
                    reason: PuntReason::from_code(st.reason).ok_or_else(|| {
                        RtlError::Output(format!("unknown punt code {}", st.reason))
                    })?,
                    frame: f.data[4..].to_vec(),
                }
            }
            _ => {
                let f = frames
                    .next()
                    .ok_or_else(|| RtlError::Output("a forward left no frame".into()))?;
                if f.port != st.port {
                    return Err(RtlError::Output(format!(
                        "frame on port {} for a verdict to port {}",
                        f.port, st.port
                    )));
                }
                Verdict::Forward {
                    port: f.port,
                    frame: f.data,
                }
            }
        };
        Ok(Outcome {
            verdict,
            ct_state,
            rule: st.rule,
        })
    }

    /// Reads every counter table.
    pub fn read_counters(&mut self) -> Result<Counters, RtlError> {
        let mut c = Counters::default();
        for r in DropReason::ALL {
            let w = self
                .nic
                .table_read(table_enum::DROP_COUNTER, r.code().into(), 2)?;
            let n = u64::from(w[0]) | (u64::from(w[1]) << 32);
            if n != 0 {
                c.drops.insert(*r, n);
            }
        }
        for r in PuntReason::ALL {
            let w = self
                .nic
                .table_read(table_enum::PUNT_COUNTER, r.code().into(), 2)?;
            let n = u64::from(w[0]) | (u64::from(w[1]) << 32);
            if n != 0 {
                c.punts.insert(*r, n);
            }
        }
        c.ctx = self.retired_ctx.clone();
        c.rules = self.retired_rules.clone();
        let ctxs: BTreeMap<u32, u32> = self.ctx_epoch.slots.iter().map(|(c, s)| (*c, *s)).collect();
        for (ctx, slot) in ctxs {
            let pb = read_pb(&mut self.nic, table_enum::CTX_COUNTER, slot)?;
            add_pb(&mut c.ctx, ctx, pb);
        }
        let rules: Vec<(u32, (u64, usize))> = self.rule_pos.iter().map(|(k, v)| (*k, *v)).collect();
        for (id, (key, pos)) in rules {
            if let Some(slot) = self.policy_slot(key) {
                let pb = read_pb(
                    &mut self.nic,
                    table_enum::RULE_COUNTER,
                    slot * 4 + pos as u32,
                )?;
                add_pb(&mut c.rules, id, pb);
            }
        }
        Ok(c)
    }
}

impl Target for RtlTarget {
    fn name(&self) -> String {
        "rtl".into()
    }

    fn reset(&mut self, config: &Config) -> Result<(), TargetError> {
        let mut fresh = RtlTarget::new()?;
        fresh.write_config(config)?;
        fresh.config = config.clone();
        *self = fresh;
        Ok(())
    }

    fn apply(&mut self, op: &Op) -> Result<(), TargetError> {
        Ok(self.apply_op(op)?)
    }

    fn send(&mut self, at_us: u64, port: u16, frame: &[u8]) -> Result<Outcome, TargetError> {
        Ok(self.send_frame(at_us, port, frame)?)
    }

    fn counters(&mut self) -> Result<Counters, TargetError> {
        Ok(self.read_counters()?)
    }
}

/// An IP address as the 128-bit value the tables store.
pub fn addr128(ip: IpAddr) -> u128 {
    to_u128(ip)
}

/// A small deterministic random generator (xorshift64*) for sweeps and fuzzing.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// True with probability `num / den`.
    pub fn chance(&mut self, num: u64, den: u64) -> bool {
        self.next_u64() % den < num
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// An IPv4/UDP frame of exactly `len` bytes (at least 42) from `src` to `dst`.
pub fn udp_frame(len: usize, src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16) -> Vec<u8> {
    let len = len.max(42);
    let mut f = vec![0u8; len];
    f[0..6].copy_from_slice(&[2, 0, 0, 0, 0, 0xaa]);
    f[6..12].copy_from_slice(&[2, 0, 0, 0, 0, 0xbb]);
    f[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
    let ip_len = (len - 14) as u16;
    f[14] = 0x45;
    f[16..18].copy_from_slice(&ip_len.to_be_bytes());
    f[22] = 64;
    f[23] = 17;
    f[26..30].copy_from_slice(&src);
    f[30..34].copy_from_slice(&dst);
    let csum = !ztnic_model::parse::ipv4_checksum_fold(&f[14..34]);
    f[24..26].copy_from_slice(&csum.to_be_bytes());
    f[34..36].copy_from_slice(&sport.to_be_bytes());
    f[36..38].copy_from_slice(&dport.to_be_bytes());
    f[38..40].copy_from_slice(&(ip_len - 20).to_be_bytes());
    for (i, b) in f[42..].iter_mut().enumerate() {
        *b = i as u8;
    }
    f
}

/// A minimum-size (60-byte) IPv4/TCP segment without payload.
#[allow(clippy::too_many_arguments)]
pub fn tcp_frame(
    src: [u8; 4],
    dst: [u8; 4],
    sport: u16,
    dport: u16,
    flags: u8,
    seq: u32,
    ack: u32,
    win: u16,
) -> Vec<u8> {
    let mut f = vec![0u8; 60];
    f[0..6].copy_from_slice(&[2, 0, 0, 0, 0, 0xaa]);
    f[6..12].copy_from_slice(&[2, 0, 0, 0, 0, 0xbb]);
    f[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
    f[14] = 0x45;
    f[16..18].copy_from_slice(&40u16.to_be_bytes());
    f[22] = 64;
    f[23] = 6;
    f[26..30].copy_from_slice(&src);
    f[30..34].copy_from_slice(&dst);
    let csum = !ztnic_model::parse::ipv4_checksum_fold(&f[14..34]);
    f[24..26].copy_from_slice(&csum.to_be_bytes());
    f[34..36].copy_from_slice(&sport.to_be_bytes());
    f[36..38].copy_from_slice(&dport.to_be_bytes());
    f[38..42].copy_from_slice(&seq.to_be_bytes());
    f[42..46].copy_from_slice(&ack.to_be_bytes());
    f[46] = 0x50;
    f[47] = flags;
    f[48..50].copy_from_slice(&win.to_be_bytes());
    f
}

/// Table writes of a small NIC: vport 1 (10.0.0.1, ctx 256) may send UDP anywhere in
/// `world` (natively out of the uplink, port 0); the CPU port is 255.
pub fn world_udp_setup() -> Vec<Op> {
    use ztnic_model::{CtxEpoch, PortRange, Prefix, ProtoMatch, RemoteEp, VportCtx};
    let ip = |s: &str| s.parse::<IpAddr>().expect("literal address");
    vec![
        Op::SetPortClass {
            port: 0,
            class: PortClass::Uplink,
        },
        Op::SetPortClass {
            port: 1,
            class: PortClass::Vport,
        },
        Op::SetPortClass {
            port: 255,
            class: PortClass::Cpu,
        },
        Op::SetVportCtx(VportCtx {
            port: 1,
            ip: ip("10.0.0.1"),
            ctx: 256,
            zone: 0,
        }),
        Op::SetCtxEpoch(CtxEpoch { ctx: 256, epoch: 1 }),
        Op::SetRemoteEp(RemoteEp {
            prefix: Prefix {
                addr: ip("0.0.0.0"),
                len: 0,
            },
            action: RemoteAction::World,
        }),
        Op::SetRule(Rule {
            id: 1,
            priority: 1,
            src: Some(256),
            dst: None,
            proto: ProtoMatch(Some(17)),
            ports: PortRange::ANY,
            action: Action::Allow,
        }),
    ]
}
