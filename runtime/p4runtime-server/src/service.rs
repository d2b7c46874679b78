//! The tonic `p4.v1.P4Runtime` service around a [`Device`] and an
//! [`Arbiter`]: request routing, StreamChannel sessions, and the event task
//! that delivers packet-ins, digest lists and idle-timeout notifications to
//! the primary controllers.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_stream::wrappers::{ReceiverStream, TcpListenerStream};
use tokio_stream::{Stream, StreamExt};
use tonic::{Code, Request, Response, Status, Streaming};
use ztnic_p4runtime::v1::{
    self, CapabilitiesRequest, CapabilitiesResponse, ForwardingPipelineConfig,
    GetForwardingPipelineConfigRequest, GetForwardingPipelineConfigResponse,
    IdleTimeoutNotification, ReadRequest, ReadResponse, SetForwardingPipelineConfigRequest,
    SetForwardingPipelineConfigResponse, StreamError, StreamMessageRequest, StreamMessageResponse,
    WriteRequest, WriteResponse,
    p4_runtime_server::{P4Runtime, P4RuntimeServer},
    stream_error, stream_message_request, stream_message_response,
};
use ztnic_p4runtime::{ElectionId, P4RUNTIME_API_VERSION};

use crate::arbitration::{Arbiter, Notices, StreamId};
use crate::backend::{Backend, DeviceEvent, EventSink};
use crate::device::Device;
use crate::tls::{InsecureListen, ServerSecurity};

/// Tunables of a [`P4RuntimeService`].
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The one device id this server answers for (must be non-zero).
    pub device_id: u64,
    /// Capacity of the backend's event queue; events beyond it are dropped.
    pub event_queue: usize,
    /// Capacity of each StreamChannel's outgoing queue; messages beyond it
    /// are dropped (best-effort delivery, as the specification allows).
    pub stream_queue: usize,
    /// How often [`Backend::tick`] runs for a backend without a
    /// [`Backend::wakeup`] (a polled device).
    pub tick: Duration,
    /// For a backend with a [`Backend::wakeup`]: the longest wait for its
    /// signal before [`Backend::tick`] runs anyway (a safety net against a
    /// lost interrupt, not a polling tick). Digest timeouts are kept exactly
    /// either way (the event task sleeps until the next one is due).
    pub wake_timeout: Duration,
    /// Entities per ReadResponse message.
    pub read_chunk: usize,
    /// Largest gRPC message accepted (P4Info plus device config can be big).
    pub max_message_bytes: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            device_id: 1,
            event_queue: 4096,
            stream_queue: 4096,
            tick: Duration::from_millis(10),
            wake_timeout: Duration::from_secs(1),
            read_chunk: 1000,
            max_message_bytes: 256 << 20,
        }
    }
}

type Outbox = mpsc::Sender<Result<StreamMessageResponse, Status>>;

struct State<B: Backend> {
    device: Device<B>,
    arbiter: Arbiter,
    streams: HashMap<StreamId, Outbox>,
}

impl<B: Backend> State<B> {
    fn deliver(&self, notices: Notices) {
        for (stream, update) in notices {
            self.send(
                stream,
                StreamMessageResponse {
                    update: Some(stream_message_response::Update::Arbitration(update)),
                },
            );
        }
    }

    fn send(&self, stream: StreamId, msg: StreamMessageResponse) {
        if let Some(tx) = self.streams.get(&stream) {
            if tx.try_send(Ok(msg)).is_err() {
                tracing::warn!(stream, "stream queue full: message dropped");
            }
        }
    }

    /// Sends one backend event to the primaries (digests through their buffer).
    fn deliver_event(&mut self, event: DeviceEvent) {
        match event {
            DeviceEvent::PacketIn(p) => {
                self.to_primaries(stream_message_response::Update::Packet(p))
            }
            DeviceEvent::Digest { digest_id, data } => {
                if let Some(list) = self.device.digests.offer(digest_id, data, Instant::now()) {
                    self.to_primaries(stream_message_response::Update::Digest(list));
                }
            }
            DeviceEvent::IdleTimeout(entries) => {
                let note = IdleTimeoutNotification {
                    table_entry: entries,
                    timestamp: unix_nanos(),
                };
                self.to_primaries(stream_message_response::Update::IdleTimeoutNotification(
                    note,
                ));
            }
        }
    }

    fn to_primaries(&self, update: stream_message_response::Update) {
        for stream in self.arbiter.primaries() {
            self.send(
                stream,
                StreamMessageResponse {
                    update: Some(update.clone()),
                },
            );
        }
    }

