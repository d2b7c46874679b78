//! The synchronous heart of the server: one device's pipeline, its backend
//! and digest state, and the P4Runtime semantics of Write, Read, pipeline
//! configuration and PacketOut on top of the [`Backend`] calls.

use std::sync::Arc;

use tonic::{Code, Status};
use ztnic_p4runtime::p4info::TableInfo;
use ztnic_p4runtime::v1::{
    self, CounterData, CounterEntry, DigestEntry, DirectCounterEntry, DirectMeterEntry, Entity,
    ForwardingPipelineConfig, MeterConfig, MeterCounterData, MeterEntry, PacketOut, RegisterEntry,
    TableEntry, Update, digest_entry, entity,
    set_forwarding_pipeline_config_request::Action as PipelineAction, write_request::Atomicity,
};
use ztnic_p4runtime::validate::{self, ValidationError, WriteOp};
use ztnic_p4runtime::{P4InfoIndex, bytestring};

use crate::backend::{Backend, BackendError, Pipeline};
use crate::digest::Digests;

/// A validated update, ready to apply.
enum Op {
    Table(WriteOp, TableEntry),
    Counter(CounterEntry),
    DirectCounter(DirectCounterEntry),
    Meter(MeterEntry),
    DirectMeter(DirectMeterEntry),
    Digest(WriteOp, DigestEntry),
}

/// How to revert one applied update.
enum Undo {
    Delete(TableEntry),
    Replace(TableEntry),
    Insert(TableEntry),
    Default(Option<TableEntry>),
    Counter(u32, i64, CounterData),
    Meter(u32, i64, Option<MeterConfig>),
    Digest(u32, Option<digest_entry::Config>),
}

fn backend_err(e: BackendError) -> ValidationError {
    ValidationError::new(e.code(), e.to_string())
}

fn strip_volatile(mut e: TableEntry) -> TableEntry {
    e.time_since_last_hit = None;
    e
}

/// The canonical default entry of `table` as the P4 program defines it.
fn initial_default(table: &TableInfo) -> TableEntry {
    let action = match &table.initial_default_action {
        Some(call) => Some(v1::Action {
            action_id: call.action_id,
            params: call
                .arguments
                .iter()
                .map(|a| v1::action::Param {
                    param_id: a.param_id,
                    value: bytestring::canonicalize(&a.value),
                })
                .collect(),
        }),
        None if table.const_default_action_id != 0 => Some(v1::Action {
            action_id: table.const_default_action_id,
            params: Vec::new(),
        }),
        None => None,
    };
    TableEntry {
        table_id: table.id,
        is_default_action: true,
        action: action.map(|a| v1::TableAction {
            r#type: Some(v1::table_action::Type::Action(a)),
        }),
        counter_data: table.direct_counter_id.map(|_| CounterData::default()),
        ..Default::default()
    }
}

/// One device: backend, live and saved pipeline, digest state.
pub(crate) struct Device<B: Backend> {
    pub(crate) backend: B,
    pipeline: Option<Pipeline>,
    saved: Option<Pipeline>,
    pub(crate) digests: Digests,
}

impl<B: Backend> Device<B> {
    pub(crate) fn new(backend: B) -> Self {
        Device {
            backend,
            pipeline: None,
            saved: None,
            digests: Digests::default(),
        }
    }

    fn index(&self) -> Result<Arc<P4InfoIndex>, Status> {
        self.pipeline
            .as_ref()
            .map(|p| p.index.clone())
            .ok_or_else(|| {
                Status::failed_precondition("no forwarding pipeline config has been set")
            })
    }

    fn build_pipeline(&self, config: Option<ForwardingPipelineConfig>) -> Result<Pipeline, Status> {
        let config = config.ok_or_else(|| Status::invalid_argument("config is required"))?;
        let p4info = config
            .p4info
            .clone()
            .ok_or_else(|| Status::invalid_argument("config.p4info is required"))?;
        let index = P4InfoIndex::new(p4info)
            .map_err(|e| Status::invalid_argument(format!("P4Info: {e}")))?;
        let pipeline = Pipeline {
            config,
            index: Arc::new(index),
        };
        self.backend
            .verify_pipeline(&pipeline)
            .map_err(|e| Status::new(e.code(), e.to_string()))?;
        Ok(pipeline)
    }

