//! Values for match fields, action parameters and packet metadata, before
//! they are checked against a bit width and encoded canonically.

use std::net::{Ipv4Addr, Ipv6Addr};

/// An unsigned big-endian value of any length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value(pub Vec<u8>);

macro_rules! from_uint {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Self {
                Value(v.to_be_bytes().to_vec())
            }
        }
    )*};
}
from_uint!(u8, u16, u32, u64, u128);

impl From<&[u8]> for Value {
    fn from(v: &[u8]) -> Self {
        Value(v.to_vec())
    }
}

impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value(v)
    }
}

impl<const N: usize> From<[u8; N]> for Value {
    fn from(v: [u8; N]) -> Self {
        Value(v.to_vec())
    }
}

impl From<Ipv4Addr> for Value {
    fn from(v: Ipv4Addr) -> Self {
        Value(v.octets().to_vec())
    }
}

impl From<Ipv6Addr> for Value {
    fn from(v: Ipv6Addr) -> Self {
        Value(v.octets().to_vec())
    }
}
