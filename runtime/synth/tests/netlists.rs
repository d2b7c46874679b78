//! The estimator on hand-written netlists: the odd cases a yosys run rarely produces
//! (loops, constants, unknown cells, long chains, malformed files) and the carry rules.

use serde_json::{Value, json};
use ztnic_synth::{Error, Netlist, PathKind};

/// A module `t` with the given ports and cells (port_directions as yosys writes them).
fn netlist(ports: Value, cells: Value) -> Netlist {
    let text = json!({"modules": {"t": {"ports": ports, "cells": cells}}}).to_string();
    Netlist::from_json(&text).expect("parse")
}

fn lut(a: Value, o: u64) -> Value {
    json!({"type": "LUT2", "port_directions": {"I0": "input", "I1": "input", "O": "output"},
           "connections": {"I0": [a], "I1": [a], "O": [o]}})
}

fn ff(d: u64, q: u64) -> Value {
    json!({"type": "FDRE", "port_directions": {"C": "input", "CE": "input", "D": "input", "Q": "output", "R": "input"},
           "connections": {"C": [2], "CE": ["1"], "D": [d], "Q": [q], "R": ["0"]}})
}

fn clk_port() -> Value {
    json!({"clk": {"direction": "input", "bits": [2]}})
}

#[test]
fn a_combinational_loop_is_an_error_naming_its_cells() {
    let n = netlist(
        clk_port(),
        json!({"a": lut(json!(10), 11), "b": lut(json!(11), 10), "r": ff(11, 12)}),
    );
    match n.analyse("t") {
        Err(Error::Loop(cells)) => {
            assert_eq!(cells.len(), 2, "{cells:?}");
            assert!(cells.iter().any(|c| c.ends_with(" a")), "{cells:?}");
            assert!(cells.iter().any(|c| c.ends_with(" b")), "{cells:?}");
        }
        other => panic!("expected a loop error, got {other:?}"),
    }
}

#[test]
fn constant_bits_start_no_path() {
    // r1 -> LUT -> r2, and a LUT chain fed only by constants into r2 as well
    let n = netlist(
        clk_port(),
        json!({
            "r1": ff(5, 10),
            "l1": lut(json!(10), 11),
            "c1": lut(json!("1"), 20),
            "c2": lut(json!(20), 21),
            "c3": lut(json!(21), 22),
            "m": {"type": "LUT3", "port_directions": {"I0": "input", "I1": "input", "I2": "input", "O": "output"},
                  "connections": {"I0": [11], "I1": [22], "I2": ["x"], "O": [30]}},
            "r2": ff(30, 31),
        }),
    );
    let r = n.analyse("t").expect("analyse");
    // r1.Q -> l1 -> m -> r2.D; the constant chain c1..c3 adds nothing
    assert_eq!(r.by_kind.get(&PathKind::RegToReg), Some(&2));
    let names: Vec<&str> = r.worst_path.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["r1", "l1", "m", "r2"]);
}

/// A CARRY8 `name` whose S inputs are `s`, carry input `ci`, O outputs `o`, CO outputs `co`.
fn carry8(ci: Value, s: &[u64], o: &[u64], co: &[u64]) -> Value {
    json!({"type": "CARRY8",
           "port_directions": {"CI": "input", "CI_TOP": "input", "DI": "input", "S": "input", "O": "output", "CO": "output"},
           "connections": {"CI": [ci], "CI_TOP": ["0"], "DI": ["0","0","0","0","0","0","0","0"],
                           "S": s, "O": o, "CO": co}})
}

