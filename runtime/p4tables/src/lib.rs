//! # ztnic-p4tables — the ztnic program as P4Runtime entities
//!
//! The one place where the runtime's control operations ([`ztnic_model::Op`]) meet
//! the P4Runtime view of the ztnic P4 program (`p4/`, P4Info in
//! `p4/build/ztnic.p4info.txtpb`): every controller that programs a ztnic device
//! (bmv2 or the FPGA agent) encodes with it, and the FPGA agent decodes with it, so
//! the two directions cannot drift apart.
//!
//! - [`Program`]: operations ⇄ table entries, the configuration ⇄ the default
//!   entries of the keyless `config`, `auth_key` and `ct_timeouts` tables;
//! - [`Written`]: what one device holds, to choose INSERT or MODIFY and to find a
//!   rule's entry by its id;
//! - [`digest`]: the `ctx_miss` and `ct_event` digests; [`packet`]: the
//!   `packet_in` / `packet_out` controller headers;
//! - [`conntrack`]: the `ct_key` / `ct_info` / `ct_win` registers (the data
//!   plane's connection table) as cells, and the connections they hold;
//! - [`names`]: every table, action, counter and digest name.
//!
//! Rules: a policy entry carries its rule id as the `rule_id` action parameter and
//! its P4Runtime priority is `2·priority + 1` for deny, `2·priority` for allow (so a
//! deny wins a tie). Contexts are exact or wildcard (a ternary mask of all ones, or
//! the field omitted); a port range covering every port is omitted.

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use ztnic_model::addr::{from_u128, to_u128};
use ztnic_model::tables::{CtxEpoch, LocalEp, PortClass, Prefix, RemoteAction, RemoteEp, VportCtx};
use ztnic_model::{
    Action, AuthKey, Config, MacAddr, Op, OverflowFlow, PortRange, ProtoMatch, Rule, Timeouts,
};
use ztnic_p4runtime_client::protocol::p4info::MatchKind;
use ztnic_p4runtime_client::protocol::v1::{self, TableEntry, field_match::FieldMatchType};
use ztnic_p4runtime_client::protocol::{P4InfoIndex, bytestring};
use ztnic_p4runtime_client::{ClientError, TableEntryBuilder};

pub mod conntrack;
pub mod digest;
pub mod names;
pub mod packet;
mod written;

pub use written::Written;

/// The committed P4Info of the ztnic program (`p4/build/ztnic.p4info.txtpb`,
/// checked against a fresh p4c compile by `bmv2-tests`), in text format.
pub const ZTNIC_P4INFO_TEXT: &str = include_str!("../../../p4/build/ztnic.p4info.txtpb");

/// The ztnic program's P4Info, parsed.
pub fn ztnic_p4info() -> Result<ztnic_p4runtime_client::protocol::config::P4Info, MapError> {
    ztnic_p4runtime_client::protocol::text::parse_p4info(ZTNIC_P4INFO_TEXT)
        .map_err(|e| MapError::Program(format!("the committed P4Info: {e}")))
}

/// The ztnic program over its committed P4Info.
pub fn ztnic_program() -> Result<Program, MapError> {
    let index = P4InfoIndex::new(ztnic_p4info()?).map_err(|e| MapError::Program(e.to_string()))?;
    Program::new(Arc::new(index))
}

