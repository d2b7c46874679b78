//! Building table entries by name: tables, key fields, actions and
//! parameters are resolved through the P4Info, values are checked against
//! their bit widths and encoded as canonical byte strings.

use std::sync::Arc;
use std::time::Duration;

use ztnic_p4runtime::bytestring;
use ztnic_p4runtime::p4info::{MatchKind, TableInfo};
use ztnic_p4runtime::v1::{
    self, CounterData, FieldMatch, MeterConfig, TableEntry, field_match::FieldMatchType,
};
use ztnic_p4runtime::{P4InfoIndex, validate};

use crate::error::ClientError;
use crate::value::Value;

pub(crate) fn encode(
    what: impl Fn() -> String,
    value: Value,
    bitwidth: u32,
) -> Result<Vec<u8>, ClientError> {
    bytestring::check(&value.0, bitwidth).map_err(|source| ClientError::Value {
        what: what(),
        source,
    })
}

/// A table entry under construction. Errors (unknown names, values too wide)
/// are kept and reported by [`TableEntryBuilder::build`].
#[derive(Debug)]
pub struct TableEntryBuilder {
    index: Arc<P4InfoIndex>,
    table: TableInfo,
    entry: TableEntry,
    action: Option<v1::Action>,
    error: Option<String>,
    pending: Option<ClientError>,
}

impl TableEntryBuilder {
    /// Starts an entry of the table named `table` (full name or alias).
    pub fn new(index: Arc<P4InfoIndex>, table: &str) -> Result<Self, ClientError> {
        let info = index.table_by_name(table)?.clone();
        Ok(TableEntryBuilder {
            entry: TableEntry {
                table_id: info.id,
                ..Default::default()
            },
            index,
            table: info,
            action: None,
            error: None,
            pending: None,
        })
    }

    fn fail(&mut self, e: ClientError) {
        if self.pending.is_none() {
            self.pending = Some(e);
        }
    }

