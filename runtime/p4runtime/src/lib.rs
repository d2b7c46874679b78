//! P4Runtime v1 for ztnic: the protocol (generated at build time from the
//! in-tree `.proto` files, wire-compatible with P4Runtime v1.x) and the pieces
//! both the client and the server need so that they agree on every rule:
//!
//! - [`p4info`]: an index over a P4Info for id and name resolution;
//! - [`bytestring`]: canonical byte strings and bit-width checks (spec §8.4);
//! - [`validate`]: checking and canonicalising table entries, actions, packet
//!   metadata and the other entities against a P4Info;
//! - [`status`]: per-update errors in `google.rpc.Status` details;
//! - [`text`]: reading P4Info text format (`.p4info.txtpb`);
//! - [`transport`]: the PEM files and the loopback rule of a secured
//!   connection (TLS on both ends, plaintext only on loopback).
//!
//! The generated modules follow the protobuf packages: [`v1`] is `p4.v1`,
//! [`config`] is `p4.config.v1` and [`rpc`] is `google.rpc`.

pub mod bytestring;
pub mod election;
pub mod p4info;
pub mod status;
pub mod text;
pub mod transport;
pub mod validate;

/// Generated code, one module per protobuf package.
pub mod proto {
    /// `google.*` packages.
    pub mod google {
        /// `google.rpc`: status codes and the rich error model.
        #[allow(missing_docs, clippy::all)]
        pub mod rpc {
            tonic::include_proto!("google.rpc");
        }
    }
    /// `p4.*` packages.
    pub mod p4 {
        /// `p4.v1`: the P4Runtime service and its messages.
        #[allow(missing_docs, clippy::all)]
        pub mod v1 {
            tonic::include_proto!("p4.v1");
        }
        /// `p4.config.*` packages.
        pub mod config {
            /// `p4.config.v1`: P4Info and P4 type descriptions.
            #[allow(missing_docs, clippy::all)]
            pub mod v1 {
                tonic::include_proto!("p4.config.v1");
            }
        }
    }
}

pub use election::ElectionId;
pub use p4info::{P4InfoError, P4InfoIndex};
pub use proto::google::rpc;
pub use proto::p4::config::v1 as config;
pub use proto::p4::v1;
pub use validate::ValidationError;

/// The P4Runtime API version these protocol definitions implement, as
/// reported by `Capabilities`.
pub const P4RUNTIME_API_VERSION: &str = "1.5.0";

/// The identity of a table entry: its table id, canonical match and priority
/// (or the default flag) encoded as bytes. Equal for entries with the same key
/// once they are canonical (the server core canonicalises every entry it hands
/// a backend; entries built with canonical byte strings already are).
pub fn entry_key(entry: &v1::TableEntry) -> Vec<u8> {
    let mut key = v1::TableEntry {
        table_id: entry.table_id,
        r#match: entry.r#match.clone(),
        priority: entry.priority,
        is_default_action: entry.is_default_action,
        ..Default::default()
    };
    key.r#match.sort_by_key(|m| m.field_id);
    prost::Message::encode_to_vec(&key)
}
