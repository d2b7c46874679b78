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

    /// Sets a field of up to 128 bits.
    pub fn set(&mut self, f: crate::regmap::Field, v: u128) {
        for b in 0..f.width.min(128) {
            self.set_bit(f.lsb + b, (v >> b) & 1 != 0);
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

    /// Reads a field of up to 128 bits.
    pub fn get(&self, f: crate::regmap::Field) -> u128 {
        (0..f.width.min(128)).fold(0u128, |acc, b| acc | (u128::from(self.bit(f.lsb + b)) << b))
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
