//! The committed P4 artifacts (`p4/build/ztnic.json`, `p4/build/ztnic.p4info.txtpb`)
//! must be what the sources compile to. Needs `p4c-bm2-ss` on PATH; without it the
//! check is reported as ignored, with one loud line saying why.
//! `ZTNIC_BLESS=1` rewrites the artifacts.

use libtest_mimic::{Arguments, Failed, Trial};
use ztnic_bmv2::tools::{P4C, find, repo_root, skip};
use ztnic_bmv2_tests::p4c::{
    ZTNIC_JSON, ZTNIC_P4, ZTNIC_P4C_VERSION, ZTNIC_P4INFO, compile, version,
};

const TEST: &str = "committed_p4_artifacts_match_a_fresh_compile";

fn main() {
    let args = Arguments::from_args();
    let trial = Trial::test(TEST, check);
    let trial = if find(P4C).is_none() {
        skip(
            TEST,
            &format!("{P4C} is not on PATH; the P4 artifacts were not checked"),
        );
        trial.with_ignored_flag(true)
    } else {
        trial
    };
    libtest_mimic::run(&args, vec![trial]).exit();
}

fn check() -> Result<(), Failed> {
    let root = repo_root();
    let dir = tempfile::tempdir()?;
    let fresh = compile(ZTNIC_P4, dir.path())?;
    let ver = version()?;
    let fresh_json = std::fs::read_to_string(&fresh.json)?;
    let fresh_info = std::fs::read_to_string(&fresh.p4info)?;
    if std::env::var_os("ZTNIC_BLESS").is_some() {
        std::fs::write(root.join(ZTNIC_JSON), &fresh_json)?;
        std::fs::write(root.join(ZTNIC_P4INFO), &fresh_info)?;
        std::fs::write(root.join(ZTNIC_P4C_VERSION), format!("{ver}\n"))?;
    }
    let bless = "regenerate with `ZTNIC_BLESS=1 cargo test -p ztnic-bmv2-tests --test artifacts`";
    let info = std::fs::read_to_string(root.join(ZTNIC_P4INFO)).unwrap_or_default();
    if info != fresh_info {
        return Err(format!("{ZTNIC_P4INFO} is stale: {bless}").into());
    }
    let committed_ver = std::fs::read_to_string(root.join(ZTNIC_P4C_VERSION)).unwrap_or_default();
    if committed_ver.trim() != ver {
        // Another compiler version lays the JSON out differently; the P4Info check
        // above still ran.
        skip(
            &format!("{TEST} (JSON part)"),
            &format!(
                "the committed JSON comes from `{}`, this machine has `{ver}`",
                committed_ver.trim()
            ),
        );
        return Ok(());
    }
    let json = std::fs::read_to_string(root.join(ZTNIC_JSON)).unwrap_or_default();
    if json != fresh_json {
        return Err(format!("{ZTNIC_JSON} is stale: {bless}").into());
    }
    Ok(())
}