    fn commit(&mut self, pipeline: Pipeline) -> Result<(), Status> {
        self.backend
            .set_pipeline(&pipeline)
            .map_err(|e| Status::new(e.code(), e.to_string()))?;
        for table in pipeline.index.tables() {
            self.backend
                .set_default_entry(&initial_default(table))
                .map_err(|e| Status::internal(format!("setting default entries: {e}")))?;
        }
        self.digests.reset();
        self.pipeline = Some(pipeline);
        Ok(())
    }

    /// Installs `config` as the live pipeline over the state the backend
    /// already holds ([`Backend::resume_pipeline`]); default entries are the
    /// backend's too.
    pub(crate) fn resume_pipeline(
        &mut self,
        config: ForwardingPipelineConfig,
    ) -> Result<(), Status> {
        let pipeline = self.build_pipeline(Some(config))?;
        self.backend
            .resume_pipeline(&pipeline)
            .map_err(|e| Status::new(e.code(), e.to_string()))?;
        self.digests.reset();
        self.pipeline = Some(pipeline);
        Ok(())
    }

    /// SetForwardingPipelineConfig after the device and primary checks.
    pub(crate) fn set_pipeline(
        &mut self,
        action: i32,
        config: Option<ForwardingPipelineConfig>,
    ) -> Result<(), Status> {
        match PipelineAction::try_from(action) {
            Ok(PipelineAction::Verify) => self.build_pipeline(config).map(|_| ()),
            Ok(PipelineAction::VerifyAndSave) => {
                self.saved = Some(self.build_pipeline(config)?);
                Ok(())
            }
            Ok(PipelineAction::VerifyAndCommit) => {
                let p = self.build_pipeline(config)?;
                self.saved = None;
                self.commit(p)
            }
            Ok(PipelineAction::Commit) => {
                let p = self
                    .saved
                    .take()
                    .ok_or_else(|| Status::failed_precondition("COMMIT without a saved config"))?;
                self.commit(p)
            }
            Ok(PipelineAction::ReconcileAndCommit) => {
                let p = self.build_pipeline(config)?;
                match &self.pipeline {
                    // Same P4Info: forwarding state stays, config metadata updates.
                    Some(live) if live.config.p4info == p.config.p4info => {
                        self.pipeline = Some(p);
                        Ok(())
                    }
                    Some(_) => Err(Status::unimplemented(
                        "RECONCILE_AND_COMMIT with a different P4Info is not supported",
                    )),
                    None => self.commit(p),
                }
            }
            _ => Err(Status::invalid_argument(format!(
                "invalid pipeline action {action}"
            ))),
        }
    }

    /// GetForwardingPipelineConfig.
    pub(crate) fn get_pipeline(
        &self,
        response_type: i32,
    ) -> Result<ForwardingPipelineConfig, Status> {
        use v1::get_forwarding_pipeline_config_request::ResponseType;
        let live = self.pipeline.as_ref().ok_or_else(|| {
            Status::failed_precondition("no forwarding pipeline config has been set")
        })?;
        let c = &live.config;
        Ok(match ResponseType::try_from(response_type) {
            Ok(ResponseType::All) => c.clone(),
            Ok(ResponseType::CookieOnly) => ForwardingPipelineConfig {
                cookie: c.cookie,
                ..Default::default()
            },
            Ok(ResponseType::P4infoAndCookie) => ForwardingPipelineConfig {
                p4info: c.p4info.clone(),
                cookie: c.cookie,
                ..Default::default()
            },
            Ok(ResponseType::DeviceConfigAndCookie) => ForwardingPipelineConfig {
                p4_device_config: c.p4_device_config.clone(),
                cookie: c.cookie,
                ..Default::default()
            },
            Err(_) => {
                return Err(Status::invalid_argument(format!(
                    "invalid response type {response_type}"
                )));
            }
        })
    }

