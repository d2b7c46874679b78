//! The agent's Prometheus metrics: `GET /metrics` in the Prometheus text format
//! (`prometheus-client`), over a small HTTP server (axum).
//!
//! The device's counters are read through the agent's own driver on every
//! scrape (under the server's lock, like a P4Runtime read), so they are what the
//! hardware counts now. Labels take bounded values only: reasons and kinds are
//! fixed sets, rule ids are bounded by the policy table.
//!
//! - `ztnic_drops_total{reason}`, `ztnic_punts_total{reason}`: every reason, zero
//!   included;
//! - `ztnic_rule_packets_total{rule}`, `ztnic_rule_bytes_total{rule}`: per rule
//!   id of the policy table (the rules installed, plus deleted rules' counts);
//! - `ztnic_p4runtime_write_seconds`: a histogram of P4Runtime `Write` RPCs, from
//!   the request reaching the server to its response;
//! - `ztnic_slow_path_events_total{kind}`: digests sent, packet-ins sent,
//!   packet-outs injected, device events without a P4 counterpart.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tonic::codegen::Service;
use tonic::codegen::http;
use ztnic_model::{Counters, DropReason, PuntReason};

use crate::backend::AgentStats;

/// The gRPC path of P4Runtime's `Write`.
const WRITE_PATH: &str = "/p4.v1.P4Runtime/Write";

/// The `Write` latency histogram's buckets: 10 µs × 4^k, up to about 2.6 s.
pub fn write_seconds() -> Histogram {
    Histogram::new(exponential_buckets(1e-5, 4.0, 10))
}

/// What one scrape reads from the device.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub counters: Counters,
    pub stats: AgentStats,
}

#[derive(Debug)]
struct DeviceCollector(Snapshot);

fn counter_family<L: AsRef<str>>(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    label: &str,
    values: impl IntoIterator<Item = (L, u64)>,
) -> Result<(), std::fmt::Error> {
    let mut m = enc.encode_descriptor(name, help, None, MetricType::Counter)?;
    for (l, v) in values {
        let labels = [(label, l.as_ref())];
        ConstCounter::new(v).encode(m.encode_family(&labels)?)?;
    }
    Ok(())
}

impl Collector for DeviceCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let c = &self.0.counters;
        counter_family(
            &mut enc,
            "ztnic_drops",
            "Packets the datapath dropped, by reason.",
            "reason",
            DropReason::ALL
                .iter()
                .map(|r| (r.name(), c.drops.get(r).copied().unwrap_or(0))),
        )?;
        counter_family(
            &mut enc,
            "ztnic_punts",
            "Packets the datapath sent to the CPU port, by reason.",
            "reason",
            PuntReason::ALL
                .iter()
                .map(|r| (r.name(), c.punts.get(r).copied().unwrap_or(0))),
        )?;
        counter_family(
            &mut enc,
            "ztnic_rule_packets",
            "Packets that matched a policy rule, by rule id.",
            "rule",
            c.rules.iter().map(|(id, pb)| (id.to_string(), pb.packets)),
        )?;
        counter_family(
            &mut enc,
            "ztnic_rule_bytes",
            "Bytes of the packets that matched a policy rule, by rule id.",
            "rule",
            c.rules.iter().map(|(id, pb)| (id.to_string(), pb.bytes)),
        )?;
        let s = &self.0.stats;
        counter_family(
            &mut enc,
            "ztnic_slow_path_events",
            "Slow-path events the agent handled: digests and packet-ins sent, \
             packet-outs injected, device events with no P4 counterpart.",
            "kind",
            [
                ("digest", s.digests),
                ("packet_in", s.packet_ins),
                ("packet_out", s.packet_outs),
                ("event_dropped", s.events_dropped),
            ],
        )?;
        Ok(())
    }
}

/// The text exposition of `snapshot` and the `Write` latency histogram.
pub fn encode(snapshot: Snapshot, write_seconds: &Histogram) -> Result<String, std::fmt::Error> {
    let mut registry = Registry::default();
    registry.register(
        "ztnic_p4runtime_write_seconds",
        "Latency of P4Runtime Write RPCs served by the agent.",
        write_seconds.clone(),
    );
    registry.register_collector(Box::new(DeviceCollector(snapshot)));
    let mut out = String::new();
    prometheus_client::encoding::prometheus_text::encode(&mut out, &registry)?;
    Ok(out)
}

/// Serves `GET /metrics` on `listener` until `stop` resolves; each scrape
/// calls `read` (off the async threads) for the device's numbers.
pub async fn serve(
    listener: tokio::net::TcpListener,
    read: impl Fn() -> Result<Snapshot, String> + Clone + Send + Sync + 'static,
    write_seconds: Histogram,
    stop: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::http::{StatusCode, header};
    use axum::response::IntoResponse;

    let scrape = move || {
        let read = read.clone();
        let hist = write_seconds.clone();
        async move {
            let snap = match tokio::task::spawn_blocking(read).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    tracing::error!("metrics: reading the device: {e}");
                    return (StatusCode::INTERNAL_SERVER_ERROR, e).into_response();
                }
                Err(e) => {
                    return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response();
                }
            };
            match encode(snap, &hist) {
                Ok(text) => (
                    [(
                        header::CONTENT_TYPE,
                        prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
                    )],
                    text,
                )
                    .into_response(),
                Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
            }
        }
    };
    let app = axum::Router::new().route("/metrics", axum::routing::get(scrape));
    axum::serve(listener, app)
        .with_graceful_shutdown(stop)
        .await
}

/// A tower layer timing P4Runtime `Write` RPCs into a histogram.
#[derive(Clone)]
pub struct WriteTimerLayer(pub Histogram);

impl<S> tower::Layer<S> for WriteTimerLayer {
    type Service = WriteTimer<S>;
    fn layer(&self, inner: S) -> WriteTimer<S> {
        WriteTimer {
            inner,
            hist: self.0.clone(),
        }
    }
}

/// The service [`WriteTimerLayer`] wraps around the gRPC server.
#[derive(Clone)]
pub struct WriteTimer<S> {
    inner: S,
    hist: Histogram,
}

impl<S, B> Service<http::Request<B>> for WriteTimer<S>
where
    S: Service<http::Request<B>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let timed = req.uri().path() == WRITE_PATH;
        let start = Instant::now();
        let fut = self.inner.call(req);
        let hist = self.hist.clone();
        Box::pin(async move {
            let r = fut.await;
            if timed {
                hist.observe(start.elapsed().as_secs_f64());
            }
            r
        })
    }
}
