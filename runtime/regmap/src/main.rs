//! `ztnic-regmap generate` writes every generated file of the RTL register map;
//! `ztnic-regmap check` fails when a committed one is stale.

use std::process::ExitCode;

fn main() -> ExitCode {
    let mode = std::env::args().nth(1).unwrap_or_default();
    let root = ztnic_regmap::workspace_root();
    let outputs = match ztnic_regmap::all_outputs(&root) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("ztnic-regmap: {e}");
            return ExitCode::FAILURE;
        }
    };
    match mode.as_str() {
        "generate" => {
            for o in &outputs {
                let path = root.join(o.path);
                if let Some(dir) = path.parent() {
                    if let Err(e) = std::fs::create_dir_all(dir) {
                        eprintln!("ztnic-regmap: cannot create {}: {e}", dir.display());
                        return ExitCode::FAILURE;
                    }
                }
                if let Err(e) = std::fs::write(&path, &o.content) {
                    eprintln!("ztnic-regmap: cannot write {}: {e}", path.display());
                    return ExitCode::FAILURE;
                }
                println!("wrote {}", o.path);
            }
            ExitCode::SUCCESS
        }
        "check" => {
            let stale = ztnic_regmap::stale_outputs(&root, &outputs);
            for p in &stale {
                eprintln!("stale: {p} (run `cargo run -p ztnic-regmap -- generate`)");
            }
            if stale.is_empty() {
                println!("all {} generated files are current", outputs.len());
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        _ => {
            eprintln!("usage: ztnic-regmap generate|check");
            ExitCode::from(2)
        }
    }
}
