//! An index over a P4Info: every object by id and by name (fully-qualified
//! name or alias), with the facts validation needs already worked out (which
//! key fields need a priority, which direct resources a table has, ...).
//! Both the client (name resolution) and the server (write validation) use it.

use std::collections::HashMap;

use crate::config::{self, P4Info, match_field::MatchType, p4_ids::Prefix};

/// Why a P4Info cannot be indexed, or a name or id cannot be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum P4InfoError {
    /// An object has id 0 (reserved for "unset").
    #[error("{kind} '{name}' has id 0")]
    ZeroId {
        /// Kind of object ("table", "action", ...).
        kind: &'static str,
        /// Its name.
        name: String,
    },
    /// An id's top byte does not match the kind of object.
    #[error("{kind} '{name}' has id {id:#010x} without the {kind} id prefix")]
    WrongPrefix {
        /// Kind of object.
        kind: &'static str,
        /// Its name.
        name: String,
        /// The offending id.
        id: u32,
    },
    /// Two objects share an id.
    #[error("duplicate id {id:#010x} ({kind})")]
    DuplicateId {
        /// Kind of object.
        kind: &'static str,
        /// The id.
        id: u32,
    },
    /// Two objects of one kind share a fully-qualified name.
    #[error("duplicate {kind} name '{name}'")]
    DuplicateName {
        /// Kind of object.
        kind: &'static str,
        /// The name.
        name: String,
    },
    /// A reference (table → action, counter → table, ...) points nowhere.
    #[error("{from} refers to unknown {kind} id {id:#010x}")]
    DanglingReference {
        /// The referring object.
        from: String,
        /// Kind of the missing object.
        kind: &'static str,
        /// The missing id.
        id: u32,
    },
    /// A match field, parameter or metadata field is malformed.
    #[error("{owner}: {problem}")]
    BadMember {
        /// The object owning the member.
        owner: String,
        /// What is wrong.
        problem: String,
    },
    /// No object of this kind has that name or alias.
    #[error("no {kind} named '{name}'")]
    UnknownName {
        /// Kind of object.
        kind: &'static str,
        /// The name looked up.
        name: String,
    },
    /// No object of this kind has that id.
    #[error("no {kind} with id {id:#010x}")]
    UnknownId {
        /// Kind of object.
        kind: &'static str,
        /// The id looked up.
        id: u32,
    },
}

/// How a key field is matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MatchKind {
    /// Exact match; never omitted from an entry.
    Exact,
    /// Longest-prefix match.
    Lpm,
    /// Value/mask match; needs a priority.
    Ternary,
    /// Inclusive range; needs a priority.
    Range,
    /// Exact or wildcard; needs a priority.
    Optional,
    /// An architecture-specific match kind.
    Other(String),
}

impl MatchKind {
    /// True when an entry of a table with such a field must carry a priority.
    pub fn needs_priority(&self) -> bool {
        matches!(
            self,
            MatchKind::Ternary | MatchKind::Range | MatchKind::Optional
        )
    }
}

/// One field of a table key.
#[derive(Debug, Clone)]
pub struct MatchFieldInfo {
    /// Id within the table.
    pub id: u32,
    /// Name as written in the P4 key (e.g. `hdr.ipv4.dst_addr`).
    pub name: String,
    /// Width in bits (0 for SDN-string translated types).
    pub bitwidth: u32,
    /// Match kind.
    pub kind: MatchKind,
}

/// A table and everything needed to check its entries.
#[derive(Debug, Clone)]
pub struct TableInfo {
    /// Table id.
    pub id: u32,
    /// Fully-qualified name.
    pub name: String,
    /// Short alias.
    pub alias: String,
    /// Key fields in P4Info order.
    pub match_fields: Vec<MatchFieldInfo>,
    /// Actions the table may use, with their scope.
    pub actions: HashMap<u32, config::action_ref::Scope>,
    /// Direct counter attached to the table, if any.
    pub direct_counter_id: Option<u32>,
    /// Direct meter attached to the table, if any.
    pub direct_meter_id: Option<u32>,
    /// True when the table supports idle-timeout notifications.
    pub supports_idle_timeout: bool,
    /// True when entries cannot be added or removed (`const entries`).
    pub is_const: bool,
    /// Non-zero when the default action cannot be changed.
    pub const_default_action_id: u32,
    /// Default action as written in the program, if P4Info gives it.
    pub initial_default_action: Option<config::TableActionCall>,
    /// Action profile/selector id, 0 for direct tables.
    pub implementation_id: u32,
    /// Declared capacity (0 when unspecified).
    pub size: i64,
    /// True when entries must carry a non-zero priority.
    pub needs_priority: bool,
    field_by_id: HashMap<u32, usize>,
    field_by_name: HashMap<String, usize>,
}

