//! The RTL register map: one machine-readable file (`rtl/regmap.toml`) from which the
//! Verilog localparams, the Rust constants of the driver and the Markdown table are
//! generated, so hardware, software and documentation cannot drift apart.
//!
//! [`RegMap::parse`] reads and validates the file; [`RegMap::verilog`],
//! [`RegMap::rust`] and [`RegMap::markdown`] render the three outputs, and
//! [`outputs`] lists them with the paths they are committed at.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Errors of reading or validating a register map.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("register map is not valid TOML: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("register map is inconsistent: {0}")]
    Invalid(String),
}

/// A whole register map.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegMap {
    pub name: String,
    pub addr_width: u32,
    #[serde(rename = "block")]
    pub blocks: Vec<Block>,
    #[serde(rename = "enum", default)]
    pub enums: Vec<Enum>,
    #[serde(rename = "layout", default)]
    pub layouts: Vec<Layout>,
}

/// A self-describing register block (TYPE, VERSION, NEXT, then its registers).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Block {
    pub name: String,
    pub base: u32,
    #[serde(rename = "type")]
    pub block_type: u32,
    pub version: u32,
    pub description: String,
    pub regs: Vec<Reg>,
}

/// Register access type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    Ro,
    Rw,
    Wo,
}

impl Access {
    fn as_str(self) -> &'static str {
        match self {
            Access::Ro => "ro",
            Access::Rw => "rw",
            Access::Wo => "wo",
        }
    }
}

/// A register, or an array of `count` registers `stride` bytes apart.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reg {
    pub name: String,
    pub offset: u32,
    pub access: Access,
    #[serde(default)]
    pub reset: Option<u32>,
    #[serde(default)]
    pub reset_each: Option<Vec<u32>>,
    #[serde(default)]
    pub count: Option<u32>,
    #[serde(default)]
    pub stride: Option<u32>,
    pub description: String,
}

impl Reg {
    /// Number of registers (1 for a plain register).
    pub fn count(&self) -> u32 {
        self.count.unwrap_or(1)
    }

    /// Distance between array elements in bytes.
    pub fn stride(&self) -> u32 {
        self.stride.unwrap_or(4)
    }

    /// Reset value of element `i`.
    pub fn reset_of(&self, i: u32) -> u32 {
        match &self.reset_each {
            Some(v) => v.get(i as usize).copied().unwrap_or(0),
            None => self.reset.unwrap_or(0),
        }
    }
}

/// A named enumeration shared by hardware and software.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Enum {
    pub name: String,
    pub description: String,
    pub values: Vec<EnumValue>,
}

/// One value of an [`Enum`].
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnumValue {
    pub name: String,
    pub value: u32,
}

/// Bit layout of a table entry or record.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layout {
    pub name: String,
    pub description: String,
    pub width: u32,
    pub fields: Vec<Field>,
    #[serde(default)]
    pub array: Option<FieldArray>,
}

/// A bit field of a [`Layout`].
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Field {
    pub name: String,
    pub lsb: u32,
    pub width: u32,
    #[serde(default)]
    pub description: Option<String>,
}

/// A group of fields repeated `count` times, `stride` bits apart, from bit `base`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldArray {
    pub name: String,
    pub count: u32,
    pub base: u32,
    pub stride: u32,
    pub fields: Vec<Field>,
}

/// Words every block starts with.
pub const HEADER_REGS: [(&str, u32); 3] = [("type", 0x00), ("version", 0x04), ("next", 0x08)];

fn upper(s: &str) -> String {
    s.to_ascii_uppercase()
}

impl Layout {
    /// All fields, with array elements flattened (`rule0_valid`, …) and absolute bit
    /// positions.
    pub fn flat_fields(&self) -> Vec<Field> {
        let mut out = self.fields.clone();
        if let Some(a) = &self.array {
            for i in 0..a.count {
                for f in &a.fields {
                    out.push(Field {
                        name: format!("{}{}_{}", a.name, i, f.name),
                        lsb: a.base + i * a.stride + f.lsb,
                        width: f.width,
                        description: f.description.clone(),
                    });
                }
            }
        }
        out
    }
}

