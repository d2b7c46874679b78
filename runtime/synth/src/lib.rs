//! Logic-level and resource estimates from yosys' JSON netlist (`write_json`) of a module
//! mapped by `synth_xilinx` (UltraScale+ primitives).
//!
//! How levels are counted (issue 11, item 2): a path runs from a start point to an end
//! point through combinational cells. Each `LUT1`..`LUT6` (and `INV`, which occupies a LUT)
//! is one level; `MUXF7`/`MUXF8`/`MUXF9` and buffers are none; a carry chain (`CARRY4` /
//! `CARRY8` cells chained `CO` → `CI`) is one level however long: entering a carry cell
//! costs one level unless it is entered through its carry input from another carry cell.
//! Start points are module inputs and the outputs of flip-flops (`FD*`), block RAM
//! (`RAMB*`), `URAM*`, LUT RAM (`RAM32*`/`RAM64*`/`RAM128*`/`RAM256*`), shift registers
//! (`SRL*`), `DSP*` and any cell this crate does not know (a black-boxed submodule); end
//! points are module outputs and the inputs of those cells. Constant bits start nothing.
//! Within a carry cell each output bit depends only on the carry input and the lower
//! `DI`/`S` bits, as in the silicon.
//!
//! The netlist is untrusted input: malformed JSON and combinational loops are errors,
//! never panics or hangs.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::Deserialize;

/// Why a netlist could not be analysed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file is not a yosys JSON netlist.
    #[error("not a yosys JSON netlist: {0}")]
    Json(#[from] serde_json::Error),
    /// The requested module is not in the netlist.
    #[error("module `{0}` is not in the netlist (it has: {1})")]
    NoModule(String, String),
    /// A combinational cycle: the cells along it, in order.
    #[error("combinational loop through {} cells: {}", .0.len(), .0.join(" -> "))]
    Loop(Vec<String>),
}

/// A yosys JSON netlist (only the parts this crate reads).
#[derive(Debug, Deserialize)]
pub struct Netlist {
    #[serde(default)]
    modules: BTreeMap<String, Module>,
}

#[derive(Debug, Deserialize)]
struct Module {
    #[serde(default)]
    parameter_default_values: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    ports: BTreeMap<String, Port>,
    #[serde(default)]
    cells: BTreeMap<String, Cell>,
}

#[derive(Debug, Deserialize)]
struct Port {
    direction: String,
    #[serde(default)]
    bits: Vec<Bit>,
}

/// A bit: a net number, or a constant ("0", "1", "x", "z").
#[derive(Debug, Deserialize, Clone)]
#[serde(untagged)]
enum Bit {
    Net(u64),
    Const(#[allow(dead_code)] String),
}

#[derive(Debug, Deserialize)]
struct Cell {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    parameters: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    port_directions: BTreeMap<String, String>,
    #[serde(default)]
    connections: BTreeMap<String, Vec<Bit>>,
}

impl Netlist {
    /// Parses a netlist written by yosys' `write_json`.
    pub fn from_json(text: &str) -> Result<Self, Error> {
        Ok(serde_json::from_str(text)?)
    }

    /// The instances in module `top` of modules that the netlist also holds (as black
    /// boxes or synthesised), each with the parameters it sets to other values than that
    /// module's defaults, as `NAME=VALUE` with VALUE a Verilog constant (`32'b…`), sorted.
    pub fn instances(&self, top: &str) -> Result<Vec<Instance>, Error> {
        let module = self.module(top)?;
        let mut out = Vec::new();
        for (name, cell) in &module.cells {
            // Xilinx primitives are modules of the netlist too (black boxes): skip them
            if classify(&cell.kind) != Class::Opaque {
                continue;
            }
            let Some(child) = self.modules.get(&cell.kind) else {
                continue;
            };
            let mut params = Vec::new();
            for (k, v) in &cell.parameters {
                let value = param_bits(v);
                let default = child.parameter_default_values.get(k).and_then(param_bits);
                if default.as_deref().map(strip_zeros) != value.as_deref().map(strip_zeros) {
                    if let Some(bits) = value {
                        params.push(format!("{k}={}'b{bits}", bits.len()));
                    }
                }
            }
            params.sort();
            out.push(Instance {
                name: name.clone(),
                module: cell.kind.clone(),
                params,
            });
        }
        Ok(out)
    }

