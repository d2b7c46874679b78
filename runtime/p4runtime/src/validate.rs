//! Checking P4Runtime entities against a P4Info and bringing them to the
//! canonical form a server stores and returns on Read (match fields sorted by
//! id, byte strings canonical). The server rejects writes with exactly these
//! errors; the client can run the same checks before sending.
//!
//! Error codes follow the P4Runtime specification: malformed entities are
//! `INVALID_ARGUMENT`, writes the P4 program forbids (const tables, action
//! scopes) are `PERMISSION_DENIED`, entity kinds this implementation does not
//! support are `UNIMPLEMENTED`.

use tonic::Code;

use crate::bytestring::{self, BytestringError};
use crate::config::action_ref::Scope;
use crate::p4info::{ControllerHeaderInfo, MatchKind, P4InfoIndex, TableInfo};
use crate::v1::{
    self, CounterEntry, DigestEntry, DirectCounterEntry, DirectMeterEntry, FieldMatch, MeterConfig,
    MeterEntry, PacketMetadata, TableEntry, field_match::FieldMatchType, table_action,
};

/// Why an entity was rejected, with the canonical code the spec assigns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct ValidationError {
    /// Canonical gRPC code.
    pub code: Code,
    /// What is wrong, naming the P4 object.
    pub message: String,
}

impl ValidationError {
    /// An error with an explicit code.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        ValidationError {
            code,
            message: message.into(),
        }
    }
    /// `INVALID_ARGUMENT`.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(Code::InvalidArgument, message)
    }
    /// `PERMISSION_DENIED`.
    pub fn denied(message: impl Into<String>) -> Self {
        Self::new(Code::PermissionDenied, message)
    }
    /// `UNIMPLEMENTED`.
    pub fn unimplemented(message: impl Into<String>) -> Self {
        Self::new(Code::Unimplemented, message)
    }
}

/// The kind of a write update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOp {
    /// `Update.INSERT`.
    Insert,
    /// `Update.MODIFY`.
    Modify,
    /// `Update.DELETE`.
    Delete,
}

impl WriteOp {
    /// Maps `Update.type`; `UNSPECIFIED` and unknown values are rejected.
    pub fn from_update_type(t: i32) -> Result<Self, ValidationError> {
        match v1::update::Type::try_from(t) {
            Ok(v1::update::Type::Insert) => Ok(WriteOp::Insert),
            Ok(v1::update::Type::Modify) => Ok(WriteOp::Modify),
            Ok(v1::update::Type::Delete) => Ok(WriteOp::Delete),
            _ => Err(ValidationError::invalid(format!("invalid update type {t}"))),
        }
    }
}

fn bytes_for(
    what: impl Fn() -> String,
    bytes: &[u8],
    bitwidth: u32,
) -> Result<Vec<u8>, ValidationError> {
    bytestring::check(bytes, bitwidth).map_err(|e| match e {
        BytestringError::Empty => {
            ValidationError::invalid(format!("{}: empty byte string", what()))
        }
        BytestringError::TooWide { needed, bitwidth } => ValidationError::invalid(format!(
            "{}: value needs {needed} bits, field is {bitwidth} bits wide",
            what()
        )),
    })
}

