//! An async P4Runtime client (tokio + tonic) for bmv2 `simple_switch_grpc`,
//! ztnic's FPGA agent or any P4Runtime v1 target.
//!
//! [`P4RuntimeClient::connect`] opens the StreamChannel, arbitrates with the
//! configured election id and role, and keeps the session alive: if the
//! server goes away the client reconnects and re-arbitrates. Entries are built
//! by name with [`TableEntryBuilder`], which resolves names through the P4Info
//! and encodes values as canonical byte strings with bit-width checks. Writes
//! report per-update errors decoded from the `google.rpc.Status` details.
//!
//! The connection is TLS (mutual TLS with a client certificate) when the
//! config has a [`ClientTls`] or the endpoint is `https://`; plaintext only to
//! a loopback address unless `insecure` is set ([`check_plaintext`]).

mod builder;
mod client;
mod error;
mod tls;
mod value;

pub use builder::TableEntryBuilder;
pub use client::{
    Arbitration, ClientConfig, P4RuntimeClient, ReconnectPolicy, StreamEvent, update,
};
pub use error::{ClientError, UpdateError};
pub use tls::{ClientTls, check_plaintext, endpoint_host};
pub use value::Value;
pub use ztnic_p4runtime as protocol;
pub use ztnic_p4runtime::v1::write_request::Atomicity;