    fn module(&self, top: &str) -> Result<&Module, Error> {
        self.modules.get(top).ok_or_else(|| {
            let names: Vec<&str> = self.modules.keys().map(String::as_str).collect();
            Error::NoModule(top.to_string(), names.join(", "))
        })
    }

    /// Analyses module `top`: its longest paths and its resources.
    pub fn analyse(&self, top: &str) -> Result<Report, Error> {
        let module = self.module(top)?;
        Analysis::new(self, module).run(top)
    }
}

/// An instance of another module of the netlist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// The instance (cell) name.
    pub name: String,
    /// The module instantiated.
    pub module: String,
    /// The parameters set to other values than the module's defaults, `NAME=VALUE`.
    pub params: Vec<String>,
}

/// A parameter value as yosys writes it: a string of binary digits (or, for a string
/// parameter, the string; those are not compared as numbers).
fn param_bits(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s)
            if !s.is_empty() && s.bytes().all(|b| b == b'0' || b == b'1') =>
        {
            Some(s.clone())
        }
        serde_json::Value::Number(n) => n.as_u64().map(|n| format!("{n:b}")),
        _ => None,
    }
}

fn strip_zeros(s: &str) -> &str {
    let t = s.trim_start_matches('0');
    if t.is_empty() { "0" } else { t }
}

/// What a cell is for path counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// One level per pass (LUT1..LUT6, INV).
    Lut,
    /// No level (MUXF7/8/9, buffers).
    Free,
    /// A carry cell: one level per chain.
    Carry,
    /// Drives constants only (VCC, GND).
    Constant,
    /// Registers, memories, DSPs: paths start at its outputs and end at its inputs.
    Endpoint,
    /// A cell type this crate does not know (e.g. a black-boxed submodule): an end point.
    Opaque,
}

fn classify(kind: &str) -> Class {
    const ENDPOINTS: [&str; 9] = [
        "FD", "RAMB", "URAM", "RAM32", "RAM64", "RAM128", "RAM256", "SRL", "DSP",
    ];
    match kind {
        "LUT1" | "LUT2" | "LUT3" | "LUT4" | "LUT5" | "LUT6" | "INV" => Class::Lut,
        "MUXF7" | "MUXF8" | "MUXF9" | "BUF" | "IBUF" | "OBUF" | "BUFG" => Class::Free,
        "CARRY4" | "CARRY8" => Class::Carry,
        "VCC" | "GND" => Class::Constant,
        _ if ENDPOINTS.iter().any(|p| kind.starts_with(p)) => Class::Endpoint,
        _ => Class::Opaque,
    }
}

/// Which kind of point a path starts or ends at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PathKind {
    /// Register (or memory, DSP, black box) to register.
    RegToReg,
    /// Module input to register.
    InToReg,
    /// Register to module output.
    RegToOut,
    /// Module input to module output (purely combinational).
    InToOut,
}

impl PathKind {
    /// All kinds, in report order.
    pub const ALL: [PathKind; 4] = [
        PathKind::RegToReg,
        PathKind::InToReg,
        PathKind::RegToOut,
        PathKind::InToOut,
    ];

    fn new(from_input: bool, to_output: bool) -> Self {
        match (from_input, to_output) {
            (false, false) => PathKind::RegToReg,
            (true, false) => PathKind::InToReg,
            (false, true) => PathKind::RegToOut,
            (true, true) => PathKind::InToOut,
        }
    }
}

impl fmt::Display for PathKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PathKind::RegToReg => "reg-to-reg",
            PathKind::InToReg => "in-to-reg",
            PathKind::RegToOut => "reg-to-out",
            PathKind::InToOut => "in-to-out",
        })
    }
}

