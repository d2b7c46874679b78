//! One RTL module at a time, Verilated at test run time: the harness of the per-module
//! tests (docs/rtl.md, "Module tests").
//!
//! [`ModuleSim::build`] finds the module in `rtl/`, Verilates its file and the files of
//! the modules it instantiates (a scan of the sources) with the given parameters, builds
//! a shared library around the small C ABI of `csrc/ztnic_unit.cpp`, and loads it.
//! Builds are cached under the cargo target directory (`target/<profile>/ztnic-unit/`),
//! keyed by the module, the parameters, the contents of every source and include it
//! uses, the shim and the Verilator version; a build goes to a temporary directory that
//! is renamed into place, so concurrent test processes never see a half-built model.
//!
//! Ports are reached by name, whatever their width, as little-endian 32-bit words:
//!
//! ```no_run
//! use ztnic_rtl_sim::unit::ModuleSim;
//! let mut m = ModuleSim::build("ztnic_fifo", &[("WIDTH", 8), ("DEPTH_LOG2", 4)])?;
//! m.set_u64("rst", 1)?;
//! m.tick("clk")?;
//! m.set_u64("rst", 0)?;
//! m.set_u64("s_data", 0x5a)?;
//! m.set_u64("s_valid", 1)?;
//! m.tick("clk")?;
//! assert_eq!(m.get_u64("count")?, 1);
//! # Ok::<(), ztnic_rtl_sim::unit::Error>(())
//! ```
//!
//! Environment: `VERILATOR` (the program, default `verilator`), `ZTNIC_RTL_DIR` (the
//! RTL directory, default the repository's `rtl/`), `ZTNIC_UNIT_CACHE` (the cache
//! directory).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ffi::{CStr, c_char, c_int, c_void};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use libloading::Library;

/// The C++ shim, compiled into every module's library (and part of the cache key).
const SHIM: &str = include_str!("../csrc/ztnic_unit.cpp");
/// Changes whenever the way a model is built changes (part of the cache key).
const RECIPE: &str = "ztnic-unit 1: --cc --exe --prefix Vunit -O3 --x-assign fast \
                      --x-initial fast; make OPT_FAST=-O1 OPT_SLOW=-O1 OPT_GLOBAL=-O1 \
                      -fPIC -DVL_USER_FINISH; -shared, version script";
const LIB_NAME: &str = "libztnic_unit.so";

/// What can go wrong building or driving a module.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "`{program}` was not found or does not run ({reason}); the module tests need \
         Verilator 5 (Debian: `apt-get install verilator`, installed by `tools/setup`), \
         or set VERILATOR=/path/to/verilator"
    )]
    VerilatorMissing { program: String, reason: String },
    #[error("no module `{module}` is declared in any {dir}/*.v")]
    UnknownModule { module: String, dir: PathBuf },
    #[error("module `{module}` has no port `{port}`")]
    UnknownPort { module: String, port: String },
    #[error("port `{port}` is {width} bits wide; the value {detail}")]
    WidthMismatch {
        port: String,
        width: u32,
        detail: String,
    },
    #[error("port `{port}` is an output; only inputs can be set")]
    NotAnInput { port: String },
    #[error("verilator rejected `{module}` with {params}:\n{log}")]
    Verilate {
        module: String,
        params: String,
        log: String,
    },
    #[error("compiling the Verilated `{module}` failed:\n{log}")]
    Compile { module: String, log: String },
    #[error("the Verilated `{module}` stopped ($error, $stop or $fatal){when}")]
    Stopped { module: String, when: &'static str },
    #[error("loading {path}: {source}")]
    Load {
        path: PathBuf,
        #[source]
        source: libloading::Error,
    },
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn io_err(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Error + use<> {
    let path = path.to_path_buf();
    move |source| Error::Io { what, path, source }
}

/// Direction of a port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Input,
    Output,
    Inout,
}

/// One port of the Verilated module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortInfo {
    pub name: String,
    /// Width in bits.
    pub width: u32,
    pub dir: Direction,
}

impl PortInfo {
    /// 32-bit words that hold the port's value.
    pub fn words(&self) -> usize {
        self.width.div_ceil(32) as usize
    }
}

