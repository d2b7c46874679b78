//! Entry layouts as little-endian bit vectors.

/// A little-endian bit vector for building and reading entry layouts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bits(Vec<u32>);

impl Bits {
    /// `n` zero bits (rounded up to words).
    pub fn zero(n: u32) -> Bits {
        Bits(vec![0; n.div_ceil(32) as usize])
    }

    /// The bits of little-endian words (word 0 holds bits 31..0).
    pub fn from_words(w: &[u32]) -> Bits {
        Bits(w.to_vec())
    }

    /// The little-endian words (as written to the table window's `data`).
    pub fn words(&self) -> &[u32] {
        &self.0
    }

    fn bit(&self, i: u32) -> bool {
        self.0
            .get((i / 32) as usize)
            .is_some_and(|w| (w >> (i % 32)) & 1 != 0)
    }

    fn set_bit(&mut self, i: u32, v: bool) {
        let idx = (i / 32) as usize;
        if idx >= self.0.len() {
            self.0.resize(idx + 1, 0);
        }
        if v {
            self.0[idx] |= 1 << (i % 32);
        } else {
            self.0[idx] &= !(1 << (i % 32));
        }
    }

    /// Sets a field of up to 128 bits (a word at a time).
    pub fn set(&mut self, f: crate::regmap::Field, v: u128) {
        let (mut pos, mut left, mut v) = (f.lsb, f.width.min(128), v);
        while left > 0 {
            let idx = (pos / 32) as usize;
            let off = pos % 32;
            let n = left.min(32 - off);
            if idx >= self.0.len() {
                self.0.resize(idx + 1, 0);
            }
            let mask = (u32::MAX >> (32 - n)) << off;
            self.0[idx] = (self.0[idx] & !mask) | (((v as u32) << off) & mask);
            v = v.checked_shr(n).unwrap_or(0);
            pos += n;
            left -= n;
        }
    }

    /// Sets a field at `base + f.lsb` (array elements).
    pub fn set_at(&mut self, base: u32, f: crate::regmap::Field, v: u128) {
        self.set(
            crate::regmap::Field {
                lsb: base + f.lsb,
                width: f.width,
            },
            v,
        );
    }

    /// Reads a field of up to 128 bits (a word at a time; bits beyond the vector
    /// read as zero).
    pub fn get(&self, f: crate::regmap::Field) -> u128 {
        let (mut pos, mut got, width) = (f.lsb, 0u32, f.width.min(128));
        let mut v = 0u128;
        while got < width {
            let off = pos % 32;
            let n = (width - got).min(32 - off);
            let w = self.0.get((pos / 32) as usize).copied().unwrap_or(0);
            let bits = (w >> off) & (u32::MAX >> (32 - n));
            v |= u128::from(bits) << got;
            pos += n;
            got += n;
        }
        v
    }

    /// Sets a wide field from big-endian bytes (the conntrack key).
    pub fn set_bytes_be(&mut self, f: crate::regmap::Field, bytes: &[u8]) {
        let n = bytes.len() as u32;
        for (i, byte) in bytes.iter().enumerate() {
            for b in 0..8 {
                let bit = (n - 1 - i as u32) * 8 + b;
                if bit < f.width {
                    self.set_bit(f.lsb + bit, (byte >> b) & 1 != 0);
                }
            }
        }
    }

    /// Reads a wide field as big-endian bytes.
    pub fn get_bytes_be(&self, f: crate::regmap::Field) -> Vec<u8> {
        let n = f.width.div_ceil(8);
        (0..n)
            .map(|i| {
                let base = (n - 1 - i) * 8;
                (0..8).fold(0u8, |acc, b| {
                    let bit = base + b;
                    acc | (u8::from(bit < f.width && self.bit(f.lsb + bit)) << b)
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::regmap::Field;

    /// The bit-at-a-time definition of `set`.
    fn set_bitwise(b: &mut Bits, f: Field, v: u128) {
        for i in 0..f.width.min(128) {
            b.set_bit(f.lsb + i, (v >> i) & 1 != 0);
        }
    }

    fn get_bitwise(b: &Bits, f: Field) -> u128 {
        (0..f.width.min(128)).fold(0u128, |acc, i| acc | (u128::from(b.bit(f.lsb + i)) << i))
    }

    #[test]
    fn word_wise_set_and_get_agree_with_bit_at_a_time() {
        let mut x = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..5000 {
            let width = (next() % 140) as u32;
            let lsb = (next() % 700) as u32;
            let f = Field { lsb, width };
            let v = (u128::from(next()) << 64) | u128::from(next());
            let start: Vec<u32> = (0..(next() % 30)).map(|_| next() as u32).collect();
            let (mut a, mut b) = (Bits::from_words(&start), Bits::from_words(&start));
            a.set(f, v);
            set_bitwise(&mut b, f, v);
            // the same bits, the vector grown to the field's last word alike
            assert_eq!(a, b, "set {f:?} {v:#x}");
            for g in [
                f,
                Field {
                    lsb: lsb / 2,
                    width: width / 2 + 3,
                },
            ] {
                assert_eq!(a.get(g), get_bitwise(&a, g), "get {g:?}");
            }
        }
    }
}