/// One point of a path: a cell (name, type, pin) or a module port (type `port`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Cell or port name as in the netlist.
    pub name: String,
    /// Cell type, or `port` for a module port.
    pub kind: String,
    /// The pin the path leaves (start) or enters (end) by; empty for cells in between.
    pub pin: String,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.name)?;
        if !self.pin.is_empty() {
            write!(f, " ({})", self.pin)?;
        }
        Ok(())
    }
}

/// Cell counts of a module (its own cells, not its black-boxed children).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resources {
    /// LUT1..LUT6 and INV cells.
    pub luts: u64,
    /// Flip-flops (FD*).
    pub ffs: u64,
    /// Block RAM in RAMB18 halves: 2 per RAMB36, 1 per RAMB18.
    pub bram18: u64,
    /// UltraRAM blocks (URAM*).
    pub uram: u64,
    /// DSP blocks (DSP*).
    pub dsp: u64,
    /// LUT RAM cells (RAM32*/RAM64*/RAM128*/RAM256*).
    pub lutram: u64,
    /// Shift-register cells (SRL*).
    pub srl: u64,
    /// Carry cells (CARRY4/CARRY8).
    pub carry: u64,
    /// Wide-mux cells (MUXF7/8/9).
    pub muxf: u64,
}

impl Resources {
    /// Block RAM in RAMB36 equivalents, e.g. "3" or "2.5".
    pub fn bram36(&self) -> String {
        if self.bram18 % 2 == 0 {
            format!("{}", self.bram18 / 2)
        } else {
            format!("{}.5", self.bram18 / 2)
        }
    }

    fn count(&mut self, kind: &str) {
        let starts = |p: &str| kind.starts_with(p);
        match classify(kind) {
            Class::Lut => self.luts += 1,
            Class::Carry => self.carry += 1,
            _ if kind.starts_with("MUXF") => self.muxf += 1,
            _ if starts("FD") => self.ffs += 1,
            _ if starts("RAMB36") => self.bram18 += 2,
            _ if starts("RAMB18") => self.bram18 += 1,
            _ if starts("URAM") => self.uram += 1,
            _ if starts("DSP") => self.dsp += 1,
            _ if starts("SRL") => self.srl += 1,
            _ if ["RAM32", "RAM64", "RAM128", "RAM256"]
                .iter()
                .any(|p| starts(p)) =>
            {
                self.lutram += 1
            }
            _ => {}
        }
    }
}

/// The result of analysing one module.
#[derive(Debug, Clone)]
pub struct Report {
    /// The module analysed.
    pub module: String,
    /// The longest path of any kind, in levels (0 when there is none).
    pub levels: u32,
    /// The longest path of each kind that occurs.
    pub by_kind: BTreeMap<PathKind, u32>,
    /// The kind of the longest path, if any path exists.
    pub worst_kind: Option<PathKind>,
    /// The longest path: start, the combinational cells passed, end.
    pub worst_path: Vec<Step>,
    /// Cell types treated as opaque end points (unknown types, e.g. black boxes), with counts.
    pub opaque: BTreeMap<String, u64>,
    /// Cell counts.
    pub resources: Resources,
}

impl Report {
    /// The scripted one-line summary:
    /// `module NAME luts=N ffs=N bram36=N uram=N dsp=N levels=N`.
    pub fn line(&self) -> String {
        let r = &self.resources;
        format!(
            "module {} luts={} ffs={} bram36={} uram={} dsp={} levels={}",
            self.module,
            r.luts,
            r.ffs,
            r.bram36(),
            r.uram,
            r.dsp,
            self.levels
        )
    }
}

/// Where a net bit gets its value.
#[derive(Debug, Clone, Copy)]
enum Driver {
    /// A module input port (index into `ports`).
    Input(usize),
    /// An output of a start-point cell (cell index, pin index).
    Start(usize, usize),
    /// An output bit of a combinational cell (cell index, pin index, bit index).
    Comb(usize, usize, usize),
}