/// Why an operation or entry has no counterpart on the other side.
#[derive(Debug, thiserror::Error)]
pub enum MapError {
    /// The P4Info lacks something the ztnic program has (a different program).
    #[error("the P4Info is not the ztnic program's: {0}")]
    Program(String),
    /// An entry could not be built (a value too wide for its field, ...).
    #[error("{0}")]
    Build(#[from] ClientError),
    /// An entry or message the ztnic semantics cannot express.
    #[error("{0}")]
    Unsupported(String),
    /// A malformed entry or message (missing field or parameter).
    #[error("{0}")]
    Invalid(String),
    /// A rule id the device does not hold.
    #[error("policy rule {0}: no such rule on the device")]
    UnknownRule(u32),
    /// Another rule already holds this key and priority.
    #[error("policy rule {id}: rule {other} has the same key and priority")]
    RuleKeyTaken { id: u32, other: u32 },
}

/// Port classes as `set_class` codes (`p4/headers.p4`).
pub fn class_code(c: PortClass) -> u8 {
    match c {
        PortClass::Vport => 1,
        PortClass::Uplink => 2,
        PortClass::Cpu => 3,
    }
}

fn class_of(code: u128) -> Option<PortClass> {
    match code {
        1 => Some(PortClass::Vport),
        2 => Some(PortClass::Uplink),
        3 => Some(PortClass::Cpu),
        _ => None,
    }
}

/// The P4Runtime priority of a rule, or `None` for an allow rule of priority 0
/// (P4Runtime priorities start at 1).
pub fn rule_priority(r: &Rule) -> Option<i32> {
    let p = 2 * i32::from(r.priority) + i32::from(r.action == Action::Deny);
    (p > 0).then_some(p)
}

/// A decoded entry's fields and action, looked up by name.
struct Fields<'a> {
    program: &'a Program,
    entry: &'a TableEntry,
    table: &'a str,
}

impl<'a> Fields<'a> {
    fn field(&self, name: &str) -> Result<Option<&'a FieldMatchType>, MapError> {
        let t = self.program.table(self.table)?;
        let f = t
            .field_by_name(name)
            .map_err(|e| MapError::Program(e.to_string()))?;
        Ok(self
            .entry
            .r#match
            .iter()
            .find(|m| m.field_id == f.id)
            .and_then(|m| m.field_match_type.as_ref()))
    }

    fn exact(&self, name: &str) -> Result<u128, MapError> {
        match self.field(name)? {
            Some(FieldMatchType::Exact(e)) => value(&e.value, self.table, name),
            _ => Err(MapError::Invalid(format!(
                "{}: exact field '{name}' missing",
                self.table
            ))),
        }
    }

    /// A ternary field that must be exact (mask of all ones) or absent.
    fn exact_or_any(&self, name: &str, width: u32) -> Result<Option<u128>, MapError> {
        match self.field(name)? {
            None => Ok(None),
            Some(FieldMatchType::Ternary(t)) => {
                let full = bytestring::max_value(width);
                if bytestring::canonicalize(&t.mask) != full {
                    return Err(MapError::Unsupported(format!(
                        "{}.{name}: only an exact value or a wildcard is supported, not mask {:02x?}",
                        self.table, t.mask
                    )));
                }
                Ok(Some(value(&t.value, self.table, name)?))
            }
            Some(other) => Err(MapError::Invalid(format!(
                "{}.{name}: expected a ternary match, got {other:?}",
                self.table
            ))),
        }
    }

    fn action(&self) -> Result<(&'a str, &'a v1::Action), MapError> {
        let a = match self.entry.action.as_ref().and_then(|a| a.r#type.as_ref()) {
            Some(v1::table_action::Type::Action(a)) => a,
            _ => {
                return Err(MapError::Invalid(format!(
                    "{}: the entry has no direct action",
                    self.table
                )));
            }
        };
        let alias = self
            .program
            .action_alias
            .get(&a.action_id)
            .map(String::as_str)
            .ok_or_else(|| MapError::Invalid(format!("unknown action id {}", a.action_id)))?;
        Ok((alias, a))
    }

    fn param(&self, name: &str) -> Result<u128, MapError> {
        let (action, a) = self.action()?;
        let info = self
            .program
            .index
            .action(a.action_id)
            .ok_or_else(|| MapError::Invalid(format!("unknown action id {}", a.action_id)))?;
        let p = info
            .param_by_name(name)
            .map_err(|e| MapError::Program(e.to_string()))?;
        let v = a
            .params
            .iter()
            .find(|x| x.param_id == p.id)
            .ok_or_else(|| MapError::Invalid(format!("{action}: parameter '{name}' missing")))?;
        value(&v.value, action, name)
    }
}