type NewFn = unsafe extern "C" fn() -> *mut c_void;
type FreeFn = unsafe extern "C" fn(*mut c_void);
type SetFn = unsafe extern "C" fn(*mut c_void, c_int, *const u32);
type GetFn = unsafe extern "C" fn(*mut c_void, c_int, *mut u32);
type EvalFn = unsafe extern "C" fn(*mut c_void);
type StatusFn = unsafe extern "C" fn(*mut c_void) -> c_int;

/// A loaded model library: its entry points and its port list.
struct Model {
    // keeps the entry points below valid
    _lib: Library,
    new: NewFn,
    free: FreeFn,
    set: SetFn,
    get: GetFn,
    eval: EvalFn,
    status: StatusFn,
    ports: Vec<PortInfo>,
    by_name: HashMap<String, usize>,
}

impl Model {
    fn load(path: &Path) -> Result<Model, Error> {
        let load_err = |source| Error::Load {
            path: path.to_path_buf(),
            source,
        };
        // SAFETY: the library is one this module built from csrc/ztnic_unit.cpp; its
        // initialisers only construct the Verilated model's static tables.
        let lib = unsafe { Library::new(path) }.map_err(load_err)?;
        // SAFETY: the symbols and their signatures are those of csrc/ztnic_unit.cpp.
        unsafe {
            let new = *lib.get::<NewFn>(b"ztnic_unit_new\0").map_err(load_err)?;
            let free = *lib.get::<FreeFn>(b"ztnic_unit_free\0").map_err(load_err)?;
            let set = *lib.get::<SetFn>(b"ztnic_unit_set\0").map_err(load_err)?;
            let get = *lib.get::<GetFn>(b"ztnic_unit_get\0").map_err(load_err)?;
            let eval = *lib.get::<EvalFn>(b"ztnic_unit_eval\0").map_err(load_err)?;
            let status = *lib
                .get::<StatusFn>(b"ztnic_unit_status\0")
                .map_err(load_err)?;
            let count = *lib
                .get::<unsafe extern "C" fn() -> c_int>(b"ztnic_unit_port_count\0")
                .map_err(load_err)?;
            let name = *lib
                .get::<unsafe extern "C" fn(c_int) -> *const c_char>(b"ztnic_unit_port_name\0")
                .map_err(load_err)?;
            let dir = *lib
                .get::<unsafe extern "C" fn(c_int) -> c_int>(b"ztnic_unit_port_dir\0")
                .map_err(load_err)?;
            let width = *lib
                .get::<unsafe extern "C" fn(c_int) -> c_int>(b"ztnic_unit_port_width\0")
                .map_err(load_err)?;
            let mut ports = Vec::new();
            for i in 0..count() {
                let p = name(i);
                if p.is_null() {
                    continue;
                }
                ports.push(PortInfo {
                    name: CStr::from_ptr(p).to_string_lossy().into_owned(),
                    width: u32::try_from(width(i)).unwrap_or(0),
                    dir: match dir(i) {
                        0 => Direction::Input,
                        1 => Direction::Output,
                        _ => Direction::Inout,
                    },
                });
            }
            let by_name = ports
                .iter()
                .enumerate()
                .map(|(i, p)| (p.name.clone(), i))
                .collect();
            Ok(Model {
                _lib: lib,
                new,
                free,
                set,
                get,
                eval,
                status,
                ports,
                by_name,
            })
        }
    }
}

/// One instance of a Verilated RTL module, its ports reached by name.
pub struct ModuleSim {
    module: String,
    model: Arc<Model>,
    handle: *mut c_void,
    buf: Vec<u32>,
}

impl Drop for ModuleSim {
    fn drop(&mut self) {
        // SAFETY: `handle` came from this model's `new` and is freed once.
        unsafe { (self.model.free)(self.handle) }
    }
}

impl std::fmt::Debug for ModuleSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModuleSim")
            .field("module", &self.module)
            .field("ports", &self.model.ports)
            .finish()
    }
}

/// Libraries loaded by this process, by path (one `dlopen` per model).
static LOADED: Mutex<BTreeMap<PathBuf, Arc<Model>>> = Mutex::new(BTreeMap::new());
/// Builds in this process run one at a time (the machine's cores go to `make -j`).
static BUILDING: Mutex<()> = Mutex::new(());