/// Checks a table key (the `match` list) and returns it canonical and sorted
/// by field id. Exact fields must be present; "don't care" values of the
/// other kinds must be omitted rather than sent (spec §9.1.1).
pub fn match_key(
    table: &TableInfo,
    matches: &[FieldMatch],
) -> Result<Vec<FieldMatch>, ValidationError> {
    let mut out: Vec<FieldMatch> = Vec::with_capacity(matches.len());
    for m in matches {
        let field = table.field(m.field_id).ok_or_else(|| {
            ValidationError::invalid(format!(
                "table '{}' has no match field id {}",
                table.name, m.field_id
            ))
        })?;
        if out.iter().any(|o| o.field_id == m.field_id) {
            return Err(ValidationError::invalid(format!(
                "match field '{}' given twice in table '{}'",
                field.name, table.name
            )));
        }
        let name = || format!("match field '{}' of table '{}'", field.name, table.name);
        let w = field.bitwidth;
        let canonical = match (&field.kind, &m.field_match_type) {
            (MatchKind::Exact, Some(FieldMatchType::Exact(e))) => {
                FieldMatchType::Exact(v1::field_match::Exact {
                    value: bytes_for(name, &e.value, w)?,
                })
            }
            (MatchKind::Optional, Some(FieldMatchType::Optional(o))) => {
                FieldMatchType::Optional(v1::field_match::Optional {
                    value: bytes_for(name, &o.value, w)?,
                })
            }
            (MatchKind::Lpm, Some(FieldMatchType::Lpm(l))) => {
                let value = bytes_for(name, &l.value, w)?;
                if l.prefix_len <= 0 {
                    return Err(ValidationError::invalid(format!(
                        "{}: prefix length {} (a don't-care LPM match must be omitted)",
                        name(),
                        l.prefix_len
                    )));
                }
                if w > 0 && l.prefix_len as u32 > w {
                    return Err(ValidationError::invalid(format!(
                        "{}: prefix length {} exceeds the {w}-bit field",
                        name(),
                        l.prefix_len
                    )));
                }
                if w > 0 && !bytestring::low_bits_zero(&value, (w - l.prefix_len as u32) as usize) {
                    return Err(ValidationError::invalid(format!(
                        "{}: value has bits set beyond the /{} prefix",
                        name(),
                        l.prefix_len
                    )));
                }
                FieldMatchType::Lpm(v1::field_match::Lpm {
                    value,
                    prefix_len: l.prefix_len,
                })
            }
            (MatchKind::Ternary, Some(FieldMatchType::Ternary(t))) => {
                let value = bytes_for(name, &t.value, w)?;
                let mask = bytes_for(name, &t.mask, w)?;
                if bytestring::significant_bits(&mask) == 0 {
                    return Err(ValidationError::invalid(format!(
                        "{}: zero mask (a don't-care ternary match must be omitted)",
                        name()
                    )));
                }
                if !bytestring::within_mask(&value, &mask) {
                    return Err(ValidationError::invalid(format!(
                        "{}: value has bits set outside the mask",
                        name()
                    )));
                }
                FieldMatchType::Ternary(v1::field_match::Ternary { value, mask })
            }
            (MatchKind::Range, Some(FieldMatchType::Range(r))) => {
                let low = bytes_for(name, &r.low, w)?;
                let high = bytes_for(name, &r.high, w)?;
                if bytestring::compare(&low, &high) == std::cmp::Ordering::Greater {
                    return Err(ValidationError::invalid(format!(
                        "{}: low bound above high bound",
                        name()
                    )));
                }
                if w > 0
                    && bytestring::significant_bits(&low) == 0
                    && high == bytestring::max_value(w)
                {
                    return Err(ValidationError::invalid(format!(
                        "{}: full range (a don't-care range match must be omitted)",
                        name()
                    )));
                }
                FieldMatchType::Range(v1::field_match::Range { low, high })
            }
            (MatchKind::Other(kind), Some(FieldMatchType::Other(_))) => {
                return Err(ValidationError::unimplemented(format!(
                    "{}: match kind '{kind}' is not supported",
                    name()
                )));
            }
            (_, None) => {
                return Err(ValidationError::invalid(format!(
                    "{}: no match value",
                    name()
                )));
            }
            (kind, Some(_)) => {
                return Err(ValidationError::invalid(format!(
                    "{}: match type does not match the P4Info kind {kind:?}",
                    name()
                )));
            }
        };
        out.push(FieldMatch {
            field_id: m.field_id,
            field_match_type: Some(canonical),
        });
    }
    for f in &table.match_fields {
        if f.kind == MatchKind::Exact && !out.iter().any(|m| m.field_id == f.id) {
            return Err(ValidationError::invalid(format!(
                "exact match field '{}' of table '{}' is missing",
                f.name, table.name
            )));
        }
    }
    out.sort_by_key(|m| m.field_id);
    Ok(out)
}

