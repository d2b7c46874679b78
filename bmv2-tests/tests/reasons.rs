//! `p4/reasons.p4` must be exactly what the model's reason enums generate.
//! `ZTNIC_BLESS=1` rewrites it.

use ztnic_bmv2::tools::repo_root;
use ztnic_bmv2_tests::reasons::{REASONS_P4, reasons_p4};

#[test]
fn committed_reasons_p4_matches_the_model_enums() {
    let path = repo_root().join(REASONS_P4);
    let want = reasons_p4();
    if std::env::var_os("ZTNIC_BLESS").is_some() {
        std::fs::write(&path, &want).expect("write p4/reasons.p4");
    }
    let have = std::fs::read_to_string(&path).expect("read p4/reasons.p4");
    assert!(
        have == want,
        "{REASONS_P4} is stale: regenerate it with \
         `ZTNIC_BLESS=1 cargo test -p ztnic-bmv2-tests --test reasons`"
    );
}