impl ModuleSim {
    /// Verilates `module` of the repository's `rtl/` with `params` (Verilog parameter
    /// overrides, `-G`), or finds it in the cache, and instantiates it. All inputs start
    /// at zero; the model has been evaluated once (its `initial` blocks have run).
    pub fn build(module: &str, params: &[(&str, i64)]) -> Result<ModuleSim, Error> {
        Self::build_in(&rtl_dir(), module, params)
    }

    /// [`ModuleSim::build`] over the RTL in `rtl` (its `generated/` subdirectory is an
    /// include directory too).
    pub fn build_in(rtl: &Path, module: &str, params: &[(&str, i64)]) -> Result<ModuleSim, Error> {
        let lib = build_library(rtl, module, params)?;
        let model = {
            let mut loaded = LOADED.lock().unwrap_or_else(|e| e.into_inner());
            match loaded.get(&lib) {
                Some(m) => m.clone(),
                None => {
                    let m = Arc::new(Model::load(&lib)?);
                    loaded.insert(lib.clone(), m.clone());
                    m
                }
            }
        };
        let width = model.ports.iter().map(PortInfo::words).max().unwrap_or(1);
        // SAFETY: `new` returns a fresh model owned by the returned ModuleSim.
        let handle = unsafe { (model.new)() };
        let mut sim = ModuleSim {
            module: module.to_string(),
            model,
            handle,
            buf: vec![0; width.max(2)],
        };
        sim.eval_checked(" while starting (a parameter check?)")?;
        Ok(sim)
    }

    /// The module's name.
    pub fn module(&self) -> &str {
        &self.module
    }

    /// Every port: name, width and direction (clock and reset included).
    pub fn ports(&self) -> &[PortInfo] {
        &self.model.ports
    }

    /// One port by name.
    pub fn port(&self, port: &str) -> Result<&PortInfo, Error> {
        Ok(&self.model.ports[self.index(port)?])
    }

    /// Width of a port in bits.
    pub fn bits(&self, port: &str) -> Result<u32, Error> {
        Ok(self.port(port)?.width)
    }

    fn index(&self, port: &str) -> Result<usize, Error> {
        self.model
            .by_name
            .get(port)
            .copied()
            .ok_or_else(|| Error::UnknownPort {
                module: self.module.clone(),
                port: port.to_string(),
            })
    }

    /// Drives an input with a value given as little-endian 32-bit words (word 0 holds
    /// bits 31..0). Fewer words than the port needs are zero-extended; a set bit at or
    /// above the port's width is a [`Error::WidthMismatch`]. Takes effect at the next
    /// [`ModuleSim::eval`] or [`ModuleSim::tick`].
    pub fn set(&mut self, port: &str, value: &[u32]) -> Result<(), Error> {
        let i = self.index(port)?;
        let p = &self.model.ports[i];
        if p.dir == Direction::Output {
            return Err(Error::NotAnInput {
                port: port.to_string(),
            });
        }
        let words = p.words();
        for (k, &w) in value.iter().enumerate() {
            let lo = 32 * k as u32;
            let allowed = if lo >= p.width {
                0
            } else if p.width - lo >= 32 {
                u32::MAX
            } else {
                (1u32 << (p.width - lo)) - 1
            };
            if w & !allowed != 0 {
                return Err(Error::WidthMismatch {
                    port: port.to_string(),
                    width: p.width,
                    detail: format!(
                        "has bits set at or above bit {} (word {k} = {w:#x})",
                        p.width
                    ),
                });
            }
        }
        self.buf[..words].fill(0);
        let n = value.len().min(words);
        self.buf[..n].copy_from_slice(&value[..n]);
        // SAFETY: `i` is a port index of this model and `buf` holds its words.
        unsafe { (self.model.set)(self.handle, i as c_int, self.buf.as_ptr()) };
        Ok(())
    }

    /// Drives an input with a value of at most 64 bits.
    pub fn set_u64(&mut self, port: &str, value: u64) -> Result<(), Error> {
        self.set(port, &[value as u32, (value >> 32) as u32])
    }

    /// Drives a one-bit (or wider) input with 0 or 1.
    pub fn set_bool(&mut self, port: &str, value: bool) -> Result<(), Error> {
        self.set(port, &[u32::from(value)])
    }

