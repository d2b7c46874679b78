//! Errors on the wire. A failed Write batch answers with gRPC status
//! `UNKNOWN` whose `grpc-status-details-bin` trailer holds a
//! `google.rpc.Status` with one `p4.v1.Error` per update, in update order,
//! `OK` for the updates that succeeded (spec §12.3).

use prost::Message;
use tonic::Code;

use crate::rpc;
use crate::v1;
use crate::validate::ValidationError;

/// Type URL of a packed `p4.v1.Error`.
pub const P4_ERROR_TYPE_URL: &str = "type.googleapis.com/p4.v1.Error";

/// The outcome of one update, for the batch error details.
pub fn p4_error(code: Code, message: impl Into<String>) -> v1::Error {
    if code == Code::Ok {
        return v1::Error::default();
    }
    v1::Error {
        canonical_code: code as i32,
        message: message.into(),
        ..Default::default()
    }
}

impl From<&ValidationError> for v1::Error {
    fn from(e: &ValidationError) -> Self {
        p4_error(e.code, e.message.clone())
    }
}

/// Builds the `UNKNOWN` status carrying one `p4.v1.Error` per update.
pub fn batch_status(errors: &[v1::Error]) -> tonic::Status {
    let failed = errors
        .iter()
        .filter(|e| e.canonical_code != Code::Ok as i32)
        .count();
    let message = format!("{failed} of {} updates failed", errors.len());
    let status = rpc::Status {
        code: Code::Unknown as i32,
        message: message.clone(),
        details: errors
            .iter()
            .map(|e| prost_types::Any {
                type_url: P4_ERROR_TYPE_URL.to_string(),
                value: e.encode_to_vec(),
            })
            .collect(),
    };
    tonic::Status::with_details(Code::Unknown, message, status.encode_to_vec().into())
}

/// Decodes the `google.rpc.Status` in a gRPC status's details, if any.
pub fn rich_status(status: &tonic::Status) -> Option<rpc::Status> {
    if status.details().is_empty() {
        return None;
    }
    rpc::Status::decode(status.details()).ok()
}

/// The per-update `p4.v1.Error`s of a failed Write, in update order; `None`
/// when the status carries no such details (an RPC-wide error).
pub fn batch_errors(status: &tonic::Status) -> Option<Vec<v1::Error>> {
    let rich = rich_status(status)?;
    let errors: Option<Vec<v1::Error>> = rich
        .details
        .iter()
        .map(|any| {
            if any.type_url.rsplit('/').next() == Some("p4.v1.Error") {
                v1::Error::decode(any.value.as_slice()).ok()
            } else {
                None
            }
        })
        .collect();
    errors.filter(|e| !e.is_empty())
}

/// A `google.rpc.Status` with just a code and message (arbitration replies).
pub fn rpc_status(code: Code, message: impl Into<String>) -> rpc::Status {
    rpc::Status {
        code: code as i32,
        message: message.into(),
        details: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_errors_round_trip_through_grpc_status_details() {
        let errors = vec![
            p4_error(Code::Ok, ""),
            p4_error(Code::AlreadyExists, "entry exists"),
            p4_error(Code::InvalidArgument, "bad mask"),
        ];
        let status = batch_status(&errors);
        assert_eq!(status.code(), Code::Unknown);
        let back = batch_errors(&status).unwrap();
        assert_eq!(back, errors);
        assert_eq!(back[1].canonical_code, Code::AlreadyExists as i32);
    }

    #[test]
    fn statuses_without_details_have_no_batch_errors() {
        assert!(batch_errors(&tonic::Status::permission_denied("not primary")).is_none());
    }
}