fn value(bytes: &[u8], owner: &str, name: &str) -> Result<u128, MapError> {
    bytestring::decode(bytes)
        .ok_or_else(|| MapError::Invalid(format!("{owner}.{name}: not a number: {bytes:02x?}")))
}

fn narrow<T: TryFrom<u128>>(v: u128, what: &str) -> Result<T, MapError> {
    T::try_from(v).map_err(|_| MapError::Invalid(format!("{what}: {v} out of range")))
}

/// The ztnic program's P4Info, resolved: encodes and decodes its entries.
#[derive(Clone, Debug)]
pub struct Program {
    index: Arc<P4InfoIndex>,
    /// Action id → alias (the P4Info index keys actions by full name).
    action_alias: std::collections::HashMap<u32, String>,
}

impl Program {
    /// Checks that `index` is the ztnic program's P4Info: every table and action
    /// this crate names exists.
    pub fn new(index: Arc<P4InfoIndex>) -> Result<Program, MapError> {
        let action_alias = index
            .p4info()
            .actions
            .iter()
            .filter_map(|a| a.preamble.as_ref())
            .map(|p| (p.id, p.alias.clone()))
            .collect();
        let p = Program {
            index,
            action_alias,
        };
        for t in names::ENTRY_TABLES.iter().chain(&names::CONFIG_TABLES) {
            p.table(t)?;
        }
        for a in [
            names::SET_CONFIG,
            names::SET_AUTH_KEY,
            names::SET_CT_TIMEOUTS,
            names::SET_CLASS,
            names::SET_SRC,
            names::DELIVER,
            names::GENEVE,
            names::VXLAN_GBP,
            names::WORLD,
            names::SET_EPOCH,
            names::ALLOW,
            names::DENY,
            names::TRACK,
        ] {
            p.index
                .action_by_name(a)
                .map_err(|e| MapError::Program(e.to_string()))?;
        }
        for a in [names::ALLOW, names::DENY] {
            p.index
                .action_by_name(a)
                .and_then(|i| i.param_by_name("rule_id"))
                .map_err(|e| MapError::Program(format!("{a}: {e}")))?;
        }
        Ok(p)
    }

    /// The P4Info index.
    pub fn index(&self) -> &Arc<P4InfoIndex> {
        &self.index
    }

    fn table(
        &self,
        name: &str,
    ) -> Result<&ztnic_p4runtime_client::protocol::p4info::TableInfo, MapError> {
        self.index
            .table_by_name(name)
            .map_err(|e| MapError::Program(e.to_string()))
    }

    /// The id of a table named in [`names`].
    pub fn table_id(&self, name: &str) -> Result<u32, MapError> {
        Ok(self.table(name)?.id)
    }

    /// The alias of table `id`, if the program has it.
    pub fn table_name(&self, id: u32) -> Option<&str> {
        self.index.table(id).map(|t| t.alias.as_str())
    }

    fn builder(&self, table: &str) -> Result<TableEntryBuilder, MapError> {
        Ok(TableEntryBuilder::new(self.index.clone(), table)?)
    }