    fn check(index: &P4InfoIndex, update: &Update) -> Result<Op, ValidationError> {
        let op = WriteOp::from_update_type(update.r#type)?;
        let entity = update
            .entity
            .as_ref()
            .and_then(|e| e.entity.as_ref())
            .ok_or_else(|| ValidationError::invalid("update without an entity"))?;
        Ok(match entity {
            entity::Entity::TableEntry(e) => Op::Table(op, validate::table_entry(index, e, op)?),
            entity::Entity::CounterEntry(e) => Op::Counter(validate::counter_entry(index, e, op)?),
            entity::Entity::DirectCounterEntry(e) => {
                Op::DirectCounter(validate::direct_counter_entry(index, e, op)?)
            }
            entity::Entity::MeterEntry(e) => Op::Meter(validate::meter_entry(index, e, op)?),
            entity::Entity::DirectMeterEntry(e) => {
                Op::DirectMeter(validate::direct_meter_entry(index, e, op)?)
            }
            entity::Entity::DigestEntry(e) => Op::Digest(op, validate::digest_entry(index, e, op)?),
            entity::Entity::RegisterEntry(_) => {
                return Err(ValidationError::unimplemented(
                    "register writes are not supported: registers are read-only here (the data plane owns them)",
                ));
            }
            other => {
                return Err(ValidationError::unimplemented(format!(
                    "{} entities are not supported",
                    entity_kind(other)
                )));
            }
        })
    }

    /// The stored state of an entry addressed by a canonical key (default
    /// entries included), without read-only fields.
    fn stored(&self, key: &TableEntry) -> Result<TableEntry, ValidationError> {
        let found = if key.is_default_action {
            self.backend.default_entry(key.table_id)
        } else {
            self.backend.entry(key)
        };
        found
            .map(strip_volatile)
            .ok_or_else(|| ValidationError::new(Code::NotFound, "table entry not found"))
    }

    /// Writes the full new state of an existing entry (default or not).
    fn put(&mut self, new: TableEntry) -> Result<Undo, ValidationError> {
        if new.is_default_action {
            let old = self.backend.set_default_entry(&new).map_err(backend_err)?;
            Ok(Undo::Default(old))
        } else {
            let old = self.backend.replace_entry(&new).map_err(backend_err)?;
            Ok(Undo::Replace(old))
        }
    }

    fn apply(&mut self, index: &P4InfoIndex, op: Op) -> Result<Undo, ValidationError> {
        match op {
            Op::Table(WriteOp::Insert, mut e) => {
                let table = index
                    .table(e.table_id)
                    .ok_or_else(|| ValidationError::invalid("unknown table"))?;
                if table.direct_counter_id.is_some() && e.counter_data.is_none() {
                    e.counter_data = Some(CounterData::default());
                }
                e.meter_counter_data = None;
                self.backend.insert_entry(&e).map_err(backend_err)?;
                Ok(Undo::Delete(e))
            }
            Op::Table(WriteOp::Modify, mut e) => {
                let table = index
                    .table(e.table_id)
                    .ok_or_else(|| ValidationError::invalid("unknown table"))?;
                let old = self.stored(&e)?;
                if e.action.is_none() {
                    if e.is_default_action {
                        // Unset action resets the default entry to the program's.
                        let initial = initial_default(table);
                        e.action = initial.action;
                    } else {
                        e.action = old.action;
                    }
                }
                if e.counter_data.is_none() {
                    e.counter_data = old.counter_data;
                }
                e.meter_counter_data = None;
                self.put(e)
            }
            Op::Table(WriteOp::Delete, key) => {
                let old = self.backend.delete_entry(&key).map_err(backend_err)?;
                Ok(Undo::Insert(old))
            }
            Op::Counter(c) => {
                let index_val = c.index.map_or(0, |i| i.index);
                let old = self
                    .backend
                    .set_counter(c.counter_id, index_val, c.data.unwrap_or_default())
                    .map_err(backend_err)?;
                Ok(Undo::Counter(c.counter_id, index_val, old))
            }
            Op::DirectCounter(dc) => {
                let key = dc.table_entry.unwrap_or_default();
                let mut new = self.stored(&key)?;
                new.counter_data = Some(dc.data.unwrap_or_default());
                self.put(new)
            }
            Op::Meter(m) => {
                let index_val = m.index.map_or(0, |i| i.index);
                let old = self
                    .backend
                    .set_meter(m.meter_id, index_val, m.config)
                    .map_err(backend_err)?;
                Ok(Undo::Meter(m.meter_id, index_val, old))
            }
            Op::DirectMeter(dm) => {
                let key = dm.table_entry.unwrap_or_default();
                let mut new = self.stored(&key)?;
                new.meter_config = dm.config;
                self.put(new)
            }
            Op::Digest(op, d) => {
                let current = self.digests.config(d.digest_id);
                match (op, current.is_some()) {
                    (WriteOp::Insert, true) => {
                        return Err(ValidationError::new(
                            Code::AlreadyExists,
                            "digest is already configured",
                        ));
                    }
                    (WriteOp::Modify | WriteOp::Delete, false) => {
                        return Err(ValidationError::new(
                            Code::NotFound,
                            "digest is not configured",
                        ));
                    }
                    _ => {}
                }
                let old = self.digests.configure(d.digest_id, d.config);
                Ok(Undo::Digest(d.digest_id, old))
            }
        }
    }

    fn undo(&mut self, undo: Undo) {
        let result = match undo {
            Undo::Delete(e) => self.backend.delete_entry(&e).map(|_| ()),
            Undo::Replace(e) => self.backend.replace_entry(&e).map(|_| ()),
            Undo::Insert(e) => self.backend.insert_entry(&e),
            Undo::Default(Some(e)) => self.backend.set_default_entry(&e).map(|_| ()),
            Undo::Default(None) => Ok(()),
            Undo::Counter(id, i, d) => self.backend.set_counter(id, i, d).map(|_| ()),
            Undo::Meter(id, i, c) => self.backend.set_meter(id, i, c).map(|_| ()),
            Undo::Digest(id, c) => {
                self.digests.configure(id, c);
                Ok(())
            }
        };
        if let Err(e) = result {
            tracing::error!("rollback step failed: {e}");
        }
    }

    /// Write after the device and primary checks. `Err` carries either an
    /// RPC-wide status or the batch status with one error per update.
    pub(crate) fn write(&mut self, updates: &[Update], atomicity: i32) -> Result<(), Status> {
        let index = self.index()?;
        let atomicity = Atomicity::try_from(atomicity)
            .map_err(|_| Status::invalid_argument(format!("invalid atomicity {atomicity}")))?;
        if atomicity == Atomicity::DataplaneAtomic && !self.backend.supports_dataplane_atomic() {
            return Err(Status::unimplemented(
                "DATAPLANE_ATOMIC is not supported by this device",
            ));
        }
        let all_or_none = atomicity != Atomicity::ContinueOnError;
        let checked: Vec<Result<Op, ValidationError>> =
            updates.iter().map(|u| Self::check(&index, u)).collect();
        let mut errors: Vec<Option<ValidationError>> =
            checked.iter().map(|r| r.as_ref().err().cloned()).collect();
        let any_invalid = errors.iter().any(Option::is_some);
        if all_or_none && any_invalid {
            return Err(batch(errors, true));
        }
        let mut applied: Vec<Undo> = Vec::new();
        for (i, op) in checked.into_iter().enumerate() {
            let Ok(op) = op else { continue };
            match self.apply(&index, op) {
                // undo records only where a failure rolls the batch back
                Ok(undo) if all_or_none => applied.push(undo),
                Ok(_) => {}
                Err(e) => {
                    errors[i] = Some(e);
                    if all_or_none {
                        while let Some(u) = applied.pop() {
                            self.undo(u);
                        }
                        return Err(batch(errors, true));
                    }
                }
            }
        }
        if errors.iter().any(Option::is_some) {
            return Err(batch(errors, false));
        }
        Ok(())
    }

    /// Read after the device check: every entity matching the filters.
    pub(crate) fn read(&self, entities: &[Entity]) -> Result<Vec<Entity>, Status> {
        let index = self.index()?;
        let mut out = Vec::new();
        for e in entities {
            match e.entity.as_ref() {
                Some(entity::Entity::TableEntry(f)) => self.read_tables(&index, f, &mut out)?,
                Some(entity::Entity::CounterEntry(f)) => self.read_counters(&index, f, &mut out)?,
                Some(entity::Entity::DirectCounterEntry(f)) => {
                    self.read_direct(&index, f.table_entry.as_ref(), true, &mut out)?
                }
                Some(entity::Entity::MeterEntry(f)) => self.read_meters(&index, f, &mut out)?,
                Some(entity::Entity::DirectMeterEntry(f)) => {
                    self.read_direct(&index, f.table_entry.as_ref(), false, &mut out)?
                }
                Some(entity::Entity::DigestEntry(f)) => self.read_digests(&index, f, &mut out)?,
                Some(entity::Entity::RegisterEntry(f)) => {
                    self.read_registers(&index, f, &mut out)?
                }
                Some(other) => {
                    return Err(Status::unimplemented(format!(
                        "reading {} entities is not supported",
                        entity_kind(other)
                    )));
                }
                None => return Err(Status::invalid_argument("read of an empty entity")),
            }
        }
        Ok(out)
    }

    fn tables_for(index: &P4InfoIndex, table_id: u32) -> Result<Vec<&TableInfo>, Status> {
        if table_id == 0 {
            let mut all: Vec<&TableInfo> = index.tables().collect();
            all.sort_by_key(|t| t.id);
            return Ok(all);
        }
        index
            .table(table_id)
            .map(|t| vec![t])
            .ok_or_else(|| Status::not_found(format!("unknown table id {table_id}")))
    }

    /// Entries of `table` selected by the key part of `filter`.
    fn select(&self, table: &TableInfo, filter: &TableEntry) -> Result<Vec<TableEntry>, Status> {
        if filter.is_default_action {
            return Ok(self.backend.default_entry(table.id).into_iter().collect());
        }
        if filter.r#match.is_empty() {
            return Ok(self.backend.entries(table.id));
        }
        let r#match = validate::match_key(table, &filter.r#match)
            .map_err(|e| Status::new(e.code, e.message))?;
        if !table.needs_priority || filter.priority != 0 {
            let key = TableEntry {
                table_id: table.id,
                r#match,
                priority: filter.priority,
                ..Default::default()
            };
            return Ok(self.backend.entry(&key).into_iter().collect());
        }
        Ok(self
            .backend
            .entries(table.id)
            .into_iter()
            .filter(|e| e.r#match == r#match)
            .collect())
    }

    fn read_tables(
        &self,
        index: &P4InfoIndex,
        f: &TableEntry,
        out: &mut Vec<Entity>,
    ) -> Result<(), Status> {
        let action_filter = match f.action.as_ref().and_then(|a| a.r#type.as_ref()) {
            Some(v1::table_action::Type::Action(a)) => Some(a.action_id),
            Some(_) => {
                return Err(Status::unimplemented(
                    "filtering on action profile references",
                ));
            }
            None => None,
        };
        #[allow(deprecated)]
        let controller_metadata = f.controller_metadata;
        for table in Self::tables_for(index, f.table_id)? {
            for mut e in self.select(table, f)? {
                let action_id = match e.action.as_ref().and_then(|a| a.r#type.as_ref()) {
                    Some(v1::table_action::Type::Action(a)) => Some(a.action_id),
                    _ => None,
                };
                #[allow(deprecated)]
                let keep = action_filter.is_none_or(|id| action_id == Some(id))
                    && (f.priority == 0 || e.priority == f.priority)
                    && (f.metadata.is_empty() || e.metadata == f.metadata)
                    && (controller_metadata == 0 || e.controller_metadata == controller_metadata);
                if !keep {
                    continue;
                }
                if f.counter_data.is_none() {
                    e.counter_data = None;
                }
                if f.meter_config.is_none() {
                    e.meter_config = None;
                }
                e.meter_counter_data = match (&f.meter_counter_data, table.direct_meter_id) {
                    (Some(_), Some(_)) => Some(MeterCounterData {
                        green: Some(CounterData::default()),
                        yellow: Some(CounterData::default()),
                        red: Some(CounterData::default()),
                    }),
                    _ => None,
                };
                if f.time_since_last_hit.is_none() {
                    e.time_since_last_hit = None;
                }
                e.is_const = table.is_const && !e.is_default_action;
                out.push(Entity {
                    entity: Some(entity::Entity::TableEntry(e)),
                });
            }
        }
        Ok(())
    }

    fn cells(
        size: i64,
        index: Option<&v1::Index>,
        name: &str,
    ) -> Result<std::ops::Range<i64>, Status> {
        match index {
            None => Ok(0..size.max(0)),
            Some(i) if i.index >= 0 && i.index < size => Ok(i.index..i.index + 1),
            Some(i) => Err(Status::out_of_range(format!(
                "'{name}': index {} outside 0..{size}",
                i.index
            ))),
        }
    }

    fn read_counters(
        &self,
        index: &P4InfoIndex,
        f: &CounterEntry,
        out: &mut Vec<Entity>,
    ) -> Result<(), Status> {
        let mut counters: Vec<_> =
            if f.counter_id == 0 {
                index.counters().collect()
            } else {
                vec![index.counter(f.counter_id).ok_or_else(|| {
                    Status::not_found(format!("unknown counter id {}", f.counter_id))
                })?]
            };
        counters.sort_by_key(|c| c.id);
        for c in counters {
            for i in Self::cells(c.size, f.index.as_ref(), &c.name)? {
                let data = self
                    .backend
                    .counter(c.id, i)
                    .map_err(|e| Status::new(e.code(), e.to_string()))?;
                out.push(Entity {
                    entity: Some(entity::Entity::CounterEntry(CounterEntry {
                        counter_id: c.id,
                        index: Some(v1::Index { index: i }),
                        data: Some(data),
                    })),
                });
            }
        }
        Ok(())
    }

    /// Register cells: one (`index` set, checked against the size) or the
    /// backend's answer to a wildcard; every register with `register_id` 0.
    fn read_registers(
        &self,
        index: &P4InfoIndex,
        f: &RegisterEntry,
        out: &mut Vec<Entity>,
    ) -> Result<(), Status> {
        let mut registers: Vec<_> = if f.register_id == 0 {
            index.registers().collect()
        } else {
            vec![index.register(f.register_id).ok_or_else(|| {
                Status::not_found(format!("unknown register id {}", f.register_id))
            })?]
        };
        registers.sort_by_key(|r| r.id);
        for r in registers {
            let cell = match f.index.as_ref() {
                None => None,
                Some(i) => Some(Self::cells(r.size, Some(i), &r.name)?.start),
            };
            let cells = self
                .backend
                .register(r.id, cell)
                .map_err(|e| Status::new(e.code(), e.to_string()))?;
            for (i, data) in cells {
                if i < 0 || i >= r.size || cell.is_some_and(|c| c != i) {
                    return Err(Status::internal(format!(
                        "'{}': the device answered with index {i}",
                        r.name
                    )));
                }
                out.push(Entity {
                    entity: Some(entity::Entity::RegisterEntry(RegisterEntry {
                        register_id: r.id,
                        index: Some(v1::Index { index: i }),
                        data: Some(data),
                    })),
                });
            }
        }
        Ok(())
    }

    fn read_meters(
        &self,
        index: &P4InfoIndex,
        f: &MeterEntry,
        out: &mut Vec<Entity>,
    ) -> Result<(), Status> {
        let mut meters: Vec<_> = if f.meter_id == 0 {
            index.meters().collect()
        } else {
            vec![
                index
                    .meter(f.meter_id)
                    .ok_or_else(|| Status::not_found(format!("unknown meter id {}", f.meter_id)))?,
            ]
        };
        meters.sort_by_key(|m| m.id);
        for m in meters {
            for i in Self::cells(m.size, f.index.as_ref(), &m.name)? {
                let config = self
                    .backend
                    .meter(m.id, i)
                    .map_err(|e| Status::new(e.code(), e.to_string()))?;
                out.push(Entity {
                    entity: Some(entity::Entity::MeterEntry(MeterEntry {
                        meter_id: m.id,
                        index: Some(v1::Index { index: i }),
                        config,
                        counter_data: None,
                    })),
                });
            }
        }
        Ok(())
    }

    /// Direct counters (`counters` true) or direct meters of the selected
    /// entries.
    fn read_direct(
        &self,
        index: &P4InfoIndex,
        filter: Option<&TableEntry>,
        counters: bool,
        out: &mut Vec<Entity>,
    ) -> Result<(), Status> {
        let default = TableEntry::default();
        let filter = filter.unwrap_or(&default);
        let has = |t: &TableInfo| {
            if counters {
                t.direct_counter_id.is_some()
            } else {
                t.direct_meter_id.is_some()
            }
        };
        let tables = Self::tables_for(index, filter.table_id)?;
        if filter.table_id != 0 && !tables.iter().all(|t| has(t)) {
            return Err(Status::invalid_argument(format!(
                "table id {} has no direct {}",
                filter.table_id,
                if counters { "counter" } else { "meter" }
            )));
        }
        for table in tables.into_iter().filter(|t| has(t)) {
            for e in self.select(table, filter)? {
                let key = TableEntry {
                    table_id: e.table_id,
                    r#match: e.r#match.clone(),
                    priority: e.priority,
                    is_default_action: e.is_default_action,
                    ..Default::default()
                };
                let entity = if counters {
                    entity::Entity::DirectCounterEntry(DirectCounterEntry {
                        table_entry: Some(key),
                        data: Some(e.counter_data.unwrap_or_default()),
                    })
                } else {
                    entity::Entity::DirectMeterEntry(DirectMeterEntry {
                        table_entry: Some(key),
                        config: e.meter_config,
                        counter_data: None,
                    })
                };
                out.push(Entity {
                    entity: Some(entity),
                });
            }
        }
        Ok(())
    }

    fn read_digests(
        &self,
        index: &P4InfoIndex,
        f: &DigestEntry,
        out: &mut Vec<Entity>,
    ) -> Result<(), Status> {
        if f.digest_id != 0 && index.digest(f.digest_id).is_none() {
            return Err(Status::not_found(format!(
                "unknown digest id {}",
                f.digest_id
            )));
        }
        let mut configs: Vec<_> = self
            .digests
            .configs()
            .filter(|(id, _)| f.digest_id == 0 || *id == f.digest_id)
            .collect();
        configs.sort_by_key(|(id, _)| *id);
        out.extend(configs.into_iter().map(|(digest_id, config)| Entity {
            entity: Some(entity::Entity::DigestEntry(DigestEntry {
                digest_id,
                config: Some(config),
            })),
        }));
        Ok(())
    }

    /// A PacketOut from the primary: metadata checked against `packet_out`.
    pub(crate) fn packet_out(&mut self, packet: &PacketOut) -> Result<(), ValidationError> {
        let index = self
            .pipeline
            .as_ref()
            .map(|p| p.index.clone())
            .ok_or_else(|| ValidationError::new(Code::FailedPrecondition, "no pipeline"))?;
        let metadata = match index.packet_out() {
            Some(header) => validate::packet_metadata(header, &packet.metadata)?,
            None if packet.metadata.is_empty() => Vec::new(),
            None => {
                return Err(ValidationError::invalid(
                    "the program has no packet_out header",
                ));
            }
        };
        self.backend
            .packet_out(&PacketOut {
                payload: packet.payload.clone(),
                metadata,
            })
            .map_err(backend_err)
    }
}

/// The batch status: one `p4.v1.Error` per update; with `aborted`, updates
/// without an error of their own are reported `ABORTED` (not applied).
fn batch(errors: Vec<Option<ValidationError>>, aborted: bool) -> Status {
    let details: Vec<v1::Error> = errors
        .into_iter()
        .map(|e| match e {
            Some(e) => v1::Error::from(&e),
            None if aborted => ztnic_p4runtime::status::p4_error(
                Code::Aborted,
                "not applied: the batch was rolled back",
            ),
            None => v1::Error::default(),
        })
        .collect();
    ztnic_p4runtime::status::batch_status(&details)
}

fn entity_kind(e: &entity::Entity) -> &'static str {
    match e {
        entity::Entity::ExternEntry(_) => "extern",
        entity::Entity::TableEntry(_) => "table",
        entity::Entity::ActionProfileMember(_) => "action profile member",
        entity::Entity::ActionProfileGroup(_) => "action profile group",
        entity::Entity::MeterEntry(_) => "meter",
        entity::Entity::DirectMeterEntry(_) => "direct meter",
        entity::Entity::CounterEntry(_) => "counter",
        entity::Entity::DirectCounterEntry(_) => "direct counter",
        entity::Entity::PacketReplicationEngineEntry(_) => "packet replication engine",
        entity::Entity::ValueSetEntry(_) => "value set",
        entity::Entity::RegisterEntry(_) => "register",
        entity::Entity::DigestEntry(_) => "digest",
    }
}