    fn stream_error(
        &self,
        stream: StreamId,
        code: Code,
        message: String,
        packet: Option<v1::PacketOut>,
    ) {
        let error = StreamError {
            canonical_code: code as i32,
            message,
            details: packet.map(|p| {
                stream_error::Details::PacketOut(v1::PacketOutError {
                    packet_out: Some(p),
                })
            }),
            ..Default::default()
        };
        self.send(
            stream,
            StreamMessageResponse {
                update: Some(stream_message_response::Update::Error(error)),
            },
        );
    }
}

struct Shared<B: Backend> {
    config: ServerConfig,
    state: Mutex<State<B>>,
    next_stream: AtomicU64,
}

impl<B: Backend> Shared<B> {
    fn lock(&self) -> MutexGuard<'_, State<B>> {
        // A panic while holding the lock leaves state that is still
        // consistent per operation; keep serving.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A P4Runtime server for one device backed by `B`. Cheap to clone; all
/// clones serve the same device.
pub struct P4RuntimeService<B: Backend> {
    shared: Arc<Shared<B>>,
}

impl<B: Backend> Clone for P4RuntimeService<B> {
    fn clone(&self) -> Self {
        P4RuntimeService {
            shared: self.shared.clone(),
        }
    }
}

impl<B: Backend> P4RuntimeService<B> {
    /// Wraps `backend` and starts the event task. Must be called within a
    /// Tokio runtime; the task ends when the last clone is dropped.
    pub fn new(mut backend: B, config: ServerConfig) -> Self {
        let (tx, rx) = mpsc::channel(config.event_queue.max(1));
        backend.attach(EventSink::new(tx));
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                device: Device::new(backend),
                arbiter: Arbiter::new(config.device_id),
                streams: HashMap::new(),
            }),
            config,
            next_stream: AtomicU64::new(1),
        });
        // The event poller logs inside the span of whoever made the service.
        tokio::spawn(tracing::Instrument::in_current_span(event_task(
            Arc::downgrade(&shared),
            rx,
        )));
        P4RuntimeService { shared }
    }

    /// Runs `f` on the backend while holding the device lock (for tests,
    /// simulations and the agent's own bookkeeping).
    pub fn with_backend<R>(&self, f: impl FnOnce(&mut B) -> R) -> R {
        f(&mut self.shared.lock().device.backend)
    }

    /// Makes `config` the live pipeline without clearing the device (see
    /// [`Backend::resume_pipeline`]): an agent restarted over running hardware
    /// serves what the hardware holds, and a controller that finds this
    /// pipeline live keeps it (and every connection the device tracks).
    pub fn resume_pipeline(&self, config: ForwardingPipelineConfig) -> Result<(), Status> {
        self.shared.lock().device.resume_pipeline(config)
    }

    /// The tonic server for this service, with message limits applied.
    pub fn into_server(self) -> P4RuntimeServer<Self> {
        let limit = self.shared.config.max_message_bytes;
        P4RuntimeServer::new(self)
            .max_decoding_message_size(limit)
            .max_encoding_message_size(limit)
    }

    /// Serves on `listener` until `shutdown` completes. Accepted
    /// connections have Nagle's algorithm off: P4Runtime is request/response
    /// and small replies must not wait for delayed ACKs.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), tonic::transport::Error> {
        let incoming = TcpListenerStream::new(listener).map(|conn| {
            conn.inspect(|stream| {
                if let Err(e) = stream.set_nodelay(true) {
                    tracing::warn!("TCP_NODELAY: {e}");
                }
            })
        });
        tonic::transport::Server::builder()
            .add_service(self.into_server())
            .serve_with_incoming_shutdown(incoming, shutdown)
            .await
    }

    /// [`Self::serve`] secured as `security` says: TLS or mutual TLS, or
    /// plaintext, which is refused on a listener that is not on loopback
    /// unless it is `insecure`.
    pub async fn serve_with(
        self,
        listener: TcpListener,
        security: &ServerSecurity,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), ServeError> {
        let addr = listener.local_addr().map_err(ServeError::Listener)?;
        security.check_listen(addr)?;
        let incoming = TcpListenerStream::new(listener).map(|conn| {
            conn.inspect(|stream| {
                if let Err(e) = stream.set_nodelay(true) {
                    tracing::warn!("TCP_NODELAY: {e}");
                }
            })
        });
        security
            .server_builder()?
            .add_service(self.into_server())
            .serve_with_incoming_shutdown(incoming, shutdown)
            .await?;
        Ok(())
    }

    fn check_device(&self, device_id: u64) -> Result<(), Status> {
        if device_id != self.shared.config.device_id {
            return Err(Status::not_found(format!("unknown device id {device_id}")));
        }
        Ok(())
    }
}

