//! The agent is event-driven: a device event reaches the controller because the
//! device signalled it, not because a polling tick came round. The agent runs
//! over the register-file device (no Verilator) with its fallback tick and its
//! safety timeout both an hour long, so an event handled within the test's
//! patience was handled on the device's signal.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use ztnic_agent::{Agent, FpgaBackend, RegFileDevice, RegFileHandle};
use ztnic_fpga::Event;
use ztnic_fpga::regmap::event_kind_enum;
use ztnic_model::PuntReason;
use ztnic_p4runtime::v1::digest_entry;
use ztnic_p4runtime_client::{ClientConfig, P4RuntimeClient, StreamEvent};
use ztnic_p4runtime_server::ServerConfig;
use ztnic_p4tables::digest::CtxMiss;
use ztnic_p4tables::names;

const HOUR: Duration = Duration::from_secs(3600);
/// How long the test waits for a message (far below HOUR).
const PATIENCE: Duration = Duration::from_secs(30);

async fn agent() -> (Agent<RegFileDevice>, RegFileHandle, P4RuntimeClient) {
    let dev = RegFileDevice::new(&RegFileDevice::default_geometry());
    let handle = dev.handle();
    let config = ServerConfig {
        tick: HOUR,
        wake_timeout: HOUR,
        ..ServerConfig::default()
    };
    let a = Agent::start(
        FpgaBackend::new(dev).unwrap(),
        "127.0.0.1:0".parse().unwrap(),
        config,
        false,
    )
    .await
    .unwrap();
    let mut client = P4RuntimeClient::connect(ClientConfig::new(a.endpoint(), 1, 1))
        .await
        .unwrap();
    client
        .set_pipeline(ztnic_p4tables::ztnic_p4info().unwrap(), Vec::new(), 1)
        .await
        .unwrap();
    client
        .enable_digest(
            names::CTX_MISS,
            digest_entry::Config {
                max_timeout_ns: 0,
                max_list_size: 1,
                ack_timeout_ns: 0,
            },
        )
        .await
        .unwrap();
    (a, handle, client)
}

fn ctx_unknown(ctx: u32, port: u16) -> Event {
    Event {
        kind: event_kind_enum::CTX_UNKNOWN as u8,
        reason: PuntReason::CtxUnknown.code(),
        port,
        ctx,
        epoch: 0,
        hash: 0,
        time: 0,
    }
}

/// The next digest's ctx_miss records, skipping other stream messages.
async fn next_misses(client: &mut P4RuntimeClient) -> Vec<CtxMiss> {
    loop {
        match client.next_event_within(PATIENCE).await {
            Some(StreamEvent::Digest(list)) => {
                return list
                    .data
                    .iter()
                    .map(|d| CtxMiss::from_data(d).unwrap())
                    .collect();
            }
            Some(_) => continue,
            None => panic!("no digest within {PATIENCE:?}: the agent did not react to the event"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_is_handled_on_the_device_signal_without_a_tick() {
    let (a, dev, mut client) = agent().await;
    // events raised one after another, each long before a tick could fire
    for (i, ctx) in [0x42u32, 0x43, 0x44].into_iter().enumerate() {
        dev.raise_event(&ctx_unknown(ctx, 5 + i as u16));
        let got = next_misses(&mut client).await;
        assert_eq!(got.len(), 1);
        assert_eq!(
            (got[0].ctx, got[0].port, got[0].reason),
            (ctx, 5 + i as u16, PuntReason::CtxUnknown.code())
        );
        assert_eq!(dev.pending_events(), 0, "the agent drained the FIFO");
    }
    let stats = a.with_backend(|b| b.stats());
    assert_eq!(stats.digests, 3);
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_raised_at_once_is_drained_on_one_signal() {
    let (a, dev, mut client) = agent().await;
    // raised while nothing waits: the signal is kept (notify_one's permit)
    // and one wake drains all of them
    for ctx in 100..164u32 {
        dev.raise_event(&ctx_unknown(ctx, 1));
    }
    let mut seen = Vec::new();
    while seen.len() < 64 {
        seen.extend(next_misses(&mut client).await.into_iter().map(|m| m.ctx));
    }
    seen.sort_unstable();
    assert_eq!(seen, (100..164).collect::<Vec<_>>());
    assert_eq!(dev.pending_events(), 0);
    a.stop().await;
}
