//! The level estimator on small modules whose depth is known, synthesised by yosys
//! (`synth_xilinx -family xcup`, as `tools/synth-rtl --modules` does), and on hand-written
//! netlists for the odd cases (loops, constants, unknown cells, malformed files).

use std::path::Path;
use std::process::Command;

use ztnic_synth::{Netlist, PathKind, Report};

/// Synthesises `verilog` (top module `top`) with yosys and analyses it; `None` (after
/// saying why) when yosys is not installed.
fn synth(verilog: &str, top: &str) -> Option<Report> {
    let yosys = std::env::var("YOSYS").unwrap_or_else(|_| "yosys".to_string());
    if Command::new(&yosys).arg("-V").output().is_err() {
        eprintln!(
            "SKIPPED: `{yosys}` is not on PATH (apt-get install yosys); the estimator is not checked against real netlists"
        );
        return None;
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    let src = dir.path().join("t.v");
    let json = dir.path().join("t.json");
    std::fs::write(&src, verilog).expect("write the Verilog");
    let script = format!(
        "read_verilog {}; synth_xilinx -family xcup -noiopad -top {top}; write_json {}",
        src.display(),
        json.display()
    );
    let out = Command::new(&yosys)
        .args(["-q", "-p", &script])
        .output()
        .expect("run yosys");
    assert!(
        out.status.success(),
        "yosys failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(analyse_file(&json, top))
}

fn analyse_file(json: &Path, top: &str) -> Report {
    let text = std::fs::read_to_string(json).expect("read the netlist");
    let netlist = Netlist::from_json(&text).expect("parse the netlist");
    netlist.analyse(top).expect("analyse")
}

fn kind(r: &Report, k: PathKind) -> Option<u32> {
    r.by_kind.get(&k).copied()
}

fn count(r: &Report, ty: &str) -> usize {
    r.worst_path
        .iter()
        .filter(|s| s.kind.starts_with(ty))
        .count()
}

#[test]
fn a_two_input_and_is_one_level_from_input_to_output() {
    let Some(r) = synth(
        "module t(input wire a, input wire b, output wire y); assign y = a & b; endmodule",
        "t",
    ) else {
        return;
    };
    assert_eq!(r.levels, 1);
    assert_eq!(kind(&r, PathKind::InToOut), Some(1));
    assert_eq!(kind(&r, PathKind::RegToReg), None);
    assert_eq!(r.resources.luts, 1);
    assert_eq!(r.worst_path.first().map(|s| s.kind.as_str()), Some("port"));
    assert_eq!(r.worst_path.last().map(|s| s.name.as_str()), Some("y"));
}

#[test]
fn a_registered_and_is_one_level_between_registers() {
    let Some(r) = synth(
        "module t(input wire clk, input wire a, input wire b, output reg y);
         reg a_reg, b_reg;
         always @(posedge clk) begin a_reg <= a; b_reg <= b; y <= a_reg & b_reg; end
         endmodule",
        "t",
    ) else {
        return;
    };
    assert_eq!(kind(&r, PathKind::RegToReg), Some(1));
    // the inputs go straight into flip-flops, the output comes straight from one
    assert_eq!(kind(&r, PathKind::InToReg), Some(0));
    assert_eq!(kind(&r, PathKind::RegToOut), Some(0));
    assert_eq!(r.resources.ffs, 3);
    assert!(
        r.worst_path
            .first()
            .is_some_and(|s| s.kind == "FDRE" && s.pin == "Q")
    );
    assert!(
        r.worst_path
            .last()
            .is_some_and(|s| s.kind == "FDRE" && s.pin == "D")
    );
}

/// The parity of `w` registered bits into a register. One level is at most a LUT6 with
/// MUXF7+MUXF8(+MUXF9) behind it: a function of at most 9 inputs (yosys uses the MUXFs for
/// 7 and 8 inputs). So 6 and 8 bits need 1 level, 36 bits 2 (6 x 6; 9 < 36 <= 81), and
/// 216 bits 3 (81 < 216 = 6^3): the lower bounds, which yosys meets.
const PARITY: &str =
    "module t #(parameter W = 6) (input wire clk, input wire [W-1:0] d, output reg q);
    reg [W-1:0] d_reg;
    always @(posedge clk) begin d_reg <= d; q <= ^d_reg; end
    endmodule";

#[test]
fn a_parity_tree_has_the_levels_of_a_six_input_lut_tree() {
    for (w, levels) in [(6, 1), (8, 1), (36, 2), (216, 3)] {
        let Some(r) = synth(&PARITY.replace("W = 6", &format!("W = {w}")), "t") else {
            return;
        };
        assert_eq!(
            kind(&r, PathKind::RegToReg),
            Some(levels),
            "parity of {w} bits"
        );
        let luts_on_path = r
            .worst_path
            .iter()
            .filter(|s| s.kind.starts_with("LUT"))
            .count();
        assert_eq!(
            luts_on_path, levels as usize,
            "parity of {w} bits: {:?}",
            r.worst_path
        );
    }
}

#[test]
fn registers_cut_a_chain_of_xor_stages_into_their_own_depths() {
    // three stages between registers: 216 -> 36 parities of 6 bits (1 level), 36 -> 1
    // parity (2 levels), and the full 216-bit parity (3 levels); no path sums them.
    let Some(r) = synth(
        "module t(input wire clk, input wire [215:0] d, output reg q);
         reg [215:0] d_reg;
         reg [35:0] a_reg;
         reg b_reg, c_reg;
         integer i;
         always @(posedge clk) begin
           d_reg <= d;
           for (i = 0; i < 36; i = i + 1) a_reg[i] <= ^d_reg[6*i +: 6];
           b_reg <= ^a_reg;
           c_reg <= ^d_reg;
           q <= a_reg[0] ^ b_reg ^ c_reg;
         end
         endmodule",
        "t",
    ) else {
        return;
    };
    assert_eq!(kind(&r, PathKind::RegToReg), Some(3));
    assert_eq!(r.levels, 3);
}

#[test]
fn an_adder_is_one_lut_and_one_carry_chain_however_wide() {
    // a + b maps to a LUT2 (a ^ b into the carry cell's S input) and a CARRY4/CARRY8
    // chain (yosys 0.23 uses CARRY4 even for xcup); the chain is one level at every width
    for width in [8, 32, 64, 128] {
        let Some(r) = synth(
            &format!(
                "module t(input wire clk, input wire [{w}:0] a, input wire [{w}:0] b, output reg [{w}:0] s);
                 reg [{w}:0] a_reg, b_reg;
                 always @(posedge clk) begin a_reg <= a; b_reg <= b; s <= a_reg + b_reg; end
                 endmodule",
                w = width - 1
            ),
            "t",
        ) else {
            return;
        };
        assert!(
            r.resources.carry >= (width / 8) as u64,
            "{width}-bit adder: {:?}",
            r.resources
        );
        assert_eq!(kind(&r, PathKind::RegToReg), Some(2), "{width}-bit adder");
        assert_eq!(count(&r, "LUT"), 1, "{width}-bit adder: {:?}", r.worst_path);
        assert!(
            count(&r, "CARRY") >= 1,
            "{width}-bit adder: {:?}",
            r.worst_path
        );
    }
}

#[test]
fn a_mux_counts_its_luts_and_not_its_muxf_cells() {
    // 16:1 (20 inputs): at least 2 levels (one level holds at most 9 inputs); yosys maps
    // four LUT6 4:1 muxes and a LUT6 picking one of them.
    let mux = |n: u32, s: u32| {
        format!(
            "module t(input wire clk, input wire [{n1}:0] d, input wire [{s1}:0] sel, output reg q);
             reg [{n1}:0] d_reg;
             reg [{s1}:0] sel_reg;
             always @(posedge clk) begin d_reg <= d; sel_reg <= sel; q <= d_reg[sel_reg]; end
             endmodule",
            n1 = n - 1,
            s1 = s - 1
        )
    };
    let Some(r) = synth(&mux(16, 4), "t") else {
        return;
    };
    assert_eq!(kind(&r, PathKind::RegToReg), Some(2));
    // 64:1 (70 inputs): 2 levels would do (LUT6+MUXF7+MUXF8 16:1 blocks, then a 4:1 LUT6),
    // but yosys 0.23 maps LUT6 -> LUT6+MUXF7 -> LUT6: 3 levels with a MUXF7 on the path,
    // which the estimator must not count.
    let Some(r) = synth(&mux(64, 6), "t") else {
        return;
    };
    let levels = kind(&r, PathKind::RegToReg);
    assert_eq!(levels, Some(count(&r, "LUT") as u32), "{:?}", r.worst_path);
    assert_eq!(levels, Some(3), "{:?}", r.worst_path);
    assert!(count(&r, "MUXF") >= 1, "{:?}", r.worst_path);
}