/// Why [`P4RuntimeService::serve_with`] stopped or did not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Plaintext on a non-loopback listener without `insecure`.
    #[error(transparent)]
    Insecure(#[from] InsecureListen),
    /// The listener's address could not be read.
    #[error("the listener: {0}")]
    Listener(std::io::Error),
    /// The TLS configuration was refused, or serving failed.
    #[error("{}", ztnic_p4runtime::transport::error_chain(.0))]
    Transport(#[from] tonic::transport::Error),
}

/// Delivers the backend's events to the primaries and runs [`Backend::tick`]:
/// when the backend's wakeup is notified (event-driven devices; at the latest
/// after `wake_timeout`), or every `tick` (polled devices). Digest lists are
/// sent when their timeout is due.
async fn event_task<B: Backend>(shared: Weak<Shared<B>>, mut rx: mpsc::Receiver<DeviceEvent>) {
    let (period, wake) = match shared.upgrade() {
        Some(s) => {
            let wake = s.lock().device.backend.wakeup();
            let period = if wake.is_some() {
                s.config.wake_timeout
            } else {
                s.config.tick
            };
            (period, wake)
        }
        None => return,
    };
    let mut next_tick = tokio::time::Instant::now() + period;
    let mut digest_due: Option<Instant> = None;
    loop {
        // The next digest timeout, as a tokio instant (paused-clock tests).
        let due = digest_due
            .map(|d| tokio::time::Instant::now() + d.saturating_duration_since(Instant::now()));
        let deadline = due.map_or(next_tick, |d| d.min(next_tick));
        let signal = async {
            match &wake {
                Some(n) => n.notified().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            event = rx.recv() => {
                let (Some(event), Some(shared)) = (event, shared.upgrade()) else { return };
                let mut state = shared.lock();
                state.deliver_event(event);
                // deliver what else is queued under the same lock
                while let Ok(event) = rx.try_recv() {
                    state.deliver_event(event);
                }
                digest_due = state.device.digests.next_due();
            }
            () = signal => {
                let Some(shared) = shared.upgrade() else { return };
                let mut state = shared.lock();
                let now = Instant::now();
                state.device.backend.tick(now);
                // what the backend queued: delivered now, not on the next turn
                while let Ok(event) = rx.try_recv() {
                    state.deliver_event(event);
                }
                for list in state.device.digests.due(now) {
                    state.to_primaries(stream_message_response::Update::Digest(list));
                }
                digest_due = state.device.digests.next_due();
                next_tick = tokio::time::Instant::now() + period;
            }
            () = tokio::time::sleep_until(deadline) => {
                let Some(shared) = shared.upgrade() else { return };
                let mut state = shared.lock();
                let now = Instant::now();
                if tokio::time::Instant::now() >= next_tick {
                    state.device.backend.tick(now);
                    while let Ok(event) = rx.try_recv() {
                        state.deliver_event(event);
                    }
                    next_tick = tokio::time::Instant::now() + period;
                }
                for list in state.device.digests.due(now) {
                    state.to_primaries(stream_message_response::Update::Digest(list));
                }
                digest_due = state.device.digests.next_due();
            }
        }
    }
}

fn unix_nanos() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Handles one StreamChannel until the client closes it or it is refused.
async fn session<B: Backend>(
    shared: Arc<Shared<B>>,
    stream: StreamId,
    mut inbound: Streaming<StreamMessageRequest>,
    tx: Outbox,
) {
    shared.lock().streams.insert(stream, tx.clone());
    loop {
        let msg = match inbound.message().await {
            Ok(Some(m)) => m,
            Ok(None) => break,
            Err(e) => {
                tracing::debug!(stream, "stream ended: {e}");
                break;
            }
        };
        let mut state = shared.lock();
        match msg.update {
            Some(stream_message_request::Update::Arbitration(a)) => {
                match state.arbiter.update(stream, &a) {
                    Ok(notices) => state.deliver(notices),
                    Err((code, message)) => {
                        let _ = tx.try_send(Err(Status::new(code, message)));
                        break;
                    }
                }
            }
            _ if !state.arbiter.is_arbitrated(stream) => {
                let _ = tx.try_send(Err(Status::failed_precondition(
                    "the first stream message must be a MasterArbitrationUpdate",
                )));
                break;
            }
            Some(stream_message_request::Update::Packet(p)) => {
                if !state.arbiter.stream_is_primary(stream) {
                    state.stream_error(
                        stream,
                        Code::PermissionDenied,
                        "only the primary may send packets".into(),
                        Some(p),
                    );
                } else if let Err(e) = state.device.packet_out(&p) {
                    state.stream_error(stream, e.code, e.message, Some(p));
                }
            }
            Some(stream_message_request::Update::DigestAck(ack)) => {
                if !state.device.digests.ack(ack.digest_id, ack.list_id) {
                    tracing::debug!(stream, ?ack, "ack for an unknown or expired digest list");
                }
            }
            Some(stream_message_request::Update::Other(_)) | None => {
                state.stream_error(
                    stream,
                    Code::Unimplemented,
                    "unsupported stream message".into(),
                    None,
                );
            }
        }
    }
    let mut state = shared.lock();
    state.streams.remove(&stream);
    let notices = state.arbiter.remove(stream);
    state.deliver(notices);
}

type ResponseStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl<B: Backend> P4Runtime for P4RuntimeService<B> {
    async fn write(
        &self,
        request: Request<WriteRequest>,
    ) -> Result<Response<WriteResponse>, Status> {
        let req = request.into_inner();
        self.check_device(req.device_id)?;
        let mut state = self.shared.lock();
        let election = req.election_id.as_ref().map(ElectionId::from_proto);
        if !state.arbiter.is_primary(&req.role, election) {
            return Err(Status::permission_denied(format!(
                "election id {} is not the primary of role '{}'",
                election.map_or("unset".to_string(), |e| e.to_string()),
                req.role
            )));
        }
        state.device.write(&req.updates, req.atomicity)?;
        Ok(Response::new(WriteResponse {}))
    }

    type ReadStream = ResponseStream<ReadResponse>;

    async fn read(
        &self,
        request: Request<ReadRequest>,
    ) -> Result<Response<Self::ReadStream>, Status> {
        let req = request.into_inner();
        self.check_device(req.device_id)?;
        let entities = self.shared.lock().device.read(&req.entities)?;
        let chunk = self.shared.config.read_chunk.max(1);
        let responses: Vec<Result<ReadResponse, Status>> = if entities.is_empty() {
            vec![Ok(ReadResponse { entities })]
        } else {
            entities
                .chunks(chunk)
                .map(|c| {
                    Ok(ReadResponse {
                        entities: c.to_vec(),
                    })
                })
                .collect()
        };
        Ok(Response::new(Box::pin(tokio_stream::iter(responses))))
    }

    async fn set_forwarding_pipeline_config(
        &self,
        request: Request<SetForwardingPipelineConfigRequest>,
    ) -> Result<Response<SetForwardingPipelineConfigResponse>, Status> {
        let req = request.into_inner();
        self.check_device(req.device_id)?;
        let mut state = self.shared.lock();
        let election = req.election_id.as_ref().map(ElectionId::from_proto);
        if !state.arbiter.is_primary(&req.role, election) {
            return Err(Status::permission_denied(
                "only the primary may set the pipeline",
            ));
        }
        state.device.set_pipeline(req.action, req.config)?;
        Ok(Response::new(SetForwardingPipelineConfigResponse {}))
    }

    async fn get_forwarding_pipeline_config(
        &self,
        request: Request<GetForwardingPipelineConfigRequest>,
    ) -> Result<Response<GetForwardingPipelineConfigResponse>, Status> {
        let req = request.into_inner();
        self.check_device(req.device_id)?;
        let config = self.shared.lock().device.get_pipeline(req.response_type)?;
        Ok(Response::new(GetForwardingPipelineConfigResponse {
            config: Some(config),
        }))
    }

    type StreamChannelStream = ResponseStream<StreamMessageResponse>;

    async fn stream_channel(
        &self,
        request: Request<Streaming<StreamMessageRequest>>,
    ) -> Result<Response<Self::StreamChannelStream>, Status> {
        let inbound = request.into_inner();
        let (tx, rx) = mpsc::channel(self.shared.config.stream_queue.max(1));
        let stream = self.shared.next_stream.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(session(self.shared.clone(), stream, inbound, tx));
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn capabilities(
        &self,
        _request: Request<CapabilitiesRequest>,
    ) -> Result<Response<CapabilitiesResponse>, Status> {
        Ok(Response::new(CapabilitiesResponse {
            p4runtime_api_version: P4RUNTIME_API_VERSION.to_string(),
            experimental: None,
        }))
    }
}
