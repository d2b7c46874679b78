//! `p4/reasons.p4`, generated from the reference model's reason enums — the one
//! source of the drop and punt codes (docs/datapath.md section 9).

use std::fmt::Write;

use ztnic_model::{DropReason, PuntReason};

/// The committed file's path relative to the repository root.
pub const REASONS_P4: &str = "p4/reasons.p4";

/// The text of `p4/reasons.p4` for the model's current enums.
pub fn reasons_p4() -> String {
    let mut s = String::new();
    s.push_str(
        "// Drop and punt reason codes of the ztnic datapath.\n\
         // GENERATED from ztnic_model's DropReason / PuntReason (runtime/model/src/reason.rs)\n\
         // by `ZTNIC_BLESS=1 cargo test -p ztnic-bmv2-tests --test reasons`; do not edit.\n\
         #ifndef ZTNIC_REASONS_P4\n#define ZTNIC_REASONS_P4\n\n",
    );
    for r in DropReason::ALL {
        let _ = writeln!(
            s,
            "const bit<8> DROP_{} = {};",
            r.name().to_uppercase(),
            r.code()
        );
    }
    let drops = DropReason::ALL.iter().map(|r| r.code()).max().unwrap_or(0);
    s.push_str("// Size of the `drops` counter array: one above the highest drop code.\n");
    let _ = writeln!(
        s,
        "const bit<32> DROP_REASONS = {};\n",
        u32::from(drops) + 1
    );
    for r in PuntReason::ALL {
        let _ = writeln!(
            s,
            "const bit<8> PUNT_{} = {};",
            r.name().to_uppercase(),
            r.code()
        );
    }
    let punts = PuntReason::ALL.iter().map(|r| r.code()).max().unwrap_or(0);
    s.push_str("// Size of the `punts` counter array: one above the highest punt code.\n");
    let _ = writeln!(
        s,
        "const bit<32> PUNT_REASONS = {};\n",
        u32::from(punts) + 1
    );
    s.push_str("#endif\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_gets_a_constant_with_its_code() {
        let text = reasons_p4();
        assert!(text.contains("const bit<8> DROP_UNKNOWN_PORT = 1;"));
        assert!(text.contains("const bit<8> PUNT_CT_FULL = 7;"));
        for r in DropReason::ALL {
            assert!(text.contains(&format!("DROP_{} = {};", r.name().to_uppercase(), r.code())));
        }
        for r in PuntReason::ALL {
            assert!(text.contains(&format!("PUNT_{} = {};", r.name().to_uppercase(), r.code())));
        }
    }
}