impl TableInfo {
    /// A key field by id.
    pub fn field(&self, id: u32) -> Option<&MatchFieldInfo> {
        self.field_by_id.get(&id).map(|i| &self.match_fields[*i])
    }

    /// A key field by name.
    pub fn field_by_name(&self, name: &str) -> Result<&MatchFieldInfo, P4InfoError> {
        self.field_by_name
            .get(name)
            .map(|i| &self.match_fields[*i])
            .ok_or_else(|| P4InfoError::UnknownName {
                kind: "match field",
                name: format!("{}.{}", self.name, name),
            })
    }
}

/// An action parameter.
#[derive(Debug, Clone)]
pub struct ParamInfo {
    /// Id within the action.
    pub id: u32,
    /// Name.
    pub name: String,
    /// Width in bits (0 for SDN-string translated types).
    pub bitwidth: u32,
}

/// An action and its parameters.
#[derive(Debug, Clone)]
pub struct ActionInfo {
    /// Action id.
    pub id: u32,
    /// Fully-qualified name.
    pub name: String,
    /// Parameters in P4Info order.
    pub params: Vec<ParamInfo>,
    param_by_id: HashMap<u32, usize>,
    param_by_name: HashMap<String, usize>,
}

impl ActionInfo {
    /// A parameter by id.
    pub fn param(&self, id: u32) -> Option<&ParamInfo> {
        self.param_by_id.get(&id).map(|i| &self.params[*i])
    }

    /// A parameter by name.
    pub fn param_by_name(&self, name: &str) -> Result<&ParamInfo, P4InfoError> {
        self.param_by_name
            .get(name)
            .map(|i| &self.params[*i])
            .ok_or_else(|| P4InfoError::UnknownName {
                kind: "action parameter",
                name: format!("{}.{}", self.name, name),
            })
    }
}

/// An indexed counter or meter array.
#[derive(Debug, Clone)]
pub struct ArrayInfo {
    /// Id.
    pub id: u32,
    /// Fully-qualified name.
    pub name: String,
    /// Number of cells.
    pub size: i64,
}

/// A register array.
#[derive(Debug, Clone)]
pub struct RegisterInfo {
    /// Id.
    pub id: u32,
    /// Fully-qualified name.
    pub name: String,
    /// Number of cells.
    pub size: i64,
    /// Width of a cell when it is a fixed-width bit string (`bit<W>` or
    /// `int<W>`); `None` for other types (structs, varbits, ...).
    pub bitwidth: Option<u32>,
    /// The type of a cell.
    pub type_spec: Option<config::P4DataTypeSpec>,
}

/// A direct counter or meter.
#[derive(Debug, Clone)]
pub struct DirectInfo {
    /// Id.
    pub id: u32,
    /// Fully-qualified name.
    pub name: String,
    /// The table whose entries own the cells.
    pub table_id: u32,
}

/// A digest extern instance.
#[derive(Debug, Clone)]
pub struct DigestInfo {
    /// Id.
    pub id: u32,
    /// Fully-qualified name.
    pub name: String,
    /// The type of the data it carries.
    pub type_spec: Option<config::P4DataTypeSpec>,
}

/// A field of a controller header (`packet_in` / `packet_out`).
#[derive(Debug, Clone)]
pub struct MetadataFieldInfo {
    /// Id within the header.
    pub id: u32,
    /// Name.
    pub name: String,
    /// Width in bits (0 for SDN-string translated types).
    pub bitwidth: u32,
}

/// A controller header: the metadata sent with PacketIn or PacketOut.
#[derive(Debug, Clone)]
pub struct ControllerHeaderInfo {
    /// Id.
    pub id: u32,
    /// Name (`packet_in` or `packet_out` by convention).
    pub name: String,
    /// Fields in P4Info order.
    pub fields: Vec<MetadataFieldInfo>,
}

impl ControllerHeaderInfo {
    /// A field by id.
    pub fn field(&self, id: u32) -> Option<&MetadataFieldInfo> {
        self.fields.iter().find(|f| f.id == id)
    }