    /// Drives an input with bytes, little-endian (byte `i` is bits `8i+7 .. 8i`).
    pub fn set_bytes_le(&mut self, port: &str, bytes: &[u8]) -> Result<(), Error> {
        let words: Vec<u32> = bytes
            .chunks(4)
            .map(|c| {
                let mut w = [0u8; 4];
                w[..c.len()].copy_from_slice(c);
                u32::from_le_bytes(w)
            })
            .collect();
        self.set(port, &words)
    }

    /// The current value of a port (output, or an input as last set) as little-endian
    /// 32-bit words, as many as the width needs.
    pub fn get(&mut self, port: &str) -> Result<Vec<u32>, Error> {
        let i = self.index(port)?;
        let words = self.model.ports[i].words();
        // SAFETY: `i` is a port index of this model and `buf` holds its words.
        unsafe { (self.model.get)(self.handle, i as c_int, self.buf.as_mut_ptr()) };
        Ok(self.buf[..words].to_vec())
    }

    /// The current value of a port of at most 64 bits.
    pub fn get_u64(&mut self, port: &str) -> Result<u64, Error> {
        let width = self.bits(port)?;
        if width > 64 {
            return Err(Error::WidthMismatch {
                port: port.to_string(),
                width,
                detail: "does not fit in a u64".to_string(),
            });
        }
        let w = self.get(port)?;
        Ok(u64::from(w[0]) | w.get(1).map_or(0, |&h| u64::from(h) << 32))
    }

    /// The current value of a one-bit port.
    pub fn get_bool(&mut self, port: &str) -> Result<bool, Error> {
        Ok(self.get_u64(port)? & 1 != 0)
    }

    /// The current value of a port as little-endian bytes (`ceil(width / 8)` of them).
    pub fn get_bytes_le(&mut self, port: &str) -> Result<Vec<u8>, Error> {
        let width = self.bits(port)?;
        let mut b: Vec<u8> = self
            .get(port)?
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .collect();
        b.truncate(width.div_ceil(8) as usize);
        Ok(b)
    }

    /// Evaluates the model (combinational logic and any edges of the inputs just set).
    pub fn eval(&mut self) -> Result<(), Error> {
        self.eval_checked("")
    }

    fn eval_checked(&mut self, when: &'static str) -> Result<(), Error> {
        // SAFETY: `handle` is this model's live instance.
        let status = unsafe {
            (self.model.eval)(self.handle);
            (self.model.status)(self.handle)
        };
        if status == 1 {
            return Err(Error::Stopped {
                module: self.module.clone(),
                when,
            });
        }
        Ok(())
    }

    /// One clock cycle on `clk`: the rising edge (inputs as set), then the falling edge,
    /// each evaluated. Afterwards the outputs show the state after the edge.
    pub fn tick(&mut self, clk: &str) -> Result<(), Error> {
        self.set(clk, &[1])?;
        self.eval()?;
        self.set(clk, &[0])?;
        self.eval()
    }
}

/// The repository's `rtl/` (or `ZTNIC_RTL_DIR`).
pub fn rtl_dir() -> PathBuf {
    std::env::var_os("ZTNIC_RTL_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rtl"),
        PathBuf::from,
    )
}

/// The cache of built modules: `ZTNIC_UNIT_CACHE`, or `ztnic-unit/` in the cargo
/// target directory of this build's profile.
pub fn cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("ZTNIC_UNIT_CACHE") {
        return PathBuf::from(d);
    }
    // OUT_DIR is <target>/<profile>/build/<package>-<hash>/out
    Path::new(env!("OUT_DIR"))
        .ancestors()
        .nth(3)
        .map_or_else(std::env::temp_dir, Path::to_path_buf)
        .join("ztnic-unit")
}

/// Text with comments removed (line and block comments; strings are not special, which
/// is enough to find declarations and instantiations).
fn strip_comments(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    loop {
        let line = rest.find("//");
        let block = rest.find("/*");
        match (line, block) {
            (Some(l), b) if b.is_none_or(|b| l < b) => {
                out.push_str(&rest[..l]);
                rest = rest[l..].find('\n').map_or("", |n| &rest[l + n..]);
            }
            (_, Some(b)) => {
                out.push_str(&rest[..b]);
                out.push(' ');
                rest = rest[b + 2..]
                    .find("*/")
                    .map_or("", |e| &rest[b + 2 + e + 2..]);
            }
            _ => {
                out.push_str(rest);
                return out;
            }
        }
    }
}

