//! The client session: a StreamChannel kept alive by a background task
//! (arbitration, reconnect, event dispatch) plus the unary RPCs.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;
use ztnic_p4runtime::config::P4Info;
use ztnic_p4runtime::v1::{
    self, CounterData, DigestEntry, DigestList, DirectCounterEntry, DirectMeterEntry, Entity,
    ForwardingPipelineConfig, IdleTimeoutNotification, MasterArbitrationUpdate, MeterConfig,
    MeterEntry, P4Data, PacketIn, PacketOut, ReadRequest, Role, StreamError, StreamMessageRequest,
    TableEntry, Update, WriteRequest, entity, get_forwarding_pipeline_config_request::ResponseType,
    p4_runtime_client::P4RuntimeClient as GrpcClient,
    set_forwarding_pipeline_config_request::Action as PipelineAction, stream_message_request,
    stream_message_response, write_request::Atomicity,
};
use ztnic_p4runtime::{ElectionId, P4InfoIndex, status, validate};

use crate::builder::{TableEntryBuilder, encode};
use crate::error::{ClientError, UpdateError};
use crate::tls::ClientTls;
use crate::value::Value;

/// How the client retries after the server goes away.
#[derive(Debug, Clone)]
pub struct ReconnectPolicy {
    /// Consecutive failed attempts before giving up (0: never reconnect).
    pub max_attempts: u32,
    /// Pause between attempts.
    pub delay: Duration,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        ReconnectPolicy {
            max_attempts: 50,
            delay: Duration::from_millis(200),
        }
    }
}

/// Where and as whom to connect.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// gRPC endpoint, e.g. `http://127.0.0.1:9559` (or `https://nic1:9559`).
    pub endpoint: String,
    /// TLS settings; `None` is plaintext (or TLS with the OS roots for an
    /// `https://` endpoint).
    pub tls: Option<ClientTls>,
    /// Allow plaintext to an address that is not loopback.
    pub insecure: bool,
    /// P4Runtime device id (non-zero).
    pub device_id: u64,
    /// Election id; `None` makes the client a backup that never wins.
    pub election_id: Option<u128>,
    /// Role name; empty for the default (full-access) role.
    pub role: String,
    /// Role configuration sent with arbitration, if any.
    pub role_config: Option<prost_types::Any>,
    /// Timeout of the TCP/HTTP2 connection.
    pub connect_timeout: Duration,
    /// How long `connect` waits for the arbitration answer.
    pub arbitration_timeout: Duration,
    /// Reconnect behaviour.
    pub reconnect: ReconnectPolicy,
    /// Capacity of the event queue read by [`P4RuntimeClient::next_event`];
    /// events beyond it are dropped.
    pub event_queue: usize,
    /// Largest gRPC message sent or accepted.
    pub max_message_bytes: usize,
    /// Largest response metadata accepted. A failed Write carries one
    /// `p4.v1.Error` per update in the status trailer, so big batches need
    /// more than HTTP/2's usual 16 KiB (the spec suggests
    /// 8192 + 100 bytes per update).
    pub max_metadata_bytes: u32,
}

impl ClientConfig {
    /// A config for `endpoint` and `device_id` as primary candidate with
    /// `election_id` in the default role.
    pub fn new(endpoint: impl Into<String>, device_id: u64, election_id: u128) -> Self {
        ClientConfig {
            endpoint: endpoint.into(),
            tls: None,
            insecure: false,
            device_id,
            election_id: Some(election_id),
            role: String::new(),
            role_config: None,
            connect_timeout: Duration::from_secs(5),
            arbitration_timeout: Duration::from_secs(5),
            reconnect: ReconnectPolicy::default(),
            event_queue: 65536,
            max_message_bytes: 256 << 20,
            max_metadata_bytes: 8192 + 100 * 100_000,
        }
    }
}

/// This client's standing in arbitration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arbitration {
    /// Waiting for the server's answer (also while reconnecting).
    Pending,
    /// This client is primary: it may write and do packet I/O.
    Primary,
    /// Another controller is, or was, primary with this election id.
    Backup {
        /// Highest election id the server has seen (`None` if none yet).
        primary_election_id: Option<u128>,
    },
    /// The server refused the session or reconnects are exhausted.
    Failed(String),
}