    /// A field by name.
    pub fn field_by_name(&self, name: &str) -> Result<&MetadataFieldInfo, P4InfoError> {
        self.fields
            .iter()
            .find(|f| f.name == name)
            .ok_or_else(|| P4InfoError::UnknownName {
                kind: "controller metadata field",
                name: format!("{}.{}", self.name, name),
            })
    }
}

/// Objects of one kind by id, plus their names and aliases.
#[derive(Debug, Clone)]
struct Objects<T> {
    kind: &'static str,
    by_id: HashMap<u32, T>,
    by_name: HashMap<String, u32>,
    aliases: HashMap<String, Option<u32>>,
}

impl<T> Objects<T> {
    fn new(kind: &'static str) -> Self {
        Objects {
            kind,
            by_id: HashMap::new(),
            by_name: HashMap::new(),
            aliases: HashMap::new(),
        }
    }

    fn add(
        &mut self,
        preamble: Option<&config::Preamble>,
        prefix: Prefix,
        make: impl FnOnce(u32, &str) -> Result<T, P4InfoError>,
    ) -> Result<(), P4InfoError> {
        let kind = self.kind;
        let default = config::Preamble::default();
        let p = preamble.unwrap_or(&default);
        if p.id == 0 {
            return Err(P4InfoError::ZeroId {
                kind,
                name: p.name.clone(),
            });
        }
        if p.id >> 24 != prefix as u32 {
            return Err(P4InfoError::WrongPrefix {
                kind,
                name: p.name.clone(),
                id: p.id,
            });
        }
        if self.by_id.contains_key(&p.id) {
            return Err(P4InfoError::DuplicateId { kind, id: p.id });
        }
        if self.by_name.insert(p.name.clone(), p.id).is_some() {
            return Err(P4InfoError::DuplicateName {
                kind,
                name: p.name.clone(),
            });
        }
        for alias in [p.alias.clone(), last_component(&p.name)] {
            if alias.is_empty() || alias == p.name {
                continue;
            }
            // An alias shared by two objects resolves to neither.
            let slot = self.aliases.entry(alias).or_insert(Some(p.id));
            if *slot != Some(p.id) {
                *slot = None;
            }
        }
        let item = make(p.id, &p.name)?;
        self.by_id.insert(p.id, item);
        Ok(())
    }

    fn get(&self, id: u32) -> Option<&T> {
        self.by_id.get(&id)
    }

    fn resolve(&self, name: &str) -> Result<u32, P4InfoError> {
        if let Some(id) = self.by_name.get(name) {
            return Ok(*id);
        }
        match self.aliases.get(name) {
            Some(Some(id)) => Ok(*id),
            _ => Err(P4InfoError::UnknownName {
                kind: self.kind,
                name: name.to_string(),
            }),
        }
    }

    fn lookup(&self, name: &str) -> Result<&T, P4InfoError> {
        let id = self.resolve(name)?;
        self.get(id).ok_or(P4InfoError::UnknownId {
            kind: self.kind,
            id,
        })
    }
}

fn last_component(name: &str) -> String {
    name.rsplit('.').next().unwrap_or(name).to_string()
}

fn width(owner: &str, what: &str, bitwidth: i32) -> Result<u32, P4InfoError> {
    u32::try_from(bitwidth).map_err(|_| P4InfoError::BadMember {
        owner: owner.to_string(),
        problem: format!("{what} has negative bitwidth {bitwidth}"),
    })
}

/// The width of a fixed-width bit-string type (`bit<W>`, `int<W>`).
fn bitstring_width(t: Option<&config::P4DataTypeSpec>) -> Option<u32> {
    use config::p4_bitstring_like_type_spec::TypeSpec as B;
    use config::p4_data_type_spec::TypeSpec as T;
    match t?.type_spec.as_ref()? {
        T::Bitstring(b) => match b.type_spec.as_ref()? {
            B::Bit(w) => u32::try_from(w.bitwidth).ok(),
            B::Int(w) => u32::try_from(w.bitwidth).ok(),
            B::Varbit(_) => None,
        },
        _ => None,
    }
}

