//! The ztnic program's digests (`p4/headers.p4`): `ctx_miss`, sent when a packet
//! names a context the device does not know or carries a stale epoch, and
//! `ct_event`, sent when the data plane inserts, deletes or evicts a conntrack entry.
//! Both travel as a P4Runtime `P4Data` struct of bit strings, members in
//! declaration order.

use ztnic_model::CtKey;
use ztnic_p4runtime_client::protocol::bytestring;
use ztnic_p4runtime_client::protocol::v1::{P4Data, P4StructLike, p4_data::Data};

use crate::MapError;

/// `ctx_miss {ctx:24, epoch:8, reason:8, port:16}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CtxMiss {
    /// The context the packet named.
    pub ctx: u32,
    /// The epoch on the wire (Geneve), 0 when the packet carried none.
    pub epoch: u8,
    /// `PuntReason::CtxUnknown` or `PuntReason::CtxStaleEpoch`, as its code.
    pub reason: u8,
    /// The logical ingress port.
    pub port: u16,
}

/// What a `ct_event` reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CtEventKind {
    /// The data plane inserted an entry.
    Insert = 1,
    /// A policy re-check (or a reopening SYN) deleted an entry.
    Delete = 2,
    /// A new entry replaced a live non-assured one.
    Evict = 3,
}

/// `ct_event {event:8, zone:16, proto:8, addr_lo:128, addr_hi:128, port_lo:16,
/// port_hi:16, slot:32}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CtEvent {
    pub kind: CtEventKind,
    pub key: CtKey,
    /// The conntrack slot (way · buckets + bucket).
    pub slot: u32,
}

fn bits(values: &[(u128, u32)]) -> P4Data {
    P4Data {
        data: Some(Data::Struct(P4StructLike {
            members: values
                .iter()
                .map(|&(v, w)| P4Data {
                    data: Some(Data::Bitstring(
                        bytestring::encode(v & mask(w), w).unwrap_or_default(),
                    )),
                })
                .collect(),
        })),
    }
}

fn mask(w: u32) -> u128 {
    if w >= 128 {
        u128::MAX
    } else {
        (1u128 << w) - 1
    }
}

fn members<const N: usize>(
    d: &P4Data,
    what: &str,
    widths: [u32; N],
) -> Result<[u128; N], MapError> {
    let Some(Data::Struct(s)) = &d.data else {
        return Err(MapError::Invalid(format!("{what}: not a struct")));
    };
    if s.members.len() != N {
        return Err(MapError::Invalid(format!(
            "{what}: {} members, expected {N}",
            s.members.len()
        )));
    }
    let mut out = [0u128; N];
    for (i, (m, w)) in s.members.iter().zip(widths).enumerate() {
        let Some(Data::Bitstring(b)) = &m.data else {
            return Err(MapError::Invalid(format!(
                "{what}: member {i} is not a bit string"
            )));
        };
        let v = bytestring::check(b, w)
            .ok()
            .and_then(|c| bytestring::decode(&c).or(Some(0)))
            .ok_or_else(|| MapError::Invalid(format!("{what}: member {i} wider than {w} bits")))?;
        out[i] = v;
    }
    Ok(out)
}

impl CtxMiss {
    /// As the digest's data.
    pub fn to_data(&self) -> P4Data {
        bits(&[
            (self.ctx.into(), 24),
            (self.epoch.into(), 8),
            (self.reason.into(), 8),
            (self.port.into(), 16),
        ])
    }

    /// From the digest's data.
    pub fn from_data(d: &P4Data) -> Result<CtxMiss, MapError> {
        let [ctx, epoch, reason, port] = members(d, "ctx_miss", [24, 8, 8, 16])?;
        Ok(CtxMiss {
            ctx: ctx as u32,
            epoch: epoch as u8,
            reason: reason as u8,
            port: port as u16,
        })
    }
}

impl CtEvent {
    /// As the digest's data.
    pub fn to_data(&self) -> P4Data {
        let k = &self.key;
        bits(&[
            (self.kind as u128, 8),
            (k.zone.into(), 16),
            (k.proto.into(), 8),
            (k.lo_addr, 128),
            (k.hi_addr, 128),
            (k.lo_port.into(), 16),
            (k.hi_port.into(), 16),
            (self.slot.into(), 32),
        ])
    }

    /// From the digest's data.
    pub fn from_data(d: &P4Data) -> Result<CtEvent, MapError> {
        let [kind, zone, proto, lo, hi, plo, phi, slot] =
            members(d, "ct_event", [8, 16, 8, 128, 128, 16, 16, 32])?;
        let kind = match kind {
            1 => CtEventKind::Insert,
            2 => CtEventKind::Delete,
            3 => CtEventKind::Evict,
            k => return Err(MapError::Invalid(format!("ct_event: unknown event {k}"))),
        };
        Ok(CtEvent {
            kind,
            key: CtKey {
                zone: zone as u16,
                proto: proto as u8,
                lo_addr: lo,
                hi_addr: hi,
                lo_port: plo as u16,
                hi_port: phi as u16,
            },
            slot: slot as u32,
        })
    }
}
