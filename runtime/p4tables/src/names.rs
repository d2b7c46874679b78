//! The names the ztnic P4 program gives its P4Runtime objects (`p4/*.p4`,
//! `p4/build/ztnic.p4info.txtpb`): the only copy of them on the Rust side. Tables
//! and actions are named by their P4Info alias.

/// Keyless configuration tables (their default entry is the configuration).
pub const CONFIG: &str = "config";
pub const SET_CONFIG: &str = "set_config";
pub const AUTH_KEY: &str = "auth_key";
pub const SET_AUTH_KEY: &str = "set_auth_key";
pub const CT_TIMEOUTS: &str = "ct_timeouts";
pub const SET_CT_TIMEOUTS: &str = "set_ct_timeouts";

/// `port_class(port) → set_class(class)`.
pub const PORT_CLASS: &str = "port_class";
pub const SET_CLASS: &str = "set_class";
/// `vport_ctx(vport, src) → set_src(ctx, zone)`.
pub const VPORT_CTX: &str = "vport_ctx";
pub const SET_SRC: &str = "set_src";
/// `local_ep(dst) → deliver(vport, ctx, zone)`.
pub const LOCAL_EP: &str = "local_ep";
pub const DELIVER: &str = "deliver";
/// `remote_ep(dst lpm) → geneve(vtep, ctx) | vxlan_gbp(vtep, ctx) | world()`.
pub const REMOTE_EP: &str = "remote_ep";
pub const GENEVE: &str = "geneve";
pub const VXLAN_GBP: &str = "vxlan_gbp";
pub const WORLD: &str = "world";
/// `ctx_epoch(ctx) → set(epoch)`, direct counter per context.
pub const CTX_EPOCH: &str = "ctx_epoch";
pub const SET_EPOCH: &str = "set";
/// `policy(src_ctx, dst_ctx, proto ternary; port range) → allow(rule_id) | deny(rule_id)`,
/// direct counter per rule.
pub const POLICY: &str = "policy";
pub const ALLOW: &str = "allow";
pub const DENY: &str = "deny";
/// `ct_overflow(zone, proto, addr_lo, addr_hi, port_lo, port_hi) → track(orig_lo)`,
/// with idle timeout.
pub const CT_OVERFLOW: &str = "ct_overflow";
pub const TRACK: &str = "track";

/// Indexed counters, by reason code (`ztnic_model::reason`).
pub const DROPS: &str = "drops";
pub const PUNTS: &str = "punts";

/// The conntrack registers (`p4/conntrack.p4`, [`crate::conntrack`]), indexed
/// `way · CT_BUCKETS_MAX + bucket`.
pub const CT_KEY: &str = "ct_key";
pub const CT_INFO: &str = "ct_info";
pub const CT_WIN: &str = "ct_win";

/// Digests.
pub const CTX_MISS: &str = "ctx_miss";
pub const CT_EVENT: &str = "ct_event";

/// Tables the controller fills with entries (not the keyless configuration ones),
/// in the order a device is best filled (contexts before the rules and endpoints
/// that name them).
pub const ENTRY_TABLES: [&str; 7] = [
    PORT_CLASS,
    CTX_EPOCH,
    POLICY,
    VPORT_CTX,
    LOCAL_EP,
    REMOTE_EP,
    CT_OVERFLOW,
];

/// The keyless configuration tables.
pub const CONFIG_TABLES: [&str; 3] = [CONFIG, AUTH_KEY, CT_TIMEOUTS];