/// A P4Info with every object indexed by id and name.
#[derive(Debug, Clone)]
pub struct P4InfoIndex {
    p4info: P4Info,
    tables: Objects<TableInfo>,
    actions: Objects<ActionInfo>,
    counters: Objects<ArrayInfo>,
    direct_counters: Objects<DirectInfo>,
    meters: Objects<ArrayInfo>,
    direct_meters: Objects<DirectInfo>,
    registers: Objects<RegisterInfo>,
    digests: Objects<DigestInfo>,
    controller_headers: Objects<ControllerHeaderInfo>,
}

impl P4InfoIndex {
    /// Indexes `p4info`, checking that ids are non-zero, carry their kind's
    /// prefix and are unique, that names are unique and that every
    /// reference between objects resolves.
    pub fn new(p4info: P4Info) -> Result<Self, P4InfoError> {
        let mut actions = Objects::new("action");
        for a in &p4info.actions {
            actions.add(a.preamble.as_ref(), Prefix::Action, |id, name| {
                let mut params = Vec::new();
                let mut param_by_id = HashMap::new();
                let mut param_by_name = HashMap::new();
                for p in &a.params {
                    if p.id == 0 || param_by_id.insert(p.id, params.len()).is_some() {
                        return Err(P4InfoError::BadMember {
                            owner: name.to_string(),
                            problem: format!("parameter '{}' has a zero or duplicate id", p.name),
                        });
                    }
                    param_by_name.insert(p.name.clone(), params.len());
                    params.push(ParamInfo {
                        id: p.id,
                        name: p.name.clone(),
                        bitwidth: width(name, &p.name, p.bitwidth)?,
                    });
                }
                Ok(ActionInfo {
                    id,
                    name: name.to_string(),
                    params,
                    param_by_id,
                    param_by_name,
                })
            })?;
        }

        let mut direct_counters = Objects::new("direct counter");
        for c in &p4info.direct_counters {
            direct_counters.add(c.preamble.as_ref(), Prefix::DirectCounter, |id, name| {
                Ok(DirectInfo {
                    id,
                    name: name.to_string(),
                    table_id: c.direct_table_id,
                })
            })?;
        }
        let mut direct_meters = Objects::new("direct meter");
        for m in &p4info.direct_meters {
            direct_meters.add(m.preamble.as_ref(), Prefix::DirectMeter, |id, name| {
                Ok(DirectInfo {
                    id,
                    name: name.to_string(),
                    table_id: m.direct_table_id,
                })
            })?;
        }

        let mut tables = Objects::new("table");
        for t in &p4info.tables {
            tables.add(t.preamble.as_ref(), Prefix::Table, |id, name| {
                Self::table_info(t, id, name, &actions, &direct_counters, &direct_meters)
            })?;
        }
        for d in direct_counters
            .by_id
            .values()
            .chain(direct_meters.by_id.values())
        {
            if tables.get(d.table_id).is_none() {
                return Err(P4InfoError::DanglingReference {
                    from: d.name.clone(),
                    kind: "table",
                    id: d.table_id,
                });
            }
        }

        let mut counters = Objects::new("counter");
        for c in &p4info.counters {
            counters.add(c.preamble.as_ref(), Prefix::Counter, |id, name| {
                Ok(ArrayInfo {
                    id,
                    name: name.to_string(),
                    size: c.size,
                })
            })?;
        }
        let mut meters = Objects::new("meter");
        for m in &p4info.meters {
            meters.add(m.preamble.as_ref(), Prefix::Meter, |id, name| {
                Ok(ArrayInfo {
                    id,
                    name: name.to_string(),
                    size: m.size,
                })
            })?;
        }
        let mut registers = Objects::new("register");
        for r in &p4info.registers {
            registers.add(r.preamble.as_ref(), Prefix::Register, |id, name| {
                Ok(RegisterInfo {
                    id,
                    name: name.to_string(),
                    size: i64::from(r.size),
                    bitwidth: bitstring_width(r.type_spec.as_ref()),
                    type_spec: r.type_spec.clone(),
                })
            })?;
        }
        let mut digests = Objects::new("digest");
        for d in &p4info.digests {
            digests.add(d.preamble.as_ref(), Prefix::Digest, |id, name| {
                Ok(DigestInfo {
                    id,
                    name: name.to_string(),
                    type_spec: d.type_spec.clone(),
                })
            })?;
        }
        let mut controller_headers = Objects::new("controller header");
        for h in &p4info.controller_packet_metadata {
            controller_headers.add(h.preamble.as_ref(), Prefix::ControllerHeader, |id, name| {
                let mut fields: Vec<MetadataFieldInfo> = Vec::new();
                for m in &h.metadata {
                    if m.id == 0 || fields.iter().any(|f| f.id == m.id) {
                        return Err(P4InfoError::BadMember {
                            owner: name.to_string(),
                            problem: format!("metadata '{}' has a zero or duplicate id", m.name),
                        });
                    }
                    fields.push(MetadataFieldInfo {
                        id: m.id,
                        name: m.name.clone(),
                        bitwidth: width(name, &m.name, m.bitwidth)?,
                    });
                }
                Ok(ControllerHeaderInfo {
                    id,
                    name: name.to_string(),
                    fields,
                })
            })?;
        }

        Ok(P4InfoIndex {
            p4info,
            tables,
            actions,
            counters,
            direct_counters,
            meters,
            direct_meters,
            registers,
            digests,
            controller_headers,
        })
    }

