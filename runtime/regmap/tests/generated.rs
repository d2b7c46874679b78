//! The committed generated files must be what the generator makes from the sources.

use ztnic_regmap::{RegMap, all_outputs, stale_outputs, workspace_root};

#[test]
fn committed_generated_files_are_current() {
    let root = workspace_root();
    let outputs = all_outputs(&root).expect("register map loads");
    let stale = stale_outputs(&root, &outputs);
    assert!(
        stale.is_empty(),
        "stale generated files {stale:?}: run `cargo run -p ztnic-regmap -- generate`"
    );
}

#[test]
fn overlapping_registers_are_rejected() {
    let text = r#"
name = "t"
addr_width = 16
[[block]]
name = "a"
base = 0
type = 1
version = 1
description = "x"
regs = [
  { name = "r0", offset = 0x10, access = "rw", description = "x" },
  { name = "r1", offset = 0x10, access = "ro", description = "x" },
]
"#;
    let err = RegMap::parse(text).expect_err("overlap must be rejected");
    assert!(err.to_string().contains("overlaps"), "{err}");
}

#[test]
fn overlapping_fields_are_rejected() {
    let text = r#"
name = "t"
addr_width = 16
[[block]]
name = "a"
base = 0
type = 1
version = 1
description = "x"
regs = []
[[layout]]
name = "l"
description = "x"
width = 8
fields = [ { name = "a", lsb = 0, width = 4 }, { name = "b", lsb = 3, width = 2 } ]
"#;
    let err = RegMap::parse(text).expect_err("field overlap must be rejected");
    assert!(err.to_string().contains("overlaps"), "{err}");
}

#[test]
fn blocks_chain_through_next_pointers() {
    let root = workspace_root();
    let map = RegMap::load(&root.join(ztnic_regmap::SOURCE)).expect("loads");
    let v = map.verilog();
    for (i, b) in map.blocks.iter().enumerate() {
        let next = map.blocks.get(i + 1).map(|n| n.base).unwrap_or(0);
        let line = format!(
            "localparam [31:0] BLK_{}_NEXT = 32'h{:08x};",
            b.name.to_ascii_uppercase(),
            next
        );
        assert!(v.contains(&line), "missing {line}");
    }
}