/// The best arrival at a bit from one kind of start point.
#[derive(Debug, Clone, Copy)]
struct Arrival {
    level: u32,
    /// The bit it came from and the cell passed, or `None` at a start point.
    from: Option<(u64, usize)>,
    /// The start point, for the report.
    start: Driver,
}

struct CellInfo<'a> {
    name: &'a str,
    kind: &'a str,
    class: Class,
    /// (pin name, is output, is input, bits)
    pins: Vec<(&'a str, bool, bool, &'a [Bit])>,
}

struct Analysis<'a> {
    ports: Vec<(&'a str, &'a Port)>,
    cells: Vec<CellInfo<'a>>,
    drivers: HashMap<u64, Vec<Driver>>,
}

/// A bit being walked: the bit, its dependencies (bit, levels added, via cell), and the
/// next dependency to look at.
type Frame = (u64, Vec<(u64, u32, usize)>, usize);

/// The state of a bit in the depth-first walk.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mark {
    Open,
    Done,
}

impl<'a> Analysis<'a> {
    fn new(netlist: &'a Netlist, module: &'a Module) -> Self {
        let ports: Vec<(&str, &Port)> = module.ports.iter().map(|(n, p)| (n.as_str(), p)).collect();
        let mut cells = Vec::with_capacity(module.cells.len());
        for (name, cell) in &module.cells {
            let class = classify(&cell.kind);
            let pins = cell
                .connections
                .iter()
                .map(|(pin, bits)| {
                    let dir = pin_direction(netlist, cell, pin);
                    (
                        pin.as_str(),
                        dir == "output" || dir == "inout",
                        dir != "output",
                        bits.as_slice(),
                    )
                })
                .collect();
            cells.push(CellInfo {
                name,
                kind: &cell.kind,
                class,
                pins,
            });
        }
        let mut drivers: HashMap<u64, Vec<Driver>> = HashMap::new();
        for (i, (_, port)) in ports.iter().enumerate() {
            if port.direction != "output" {
                for bit in &port.bits {
                    if let Bit::Net(n) = bit {
                        drivers.entry(*n).or_default().push(Driver::Input(i));
                    }
                }
            }
        }
        for (c, cell) in cells.iter().enumerate() {
            for (p, (_, out, _, bits)) in cell.pins.iter().enumerate() {
                if !out {
                    continue;
                }
                for (b, bit) in bits.iter().enumerate() {
                    let Bit::Net(n) = bit else { continue };
                    let d = match cell.class {
                        Class::Lut | Class::Free | Class::Carry => Driver::Comb(c, p, b),
                        Class::Endpoint | Class::Opaque => Driver::Start(c, p),
                        Class::Constant => continue,
                    };
                    drivers.entry(*n).or_default().push(d);
                }
            }
        }
        Analysis {
            ports,
            cells,
            drivers,
        }
    }

    /// The bits a combinational output bit depends on, with the levels each adds.
    fn deps(&self, c: usize, out_pin: usize, out_bit: usize) -> Vec<(u64, u32)> {
        let cell = &self.cells[c];
        let mut deps = Vec::new();
        match cell.class {
            Class::Carry => {
                let out_name = cell.pins[out_pin].0;
                // O[i] and CO[i] depend on the carry inputs and DI/S[0..=i].
                let upper = if out_name == "O" || out_name == "CO" {
                    out_bit
                } else {
                    usize::MAX
                };
                for (pin, _, input, bits) in &cell.pins {
                    if !input {
                        continue;
                    }
                    let carry_in = matches!(*pin, "CI" | "CI_TOP" | "CYINIT");
                    if *pin == "CI_TOP" && upper < 4 {
                        continue;
                    }
                    for (i, bit) in bits.iter().enumerate() {
                        if !carry_in && i > upper {
                            break;
                        }
                        let Bit::Net(n) = bit else { continue };
                        let chained = carry_in && self.driven_by_carry(*n);
                        deps.push((*n, if chained { 0 } else { 1 }));
                    }
                }
            }
            _ => {
                let w = u32::from(cell.class == Class::Lut);
                for (_, _, input, bits) in &cell.pins {
                    if !input {
                        continue;
                    }
                    for bit in bits.iter() {
                        if let Bit::Net(n) = bit {
                            deps.push((*n, w));
                        }
                    }
                }
            }
        }
        deps
    }