    fn table_info(
        t: &config::Table,
        id: u32,
        name: &str,
        actions: &Objects<ActionInfo>,
        direct_counters: &Objects<DirectInfo>,
        direct_meters: &Objects<DirectInfo>,
    ) -> Result<TableInfo, P4InfoError> {
        let mut match_fields = Vec::new();
        let mut field_by_id = HashMap::new();
        let mut field_by_name = HashMap::new();
        for f in &t.match_fields {
            if f.id == 0 || field_by_id.insert(f.id, match_fields.len()).is_some() {
                return Err(P4InfoError::BadMember {
                    owner: name.to_string(),
                    problem: format!("match field '{}' has a zero or duplicate id", f.name),
                });
            }
            field_by_name.insert(f.name.clone(), match_fields.len());
            let kind = match &f.r#match {
                Some(config::match_field::Match::MatchType(m)) => {
                    match MatchType::try_from(*m).unwrap_or(MatchType::Unspecified) {
                        MatchType::Exact => MatchKind::Exact,
                        MatchType::Lpm => MatchKind::Lpm,
                        MatchType::Ternary => MatchKind::Ternary,
                        MatchType::Range => MatchKind::Range,
                        MatchType::Optional => MatchKind::Optional,
                        MatchType::Unspecified => {
                            return Err(P4InfoError::BadMember {
                                owner: name.to_string(),
                                problem: format!("match field '{}' has no match type", f.name),
                            });
                        }
                    }
                }
                Some(config::match_field::Match::OtherMatchType(o)) => MatchKind::Other(o.clone()),
                None => {
                    return Err(P4InfoError::BadMember {
                        owner: name.to_string(),
                        problem: format!("match field '{}' has no match type", f.name),
                    });
                }
            };
            match_fields.push(MatchFieldInfo {
                id: f.id,
                name: f.name.clone(),
                bitwidth: width(name, &f.name, f.bitwidth)?,
                kind,
            });
        }
        let mut table_actions = HashMap::new();
        for r in &t.action_refs {
            if actions.get(r.id).is_none() {
                return Err(P4InfoError::DanglingReference {
                    from: name.to_string(),
                    kind: "action",
                    id: r.id,
                });
            }
            let scope = config::action_ref::Scope::try_from(r.scope)
                .unwrap_or(config::action_ref::Scope::TableAndDefault);
            table_actions.insert(r.id, scope);
        }
        let mut direct_counter_id = None;
        let mut direct_meter_id = None;
        for rid in &t.direct_resource_ids {
            if direct_counters.get(*rid).is_some() {
                direct_counter_id = Some(*rid);
            } else if direct_meters.get(*rid).is_some() {
                direct_meter_id = Some(*rid);
            } else {
                return Err(P4InfoError::DanglingReference {
                    from: name.to_string(),
                    kind: "direct resource",
                    id: *rid,
                });
            }
        }
        let needs_priority = match_fields.iter().any(|f| f.kind.needs_priority());
        Ok(TableInfo {
            id,
            name: name.to_string(),
            alias: t
                .preamble
                .as_ref()
                .map(|p| p.alias.clone())
                .unwrap_or_default(),
            match_fields,
            actions: table_actions,
            direct_counter_id,
            direct_meter_id,
            supports_idle_timeout: t.idle_timeout_behavior
                == config::table::IdleTimeoutBehavior::NotifyControl as i32,
            is_const: t.is_const_table,
            const_default_action_id: t.const_default_action_id,
            initial_default_action: t.initial_default_action.clone(),
            implementation_id: t.implementation_id,
            size: t.size,
            needs_priority,
            field_by_id,
            field_by_name,
        })
    }

    /// The indexed P4Info.
    pub fn p4info(&self) -> &P4Info {
        &self.p4info
    }

    /// All tables.
    pub fn tables(&self) -> impl Iterator<Item = &TableInfo> {
        self.tables.by_id.values()
    }
    /// A table by id.
    pub fn table(&self, id: u32) -> Option<&TableInfo> {
        self.tables.get(id)
    }
    /// A table by fully-qualified name or alias.
    pub fn table_by_name(&self, name: &str) -> Result<&TableInfo, P4InfoError> {
        self.tables.lookup(name)
    }

    /// An action by id.
    pub fn action(&self, id: u32) -> Option<&ActionInfo> {
        self.actions.get(id)
    }
    /// An action by fully-qualified name or alias.
    pub fn action_by_name(&self, name: &str) -> Result<&ActionInfo, P4InfoError> {
        self.actions.lookup(name)
    }

    /// All indexed counters.
    pub fn counters(&self) -> impl Iterator<Item = &ArrayInfo> {
        self.counters.by_id.values()
    }
    /// An indexed counter by id.
    pub fn counter(&self, id: u32) -> Option<&ArrayInfo> {
        self.counters.get(id)
    }
    /// An indexed counter by name or alias.
    pub fn counter_by_name(&self, name: &str) -> Result<&ArrayInfo, P4InfoError> {
        self.counters.lookup(name)
    }

    /// A direct counter by id.
    pub fn direct_counter(&self, id: u32) -> Option<&DirectInfo> {
        self.direct_counters.get(id)
    }
    /// A direct counter by name or alias.
    pub fn direct_counter_by_name(&self, name: &str) -> Result<&DirectInfo, P4InfoError> {
        self.direct_counters.lookup(name)
    }

    /// All indexed meters.
    pub fn meters(&self) -> impl Iterator<Item = &ArrayInfo> {
        self.meters.by_id.values()
    }
    /// An indexed meter by id.
    pub fn meter(&self, id: u32) -> Option<&ArrayInfo> {
        self.meters.get(id)
    }
    /// An indexed meter by name or alias.
    pub fn meter_by_name(&self, name: &str) -> Result<&ArrayInfo, P4InfoError> {
        self.meters.lookup(name)
    }

    /// A direct meter by id.
    pub fn direct_meter(&self, id: u32) -> Option<&DirectInfo> {
        self.direct_meters.get(id)
    }
    /// A direct meter by name or alias.
    pub fn direct_meter_by_name(&self, name: &str) -> Result<&DirectInfo, P4InfoError> {
        self.direct_meters.lookup(name)
    }

    /// All registers.
    pub fn registers(&self) -> impl Iterator<Item = &RegisterInfo> {
        self.registers.by_id.values()
    }
    /// A register by id.
    pub fn register(&self, id: u32) -> Option<&RegisterInfo> {
        self.registers.get(id)
    }
    /// A register by name or alias.
    pub fn register_by_name(&self, name: &str) -> Result<&RegisterInfo, P4InfoError> {
        self.registers.lookup(name)
    }

    /// All digests.
    pub fn digests(&self) -> impl Iterator<Item = &DigestInfo> {
        self.digests.by_id.values()
    }
    /// A digest by id.
    pub fn digest(&self, id: u32) -> Option<&DigestInfo> {
        self.digests.get(id)
    }
    /// A digest by name or alias.
    pub fn digest_by_name(&self, name: &str) -> Result<&DigestInfo, P4InfoError> {
        self.digests.lookup(name)
    }

    /// A controller header by id.
    pub fn controller_header(&self, id: u32) -> Option<&ControllerHeaderInfo> {
        self.controller_headers.get(id)
    }
    /// A controller header by name (`packet_in`, `packet_out`).
    pub fn controller_header_by_name(
        &self,
        name: &str,
    ) -> Result<&ControllerHeaderInfo, P4InfoError> {
        self.controller_headers.lookup(name)
    }
    /// The header carried with PacketIn, if the program declares one.
    pub fn packet_in(&self) -> Option<&ControllerHeaderInfo> {
        self.controller_headers.lookup("packet_in").ok()
    }
    /// The header carried with PacketOut, if the program declares one.
    pub fn packet_out(&self) -> Option<&ControllerHeaderInfo> {
        self.controller_headers.lookup("packet_out").ok()
    }
}
