//! Compiling `p4/ztnic.p4` with `p4c-bm2-ss`, the same way the committed
//! artifacts in `p4/build/` were made, so a fresh compile can be compared with them.

use std::path::{Path, PathBuf};
use std::process::Command;

use ztnic_bmv2::tools::{P4C, find, repo_root};

/// The program's path relative to the repository root, as given to p4c (it is
/// recorded in the JSON's source information, so it must not vary).
pub const ZTNIC_P4: &str = "p4/ztnic.p4";
/// Committed bmv2 JSON, relative to the repository root.
pub const ZTNIC_JSON: &str = "p4/build/ztnic.json";
/// Committed P4Info in protobuf text format, relative to the repository root.
pub const ZTNIC_P4INFO: &str = "p4/build/ztnic.p4info.txtpb";
/// The p4c version that produced the committed JSON, relative to the repository root.
pub const ZTNIC_P4C_VERSION: &str = "p4/build/p4c-version.txt";

/// Output files of one compile.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub json: PathBuf,
    pub p4info: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    #[error("{P4C} is not on PATH")]
    NoCompiler,
    #[error("running {P4C}: {0}")]
    Spawn(#[from] std::io::Error),
    #[error("{P4C} failed on {program}:\n{stderr}")]
    Failed { program: String, stderr: String },
}

/// The version line of `p4c-bm2-ss --version` (e.g. `Version 1.2.4.8 (SHA: ...)`).
pub fn version() -> Result<String, CompileError> {
    let p4c = find(P4C).ok_or(CompileError::NoCompiler)?;
    let out = Command::new(p4c).arg("--version").output()?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let line = text
        .lines()
        .find(|l| l.contains("Version"))
        .or_else(|| text.lines().find(|l| !l.trim().is_empty()))
        .unwrap_or("");
    Ok(line.trim().to_string())
}

/// Compiles `program` (relative to the repository root) into `out_dir` as
/// `<stem>.json` and `<stem>.p4info.txtpb`.
pub fn compile(program: &str, out_dir: &Path) -> Result<Compiled, CompileError> {
    let p4c = find(P4C).ok_or(CompileError::NoCompiler)?;
    let stem = Path::new(program)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("out")
        .to_string();
    let json = out_dir.join(format!("{stem}.json"));
    // p4c picks the P4Info format from the extension: `.txtpb` is protobuf text.
    let p4info = out_dir.join(format!("{stem}.p4info.txtpb"));
    let out = Command::new(p4c)
        .current_dir(repo_root())
        .args(["--arch", "v1model", "--std", "p4-16", "-o"])
        .arg(&json)
        .arg("--p4runtime-files")
        .arg(&p4info)
        .arg(program)
        .output()?;
    if !out.status.success() {
        return Err(CompileError::Failed {
            program: program.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    Ok(Compiled { json, p4info })
}
