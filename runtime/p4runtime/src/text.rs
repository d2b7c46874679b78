//! P4Info text format (`.p4info.txtpb`, as written by `p4c --p4runtime-files`)
//! read by reflection over the descriptors of the in-tree `.proto` files, so
//! every ztnic crate and test reads P4Info files the same way.

use std::path::Path;
use std::sync::OnceLock;

use prost_reflect::{DescriptorPool, DynamicMessage};

use crate::config::P4Info;

static DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/p4runtime_descriptor.bin"));

/// Why a P4Info file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TextFormatError {
    /// The embedded descriptors did not load (a build problem).
    #[error("protobuf descriptors: {0}")]
    Descriptors(String),
    /// The text is not a valid `p4.config.v1.P4Info` in text format.
    #[error("P4Info text format: {0}")]
    Parse(String),
    /// The binary is not a valid `p4.config.v1.P4Info`.
    #[error("P4Info binary: {0}")]
    Decode(#[from] prost::DecodeError),
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// The descriptor pool of all P4Runtime messages (built once).
pub fn descriptor_pool() -> Result<&'static DescriptorPool, TextFormatError> {
    static POOL: OnceLock<Result<DescriptorPool, String>> = OnceLock::new();
    POOL.get_or_init(|| DescriptorPool::decode(DESCRIPTOR_SET).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| TextFormatError::Descriptors(e.clone()))
}

fn p4info_descriptor() -> Result<prost_reflect::MessageDescriptor, TextFormatError> {
    descriptor_pool()?
        .get_message_by_name("p4.config.v1.P4Info")
        .ok_or_else(|| TextFormatError::Descriptors("p4.config.v1.P4Info missing".into()))
}

/// Parses a P4Info in protobuf text format.
pub fn parse_p4info(text: &str) -> Result<P4Info, TextFormatError> {
    let msg = DynamicMessage::parse_text_format(p4info_descriptor()?, text)
        .map_err(|e| TextFormatError::Parse(e.to_string()))?;
    msg.transcode_to::<P4Info>()
        .map_err(TextFormatError::Decode)
}

/// Writes a P4Info in protobuf text format.
pub fn p4info_to_text(p4info: &P4Info) -> Result<String, TextFormatError> {
    let mut msg = DynamicMessage::new(p4info_descriptor()?);
    msg.transcode_from(p4info)
        .map_err(|e| TextFormatError::Parse(e.to_string()))?;
    Ok(msg.to_text_format())
}

/// Reads a P4Info file: text format unless the name ends in `.pb` or `.bin`
/// (binary protobuf).
pub fn load_p4info(path: impl AsRef<Path>) -> Result<P4Info, TextFormatError> {
    let path = path.as_ref();
    let io = |source| TextFormatError::Io {
        path: path.display().to_string(),
        source,
    };
    let binary = matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("pb" | "bin")
    );
    if binary {
        let bytes = std::fs::read(path).map_err(io)?;
        Ok(prost::Message::decode(bytes.as_slice())?)
    } else {
        parse_p4info(&std::fs::read_to_string(path).map_err(io)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
pkg_info { arch: "v1model" }
tables {
  preamble { id: 33554433 name: "ingress.fwd" alias: "fwd" }
  match_fields { id: 1 name: "standard_metadata.ingress_port" bitwidth: 9 match_type: EXACT }
  action_refs { id: 16777217 }
  size: 1024
}
actions {
  preamble { id: 16777217 name: "ingress.set_port" alias: "set_port" }
  params { id: 1 name: "port" bitwidth: 9 }
}
"#;

    #[test]
    fn text_format_p4info_parses_into_typed_messages_and_back() {
        let p4info = parse_p4info(SAMPLE).unwrap();
        assert_eq!(p4info.tables.len(), 1);
        let t = &p4info.tables[0];
        assert_eq!(t.preamble.as_ref().unwrap().name, "ingress.fwd");
        assert_eq!(t.match_fields[0].bitwidth, 9);
        assert_eq!(p4info.actions[0].params[0].name, "port");
        let again = parse_p4info(&p4info_to_text(&p4info).unwrap()).unwrap();
        assert_eq!(again, p4info);
    }

    #[test]
    fn malformed_text_is_a_parse_error() {
        assert!(matches!(
            parse_p4info("tables { nope: 1 }"),
            Err(TextFormatError::Parse(_))
        ));
    }
}