#[test]
fn a_carry_chain_is_one_level_and_an_output_bit_sees_only_lower_inputs() {
    // r1 -> LUT -> carry a (S[0]) -> a.CO[7] -> carry b (CI) -> b.O[7] -> r2: 2 levels.
    // r3 -> LUT -> LUT -> LUT -> a.S[7], and a.O[0] -> r4: O[0] does not depend on S[7],
    // so r3's 3 LUTs reach r4 through nothing; they reach a.O[7] (-> r5) with the carry:
    // 4 levels.
    let s_a: Vec<u64> = vec![11, 40, 40, 40, 40, 40, 40, 23];
    let o_a: Vec<u64> = vec![50, 51, 52, 53, 54, 55, 56, 57];
    let co_a: Vec<u64> = vec![60, 61, 62, 63, 64, 65, 66, 67];
    let o_b: Vec<u64> = vec![70, 71, 72, 73, 74, 75, 76, 77];
    let co_b: Vec<u64> = vec![80, 81, 82, 83, 84, 85, 86, 87];
    let n = netlist(
        clk_port(),
        json!({
            "r1": ff(5, 10),
            "l1": lut(json!(10), 11),
            "a": carry8(json!("0"), &s_a, &o_a, &co_a),
            "b": carry8(json!(67), &[40, 40, 40, 40, 40, 40, 40, 40], &o_b, &co_b),
            "r2": ff(77, 90),
            "r3": ff(5, 20),
            "x1": lut(json!(20), 21),
            "x2": lut(json!(21), 22),
            "x3": lut(json!(22), 23),
            "r4": ff(50, 91),
            "r5": ff(57, 92),
            "r6": ff(5, 40),
        }),
    );
    let r = n.analyse("t").expect("analyse");
    // r3's LUTs, then carry a to r5, or on through carry b (no further level) to r2
    assert_eq!(r.levels, 4);
    let names: Vec<&str> = r.worst_path.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names[..5], ["r3", "x1", "x2", "x3", "a"]);
    assert!(
        names[5..] == ["r5"] || names[5..] == ["b", "r2"],
        "{names:?}"
    );

    // only O[0] used: r3's deep S[7] input does not reach it; r1 -> l1 -> a -> r4 is 2
    let n = netlist(
        clk_port(),
        json!({
            "r1": ff(5, 10),
            "l1": lut(json!(10), 11),
            "a": carry8(json!("0"), &s_a, &o_a, &co_a),
            "r3": ff(5, 20),
            "x1": lut(json!(20), 21),
            "x2": lut(json!(21), 22),
            "x3": lut(json!(22), 23),
            "r4": ff(50, 91),
            "r6": ff(5, 40),
        }),
    );
    let r = n.analyse("t").expect("analyse");
    assert_eq!(r.levels, 2);
    let names: Vec<&str> = r.worst_path.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["r1", "l1", "a", "r4"]);

    // the same without the deep S[7] input: r1 -> l1 -> a -> b -> r2 is the worst, 2 levels
    let n = netlist(
        clk_port(),
        json!({
            "r1": ff(5, 10),
            "l1": lut(json!(10), 11),
            "a": carry8(json!("0"), &[11, 40, 40, 40, 40, 40, 40, 40], &o_a, &co_a),
            "b": carry8(json!(67), &[40, 40, 40, 40, 40, 40, 40, 40], &o_b, &co_b),
            "r2": ff(77, 90),
            "r6": ff(5, 40),
        }),
    );
    let r = n.analyse("t").expect("analyse");
    assert_eq!(r.levels, 2);
    let names: Vec<&str> = r.worst_path.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["r1", "l1", "a", "b", "r2"]);
}

#[test]
fn an_unknown_cell_is_an_end_point_and_listed() {
    let n = netlist(
        json!({"clk": {"direction": "input", "bits": [2]},
               "i": {"direction": "input", "bits": [3]},
               "o": {"direction": "output", "bits": [13]}}),
        json!({
            "l1": lut(json!(3), 10),
            "child": {"type": "ztnic_child", "port_directions": {"a": "input", "y": "output"},
                      "connections": {"a": [10], "y": [11]}},
            "l2": lut(json!(11), 12),
            "l3": lut(json!(12), 13),
        }),
    );
    let r = n.analyse("t").expect("analyse");
    assert_eq!(r.by_kind.get(&PathKind::InToReg), Some(&1));
    assert_eq!(r.by_kind.get(&PathKind::RegToOut), Some(&2));
    assert_eq!(r.by_kind.get(&PathKind::InToOut), None);
    assert_eq!(r.opaque.get("ztnic_child"), Some(&1));
}

