//! Verilates `rtl/` into a C++ model (cached in OUT_DIR: Verilator's make rebuilds only
//! what changed) and links it with the small C ABI of `csrc/ztnic_sim.cpp`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let root = manifest.join("../..");
    let rtl = root.join("rtl");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    let mdir = out.join("vobj");

    println!("cargo:rerun-if-changed={}", rtl.display());
    println!("cargo:rerun-if-changed={}", rtl.join("generated").display());
    println!("cargo:rerun-if-changed=csrc/ztnic_sim.cpp");
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
    let status = Command::new(&verilator)
        .args(["--cc", "--build", "-j", &jobs])
        .args([
            "-O3",
            "--x-assign",
            "fast",
            "--x-initial",
            "fast",
            "--noassert",
        ])
        .args(["-Wno-fatal", "-Wno-lint", "-Wno-style"])
        .args(["--top-module", "ztnic_top", "--prefix", "Vztnic_top"])
        .args([
            "-CFLAGS",
            "-fPIC -O2",
            "-MAKEFLAGS",
            "OPT_FAST=-O2 OPT_SLOW=-O1",
        ])
        .arg("--Mdir")
        .arg(&mdir)
        .arg(format!("-I{}", rtl.join("generated").display()))
        .arg(format!("-I{}", rtl.display()))
        .args(&sources)
        .status()
        .expect("run verilator");
    assert!(
        status.success(),
        "verilator failed to build the RTL model (see the output above)"
    );

    // Verilator names the model archive without the `lib` prefix the linker wants.
    std::fs::copy(
        mdir.join("Vztnic_top__ALL.a"),
        out.join("libVztnic_top__ALL.a"),
    )
    .expect("copy the model archive");

    let include = verilator_include(&verilator);
    cc::Build::new()
        .cpp(true)
        .file("csrc/ztnic_sim.cpp")
        .file(include.join("verilated.cpp"))
        .file(include.join("verilated_threads.cpp"))
        .include(&mdir)
        .include(&include)
        .include(include.join("vltstd"))
        .flag_if_supported("-std=c++17")
        .flag_if_supported("-Wno-unused-parameter")
        .opt_level(2)
        .compile("ztnic_sim");

    println!("cargo:rustc-link-search=native={}", out.display());
    println!("cargo:rustc-link-lib=static=Vztnic_top__ALL");
    // the model refers back to Verilator's runtime, compiled into ztnic_sim
    println!("cargo:rustc-link-lib=static=ztnic_sim");
    println!("cargo:rustc-link-lib=dylib=stdc++");
    println!("cargo:rustc-link-lib=dylib=pthread");
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