    /// The complete entry an `Op::Set*` writes, or the key of the entry an
    /// `Op::Delete*` removes. `DeleteRule` names a rule by id only: its key is
    /// [`Written::rule`]'s; `SetConfig` is [`Program::config_entries`].
    pub fn entry(&self, op: &Op) -> Result<TableEntry, MapError> {
        Ok(match op {
            Op::SetPortClass { port, class } => self
                .builder(names::PORT_CLASS)?
                .exact("port", *port)
                .action(names::SET_CLASS)
                .param("class", class_code(*class))
                .build()?,
            Op::DeletePortClass { port } => self
                .builder(names::PORT_CLASS)?
                .exact("port", *port)
                .key()?,
            Op::SetVportCtx(v) => self
                .builder(names::VPORT_CTX)?
                .exact("vport", v.port)
                .exact("src", to_u128(v.ip))
                .action(names::SET_SRC)
                .param("ctx", v.ctx)
                .param("zone", v.zone)
                .build()?,
            Op::DeleteVportCtx { port, ip } => self
                .builder(names::VPORT_CTX)?
                .exact("vport", *port)
                .exact("src", to_u128(*ip))
                .key()?,
            Op::SetLocalEp(l) => self
                .builder(names::LOCAL_EP)?
                .exact("dst", to_u128(l.ip))
                .action(names::DELIVER)
                .param("vport", l.vport)
                .param("ctx", l.ctx)
                .param("zone", l.zone)
                .build()?,
            Op::DeleteLocalEp { ip } => self
                .builder(names::LOCAL_EP)?
                .exact("dst", to_u128(*ip))
                .key()?,
            Op::SetRemoteEp(r) => {
                let b = self.remote_ep_key(&r.prefix)?;
                let b = match r.action {
                    RemoteAction::Geneve { vtep, ctx } => b
                        .action(names::GENEVE)
                        .param("vtep", vtep)
                        .param("ctx", ctx),
                    RemoteAction::VxlanGbp { vtep, ctx } => b
                        .action(names::VXLAN_GBP)
                        .param("vtep", vtep)
                        .param("ctx", ctx),
                    RemoteAction::World => b.action(names::WORLD),
                };
                b.build()?
            }
            Op::DeleteRemoteEp { prefix } => self.remote_ep_key(prefix)?.key()?,
            Op::SetCtxEpoch(c) => self
                .builder(names::CTX_EPOCH)?
                .exact("ctx", c.ctx)
                .action(names::SET_EPOCH)
                .param("epoch", c.epoch)
                .build()?,
            Op::DeleteCtxEpoch { ctx } => {
                self.builder(names::CTX_EPOCH)?.exact("ctx", *ctx).key()?
            }
            Op::SetRule(r) => self.rule_entry(r)?,
            Op::DeleteRule { id } => {
                return Err(MapError::Invalid(format!(
                    "policy rule {id}: a delete by id needs the device's entry (Written::rule)"
                )));
            }
            Op::SetCtOverflow(f) => self
                .overflow_key(f)?
                .action(names::TRACK)
                .param("orig_lo", u8::from(f.key().1))
                .idle_timeout(Duration::from_millis(f.idle_timeout_ms))
                .build()?,
            Op::DeleteCtOverflow(f) => self.overflow_key(f)?.key()?,
            Op::SetConfig(_) => {
                return Err(MapError::Invalid(
                    "the configuration is three default entries (Program::config_entries)".into(),
                ));
            }
        })
    }

    /// A `remote_ep` key: the LPM on the 128-bit address, omitted for length 0
    /// (P4Runtime writes a don't-care match by leaving the field out).
    fn remote_ep_key(&self, prefix: &Prefix) -> Result<TableEntryBuilder, MapError> {
        let (addr, len) = prefix.to_u128();
        let b = self.builder(names::REMOTE_EP)?;
        Ok(if len == 0 {
            b
        } else {
            b.lpm("dst", addr, u32::from(len))
        })
    }

    fn overflow_key(&self, f: &OverflowFlow) -> Result<TableEntryBuilder, MapError> {
        let (k, _) = f.key();
        Ok(self
            .builder(names::CT_OVERFLOW)?
            .exact("zone", k.zone)
            .exact("proto", k.proto)
            .exact("addr_lo", k.lo_addr)
            .exact("addr_hi", k.hi_addr)
            .exact("port_lo", k.lo_port)
            .exact("port_hi", k.hi_port))
    }