/// Something received on the StreamChannel, or a change of the session.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// An arbitration advisory (also sent when the primary changes).
    Arbitration(MasterArbitrationUpdate),
    /// A packet punted by the data plane.
    PacketIn(PacketIn),
    /// Digest data; acknowledge with [`P4RuntimeClient::ack_digest`].
    Digest(DigestList),
    /// Entries that aged out.
    IdleTimeout(IdleTimeoutNotification),
    /// An error about a message this client sent on the stream.
    Error(StreamError),
    /// The stream broke; the client is reconnecting.
    Disconnected(String),
    /// A new stream was opened and arbitration was re-sent.
    Reconnected,
    /// An architecture-specific message.
    Other(prost_types::Any),
}

/// A P4Runtime session with one device.
pub struct P4RuntimeClient {
    grpc: GrpcClient<Channel>,
    config: ClientConfig,
    outbox: mpsc::Sender<StreamMessageRequest>,
    events: mpsc::Receiver<StreamEvent>,
    status: watch::Receiver<Arbitration>,
    index: Option<Arc<P4InfoIndex>>,
    task: JoinHandle<()>,
}

impl Drop for P4RuntimeClient {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Builds an update of `kind` for `entity`.
pub fn update(kind: v1::update::Type, entity: entity::Entity) -> Update {
    Update {
        r#type: kind as i32,
        entity: Some(Entity {
            entity: Some(entity),
        }),
    }
}

fn arbitration_message(config: &ClientConfig) -> StreamMessageRequest {
    let role = (!config.role.is_empty() || config.role_config.is_some()).then(|| Role {
        name: config.role.clone(),
        config: config.role_config.clone(),
        ..Default::default()
    });
    StreamMessageRequest {
        update: Some(stream_message_request::Update::Arbitration(
            MasterArbitrationUpdate {
                device_id: config.device_id,
                role,
                election_id: config.election_id.map(|e| ElectionId(e).to_proto()),
                status: None,
            },
        )),
    }
}

fn standing(update: &MasterArbitrationUpdate) -> Arbitration {
    let code = update.status.as_ref().map_or(0, |s| s.code);
    if code == tonic::Code::Ok as i32 {
        Arbitration::Primary
    } else {
        Arbitration::Backup {
            primary_election_id: update
                .election_id
                .as_ref()
                .map(|e| ElectionId::from_proto(e).0),
        }
    }
}

/// Codes after which reconnecting cannot help.
fn fatal(code: tonic::Code) -> bool {
    matches!(
        code,
        tonic::Code::InvalidArgument
            | tonic::Code::NotFound
            | tonic::Code::FailedPrecondition
            | tonic::Code::PermissionDenied
            | tonic::Code::Unimplemented
    )
}

struct StreamTask {
    grpc: GrpcClient<Channel>,
    config: ClientConfig,
    outbox: mpsc::Receiver<StreamMessageRequest>,
    events: mpsc::Sender<StreamEvent>,
    status: watch::Sender<Arbitration>,
    arbitration: watch::Receiver<StreamMessageRequest>,
    /// Why the stream last failed (shown if `connect` times out while the
    /// task keeps retrying, e.g. a server refusing the client's certificate).
    last_failure: Arc<std::sync::Mutex<Option<String>>>,
}

impl StreamTask {
    fn emit(&self, event: StreamEvent) {
        if self.events.try_send(event).is_err() {
            tracing::warn!("client event queue full: event dropped");
        }
    }

