//! The committed p4/build/trivial_fwd.{json,p4info.txtpb} are what p4c makes
//! of p4/trivial_fwd.p4 today (design contract §9). Skips loudly without p4c.
#![allow(clippy::unwrap_used)]

mod bmv2;

use std::path::Path;
use std::process::Command;

const TEST: &str = "trivial_fwd_artifacts_match_a_fresh_p4c_compile";

/// Runs as a libtest-mimic trial so that a missing p4c reports the test as
/// ignored (with one SKIP line), never as passed.
fn main() {
    let args = libtest_mimic::Arguments::from_args();
    let trial = match bmv2::on_path("p4c-bm2-ss") {
        None => {
            bmv2::skip(TEST, "p4c-bm2-ss not on PATH");
            libtest_mimic::Trial::test(TEST, || Err("p4c-bm2-ss not on PATH".into()))
                .with_ignored_flag(true)
        }
        Some(p4c) => libtest_mimic::Trial::test(TEST, move || {
            trivial_fwd_artifacts_match_a_fresh_p4c_compile(&p4c);
            Ok(())
        }),
    };
    libtest_mimic::run(&args, vec![trial]).exit();
}

fn trivial_fwd_artifacts_match_a_fresh_p4c_compile(p4c: &Path) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = std::env::temp_dir().join(format!("ztnic-p4c-{}", std::process::id()));
    std::fs::create_dir_all(&out).unwrap();
    let (json, p4info) = (
        out.join("trivial_fwd.json"),
        out.join("trivial_fwd.p4info.txtpb"),
    );
    // Same relative source path as the committed build, so embedded source
    // references agree.
    let status = Command::new(p4c)
        .current_dir(&root)
        .args(["--arch", "v1model", "--p4runtime-files"])
        .arg(&p4info)
        .arg("-o")
        .arg(&json)
        .arg("p4/trivial_fwd.p4")
        .status()
        .unwrap();
    assert!(status.success(), "p4c-bm2-ss failed on p4/trivial_fwd.p4");
    for (fresh, name) in [
        (&json, "trivial_fwd.json"),
        (&p4info, "trivial_fwd.p4info.txtpb"),
    ] {
        let committed = std::fs::read(bmv2::artifact(name)).unwrap_or_default();
        assert!(
            std::fs::read(fresh).unwrap() == committed,
            "p4/build/{name} is stale: recompile with `p4c-bm2-ss --arch v1model --p4runtime-files p4/build/trivial_fwd.p4info.txtpb -o p4/build/trivial_fwd.json p4/trivial_fwd.p4`"
        );
    }
    std::fs::remove_dir_all(&out).unwrap();
}
