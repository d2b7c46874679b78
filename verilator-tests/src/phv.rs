//! The packet header vector (`rtl/ztnic_phv.vh`) as the module tests of the pipeline
//! stages read and write it: its layout and the reason and kind codes read from the RTL
//! headers themselves, and a packed bit vector.

use std::collections::BTreeMap;

use ztnic_rtl_sim::unit::rtl_dir;

/// The `localparam`s of the RTL headers whose values are sums of integers (`2`,
/// `3'd5`, `16'h14`) and earlier names, so that the test reads the PHV layout and the
/// codes the RTL is built with.
pub fn localparams(texts: &[String]) -> BTreeMap<String, i64> {
    let mut v = BTreeMap::new();
    for text in texts {
        let text: String = text
            .lines()
            .map(|l| l.split("//").next().unwrap_or(""))
            .collect::<Vec<_>>()
            .join("\n");
        for stmt in text.split(';') {
            // whatever precedes the keyword in the statement is comment or whitespace
            let Some((_, rest)) = stmt.split_once("localparam") else {
                continue;
            };
            for assign in rest.split(',') {
                let Some((lhs, rhs)) = assign.split_once('=') else {
                    continue;
                };
                let Some(name) = lhs.split_whitespace().last() else {
                    continue;
                };
                let value = rhs.split('+').map(str::trim).try_fold(0i64, |sum, t| {
                    let n = match t.split_once('\'') {
                        Some((_, lit)) if lit.starts_with('h') => {
                            i64::from_str_radix(&lit[1..], 16).ok()
                        }
                        Some((_, lit)) if lit.starts_with('d') => lit[1..].parse().ok(),
                        Some(_) => None,
                        None => t.parse().ok().or_else(|| v.get(t).copied()),
                    };
                    n.map(|n| sum + n)
                });
                if let Some(value) = value {
                    v.insert(name.to_string(), value);
                }
            }
        }
    }
    v
}

/// A packed vector as 32-bit words, little-endian.
#[derive(Clone)]
pub struct Bits(pub Vec<u32>);

impl Bits {
    pub fn zero(width: usize) -> Bits {
        Bits(vec![0; width.div_ceil(32)])
    }

    pub fn get(&self, lo: usize, width: usize) -> u128 {
        (0..width).fold(0u128, |acc, i| {
            let b = lo + i;
            acc | (u128::from((self.0[b / 32] >> (b % 32)) & 1) << i)
        })
    }

    pub fn set(&mut self, lo: usize, width: usize, value: u128) {
        for i in 0..width {
            let b = lo + i;
            let bit = ((value >> i) & 1) as u32;
            self.0[b / 32] = (self.0[b / 32] & !(1 << (b % 32))) | (bit << (b % 32));
        }
    }
}

/// The PHV fields the test reads and writes, by name, from `ztnic_phv.vh`.
pub struct Layout {
    params: BTreeMap<String, i64>,
}

impl Layout {
    pub fn load() -> Layout {
        let rtl = rtl_dir();
        let texts: Vec<String> = [
            rtl.join("generated/ztnic_regmap.vh"),
            rtl.join("ztnic_phv.vh"),
        ]
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .collect();
        Layout {
            params: localparams(&texts),
        }
    }

    pub fn p(&self, name: &str) -> usize {
        let v = self
            .params
            .get(name)
            .unwrap_or_else(|| panic!("{name} is not a localparam of the RTL headers"));
        usize::try_from(*v).unwrap_or_else(|_| panic!("{name} = {v}"))
    }
}

/// What the engine's stage 1 hands the outer header pass for a frame that arrived on
/// `port` (an uplink or a vport): the PHV (length, port, port class, parse window the
/// whole frame) and the captured header, `hdr_bytes` long.
pub fn pass_input(
    l: &Layout,
    frame: &[u8],
    port: u16,
    uplink: bool,
    hdr_bytes: usize,
) -> (Bits, Vec<u8>) {
    let mut phv = Bits::zero(l.p("PHV_W"));
    phv.set(l.p("F_LEN"), 16, frame.len() as u128);
    phv.set(l.p("F_PORT"), 16, u128::from(port));
    let cls = if uplink {
        l.p("PORT_CLASS_UPLINK")
    } else {
        l.p("PORT_CLASS_VPORT")
    };
    phv.set(l.p("F_CLS"), 2, cls as u128);
    phv.set(l.p("F_OFF"), 16, 0);
    phv.set(l.p("F_LIM"), 16, frame.len() as u128);
    let mut hdr = frame.to_vec();
    hdr.resize(hdr_bytes, 0);
    (phv, hdr)
}
