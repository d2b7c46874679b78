//! Verilates `rtl/` into two C++ models (cached in OUT_DIR: Verilator's make rebuilds
//! only what changed): the datapath `ztnic_top` and the OpenNIC shell wrapper
//! `ztnic_opennic` around it, and links them with the small C ABIs of
//! `csrc/ztnic_sim.cpp` and `csrc/ztnic_opennic_sim.cpp`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let root = manifest.join("../..");
    let rtl = root.join("rtl");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));

    println!("cargo:rerun-if-changed={}", rtl.display());
    println!("cargo:rerun-if-changed={}", rtl.join("generated").display());
    println!("cargo:rerun-if-changed=csrc/ztnic_sim.cpp");
    println!("cargo:rerun-if-changed=csrc/ztnic_opennic_sim.cpp");
    println!("cargo:rerun-if-env-changed=VERILATOR");

    let verilator = std::env::var("VERILATOR").unwrap_or_else(|_| "verilator".to_string());
    match Command::new(&verilator).arg("--version").output() {
        Ok(o) if o.status.success() => {}
        _ => panic!(
            "\n\nztnic-rtl-sim: `{verilator}` was not found or does not run.\n\
             The RTL binding needs Verilator 5 (Debian: `apt-get install verilator`,\n\
             installed by `tools/setup`), or set VERILATOR=/path/to/verilator.\n\n"
        ),
    }

    let mut sources: Vec<PathBuf> = std::fs::read_dir(&rtl)
        .expect("read rtl/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "v"))
        .collect();
    sources.sort();
    for s in &sources {
        println!("cargo:rerun-if-changed={}", s.display());
    }
    for h in std::fs::read_dir(&rtl).expect("read rtl/").flatten() {
        if h.path().extension().is_some_and(|x| x == "vh") {
            println!("cargo:rerun-if-changed={}", h.path().display());
        }
    }
    for g in std::fs::read_dir(rtl.join("generated"))
        .expect("read rtl/generated")
        .flatten()
    {
        println!("cargo:rerun-if-changed={}", g.path().display());
    }

    let jobs = std::env::var("NUM_JOBS").unwrap_or_else(|_| "2".to_string());
    let rtl_dirs = [rtl.join("generated"), rtl.clone()];
    // the datapath alone, one clock
    verilate(
        &verilator,
        &jobs,
        &rtl_dirs,
        &sources,
        &out,
        "ztnic_top",
        &[],
        "-O2",
    );
    // the OpenNIC shell wrapper around it, two clocks; time from the ts_us input
    verilate(
        &verilator,
        &jobs,
        &rtl_dirs,
        &sources,
        &out,
        "ztnic_opennic",
        &["-GTS_EXTERNAL=1"],
        "-O1",
    );

    let include = verilator_include(&verilator);
    cc::Build::new()
        .cpp(true)
        .file("csrc/ztnic_sim.cpp")
        .file("csrc/ztnic_opennic_sim.cpp")
        .file(include.join("verilated.cpp"))
        .file(include.join("verilated_threads.cpp"))
        .include(out.join("vobj"))
        .include(out.join("vobj-ztnic_opennic"))
        .include(&include)
        .include(include.join("vltstd"))
        .flag_if_supported("-std=c++17")
        .flag_if_supported("-Wno-unused-parameter")
        .opt_level(2)
        .compile("ztnic_sim");

    println!("cargo:rustc-link-search=native={}", out.display());
    println!("cargo:rustc-link-lib=static=Vztnic_top__ALL");
    println!("cargo:rustc-link-lib=static=Vztnic_opennic__ALL");
    // the model refers back to Verilator's runtime, compiled into ztnic_sim
    println!("cargo:rustc-link-lib=static=ztnic_sim");
    println!("cargo:rustc-link-lib=dylib=stdc++");
    println!("cargo:rustc-link-lib=dylib=pthread");
}

/// Verilates `top` from `sources` into `OUT_DIR/vobj` (`ztnic_top`) or
/// `OUT_DIR/vobj-<top>`, builds its archive and copies it to `OUT_DIR/libV<top>__ALL.a`.
/// `opt` is the C++ optimisation of the model's code.
#[allow(clippy::too_many_arguments)]
fn verilate(
    verilator: &str,
    jobs: &str,
    include: &[PathBuf],
    sources: &[PathBuf],
    out: &Path,
    top: &str,
    extra: &[&str],
    opt: &str,
) {
    // the datapath's model keeps the directory it always had (its cached objects)
    let mdir = if top == "ztnic_top" {
        out.join("vobj")
    } else {
        out.join(format!("vobj-{top}"))
    };
    let prefix = format!("V{top}");
    let status = Command::new(verilator)
        .args(["--cc", "--build", "-j", jobs])
        .args([
            "-O3",
            "--x-assign",
            "fast",
            "--x-initial",
            "fast",
            "--noassert",
        ])
        .args(["-Wno-fatal", "-Wno-lint", "-Wno-style"])
        .args(["--top-module", top, "--prefix", &prefix])
        .args(extra)
        .args([
            "-CFLAGS",
            &format!("-fPIC {opt}"),
            "-MAKEFLAGS",
            &format!("OPT_FAST={opt} OPT_SLOW=-O1"),
        ])
        .arg("--Mdir")
        .arg(&mdir)
        .args(include.iter().map(|d| format!("-I{}", d.display())))
        .args(sources)
        .status()
        .expect("run verilator");
    assert!(
        status.success(),
        "verilator failed to build the {top} model (see the output above)"
    );

    // Verilator names the model archive without the `lib` prefix the linker wants.
    std::fs::copy(
        mdir.join(format!("{prefix}__ALL.a")),
        out.join(format!("lib{prefix}__ALL.a")),
    )
    .expect("copy the model archive");
}

/// Verilator's include directory (`$VERILATOR_ROOT/include`).
fn verilator_include(verilator: &str) -> PathBuf {
    if let Ok(o) = Command::new(verilator)
        .arg("--getenv")
        .arg("VERILATOR_ROOT")
        .output()
    {
        let root = String::from_utf8_lossy(&o.stdout).trim().to_string();
        let p = Path::new(&root).join("include");
        if p.join("verilated.h").exists() {
            return p;
        }
    }
    PathBuf::from("/usr/share/verilator/include")
}