    fn driven_by_carry(&self, n: u64) -> bool {
        self.drivers.get(&n).is_some_and(|ds| {
            ds.iter().any(|d| match d {
                Driver::Comb(c, p, _) => {
                    self.cells[*c].class == Class::Carry && self.cells[*c].pins[*p].0 == "CO"
                }
                _ => false,
            })
        })
    }

    /// Computes the arrivals of every bit reachable from `root` (iteratively, so a long
    /// chain cannot overflow the stack).
    fn walk(
        &self,
        root: u64,
        marks: &mut HashMap<u64, Mark>,
        arrivals: &mut HashMap<u64, [Option<Arrival>; 2]>,
    ) -> Result<(), Error> {
        if marks.contains_key(&root) {
            return Ok(());
        }
        let mut stack: Vec<Frame> = Vec::new();
        marks.insert(root, Mark::Open);
        stack.push((root, self.all_deps(root), 0));
        while let Some(frame) = stack.last_mut() {
            if frame.2 < frame.1.len() {
                let (dep, _, _) = frame.1[frame.2];
                frame.2 += 1;
                match marks.get(&dep) {
                    Some(Mark::Done) => {}
                    Some(Mark::Open) => return Err(self.loop_error(&stack, dep)),
                    None => {
                        marks.insert(dep, Mark::Open);
                        let deps = self.all_deps(dep);
                        stack.push((dep, deps, 0));
                    }
                }
                continue;
            }
            let Some((bit, deps, _)) = stack.pop() else {
                break;
            };
            let mut best: [Option<Arrival>; 2] = [None, None];
            for d in self.drivers.get(&bit).map(Vec::as_slice).unwrap_or(&[]) {
                let slot = match d {
                    Driver::Input(_) => 1,
                    Driver::Start(..) => 0,
                    Driver::Comb(..) => continue,
                };
                best[slot] = Some(Arrival {
                    level: 0,
                    from: None,
                    start: *d,
                });
            }
            for (dep, w, via) in deps {
                let Some(arr) = arrivals.get(&dep) else {
                    continue;
                };
                for slot in 0..2 {
                    if let Some(a) = arr[slot] {
                        let level = a.level.saturating_add(w);
                        if best[slot].is_none_or(|b| level > b.level) {
                            best[slot] = Some(Arrival {
                                level,
                                from: Some((dep, via)),
                                start: a.start,
                            });
                        }
                    }
                }
            }
            if best.iter().any(Option::is_some) {
                arrivals.insert(bit, best);
            }
            marks.insert(bit, Mark::Done);
        }
        Ok(())
    }

    fn all_deps(&self, bit: u64) -> Vec<(u64, u32, usize)> {
        let mut out = Vec::new();
        for d in self.drivers.get(&bit).map(Vec::as_slice).unwrap_or(&[]) {
            if let Driver::Comb(c, p, b) = d {
                out.extend(self.deps(*c, *p, *b).into_iter().map(|(n, w)| (n, w, *c)));
            }
        }
        out
    }

    fn loop_error(&self, stack: &[Frame], again: u64) -> Error {
        let from = stack.iter().position(|f| f.0 == again).unwrap_or(0);
        let mut names = Vec::new();
        for frame in &stack[from..] {
            // the cell through which this frame's last looked-at dependency was reached
            if let Some(&(_, _, via)) = frame.2.checked_sub(1).and_then(|i| frame.1.get(i)) {
                names.push(format!("{} {}", self.cells[via].kind, self.cells[via].name));
            }
        }
        Error::Loop(names)
    }