    /// The policy entry of a rule.
    pub fn rule_entry(&self, r: &Rule) -> Result<TableEntry, MapError> {
        let priority = rule_priority(r).ok_or_else(|| {
            MapError::Unsupported(format!(
                "rule {}: an allow rule of priority 0 has P4Runtime priority 0",
                r.id
            ))
        })?;
        let mut b = self.builder(names::POLICY)?.priority(priority);
        if let Some(src) = r.src {
            b = b.ternary("src_ctx", src, 0xff_ffffu32);
        }
        if let Some(dst) = r.dst {
            b = b.ternary("dst_ctx", dst, 0xff_ffffu32);
        }
        if let Some(p) = r.proto.0 {
            b = b.ternary("proto", p, 0xffu8);
        }
        if r.ports != PortRange::ANY {
            b = b.range("port", r.ports.lo, r.ports.hi);
        }
        let action = match r.action {
            Action::Allow => names::ALLOW,
            Action::Deny => names::DENY,
        };
        Ok(b.action(action).param("rule_id", r.id).build()?)
    }

    /// The default entries of the keyless `config`, `auth_key` and `ct_timeouts`
    /// tables that hold configuration `c` (to MODIFY). Timeouts are written in
    /// microseconds divided by `time_scale` (1 for real time; a test that replays
    /// faster shortens them by the same factor).
    pub fn config_entries(&self, c: &Config, time_scale: u64) -> Result<Vec<TableEntry>, MapError> {
        if !c.ct_buckets.is_power_of_two() {
            return Err(MapError::Invalid(format!(
                "ct_buckets {} is not a power of two",
                c.ct_buckets
            )));
        }
        let cfg = self
            .builder(names::CONFIG)?
            .default_entry()
            .action(names::SET_CONFIG)
            .param("uplink_port", c.uplink_port)
            .param("cpu_port", c.cpu_port)
            .param("local_mac", c.local_mac.0)
            .param("gateway_mac", c.gateway_mac.0)
            .param("local_vtep_ip", c.local_vtep_ip)
            .param("vni", c.vni)
            .param("auth", u8::from(c.auth))
            .param("tcp_wscale", c.tcp_wscale)
            .param("policy_gen", c.policy_gen)
            .param("ct_buckets_mask", c.ct_buckets - 1)
            .param("max_frame", c.max_frame)
            .build()?;
        let key = self
            .builder(names::AUTH_KEY)?
            .default_entry()
            .action(names::SET_AUTH_KEY)
            .param("key", c.auth_key.0)
            .build()?;
        let scale = time_scale.max(1);
        let mut b = self
            .builder(names::CT_TIMEOUTS)?
            .default_entry()
            .action(names::SET_CT_TIMEOUTS);
        for (name, secs) in timeout_params(&c.timeouts) {
            b = b.param(name, u64::from(secs) * 1_000_000 / scale);
        }
        Ok(vec![cfg, key, b.build()?])
    }