/// Checks the priority of an entry in `table`: non-zero exactly when the key
/// has a ternary, range or optional field.
pub fn priority(table: &TableInfo, priority: i32) -> Result<(), ValidationError> {
    if priority < 0 {
        return Err(ValidationError::invalid(format!(
            "negative priority {priority}"
        )));
    }
    if table.needs_priority && priority == 0 {
        return Err(ValidationError::invalid(format!(
            "table '{}' has ternary/range/optional fields: entries need a non-zero priority",
            table.name
        )));
    }
    if !table.needs_priority && priority != 0 {
        return Err(ValidationError::invalid(format!(
            "table '{}' has no ternary/range/optional field: priority must be 0",
            table.name
        )));
    }
    Ok(())
}

/// Checks an action call against the action's P4Info and, when `table` is
/// given, the table's list of permitted actions and their scope. Returns it
/// with canonical parameter values sorted by id.
pub fn action(
    index: &P4InfoIndex,
    table: Option<(&TableInfo, bool)>,
    action: &v1::Action,
) -> Result<v1::Action, ValidationError> {
    let info = index.action(action.action_id).ok_or_else(|| {
        ValidationError::invalid(format!("unknown action id {}", action.action_id))
    })?;
    if let Some((table, is_default)) = table {
        let scope = table.actions.get(&action.action_id).ok_or_else(|| {
            ValidationError::invalid(format!(
                "action '{}' is not an action of table '{}'",
                info.name, table.name
            ))
        })?;
        match (scope, is_default) {
            (Scope::TableOnly, true) => {
                return Err(ValidationError::denied(format!(
                    "action '{}' may not be the default action of '{}'",
                    info.name, table.name
                )));
            }
            (Scope::DefaultOnly, false) => {
                return Err(ValidationError::denied(format!(
                    "action '{}' may only be the default action of '{}'",
                    info.name, table.name
                )));
            }
            _ => {}
        }
    }
    let mut params: Vec<v1::action::Param> = Vec::with_capacity(action.params.len());
    for p in &action.params {
        let pinfo = info.param(p.param_id).ok_or_else(|| {
            ValidationError::invalid(format!(
                "action '{}' has no parameter id {}",
                info.name, p.param_id
            ))
        })?;
        if params.iter().any(|q| q.param_id == p.param_id) {
            return Err(ValidationError::invalid(format!(
                "parameter '{}' of action '{}' given twice",
                pinfo.name, info.name
            )));
        }
        let value = bytes_for(
            || format!("parameter '{}' of action '{}'", pinfo.name, info.name),
            &p.value,
            pinfo.bitwidth,
        )?;
        params.push(v1::action::Param {
            param_id: p.param_id,
            value,
        });
    }
    if let Some(missing) = info
        .params
        .iter()
        .find(|p| !params.iter().any(|q| q.param_id == p.id))
    {
        return Err(ValidationError::invalid(format!(
            "parameter '{}' of action '{}' is missing",
            missing.name, info.name
        )));
    }
    params.sort_by_key(|p| p.param_id);
    Ok(v1::Action {
        action_id: action.action_id,
        params,
    })
}

fn meter_config(cfg: &MeterConfig) -> Result<(), ValidationError> {
    if [cfg.cir, cfg.cburst, cfg.pir, cfg.pburst, cfg.eburst]
        .iter()
        .any(|v| *v < 0)
    {
        return Err(ValidationError::invalid(
            "meter rates and bursts must not be negative",
        ));
    }
    Ok(())
}

fn table(index: &P4InfoIndex, table_id: u32) -> Result<&TableInfo, ValidationError> {
    index
        .table(table_id)
        .ok_or_else(|| ValidationError::invalid(format!("unknown table id {table_id}")))
}