    /// Runs one stream until it ends; Ok(true) means the client is gone.
    async fn run_stream(&mut self, reconnected: &mut bool) -> Result<bool, tonic::Status> {
        let (tx, rx) = mpsc::channel::<StreamMessageRequest>(1024);
        let first = self.arbitration.borrow_and_update().clone();
        tx.send(first)
            .await
            .map_err(|_| tonic::Status::internal("stream sender closed"))?;
        let mut inbound = self
            .grpc
            .stream_channel(ReceiverStream::new(rx))
            .await?
            .into_inner();
        loop {
            tokio::select! {
                out = self.outbox.recv() => {
                    let Some(msg) = out else { return Ok(true) };
                    if tx.send(msg).await.is_err() {
                        return Err(tonic::Status::unavailable("stream closed"));
                    }
                }
                changed = self.arbitration.changed() => {
                    if changed.is_err() { return Ok(true) }
                    let msg = self.arbitration.borrow_and_update().clone();
                    if tx.send(msg).await.is_err() {
                        return Err(tonic::Status::unavailable("stream closed"));
                    }
                }
                msg = inbound.next() => {
                    let msg = match msg {
                        Some(Ok(m)) => m,
                        Some(Err(status)) => return Err(status),
                        None => return Err(tonic::Status::unavailable("server closed the stream")),
                    };
                    let event = match msg.update {
                        Some(stream_message_response::Update::Arbitration(a)) => {
                            if *reconnected {
                                *reconnected = false;
                                self.emit(StreamEvent::Reconnected);
                            }
                            self.status.send_replace(standing(&a));
                            StreamEvent::Arbitration(a)
                        }
                        Some(stream_message_response::Update::Packet(p)) => StreamEvent::PacketIn(p),
                        Some(stream_message_response::Update::Digest(d)) => StreamEvent::Digest(d),
                        Some(stream_message_response::Update::IdleTimeoutNotification(n)) => StreamEvent::IdleTimeout(n),
                        Some(stream_message_response::Update::Error(e)) => StreamEvent::Error(e),
                        Some(stream_message_response::Update::Other(o)) => StreamEvent::Other(o),
                        None => continue,
                    };
                    self.emit(event);
                }
            }
        }
    }

