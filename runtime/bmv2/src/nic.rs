//! A `simple_switch_grpc` as a ztnic NIC: the switch is started empty, a
//! controller loads the ztnic program into it over P4Runtime (as primary), and
//! packets are sent into its ports through the packet socket.
//!
//! The outcome of one packet is what the switch shows from outside: a frame out of
//! a port (forwarded); else an increment of the `punts` counter (punted: the
//! PacketIn itself goes to the controller's primary session); else an increment of
//! the `drops` counter (dropped). The counters are read through a second,
//! read-only P4Runtime session (no election id), opened at the first packet, after
//! the controller has loaded the pipeline. For a `policy_deny` drop, the deny rule
//! whose entry counted it is found from the policy table's direct counters.
//!
//! bmv2 keeps its own clock (real time): there is no simulated time to give it.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use ztnic_model::{Action, DropReason, Op, Outcome, PuntReason, Verdict};
use ztnic_p4runtime_client::protocol::v1::{self, CounterData, TableEntry, entity};
use ztnic_p4runtime_client::{ClientConfig, ClientError, P4RuntimeClient};
use ztnic_p4tables::{MapError, Program, names};

use crate::nanomsg::{NnError, PortFrame};
use crate::switch::{CPU_PORT, DEVICE_ID, Switch, SwitchError};

/// How long a packet may take before its outcome is given up on.
pub const OUTCOME_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a packet's outcome could not be seen.
#[derive(Debug, thiserror::Error)]
pub enum Bmv2NicError {
    #[error(transparent)]
    Switch(#[from] SwitchError),
    #[error(transparent)]
    Packets(#[from] NnError),
    #[error("bmv2 {endpoint}: read-only P4Runtime session: {source}")]
    Client {
        endpoint: String,
        #[source]
        source: ClientError,
    },
    #[error("bmv2 {0}: the switch runs no pipeline (the controller loads it)")]
    NoPipeline(String),
    #[error("bmv2 {endpoint}: {source}")]
    Map {
        endpoint: String,
        #[source]
        source: MapError,
    },
    #[error("bmv2 {0}: {1}")]
    Unknown(String, String),
    #[error("bmv2 {endpoint}: injecting the packet: {message}")]
    Inject { endpoint: String, message: String },
    #[error(
        "bmv2 {endpoint}: no outcome within {OUTCOME_TIMEOUT:?} for the packet sent into port {port}: no frame out, no punts or drops counted"
    )]
    NoOutcome { endpoint: String, port: u16 },
}

/// The read-only session and the counter values last seen.
struct Observer {
    client: P4RuntimeClient,
    program: Program,
    drops_id: u32,
    punts_id: u32,
    policy_id: u32,
    drops: BTreeMap<i64, i64>,
    punts: BTreeMap<i64, i64>,
    /// Packets counted by each deny rule's entry.
    denies: BTreeMap<u32, i64>,
}

/// One running `simple_switch_grpc` used as a ztnic NIC.
pub struct Bmv2Nic {
    switch: Switch,
    observer: Option<Observer>,
    /// Frames that left the switch while no packet of ours was in flight (packets
    /// re-injected by the controller).
    unclaimed: Vec<PortFrame>,
}

fn cells(entities: &[v1::Entity], counter_id: u32) -> BTreeMap<i64, i64> {
    entities
        .iter()
        .filter_map(|e| match &e.entity {
            Some(entity::Entity::CounterEntry(c)) if c.counter_id == counter_id => Some((
                c.index.as_ref().map_or(0, |i| i.index),
                c.data.as_ref().map_or(0, |d| d.packet_count),
            )),
            _ => None,
        })
        .filter(|&(_, n)| n > 0)
        .collect()
}

/// The first index whose count grew.
fn grew(before: &BTreeMap<i64, i64>, now: &BTreeMap<i64, i64>) -> Option<i64> {
    now.iter()
        .find(|&(i, n)| before.get(i).copied().unwrap_or(0) < *n)
        .map(|(i, _)| *i)
}

impl Bmv2Nic {
    /// Starts a switch with no program (see [`Switch::start`]).
    pub fn start() -> Result<Bmv2Nic, Bmv2NicError> {
        let trace = std::env::var_os("ZTNIC_BMV2_TRACE").is_some();
        Ok(Bmv2Nic {
            switch: Switch::start(trace)?,
            observer: None,
            unclaimed: Vec::new(),
        })
    }

    /// `127.0.0.1:PORT` of the switch's P4Runtime server.
    pub fn addr(&self) -> &str {
        &self.switch.grpc_addr
    }