/// Checks the key part of a table entry (table id, match, priority, default
/// flag) and returns an entry holding only that key, canonical. This is what
/// DELETE and the direct-resource entities address entries by.
pub fn table_key(index: &P4InfoIndex, entry: &TableEntry) -> Result<TableEntry, ValidationError> {
    let table = table(index, entry.table_id)?;
    if entry.is_default_action {
        if !entry.r#match.is_empty() || entry.priority != 0 {
            return Err(ValidationError::invalid(
                "the default entry must have an empty match and priority 0",
            ));
        }
        return Ok(TableEntry {
            table_id: entry.table_id,
            is_default_action: true,
            ..Default::default()
        });
    }
    let r#match = match_key(table, &entry.r#match)?;
    priority(table, entry.priority)?;
    Ok(TableEntry {
        table_id: entry.table_id,
        r#match,
        priority: entry.priority,
        ..Default::default()
    })
}

/// Checks a table entry for a write and returns its canonical form. For
/// DELETE only the key is checked and returned (other fields are ignored, as
/// the spec requires). For MODIFY an unset `action` stays unset: the caller
/// keeps the stored action.
pub fn table_entry(
    index: &P4InfoIndex,
    entry: &TableEntry,
    op: WriteOp,
) -> Result<TableEntry, ValidationError> {
    let table = table(index, entry.table_id)?;
    if entry.is_const {
        return Err(ValidationError::invalid(
            "is_const must be false in a write",
        ));
    }
    if entry.is_default_action {
        if op != WriteOp::Modify {
            return Err(ValidationError::invalid(format!(
                "the default entry of '{}' can only be modified",
                table.name
            )));
        }
        if table.const_default_action_id != 0 {
            return Err(ValidationError::denied(format!(
                "the default action of '{}' is constant",
                table.name
            )));
        }
    } else if table.is_const && (op != WriteOp::Modify || entry.action.is_some()) {
        return Err(ValidationError::denied(format!(
            "table '{}' is constant: only its direct resources can be modified",
            table.name
        )));
    } else if op == WriteOp::Insert && table.match_fields.is_empty() {
        return Err(ValidationError::invalid(format!(
            "table '{}' has no key: only its default entry can be written",
            table.name
        )));
    }
    let mut out = table_key(index, entry)?;
    if op == WriteOp::Delete {
        return Ok(out);
    }
    out.action = match &entry.action {
        None if op == WriteOp::Insert => {
            return Err(ValidationError::invalid(format!(
                "an INSERT into '{}' needs an action",
                table.name
            )));
        }
        None => None,
        Some(a) => Some(v1::TableAction {
            r#type: Some(match &a.r#type {
                Some(table_action::Type::Action(act)) if table.implementation_id == 0 => {
                    table_action::Type::Action(action(
                        index,
                        Some((table, entry.is_default_action)),
                        act,
                    )?)
                }
                Some(table_action::Type::Action(_)) => {
                    return Err(ValidationError::invalid(format!(
                        "table '{}' is indirect: use an action profile member or group",
                        table.name
                    )));
                }
                Some(_) if table.implementation_id == 0 => {
                    return Err(ValidationError::invalid(format!(
                        "table '{}' is direct: use an action, not an action profile reference",
                        table.name
                    )));
                }
                Some(_) => {
                    return Err(ValidationError::unimplemented(
                        "action profiles are not supported",
                    ));
                }
                None => return Err(ValidationError::invalid("table action without a type")),
            }),
        }),
    };
    if entry.time_since_last_hit.is_some() {
        return Err(ValidationError::invalid(
            "time_since_last_hit must be unset in a write",
        ));
    }
    if entry.idle_timeout_ns < 0 {
        return Err(ValidationError::invalid("negative idle_timeout_ns"));
    }
    if entry.idle_timeout_ns != 0 && (!table.supports_idle_timeout || entry.is_default_action) {
        return Err(ValidationError::invalid(format!(
            "table '{}' does not support idle timeout on this entry",
            table.name
        )));
    }
    if entry.counter_data.is_some() && table.direct_counter_id.is_none() {
        return Err(ValidationError::invalid(format!(
            "table '{}' has no direct counter",
            table.name
        )));
    }
    if let Some(cfg) = &entry.meter_config {
        if table.direct_meter_id.is_none() {
            return Err(ValidationError::invalid(format!(
                "table '{}' has no direct meter",
                table.name
            )));
        }
        meter_config(cfg)?;
    }
    if let Some(mcd) = &entry.meter_counter_data {
        if table.direct_meter_id.is_none() {
            return Err(ValidationError::invalid(format!(
                "table '{}' has no direct meter",
                table.name
            )));
        }
        let nonzero = [&mcd.green, &mcd.yellow, &mcd.red]
            .into_iter()
            .flatten()
            .any(|c| c.byte_count != 0 || c.packet_count != 0);
        if nonzero {
            return Err(ValidationError::invalid(
                "meter_counter_data can only be written as zero",
            ));
        }
    }
    out.idle_timeout_ns = entry.idle_timeout_ns;
    out.counter_data = entry.counter_data;
    out.meter_config = entry.meter_config;
    out.meter_counter_data = entry.meter_counter_data;
    out.metadata = entry.metadata.clone();
    #[allow(deprecated)]
    {
        out.controller_metadata = entry.controller_metadata;
    }
    Ok(out)
}

