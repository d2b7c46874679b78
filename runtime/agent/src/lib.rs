//! # ztnic-agent — the FPGA datapath behind P4Runtime
//!
//! The agent makes a ztnic FPGA datapath a P4Runtime target, so the controller
//! that drives bmv2 drives the card unchanged: it serves **the same P4Info as the
//! bmv2 program** (`p4/build/ztnic.p4info.txtpb`) with the generic server core
//! (`ztnic-p4runtime-server`: arbitration, validation, batches, reads, digests,
//! packet I/O) and realises it on the hardware through [`FpgaBackend`]:
//!
//! - every table entry is decoded into the control operation it stands for
//!   (`ztnic-p4tables`, the mapping the controllers encode with) and written by the
//!   FPGA driver (`ztnic-fpga`) into the hardware tables; an entry the hardware
//!   cannot realise (a fifth rule on one policy key, a full hash bucket, a partial
//!   ternary mask) is refused with the driver's reason and changes nothing;
//! - the keyless `config`, `auth_key` and `ct_timeouts` default entries are the
//!   configuration registers; `drops` / `punts` and the direct counters of `policy`
//!   and `ctx_epoch` are the counter RAMs;
//! - wildcard reads decode the hardware tables themselves;
//! - the conntrack registers `ct_key`, `ct_info`, `ct_win` (read-only) are the
//!   hardware conntrack table: hardware slot `way << ct_log2_max | bucket` is P4
//!   index `way · 4096 + bucket`, the RTL's kinds (tcp 0 .. other 3) become the
//!   P4 codes (tcp 1 .. other 4, 0 empty), TCP states are numbered alike, the
//!   32-bit policy generation is cut to the cell's 16 bits. A wildcard read
//!   answers all 16384 cells (what P4Runtime asks of a register read without an
//!   index; empty slots are zero cells) from one scan of the whole hardware table
//!   — 4·2^CT_LOG2_MAX slot reads, about 9 s on the debug-built Verilated model;
//!   reading one index reads one slot;
//! - the event FIFO becomes `ctx_miss` and `ct_event` digests, the CPU port's punts
//!   PacketIns (with the `packet_in` metadata), PacketOuts are injected into it.
//!
//! A [`Device`] is the datapath: `SimDevice`, the Verilated RTL in-process (the
//! default: tests, the demo; the `sim` cargo feature, on by default, which needs
//! Verilator at build time), or [`CardDevice`], a card's PCIe BAR through sysfs
//! `resource0` with the CPU port on a host interface. An agent restarted over a
//! running card adopts it ([`FpgaBackend::adopt`] +
//! `P4RuntimeService::resume_pipeline`) so tables and connections survive.
//!
//! The agent serves TLS or mutual TLS ([`Agent::start_with`] with
//! `ServerSecurity::Tls`), or plaintext on a loopback address only unless the
//! operator allows otherwise (`ServerSecurity::Plaintext { insecure: true }`).

use std::net::SocketAddr;

use prometheus_client::metrics::histogram::Histogram;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tracing::Instrument;
use ztnic_p4runtime::v1::ForwardingPipelineConfig;
use ztnic_p4runtime_server::{InsecureListen, P4RuntimeService, ServerConfig, ServerSecurity};

mod backend;
pub mod card;
pub mod device;
pub mod metrics;
pub mod regfile;
#[cfg(feature = "sim")]
pub mod sim;

pub use backend::{AgentStats, FpgaBackend};
pub use card::{CardDevice, CpuSocket};
pub use device::{Device, DeviceError};
pub use regfile::{RegFileDevice, RegFileHandle};
#[cfg(feature = "sim")]
pub use sim::SimDevice;

/// Whether this build has the Verilated RTL device ([`SimDevice`], the `sim`
/// cargo feature, on by default; it needs Verilator to build).
pub const HAS_SIM: bool = cfg!(feature = "sim");

