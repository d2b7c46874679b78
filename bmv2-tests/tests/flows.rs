//! Conntrack over P4Runtime on bmv2. `simple_switch_grpc` tracks the same
//! connections as the reference model for the same traffic (the replies pass as
//! replies of tracked connections), but its P4Runtime server (PI,
//! `proto/frontend/src/device_mgr.cpp`) refuses every `RegisterEntry` read, one
//! index or all, with `UNIMPLEMENTED: Register reads are not supported yet`: this
//! test pins both, so `ztnic flows` against bmv2 fails with that answer, clearly.
//! (The FPGA agent serves the registers: `runtime/agent/tests/flows.rs`.) Without
//! `simple_switch_grpc` on PATH the test is reported as ignored, loudly.
#![allow(clippy::unwrap_used)]

use libtest_mimic::{Arguments, Trial};
use ztnic_bmv2::tools::{SIMPLE_SWITCH_GRPC, find, repo_root, skip};
use ztnic_bmv2_tests::p4c::{ZTNIC_JSON, ZTNIC_P4INFO};
use ztnic_bmv2_tests::target::Bmv2Target;
use ztnic_model::{Config, Verdict};
use ztnic_p4runtime_client::ClientError;
use ztnic_p4tables::names;
use ztnic_scenario::{ModelTarget, Target};
use ztnic_testkit::fixtures::{two_workloads, two_workloads_traffic};

const TEST: &str = "bmv2_tracks_like_the_model_and_refuses_register_reads";
fn run(t: &mut dyn Target) -> Vec<u16> {
    t.reset(&Config::default()).unwrap();
    for op in two_workloads() {
        t.apply(&op).unwrap();
    }
    // A → B DNS (no answer), then B opens postgres on A, a millisecond apart
    two_workloads_traffic()
        .into_iter()
        .zip((1..).map(|i| i * 1_000))
        .map(
            |((port, f), at)| match t.send(at, port, &f).unwrap().verdict {
                Verdict::Forward { port, .. } => port,
                v => panic!("not forwarded: {v:?}"),
            },
        )
        .collect()
}

fn main() {
    let args = Arguments::from_args();
    let trial = Trial::test(TEST, || {
        check();
        Ok(())
    });
    let trial = if find(SIMPLE_SWITCH_GRPC).is_none() {
        skip(TEST, &format!("{SIMPLE_SWITCH_GRPC} is not on PATH"));
        trial.with_ignored_flag(true)
    } else {
        trial
    };
    libtest_mimic::run(&args, vec![trial]).exit();
}

fn check() {
    let root = repo_root();
    let mut sw = Bmv2Target::start(&root.join(ZTNIC_JSON), &root.join(ZTNIC_P4INFO), 1).unwrap();
    let mut model = ModelTarget::default();
    let ports = run(&mut sw);
    assert_eq!(ports, vec![2, 1, 2, 1]);
    assert_eq!(run(&mut model), ports);
    // bmv2 tracked the TCP connection: no rule lets A send to B on port 45000, so
    // the SYN-ACK above was forwarded only as a reply of a tracked connection. The
    // model holds both flows.
    assert_eq!(
        model.dp.ct.entries(0, &Config::default().timeouts).count(),
        2
    );

    // The registers that hold them cannot be read over P4Runtime.
    let (rt, nic) = sw.nic();
    for register in [names::CT_KEY, names::CT_INFO, names::CT_WIN] {
        for index in [None, Some(0)] {
            match rt.block_on(nic.client().read_register(register, index)) {
                Err(ClientError::Rpc(status)) => {
                    assert_eq!(format!("{:?}", status.code()), "Unimplemented");
                    assert_eq!(status.message(), "Register reads are not supported yet");
                }
                other => {
                    panic!("reading {register} {index:?}: expected UNIMPLEMENTED, got {other:?}")
                }
            }
        }
    }
    sw.stop();
}