fn identifiers(s: &str) -> impl Iterator<Item = &str> {
    s.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '$'))
        .filter(|w| !w.is_empty())
}

/// The sources a module needs: its own file and those of the modules it instantiates
/// (transitively), found by scanning `rtl/*.v` for `module` declarations and the
/// module's text for their names; and the include files they name.
struct Sources {
    files: Vec<PathBuf>,
    includes: Vec<PathBuf>,
}

fn find_sources(rtl: &Path, module: &str) -> Result<Sources, Error> {
    let mut declared: BTreeMap<String, (PathBuf, String)> = BTreeMap::new();
    let entries = std::fs::read_dir(rtl).map_err(io_err("reading", rtl))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "v"))
        .collect();
    paths.sort();
    for p in paths {
        // a file being written by someone else may be unreadable for a moment: skip it
        let Ok(text) = std::fs::read_to_string(&p) else {
            continue;
        };
        let text = strip_comments(&text);
        let mut ids = identifiers(&text);
        while let Some(w) = ids.next() {
            if w == "module"
                && let Some(name) = ids.next()
            {
                declared.insert(name.to_string(), (p.clone(), text.clone()));
            }
        }
    }
    if !declared.contains_key(module) {
        return Err(Error::UnknownModule {
            module: module.to_string(),
            dir: rtl.to_path_buf(),
        });
    }
    let mut files = BTreeSet::new();
    let mut todo = vec![module.to_string()];
    let mut seen = BTreeSet::new();
    let mut include_names = BTreeSet::new();
    while let Some(m) = todo.pop() {
        if !seen.insert(m.clone()) {
            continue;
        }
        let Some((path, text)) = declared.get(&m) else {
            continue;
        };
        files.insert(path.clone());
        for w in identifiers(text) {
            if declared.contains_key(w) && !seen.contains(w) {
                todo.push(w.to_string());
            }
        }
        include_names.extend(included(text));
    }
    // include files, transitively, from rtl/ or rtl/generated/
    let mut includes = BTreeSet::new();
    let mut todo: Vec<String> = include_names.into_iter().collect();
    let mut seen = BTreeSet::new();
    while let Some(name) = todo.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        let found = [rtl.join(&name), rtl.join("generated").join(&name)]
            .into_iter()
            .find(|p| p.is_file());
        if let Some(p) = found {
            let text = std::fs::read_to_string(&p).map_err(io_err("reading", &p))?;
            todo.extend(included(&strip_comments(&text)));
            includes.insert(p);
        }
    }
    Ok(Sources {
        files: files.into_iter().collect(),
        includes: includes.into_iter().collect(),
    })
}

/// The file names of the `` `include "…" `` directives of a text.
fn included(text: &str) -> Vec<String> {
    text.match_indices("`include")
        .filter_map(|(i, _)| {
            let rest = &text[i + "`include".len()..];
            let open = rest.find('"')?;
            let close = rest[open + 1..].find('"')?;
            Some(rest[open + 1..open + 1 + close].to_string())
        })
        .collect()
}

/// FNV-1a, 64 bits: a stable hash for the cache key.
struct Fnv(u64);