    /// The configuration `base` with the default entry `e` of one of the keyless
    /// configuration tables applied (timeouts in real time: whole seconds).
    pub fn apply_config_entry(&self, base: &Config, e: &TableEntry) -> Result<Config, MapError> {
        let name = self
            .table_name(e.table_id)
            .ok_or_else(|| MapError::Invalid(format!("unknown table id {}", e.table_id)))?;
        let f = Fields {
            program: self,
            entry: e,
            table: name,
        };
        let mut c = base.clone();
        match name {
            names::CONFIG => {
                c.uplink_port = narrow(f.param("uplink_port")?, "uplink_port")?;
                c.cpu_port = narrow(f.param("cpu_port")?, "cpu_port")?;
                c.local_mac = MacAddr(mac(f.param("local_mac")?));
                c.gateway_mac = MacAddr(mac(f.param("gateway_mac")?));
                c.local_vtep_ip =
                    Ipv4Addr::from(narrow::<u32>(f.param("local_vtep_ip")?, "local_vtep_ip")?);
                c.vni = narrow(f.param("vni")?, "vni")?;
                c.auth = f.param("auth")? != 0;
                c.tcp_wscale = narrow(f.param("tcp_wscale")?, "tcp_wscale")?;
                c.policy_gen = narrow(f.param("policy_gen")?, "policy_gen")?;
                c.max_frame = narrow(f.param("max_frame")?, "max_frame")?;
                if !ztnic_model::MAX_FRAME_RANGE.contains(&c.max_frame) {
                    return Err(MapError::Unsupported(format!(
                        "max_frame {} is outside {:?} bytes",
                        c.max_frame,
                        ztnic_model::MAX_FRAME_RANGE
                    )));
                }
                let mask: u32 = narrow(f.param("ct_buckets_mask")?, "ct_buckets_mask")?;
                c.ct_buckets = mask
                    .checked_add(1)
                    .filter(|b| b.is_power_of_two())
                    .ok_or_else(|| {
                        MapError::Unsupported(format!(
                            "ct_buckets_mask {mask:#x} is not a power of two minus one"
                        ))
                    })?;
            }
            names::AUTH_KEY => {
                c.auth_key = AuthKey(f.param("key")?.to_be_bytes());
            }
            names::CT_TIMEOUTS => {
                let mut secs = Vec::new();
                for (name, _) in timeout_params(&c.timeouts) {
                    let us = f.param(name)?;
                    if us % 1_000_000 != 0 {
                        return Err(MapError::Unsupported(format!(
                            "ct_timeouts.{name}: {us} µs is not a whole number of seconds"
                        )));
                    }
                    secs.push(narrow::<u32>(us / 1_000_000, name)?);
                }
                let t = &mut c.timeouts;
                let fields = [
                    &mut t.tcp_syn_sent,
                    &mut t.tcp_syn_recv,
                    &mut t.tcp_established,
                    &mut t.tcp_fin_wait,
                    &mut t.tcp_close_wait,
                    &mut t.tcp_last_ack,
                    &mut t.tcp_time_wait,
                    &mut t.tcp_close,
                    &mut t.tcp_syn_sent2,
                    &mut t.udp_unreplied,
                    &mut t.udp_replied,
                    &mut t.icmp,
                    &mut t.generic,
                ];
                for (f, s) in fields.into_iter().zip(secs) {
                    *f = s;
                }
            }
            other => {
                return Err(MapError::Invalid(format!(
                    "{other} is not a configuration table"
                )));
            }
        }
        Ok(c)
    }

