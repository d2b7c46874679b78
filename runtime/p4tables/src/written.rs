//! What one device holds, as its controller wrote (or read back) it.

use std::collections::{BTreeMap, HashMap};

use ztnic_model::Op;
use ztnic_p4runtime_client::protocol::entry_key;
use ztnic_p4runtime_client::protocol::v1::{self, TableEntry, entity::Entity, update::Type};

use crate::{MapError, Program, names};

/// The entries of one device by key, and its policy entries by rule id: decides
/// INSERT or MODIFY for an operation and finds the entry a `DeleteRule` removes.
/// Updated by [`Written::record`] only once the device accepted the updates.
#[derive(Clone, Debug, Default)]
pub struct Written {
    entries: BTreeMap<Vec<u8>, TableEntry>,
    rules: HashMap<u32, Vec<u8>>,
}

fn update(kind: Type, e: TableEntry) -> v1::Update {
    v1::Update {
        r#type: kind as i32,
        entity: Some(v1::Entity {
            entity: Some(Entity::TableEntry(e)),
        }),
    }
}

impl Written {
    /// Nothing written.
    pub fn new() -> Written {
        Written::default()
    }

    /// Number of entries held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when the device holds nothing (as far as this record knows).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The policy entry of rule `id`.
    pub fn rule(&self, id: u32) -> Option<&TableEntry> {
        self.rules.get(&id).and_then(|k| self.entries.get(k))
    }

    /// The entry with the key of `e`.
    pub fn get(&self, e: &TableEntry) -> Option<&TableEntry> {
        self.entries.get(&entry_key(e))
    }

    /// Every entry, in key order.
    pub fn entries(&self) -> impl Iterator<Item = &TableEntry> {
        self.entries.values()
    }

    /// The P4Runtime updates that carry out `op` on the device: INSERT for a new
    /// key, MODIFY for a known one; a rule whose key changed is deleted and
    /// inserted again. `SetConfig` is three MODIFYs of default entries
    /// ([`Program::config_entries`], real time).
    pub fn updates(&self, p: &Program, op: &Op) -> Result<Vec<v1::Update>, MapError> {
        match op {
            Op::SetConfig(c) => Ok(p
                .config_entries(c, 1)?
                .into_iter()
                .map(|e| update(Type::Modify, e))
                .collect()),
            Op::DeleteRule { id } => {
                let e = self.rule(*id).ok_or(MapError::UnknownRule(*id))?;
                Ok(vec![update(Type::Delete, e.clone())])
            }
            Op::SetRule(r) => {
                let e = p.rule_entry(r)?;
                let k = entry_key(&e);
                if let Some(old) = self.rules.get(&r.id) {
                    if *old == k {
                        return Ok(vec![update(Type::Modify, e)]);
                    }
                    let old = self.entries.get(old).cloned().unwrap_or_default();
                    return Ok(vec![update(Type::Delete, old), update(Type::Insert, e)]);
                }
                if let Some(other) = self.entries.get(&k) {
                    return Err(MapError::RuleKeyTaken {
                        id: r.id,
                        other: p.rule_id(other)?,
                    });
                }
                Ok(vec![update(Type::Insert, e)])
            }
            Op::DeletePortClass { .. }
            | Op::DeleteVportCtx { .. }
            | Op::DeleteLocalEp { .. }
            | Op::DeleteRemoteEp { .. }
            | Op::DeleteCtxEpoch { .. }
            | Op::DeleteCtOverflow(_) => Ok(vec![update(Type::Delete, p.entry(op)?)]),
            _ => {
                let e = p.entry(op)?;
                let kind = if self.entries.contains_key(&entry_key(&e)) {
                    Type::Modify
                } else {
                    Type::Insert
                };
                Ok(vec![update(kind, e)])
            }
        }
    }

    /// Records updates the device accepted (default entries are not tracked).
    pub fn record(&mut self, p: &Program, updates: &[v1::Update]) {
        for u in updates {
            let Some(Entity::TableEntry(e)) = u.entity.as_ref().and_then(|e| e.entity.as_ref())
            else {
                continue;
            };
            if e.is_default_action {
                continue;
            }
            let k = entry_key(e);
            if u.r#type == Type::Delete as i32 {
                self.remove_key(p, &k);
            } else {
                self.insert(p, e.clone());
            }
        }
    }

    fn remove_key(&mut self, p: &Program, k: &[u8]) {
        if let Some(old) = self.entries.remove(k)
            && p.table_name(old.table_id) == Some(names::POLICY)
            && let Ok(id) = p.rule_id(&old)
        {
            self.rules.remove(&id);
        }
    }

    fn insert(&mut self, p: &Program, e: TableEntry) {
        let k = entry_key(&e);
        self.remove_key(p, &k);
        if p.table_name(e.table_id) == Some(names::POLICY)
            && let Ok(id) = p.rule_id(&e)
        {
            self.rules.insert(id, k.clone());
        }
        self.entries.insert(k, e);
    }

    /// Replaces the record with entries read back from the device.
    pub fn learn(&mut self, p: &Program, entries: impl IntoIterator<Item = TableEntry>) {
        self.entries.clear();
        self.rules.clear();
        for e in entries {
            if !e.is_default_action {
                self.insert(p, e);
            }
        }
    }

    /// Forgets everything (the device was reset).
    pub fn clear(&mut self) {
        self.entries.clear();
        self.rules.clear();
    }

    /// The entries as the `Op::Set*` that write them.
    pub fn ops(&self, p: &Program) -> Result<Vec<Op>, MapError> {
        self.entries.values().map(|e| p.decode(e)).collect()
    }
}
