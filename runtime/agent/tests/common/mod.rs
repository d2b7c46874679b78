//! What the agent's P4Runtime tests share: an agent over a fresh Verilated NIC and
//! table writes recorded as the device accepts them.
#![allow(dead_code, clippy::unwrap_used)]

use ztnic_agent::{Agent, FpgaBackend, SimDevice};
use ztnic_model::Op;
use ztnic_p4runtime_client::{Atomicity, P4RuntimeClient};
use ztnic_p4runtime_server::ServerConfig;
use ztnic_p4tables::{Program, Written};

/// An agent over a fresh Verilated NIC on a free loopback port.
pub async fn agent() -> Agent<SimDevice> {
    let backend = FpgaBackend::new(SimDevice::new()).unwrap();
    Agent::start(
        backend,
        "127.0.0.1:0".parse().unwrap(),
        ServerConfig::default(),
        false,
    )
    .await
    .unwrap()
}

/// Writes `ops` one by one (panicking on a rejection) and records what was written.
pub async fn write(c: &mut P4RuntimeClient, p: &Program, w: &mut Written, ops: &[Op]) {
    for op in ops {
        let u = w.updates(p, op).unwrap();
        c.write(u.clone(), Atomicity::ContinueOnError)
            .await
            .unwrap_or_else(|e| panic!("{op:?}: {e}"));
        w.record(p, &u);
    }
}
