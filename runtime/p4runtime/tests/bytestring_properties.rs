//! Properties of byte-string handling over random inputs: canonical form
//! preserves the numeric value, width checks agree with integer arithmetic,
//! and mask/prefix/range helpers agree with u128 operations.

use proptest::prelude::*;
use ztnic_p4runtime::bytestring::{
    canonicalize, check, compare, decode, is_canonical, low_bits_zero, max_value, prefix_mask,
    within_mask,
};

fn value_of(bytes: &[u8]) -> u128 {
    bytes
        .iter()
        .fold(0u128, |acc, b| (acc << 8) | u128::from(*b))
}

fn padded() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::collection::vec(0u8..=0, 0..4),
        prop::collection::vec(any::<u8>(), 1..=12),
    )
        .prop_map(|(mut zeros, v)| {
            zeros.extend(v);
            zeros
        })
}

proptest! {
    #[test]
    fn canonical_form_keeps_the_value_and_is_shortest(bytes in padded()) {
        let c = canonicalize(&bytes);
        prop_assert!(is_canonical(&c));
        prop_assert_eq!(value_of(&c), value_of(&bytes));
        prop_assert_eq!(decode(&bytes), Some(value_of(&bytes)));
        prop_assert_eq!(canonicalize(&c), c.clone());
    }

    #[test]
    fn width_check_accepts_exactly_the_values_below_two_to_the_width(bytes in padded(), width in 1u32..=100) {
        let v = value_of(&bytes);
        let fits = width >= 128 || v < (1u128 << width);
        prop_assert_eq!(check(&bytes, width).is_ok(), fits);
    }

    #[test]
    fn mask_prefix_and_order_helpers_agree_with_integers(a in any::<u64>(), b in any::<u64>(), plen in 0u32..=64) {
        let (ab, bb) = (a.to_be_bytes(), b.to_be_bytes());
        prop_assert_eq!(within_mask(&ab, &bb), a & b == a);
        prop_assert_eq!(compare(&ab, &bb), a.cmp(&b));
        let low = 64 - plen;
        let low_clear = u128::from(a) & ((1u128 << low) - 1) == 0;
        prop_assert_eq!(low_bits_zero(&ab, low as usize), low_clear);
        let mask = if plen == 0 { 0 } else { u64::MAX << (64 - plen) };
        prop_assert_eq!(value_of(&prefix_mask(plen, 64)), u128::from(mask));
        prop_assert_eq!(value_of(&max_value(64)), u128::from(u64::MAX));
    }
}