#[test]
fn a_chain_of_a_hundred_thousand_luts_neither_overflows_nor_hangs() {
    let mut cells = serde_json::Map::new();
    let n_luts: u64 = 100_000;
    for i in 0..n_luts {
        cells.insert(format!("l{i}"), lut(json!(10 + i), 11 + i));
    }
    let ports = json!({"i": {"direction": "input", "bits": [10]},
                       "o": {"direction": "output", "bits": [10 + n_luts]}});
    let n = netlist(ports, Value::Object(cells));
    let r = n.analyse("t").expect("analyse");
    assert_eq!(r.levels, 100_000);
    assert_eq!(r.worst_path.len(), 100_002);
}

#[test]
fn directions_missing_from_the_netlist_follow_the_xilinx_pin_names() {
    // no port_directions: O is the LUT's output, Q the flip-flop's
    let text = json!({"modules": {"t": {"ports": {}, "cells": {
        "r1": {"type": "FDRE", "connections": {"D": [5], "Q": [10], "C": ["0"]}},
        "l": {"type": "LUT1", "connections": {"I0": [10], "O": [11]}},
        "r2": {"type": "FDRE", "connections": {"D": [11], "Q": [12], "C": ["0"]}},
    }}}})
    .to_string();
    let r = Netlist::from_json(&text)
        .expect("parse")
        .analyse("t")
        .expect("analyse");
    assert_eq!(r.by_kind.get(&PathKind::RegToReg), Some(&1));
}

#[test]
fn malformed_input_is_an_error_not_a_panic() {
    for text in [
        "",
        "\"a string\"",
        "{\"modules\": 3}",
        "{\"modules\": {\"t\": {\"cells\": {\"c\": {\"type\": \"LUT2\", \"connections\": {\"O\": [true]}}}}}}",
        "{\"modules\": {\"t\": {\"ports\": {\"p\": {\"bits\": [1]}}}}}",
    ] {
        assert!(
            matches!(Netlist::from_json(text), Err(Error::Json(_))),
            "{text:?}"
        );
    }
    let n = Netlist::from_json("{\"modules\": {}}").expect("parse");
    assert!(matches!(n.analyse("t"), Err(Error::NoModule(..))));
    // an empty module has no path: 0 levels
    let n = Netlist::from_json("{\"modules\": {\"t\": {}}}").expect("parse");
    let r = n.analyse("t").expect("analyse");
    assert_eq!(r.levels, 0);
    assert!(r.worst_kind.is_none());
}

#[test]
fn block_ram_counts_as_ramb36_equivalents_and_the_line_is_exact() {
    let n = netlist(
        json!({}),
        json!({
            "b36": {"type": "RAMB36E2", "connections": {}},
            "b18a": {"type": "RAMB18E2", "connections": {}},
            "u": {"type": "URAM288", "connections": {}},
            "d": {"type": "DSP48E2", "connections": {}},
            "f": {"type": "FDSE", "connections": {}},
            "l": {"type": "LUT6", "connections": {}},
            "i": {"type": "INV", "connections": {}},
        }),
    );
    let r = n.analyse("t").expect("analyse");
    assert_eq!(
        r.line(),
        "module t luts=2 ffs=1 bram36=1.5 uram=1 dsp=1 levels=0"
    );
}

#[test]
fn instances_list_the_parameters_set_away_from_the_defaults() {
    let text = json!({"modules": {
        "child": {"attributes": {"blackbox": "1"},
                  "parameter_default_values": {"W": "00000000000000000000000000001000", "D": "00000000000000000000000000000100"},
                  "ports": {}, "cells": {}},
        "t": {"ports": {}, "cells": {
            "same": {"type": "child", "parameters": {"W": "1000"}, "connections": {}},
            "wide": {"type": "child", "parameters": {"W": "00000000000000000000000000010000", "D": "100"}, "connections": {}},
            "lut": {"type": "LUT1", "connections": {}},
        }}}})
    .to_string();
    let n = Netlist::from_json(&text).expect("parse");
    let inst = n.instances("t").expect("instances");
    assert_eq!(inst.len(), 2);
    assert_eq!(inst[0].name, "same");
    assert!(inst[0].params.is_empty());
    assert_eq!(inst[1].params, ["W=32'b00000000000000000000000000010000"]);
}