    fn run(&self, top: &str) -> Result<Report, Error> {
        let mut marks = HashMap::new();
        let mut arrivals = HashMap::new();
        // end points: (bit, end step, is a module output)
        let mut ends: Vec<(u64, Step, bool)> = Vec::new();
        for (name, port) in &self.ports {
            if port.direction != "input" {
                for bit in &port.bits {
                    if let Bit::Net(n) = bit {
                        ends.push((*n, port_step(name, ""), true));
                    }
                }
            }
        }
        let mut resources = Resources::default();
        let mut opaque = BTreeMap::new();
        for cell in &self.cells {
            resources.count(cell.kind);
            if !matches!(cell.class, Class::Endpoint | Class::Opaque) {
                continue;
            }
            if cell.class == Class::Opaque {
                *opaque.entry(cell.kind.to_string()).or_insert(0) += 1;
            }
            for (pin, _, input, bits) in &cell.pins {
                if !input {
                    continue;
                }
                for bit in bits.iter() {
                    if let Bit::Net(n) = bit {
                        ends.push((*n, cell_step(cell, pin), false));
                    }
                }
            }
        }
        let mut by_kind = BTreeMap::new();
        let mut worst: Option<(u32, PathKind, u64, usize, Step)> = None;
        for (bit, step, to_output) in ends {
            self.walk(bit, &mut marks, &mut arrivals)?;
            let Some(arr) = arrivals.get(&bit) else {
                continue;
            };
            for (slot, a) in arr.iter().enumerate() {
                let Some(a) = a else { continue };
                let kind = PathKind::new(slot == 1, to_output);
                let e = by_kind.entry(kind).or_insert(0);
                *e = (*e).max(a.level);
                if worst.as_ref().is_none_or(|w| a.level > w.0) {
                    worst = Some((a.level, kind, bit, slot, step.clone()));
                }
            }
        }
        let mut worst_path = Vec::new();
        let (levels, worst_kind) = match worst {
            None => (0, None),
            Some((levels, kind, bit, slot, end)) => {
                worst_path.push(end);
                let mut at = arrivals.get(&bit).and_then(|a| a[slot]);
                while let Some(a) = at {
                    match a.from {
                        Some((prev, via)) => {
                            worst_path.push(cell_step(&self.cells[via], ""));
                            at = arrivals.get(&prev).and_then(|p| p[slot]);
                        }
                        None => {
                            worst_path.push(self.start_step(a.start));
                            at = None;
                        }
                    }
                }
                worst_path.reverse();
                (levels, Some(kind))
            }
        };
        Ok(Report {
            module: top.to_string(),
            levels,
            by_kind,
            worst_kind,
            worst_path,
            opaque,
            resources,
        })
    }

    fn start_step(&self, d: Driver) -> Step {
        match d {
            Driver::Input(i) => port_step(self.ports[i].0, ""),
            Driver::Start(c, p) | Driver::Comb(c, p, _) => {
                cell_step(&self.cells[c], self.cells[c].pins[p].0)
            }
        }
    }
}

fn port_step(name: &str, pin: &str) -> Step {
    Step {
        name: name.to_string(),
        kind: "port".to_string(),
        pin: pin.to_string(),
    }
}

fn cell_step(cell: &CellInfo<'_>, pin: &str) -> Step {
    Step {
        name: cell.name.to_string(),
        kind: cell.kind.to_string(),
        pin: pin.to_string(),
    }
}

/// A cell pin's direction: from the cell's own `port_directions`, else the cell type's
/// module in the netlist, else by the Xilinx naming habit (outputs are `O*`, `CO`, `Q*`,
/// `P`, `DO*`), else input.
fn pin_direction<'a>(netlist: &'a Netlist, cell: &'a Cell, pin: &str) -> &'a str {
    if let Some(d) = cell.port_directions.get(pin) {
        return d;
    }
    if let Some(p) = netlist
        .modules
        .get(&cell.kind)
        .and_then(|m| m.ports.get(pin))
    {
        return &p.direction;
    }
    let out = pin == "O"
        || pin == "O5"
        || pin == "O6"
        || pin == "CO"
        || pin == "P"
        || pin.starts_with('Q')
        || pin.starts_with("DO");
    if out { "output" } else { "input" }
}
