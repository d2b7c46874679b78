//! `ztnic-ct-place-bench`: the load factor of the at-scale conntrack placement
//! (`ztnic_model::ct_place`, a model only for now) at its first failed insert of distinct
//! random flows, one line per table size:
//!
//! ```text
//! # placement model (runtime/model ct_place): ...
//! conntrack: entries=4096 load_factor=0.9xx
//! ```
//!
//! Progress goes to stderr. Run:
//! `cargo run --release -p ztnic-model --bin ztnic-ct-place-bench [MIN_LOG2 [MAX_LOG2]]`
//! (sizes 2^MIN_LOG2 ..= 2^MAX_LOG2 slots; default 12 and 25).

use std::process::ExitCode;
use std::time::Instant;

use ztnic_model::ct_place::{Limits, load_at_first_failure};

fn arg(args: &[String], i: usize, default: u32) -> Result<u32, String> {
    match args.get(i) {
        None => Ok(default),
        Some(a) => match a.parse::<u32>() {
            Ok(v) if (3..=31).contains(&v) => Ok(v),
            _ => Err(format!("not a log2 table size in 3..=31: {a:?}")),
        },
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (lo, hi) = match (arg(&args, 0, 12), arg(&args, 1, 25)) {
        (Ok(lo), Ok(hi)) if lo <= hi && args.len() <= 2 => (lo, hi),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("ztnic-ct-place-bench: {e}");
            return ExitCode::from(2);
        }
        _ => {
            eprintln!("usage: ztnic-ct-place-bench [MIN_LOG2 [MAX_LOG2]] (MIN <= MAX)");
            return ExitCode::from(2);
        }
    };
    let l = Limits::default();
    println!(
        "# placement model (runtime/model ct_place): 2 hashes x 4-slot buckets, <= {} moves, <= {} bucket reads per insert, {}-entry stash",
        l.max_moves, l.max_reads, l.stash
    );
    for log2 in lo..=hi {
        let slots = 1usize << log2;
        let t0 = Instant::now();
        let x = load_at_first_failure(slots, l, u64::from(log2), |held| {
            eprintln!(
                "  2^{log2}: {held} flows placed ({:.1} s)",
                t0.elapsed().as_secs_f64()
            );
        });
        println!("conntrack: entries={slots} load_factor={x:.3}");
        eprintln!("  2^{log2} done in {:.1} s", t0.elapsed().as_secs_f64());
    }
    ExitCode::SUCCESS
}
