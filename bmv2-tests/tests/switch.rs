//! The switch launcher: `simple_switch_grpc` starts on private ports and an IPC
//! packet socket, and stopping it leaves no process and no directory behind.
//! Without `simple_switch_grpc` on PATH the test is reported as ignored, loudly.

use libtest_mimic::{Arguments, Failed, Trial};
use ztnic_bmv2::switch::Switch;
use ztnic_bmv2::tools::{SIMPLE_SWITCH_GRPC, find, skip};

const TEST: &str = "switch_starts_on_private_ports_and_stops_without_leftovers";

fn main() {
    let args = Arguments::from_args();
    let trial = Trial::test(TEST, check);
    let trial = if find(SIMPLE_SWITCH_GRPC).is_none() {
        skip(TEST, &format!("{SIMPLE_SWITCH_GRPC} is not on PATH"));
        trial.with_ignored_flag(true)
    } else {
        trial
    };
    libtest_mimic::run(&args, vec![trial]).exit();
}

fn check() -> Result<(), Failed> {
    let sw = Switch::start(false)?;
    if !sw.grpc_addr.starts_with("127.0.0.1:") {
        return Err(format!("gRPC listens on {}, not on 127.0.0.1", sw.grpc_addr).into());
    }
    let dir = sw.dir().to_path_buf();
    let pid = sw.pid();
    if !dir.join("packets.ipc").exists() {
        return Err("no IPC packet socket".into());
    }
    sw.stop();
    if std::path::Path::new(&format!("/proc/{pid}")).exists() {
        return Err(format!("simple_switch_grpc (pid {pid}) still running").into());
    }
    if dir.exists() {
        return Err(format!("{} left behind", dir.display()).into());
    }
    Ok(())
}
