//! P4Runtime byte strings (spec §8.4 "Bytestrings"): unsigned integers sent
//! big-endian in `bytes` fields. A receiver accepts any length as long as the
//! value fits the P4Info bit width; the *canonical* form, which servers send
//! back on Read, is the shortest string that holds the value (zero is one
//! `0x00` byte). The empty string is never valid.

use std::cmp::Ordering;

/// Why a byte string is not a valid value for its field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BytestringError {
    /// The spec rejects zero-length byte strings.
    #[error("empty byte string")]
    Empty,
    /// The value needs more bits than the field has.
    #[error("value needs {needed} bits but the field is {bitwidth} bits wide")]
    TooWide {
        /// Significant bits of the value.
        needed: usize,
        /// Width of the field in P4Info.
        bitwidth: u32,
    },
}

/// Number of significant bits of a big-endian unsigned value (0 for zero).
pub fn significant_bits(bytes: &[u8]) -> usize {
    match bytes.iter().position(|b| *b != 0) {
        None => 0,
        Some(i) => (bytes.len() - i - 1) * 8 + (8 - bytes[i].leading_zeros() as usize),
    }
}

/// The canonical form of a non-empty byte string: leading zero bytes removed,
/// keeping a single `0x00` for zero. An empty input yields an empty output.
pub fn canonicalize(bytes: &[u8]) -> Vec<u8> {
    if bytes.is_empty() {
        return Vec::new();
    }
    let first = bytes
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(bytes.len() - 1);
    bytes[first..].to_vec()
}

/// True when `bytes` is already canonical (non-empty, no redundant leading zero).
pub fn is_canonical(bytes: &[u8]) -> bool {
    !bytes.is_empty() && (bytes.len() == 1 || bytes[0] != 0)
}

/// Checks that `bytes` holds a value that fits `bitwidth` bits and returns its
/// canonical form. A `bitwidth` of 0 means the P4Info gives no width (an SDN
/// string translated type): any non-empty string is accepted unchanged.
pub fn check(bytes: &[u8], bitwidth: u32) -> Result<Vec<u8>, BytestringError> {
    if bytes.is_empty() {
        return Err(BytestringError::Empty);
    }
    if bitwidth == 0 {
        return Ok(bytes.to_vec());
    }
    let needed = significant_bits(bytes);
    if needed > bitwidth as usize {
        return Err(BytestringError::TooWide { needed, bitwidth });
    }
    Ok(canonicalize(bytes))
}

/// Encodes `value` canonically, failing if it does not fit `bitwidth` bits.
pub fn encode(value: u128, bitwidth: u32) -> Result<Vec<u8>, BytestringError> {
    check(&value.to_be_bytes(), bitwidth)
}

/// Encodes `value` padded to the full byte width of a `bitwidth`-bit field
/// (the form older targets expect), failing if it does not fit.
pub fn encode_padded(value: u128, bitwidth: u32) -> Result<Vec<u8>, BytestringError> {
    let canonical = encode(value, bitwidth)?;
    Ok(pad(&canonical, bitwidth))
}

/// Left-pads a byte string with zeros to `ceil(bitwidth / 8)` bytes (never
/// truncates).
pub fn pad(bytes: &[u8], bitwidth: u32) -> Vec<u8> {
    let width = (bitwidth as usize).div_ceil(8);
    if bytes.len() >= width {
        return bytes.to_vec();
    }
    let mut out = vec![0u8; width - bytes.len()];
    out.extend_from_slice(bytes);
    out
}

/// Decodes a byte string as an unsigned integer; `None` if it is empty or
/// does not fit 128 bits.
pub fn decode(bytes: &[u8]) -> Option<u128> {
    if bytes.is_empty() || significant_bits(bytes) > 128 {
        return None;
    }
    Some(
        canonicalize(bytes)
            .iter()
            .fold(0u128, |acc, b| (acc << 8) | u128::from(*b)),
    )
}

/// Numeric comparison of two byte strings of any length.
pub fn compare(a: &[u8], b: &[u8]) -> Ordering {
    let (a, b) = (canonicalize(a), canonicalize(b));
    a.len().cmp(&b.len()).then_with(|| a.cmp(&b))
}