fn modify_only(op: WriteOp, what: &str) -> Result<(), ValidationError> {
    if op != WriteOp::Modify {
        return Err(ValidationError::invalid(format!(
            "{what} entries can only be modified"
        )));
    }
    Ok(())
}

fn array_index(size: i64, index: Option<&v1::Index>, name: &str) -> Result<i64, ValidationError> {
    let i = index.map(|i| i.index).ok_or_else(|| {
        ValidationError::invalid(format!("'{name}': index is required in a write"))
    })?;
    if i < 0 || i >= size {
        return Err(ValidationError::new(
            Code::OutOfRange,
            format!("'{name}': index {i} outside 0..{size}"),
        ));
    }
    Ok(i)
}

/// Checks a write of an indexed counter cell (MODIFY only, index in range).
pub fn counter_entry(
    index: &P4InfoIndex,
    e: &CounterEntry,
    op: WriteOp,
) -> Result<CounterEntry, ValidationError> {
    modify_only(op, "counter")?;
    let info = index
        .counter(e.counter_id)
        .ok_or_else(|| ValidationError::invalid(format!("unknown counter id {}", e.counter_id)))?;
    array_index(info.size, e.index.as_ref(), &info.name)?;
    let data = e.data.unwrap_or_default();
    if data.byte_count < 0 || data.packet_count < 0 {
        return Err(ValidationError::invalid(
            "counter values must not be negative",
        ));
    }
    Ok(CounterEntry {
        counter_id: e.counter_id,
        index: e.index,
        data: Some(data),
    })
}

/// Checks a write of a direct counter cell (MODIFY only, table has one).
pub fn direct_counter_entry(
    index: &P4InfoIndex,
    e: &DirectCounterEntry,
    op: WriteOp,
) -> Result<DirectCounterEntry, ValidationError> {
    modify_only(op, "direct counter")?;
    let entry = e
        .table_entry
        .as_ref()
        .ok_or_else(|| ValidationError::invalid("direct counter entry without a table entry"))?;
    let key = table_key(index, entry)?;
    if table(index, key.table_id)?.direct_counter_id.is_none() {
        return Err(ValidationError::invalid(format!(
            "table id {} has no direct counter",
            key.table_id
        )));
    }
    let data = e.data.unwrap_or_default();
    if data.byte_count < 0 || data.packet_count < 0 {
        return Err(ValidationError::invalid(
            "counter values must not be negative",
        ));
    }
    Ok(DirectCounterEntry {
        table_entry: Some(key),
        data: Some(data),
    })
}