    async fn run(mut self) {
        let mut failures = 0u32;
        let mut reconnected = false;
        loop {
            match self.run_stream(&mut reconnected).await {
                Ok(_) => return,
                Err(status) => {
                    if let Ok(mut last) = self.last_failure.lock() {
                        *last = Some(why(&status));
                    }
                    let was_up = matches!(
                        *self.status.borrow(),
                        Arbitration::Primary | Arbitration::Backup { .. }
                    );
                    if fatal(status.code()) {
                        self.status.send_replace(Arbitration::Failed(format!(
                            "{}: {}",
                            status.code(),
                            why(&status)
                        )));
                        self.emit(StreamEvent::Disconnected(status.message().to_string()));
                        return;
                    }
                    if was_up {
                        // Standing first, so an observer of the event sees it.
                        failures = 0;
                        self.status.send_replace(Arbitration::Pending);
                        self.emit(StreamEvent::Disconnected(status.message().to_string()));
                    }
                    failures += 1;
                    if failures > self.config.reconnect.max_attempts {
                        self.status.send_replace(Arbitration::Failed(format!(
                            "gave up after {} attempts: {}",
                            self.config.reconnect.max_attempts,
                            why(&status)
                        )));
                        return;
                    }
                    self.status.send_replace(Arbitration::Pending);
                    reconnected = true;
                    tokio::time::sleep(self.config.reconnect.delay).await;
                }
            }
        }
    }
}

/// A status's message and the chain of its source (a refused TLS handshake
/// arrives as "transport error" with the cause as the source).
fn why(status: &tonic::Status) -> String {
    match std::error::Error::source(status) {
        Some(source) => {
            let cause = ztnic_p4runtime::transport::error_chain(source);
            if cause.starts_with(status.message()) {
                cause
            } else {
                format!("{}: {cause}", status.message())
            }
        }
        None => status.message().to_string(),
    }
}

impl P4RuntimeClient {
    /// Connects, opens the StreamChannel and waits for the arbitration
    /// answer. Whether this client is primary is then [`Self::arbitration`].
    pub async fn connect(config: ClientConfig) -> Result<Self, ClientError> {
        let endpoint = crate::tls::endpoint(&config)?
            .connect_timeout(config.connect_timeout)
            .http2_max_header_list_size(config.max_metadata_bytes)
            .tcp_nodelay(true);
        let channel = endpoint.connect().await?;
        let grpc = GrpcClient::new(channel)
            .max_decoding_message_size(config.max_message_bytes)
            .max_encoding_message_size(config.max_message_bytes);
        let (outbox_tx, outbox_rx) = mpsc::channel(4096);
        let (events_tx, events_rx) = mpsc::channel(config.event_queue.max(1));
        let (status_tx, status_rx) = watch::channel(Arbitration::Pending);
        let (_arb_tx, arb_rx) = watch::channel(arbitration_message(&config));
        let last_failure = Arc::new(std::sync::Mutex::new(None));
        let task = StreamTask {
            last_failure: last_failure.clone(),
            grpc: grpc.clone(),
            config: config.clone(),
            outbox: outbox_rx,
            events: events_tx,
            status: status_tx,
            arbitration: arb_rx,
        };
        let handle = tokio::spawn(async move {
            // Keep the arbitration sender alive as long as the task.
            let _keep = _arb_tx;
            task.run().await;
        });
        let mut client = P4RuntimeClient {
            grpc,
            config,
            outbox: outbox_tx,
            events: events_rx,
            status: status_rx,
            index: None,
            task: handle,
        };
        let timeout = client.config.arbitration_timeout;
        match client
            .wait_arbitration(|a| *a != Arbitration::Pending, timeout)
            .await
        {
            Ok(Arbitration::Failed(msg)) => Err(ClientError::Arbitration(msg)),
            Ok(_) => Ok(client),
            Err(ClientError::ArbitrationTimeout(t)) => {
                match last_failure.lock().ok().and_then(|mut l| l.take()) {
                    Some(why) => Err(ClientError::Arbitration(format!(
                        "no answer within {t:?}, the stream failing with: {why}"
                    ))),
                    None => Err(ClientError::ArbitrationTimeout(t)),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// This client's current standing.
    pub fn arbitration(&self) -> Arbitration {
        self.status.borrow().clone()
    }

    /// True while this client is the primary.
    pub fn is_primary(&self) -> bool {
        *self.status.borrow() == Arbitration::Primary
    }

    /// Waits until the standing satisfies `pred` (e.g. primary again after a
    /// reconnect) or `timeout` passes.
    pub async fn wait_arbitration(
        &mut self,
        pred: impl Fn(&Arbitration) -> bool,
        timeout: Duration,
    ) -> Result<Arbitration, ClientError> {
        let wait = self
            .status
            .wait_for(|a| pred(a) || matches!(a, Arbitration::Failed(_)));
        match tokio::time::timeout(timeout, wait).await {
            Ok(Ok(a)) => Ok(a.clone()),
            Ok(Err(_)) => Err(ClientError::Disconnected),
            Err(_) => Err(ClientError::ArbitrationTimeout(timeout)),
        }
    }

    /// Re-arbitrates with a new election id on the open stream (and on every
    /// future reconnect).
    pub async fn set_election_id(
        &mut self,
        election_id: Option<u128>,
    ) -> Result<Arbitration, ClientError> {
        self.config.election_id = election_id;
        self.status.mark_unchanged();
        self.outbox
            .send(arbitration_message(&self.config))
            .await
            .map_err(|_| ClientError::Disconnected)?;
        let timeout = self.config.arbitration_timeout;
        let mut rx = self.status.clone();
        match tokio::time::timeout(timeout, rx.changed()).await {
            Ok(Ok(())) => Ok(self.arbitration()),
            Ok(Err(_)) => Err(ClientError::Disconnected),
            Err(_) => Err(ClientError::ArbitrationTimeout(timeout)),
        }
    }

    /// The next stream event, waiting for one. `None` once the session is
    /// closed for good.
    pub async fn next_event(&mut self) -> Option<StreamEvent> {
        self.events.recv().await
    }

    /// The next stream event if one arrives within `timeout`.
    pub async fn next_event_within(&mut self, timeout: Duration) -> Option<StreamEvent> {
        tokio::time::timeout(timeout, self.events.recv())
            .await
            .ok()
            .flatten()
    }

    /// The configuration this client runs with.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    fn election(&self) -> Option<v1::Uint128> {
        self.config.election_id.map(|e| ElectionId(e).to_proto())
    }

    // ---------------------------------------------------------------- P4Info

    /// The P4Info index used for name resolution.
    pub fn index(&self) -> Result<&Arc<P4InfoIndex>, ClientError> {
        self.index.as_ref().ok_or(ClientError::NoP4Info)
    }

    /// Uses `p4info` for name resolution without touching the device.
    pub fn use_p4info(&mut self, p4info: P4Info) -> Result<(), ClientError> {
        self.index = Some(Arc::new(P4InfoIndex::new(p4info)?));
        Ok(())
    }

    /// Fetches the device's P4Info and uses it for name resolution.
    pub async fn fetch_p4info(&mut self) -> Result<(), ClientError> {
        let config = self.get_pipeline(ResponseType::P4infoAndCookie).await?;
        let p4info = config
            .p4info
            .ok_or_else(|| ClientError::Protocol("device returned no P4Info".into()))?;
        self.use_p4info(p4info)
    }

    /// Starts a table entry by table name.
    pub fn table_entry(&self, table: &str) -> Result<TableEntryBuilder, ClientError> {
        TableEntryBuilder::new(self.index()?.clone(), table)
    }

    // ----------------------------------------------------------- unary RPCs

    /// The P4Runtime API version the server implements.
    pub async fn capabilities(&mut self) -> Result<String, ClientError> {
        let resp = self
            .grpc
            .capabilities(v1::CapabilitiesRequest {
                device_id: self.config.device_id,
            })
            .await?;
        Ok(resp.into_inner().p4runtime_api_version)
    }

    /// Installs a pipeline (VERIFY_AND_COMMIT) and uses its P4Info.
    pub async fn set_pipeline(
        &mut self,
        p4info: P4Info,
        device_config: Vec<u8>,
        cookie: u64,
    ) -> Result<(), ClientError> {
        let config = ForwardingPipelineConfig {
            p4info: Some(p4info.clone()),
            p4_device_config: device_config,
            cookie: Some(v1::forwarding_pipeline_config::Cookie { cookie }),
        };
        self.set_pipeline_with(PipelineAction::VerifyAndCommit, Some(config))
            .await?;
        self.use_p4info(p4info)
    }

    /// SetForwardingPipelineConfig with an explicit action.
    pub async fn set_pipeline_with(
        &mut self,
        action: PipelineAction,
        config: Option<ForwardingPipelineConfig>,
    ) -> Result<(), ClientError> {
        self.grpc
            .set_forwarding_pipeline_config(v1::SetForwardingPipelineConfigRequest {
                device_id: self.config.device_id,
                role: self.config.role.clone(),
                election_id: self.election(),
                action: action as i32,
                config,
                ..Default::default()
            })
            .await?;
        Ok(())
    }

    /// GetForwardingPipelineConfig.
    pub async fn get_pipeline(
        &mut self,
        response_type: ResponseType,
    ) -> Result<ForwardingPipelineConfig, ClientError> {
        let resp = self
            .grpc
            .get_forwarding_pipeline_config(v1::GetForwardingPipelineConfigRequest {
                device_id: self.config.device_id,
                response_type: response_type as i32,
            })
            .await?;
        resp.into_inner().config.ok_or_else(|| {
            ClientError::Protocol("GetForwardingPipelineConfig without config".into())
        })
    }

    /// Sends one Write with `updates`; per-update failures come back as
    /// [`ClientError::Write`].
    pub async fn write(
        &mut self,
        updates: Vec<Update>,
        atomicity: Atomicity,
    ) -> Result<(), ClientError> {
        self.write_at(updates, atomicity, 0).await
    }

    async fn write_at(
        &mut self,
        updates: Vec<Update>,
        atomicity: Atomicity,
        offset: usize,
    ) -> Result<(), ClientError> {
        let request = WriteRequest {
            device_id: self.config.device_id,
            role: self.config.role.clone(),
            election_id: self.election(),
            updates,
            atomicity: atomicity as i32,
            ..Default::default()
        };
        match self.grpc.write(request).await {
            Ok(_) => Ok(()),
            Err(status) => match status::batch_errors(&status) {
                Some(errors) => Err(ClientError::Write {
                    errors: errors
                        .into_iter()
                        .enumerate()
                        .filter(|(_, e)| e.canonical_code != tonic::Code::Ok as i32)
                        .map(|(i, e)| UpdateError {
                            index: offset + i,
                            code: tonic::Code::from_i32(e.canonical_code),
                            message: e.message,
                        })
                        .collect(),
                }),
                None => Err(ClientError::Rpc(status)),
            },
        }
    }

    /// Sends `updates` as consecutive Writes of at most `batch_size` updates,
    /// each one awaited before the next so the batches apply in order. Stops
    /// at the first batch that fails (update indices in the error count from
    /// the start of `updates`).
    pub async fn write_batched(
        &mut self,
        updates: Vec<Update>,
        batch_size: usize,
        atomicity: Atomicity,
    ) -> Result<(), ClientError> {
        let batch_size = batch_size.max(1);
        let mut offset = 0;
        let mut rest = updates.into_iter().peekable();
        while rest.peek().is_some() {
            let batch: Vec<Update> = rest.by_ref().take(batch_size).collect();
            let n = batch.len();
            self.write_at(batch, atomicity, offset).await?;
            offset += n;
        }
        Ok(())
    }

    async fn write_entry(
        &mut self,
        kind: v1::update::Type,
        entry: TableEntry,
    ) -> Result<(), ClientError> {
        let u = update(kind, entity::Entity::TableEntry(entry));
        self.write(vec![u], Atomicity::ContinueOnError).await
    }

    /// INSERTs one table entry.
    pub async fn insert(&mut self, entry: TableEntry) -> Result<(), ClientError> {
        self.write_entry(v1::update::Type::Insert, entry).await
    }

    /// MODIFYs one table entry.
    pub async fn modify(&mut self, entry: TableEntry) -> Result<(), ClientError> {
        self.write_entry(v1::update::Type::Modify, entry).await
    }

    /// DELETEs one table entry (only its key matters).
    pub async fn delete(&mut self, entry: TableEntry) -> Result<(), ClientError> {
        self.write_entry(v1::update::Type::Delete, entry).await
    }

    /// Reads the entities matching `filters` (default-valued fields are
    /// wildcards), collecting the streamed responses.
    pub async fn read(&mut self, filters: Vec<Entity>) -> Result<Vec<Entity>, ClientError> {
        let mut stream = self.read_stream(filters).await?;
        let mut out = Vec::new();
        while let Some(resp) = stream.message().await? {
            out.extend(resp.entities);
        }
        Ok(out)
    }

    /// Reads as a stream of ReadResponse messages, for large results.
    pub async fn read_stream(
        &mut self,
        filters: Vec<Entity>,
    ) -> Result<tonic::Streaming<v1::ReadResponse>, ClientError> {
        let resp = self
            .grpc
            .read(ReadRequest {
                device_id: self.config.device_id,
                role: self.config.role.clone(),
                entities: filters,
            })
            .await?;
        Ok(resp.into_inner())
    }

    /// Reads table entries matching `filter` (e.g. `TableEntry::default()`
    /// for every entry of every table).
    pub async fn read_entries(
        &mut self,
        filter: TableEntry,
    ) -> Result<Vec<TableEntry>, ClientError> {
        let entities = self
            .read(vec![Entity {
                entity: Some(entity::Entity::TableEntry(filter)),
            }])
            .await?;
        Ok(entities
            .into_iter()
            .filter_map(|e| match e.entity {
                Some(entity::Entity::TableEntry(t)) => Some(t),
                _ => None,
            })
            .collect())
    }

    /// Every entry of the table named `table`.
    pub async fn read_table(&mut self, table: &str) -> Result<Vec<TableEntry>, ClientError> {
        let table_id = self.index()?.table_by_name(table)?.id;
        self.read_entries(TableEntry {
            table_id,
            ..Default::default()
        })
        .await
    }

    // ------------------------------------------------------ counters, meters

    /// Reads an indexed counter: one cell, or every cell with `None`.
    pub async fn read_counter(
        &mut self,
        counter: &str,
        index: Option<i64>,
    ) -> Result<Vec<(i64, CounterData)>, ClientError> {
        let counter_id = self.index()?.counter_by_name(counter)?.id;
        let entities = self
            .read(vec![Entity {
                entity: Some(entity::Entity::CounterEntry(v1::CounterEntry {
                    counter_id,
                    index: index.map(|index| v1::Index { index }),
                    data: None,
                })),
            }])
            .await?;
        Ok(entities
            .into_iter()
            .filter_map(|e| match e.entity {
                Some(entity::Entity::CounterEntry(c)) => {
                    Some((c.index.map_or(0, |i| i.index), c.data.unwrap_or_default()))
                }
                _ => None,
            })
            .collect())
    }

    /// Reads a register: one cell, or with `None` a wildcard read (every cell
    /// the target reports; a target may leave out cells it holds as zero, see
    /// its documentation). Cells are `(index, value)` in the order the target
    /// sent them.
    pub async fn read_register(
        &mut self,
        register: &str,
        index: Option<i64>,
    ) -> Result<Vec<(i64, P4Data)>, ClientError> {
        let register_id = self.index()?.register_by_name(register)?.id;
        let entities = self
            .read(vec![Entity {
                entity: Some(entity::Entity::RegisterEntry(v1::RegisterEntry {
                    register_id,
                    index: index.map(|index| v1::Index { index }),
                    data: None,
                })),
            }])
            .await?;
        Ok(entities
            .into_iter()
            .filter_map(|e| match e.entity {
                Some(entity::Entity::RegisterEntry(r)) if r.register_id == register_id => {
                    Some((r.index.map_or(0, |i| i.index), r.data.unwrap_or_default()))
                }
                _ => None,
            })
            .collect())
    }

    /// Writes a cell of an indexed counter.
    pub async fn write_counter(
        &mut self,
        counter: &str,
        index: i64,
        data: CounterData,
    ) -> Result<(), ClientError> {
        let counter_id = self.index()?.counter_by_name(counter)?.id;
        let entry = v1::CounterEntry {
            counter_id,
            index: Some(v1::Index { index }),
            data: Some(data),
        };
        self.write(
            vec![update(
                v1::update::Type::Modify,
                entity::Entity::CounterEntry(entry),
            )],
            Atomicity::ContinueOnError,
        )
        .await
    }

    /// Reads the direct counter of the entry with the key of `key`.
    pub async fn read_direct_counter(
        &mut self,
        key: &TableEntry,
    ) -> Result<CounterData, ClientError> {
        let entities = self
            .read(vec![Entity {
                entity: Some(entity::Entity::DirectCounterEntry(DirectCounterEntry {
                    table_entry: Some(key.clone()),
                    data: None,
                })),
            }])
            .await?;
        entities
            .into_iter()
            .find_map(|e| match e.entity {
                Some(entity::Entity::DirectCounterEntry(d)) => Some(d.data.unwrap_or_default()),
                _ => None,
            })
            .ok_or(ClientError::Rpc(tonic::Status::not_found(
                "no such table entry",
            )))
    }

    /// Writes the direct counter of the entry with the key of `key`.
    pub async fn write_direct_counter(
        &mut self,
        key: &TableEntry,
        data: CounterData,
    ) -> Result<(), ClientError> {
        let e = DirectCounterEntry {
            table_entry: Some(key.clone()),
            data: Some(data),
        };
        self.write(
            vec![update(
                v1::update::Type::Modify,
                entity::Entity::DirectCounterEntry(e),
            )],
            Atomicity::ContinueOnError,
        )
        .await
    }

    /// Configures a meter cell (`None` resets it to all-green).
    pub async fn write_meter(
        &mut self,
        meter: &str,
        index: i64,
        config: Option<MeterConfig>,
    ) -> Result<(), ClientError> {
        let meter_id = self.index()?.meter_by_name(meter)?.id;
        let e = MeterEntry {
            meter_id,
            index: Some(v1::Index { index }),
            config,
            counter_data: None,
        };
        self.write(
            vec![update(
                v1::update::Type::Modify,
                entity::Entity::MeterEntry(e),
            )],
            Atomicity::ContinueOnError,
        )
        .await
    }

    /// Reads meter cells: one, or all with `None`.
    pub async fn read_meter(
        &mut self,
        meter: &str,
        index: Option<i64>,
    ) -> Result<Vec<(i64, Option<MeterConfig>)>, ClientError> {
        let meter_id = self.index()?.meter_by_name(meter)?.id;
        let entities = self
            .read(vec![Entity {
                entity: Some(entity::Entity::MeterEntry(MeterEntry {
                    meter_id,
                    index: index.map(|index| v1::Index { index }),
                    ..Default::default()
                })),
            }])
            .await?;
        Ok(entities
            .into_iter()
            .filter_map(|e| match e.entity {
                Some(entity::Entity::MeterEntry(m)) => {
                    Some((m.index.map_or(0, |i| i.index), m.config))
                }
                _ => None,
            })
            .collect())
    }

    /// Configures the direct meter of the entry with the key of `key`.
    pub async fn write_direct_meter(
        &mut self,
        key: &TableEntry,
        config: Option<MeterConfig>,
    ) -> Result<(), ClientError> {
        let e = DirectMeterEntry {
            table_entry: Some(key.clone()),
            config,
            counter_data: None,
        };
        self.write(
            vec![update(
                v1::update::Type::Modify,
                entity::Entity::DirectMeterEntry(e),
            )],
            Atomicity::ContinueOnError,
        )
        .await
    }

    /// Reads the direct meter configuration of the entry with the key of `key`.
    pub async fn read_direct_meter(
        &mut self,
        key: &TableEntry,
    ) -> Result<Option<MeterConfig>, ClientError> {
        let entities = self
            .read(vec![Entity {
                entity: Some(entity::Entity::DirectMeterEntry(DirectMeterEntry {
                    table_entry: Some(key.clone()),
                    ..Default::default()
                })),
            }])
            .await?;
        entities
            .into_iter()
            .find_map(|e| match e.entity {
                Some(entity::Entity::DirectMeterEntry(d)) => Some(d.config),
                _ => None,
            })
            .ok_or(ClientError::Rpc(tonic::Status::not_found(
                "no such table entry",
            )))
    }

    // ------------------------------------------------------ digests, packets

    /// Turns on DigestList generation for the digest named `digest`.
    pub async fn enable_digest(
        &mut self,
        digest: &str,
        config: v1::digest_entry::Config,
    ) -> Result<(), ClientError> {
        let digest_id = self.index()?.digest_by_name(digest)?.id;
        let e = DigestEntry {
            digest_id,
            config: Some(config),
        };
        self.write(
            vec![update(
                v1::update::Type::Insert,
                entity::Entity::DigestEntry(e),
            )],
            Atomicity::ContinueOnError,
        )
        .await
    }

    /// Turns DigestList generation off.
    pub async fn disable_digest(&mut self, digest: &str) -> Result<(), ClientError> {
        let digest_id = self.index()?.digest_by_name(digest)?.id;
        let e = DigestEntry {
            digest_id,
            config: None,
        };
        self.write(
            vec![update(
                v1::update::Type::Delete,
                entity::Entity::DigestEntry(e),
            )],
            Atomicity::ContinueOnError,
        )
        .await
    }

    /// Acknowledges a digest list so its data may be reported again.
    pub async fn ack_digest(&self, list: &DigestList) -> Result<(), ClientError> {
        self.send_stream(stream_message_request::Update::DigestAck(
            v1::DigestListAck {
                digest_id: list.digest_id,
                list_id: list.list_id,
            },
        ))
        .await
    }

    /// Injects a packet with `packet_out` metadata given by field name (none
    /// when the program declares no `packet_out` header).
    pub async fn packet_out(
        &self,
        payload: Vec<u8>,
        metadata: &[(&str, Value)],
    ) -> Result<(), ClientError> {
        let index = self.index()?;
        let metadata = match index.packet_out() {
            Some(header) => {
                let mut md = Vec::with_capacity(metadata.len());
                for (name, value) in metadata {
                    let field = header.field_by_name(name)?;
                    md.push(v1::PacketMetadata {
                        metadata_id: field.id,
                        value: encode(
                            || format!("packet_out.{name}"),
                            value.clone(),
                            field.bitwidth,
                        )?,
                    });
                }
                validate::packet_metadata(header, &md)?
            }
            None if metadata.is_empty() => Vec::new(),
            None => {
                return Err(ClientError::Protocol(
                    "the program has no packet_out header".into(),
                ));
            }
        };
        self.send_stream(stream_message_request::Update::Packet(PacketOut {
            payload,
            metadata,
        }))
        .await
    }

    /// Sends a ready-made PacketOut (metadata ids and values already encoded,
    /// for example by a program-specific mapping); the metadata is checked
    /// against the P4Info first.
    pub async fn send_packet_out(&self, packet: PacketOut) -> Result<(), ClientError> {
        let index = self.index()?;
        let metadata = match index.packet_out() {
            Some(header) => validate::packet_metadata(header, &packet.metadata)?,
            None if packet.metadata.is_empty() => Vec::new(),
            None => {
                return Err(ClientError::Protocol(
                    "the program has no packet_out header".into(),
                ));
            }
        };
        self.send_stream(stream_message_request::Update::Packet(PacketOut {
            payload: packet.payload,
            metadata,
        }))
        .await
    }

    /// The metadata of a PacketIn by field name (canonical byte strings).
    pub fn packet_in_metadata(
        &self,
        packet: &PacketIn,
    ) -> Result<Vec<(String, Vec<u8>)>, ClientError> {
        let index = self.index()?;
        let header = index
            .packet_in()
            .ok_or_else(|| ClientError::Protocol("the program has no packet_in header".into()))?;
        let md = validate::packet_metadata(header, &packet.metadata)?;
        Ok(md
            .into_iter()
            .map(|m| {
                let name = header
                    .field(m.metadata_id)
                    .map(|f| f.name.clone())
                    .unwrap_or_default();
                (name, m.value)
            })
            .collect())
    }

    async fn send_stream(&self, update: stream_message_request::Update) -> Result<(), ClientError> {
        self.outbox
            .send(StreamMessageRequest {
                update: Some(update),
            })
            .await
            .map_err(|_| ClientError::Disconnected)
    }
}
