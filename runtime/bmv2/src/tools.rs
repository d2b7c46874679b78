//! Finding external tools on `PATH`, the one loud line a test prints when it has
//! to skip because a tool is missing, and where the P4 program and its artifacts are.

use std::path::{Path, PathBuf};

/// The P4 compiler for bmv2's simple_switch.
pub const P4C: &str = "p4c-bm2-ss";
/// bmv2's simple_switch with the P4Runtime gRPC server.
pub const SIMPLE_SWITCH_GRPC: &str = "simple_switch_grpc";

/// The path of `name` if an executable of that name is on `PATH`.
pub fn find(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// The line a test prints when it cannot run its real check. It names the test and
/// the reason, so a skipped check is never mistaken for a passed one.
pub fn skip_line(test: &str, reason: &str) -> String {
    format!("SKIPPED (not a pass): {test}: {reason}")
}

/// Prints [`skip_line`] straight to stderr (not through `eprintln!`, which the
/// test harness captures and hides for tests that return normally).
pub fn skip(test: &str, reason: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{}", skip_line(test, reason));
}

/// The repository root (this crate lives in `runtime/bmv2`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("../.."))
}

/// The directory holding the P4 sources.
pub fn p4_dir() -> PathBuf {
    repo_root().join("p4")
}

/// The directory holding the committed P4 artifacts.
pub fn p4_build_dir() -> PathBuf {
    p4_dir().join("build")
}

/// The committed bmv2 JSON of the ztnic program (`p4/build/ztnic.json`): the
/// device configuration a controller loads into a switch with the committed P4Info.
pub fn ztnic_json() -> PathBuf {
    p4_build_dir().join("ztnic.json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skip_line_says_it_is_not_a_pass_and_names_the_test() {
        let l = skip_line("scenario tcp_handshake", "simple_switch_grpc not on PATH");
        assert!(l.starts_with("SKIPPED (not a pass): scenario tcp_handshake:"));
        assert!(l.contains("simple_switch_grpc"));
    }

    #[test]
    fn a_tool_that_does_not_exist_is_not_found() {
        assert_eq!(find("ztnic-no-such-tool-anywhere"), None);
    }

    #[test]
    fn the_p4_dir_holds_the_program() {
        assert!(p4_dir().join("ztnic.p4").is_file());
    }
}