impl Fnv {
    fn new() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    fn write(&mut self, bytes: &[u8]) {
        // length first, so that concatenations cannot collide
        for b in (bytes.len() as u64).to_le_bytes().iter().chain(bytes) {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

fn verilator() -> String {
    std::env::var("VERILATOR").unwrap_or_else(|_| "verilator".to_string())
}

fn verilator_version(program: &str) -> Result<String, Error> {
    let missing = |reason: String| Error::VerilatorMissing {
        program: program.to_string(),
        reason,
    };
    match Command::new(program).arg("--version").output() {
        Ok(o) if o.status.success() => Ok(String::from_utf8_lossy(&o.stdout).trim().to_string()),
        Ok(o) => Err(missing(format!("exit status {}", o.status))),
        Err(e) => Err(missing(e.to_string())),
    }
}

/// A unique temporary name in `dir`.
fn temp_in(dir: &Path, stem: &str) -> PathBuf {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    dir.join(format!(".tmp-{stem}-{}-{nanos}", std::process::id()))
}

/// Builds (or finds in the cache) the shared library of `module` with `params`.
fn build_library(rtl: &Path, module: &str, params: &[(&str, i64)]) -> Result<PathBuf, Error> {
    let program = verilator();
    let version = verilator_version(&program)?;
    let sources = find_sources(rtl, module)?;
    let mut params: Vec<(&str, i64)> = params.to_vec();
    params.sort();

    let mut h = Fnv::new();
    h.write(RECIPE.as_bytes());
    h.write(version.as_bytes());
    h.write(SHIM.as_bytes());
    h.write(module.as_bytes());
    for (k, v) in &params {
        h.write(k.as_bytes());
        h.write(&v.to_le_bytes());
    }
    for p in sources.files.iter().chain(&sources.includes) {
        let text = std::fs::read(p).map_err(io_err("reading", p))?;
        h.write(p.file_name().map_or(&[][..], |n| n.as_encoded_bytes()));
        h.write(&text);
    }
    let cache = cache_dir();
    let dir = cache.join(format!("{module}-{:016x}", h.0));
    let lib = dir.join(LIB_NAME);
    if lib.is_file() {
        return Ok(lib);
    }

    let _guard = BUILDING.lock().unwrap_or_else(|e| e.into_inner());
    if lib.is_file() {
        return Ok(lib);
    }
    std::fs::create_dir_all(&cache).map_err(io_err("creating", &cache))?;
    let tmp = temp_in(&cache, module);
    let result = build_into(
        &tmp, rtl, &program, &version, module, &params, &sources, &cache,
    );
    let result = result.and_then(|()| match std::fs::rename(&tmp, &dir) {
        Ok(()) => Ok(()),
        // another process finished the same build first: use its copy
        Err(_) if lib.is_file() => Ok(()),
        Err(e) => Err(io_err("renaming into", &dir)(e)),
    });
    let _ = std::fs::remove_dir_all(&tmp);
    result.map(|()| lib)
}

/// Runs a command, returning its combined output as the error text on failure.
fn run(cmd: &mut Command) -> Result<(), String> {
    match cmd.output() {
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => Err(format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )),
        Err(e) => Err(format!("could not run {cmd:?}: {e}")),
    }
}

#[allow(clippy::too_many_arguments)]
fn build_into(
    tmp: &Path,
    rtl: &Path,
    program: &str,
    version: &str,
    module: &str,
    params: &[(&str, i64)],
    sources: &Sources,
    cache: &Path,
) -> Result<(), Error> {
    let obj = tmp.join("obj");
    std::fs::create_dir_all(&obj).map_err(io_err("creating", &obj))?;
    let shim = tmp.join("ztnic_unit.cpp");
    std::fs::write(&shim, SHIM).map_err(io_err("writing", &shim))?;
    let script = tmp.join("exports.map");
    std::fs::write(&script, "{ global: ztnic_unit_*; local: *; };\n")
        .map_err(io_err("writing", &script))?;

    let param_text = if params.is_empty() {
        "default parameters".to_string()
    } else {
        params
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut cmd = Command::new(program);
    cmd.args(["--cc", "--exe", "--prefix", "Vunit", "--top-module", module])
        .args(["-O3", "--x-assign", "fast", "--x-initial", "fast"])
        .args(["-Wno-fatal", "-Wno-lint", "-Wno-style"])
        .arg("-Mdir")
        .arg(&obj)
        .args(["-o", LIB_NAME]);
    cmd.arg(format!("-I{}", rtl.display()))
        .arg(format!("-I{}", rtl.join("generated").display()));
    for (k, v) in params {
        cmd.arg(format!("-G{k}={v}"));
    }
    cmd.args(["-CFLAGS", "-fPIC -DVL_USER_FINISH"])
        .arg("-LDFLAGS")
        .arg(format!("-shared -Wl,--version-script={}", script.display()))
        .args(&sources.files)
        .arg(&shim);
    run(&mut cmd).map_err(|log| Error::Verilate {
        module: module.to_string(),
        params: param_text,
        log,
    })?;

    let header = obj.join("Vunit.h");
    let text = std::fs::read_to_string(&header).map_err(io_err("reading", &header))?;
    let ports = obj.join("ztnic_unit_ports.h");
    std::fs::write(&ports, port_table(&text)).map_err(io_err("writing", &ports))?;

    // Verilator's runtime (verilated.o, verilated_threads.o) is the same for every
    // module: compiled once, kept next to the models
    let runtime = {
        let mut h = Fnv::new();
        h.write(RECIPE.as_bytes());
        h.write(version.as_bytes());
        cache.join(format!("verilated-{:016x}", h.0))
    };
    const RUNTIME_OBJS: [&str; 2] = ["verilated.o", "verilated_threads.o"];
    if RUNTIME_OBJS.iter().all(|o| runtime.join(o).is_file()) {
        for o in RUNTIME_OBJS {
            std::fs::copy(runtime.join(o), obj.join(o)).map_err(io_err("copying", &runtime))?;
        }
    }
    let jobs = std::thread::available_parallelism().map_or(2, |n| n.get().min(4));
    run(Command::new("make")
        .arg(format!("-j{jobs}"))
        .arg("-C")
        .arg(&obj)
        .args(["-f", "Vunit.mk"])
        .args(["OPT_FAST=-O1", "OPT_SLOW=-O1", "OPT_GLOBAL=-O1"]))
    .map_err(|log| Error::Compile {
        module: module.to_string(),
        log,
    })?;
    if !runtime.is_dir() {
        let t = temp_in(cache, "verilated");
        let saved = std::fs::create_dir_all(&t).is_ok()
            && RUNTIME_OBJS
                .iter()
                .all(|o| std::fs::copy(obj.join(o), t.join(o)).is_ok());
        // losing the race to another process is fine: its copy is the same
        if !saved || std::fs::rename(&t, &runtime).is_err() {
            let _ = std::fs::remove_dir_all(&t);
        }
    }
    let built = obj.join(LIB_NAME);
    std::fs::rename(&built, tmp.join(LIB_NAME)).map_err(io_err("moving", &built))?;
    std::fs::remove_dir_all(&obj).map_err(io_err("removing", &obj))?;
    Ok(())
}

/// The `UNIT_PORT(name, dir, width)` lines of the ports Verilator declared in `Vunit.h`
/// (`VL_IN8(&clk,0,0);`, `VL_OUTW(&data,311,0,10);`, …).
fn port_table(header: &str) -> String {
    let mut out = String::new();
    for line in header.lines() {
        let line = line.trim();
        let dir = if line.starts_with("VL_INOUT") {
            2
        } else if line.starts_with("VL_IN") {
            0
        } else if line.starts_with("VL_OUT") {
            1
        } else {
            continue;
        };
        let Some(args) = line
            .split_once("(&")
            .and_then(|(_, a)| a.split_once(')'))
            .map(|(a, _)| a)
        else {
            continue;
        };
        let mut f = args.split(',').map(str::trim);
        let (Some(name), Some(msb), Some(lsb)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        let (Ok(msb), Ok(lsb)) = (msb.parse::<i64>(), lsb.parse::<i64>()) else {
            continue;
        };
        let width = (msb - lsb).abs() + 1;
        out.push_str(&format!("UNIT_PORT({name}, {dir}, {width})\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_are_stripped() {
        let s = "a // b\nc /* d\ne */ f";
        assert_eq!(
            identifiers(&strip_comments(s)).collect::<Vec<_>>(),
            ["a", "c", "f"]
        );
    }

    #[test]
    fn the_port_table_covers_every_kind() {
        let h = "  VL_IN8(&clk,0,0);\n  VL_OUT(&crc,31,0);\n  VL_IN64(&data,39,0);\n\
                 VL_INW(&msg,375,0,12);\n VL_OUT16(&c,15,0);\n VL_INOUT8(&io,3,0);\n";
        assert_eq!(
            port_table(h),
            "UNIT_PORT(clk, 0, 1)\nUNIT_PORT(crc, 1, 32)\nUNIT_PORT(data, 0, 40)\n\
             UNIT_PORT(msg, 0, 376)\nUNIT_PORT(c, 1, 16)\nUNIT_PORT(io, 2, 4)\n"
        );
    }

    #[test]
    fn a_module_unknown_to_rtl_is_refused() {
        match find_sources(&rtl_dir(), "ztnic_no_such_module") {
            Err(Error::UnknownModule { module, .. }) => assert_eq!(module, "ztnic_no_such_module"),
            other => panic!("{:?}", other.map(|s| s.files)),
        }
    }

    #[test]
    fn the_sources_are_the_module_and_what_it_instantiates() {
        let s = find_sources(&rtl_dir(), "ztnic_crc_pipe").expect("rtl/");
        let names: Vec<_> = s.files.iter().filter_map(|p| p.file_name()).collect();
        assert_eq!(names, ["ztnic_crc_pipe.v"]);
        let s = find_sources(&rtl_dir(), "ztnic_top").expect("rtl/");
        let names: Vec<String> = s
            .files
            .iter()
            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect();
        for f in ["ztnic_top.v", "ztnic_fifo.v", "ztnic_ram_dp.v"] {
            assert!(names.iter().any(|n| n == f), "{f} missing from {names:?}");
        }
        assert!(s.includes.iter().any(|p| p.ends_with("ztnic_regmap.vh")));
    }

    #[test]
    fn a_missing_verilator_is_named() {
        match verilator_version("/nonexistent/verilator") {
            Err(Error::VerilatorMissing { program, .. }) => {
                assert_eq!(program, "/nonexistent/verilator");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn ports_are_discovered_and_misuse_is_a_typed_error() -> Result<(), Error> {
        let mut m = ModuleSim::build("ztnic_fifo", &[("WIDTH", 40), ("DEPTH_LOG2", 2)])?;
        let ports: Vec<_> = m
            .ports()
            .iter()
            .map(|p| (p.name.as_str(), p.width, p.dir))
            .collect();
        for p in [
            ("clk", 1, Direction::Input),
            ("s_data", 40, Direction::Input),
            ("m_data", 40, Direction::Output),
            ("count", 4, Direction::Output),
        ] {
            assert!(ports.contains(&p), "{p:?} not in {ports:?}");
        }
        assert_eq!(m.bits("s_data")?, 40);
        assert!(matches!(
            m.set_u64("s_data", 1 << 40),
            Err(Error::WidthMismatch { width: 40, .. })
        ));
        assert!(matches!(
            m.set("s_data", &[0, 0x100]),
            Err(Error::WidthMismatch { .. })
        ));
        assert!(matches!(
            m.set_u64("m_valid", 1),
            Err(Error::NotAnInput { .. })
        ));
        assert!(matches!(m.get("nope"), Err(Error::UnknownPort { .. })));
        assert!(matches!(m.tick("nope"), Err(Error::UnknownPort { .. })));

        // two instances of one model keep their own state
        let mut other = ModuleSim::build("ztnic_fifo", &[("DEPTH_LOG2", 2), ("WIDTH", 40)])?;
        m.set("s_data", &[0xdead_beef, 0xa5])?;
        m.set_bool("s_valid", true)?;
        m.set_bool("m_ready", false)?;
        m.tick("clk")?;
        m.set_bool("s_valid", false)?;
        m.tick("clk")?;
        assert_eq!(m.get_u64("count")?, 1);
        assert!(m.get_bool("m_valid")?);
        assert_eq!(m.get("m_data")?, [0xdead_beef, 0xa5]);
        assert_eq!(m.get_bytes_le("m_data")?, [0xef, 0xbe, 0xad, 0xde, 0xa5]);
        other.tick("clk")?;
        assert_eq!(other.get_u64("count")?, 0);

        let mut wide = ModuleSim::build("ztnic_fifo", &[("WIDTH", 100), ("DEPTH_LOG2", 2)])?;
        assert!(matches!(
            wide.get_u64("m_data"),
            Err(Error::WidthMismatch { width: 100, .. })
        ));
        assert_eq!(wide.get("m_data")?.len(), 4);
        Ok(())
    }

    #[test]
    fn an_unknown_module_is_refused_before_verilator_runs() {
        assert!(matches!(
            ModuleSim::build("ztnic_no_such_module", &[]),
            Err(Error::UnknownModule { .. })
        ));
    }
}