impl RegMap {
    /// Reads and validates a register map file.
    pub fn load(path: &Path) -> Result<RegMap, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        RegMap::parse(&text)
    }

    /// Parses and validates register map text.
    pub fn parse(text: &str) -> Result<RegMap, Error> {
        let map: RegMap = toml::from_str(text)?;
        map.validate()?;
        Ok(map)
    }

    fn validate(&self) -> Result<(), Error> {
        let bad = |m: String| Err(Error::Invalid(m));
        if self.addr_width < 8 || self.addr_width > 32 {
            return bad(format!("addr_width {} is not in 8..=32", self.addr_width));
        }
        let limit = 1u64 << self.addr_width;
        let mut names = BTreeSet::new();
        let mut prev_base: Option<u32> = None;
        for b in &self.blocks {
            if !names.insert(b.name.clone()) {
                return bad(format!("block name {} used twice", b.name));
            }
            if b.base % 0x100 != 0 {
                return bad(format!(
                    "block {} base {:#x} is not 256-byte aligned",
                    b.name, b.base
                ));
            }
            if let Some(p) = prev_base {
                if b.base <= p {
                    return bad(format!("block {} is not after the previous block", b.name));
                }
            }
            prev_base = Some(b.base);
            let mut used = BTreeSet::new();
            let mut reg_names = BTreeSet::new();
            for r in &b.regs {
                if !reg_names.insert(r.name.clone()) {
                    return bad(format!("register {}.{} defined twice", b.name, r.name));
                }
                if r.offset < 0x10 {
                    return bad(format!(
                        "register {}.{} overlaps the block header",
                        b.name, r.name
                    ));
                }
                if r.stride() % 4 != 0 || r.offset % 4 != 0 {
                    return bad(format!(
                        "register {}.{} is not word aligned",
                        b.name, r.name
                    ));
                }
                if r.reset.is_some() && r.reset_each.is_some() {
                    return bad(format!(
                        "register {}.{} has both reset and reset_each",
                        b.name, r.name
                    ));
                }
                if let Some(v) = &r.reset_each {
                    if v.len() != r.count() as usize {
                        return bad(format!(
                            "register {}.{}: reset_each needs {} values",
                            b.name,
                            r.name,
                            r.count()
                        ));
                    }
                }
                if r.access != Access::Rw && (r.reset.is_some() || r.reset_each.is_some()) {
                    return bad(format!(
                        "register {}.{} is not rw but has a reset value",
                        b.name, r.name
                    ));
                }
                for i in 0..r.count() {
                    let off = r.offset + i * r.stride();
                    if !used.insert(off) {
                        return bad(format!(
                            "register {}.{}[{i}] overlaps another register",
                            b.name, r.name
                        ));
                    }
                    if u64::from(b.base) + u64::from(off) >= limit {
                        return bad(format!(
                            "register {}.{} is beyond the address space",
                            b.name, r.name
                        ));
                    }
                }
            }
        }
        for w in self.blocks.windows(2) {
            let last = w[0]
                .regs
                .iter()
                .map(|r| r.offset + (r.count() - 1) * r.stride())
                .max()
                .unwrap_or(0x08);
            if w[0].base + last >= w[1].base {
                return bad(format!("block {} runs into block {}", w[0].name, w[1].name));
            }
        }
        for e in &self.enums {
            let mut seen = BTreeSet::new();
            for v in &e.values {
                if !seen.insert(v.value) {
                    return bad(format!("enum {} repeats value {}", e.name, v.value));
                }
            }
        }
        for l in &self.layouts {
            let mut bits = vec![false; l.width as usize];
            for f in l.flat_fields() {
                if f.width == 0 || f.lsb + f.width > l.width {
                    return bad(format!(
                        "field {}.{} does not fit in {} bits",
                        l.name, f.name, l.width
                    ));
                }
                for b in f.lsb..f.lsb + f.width {
                    if bits[b as usize] {
                        return bad(format!(
                            "field {}.{} overlaps another field",
                            l.name, f.name
                        ));
                    }
                    bits[b as usize] = true;
                }
            }
        }
        Ok(())
    }

    fn next_of(&self, i: usize) -> u32 {
        self.blocks.get(i + 1).map(|b| b.base).unwrap_or(0)
    }

    /// The Verilog header (`localparam`s, included inside module bodies).
    pub fn verilog(&self) -> String {
        let aw = self.addr_width;
        let mut s = String::new();
        s.push_str(&format!(
            "// Generated by ztnic-regmap from rtl/regmap.toml. Do not edit.\n\
             // Included inside module bodies: localparams of the {} register map.\n\
             /* verilator lint_off UNUSEDPARAM */\n",
            self.name
        ));
        s.push_str(&format!("localparam integer REGMAP_ADDR_W = {aw};\n"));
        for (i, b) in self.blocks.iter().enumerate() {
            let bn = upper(&b.name);
            s.push_str(&format!("\n// block {}: {}\n", b.name, b.description));
            s.push_str(&format!(
                "localparam [{}:0] BLK_{bn}_BASE = {aw}'h{:x};\n",
                aw - 1,
                b.base
            ));
            s.push_str(&format!(
                "localparam [31:0] BLK_{bn}_TYPE = 32'h{:08x};\n",
                b.block_type
            ));
            s.push_str(&format!(
                "localparam [31:0] BLK_{bn}_VERSION = 32'h{:08x};\n",
                b.version
            ));
            s.push_str(&format!(
                "localparam [31:0] BLK_{bn}_NEXT = 32'h{:08x};\n",
                self.next_of(i)
            ));
            for (h, off) in HEADER_REGS {
                s.push_str(&format!(
                    "localparam [{}:0] REG_{bn}_{} = {aw}'h{:x};\n",
                    aw - 1,
                    upper(h),
                    b.base + off
                ));
            }
            for r in &b.regs {
                let rn = upper(&r.name);
                s.push_str(&format!(
                    "localparam [{}:0] REG_{bn}_{rn} = {aw}'h{:x}; // {} {}\n",
                    aw - 1,
                    b.base + r.offset,
                    r.access.as_str(),
                    r.description
                ));
                if r.count() > 1 {
                    s.push_str(&format!(
                        "localparam integer REG_{bn}_{rn}_COUNT = {};\n",
                        r.count()
                    ));
                    s.push_str(&format!(
                        "localparam integer REG_{bn}_{rn}_STRIDE = {};\n",
                        r.stride()
                    ));
                }
                if r.access == Access::Rw {
                    if r.count() == 1 {
                        s.push_str(&format!(
                            "localparam [31:0] REG_{bn}_{rn}_RESET = 32'h{:08x};\n",
                            r.reset_of(0)
                        ));
                    } else {
                        let words: Vec<String> = (0..r.count())
                            .rev()
                            .map(|i| format!("32'h{:08x}", r.reset_of(i)))
                            .collect();
                        s.push_str(&format!(
                            "localparam [{}:0] REG_{bn}_{rn}_RESET = {{{}}};\n",
                            32 * r.count() - 1,
                            words.join(", ")
                        ));
                    }
                }
            }
        }
        for e in &self.enums {
            s.push_str(&format!("\n// enum {}: {}\n", e.name, e.description));
            for v in &e.values {
                s.push_str(&format!(
                    "localparam integer {}_{} = {};\n",
                    upper(&e.name),
                    upper(&v.name),
                    v.value
                ));
            }
        }
        for l in &self.layouts {
            let ln = upper(&l.name);
            s.push_str(&format!("\n// layout {}: {}\n", l.name, l.description));
            s.push_str(&format!("localparam integer L_{ln}_W = {};\n", l.width));
            for f in l.flat_fields() {
                let fname = upper(&f.name);
                s.push_str(&format!(
                    "localparam integer L_{ln}_{fname}_LSB = {};\n",
                    f.lsb
                ));
                s.push_str(&format!(
                    "localparam integer L_{ln}_{fname}_W = {};\n",
                    f.width
                ));
            }
            if let Some(a) = &l.array {
                let an = upper(&a.name);
                s.push_str(&format!(
                    "localparam integer L_{ln}_{an}_COUNT = {};\n",
                    a.count
                ));
                s.push_str(&format!(
                    "localparam integer L_{ln}_{an}_BASE = {};\n",
                    a.base
                ));
                s.push_str(&format!(
                    "localparam integer L_{ln}_{an}_STRIDE = {};\n",
                    a.stride
                ));
                for f in &a.fields {
                    let fname = upper(&f.name);
                    s.push_str(&format!(
                        "localparam integer L_{ln}_{an}_{fname}_LSB = {};\n",
                        f.lsb
                    ));
                    s.push_str(&format!(
                        "localparam integer L_{ln}_{an}_{fname}_W = {};\n",
                        f.width
                    ));
                }
            }
        }
        s.push_str("/* verilator lint_on UNUSEDPARAM */\n");
        s
    }

    /// The Rust module of constants used by the driver.
    pub fn rust(&self) -> String {
        let mut s = String::new();
        s.push_str(&format!(
            "//! Generated by ztnic-regmap from rtl/regmap.toml. Do not edit.\n\
             //! Register addresses, enumerations and entry layouts of the {} register map.\n\n\
             /// A bit field of an entry layout: least significant bit and width.\n\
             #[derive(Debug, Clone, Copy, PartialEq, Eq)]\n\
             pub struct Field {{\n    pub lsb: u32,\n    pub width: u32,\n}}\n\n\
             /// Words every register block starts with (offsets).\n\
             pub mod header {{\n    pub const TYPE: u32 = 0x00;\n    pub const VERSION: u32 = 0x04;\n    pub const NEXT: u32 = 0x08;\n}}\n",
            self.name
        ));
        for (i, b) in self.blocks.iter().enumerate() {
            s.push_str(&format!(
                "\n/// Block `{}`: {}\npub mod {} {{\n",
                b.name, b.description, b.name
            ));
            s.push_str(&format!("    pub const BASE: u32 = {:#06x};\n", b.base));
            s.push_str(&format!(
                "    pub const TYPE: u32 = {:#010x};\n",
                b.block_type
            ));
            s.push_str(&format!(
                "    pub const VERSION: u32 = {:#010x};\n",
                b.version
            ));
            s.push_str(&format!(
                "    pub const NEXT: u32 = {:#06x};\n",
                self.next_of(i)
            ));
            for r in &b.regs {
                let rn = upper(&r.name);
                s.push_str(&format!(
                    "    /// {} ({})\n",
                    r.description,
                    r.access.as_str()
                ));
                s.push_str(&format!(
                    "    pub const {rn}: u32 = {:#06x};\n",
                    b.base + r.offset
                ));
                if r.count() > 1 {
                    s.push_str(&format!("    pub const {rn}_COUNT: u32 = {};\n", r.count()));
                    s.push_str(&format!(
                        "    pub const {rn}_STRIDE: u32 = {};\n",
                        r.stride()
                    ));
                }
            }
            s.push_str("}\n");
        }
        for e in &self.enums {
            s.push_str(&format!(
                "\n/// Enumeration `{}`: {}\npub mod {} {{\n",
                e.name,
                e.description,
                enum_mod(&e.name)
            ));
            for v in &e.values {
                s.push_str(&format!(
                    "    pub const {}: u32 = {};\n",
                    upper(&v.name),
                    v.value
                ));
            }
            s.push_str("}\n");
        }
        s.push_str("\n/// Entry and record layouts.\npub mod layout {\n    use super::Field;\n");
        for l in &self.layouts {
            s.push_str(&format!(
                "\n    /// {}\n    pub mod {} {{\n        use super::Field;\n",
                l.description, l.name
            ));
            s.push_str(&format!("        pub const WIDTH: u32 = {};\n", l.width));
            for f in l.flat_fields() {
                s.push_str(&format!(
                    "        pub const {}: Field = Field {{ lsb: {}, width: {} }};\n",
                    upper(&f.name),
                    f.lsb,
                    f.width
                ));
            }
            if let Some(a) = &l.array {
                let an = upper(&a.name);
                s.push_str(&format!(
                    "        pub const {an}_COUNT: u32 = {};\n",
                    a.count
                ));
                s.push_str(&format!("        pub const {an}_BASE: u32 = {};\n", a.base));
                s.push_str(&format!(
                    "        pub const {an}_STRIDE: u32 = {};\n",
                    a.stride
                ));
                s.push_str(&format!(
                    "        /// Fields of one `{}` element, relative to its base.\n",
                    a.name
                ));
                s.push_str(&format!(
                    "        pub mod {} {{\n            use super::Field;\n",
                    a.name
                ));
                for f in &a.fields {
                    s.push_str(&format!(
                        "            pub const {}: Field = Field {{ lsb: {}, width: {} }};\n",
                        upper(&f.name),
                        f.lsb,
                        f.width
                    ));
                }
                s.push_str("        }\n");
            }
            s.push_str("    }\n");
        }
        s.push_str("}\n");
        s
    }

    /// The Markdown documentation of the register map.
    pub fn markdown(&self) -> String {
        let mut s = String::new();
        s.push_str(&format!(
            "# {} RTL register map\n\n\
             Generated by `ztnic-regmap` from `rtl/regmap.toml`; do not edit (run\n\
             `cargo run -p ztnic-regmap -- generate`). AXI4-Lite, 32-bit data, {}-bit byte\n\
             addresses. Every block starts with TYPE (+0x00), VERSION (+0x04) and NEXT (+0x08,\n\
             the next block's address, 0 for the last): software walks the chain from 0.\n",
            self.name, self.addr_width
        ));
        for (i, b) in self.blocks.iter().enumerate() {
            s.push_str(&format!(
                "\n## Block `{}` at {:#06x}\n\n{}\n\nTYPE {:#010x}, VERSION {:#010x}, NEXT {:#06x}.\n\n\
                 | address | register | access | reset | description |\n|---|---|---|---|---|\n",
                b.name,
                b.base,
                b.description,
                b.block_type,
                b.version,
                self.next_of(i)
            ));
            for (h, off) in HEADER_REGS {
                s.push_str(&format!(
                    "| {:#06x} | {h} | ro | | block header |\n",
                    b.base + off
                ));
            }
            for r in &b.regs {
                let addr = if r.count() > 1 {
                    format!(
                        "{:#06x} + {}·i (i < {})",
                        b.base + r.offset,
                        r.stride(),
                        r.count()
                    )
                } else {
                    format!("{:#06x}", b.base + r.offset)
                };
                let reset = match (r.access, &r.reset_each) {
                    (Access::Rw, Some(v)) => v
                        .iter()
                        .map(|x| x.to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                    (Access::Rw, None) => r.reset.unwrap_or(0).to_string(),
                    _ => String::new(),
                };
                s.push_str(&format!(
                    "| {addr} | {} | {} | {reset} | {} |\n",
                    r.name,
                    r.access.as_str(),
                    r.description.replace('|', "\\|")
                ));
            }
        }
        s.push_str("\n## Enumerations\n");
        for e in &self.enums {
            s.push_str(&format!(
                "\n### `{}`\n\n{}\n\n| value | name |\n|---|---|\n",
                e.name, e.description
            ));
            for v in &e.values {
                s.push_str(&format!("| {} | {} |\n", v.value, v.name));
            }
        }
        s.push_str("\n## Entry layouts\n\nBits are counted from the least significant bit of `tables.data[0]`.\n");
        for l in &self.layouts {
            s.push_str(&format!(
                "\n### `{}` ({} bits)\n\n{}\n\n| bits | field | description |\n|---|---|---|\n",
                l.name, l.width, l.description
            ));
            for f in l.flat_fields() {
                s.push_str(&format!(
                    "| {}..{} | {} | {} |\n",
                    f.lsb + f.width - 1,
                    f.lsb,
                    f.name,
                    f.description
                        .clone()
                        .unwrap_or_default()
                        .replace('|', "\\|")
                ));
            }
        }
        s
    }
}