/// Checks a write of an indexed meter cell (MODIFY only, index in range).
/// An unset `config` resets the cell to its default (all packets green).
pub fn meter_entry(
    index: &P4InfoIndex,
    e: &MeterEntry,
    op: WriteOp,
) -> Result<MeterEntry, ValidationError> {
    modify_only(op, "meter")?;
    let info = index
        .meter(e.meter_id)
        .ok_or_else(|| ValidationError::invalid(format!("unknown meter id {}", e.meter_id)))?;
    array_index(info.size, e.index.as_ref(), &info.name)?;
    if let Some(cfg) = &e.config {
        meter_config(cfg)?;
    }
    Ok(MeterEntry {
        meter_id: e.meter_id,
        index: e.index,
        config: e.config,
        counter_data: None,
    })
}

/// Checks a write of a direct meter (MODIFY only, table has one).
pub fn direct_meter_entry(
    index: &P4InfoIndex,
    e: &DirectMeterEntry,
    op: WriteOp,
) -> Result<DirectMeterEntry, ValidationError> {
    modify_only(op, "direct meter")?;
    let entry = e
        .table_entry
        .as_ref()
        .ok_or_else(|| ValidationError::invalid("direct meter entry without a table entry"))?;
    let key = table_key(index, entry)?;
    if table(index, key.table_id)?.direct_meter_id.is_none() {
        return Err(ValidationError::invalid(format!(
            "table id {} has no direct meter",
            key.table_id
        )));
    }
    if let Some(cfg) = &e.config {
        meter_config(cfg)?;
    }
    Ok(DirectMeterEntry {
        table_entry: Some(key),
        config: e.config,
        counter_data: None,
    })
}

/// Checks a digest configuration write. INSERT and MODIFY need a config with
/// non-negative values; DELETE only needs the id.
pub fn digest_entry(
    index: &P4InfoIndex,
    e: &DigestEntry,
    op: WriteOp,
) -> Result<DigestEntry, ValidationError> {
    if index.digest(e.digest_id).is_none() {
        return Err(ValidationError::invalid(format!(
            "unknown digest id {}",
            e.digest_id
        )));
    }
    if op == WriteOp::Delete {
        return Ok(DigestEntry {
            digest_id: e.digest_id,
            config: None,
        });
    }
    let cfg = e
        .config
        .ok_or_else(|| ValidationError::invalid("digest entry without a config"))?;
    if cfg.max_timeout_ns < 0 || cfg.max_list_size < 0 || cfg.ack_timeout_ns < 0 {
        return Err(ValidationError::invalid(
            "digest config values must not be negative",
        ));
    }
    Ok(DigestEntry {
        digest_id: e.digest_id,
        config: Some(cfg),
    })
}

/// Checks the metadata of a PacketIn/PacketOut against its controller header:
/// exactly one value per field, each fitting the field's width. Returns the
/// values canonical and sorted by id.
pub fn packet_metadata(
    header: &ControllerHeaderInfo,
    metadata: &[PacketMetadata],
) -> Result<Vec<PacketMetadata>, ValidationError> {
    let mut out: Vec<PacketMetadata> = Vec::with_capacity(metadata.len());
    for m in metadata {
        let field = header.field(m.metadata_id).ok_or_else(|| {
            ValidationError::invalid(format!(
                "'{}' has no metadata id {}",
                header.name, m.metadata_id
            ))
        })?;
        if out.iter().any(|o| o.metadata_id == m.metadata_id) {
            return Err(ValidationError::invalid(format!(
                "metadata '{}' of '{}' given twice",
                field.name, header.name
            )));
        }
        let value = bytes_for(
            || format!("metadata '{}' of '{}'", field.name, header.name),
            &m.value,
            field.bitwidth,
        )?;
        out.push(PacketMetadata {
            metadata_id: m.metadata_id,
            value,
        });
    }
    if let Some(missing) = header
        .fields
        .iter()
        .find(|f| !out.iter().any(|m| m.metadata_id == f.id))
    {
        return Err(ValidationError::invalid(format!(
            "metadata '{}' of '{}' is missing",
            missing.name, header.name
        )));
    }
    out.sort_by_key(|m| m.metadata_id);
    Ok(out)
}
