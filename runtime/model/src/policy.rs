//! Stage 5, policy (design §6, docs/datapath.md §6): default deny; the highest-priority
//! matching rule decides; at equal priority deny wins, then the lower rule id.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::parse::{PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP};

/// A rule's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Allow,
    Deny,
}

/// An IP protocol number, or any; written `tcp`, `udp`, `icmp`, `icmpv6`, a number or `any`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct ProtoMatch(pub Option<u8>);

impl ProtoMatch {
    pub fn matches(self, proto: u8) -> bool {
        self.0.is_none_or(|p| p == proto)
    }
}

impl fmt::Display for ProtoMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            None => f.write_str("any"),
            Some(PROTO_TCP) => f.write_str("tcp"),
            Some(PROTO_UDP) => f.write_str("udp"),
            Some(PROTO_ICMP) => f.write_str("icmp"),
            Some(PROTO_ICMPV6) => f.write_str("icmpv6"),
            Some(p) => write!(f, "{p}"),
        }
    }
}

impl Serialize for ProtoMatch {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ProtoMatch {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Num(u8),
            Name(String),
        }
        Ok(ProtoMatch(match Raw::deserialize(d)? {
            Raw::Num(n) => Some(n),
            Raw::Name(s) => match s.as_str() {
                "any" => None,
                "tcp" => Some(PROTO_TCP),
                "udp" => Some(PROTO_UDP),
                "icmp" => Some(PROTO_ICMP),
                "icmpv6" => Some(PROTO_ICMPV6),
                other => {
                    return Err(serde::de::Error::custom(format!(
                        "unknown protocol {other:?} (want tcp, udp, icmp, icmpv6, a number or any)"
                    )));
                }
            },
        }))
    }
}

/// An inclusive destination port range; written `any`, `443` or `8000-8080`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PortRange {
    pub lo: u16,
    pub hi: u16,
}

impl PortRange {
    pub const ANY: PortRange = PortRange { lo: 0, hi: 65535 };

    pub fn matches(self, port: u16) -> bool {
        (self.lo..=self.hi).contains(&port)
    }
}

impl Default for PortRange {
    fn default() -> Self {
        PortRange::ANY
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == PortRange::ANY {
            f.write_str("any")
        } else if self.lo == self.hi {
            write!(f, "{}", self.lo)
        } else {
            write!(f, "{}-{}", self.lo, self.hi)
        }
    }
}

impl Serialize for PortRange {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PortRange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Num(u16),
            Text(String),
        }
        let bad = |s: &str| serde::de::Error::custom(format!("bad port range {s:?}"));
        match Raw::deserialize(d)? {
            Raw::Num(p) => Ok(PortRange { lo: p, hi: p }),
            Raw::Text(s) if s == "any" => Ok(PortRange::ANY),
            Raw::Text(s) => {
                let (lo, hi) = match s.split_once('-') {
                    Some((a, b)) => (a.trim().parse(), b.trim().parse()),
                    None => (s.trim().parse(), s.trim().parse()),
                };
                let (lo, hi): (u16, u16) = (lo.map_err(|_| bad(&s))?, hi.map_err(|_| bad(&s))?);
                if lo > hi {
                    return Err(bad(&s));
                }
                Ok(PortRange { lo, hi })
            }
        }
    }
}

/// A policy rule over contexts (`None` = any context).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Names the rule's counter; unique in the table.
    pub id: u32,
    /// Higher priorities are evaluated first.
    pub priority: u16,
    #[serde(default)]
    pub src: Option<u32>,
    #[serde(default)]
    pub dst: Option<u32>,
    #[serde(default)]
    pub proto: ProtoMatch,
    /// Policy-port range: the TCP/UDP destination port, 0 for other protocols.
    #[serde(default)]
    pub ports: PortRange,
    pub action: Action,
}

impl Rule {
    /// Sort key of the evaluation order: priority descending, deny first, id ascending.
    pub fn order_key(&self) -> (std::cmp::Reverse<u16>, u8, u32) {
        let deny_first = match self.action {
            Action::Deny => 0,
            Action::Allow => 1,
        };
        (std::cmp::Reverse(self.priority), deny_first, self.id)
    }

    /// Whether the rule covers a connection from `src` to `dst`.
    pub fn matches(&self, q: &PolicyQuery) -> bool {
        self.src.is_none_or(|c| c == q.src_ctx)
            && self.dst.is_none_or(|c| c == q.dst_ctx)
            && self.proto.matches(q.proto)
            && self.ports.matches(q.port)
    }

    /// The P4Runtime priority that reproduces this order on a ternary/range table.
    pub fn p4_priority(&self) -> i32 {
        2 * i32::from(self.priority) + i32::from(self.action == Action::Deny)
    }
}

/// What the policy is asked about: a connection in its original direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PolicyQuery {
    pub src_ctx: u32,
    pub dst_ctx: u32,
    pub proto: u8,
    /// The originator's destination port (TCP/UDP), 0 otherwise.
    pub port: u16,
}

/// The policy's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Allow { rule: u32 },
    Deny { rule: u32 },
    DefaultDeny,
}

impl Decision {
    pub fn rule(self) -> Option<u32> {
        match self {
            Decision::Allow { rule } | Decision::Deny { rule } => Some(rule),
            Decision::DefaultDeny => None,
        }
    }
}

/// Evaluates `rules` (in evaluation order) for one query.
pub fn evaluate(rules: &[Rule], q: &PolicyQuery) -> Decision {
    match rules.iter().find(|r| r.matches(q)) {
        Some(r) if r.action == Action::Allow => Decision::Allow { rule: r.id },
        Some(r) => Decision::Deny { rule: r.id },
        None => Decision::DefaultDeny,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tables::Tables;

    fn rule(id: u32, priority: u16, action: Action) -> Rule {
        Rule {
            id,
            priority,
            src: Some(256),
            dst: None,
            proto: ProtoMatch(Some(PROTO_TCP)),
            ports: PortRange { lo: 443, hi: 443 },
            action,
        }
    }

    const Q: PolicyQuery = PolicyQuery {
        src_ctx: 256,
        dst_ctx: 300,
        proto: PROTO_TCP,
        port: 443,
    };

    #[test]
    fn deny_wins_at_equal_priority_and_higher_priority_wins_overall() {
        let mut t = Tables::default();
        t.set_rule(rule(1, 10, Action::Allow));
        t.set_rule(rule(2, 10, Action::Deny));
        assert_eq!(evaluate(t.rules(), &Q), Decision::Deny { rule: 2 });
        t.set_rule(rule(3, 11, Action::Allow));
        assert_eq!(evaluate(t.rules(), &Q), Decision::Allow { rule: 3 });
        t.remove_rule(3);
        t.remove_rule(2);
        assert_eq!(evaluate(t.rules(), &Q), Decision::Allow { rule: 1 });
    }

    #[test]
    fn no_matching_rule_is_default_deny() {
        let mut t = Tables::default();
        t.set_rule(rule(1, 10, Action::Allow));
        let q = PolicyQuery { port: 80, ..Q };
        assert_eq!(evaluate(t.rules(), &q), Decision::DefaultDeny);
        let q = PolicyQuery { src_ctx: 257, ..Q };
        assert_eq!(evaluate(t.rules(), &q), Decision::DefaultDeny);
    }

    #[test]
    fn p4_priority_orders_deny_above_allow_at_equal_priority() {
        let a = rule(1, 10, Action::Allow).p4_priority();
        let d = rule(2, 10, Action::Deny).p4_priority();
        let a11 = rule(3, 11, Action::Allow).p4_priority();
        assert!(d > a && a11 > d);
    }
}
