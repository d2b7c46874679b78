//! A P4Runtime server core, generic over the device that stores the tables.
//!
//! [`P4RuntimeService`] implements the `p4.v1.P4Runtime` gRPC service: client
//! arbitration and roles, pipeline configuration, validation of every write
//! against the P4Info, batches applied per their atomicity mode with one
//! `p4.v1.Error` per update, wildcard reads, counters and meters, digest
//! buffering with acknowledgements, idle-timeout notifications and packet I/O.
//! A device plugs in by implementing [`Backend`]: plain synchronous calls that
//! receive entries already validated and canonical. [`InMemoryBackend`] is the
//! reference implementation of those semantics. [`ServerSecurity`] says how a
//! listener is secured: TLS or mutual TLS ([`ServerTls`]), or plaintext on
//! loopback only unless explicitly allowed.

mod arbitration;
pub mod backend;
mod device;
mod digest;
pub mod memory;
mod service;
mod tls;

pub use backend::{Backend, BackendError, DeviceEvent, EventSink, Pipeline};
pub use memory::InMemoryBackend;
pub use service::{P4RuntimeService, ServeError, ServerConfig};
pub use tls::{InsecureListen, ServerSecurity, ServerTls};
pub use ztnic_p4runtime::entry_key;