    fn field(
        &mut self,
        name: &str,
        kind: MatchKind,
        build: impl FnOnce(u32, &str) -> Result<FieldMatchType, ClientError>,
    ) -> &mut Self {
        let field = match self.table.field_by_name(name) {
            Ok(f) => f.clone(),
            Err(e) => {
                self.fail(e.into());
                return self;
            }
        };
        if field.kind != kind {
            self.error.get_or_insert(format!(
                "field '{name}' of '{}' is {:?}, not {kind:?}",
                self.table.name, field.kind
            ));
            return self;
        }
        let what = format!("{}.{}", self.table.name, name);
        match build(field.bitwidth, &what) {
            Ok(m) => self.entry.r#match.push(FieldMatch {
                field_id: field.id,
                field_match_type: Some(m),
            }),
            Err(e) => self.fail(e),
        }
        self
    }

    /// An exact match on `field`.
    pub fn exact(mut self, field: &str, value: impl Into<Value>) -> Self {
        let value = value.into();
        self.field(field, MatchKind::Exact, |w, what| {
            Ok(FieldMatchType::Exact(v1::field_match::Exact {
                value: encode(|| what.to_string(), value, w)?,
            }))
        });
        self
    }

    /// An optional (exact-or-wildcard) match; omit the call for wildcard.
    pub fn optional(mut self, field: &str, value: impl Into<Value>) -> Self {
        let value = value.into();
        self.field(field, MatchKind::Optional, |w, what| {
            Ok(FieldMatchType::Optional(v1::field_match::Optional {
                value: encode(|| what.to_string(), value, w)?,
            }))
        });
        self
    }

    /// A longest-prefix match of `prefix_len` bits.
    pub fn lpm(mut self, field: &str, value: impl Into<Value>, prefix_len: u32) -> Self {
        let value = value.into();
        self.field(field, MatchKind::Lpm, |w, what| {
            Ok(FieldMatchType::Lpm(v1::field_match::Lpm {
                value: encode(|| what.to_string(), value, w)?,
                prefix_len: i32::try_from(prefix_len).unwrap_or(i32::MAX),
            }))
        });
        self
    }

    /// A value/mask match.
    pub fn ternary(mut self, field: &str, value: impl Into<Value>, mask: impl Into<Value>) -> Self {
        let (value, mask) = (value.into(), mask.into());
        self.field(field, MatchKind::Ternary, |w, what| {
            Ok(FieldMatchType::Ternary(v1::field_match::Ternary {
                value: encode(|| what.to_string(), value, w)?,
                mask: encode(|| what.to_string(), mask, w)?,
            }))
        });
        self
    }

    /// An inclusive range match.
    pub fn range(mut self, field: &str, low: impl Into<Value>, high: impl Into<Value>) -> Self {
        let (low, high) = (low.into(), high.into());
        self.field(field, MatchKind::Range, |w, what| {
            Ok(FieldMatchType::Range(v1::field_match::Range {
                low: encode(|| what.to_string(), low, w)?,
                high: encode(|| what.to_string(), high, w)?,
            }))
        });
        self
    }

    /// The entry's priority (needed when the key has ternary, range or
    /// optional fields).
    pub fn priority(mut self, priority: i32) -> Self {
        self.entry.priority = priority;
        self
    }

    /// Makes this the table's default entry.
    pub fn default_entry(mut self) -> Self {
        self.entry.is_default_action = true;
        self
    }

    /// Sets the action by name; add its parameters with [`Self::param`].
    pub fn action(mut self, action: &str) -> Self {
        match self.index.action_by_name(action) {
            Ok(a) => {
                self.action = Some(v1::Action {
                    action_id: a.id,
                    params: Vec::new(),
                })
            }
            Err(e) => self.fail(e.into()),
        }
        self
    }

    /// Sets a parameter of the action chosen with [`Self::action`].
    pub fn param(mut self, name: &str, value: impl Into<Value>) -> Self {
        let Some(action_id) = self.action.as_ref().map(|a| a.action_id) else {
            self.error
                .get_or_insert(format!("parameter '{name}' given before the action"));
            return self;
        };
        let param = self
            .index
            .action(action_id)
            .ok_or(ztnic_p4runtime::P4InfoError::UnknownId {
                kind: "action",
                id: action_id,
            })
            .and_then(|a| a.param_by_name(name).map(|p| (p.clone(), a.name.clone())));
        match param {
            Ok((p, action_name)) => {
                match encode(|| format!("{action_name}.{name}"), value.into(), p.bitwidth) {
                    Ok(v) => {
                        if let Some(a) = self.action.as_mut() {
                            a.params.push(v1::action::Param {
                                param_id: p.id,
                                value: v,
                            });
                        }
                    }
                    Err(e) => self.fail(e),
                }
            }
            Err(e) => self.fail(e.into()),
        }
        self
    }

    /// Ages the entry out after `ttl` without hits (idle-timeout tables).
    pub fn idle_timeout(mut self, ttl: Duration) -> Self {
        self.entry.idle_timeout_ns = i64::try_from(ttl.as_nanos()).unwrap_or(i64::MAX);
        self
    }

    /// Initial (INSERT) or new (MODIFY) direct counter value.
    pub fn counter(mut self, data: CounterData) -> Self {
        self.entry.counter_data = Some(data);
        self
    }

    /// Direct meter configuration.
    pub fn meter(mut self, config: MeterConfig) -> Self {
        self.entry.meter_config = Some(config);
        self
    }

    /// Opaque controller cookie stored with the entry.
    pub fn metadata(mut self, metadata: impl Into<Vec<u8>>) -> Self {
        self.entry.metadata = metadata.into();
        self
    }

    /// The entry as given, for use as a key (DELETE, direct counters, read
    /// filters); only names and widths are checked.
    pub fn key(self) -> Result<TableEntry, ClientError> {
        self.finish(None)
    }

    /// The complete entry, checked with the same rules the server applies
    /// to an INSERT (the shared `ztnic_p4runtime::validate`).
    pub fn build(self) -> Result<TableEntry, ClientError> {
        let check = if self.entry.is_default_action {
            validate::WriteOp::Modify
        } else {
            validate::WriteOp::Insert
        };
        self.finish(Some(check))
    }

    fn finish(mut self, check: Option<validate::WriteOp>) -> Result<TableEntry, ClientError> {
        if let Some(e) = self.pending.take() {
            return Err(e);
        }
        if let Some(e) = self.error.take() {
            return Err(ClientError::Invalid(validate::ValidationError::invalid(e)));
        }
        if let Some(a) = self.action.take() {
            self.entry.action = Some(v1::TableAction {
                r#type: Some(v1::table_action::Type::Action(a)),
            });
        }
        match check {
            Some(op) => Ok(validate::table_entry(&self.index, &self.entry, op)?),
            None => {
                self.entry.r#match.sort_by_key(|m| m.field_id);
                Ok(self.entry)
            }
        }
    }
}
