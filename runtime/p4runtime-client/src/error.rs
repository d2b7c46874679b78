//! Client errors.

use ztnic_p4runtime::bytestring::BytestringError;
use ztnic_p4runtime::{P4InfoError, ValidationError};

/// The outcome of one failed update of a Write batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateError {
    /// Position of the update in the list passed to the write call.
    pub index: usize,
    /// Canonical code (e.g. `AlreadyExists`, `NotFound`, `InvalidArgument`).
    pub code: tonic::Code,
    /// The server's explanation.
    pub message: String,
}

/// Why a client call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The endpoint URI is malformed.
    #[error("invalid endpoint '{0}'")]
    Endpoint(String),
    /// The connection could not be made (a TLS handshake that failed
    /// included: the cause is in the message).
    #[error("connecting: {}", ztnic_p4runtime::transport::error_chain(.0))]
    Transport(tonic::transport::Error),
    /// Plaintext to a host that is not loopback, without `insecure`.
    #[error(
        "refusing plaintext P4Runtime to {host}, which is not a loopback address: connect over \
         TLS (--tls-ca FILE, an https:// address) or allow plaintext explicitly (--insecure)"
    )]
    Plaintext {
        /// The endpoint's host.
        host: String,
    },
    /// The TLS settings cannot be used.
    #[error("TLS: {0}")]
    Tls(String),
    /// A certificate or key file cannot be used (its contents are never
    /// shown).
    #[error(transparent)]
    PemFile(#[from] ztnic_p4runtime::transport::PemFileError),
    /// The server rejected the whole RPC (no per-update details).
    #[error("rpc failed: {}: {}", .0.code(), .0.message())]
    Rpc(#[from] tonic::Status),
    /// Some updates of a Write failed; the others (code OK) were applied
    /// unless the batch was atomic.
    #[error("{} update(s) failed: {}", .errors.len(), summary(.errors))]
    Write {
        /// The failed updates, by position.
        errors: Vec<UpdateError>,
    },
    /// Arbitration was refused, or the stream could not be established.
    #[error("arbitration failed: {0}")]
    Arbitration(String),
    /// No arbitration answer within the configured timeout.
    #[error("no arbitration answer within {0:?}")]
    ArbitrationTimeout(std::time::Duration),
    /// The session is gone and reconnect attempts are exhausted.
    #[error("stream channel closed")]
    Disconnected,
    /// Name resolution needs a P4Info; set a pipeline or load one first.
    #[error("no P4Info: call set_pipeline, use_p4info or fetch_p4info first")]
    NoP4Info,
    /// A name or id is not in the P4Info.
    #[error(transparent)]
    P4Info(#[from] P4InfoError),
    /// An entity fails the P4Info checks.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// A value does not fit its field.
    #[error("{what}: {source}")]
    Value {
        /// The field.
        what: String,
        /// The problem.
        source: BytestringError,
    },
    /// The server answered something unexpected.
    #[error("unexpected answer: {0}")]
    Protocol(String),
}

/// Not `#[from]`: the message already holds the error's sources, which a
/// report printing the source chain would repeat.
impl From<tonic::transport::Error> for ClientError {
    fn from(e: tonic::transport::Error) -> Self {
        ClientError::Transport(e)
    }
}

fn summary(errors: &[UpdateError]) -> String {
    errors
        .iter()
        .take(5)
        .map(|e| format!("#{} {:?} {}", e.index, e.code, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

impl ClientError {
    /// The canonical code of an RPC-wide failure, or of the first failed
    /// update of a Write.
    pub fn code(&self) -> Option<tonic::Code> {
        match self {
            ClientError::Rpc(s) => Some(s.code()),
            ClientError::Write { errors } => errors.first().map(|e| e.code),
            ClientError::Invalid(v) => Some(v.code),
            _ => None,
        }
    }
}