/// Why an agent did not start.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("listening on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    /// Plaintext on a non-loopback address without `insecure`.
    #[error(transparent)]
    Insecure(#[from] InsecureListen),
    /// The TLS certificate or key cannot be used.
    #[error("TLS: {0}")]
    Tls(String),
    #[error("resuming the pipeline: {0}")]
    Resume(String),
    #[error("{0}")]
    Program(#[from] ztnic_p4tables::MapError),
}

/// The default listening address: loopback only (a P4Runtime server controls
/// the datapath; expose it deliberately).
pub const DEFAULT_ADDR: &str = "127.0.0.1:9559";

/// A running agent: the P4Runtime server over one device, and optionally its
/// Prometheus metrics ([`Agent::serve_metrics`]).
pub struct Agent<D: Device> {
    service: P4RuntimeService<FpgaBackend<D>>,
    addr: SocketAddr,
    scheme: &'static str,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    write_seconds: Histogram,
    metrics: Option<(oneshot::Sender<()>, JoinHandle<()>)>,
    span: tracing::Span,
}

impl<D: Device> Agent<D> {
    /// Serves `backend` in plaintext on `addr`, which must be a loopback
    /// address ([`Agent::start_with`] for TLS or `insecure`).
    pub async fn start(
        backend: FpgaBackend<D>,
        addr: SocketAddr,
        config: ServerConfig,
        resume: bool,
    ) -> Result<Agent<D>, AgentError> {
        Agent::start_with(backend, addr, config, resume, ServerSecurity::default()).await
    }

    /// Serves `backend` on `addr` (port 0 picks a free port) from the current
    /// Tokio runtime, secured as `security` says: plaintext is refused on an
    /// address that is not loopback unless it is `insecure`. With `resume`, the
    /// ztnic pipeline is made live over what the device already holds (for a
    /// backend made with [`FpgaBackend::adopt`]).
    pub async fn start_with(
        mut backend: FpgaBackend<D>,
        addr: SocketAddr,
        config: ServerConfig,
        resume: bool,
        security: ServerSecurity,
    ) -> Result<Agent<D>, AgentError> {
        security.check_listen(addr)?;
        let builder = security
            .server_builder()
            .map_err(|e| AgentError::Tls(ztnic_p4runtime::transport::error_chain(&e)))?;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| AgentError::Listen { addr, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| AgentError::Listen { addr, source })?;
        // The agent's tasks (the server, the device's event poller) log inside
        // a span naming the address it serves and its device.
        let span = tracing::info_span!(
            "agent",
            listen = %addr,
            device = %backend.device().describe()
        );
        let service = span.in_scope(|| P4RuntimeService::new(backend, config));
        if resume {
            let p4info = ztnic_p4tables::ztnic_p4info()?;
            service
                .resume_pipeline(ForwardingPipelineConfig {
                    p4info: Some(p4info),
                    ..Default::default()
                })
                .map_err(|s| AgentError::Resume(s.message().to_string()))?;
        }
        let (tx, rx) = oneshot::channel();
        let write_seconds = metrics::write_seconds();
        let server = builder
            .layer(metrics::WriteTimerLayer(write_seconds.clone()))
            .add_service(service.clone().into_server());
        let incoming =
            tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
        let task = tokio::spawn(
            async move {
                let stop = async {
                    let _ = rx.await;
                };
                if let Err(e) = server.serve_with_incoming_shutdown(incoming, stop).await {
                    tracing::error!("agent server: {e}");
                }
            }
            .instrument(span.clone()),
        );
        Ok(Agent {
            service,
            addr,
            scheme: security.scheme(),
            shutdown: Some(tx),
            task: Some(task),
            write_seconds,
            metrics: None,
            span,
        })
    }

    /// The address the agent listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The gRPC endpoint (`http://addr`, or `https://addr` over TLS).
    pub fn endpoint(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }

    /// Runs `f` on the backend under the server's lock (a simulation sends its
    /// data-plane packets through here).
    pub fn with_backend<R>(&self, f: impl FnOnce(&mut FpgaBackend<D>) -> R) -> R {
        self.service.with_backend(f)
    }

    /// Serves Prometheus metrics (`GET /metrics`, see [`metrics`]) on `addr`
    /// (port 0 picks a free port) until the agent stops; the address bound.
    /// The device's counters are read through this agent's driver on each
    /// scrape.
    pub async fn serve_metrics(&mut self, addr: SocketAddr) -> Result<SocketAddr, AgentError> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| AgentError::Listen { addr, source })?;
        let bound = listener
            .local_addr()
            .map_err(|source| AgentError::Listen { addr, source })?;
        let svc = self.service.clone();
        let read = move || {
            svc.with_backend(|b| -> Result<metrics::Snapshot, String> {
                Ok(metrics::Snapshot {
                    counters: b.counters().map_err(|e| e.to_string())?,
                    stats: b.stats(),
                })
            })
        };
        let (tx, rx) = oneshot::channel();
        let stop = async {
            let _ = rx.await;
        };
        let hist = self.write_seconds.clone();
        let task = tokio::spawn(
            async move {
                if let Err(e) = metrics::serve(listener, read, hist, stop).await {
                    tracing::error!("metrics server: {e}");
                }
            }
            .instrument(tracing::info_span!(parent: &self.span, "metrics", listen = %bound)),
        );
        if let Some((old, t)) = self.metrics.replace((tx, task)) {
            let _ = old.send(());
            t.abort();
        }
        Ok(bound)
    }

    /// Stops serving: open sessions get a second to end, then are cut.
    pub async fn stop(mut self) {
        if let Some((tx, mut t)) = self.metrics.take() {
            let _ = tx.send(());
            if tokio::time::timeout(std::time::Duration::from_secs(1), &mut t)
                .await
                .is_err()
            {
                t.abort();
            }
        }
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(mut t) = self.task.take()
            && tokio::time::timeout(std::time::Duration::from_secs(1), &mut t)
                .await
                .is_err()
        {
            t.abort();
        }
    }
}

impl<D: Device> Drop for Agent<D> {
    fn drop(&mut self) {
        if let Some((_, t)) = self.metrics.take() {
            t.abort();
        }
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}