    /// The `Op::Set*` that writes entry `e` (an entry of one of
    /// [`names::ENTRY_TABLES`], with its action).
    pub fn decode(&self, e: &TableEntry) -> Result<Op, MapError> {
        let name = self
            .table_name(e.table_id)
            .ok_or_else(|| MapError::Invalid(format!("unknown table id {}", e.table_id)))?;
        let f = Fields {
            program: self,
            entry: e,
            table: name,
        };
        let (action, _) = f.action()?;
        let want = |a: &[&str]| -> Result<(), MapError> {
            if a.contains(&action) {
                Ok(())
            } else {
                Err(MapError::Invalid(format!(
                    "{name}: unexpected action {action}"
                )))
            }
        };
        Ok(match name {
            names::PORT_CLASS => {
                want(&[names::SET_CLASS])?;
                let code = f.param("class")?;
                Op::SetPortClass {
                    port: narrow(f.exact("port")?, "port")?,
                    class: class_of(code)
                        .ok_or_else(|| MapError::Unsupported(format!("port class code {code}")))?,
                }
            }
            names::VPORT_CTX => {
                want(&[names::SET_SRC])?;
                Op::SetVportCtx(VportCtx {
                    port: narrow(f.exact("vport")?, "vport")?,
                    ip: from_u128(f.exact("src")?),
                    ctx: narrow(f.param("ctx")?, "ctx")?,
                    zone: narrow(f.param("zone")?, "zone")?,
                })
            }
            names::LOCAL_EP => {
                want(&[names::DELIVER])?;
                Op::SetLocalEp(LocalEp {
                    ip: from_u128(f.exact("dst")?),
                    vport: narrow(f.param("vport")?, "vport")?,
                    ctx: narrow(f.param("ctx")?, "ctx")?,
                    zone: narrow(f.param("zone")?, "zone")?,
                })
            }
            names::REMOTE_EP => {
                let (addr, len) = match f.field("dst")? {
                    Some(FieldMatchType::Lpm(l)) => (
                        value(&l.value, name, "dst")?,
                        narrow::<u8>(l.prefix_len as u128, "prefix_len")?,
                    ),
                    // a /0 LPM is written without the field
                    None => (0, 0),
                    Some(other) => {
                        return Err(MapError::Invalid(format!(
                            "remote_ep.dst: expected an LPM match, got {other:?}"
                        )));
                    }
                };
                let action = match action {
                    names::GENEVE => RemoteAction::Geneve {
                        vtep: Ipv4Addr::from(narrow::<u32>(f.param("vtep")?, "vtep")?),
                        ctx: narrow(f.param("ctx")?, "ctx")?,
                    },
                    names::VXLAN_GBP => RemoteAction::VxlanGbp {
                        vtep: Ipv4Addr::from(narrow::<u32>(f.param("vtep")?, "vtep")?),
                        ctx: narrow(f.param("ctx")?, "ctx")?,
                    },
                    names::WORLD => RemoteAction::World,
                    other => {
                        return Err(MapError::Invalid(format!(
                            "remote_ep: unexpected action {other}"
                        )));
                    }
                };
                Op::SetRemoteEp(RemoteEp {
                    prefix: Prefix::from_u128(addr, len),
                    action,
                })
            }
            names::CTX_EPOCH => {
                want(&[names::SET_EPOCH])?;
                Op::SetCtxEpoch(CtxEpoch {
                    ctx: narrow(f.exact("ctx")?, "ctx")?,
                    epoch: narrow(f.param("epoch")?, "epoch")?,
                })
            }
            names::POLICY => Op::SetRule(self.decode_rule(&f, action)?),
            names::CT_OVERFLOW => {
                want(&[names::TRACK])?;
                let orig_lo = f.param("orig_lo")? != 0;
                let (lo, hi) = (f.exact("addr_lo")?, f.exact("addr_hi")?);
                let (plo, phi) = (
                    narrow::<u16>(f.exact("port_lo")?, "port_lo")?,
                    narrow::<u16>(f.exact("port_hi")?, "port_hi")?,
                );
                let ((src, sport), (dst, dport)) = if orig_lo {
                    ((lo, plo), (hi, phi))
                } else {
                    ((hi, phi), (lo, plo))
                };
                let ms = u64::try_from(e.idle_timeout_ns / 1_000_000).unwrap_or(0);
                let flow = OverflowFlow {
                    zone: narrow(f.exact("zone")?, "zone")?,
                    proto: narrow(f.exact("proto")?, "proto")?,
                    src: from_u128(src),
                    dst: from_u128(dst),
                    sport,
                    dport,
                    idle_timeout_ms: ms,
                };
                if flow.key().0.lo_addr != lo || flow.key().1 != orig_lo {
                    return Err(MapError::Invalid(
                        "ct_overflow: addr_lo/port_lo must be the lower endpoint".into(),
                    ));
                }
                Op::SetCtOverflow(flow)
            }
            other => {
                return Err(MapError::Invalid(format!(
                    "{other} holds no control-plane entries"
                )));
            }
        })
    }

