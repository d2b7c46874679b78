//! The controller headers (`p4/headers.p4`): `packet_in {ingress_port:16, reason:8,
//! pad:8}` in front of a punted frame, `packet_out {port:16, mode:8, pad:8}` in front
//! of an injected one. On a device's CPU port they are the first 4 bytes of the
//! frame; over P4Runtime they are PacketIn / PacketOut metadata.

use ztnic_p4runtime_client::protocol::bytestring;
use ztnic_p4runtime_client::protocol::v1::{PacketIn, PacketMetadata, PacketOut};

use crate::{MapError, Program};

/// Bytes of either controller header on the CPU port.
pub const HEADER_BYTES: usize = 4;

/// `packet_in`: why and where a frame was punted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacketInMeta {
    pub ingress_port: u16,
    /// A `PuntReason` code.
    pub reason: u8,
}

/// `packet_out`: where an injected frame goes. Mode 0 sends it out of `port` as
/// is; mode 1 runs it through the pipeline as if it had arrived on `port`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacketOutMeta {
    pub port: u16,
    pub mode: u8,
}

impl PacketInMeta {
    /// The header as it leads a frame on the CPU port.
    pub fn header(&self) -> [u8; HEADER_BYTES] {
        let p = self.ingress_port.to_be_bytes();
        [p[0], p[1], self.reason, 0]
    }

    /// Splits a CPU-port frame into its header and payload.
    pub fn split(frame: &[u8]) -> Result<(PacketInMeta, &[u8]), MapError> {
        if frame.len() < HEADER_BYTES {
            return Err(MapError::Invalid(format!(
                "a {}-byte frame has no packet_in header",
                frame.len()
            )));
        }
        Ok((
            PacketInMeta {
                ingress_port: u16::from_be_bytes([frame[0], frame[1]]),
                reason: frame[2],
            },
            &frame[HEADER_BYTES..],
        ))
    }
}

impl PacketOutMeta {
    /// The header as it leads a frame sent into the CPU port.
    pub fn header(&self) -> [u8; HEADER_BYTES] {
        let p = self.port.to_be_bytes();
        [p[0], p[1], self.mode, 0]
    }
}

fn metadata(
    program: &Program,
    header: &str,
    values: &[(&str, u128)],
) -> Result<Vec<PacketMetadata>, MapError> {
    let info = program
        .index()
        .controller_header_by_name(header)
        .map_err(|e| MapError::Program(e.to_string()))?;
    values
        .iter()
        .map(|(name, v)| {
            let f = info
                .field_by_name(name)
                .map_err(|e| MapError::Program(e.to_string()))?;
            Ok(PacketMetadata {
                metadata_id: f.id,
                value: bytestring::encode(*v, f.bitwidth)
                    .map_err(|e| MapError::Invalid(format!("{header}.{name}: {e}")))?,
            })
        })
        .collect()
}

fn lookup(
    program: &Program,
    header: &str,
    md: &[PacketMetadata],
    name: &str,
) -> Result<u128, MapError> {
    let info = program
        .index()
        .controller_header_by_name(header)
        .map_err(|e| MapError::Program(e.to_string()))?;
    let f = info
        .field_by_name(name)
        .map_err(|e| MapError::Program(e.to_string()))?;
    let m = md
        .iter()
        .find(|m| m.metadata_id == f.id)
        .ok_or_else(|| MapError::Invalid(format!("{header}: metadata '{name}' missing")))?;
    bytestring::decode(&m.value)
        .ok_or_else(|| MapError::Invalid(format!("{header}.{name}: not a number")))
}

impl Program {
    /// A PacketIn carrying `payload` with metadata `m`.
    pub fn packet_in(&self, m: PacketInMeta, payload: Vec<u8>) -> Result<PacketIn, MapError> {
        Ok(PacketIn {
            payload,
            metadata: metadata(
                self,
                "packet_in",
                &[
                    ("ingress_port", m.ingress_port.into()),
                    ("reason", m.reason.into()),
                    ("pad", 0),
                ],
            )?,
        })
    }

    /// The metadata of a PacketIn.
    pub fn packet_in_meta(&self, p: &PacketIn) -> Result<PacketInMeta, MapError> {
        Ok(PacketInMeta {
            ingress_port: lookup(self, "packet_in", &p.metadata, "ingress_port")? as u16,
            reason: lookup(self, "packet_in", &p.metadata, "reason")? as u8,
        })
    }

    /// A PacketOut carrying `payload` with metadata `m`.
    pub fn packet_out(&self, m: PacketOutMeta, payload: Vec<u8>) -> Result<PacketOut, MapError> {
        Ok(PacketOut {
            payload,
            metadata: metadata(
                self,
                "packet_out",
                &[("port", m.port.into()), ("mode", m.mode.into()), ("pad", 0)],
            )?,
        })
    }

    /// The metadata of a PacketOut.
    pub fn packet_out_meta(&self, p: &PacketOut) -> Result<PacketOutMeta, MapError> {
        Ok(PacketOutMeta {
            port: lookup(self, "packet_out", &p.metadata, "port")? as u16,
            mode: lookup(self, "packet_out", &p.metadata, "mode")? as u8,
        })
    }
}
