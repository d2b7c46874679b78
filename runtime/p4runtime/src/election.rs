//! Election ids: 128-bit numbers that rank controllers competing for the
//! primary role of a (device, role) pair (spec §5).

use crate::v1::Uint128;

/// A controller's election id. Higher wins; an unset id (`None` where an
/// `Option<ElectionId>` is used) ranks below every set id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ElectionId(pub u128);

impl ElectionId {
    /// The wire form.
    pub fn to_proto(self) -> Uint128 {
        Uint128 {
            high: (self.0 >> 64) as u64,
            low: self.0 as u64,
        }
    }

    /// Reads the wire form.
    pub fn from_proto(id: &Uint128) -> Self {
        ElectionId((u128::from(id.high) << 64) | u128::from(id.low))
    }
}

impl From<u128> for ElectionId {
    fn from(v: u128) -> Self {
        ElectionId(v)
    }
}

impl std::fmt::Display for ElectionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn election_id_round_trips_through_uint128() {
        for v in [0u128, 1, u64::MAX as u128, (1u128 << 64) | 7, u128::MAX] {
            assert_eq!(
                ElectionId::from_proto(&ElectionId(v).to_proto()),
                ElectionId(v)
            );
        }
        assert_eq!(
            ElectionId(1u128 << 64).to_proto(),
            Uint128 { high: 1, low: 0 }
        );
    }
}