    fn decode_rule(&self, f: &Fields<'_>, action: &str) -> Result<Rule, MapError> {
        let action = match action {
            names::ALLOW => Action::Allow,
            names::DENY => Action::Deny,
            other => {
                return Err(MapError::Invalid(format!(
                    "policy: unexpected action {other}"
                )));
            }
        };
        let deny = i32::from(action == Action::Deny);
        let p = f.entry.priority - deny;
        if p < 0 || p % 2 != 0 || p / 2 > i32::from(u16::MAX) {
            return Err(MapError::Unsupported(format!(
                "policy: priority {} of a{} rule is not 2·p{}",
                f.entry.priority,
                if deny == 1 { " deny" } else { "n allow" },
                if deny == 1 { " + 1" } else { "" }
            )));
        }
        let ports = match f.field("port")? {
            None => PortRange::ANY,
            Some(FieldMatchType::Range(r)) => PortRange {
                lo: narrow(value(&r.low, "policy", "port")?, "port")?,
                hi: narrow(value(&r.high, "policy", "port")?, "port")?,
            },
            Some(other) => {
                return Err(MapError::Invalid(format!(
                    "policy.port: expected a range, got {other:?}"
                )));
            }
        };
        Ok(Rule {
            id: narrow(f.param("rule_id")?, "rule_id")?,
            priority: (p / 2) as u16,
            src: f
                .exact_or_any("src_ctx", 24)?
                .map(|v| narrow(v, "src_ctx"))
                .transpose()?,
            dst: f
                .exact_or_any("dst_ctx", 24)?
                .map(|v| narrow(v, "dst_ctx"))
                .transpose()?,
            proto: ProtoMatch(
                f.exact_or_any("proto", 8)?
                    .map(|v| narrow(v, "proto"))
                    .transpose()?,
            ),
            ports,
            action,
        })
    }

    /// The rule id of a policy entry (its `rule_id` parameter).
    pub fn rule_id(&self, e: &TableEntry) -> Result<u32, MapError> {
        let f = Fields {
            program: self,
            entry: e,
            table: names::POLICY,
        };
        narrow(f.param("rule_id")?, "rule_id")
    }

    /// The match kind of a table's field (for checks in tests and tools).
    pub fn match_kind(&self, table: &str, field: &str) -> Result<MatchKind, MapError> {
        Ok(self
            .table(table)?
            .field_by_name(field)
            .map_err(|e| MapError::Program(e.to_string()))?
            .kind
            .clone())
    }
}

/// The `Op::Delete*` that removes what `op` (an `Op::Set*`) wrote; `None` for
/// `SetConfig` and the deletes themselves.
pub fn delete_of(op: &Op) -> Option<Op> {
    Some(match op {
        Op::SetPortClass { port, .. } => Op::DeletePortClass { port: *port },
        Op::SetVportCtx(v) => Op::DeleteVportCtx {
            port: v.port,
            ip: v.ip,
        },
        Op::SetLocalEp(l) => Op::DeleteLocalEp { ip: l.ip },
        Op::SetRemoteEp(r) => Op::DeleteRemoteEp { prefix: r.prefix },
        Op::SetCtxEpoch(c) => Op::DeleteCtxEpoch { ctx: c.ctx },
        Op::SetRule(r) => Op::DeleteRule { id: r.id },
        Op::SetCtOverflow(f) => Op::DeleteCtOverflow(*f),
        _ => return None,
    })
}

fn timeout_params(t: &Timeouts) -> [(&'static str, u32); 13] {
    [
        ("syn_sent", t.tcp_syn_sent),
        ("syn_recv", t.tcp_syn_recv),
        ("established", t.tcp_established),
        ("fin_wait", t.tcp_fin_wait),
        ("close_wait", t.tcp_close_wait),
        ("last_ack", t.tcp_last_ack),
        ("time_wait", t.tcp_time_wait),
        ("close", t.tcp_close),
        ("syn_sent2", t.tcp_syn_sent2),
        ("udp", t.udp_unreplied),
        ("udp_replied", t.udp_replied),
        ("icmp", t.icmp),
        ("other", t.generic),
    ]
}

fn mac(v: u128) -> [u8; 6] {
    let b = v.to_be_bytes();
    let mut m = [0u8; 6];
    m.copy_from_slice(&b[10..16]);
    m
}

#[cfg(test)]
mod tests;