fn enum_mod(name: &str) -> String {
    // `table` etc. are fine module names; keep a suffix to read as a namespace.
    format!("{}_enum", name)
}

/// A generated file: where it is committed (relative to the workspace root) and its
/// expected content.
#[derive(Debug, Clone)]
pub struct Output {
    pub path: &'static str,
    pub content: String,
}

/// Path of the register map source relative to the workspace root.
pub const SOURCE: &str = "rtl/regmap.toml";

/// Every generated file of the register map.
pub fn outputs(map: &RegMap) -> Vec<Output> {
    vec![
        Output {
            path: "rtl/generated/ztnic_regmap.vh",
            content: map.verilog(),
        },
        Output {
            path: "runtime/fpga/src/regmap.rs",
            content: map.rust(),
        },
        Output {
            path: "docs/regmap.md",
            content: map.markdown(),
        },
    ]
}

/// The workspace root, found from this crate's manifest directory.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The Verilog drop and punt reason codes, from `ztnic_model`'s enums (the one source
/// of those codes, docs/datapath.md §9).
pub fn reasons_verilog() -> String {
    use ztnic_model::{DropReason, PuntReason};
    let mut s = String::from(
        "// Generated by ztnic-regmap from ztnic_model's DropReason and PuntReason. Do not edit.\n\
         // Included inside module bodies: the drop and punt reason codes of docs/datapath.md §9.\n\
         /* verilator lint_off UNUSEDPARAM */\n",
    );
    for r in DropReason::ALL {
        s.push_str(&format!(
            "localparam [7:0] DROP_{} = 8'd{};\n",
            upper(r.name()),
            r.code()
        ));
    }
    for r in PuntReason::ALL {
        s.push_str(&format!(
            "localparam [7:0] PUNT_{} = 8'd{};\n",
            upper(r.name()),
            r.code()
        ));
    }
    let dmax = DropReason::ALL.iter().map(|r| r.code()).max().unwrap_or(0);
    let pmax = PuntReason::ALL.iter().map(|r| r.code()).max().unwrap_or(0);
    s.push_str(&format!(
        "localparam integer DROP_CODES = {}; // counter entries (codes 0..{dmax})\n",
        u32::from(dmax) + 1
    ));
    s.push_str(&format!(
        "localparam integer PUNT_CODES = {}; // counter entries (codes 0..{pmax})\n",
        u32::from(pmax) + 1
    ));
    s.push_str("/* verilator lint_on UNUSEDPARAM */\n");
    s
}

/// Every generated file of the RTL, read from the sources under `root`.
pub fn all_outputs(root: &Path) -> Result<Vec<Output>, Error> {
    let map = RegMap::load(&root.join(SOURCE))?;
    let mut v = outputs(&map);
    v.push(Output {
        path: "rtl/generated/ztnic_reasons.vh",
        content: reasons_verilog(),
    });
    Ok(v)
}

/// Paths of the outputs whose committed content differs from the generated one.
pub fn stale_outputs(root: &Path, outputs: &[Output]) -> Vec<&'static str> {
    outputs
        .iter()
        .filter(|o| {
            std::fs::read_to_string(root.join(o.path)).ok().as_deref() != Some(o.content.as_str())
        })
        .map(|o| o.path)
        .collect()
}