/// Byte `i` counted from the least significant end, zero beyond the string.
fn byte_from_lsb(bytes: &[u8], i: usize) -> u8 {
    if i < bytes.len() {
        bytes[bytes.len() - 1 - i]
    } else {
        0
    }
}

/// True when every bit set in `value` is also set in `mask`
/// (`value & mask == value`), for strings of any lengths.
pub fn within_mask(value: &[u8], mask: &[u8]) -> bool {
    (0..value.len().max(mask.len())).all(|i| byte_from_lsb(value, i) & !byte_from_lsb(mask, i) == 0)
}

/// True when the lowest `low_bits` bits of `value` are all zero.
pub fn low_bits_zero(value: &[u8], low_bits: usize) -> bool {
    (0..low_bits).all(|bit| byte_from_lsb(value, bit / 8) & (1u8 << (bit % 8)) == 0)
}

/// The canonical string for the largest value of a `bitwidth`-bit field.
pub fn max_value(bitwidth: u32) -> Vec<u8> {
    let bits = bitwidth as usize;
    if bits == 0 {
        return vec![0];
    }
    let mut out = vec![0xffu8; bits.div_ceil(8)];
    let spare = out.len() * 8 - bits;
    out[0] >>= spare;
    out
}

/// The canonical mask of a `prefix_len`-bit prefix in a `bitwidth`-bit field.
pub fn prefix_mask(prefix_len: u32, bitwidth: u32) -> Vec<u8> {
    let bits = bitwidth as usize;
    let prefix = (prefix_len as usize).min(bits);
    let mut out = vec![0u8; bits.div_ceil(8).max(1)];
    let len = out.len();
    for bit in (bits - prefix)..bits {
        out[len - 1 - bit / 8] |= 1u8 << (bit % 8);
    }
    canonicalize(&out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_form_strips_leading_zeros_but_keeps_one_for_zero() {
        assert_eq!(canonicalize(&[0, 0, 5]), vec![5]);
        assert_eq!(canonicalize(&[0, 0]), vec![0]);
        assert_eq!(canonicalize(&[1, 0]), vec![1, 0]);
        assert!(is_canonical(&[0]));
        assert!(!is_canonical(&[0, 1]));
        assert!(!is_canonical(&[]));
    }

    #[test]
    fn check_accepts_padded_values_that_fit_and_rejects_wider_ones() {
        assert_eq!(check(&[0x00, 0x63], 8), Ok(vec![0x63]));
        assert_eq!(check(&[0x01, 0xff], 9), Ok(vec![0x01, 0xff]));
        assert_eq!(
            check(&[0x02, 0x00], 9),
            Err(BytestringError::TooWide {
                needed: 10,
                bitwidth: 9
            })
        );
        assert_eq!(check(&[], 8), Err(BytestringError::Empty));
    }

    #[test]
    fn encode_and_decode_are_inverse_for_values_that_fit() {
        for (v, w) in [
            (0u128, 1u32),
            (1, 9),
            (511, 9),
            (0x0a000001, 32),
            (u128::MAX, 128),
        ] {
            let s = encode(v, w).unwrap();
            assert!(is_canonical(&s));
            assert_eq!(decode(&s), Some(v));
        }
        assert!(encode(512, 9).is_err());
        assert_eq!(encode_padded(5, 16).unwrap(), vec![0, 5]);
    }

    #[test]
    fn masks_prefixes_and_ranges_compare_numerically() {
        assert!(within_mask(&[0x0a, 0x00], &[0xff, 0x00]));
        assert!(!within_mask(&[0x0a, 0x01], &[0xff, 0x00]));
        assert!(within_mask(&[0x01], &[0x00, 0x01]));
        assert!(low_bits_zero(&[0x0a, 0x00, 0x00, 0x00], 24));
        assert!(!low_bits_zero(&[0x0a, 0x00, 0x01, 0x00], 24));
        assert_eq!(prefix_mask(8, 32), vec![0xff, 0, 0, 0]);
        assert_eq!(prefix_mask(9, 9), vec![0x01, 0xff]);
        assert_eq!(max_value(9), vec![0x01, 0xff]);
        assert_eq!(compare(&[0, 0, 2], &[1]), Ordering::Greater);
        assert_eq!(compare(&[0, 1], &[1]), Ordering::Equal);
    }
}