    /// The gRPC endpoint a controller connects to.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.switch.grpc_addr)
    }

    /// The switch process.
    pub fn switch(&self) -> &Switch {
        &self.switch
    }

    /// The switch process, to send and receive frames directly (a benchmark's
    /// stream of packets), bypassing [`Bmv2Nic::send`]'s outcome detection.
    pub fn switch_mut(&mut self) -> &mut Switch {
        &mut self.switch
    }

    fn client_err(&self, source: ClientError) -> Bmv2NicError {
        Bmv2NicError::Client {
            endpoint: self.switch.grpc_addr.clone(),
            source,
        }
    }

    async fn connect_observer(&self) -> Result<Observer, Bmv2NicError> {
        let config = ClientConfig {
            election_id: None,
            ..ClientConfig::new(self.endpoint(), DEVICE_ID, 0)
        };
        let mut client = P4RuntimeClient::connect(config)
            .await
            .map_err(|e| self.client_err(e))?;
        client
            .fetch_p4info()
            .await
            .map_err(|_| Bmv2NicError::NoPipeline(self.switch.grpc_addr.clone()))?;
        let index = client.index().map_err(|e| self.client_err(e))?.clone();
        let map = |source| Bmv2NicError::Map {
            endpoint: self.switch.grpc_addr.clone(),
            source,
        };
        let program = Program::new(index.clone()).map_err(map)?;
        let err = |e: ztnic_p4runtime_client::protocol::P4InfoError| self.client_err(e.into());
        let drops_id = index.counter_by_name(names::DROPS).map_err(err)?.id;
        let punts_id = index.counter_by_name(names::PUNTS).map_err(err)?.id;
        let policy_id = index.table_by_name(names::POLICY).map_err(err)?.id;
        let mut o = Observer {
            client,
            program,
            drops_id,
            punts_id,
            policy_id,
            drops: BTreeMap::new(),
            punts: BTreeMap::new(),
            denies: BTreeMap::new(),
        };
        let (drops, punts) = o.read_reasons().await.map_err(|e| self.client_err(e))?;
        o.drops = drops;
        o.punts = punts;
        o.denies = o.read_denies().await.map_err(|e| self.client_err(e))?;
        Ok(o)
    }

    /// Sends `frame` into `port` and waits for what the switch did with it.
    /// `rule` is set for a `policy_deny` drop by a deny rule (it is `None` for the
    /// default deny, and for every other outcome).
    pub async fn send(&mut self, port: u16, frame: &[u8]) -> Result<Outcome, Bmv2NicError> {
        self.observe(port, frame, None::<std::future::Ready<Result<(), String>>>)
            .await
    }

    /// What the switch did with a packet the caller injects itself with `inject`
    /// (a controller's P4Runtime PacketOut, which only the primary session may
    /// send); `frame` is the packet, as a punt would report it.
    pub async fn observe_injected<F>(
        &mut self,
        frame: &[u8],
        inject: F,
    ) -> Result<Outcome, Bmv2NicError>
    where
        F: Future<Output = Result<(), String>>,
    {
        self.observe(CPU_PORT, frame, Some(inject)).await
    }

    async fn observe<F>(
        &mut self,
        port: u16,
        frame: &[u8],
        inject: Option<F>,
    ) -> Result<Outcome, Bmv2NicError>
    where
        F: Future<Output = Result<(), String>>,
    {
        let mut o = match self.observer.take() {
            Some(o) => o,
            None => self.connect_observer().await?,
        };
        let r = self.send_observed(&mut o, port, frame, inject).await;
        self.observer = Some(o);
        r
    }

    async fn send_observed<F>(
        &mut self,
        o: &mut Observer,
        port: u16,
        frame: &[u8],
        inject: Option<F>,
    ) -> Result<Outcome, Bmv2NicError>
    where
        F: Future<Output = Result<(), String>>,
    {
        // Counters moved by packets the controller re-injected since the last packet
        // of ours must not be taken for this one's.
        let (drops, punts) = o.read_reasons().await.map_err(|e| self.client_err(e))?;
        o.drops = drops;
        o.punts = punts;
        self.unclaimed.extend(self.switch.packets().drain());
        match inject {
            Some(f) => f.await.map_err(|message| Bmv2NicError::Inject {
                endpoint: self.switch.grpc_addr.clone(),
                message,
            })?,
            None => self.switch.packets().send(port, frame)?,
        }
        let deadline = Instant::now() + OUTCOME_TIMEOUT;
        let mut wait = Duration::from_micros(200);
        loop {
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_millis(2));
            if let Some(f) = self.switch.packets().try_recv() {
                return Ok(Outcome {
                    verdict: Verdict::Forward {
                        port: f.port,
                        frame: f.frame,
                    },
                    ct_state: None,
                    rule: None,
                });
            }
            let (drops, punts) = o.read_reasons().await.map_err(|e| self.client_err(e))?;
            if let Some(i) = grew(&o.punts, &punts) {
                o.punts = punts;
                let reason = u8::try_from(i)
                    .ok()
                    .and_then(PuntReason::from_code)
                    .ok_or_else(|| self.unknown(format!("a punt counted under reason {i}")))?;
                return Ok(Outcome {
                    verdict: Verdict::Punt {
                        reason,
                        frame: frame.to_vec(),
                    },
                    ct_state: None,
                    rule: None,
                });
            }
            if let Some(i) = grew(&o.drops, &drops) {
                o.drops = drops;
                let reason = u8::try_from(i)
                    .ok()
                    .and_then(DropReason::from_code)
                    .ok_or_else(|| self.unknown(format!("a drop counted under reason {i}")))?;
                let rule = if reason == DropReason::PolicyDeny {
                    let now = o.read_denies().await.map_err(|e| self.client_err(e))?;
                    let hit = now
                        .iter()
                        .find(|&(id, n)| o.denies.get(id).copied().unwrap_or(0) < *n)
                        .map(|(id, _)| *id);
                    o.denies = now;
                    hit
                } else {
                    None
                };
                return Ok(Outcome {
                    verdict: Verdict::Drop(reason),
                    ct_state: None,
                    rule,
                });
            }
            if Instant::now() >= deadline {
                return Err(Bmv2NicError::NoOutcome {
                    endpoint: self.switch.grpc_addr.clone(),
                    port,
                });
            }
        }
    }

    fn unknown(&self, what: String) -> Bmv2NicError {
        Bmv2NicError::Unknown(self.switch.grpc_addr.clone(), what)
    }

    /// Frames the switch sent out that no packet sent with [`Bmv2Nic::send`]
    /// caused (packets re-injected by the controller through PacketOut), waiting
    /// up to `wait` for the first.
    pub async fn take_output(&mut self, wait: Duration) -> Vec<PortFrame> {
        let deadline = Instant::now() + wait;
        loop {
            self.unclaimed.extend(self.switch.packets().drain());
            if !self.unclaimed.is_empty() || Instant::now() >= deadline {
                return std::mem::take(&mut self.unclaimed);
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// Stops the switch.
    pub fn stop(self) {
        drop(self.observer);
        self.switch.stop();
    }
}

impl Observer {
    /// The `drops` and `punts` cells (non-zero ones), in one Read.
    async fn read_reasons(
        &mut self,
    ) -> Result<(BTreeMap<i64, i64>, BTreeMap<i64, i64>), ClientError> {
        let counter = |counter_id| v1::Entity {
            entity: Some(entity::Entity::CounterEntry(v1::CounterEntry {
                counter_id,
                index: None,
                data: None,
            })),
        };
        let got = self
            .client
            .read(vec![counter(self.drops_id), counter(self.punts_id)])
            .await?;
        Ok((cells(&got, self.drops_id), cells(&got, self.punts_id)))
    }

    /// Packets counted by each deny rule's policy entry.
    async fn read_denies(&mut self) -> Result<BTreeMap<u32, i64>, ClientError> {
        let entries = self
            .client
            .read_entries(TableEntry {
                table_id: self.policy_id,
                counter_data: Some(CounterData::default()),
                ..TableEntry::default()
            })
            .await?;
        Ok(entries
            .iter()
            .filter_map(|e| match self.program.decode(e) {
                Ok(Op::SetRule(r)) if r.action == Action::Deny => {
                    Some((r.id, e.counter_data.as_ref().map_or(0, |d| d.packet_count)))
                }
                _ => None,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_cell_that_grew_is_found() {
        let before: BTreeMap<i64, i64> = [(1, 5), (3, 1)].into();
        assert_eq!(grew(&before, &before), None);
        let now: BTreeMap<i64, i64> = [(1, 5), (3, 1), (7, 1)].into();
        assert_eq!(grew(&before, &now), Some(7));
        let now: BTreeMap<i64, i64> = [(1, 6), (3, 1)].into();
        assert_eq!(grew(&before, &now), Some(1));
    }
}
